//! Every function and data symbol that Debian's MPICH 4.0.2 exports under an
//! `MPI_`/`PMPI_` name, and the `MPIR_` symbols its `mpi.h` makes programs
//! reference, must be exported by our libmpi.so.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

const MPICH_LIB: &str = "/usr/lib/x86_64-linux-gnu/libmpich.so.12";

/// Symbols a program built with MPICH's mpi.h may reference besides the
/// MPI_/PMPI_ ones.
const HEADER_SYMBOLS: &[&str] = &[
    "MPIR_Dup_fn",
    "MPIR_F08_MPI_STATUS_IGNORE_OBJ",
    "MPIR_F08_MPI_STATUSES_IGNORE_OBJ",
    "MPIR_F08_MPI_IN_PLACE",
    "MPIR_F08_MPI_BOTTOM",
];

fn exported(lib: &str) -> BTreeSet<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only", lib])
        .output()
        .expect("nm (binutils) is needed");
    assert!(out.status.success(), "nm failed on {lib}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(str::to_string)
        .collect()
}

fn our_library() -> String {
    // target/<profile>/deps/symbols-* -> target/<profile>/libmpi.so
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.parent().unwrap().parent().unwrap().into();
    let lib = dir.join("libmpi.so");
    // `cargo test` builds the rlib only; the shared library comes from
    // `cargo build --lib`, which scripts/test runs first.
    assert!(
        lib.exists(),
        "{} is missing: run `cargo build --lib` first",
        lib.display()
    );
    lib.display().to_string()
}

#[test]
fn exports_every_mpich_symbol() {
    assert!(
        std::path::Path::new(MPICH_LIB).exists(),
        "{MPICH_LIB} is missing: install Debian's libmpich-dev (.ci/run does)"
    );
    let ours = exported(&our_library());
    let mpich = exported(MPICH_LIB);
    let wanted: BTreeSet<&str> = mpich
        .iter()
        .map(String::as_str)
        .filter(|s| s.starts_with("MPI_") || s.starts_with("PMPI_"))
        .chain(HEADER_SYMBOLS.iter().copied())
        .collect();
    let missing: Vec<&str> = wanted.into_iter().filter(|s| !ours.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "{} symbols missing: {missing:?}",
        missing.len()
    );
    assert!(mpich.iter().filter(|s| s.starts_with("MPI_")).count() >= 626);
}

#[test]
fn does_not_claim_the_mpi5_abi() {
    // mpi4py and others take MPI_Abi_get_version as a sign of the MPI-5
    // standard ABI, which is not the MPICH ABI we implement.
    let ours = exported(&our_library());
    assert!(!ours.contains("MPI_Abi_get_version"));
}
