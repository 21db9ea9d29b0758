// The shared library must carry the MPICH ABI's SONAME so that binaries
// linked against MPICH (which record `libmpi.so.12`) load it unchanged.
//
// The network transport's libfabric calls are compiled from a small C file
// against libfabric's headers (most of its API is inline functions); the
// library itself is opened at run time. Without the headers the transport
// is left out and jobs stay on one node.
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmpi.so.12");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/transport/ofi_shim.c");
    println!("cargo::rustc-check-cfg=cfg(oxmpi_ofi)");
    let mut build = cc::Build::new();
    let flags = Command::new("pkg-config")
        .args(["--cflags-only-I", "libfabric"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let found = match &flags {
        Some(f) => {
            for dir in f.split_whitespace().filter_map(|w| w.strip_prefix("-I")) {
                build.include(dir);
            }
            true
        }
        None => Path::new("/usr/include/rdma/fabric.h").exists(),
    };
    if !found {
        println!(
            "cargo:warning=libfabric headers not found (Debian: libfabric-dev): \
             building without the network transport"
        );
        return;
    }
    build
        .file("src/transport/ofi_shim.c")
        .warnings(true)
        .compile("oxmpi_ofi_shim");
    println!("cargo:rustc-cfg=oxmpi_ofi");
}
