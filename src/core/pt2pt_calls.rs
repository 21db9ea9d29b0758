//! The point-to-point calls that are not send or receive families: probes,
//! the buffered-send buffers (`core::bsend`), single requests, generalized and partitioned
//! requests. Typed arguments; `scripts/gen-abi` binds each by its
//! `doc(alias)`. The semantics are `core::pt2pt`'s.

use super::args::info_arg;
use super::bsend;
use super::comm;
use super::error::{MpiError, MpiResult};
use super::pt2pt;
use super::request::{REQUESTS, ReqKind, Request, Status};
use super::session;
use super::types::MPI_Status;
use super::types::{
    MPI_Comm, MPI_Count, MPI_Datatype, MPI_Info, MPI_Message, MPI_Request, MPI_Session,
};
use crate::core::consts::{MPI_COMM_SELF, MPI_ERR_COUNT};
use std::ffi::{c_int, c_void};

/// Fill a status the caller did not ignore.
fn report(found: &Status, status: Option<&mut MPI_Status>) {
    if let Some(s) = status {
        found.to_c(s, false);
    }
}

#[doc(alias = "MPI_Iprobe")]
pub fn iprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: &mut c_int,
    status: Option<&mut MPI_Status>,
) -> MpiResult<()> {
    let found = pt2pt::iprobe(source, tag, comm)?;
    *flag = c_int::from(found.is_some());
    if let Some(st) = found {
        report(&st, status);
    }
    Ok(())
}

#[doc(alias = "MPI_Probe")]
pub fn probe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: Option<&mut MPI_Status>,
) -> MpiResult<()> {
    report(&pt2pt::probe(source, tag, comm)?, status);
    Ok(())
}

#[doc(alias = "MPI_Improbe")]
pub fn improbe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: &mut c_int,
    message: &mut MPI_Message,
    status: Option<&mut MPI_Status>,
) -> MpiResult<()> {
    let found = pt2pt::improbe(source, tag, comm)?;
    *flag = c_int::from(found.is_some());
    if let Some((m, st)) = found {
        *message = m;
        report(&st, status);
    }
    Ok(())
}

#[doc(alias = "MPI_Mprobe")]
pub fn mprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    message: &mut MPI_Message,
    status: Option<&mut MPI_Status>,
) -> MpiResult<()> {
    let (m, st) = pt2pt::mprobe(source, tag, comm)?;
    *message = m;
    report(&st, status);
    Ok(())
}

#[doc(alias = "MPI_Buffer_attach")]
pub fn buffer_attach(buffer: usize, size: MPI_Count) -> MpiResult<()> {
    bsend::PROCESS.attach(buffer, size)
}

/// A detached buffer's address and size, into the caller's slots
/// (`buffer_addr` is the caller's `void *` slot).
fn detached(
    (a, n): (usize, usize),
    buffer_addr: &mut usize,
    size: &mut MPI_Count,
) -> MpiResult<()> {
    *buffer_addr = a;
    *size = MPI_Count::try_from(n)
        .map_err(|_| MpiError::new(MPI_ERR_COUNT, "buffer size overflows"))?;
    Ok(())
}

#[doc(alias = "MPI_Buffer_detach")]
pub fn buffer_detach(buffer_addr: &mut usize, size: &mut MPI_Count) -> MpiResult<()> {
    detached(bsend::PROCESS.detach()?, buffer_addr, size)
}

#[doc(alias = "MPI_Comm_attach_buffer")]
pub fn comm_attach_buffer(comm: MPI_Comm, buffer: usize, size: MPI_Count) -> MpiResult<()> {
    comm::get(comm)?.bsend.attach(buffer, size)
}

#[doc(alias = "MPI_Comm_detach_buffer")]
pub fn comm_detach_buffer(
    comm: MPI_Comm,
    buffer_addr: &mut usize,
    size: &mut MPI_Count,
) -> MpiResult<()> {
    detached(comm::get(comm)?.bsend.detach()?, buffer_addr, size)
}

#[doc(alias = "MPI_Session_attach_buffer")]
pub fn session_attach_buffer(
    session: MPI_Session,
    buffer: usize,
    size: MPI_Count,
) -> MpiResult<()> {
    session::get(session)?.bsend.attach(buffer, size)
}

#[doc(alias = "MPI_Session_detach_buffer")]
pub fn session_detach_buffer(
    session: MPI_Session,
    buffer_addr: &mut usize,
    size: &mut MPI_Count,
) -> MpiResult<()> {
    detached(session::get(session)?.bsend.detach()?, buffer_addr, size)
}

