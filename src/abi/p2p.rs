//! Point-to-point communication, the C face: decode the arguments, call
//! `core::pt2pt`, write back statuses, flags and handles.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::callbacks::*;
use super::status::{ignored, write_status};
use super::types::*;
use super::util::{c_array, info_arg, out, put};
use crate::abi::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::pt2pt::{self, Any, Completion, Statuses};
use crate::core::request::Status;
use std::ffi::{c_int, c_void};

/// Report a finished blocking call: its status, then its error.
fn finish(c: Completion, status: *mut MPI_Status) -> MpiResult<()> {
    write_status(status, &c.status, false);
    c.error.map_or(Ok(()), Err)
}

/// A new request handle into the user's slot (checked before starting).
fn handle(slot: *mut MPI_Request, start: impl FnOnce() -> MpiResult<MPI_Request>) -> MpiResult<()> {
    let slot = out(slot, "request")?;
    *slot = start()?;
    Ok(())
}

/// The status of a null or inactive request (error field included).
fn empty_status(status: *mut MPI_Status) {
    write_status(status, &Status::empty(), true);
}

/// Write a multiple-completion call's statuses, then return its error.
fn finish_array(s: Statuses, statuses: *mut MPI_Status) -> MpiResult<()> {
    if !ignored(statuses) {
        for (k, st) in &s.list {
            // SAFETY: the user passes one status per reported request.
            write_status(unsafe { statuses.add(*k) }, st, s.error.is_some());
        }
    }
    s.error.map_or(Ok(()), Err)
}

// ---------------------------------------------------------------------------
// Probes and matched receives

pub(crate) fn iprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let found = pt2pt::iprobe(source, tag, comm)?;
    put(flag, "flag", c_int::from(found.is_some()))?;
    if let Some(st) = found {
        write_status(status, &st, false);
    }
    Ok(())
}

pub(crate) fn probe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    write_status(status, &pt2pt::probe(source, tag, comm)?, false);
    Ok(())
}

pub(crate) fn improbe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: *mut c_int,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let flag = out(flag, "flag")?;
    let message = out(message, "message")?;
    let found = pt2pt::improbe(source, tag, comm)?;
    *flag = c_int::from(found.is_some());
    if let Some((m, st)) = found {
        *message = m;
        write_status(status, &st, false);
    }
    Ok(())
}

pub(crate) fn mprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let message = out(message, "message")?;
    let (m, st) = pt2pt::mprobe(source, tag, comm)?;
    *message = m;
    write_status(status, &st, false);
    Ok(())
}

// ---------------------------------------------------------------------------
// Buffered-send buffer

pub(crate) fn buffer_attach(buffer: *mut c_void, size: c_int) -> MpiResult<()> {
    pt2pt::buffer_attach(buffer as usize, size.into())
}

pub(crate) fn buffer_attach_c(buffer: *mut c_void, size: MPI_Count) -> MpiResult<()> {
    pt2pt::buffer_attach(buffer as usize, size)
}

fn detach<T: TryFrom<usize>>(buffer_addr: *mut c_void, size: *mut T) -> MpiResult<()> {
    let addr = out(buffer_addr.cast::<*mut c_void>(), "buffer_addr")?;
    let size = out(size, "size")?;
    let (a, n) = pt2pt::buffer_detach()?;
    *addr = a as *mut c_void;
    *size = T::try_from(n).map_err(|_| MpiError::new(MPI_ERR_COUNT, "buffer size overflows"))?;
    Ok(())
}

pub(crate) fn buffer_detach(buffer_addr: *mut c_void, size: *mut c_int) -> MpiResult<()> {
    detach(buffer_addr, size)
}

pub(crate) fn buffer_detach_c(buffer_addr: *mut c_void, size: *mut MPI_Count) -> MpiResult<()> {
    detach(buffer_addr, size)
}

// ---------------------------------------------------------------------------
// Completion: wait, test and friends

pub(crate) fn wait(request: *mut MPI_Request, status: *mut MPI_Status) -> MpiResult<()> {
    match pt2pt::wait(out(request, "request")?)? {
        Some(c) => finish(c, status),
        None => {
            empty_status(status);
            Ok(())
        }
    }
}

