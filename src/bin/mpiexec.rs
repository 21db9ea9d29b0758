//! The `mpiexec` (and `mpirun`) launcher, and `oxmpi-nameserver`; see
//! src/launcher.

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
    // Installed also as `oxmpi-nameserver`, which the name it is run by
    // selects.
    let name = std::env::args_os().next().unwrap_or_default();
    let base = std::path::Path::new(&name).file_name().unwrap_or_default();
    if base == "oxmpi-nameserver" {
        std::process::exit(launcher::nameserver::main(&args));
    }
    std::process::exit(launcher::main(&args));
}
