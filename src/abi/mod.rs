//! The C face of the library: the MPICH-ABI types and constants, and every
//! exported `MPI_`/`PMPI_` function.
//!
//! `generated*.rs` (from `scripts/gen-abi`) hold the exported functions;
//! each one calls the hand-written implementation of the same name in the
//! chapter modules below (`env`, `errors`, `info`, ...), which decode
//! handles, check arguments and call into `crate::core`. `entry` routes
//! failures to error handlers and keeps panics inside. The Fortran face
//! (`generated_fortran.rs`, helpers in `fortran`) translates Fortran
//! arguments and calls the C entry points.

// The ABI's types and constants are the core's handle encoding; they live
// in the core (which never imports this module) and are re-exported here.
pub use crate::core::{callbacks, consts, types};

mod coll;
mod comm;
mod data;
mod entry;
mod env;
mod errors;
#[macro_use]
mod fortran;
mod fortran_calls;
#[rustfmt::skip]
mod generated;
#[rustfmt::skip]
mod generated_fortran;
#[rustfmt::skip]
mod generated_io;
mod info;
mod io;
mod p2p;
mod session;
mod status;
mod tool;
mod topo;
mod util;
