//! The layering rules of docs/ARCHITECTURE.md that a machine can check.
//!
//! - `src/core` holds MPI semantics and never reaches into the C face
//!   (`src/abi`): no `crate::abi` path in its code.
//! - `src/transport` moves bytes between processes and knows nothing of
//!   the C face either.
//! - Settings are read only through the registry (`core::config`): no
//!   other file reads an `OXMPI_*` environment variable.
//! - The hand-written C face stays under a ceiling of lines, counted by
//!   `scripts/abi-lines`. The goal is 3,000 lines: the ceiling comes down
//!   as semantics move into the core and the generator takes over the
//!   forwarders. The Fortran face's helpers have a ceiling of their own.

use std::path::{Path, PathBuf};

/// Current ceiling for `scripts/abi-lines`; lower it whenever code leaves
/// `src/abi`.
const ABI_LINES_CEILING: usize = 2620;

/// The same for the Fortran face's helpers (`src/abi/fortran*.rs`:
/// sentinels, strings, attribute values, Fortran callbacks, the MPI-1
/// calls).
const FORTRAN_LINES_CEILING: usize = 1170;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code (comments stripped) in `dir` that name the C face.
fn abi_references(dir: &str) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join(dir), &mut files);
    let mut hits = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            if code.contains("crate::abi")
                || code.contains("super::abi")
                || code.contains("mpi::abi")
            {
                hits.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    hits
}

#[test]
fn core_does_not_import_the_c_face() {
    let hits = abi_references("src/core");
    assert!(
        hits.is_empty(),
        "src/core uses src/abi:\n{}",
        hits.join("\n")
    );
}

#[test]
fn transport_does_not_import_the_c_face() {
    let hits = abi_references("src/transport");
    assert!(
        hits.is_empty(),
        "src/transport uses src/abi:\n{}",
        hits.join("\n")
    );
}

#[test]
fn hand_written_faces_stay_under_their_ceilings() {
    for (face, ceiling) in [("c", ABI_LINES_CEILING), ("fortran", FORTRAN_LINES_CEILING)] {
        let out = std::process::Command::new("python3")
            .arg(root().join("scripts/abi-lines"))
            .args(["--face", face, "--max"])
            .arg(ceiling.to_string())
            .output()
            .expect("python3 runs scripts/abi-lines");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
    }
}

#[test]
fn settings_are_read_only_through_the_registry() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut hits = Vec::new();
    for f in files.iter().filter(|f| !f.ends_with("core/config.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            if code.contains("var(\"OXMPI_") || code.contains("var_os(\"OXMPI_") {
                hits.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "OXMPI_ settings read outside core::config:\n{}",
        hits.join("\n")
    );
}
