//! Arguments as a C caller passes them that the core reads itself: arrays
//! whose length only the communicator tells (per-rank counts and types of
//! the v-collectives), and info handles. The C face uses the same checks.

use super::consts::MPI_INFO_NULL;
use super::error::{MpiError, MpiResult};
use super::types::MPI_Info;

/// The `n` values of a C array argument (which may be null when `n` is 0).
///
/// # Safety
/// `p` is null or valid for reads of `n` values of `T` for the lifetime
/// chosen.
pub(crate) unsafe fn c_array<'a, T>(p: *const T, n: usize, what: &str) -> MpiResult<&'a [T]> {
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

/// A caller's string buffer of a fixed capacity the standard names
/// (`MPI_MAX_OBJECT_NAME` and the like).
pub struct StrOut<'a>(pub &'a mut [u8]);

impl StrOut<'_> {
    /// Store `s`, truncated to fit with its terminating NUL; the number of
    /// bytes stored before the NUL.
    pub fn write(&mut self, s: &str) -> std::ffi::c_int {
        let Some(room) = self.0.len().checked_sub(1) else {
            return 0;
        };
        let n = s.len().min(room);
        self.0[..n].copy_from_slice(&s.as_bytes()[..n]);
        self.0[n] = 0;
        n as std::ffi::c_int
    }
}

/// Store a new object's handle in the caller's slot: `null` first, so a
/// failure leaves no stale handle behind.
pub fn new_handle<H>(slot: &mut H, null: H, make: impl FnOnce() -> MpiResult<H>) -> MpiResult<()> {
    *slot = null;
    *slot = make()?;
    Ok(())
}
