//! Status objects, the C face: writing a core status into the caller's,
//! and the conversions between C, Fortran and Fortran 2008 statuses. (The
//! field and count calls are `core::status`'s.)

use super::types::*;
use crate::abi::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::request::Status;
use std::ffi::c_int;

/// Is `p` one of the "ignore" sentinels (or null)?
pub(super) fn ignored(p: *const MPI_Status) -> bool {
    p.is_null() || p == MPI_STATUS_IGNORE.cast_const()
}

/// Fill a user's status from a core status; `with_error` also sets the
/// `MPI_ERROR` field (multiple-completion calls only, as the standard says).
pub(super) fn write_status(p: *mut MPI_Status, st: &Status, with_error: bool) {
    if !ignored(p) {
        // SAFETY: not an ignore sentinel, so the user passed a status to fill.
        st.to_c(unsafe { &mut *p }, with_error);
    }
}

// All three status forms share one layout of five integers in the MPICH
// ABI, so every conversion is a copy of those five values.
fn copy5(from: *const c_int, to: *mut c_int) -> MpiResult<()> {
    if from.is_null() || to.is_null() {
        return Err(MpiError::arg("status is a null pointer"));
    }
    // SAFETY: both point to five-integer status objects.
    unsafe { std::ptr::copy(from, to, 5) };
    Ok(())
}

pub(crate) fn status_c2f(c_status: *const MPI_Status, f_status: *mut MPI_Fint) -> MpiResult<()> {
    copy5(c_status.cast(), f_status)
}

pub(crate) fn status_f2c(f_status: *const MPI_Fint, c_status: *mut MPI_Status) -> MpiResult<()> {
    copy5(f_status, c_status.cast())
}

pub(crate) fn status_f2f08(
    f_status: *const MPI_Fint,
    f08_status: *mut MPI_F08_status,
) -> MpiResult<()> {
    copy5(f_status, f08_status.cast())
}

pub(crate) fn status_f082f(
    f08_status: *const MPI_F08_status,
    f_status: *mut MPI_Fint,
) -> MpiResult<()> {
    copy5(f08_status.cast(), f_status)
}

pub(crate) fn status_c2f08(
    c_status: *const MPI_Status,
    f08_status: *mut MPI_F08_status,
) -> MpiResult<()> {
    copy5(c_status.cast(), f08_status.cast())
}

pub(crate) fn status_f082c(
    f08_status: *const MPI_F08_status,
    c_status: *mut MPI_Status,
) -> MpiResult<()> {
    copy5(f08_status.cast(), c_status.cast())
}