pub(crate) fn test(
    request: *mut MPI_Request,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let h = out(request, "request")?;
    let flag = out(flag, "flag")?;
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
fn requests<'a>(count: c_int, reqs: *mut MPI_Request) -> MpiResult<&'a mut [MPI_Request]> {
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

pub(crate) fn waitall(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let s = pt2pt::waitall(requests(count, array_of_requests)?)?;
    finish_array(s, array_of_statuses)
}

pub(crate) fn testall(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    flag: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = requests(count, array_of_requests)?;
    let flag = out(flag, "flag")?;
    let done = pt2pt::testall(hs)?;
    *flag = c_int::from(done.is_some());
    done.map_or(Ok(()), |s| finish_array(s, array_of_statuses))
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

pub(crate) fn waitany(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    index: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = requests(count, array_of_requests)?;
    let index = out(index, "index")?;
    report_any(pt2pt::waitany(hs)?, index, None, status)
}

pub(crate) fn testany(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    index: *mut c_int,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = requests(count, array_of_requests)?;
    let index = out(index, "index")?;
    let flag = out(flag, "flag")?;
    report_any(pt2pt::testany(hs)?, index, Some(flag), status)
}

/// Report what a some-call found: outcount, indices, statuses.
fn report_some(
    found: Option<(Vec<c_int>, Statuses)>,
    outcount: *mut c_int,
    indices: *mut c_int,
    statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let outcount = out(outcount, "outcount")?;
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
    finish_array(s, statuses)
}

pub(crate) fn waitsome(
    incount: c_int,
    array_of_requests: *mut MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = requests(incount, array_of_requests)?;
    out(outcount, "outcount")?;
    let found = pt2pt::waitsome(hs)?;
    report_some(found, outcount, array_of_indices, array_of_statuses)
}

pub(crate) fn testsome(
    incount: c_int,
    array_of_requests: *mut MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = requests(incount, array_of_requests)?;
    out(outcount, "outcount")?;
    let found = pt2pt::testsome(hs)?;
    report_some(found, outcount, array_of_indices, array_of_statuses)
}

pub(crate) fn request_get_status(
    request: MPI_Request,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let flag = out(flag, "flag")?;
    let found = pt2pt::request_get_status(request)?;
    *flag = c_int::from(found.is_some());
    match found {
        Some(Some(st)) => write_status(status, &st, false),
        Some(None) => empty_status(status),
        None => {}
    }
    Ok(())
}

pub(crate) fn request_get_status_any(
    count: c_int,
    array_of_requests: *const MPI_Request,
    index: *mut c_int,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = requests(count, array_of_requests.cast_mut())?;
    let index = out(index, "index")?;
    let flag = out(flag, "flag")?;
    report_any(
        pt2pt::request_get_status_any(hs)?,
        index,
        Some(flag),
        status,
    )
}

pub(crate) fn request_get_status_all(
    count: c_int,
    array_of_requests: *const MPI_Request,
    flag: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = requests(count, array_of_requests.cast_mut())?;
    let flag = out(flag, "flag")?;
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

pub(crate) fn request_get_status_some(
    incount: c_int,
    array_of_requests: *const MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = requests(incount, array_of_requests.cast_mut())?;
    out(outcount, "outcount")?;
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
    report_some(found, outcount, array_of_indices, array_of_statuses)
}

pub(crate) fn request_free(request: *mut MPI_Request) -> MpiResult<()> {
    pt2pt::request_free(out(request, "request")?)
}

pub(crate) fn cancel(request: *mut MPI_Request) -> MpiResult<()> {
    pt2pt::cancel(*out(request, "request")?)
}

pub(crate) fn start(request: *mut MPI_Request) -> MpiResult<()> {
    pt2pt::start(*out(request, "request")?)
}

pub(crate) fn startall(count: c_int, array_of_requests: *mut MPI_Request) -> MpiResult<()> {
    requests(count, array_of_requests)?
        .iter()
        .try_for_each(|&h| pt2pt::start(h))
}

pub(crate) fn grequest_start(
    query_fn: *mut MPI_Grequest_query_function,
    free_fn: *mut MPI_Grequest_free_function,
    cancel_fn: *mut MPI_Grequest_cancel_function,
    extra_state: *mut c_void,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    handle(request, || {
        pt2pt::grequest_start(
            query_fn as usize,
            free_fn as usize,
            cancel_fn as usize,
            extra_state,
        )
    })
}

pub(crate) fn grequest_complete(request: MPI_Request) -> MpiResult<()> {
    pt2pt::grequest_complete(request)
}

// ---------------------------------------------------------------------------
// Counts

/// The byte count of a status argument.
fn status_bytes(status: *const MPI_Status) -> MpiResult<usize> {
    // SAFETY: the user passes a status or null.
    let s = unsafe { status.as_ref() }.ok_or_else(|| MpiError::arg("status is a null pointer"))?;
    Ok(super::status::status_bytes(s))
}

/// A count as `int`: `MPI_UNDEFINED` when partial or too large.
fn count_int(n: Option<i64>) -> c_int {
    n.and_then(|n| c_int::try_from(n).ok())
        .unwrap_or(MPI_UNDEFINED)
}

fn count_big(n: Option<i64>) -> MPI_Count {
    n.unwrap_or(MPI_UNDEFINED.into())
}

pub(crate) fn get_count(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut c_int,
) -> MpiResult<()> {
    put(
        count,
        "count",
        count_int(pt2pt::count_of(status_bytes(status)?, datatype)?),
    )
}

pub(crate) fn get_count_c(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut MPI_Count,
) -> MpiResult<()> {
    put(
        count,
        "count",
        count_big(pt2pt::count_of(status_bytes(status)?, datatype)?),
    )
}

pub(crate) fn get_elements(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut c_int,
) -> MpiResult<()> {
    put(
        count,
        "count",
        count_int(pt2pt::elements_of(status_bytes(status)?, datatype)?),
    )
}

pub(crate) fn get_elements_x(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut MPI_Count,
) -> MpiResult<()> {
    put(
        count,
        "count",
        count_big(pt2pt::elements_of(status_bytes(status)?, datatype)?),
    )
}

pub(crate) fn get_elements_c(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut MPI_Count,
) -> MpiResult<()> {
    get_elements_x(status, datatype, count)
}

fn set_elements(status: *mut MPI_Status, datatype: MPI_Datatype, count: i64) -> MpiResult<()> {
    let s = out(status, "status")?;
    let bytes = pt2pt::bytes_of_elements(datatype, count)?;
    super::status::set_status_bytes(s, bytes);
    Ok(())
}

pub(crate) fn status_set_elements(
    status: *mut MPI_Status,
    datatype: MPI_Datatype,
    count: c_int,
) -> MpiResult<()> {
    set_elements(status, datatype, count.into())
}

pub(crate) fn status_set_elements_x(
    status: *mut MPI_Status,
    datatype: MPI_Datatype,
    count: MPI_Count,
) -> MpiResult<()> {
    set_elements(status, datatype, count)
}

pub(crate) fn status_set_elements_c(
    status: *mut MPI_Status,
    datatype: MPI_Datatype,
    count: MPI_Count,
) -> MpiResult<()> {
    set_elements(status, datatype, count)
}

// ---------------------------------------------------------------------------
// Partitioned communication

pub(crate) fn psend_init(
    buf: *const c_void,
    partitions: c_int,
    count: MPI_Count,
    datatype: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    comm: MPI_Comm,
    info: MPI_Info,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    info_arg(info)?;
    handle(request, || {
        pt2pt::psend_init(buf as usize, partitions, count, datatype, dest, tag, comm)
    })
}

pub(crate) fn precv_init(
    buf: *mut c_void,
    partitions: c_int,
    count: MPI_Count,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    info: MPI_Info,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    info_arg(info)?;
    handle(request, || {
        pt2pt::precv_init(buf as usize, partitions, count, datatype, source, tag, comm)
    })
}

pub(crate) fn pready(partition: c_int, request: MPI_Request) -> MpiResult<()> {
    pt2pt::pready(request, std::iter::once(partition))
}

pub(crate) fn pready_range(
    partition_low: c_int,
    partition_high: c_int,
    request: MPI_Request,
) -> MpiResult<()> {
    pt2pt::pready(request, partition_low..=partition_high)
}

pub(crate) fn pready_list(
    length: c_int,
    array_of_partitions: *const c_int,
    request: MPI_Request,
) -> MpiResult<()> {
    if length < 0 {
        return Err(MpiError::arg(format!("negative length {length}")));
    }
    let list = c_array(array_of_partitions, length as usize, "array_of_partitions")?;
    pt2pt::pready(request, list.iter().copied())
}

pub(crate) fn parrived(request: MPI_Request, partition: c_int, flag: *mut c_int) -> MpiResult<()> {
    let arrived = pt2pt::parrived(request, partition)?;
    put(flag, "flag", c_int::from(arrived))
}
