//! The safe Rust core: library state and the MPI objects behind the handles.
//! Nothing in here is `extern "C"`; the C face (`src/abi`) calls into it.

pub mod algorithms;
pub(crate) mod args;
pub mod attr;
pub mod bsend;
#[rustfmt::skip]
pub mod callbacks;
pub mod coll;
pub mod coll_hier;
pub mod collective;
pub mod comm;
pub mod comm_calls;
pub mod config;
pub mod consts;
pub mod datatype;
pub mod dpm;
pub mod errhandler;
pub mod error;
pub mod events;
pub mod group;
pub mod info;
pub mod io;
pub mod op;
pub mod p2p;
pub mod procs;
pub mod pt2pt;
pub mod pt2pt_calls;
pub mod request;
pub mod rma;
pub mod runtime;
pub mod sched;
pub mod session;
pub mod shmcoll;
pub mod status;
pub mod tool;
pub mod topo;
pub mod types;