/// A request that completes once the buffered sends drawing on `b` so
/// far have gone out.
fn iflush(b: &bsend::Buffer, request: &mut MPI_Request) -> MpiResult<()> {
    let own = comm::get(MPI_COMM_SELF)?;
    let req = Request::new(ReqKind::Coll, MPI_COMM_SELF);
    b.iflush(own, req.clone());
    *request = REQUESTS.insert(req);
    Ok(())
}

#[doc(alias = "MPI_Buffer_flush")]
pub fn buffer_flush() -> MpiResult<()> {
    bsend::PROCESS.flush();
    Ok(())
}

#[doc(alias = "MPI_Buffer_iflush")]
pub fn buffer_iflush(request: &mut MPI_Request) -> MpiResult<()> {
    iflush(&bsend::PROCESS, request)
}

#[doc(alias = "MPI_Comm_flush_buffer")]
pub fn comm_flush_buffer(comm: MPI_Comm) -> MpiResult<()> {
    comm::get(comm)?.bsend.flush();
    Ok(())
}

#[doc(alias = "MPI_Comm_iflush_buffer")]
pub fn comm_iflush_buffer(comm: MPI_Comm, request: &mut MPI_Request) -> MpiResult<()> {
    iflush(&comm::get(comm)?.bsend, request)
}

#[doc(alias = "MPI_Session_flush_buffer")]
pub fn session_flush_buffer(session: MPI_Session) -> MpiResult<()> {
    session::get(session)?.bsend.flush();
    Ok(())
}

#[doc(alias = "MPI_Session_iflush_buffer")]
pub fn session_iflush_buffer(session: MPI_Session, request: &mut MPI_Request) -> MpiResult<()> {
    iflush(&session::get(session)?.bsend, request)
}

#[doc(alias = "MPI_Request_free")]
pub fn request_free(request: &mut MPI_Request) -> MpiResult<()> {
    pt2pt::request_free(request)
}

#[doc(alias = "MPI_Cancel")]
pub fn cancel(request: &mut MPI_Request) -> MpiResult<()> {
    pt2pt::cancel(*request)
}

#[doc(alias = "MPI_Start")]
pub fn start(request: &mut MPI_Request) -> MpiResult<()> {
    pt2pt::start(*request)
}

#[doc(alias = "MPI_Grequest_start")]
pub fn grequest_start(
    query_fn: usize,
    free_fn: usize,
    cancel_fn: usize,
    extra_state: *mut c_void,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    *request = pt2pt::grequest_start(query_fn, free_fn, cancel_fn, extra_state)?;
    Ok(())
}

#[doc(alias = "MPI_Grequest_complete")]
pub fn grequest_complete(request: MPI_Request) -> MpiResult<()> {
    pt2pt::grequest_complete(request)
}

#[doc(alias = "MPI_Psend_init")]
#[allow(clippy::too_many_arguments)]
pub fn psend_init(
    buf: usize,
    partitions: c_int,
    count: MPI_Count,
    datatype: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    comm: MPI_Comm,
    info: MPI_Info,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    info_arg(info)?;
    *request = pt2pt::psend_init(buf, partitions, count, datatype, dest, tag, comm)?;
    Ok(())
}

#[doc(alias = "MPI_Precv_init")]
#[allow(clippy::too_many_arguments)]
pub fn precv_init(
    buf: usize,
    partitions: c_int,
    count: MPI_Count,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    info: MPI_Info,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    info_arg(info)?;
    *request = pt2pt::precv_init(buf, partitions, count, datatype, source, tag, comm)?;
    Ok(())
}

#[doc(alias = "MPI_Pready")]
pub fn pready(partition: c_int, request: MPI_Request) -> MpiResult<()> {
    pt2pt::pready(request, std::iter::once(partition))
}

#[doc(alias = "MPI_Pready_range")]
pub fn pready_range(
    partition_low: c_int,
    partition_high: c_int,
    request: MPI_Request,
) -> MpiResult<()> {
    pt2pt::pready(request, partition_low..=partition_high)
}

#[doc(alias = "MPI_Pready_list")]
pub fn pready_list(
    length: c_int,
    array_of_partitions: &[c_int],
    request: MPI_Request,
) -> MpiResult<()> {
    if length < 0 {
        return Err(MpiError::arg(format!("negative length {length}")));
    }
    pt2pt::pready(request, array_of_partitions.iter().copied())
}

#[doc(alias = "MPI_Parrived")]
pub fn parrived(request: MPI_Request, partition: c_int, flag: &mut c_int) -> MpiResult<()> {
    *flag = c_int::from(pt2pt::parrived(request, partition)?);
    Ok(())
}
