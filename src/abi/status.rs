//! Status objects: field accessors (MPI-4.1), the cancelled flag, and the
//! conversions between C, Fortran and Fortran 2008 statuses.

use super::types::*;
use super::util::{out, put};
use crate::abi::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::request::Status;
use std::ffi::c_int;

pub(super) use crate::core::request::{
    CANCELLED_BIT, c_status_bytes as status_bytes, set_c_status_bytes as set_status_bytes,
};

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

fn status_in<'a>(p: *const MPI_Status) -> MpiResult<&'a MPI_Status> {
    // SAFETY: the caller passes a valid status or null.
    unsafe { p.as_ref() }.ok_or_else(|| MpiError::arg("status is a null pointer"))
}

pub(crate) fn status_set_cancelled(status: *mut MPI_Status, flag: c_int) -> MpiResult<()> {
    let s = out(status, "status")?;
    if flag != 0 {
        s.count_hi_and_cancelled |= CANCELLED_BIT;
    } else {
        s.count_hi_and_cancelled &= !CANCELLED_BIT;
    }
    Ok(())
}

pub(crate) fn test_cancelled(status: *const MPI_Status, flag: *mut c_int) -> MpiResult<()> {
    let s = status_in(status)?;
    put(
        flag,
        "flag",
        c_int::from(s.count_hi_and_cancelled & CANCELLED_BIT != 0),
    )
}

pub(crate) fn status_set_source(status: *mut MPI_Status, source: c_int) -> MpiResult<()> {
    out(status, "status")?.MPI_SOURCE = source;
    Ok(())
}

pub(crate) fn status_set_tag(status: *mut MPI_Status, tag: c_int) -> MpiResult<()> {
    out(status, "status")?.MPI_TAG = tag;
    Ok(())
}

pub(crate) fn status_set_error(status: *mut MPI_Status, err: c_int) -> MpiResult<()> {
    out(status, "status")?.MPI_ERROR = err;
    Ok(())
}

pub(crate) fn status_get_source(status: *const MPI_Status, source: *mut c_int) -> MpiResult<()> {
    put(source, "source", status_in(status)?.MPI_SOURCE)
}

pub(crate) fn status_get_tag(status: *const MPI_Status, tag: *mut c_int) -> MpiResult<()> {
    put(tag, "tag", status_in(status)?.MPI_TAG)
}

pub(crate) fn status_get_error(status: *const MPI_Status, err: *mut c_int) -> MpiResult<()> {
    put(err, "err", status_in(status)?.MPI_ERROR)
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
