//! OxMPI: an MPI library binary-compatible with the MPICH ABI.
//!
//! Layers (see docs/ARCHITECTURE.md): `abi` is the C face (handle decoding,
//! argument checks, error handlers, the exported `MPI_`/`PMPI_` symbols);
//! `core` holds the safe Rust objects and semantics; `pmi` bootstraps a
//! process into its job. The `mpiexec` launcher lives in `src/launcher` and
//! is built into its own binary.

pub mod abi;
pub mod core;
pub mod handles;
pub mod pmi;
pub mod topology;
pub mod transport;
