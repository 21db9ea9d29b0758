// The shared library must carry the MPICH ABI's SONAME so that binaries
// linked against MPICH (which record `libmpi.so.12`) load it unchanged.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmpi.so.12");
    println!("cargo:rerun-if-changed=build.rs");
}
