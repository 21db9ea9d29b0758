//! Error classes, codes and strings, and error handlers for communicators,
//! windows, files and sessions (MPI-4.1 chapter 9).

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

use super::callbacks::*;
use super::entry::{self, Target};
use super::types::*;
use super::util::{MAX_ERROR_STRING, out, put, write_cstr};
use crate::abi::consts::*;
use crate::core::comm;
use crate::core::errhandler::{self, ObjKind};
use crate::core::error::{self, MpiError, MpiResult};
use std::ffi::{c_char, c_int};

pub(crate) unsafe fn error_string(
    errorcode: c_int,
    string: *mut c_char,
    resultlen: *mut c_int,
) -> MpiResult<()> {
    let text = error::error_string(errorcode)
        .ok_or_else(|| MpiError::arg(format!("invalid error code {errorcode}")))?;
    if string.is_null() {
        return Err(MpiError::arg("string is a null pointer"));
    }
    // SAFETY: the caller provides MPI_MAX_ERROR_STRING bytes.
    let n = unsafe { write_cstr(string, MAX_ERROR_STRING, &text) };
    unsafe { put(resultlen, "resultlen", n as c_int) }
}

pub(crate) fn remove_error_class(errorclass: c_int) -> MpiResult<()> {
    error::remove_error_class(errorclass)
}

pub(crate) fn remove_error_code(errorcode: c_int) -> MpiResult<()> {
    error::remove_error_code(errorcode)
}

pub(crate) fn remove_error_string(errorcode: c_int) -> MpiResult<()> {
    error::remove_error_string(errorcode)
}

unsafe fn create(kind: ObjKind, func: usize, errhandler: *mut MPI_Errhandler) -> MpiResult<()> {
    let slot = unsafe { out(errhandler, "errhandler") }?;
    if func == 0 {
        return Err(MpiError::arg(
            "the error handler function is a null pointer",
        ));
    }
    *slot = errhandler::create(kind, func);
    Ok(())
}

pub(crate) unsafe fn comm_create_errhandler(
    f: *mut MPI_Comm_errhandler_function,
    errhandler: *mut MPI_Errhandler,
) -> MpiResult<()> {
    unsafe { create(ObjKind::Comm, f as usize, errhandler) }
}

pub(crate) unsafe fn win_create_errhandler(
    f: *mut MPI_Win_errhandler_function,
    errhandler: *mut MPI_Errhandler,
) -> MpiResult<()> {
    unsafe { create(ObjKind::Win, f as usize, errhandler) }
}

pub(crate) unsafe fn file_create_errhandler(
    f: *mut MPI_File_errhandler_function,
    errhandler: *mut MPI_Errhandler,
) -> MpiResult<()> {
    unsafe { create(ObjKind::File, f as usize, errhandler) }
}

pub(crate) unsafe fn session_create_errhandler(
    f: *mut MPI_Session_errhandler_function,
    errhandler: *mut MPI_Errhandler,
) -> MpiResult<()> {
    unsafe { create(ObjKind::Session, f as usize, errhandler) }
}

pub(crate) unsafe fn errhandler_create(
    f: *mut MPI_Comm_errhandler_function,
    errhandler: *mut MPI_Errhandler,
) -> MpiResult<()> {
    unsafe { comm_create_errhandler(f, errhandler) }
}

/// `MPI_*_call_errhandler`: the handler runs as if the error had been raised
/// by an MPI call on the object; the call itself then succeeds (with
/// `MPI_ERRORS_RETURN` too, as in MPICH: that handler does nothing).
pub(super) fn call(target: Target, handler: c_int, func: &str, errorcode: c_int) -> MpiResult<()> {
    if error::error_class(errorcode).is_none() {
        return Err(MpiError::arg(format!("invalid error code {errorcode}")));
    }
    if errorcode == MPI_SUCCESS {
        return Ok(());
    }
    let err = MpiError::new(errorcode, format!("error raised by {func}"));
    entry::invoke(func, target, handler, err);
    Ok(())
}

pub(crate) fn comm_call_errhandler(c: MPI_Comm, errorcode: c_int) -> MpiResult<()> {
    let comm = comm::get(c)?;
    call(
        Target::Comm(c),
        comm.errhandler.get(),
        "MPI_Comm_call_errhandler",
        errorcode,
    )
}

pub(crate) fn win_call_errhandler(win: MPI_Win, errorcode: c_int) -> MpiResult<()> {
    let w = crate::core::rma::get(win)?;
    call(
        Target::Win(win),
        w.errhandler.get(),
        "MPI_Win_call_errhandler",
        errorcode,
    )
}

pub(crate) fn file_call_errhandler(fh: MPI_File, errorcode: c_int) -> MpiResult<()> {
    call(
        Target::File(fh),
        crate::core::io::with_errhandler(fh, |s| s.get())?,
        "MPI_File_call_errhandler",
        errorcode,
    )
}
