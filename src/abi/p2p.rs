//! Point-to-point completion calls, the C face: the wait, test and
//! request-status families, whose request and status arrays it decodes.
//! (Every other point-to-point call binds to `core::pt2pt` or
//! `core::pt2pt_calls` directly.)

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::status::{ignored, write_status};
use super::types::*;
use super::util::out;
use crate::abi::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::pt2pt::{self, Any, Completion, Statuses};
use crate::core::request::Status;
use std::ffi::c_int;

/// Report a finished blocking call: its status, then its error.
fn finish(c: Completion, status: *mut MPI_Status) -> MpiResult<()> {
    write_status(status, &c.status, false);
    c.error.map_or(Ok(()), Err)
}

/// The status of a null or inactive request (error field included).
fn empty_status(status: *mut MPI_Status) {
    write_status(status, &Status::empty(), true);
}

/// Write a multiple-completion call's statuses, then return its error.
unsafe fn finish_array(s: Statuses, statuses: *mut MPI_Status) -> MpiResult<()> {
    if !ignored(statuses) {
        for (k, st) in &s.list {
            // SAFETY: the user passes one status per reported request.
            write_status(unsafe { statuses.add(*k) }, st, s.error.is_some());
        }
    }
    s.error.map_or(Ok(()), Err)
}

// ---------------------------------------------------------------------------
// Completion: wait, test and friends

pub(crate) unsafe fn wait(request: *mut MPI_Request, status: *mut MPI_Status) -> MpiResult<()> {
    match pt2pt::wait(unsafe { out(request, "request") }?)? {
        Some(c) => finish(c, status),
        None => {
            empty_status(status);
            Ok(())
        }
    }
}

pub(crate) unsafe fn test(
    request: *mut MPI_Request,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let h = unsafe { out(request, "request") }?;
    let flag = unsafe { out(flag, "flag") }?;
    let done = pt2pt::test(h)?;
    *flag = c_int::from(done.is_some());
    match done {
        Some(Some(c)) => finish(c, status),
        Some(None) => {
            empty_status(status);
            Ok(())
        }
        None => Ok(()),
    }
}

/// The requests of an array call, checked.
unsafe fn requests<'a>(count: c_int, reqs: *mut MPI_Request) -> MpiResult<&'a mut [MPI_Request]> {
    if count < 0 {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {count}"),
        ));
    }
    if count > 0 && reqs.is_null() {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            "array_of_requests is a null pointer",
        ));
    }
    if count == 0 {
        return Ok(&mut []);
    }
    // SAFETY: the user passes `count` requests.
    Ok(unsafe { std::slice::from_raw_parts_mut(reqs, count as usize) })
}

pub(crate) unsafe fn waitall(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let s = pt2pt::waitall(unsafe { requests(count, array_of_requests) }?)?;
    unsafe { finish_array(s, array_of_statuses) }
}

pub(crate) unsafe fn testall(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    flag: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = unsafe { requests(count, array_of_requests) }?;
    let flag = unsafe { out(flag, "flag") }?;
    let done = pt2pt::testall(hs)?;
    *flag = c_int::from(done.is_some());
    done.map_or(Ok(()), |s| unsafe { finish_array(s, array_of_statuses) })
}

/// Report what an any-call found.
fn report_any(
    found: Any,
    index: &mut c_int,
    flag: Option<&mut c_int>,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    *index = MPI_UNDEFINED;
    let (done, result) = match found {
        Any::NoneActive => {
            empty_status(status);
            (true, Ok(()))
        }
        Any::NotYet => (false, Ok(())),
        Any::Done(i, c) => {
            *index = i as c_int;
            (true, finish(c, status))
        }
    };
    if let Some(flag) = flag {
        *flag = c_int::from(done);
    }
    result
}

pub(crate) unsafe fn waitany(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    index: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = unsafe { requests(count, array_of_requests) }?;
    let index = unsafe { out(index, "index") }?;
    report_any(pt2pt::waitany(hs)?, index, None, status)
}

