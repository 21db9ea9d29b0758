//! Communicators, the C face: the calls `core::comm_calls` does not take
//! directly (a name written into the caller's buffer; `MPI_Comm_idup`,
//! whose handle is written when the request completes).

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

use super::types::*;
use super::util::{out, put, write_cstr};
use crate::abi::consts::*;
use crate::core::comm;
use crate::core::comm_calls::known_hints;
use crate::core::error::{MpiError, MpiResult};
use crate::core::request::{REQUESTS, ReqKind, Request};
use std::ffi::{c_char, c_int};

pub(crate) unsafe fn comm_get_name(
    c: MPI_Comm,
    comm_name: *mut c_char,
    resultlen: *mut c_int,
) -> MpiResult<()> {
    // The null handle has a name too, as in MPICH.
    let name = if c == MPI_COMM_NULL {
        "MPI_COMM_NULL".to_string()
    } else {
        comm::get(c)?.name.lock().clone()
    };
    if comm_name.is_null() {
        return Err(MpiError::arg("comm_name is a null pointer"));
    }
    // SAFETY: the caller provides MPI_MAX_OBJECT_NAME bytes.
    let n = unsafe { write_cstr(comm_name, MPI_MAX_OBJECT_NAME as usize, &name) };
    unsafe { put(resultlen, "resultlen", n as c_int) }
}

pub(crate) unsafe fn comm_idup(
    c: MPI_Comm,
    newcomm: *mut MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    unsafe { idup_impl(c, None, newcomm, request) }
}

pub(crate) unsafe fn comm_idup_with_info(
    c: MPI_Comm,
    info: MPI_Info,
    newcomm: *mut MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    unsafe { idup_impl(c, Some(known_hints(info)?), newcomm, request) }
}

/// `MPI_Comm_idup(_with_info)`: the new handle is written to `newcomm`
/// when the request completes (`MPI_COMM_NULL` until then).
unsafe fn idup_impl(
    c: MPI_Comm,
    hints: Option<Vec<(String, String)>>,
    newcomm: *mut MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    let parent = comm::get(c)?;
    let slot = unsafe { out(newcomm, "newcomm") }?;
    let rslot = unsafe { out(request, "request") }?;
    *slot = MPI_COMM_NULL;
    let req = Request::new(ReqKind::Coll, parent.handle);
    *rslot = REQUESTS.insert(req.clone());
    let at = newcomm as usize;
    let done = move |h: c_int| {
        if let (Some(hints), Some(c)) = (&hints, comm::lookup(h)) {
            *c.hints.lock() = hints.clone();
        }
        // SAFETY: the user keeps `newcomm` valid until the request completes.
        unsafe { *(at as *mut MPI_Comm) = h };
    };
    comm::idup(&parent, done, req).inspect_err(|_| {
        REQUESTS.remove(*rslot);
        *rslot = MPI_REQUEST_NULL;
    })
}
