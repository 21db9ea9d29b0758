//! Arguments as a C caller passes them that the core reads itself: arrays
//! whose length only the communicator tells (per-rank counts and types of
//! the v-collectives), and info handles. The C face uses the same checks.

use super::consts::MPI_INFO_NULL;
use super::error::{MpiError, MpiResult};
use super::types::MPI_Info;

/// The `n` values of a C array argument (which may be null when `n` is 0).
pub(crate) fn c_array<'a, T>(p: *const T, n: usize, what: &str) -> MpiResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(MpiError::arg(format!("{what} is a null pointer")));
    }
    // SAFETY: the C caller passes `n` values.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// An info argument: `MPI_INFO_NULL` or a valid info object.
pub(crate) fn info_arg(info: MPI_Info) -> MpiResult<()> {
    if info != MPI_INFO_NULL {
        super::info::get(info)?;
    }
    Ok(())
}