pub(crate) unsafe fn testany(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    index: *mut c_int,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = unsafe { requests(count, array_of_requests) }?;
    let index = unsafe { out(index, "index") }?;
    let flag = unsafe { out(flag, "flag") }?;
    report_any(pt2pt::testany(hs)?, index, Some(flag), status)
}

/// Report what a some-call found: outcount, indices, statuses.
unsafe fn report_some(
    found: Option<(Vec<c_int>, Statuses)>,
    outcount: *mut c_int,
    indices: *mut c_int,
    statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let outcount = unsafe { out(outcount, "outcount") }?;
    let Some((list, s)) = found else {
        *outcount = MPI_UNDEFINED;
        return Ok(());
    };
    if !list.is_empty() && indices.is_null() {
        return Err(MpiError::arg("array_of_indices is a null pointer"));
    }
    for (k, &i) in list.iter().enumerate() {
        // SAFETY: the user passes room for `incount` indices.
        unsafe { *indices.add(k) = i };
    }
    *outcount = list.len() as c_int;
    unsafe { finish_array(s, statuses) }
}

pub(crate) unsafe fn waitsome(
    incount: c_int,
    array_of_requests: *mut MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = unsafe { requests(incount, array_of_requests) }?;
    unsafe { out(outcount, "outcount") }?;
    let found = pt2pt::waitsome(hs)?;
    unsafe { report_some(found, outcount, array_of_indices, array_of_statuses) }
}

pub(crate) unsafe fn testsome(
    incount: c_int,
    array_of_requests: *mut MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = unsafe { requests(incount, array_of_requests) }?;
    unsafe { out(outcount, "outcount") }?;
    let found = pt2pt::testsome(hs)?;
    unsafe { report_some(found, outcount, array_of_indices, array_of_statuses) }
}

pub(crate) unsafe fn request_get_status(
    request: MPI_Request,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let flag = unsafe { out(flag, "flag") }?;
    let found = pt2pt::request_get_status(request)?;
    *flag = c_int::from(found.is_some());
    match found {
        Some(Some(st)) => write_status(status, &st, false),
        Some(None) => empty_status(status),
        None => {}
    }
    Ok(())
}

pub(crate) unsafe fn request_get_status_any(
    count: c_int,
    array_of_requests: *const MPI_Request,
    index: *mut c_int,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = unsafe { requests(count, array_of_requests.cast_mut()) }?;
    let index = unsafe { out(index, "index") }?;
    let flag = unsafe { out(flag, "flag") }?;
    report_any(
        pt2pt::request_get_status_any(hs)?,
        index,
        Some(flag),
        status,
    )
}

pub(crate) unsafe fn request_get_status_all(
    count: c_int,
    array_of_requests: *const MPI_Request,
    flag: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = unsafe { requests(count, array_of_requests.cast_mut()) }?;
    let flag = unsafe { out(flag, "flag") }?;
    let found = pt2pt::request_get_status_all(hs)?;
    *flag = c_int::from(found.is_some());
    if let Some(list) = found
        && !ignored(array_of_statuses)
    {
        for (i, st) in list.iter().enumerate() {
            // SAFETY: one status per request.
            write_status(unsafe { array_of_statuses.add(i) }, st, false);
        }
    }
    Ok(())
}

pub(crate) unsafe fn request_get_status_some(
    incount: c_int,
    array_of_requests: *const MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = unsafe { requests(incount, array_of_requests.cast_mut()) }?;
    unsafe { out(outcount, "outcount") }?;
    let found = pt2pt::request_get_status_some(hs)?.map(|list| {
        let (indices, statuses) = list
            .into_iter()
            .enumerate()
            .map(|(k, (i, st))| (i, (k, st)))
            .unzip();
        (
            indices,
            Statuses {
                list: statuses,
                error: None,
            },
        )
    });
    unsafe { report_some(found, outcount, array_of_indices, array_of_statuses) }
}

pub(crate) unsafe fn startall(count: c_int, array_of_requests: *mut MPI_Request) -> MpiResult<()> {
    unsafe { requests(count, array_of_requests) }?
        .iter()
        .try_for_each(|&h| pt2pt::start(h))
}
