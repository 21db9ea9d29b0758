//! Small helpers shared by the C-face modules: C strings in and out, and
//! checks on output pointers.

use crate::abi::consts::*;
use crate::abi::types::MPI_Status;
use crate::core::error::{MpiError, MpiResult};
use std::ffi::{CStr, c_char};

/// Borrow a NUL-terminated C string argument.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that outlives the call.
pub unsafe fn cstr<'a>(p: *const c_char, what: &str) -> MpiResult<&'a str> {
    if p.is_null() {
        return Err(MpiError::arg(format!("{what} is a null pointer")));
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| MpiError::arg(format!("{what} is not valid UTF-8")))
}

/// Like `cstr`, for a string only one process reads (a root's): null is
/// `None`, and so is a string that is not UTF-8 (the root reports it).
///
/// # Safety
/// `p` is null or points to a NUL-terminated string.
pub unsafe fn opt_cstr<'a>(p: *const c_char, _what: &str) -> MpiResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    Ok(unsafe { CStr::from_ptr(p) }.to_str().ok())
}

/// Write `s` into a caller's buffer of `cap` bytes (NUL included),
/// truncating if needed; returns the number of characters written.
///
/// # Safety
/// `buf` points to at least `cap` writable bytes.
pub unsafe fn write_cstr(buf: *mut c_char, cap: usize, s: &str) -> usize {
    if cap == 0 {
        return 0;
    }
    let n = s.len().min(cap - 1);
    // SAFETY: n + 1 <= cap bytes are writable per the caller's contract.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    n
}

/// A checked output pointer.
///
/// # Safety
/// `p` is null or valid for writes of a `T` for the lifetime chosen.
pub unsafe fn out<'a, T>(p: *mut T, what: &str) -> MpiResult<&'a mut T> {
    // SAFETY: the C caller provides either null or a valid pointer to T.
    unsafe { p.as_mut() }.ok_or_else(|| MpiError::arg(format!("{what} is a null pointer")))
}

/// Store a value through an output argument.
///
/// # Safety
/// As for [`out`].
pub unsafe fn put<T>(p: *mut T, what: &str, value: T) -> MpiResult<()> {
    // SAFETY: passed on from the caller.
    *unsafe { out(p, what) }? = value;
    Ok(())
}

pub const MAX_ERROR_STRING: usize = MPI_MAX_ERROR_STRING as usize;

// Shared with the core, which reads some arrays itself.
pub(crate) use crate::core::args::{c_array, info_arg};

/// A 64-bit count for an `int` output argument: `MPI_UNDEFINED` when it
/// does not fit (the standard's rule for counts and sizes).
pub fn narrow(v: crate::core::types::MPI_Count) -> std::ffi::c_int {
    std::ffi::c_int::try_from(v).unwrap_or(MPI_UNDEFINED)
}

/// A status output argument: `None` for `MPI_STATUS_IGNORE` (or null).
///
/// # Safety
/// `p` is null, an ignore sentinel, or valid for writes of a status.
pub unsafe fn status_out<'a>(p: *mut MPI_Status) -> Option<&'a mut MPI_Status> {
    if p == MPI_STATUS_IGNORE {
        return None;
    }
    // SAFETY: the C caller passes a valid status, an ignore sentinel or null.
    unsafe { p.as_mut() }
}

/// The `n` entries of a C output array (which may be null when `n` is 0).
///
/// # Safety
/// `p` is null or valid for reads and writes of `n` values of `T`.
pub unsafe fn c_array_mut<'a, T>(p: *mut T, n: usize, what: &str) -> MpiResult<&'a mut [T]> {
    if n == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(MpiError::arg(format!("{what} is a null pointer")));
    }
    // SAFETY: the C caller passes room for `n` values.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, n) })
}

/// A checked input pointer.
///
/// # Safety
/// `p` is null or valid for reads of a `T` for the lifetime chosen.
pub unsafe fn in_ref<'a, T>(p: *const T, what: &str) -> MpiResult<&'a T> {
    // SAFETY: the C caller provides either null or a valid pointer to T.
    unsafe { p.as_ref() }.ok_or_else(|| MpiError::arg(format!("{what} is a null pointer")))
}
