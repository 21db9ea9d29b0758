//! The `mpiexec` (and `mpirun`) launcher; see src/launcher.

// Included by path rather than through the library so the launcher stays
// out of libmpi.so and builds whatever state the library is in.
#[path = "../launcher/mod.rs"]
mod launcher;
// The settings registry, shared with the library (std only).
#[allow(dead_code)]
#[path = "../core/config.rs"]
mod config;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(launcher::main(&args));
}
