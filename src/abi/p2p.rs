//! Point-to-point communication, the C face: argument checks, then the
//! core engine (`crate::core::p2p`). Every send and receive form (blocking,
//! nonblocking, persistent, each mode, large-count `_c`) funnels into
//! `start_send` / `start_recv` on a request.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::status::{read_status, write_status};
use super::types::*;
use super::util::{info_arg, out, put};
use crate::abi::callbacks::*;
use crate::abi::consts::*;
use crate::core::attr::TAG_UB_VALUE;
use crate::core::comm::{self, Comm};
use crate::core::datatype::{self, MsgBuf};
use crate::core::error::{MpiError, MpiResult};
use crate::core::p2p::{Envelope, SendBuf, engine};
use crate::core::request::{Generalized, Persistent, REQUESTS, ReqKind, Request, SendMode, Status};
use parking_lot::Mutex;
use std::ffi::{c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::Ordering;

// ---------------------------------------------------------------------------
// Argument checks

/// A rank point-to-point can name (in the remote group of an
/// intercommunicator).
fn dest_rank(comm: &Comm, dest: c_int) -> MpiResult<()> {
    if dest == MPI_PROC_NULL || (0..comm.peer_size()).contains(&dest) {
        Ok(())
    } else {
        Err(MpiError::new(
            MPI_ERR_RANK,
            format!(
                "invalid rank {dest} (communicator size {})",
                comm.peer_size()
            ),
        ))
    }
}

fn source_rank(comm: &Comm, source: c_int) -> MpiResult<()> {
    if source == MPI_ANY_SOURCE {
        Ok(())
    } else {
        dest_rank(comm, source)
    }
}

fn send_tag(tag: c_int) -> MpiResult<()> {
    if (0..=TAG_UB_VALUE).contains(&tag) {
        Ok(())
    } else {
        Err(MpiError::new(
            MPI_ERR_TAG,
            format!("invalid tag {tag} (0 to {TAG_UB_VALUE})"),
        ))
    }
}

fn recv_tag(tag: c_int) -> MpiResult<()> {
    if tag == MPI_ANY_TAG {
        Ok(())
    } else {
        send_tag(tag)
    }
}

/// A checked send: communicator, buffer address and size.
struct SendArgs {
    comm: Arc<Comm>,
    /// Context the message travels in: the communicator's, or a
    /// partitioned operation's own.
    ctx: u32,
    buf: MsgBuf,
    dest: c_int,
    tag: c_int,
}

fn send_args(
    buf: *const c_void,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<SendArgs> {
    let comm = comm::get(c)?;
    let buf = MsgBuf::new(buf as usize, count, dt)?;
    send_tag(tag)?;
    dest_rank(&comm, dest)?;
    Ok(SendArgs {
        ctx: comm.ctx,
        comm,
        buf,
        dest,
        tag,
    })
}

struct RecvArgs {
    comm: Arc<Comm>,
    ctx: u32,
    buf: MsgBuf,
    source: c_int,
    tag: c_int,
}

fn recv_args(
    buf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<RecvArgs> {
    let comm = comm::get(c)?;
    let buf = MsgBuf::new(buf as usize, count, dt)?;
    recv_tag(tag)?;
    source_rank(&comm, source)?;
    Ok(RecvArgs {
        ctx: comm.ctx,
        comm,
        buf,
        source,
        tag,
    })
}

// ---------------------------------------------------------------------------
// Starting operations

/// Space of the buffer attached for buffered sends, and the sends using it.
struct Attached {
    addr: usize,
    size: usize,
    used: usize,
    pending: Vec<(Arc<Request>, usize)>,
}

static BSEND: Mutex<Option<Attached>> = Mutex::new(None);

impl Attached {
    fn reclaim(&mut self) {
        let mut freed = 0;
        self.pending.retain(|(r, n)| {
            let done = r.is_done();
            if done {
                freed += n;
            }
            !done
        });
        self.used -= freed;
    }
}

/// Copy a buffered send into the attached buffer's accounting and start it.
/// Copies the message into the attached buffer and sends the copy; returns
/// the engine's request for it.
fn start_bsend(a: &SendArgs, world: usize, env: Envelope) -> MpiResult<Arc<Request>> {
    let need = a.buf.bytes + MPI_BSEND_OVERHEAD as usize;
    let mut guard = BSEND.lock();
    let att = guard.as_mut().ok_or_else(|| {
        MpiError::new(
            MPI_ERR_BUFFER,
            "buffered send without an attached buffer (MPI_Buffer_attach)",
        )
    })?;
    att.reclaim();
    // Completions of earlier buffered sends may still wait unread in the
    // rings: take them in before saying there is no room.
    while att.used + need > att.size && engine().progress() {
        att.reclaim();
    }
    if att.used + need > att.size {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            format!(
                "the attached buffer has {} of {} bytes free; this buffered send needs {need}",
                att.size - att.used,
                att.size
            ),
        ));
    }
    let data = a.buf.packed();
    let inner = Request::new(ReqKind::Send, a.comm.handle);
    engine().isend(
        env,
        world,
        SendBuf::owned(data),
        SendMode::Standard,
        inner.clone(),
    )?;
    att.used += need;
    att.pending.push((inner.clone(), need));
    Ok(inner)
}

fn start_send(a: &SendArgs, mode: SendMode, req: &Arc<Request>) -> MpiResult<()> {
    if a.dest == MPI_PROC_NULL {
        req.complete(Status::empty());
        return Ok(());
    }
    let env = Envelope {
        ctx: a.ctx,
        src: a.comm.rank,
        tag: a.tag,
    };
    let world = a.comm.peer_world(a.dest);
    if mode == SendMode::Buffered {
        let inner = start_bsend(a, world, env)?;
        // MPI_Cancel of the user's request withdraws the copy.
        req.wire_cookie
            .store(inner.wire_cookie.load(Ordering::Relaxed), Ordering::Relaxed);
        req.wire_peer
            .store(inner.wire_peer.load(Ordering::Relaxed), Ordering::Relaxed);
        req.complete(Status::empty());
        return Ok(());
    }
    let data = match a.buf.layout {
        None => SendBuf::user(a.buf.addr, a.buf.bytes),
        Some(_) => SendBuf::owned(a.buf.packed()),
    };
    engine().isend(env, world, data, mode, req.clone())
}

/// Where a receive into `buf` lands: the buffer itself, or (for a
/// non-contiguous type) a staging buffer that `req` unpacks on completion.
fn recv_target(buf: &MsgBuf, req: &Request) -> (usize, usize) {
    if buf.layout.is_none() {
        return (buf.addr, buf.bytes);
    }
    let mut staging = vec![0u8; buf.bytes];
    let at = staging.as_mut_ptr() as usize;
    let dest = buf.clone();
    req.on_complete(Box::new(move |st: &mut Status| {
        if st.cancelled {
            return;
        }
        let t = dest.layout.as_ref().expect("staged receives have a layout");
        if t.elements_in(st.bytes as i64).is_none() && st.error == MPI_SUCCESS {
            // The message ends inside a basic element of the receive type:
            // MPICH reports it as truncation, with nothing received.
            st.error = MPI_ERR_TRUNCATE;
            st.bytes = 0;
            return;
        }
        dest.unpack_from(&staging[..st.bytes.min(staging.len())]);
    }));
    (at, buf.bytes)
}

fn start_recv(a: &RecvArgs, req: &Arc<Request>) {
    if a.source == MPI_PROC_NULL {
        req.complete(Status::proc_null());
        return;
    }
    let (at, cap) = recv_target(&a.buf, req);
    engine().irecv(a.ctx, a.source, a.tag, at, cap, req.clone());
}

fn new_handle(req: Arc<Request>, out_h: *mut MPI_Request) -> MpiResult<()> {
    let slot = out(out_h, "request")?;
    *slot = REQUESTS.insert(req);
    Ok(())
}

/// Wait for one request that is not in the handle table and report it.
fn wait_local(req: &Request, status: *mut MPI_Status) -> MpiResult<()> {
    engine().wait(req);
    let st = req.status();
    write_status(status, &st, false);
    req.error().map_or(Ok(()), Err)
}

// ---------------------------------------------------------------------------
// Sends

fn send_blocking(
    buf: *const c_void,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    c: MPI_Comm,
    mode: SendMode,
) -> MpiResult<()> {
    let a = send_args(buf, count, dt, dest, tag, c)?;
    let req = Request::new(ReqKind::Send, c);
    start_send(&a, mode, &req)?;
    wait_local(&req, MPI_STATUS_IGNORE)
}

fn send_nonblocking(
    buf: *const c_void,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    c: MPI_Comm,
    mode: SendMode,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    let a = send_args(buf, count, dt, dest, tag, c)?;
    out(request, "request")?;
    let req = Request::new(ReqKind::Send, c);
    start_send(&a, mode, &req)?;
    new_handle(req, request)
}

fn send_persistent(
    buf: *const c_void,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    c: MPI_Comm,
    mode: SendMode,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    let a = send_args(buf, count, dt, dest, tag, c)?;
    let op = Persistent::Send {
        mode,
        buf: a.buf,
        dest,
        tag,
    };
    new_handle(Request::persistent(ReqKind::Send, c, op), request)
}

macro_rules! send_forms {
    ($($blocking:ident $blocking_c:ident $nb:ident $nb_c:ident $init:ident $init_c:ident => $mode:expr;)*) => {$(
        pub(crate) fn $blocking(buf: *const c_void, count: c_int, datatype: MPI_Datatype, dest: c_int, tag: c_int, comm: MPI_Comm) -> MpiResult<()> {
            send_blocking(buf, count.into(), datatype, dest, tag, comm, $mode)
        }
        pub(crate) fn $blocking_c(buf: *const c_void, count: MPI_Count, datatype: MPI_Datatype, dest: c_int, tag: c_int, comm: MPI_Comm) -> MpiResult<()> {
            send_blocking(buf, count, datatype, dest, tag, comm, $mode)
        }
        pub(crate) fn $nb(buf: *const c_void, count: c_int, datatype: MPI_Datatype, dest: c_int, tag: c_int, comm: MPI_Comm, request: *mut MPI_Request) -> MpiResult<()> {
            send_nonblocking(buf, count.into(), datatype, dest, tag, comm, $mode, request)
        }
        pub(crate) fn $nb_c(buf: *const c_void, count: MPI_Count, datatype: MPI_Datatype, dest: c_int, tag: c_int, comm: MPI_Comm, request: *mut MPI_Request) -> MpiResult<()> {
            send_nonblocking(buf, count, datatype, dest, tag, comm, $mode, request)
        }
        pub(crate) fn $init(buf: *const c_void, count: c_int, datatype: MPI_Datatype, dest: c_int, tag: c_int, comm: MPI_Comm, request: *mut MPI_Request) -> MpiResult<()> {
            send_persistent(buf, count.into(), datatype, dest, tag, comm, $mode, request)
        }
        pub(crate) fn $init_c(buf: *const c_void, count: MPI_Count, datatype: MPI_Datatype, dest: c_int, tag: c_int, comm: MPI_Comm, request: *mut MPI_Request) -> MpiResult<()> {
            send_persistent(buf, count, datatype, dest, tag, comm, $mode, request)
        }
    )*};
}

// The generator cannot see inside the macro, so the functions it defines
// are declared for it here.
// gen-abi implements: send send_c isend isend_c send_init send_init_c
// gen-abi implements: ssend ssend_c issend issend_c ssend_init ssend_init_c
// gen-abi implements: rsend rsend_c irsend irsend_c rsend_init rsend_init_c
// gen-abi implements: bsend bsend_c ibsend ibsend_c bsend_init bsend_init_c
send_forms! {
    send send_c isend isend_c send_init send_init_c => SendMode::Standard;
    ssend ssend_c issend issend_c ssend_init ssend_init_c => SendMode::Sync;
    rsend rsend_c irsend irsend_c rsend_init rsend_init_c => SendMode::Ready;
    bsend bsend_c ibsend ibsend_c bsend_init bsend_init_c => SendMode::Buffered;
}

// ---------------------------------------------------------------------------
// Receives

fn recv_impl(
    buf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let a = recv_args(buf, count, dt, source, tag, c)?;
    let req = Request::new(ReqKind::Recv, c);
    start_recv(&a, &req);
    wait_local(&req, status)
}

pub(crate) fn recv(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    recv_impl(buf, count.into(), datatype, source, tag, comm, status)
}

pub(crate) fn recv_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    recv_impl(buf, count, datatype, source, tag, comm, status)
}

fn irecv_impl(
    buf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    let a = recv_args(buf, count, dt, source, tag, c)?;
    out(request, "request")?;
    let req = Request::new(ReqKind::Recv, c);
    start_recv(&a, &req);
    new_handle(req, request)
}

pub(crate) fn irecv(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    irecv_impl(buf, count.into(), datatype, source, tag, comm, request)
}

pub(crate) fn irecv_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    irecv_impl(buf, count, datatype, source, tag, comm, request)
}

fn recv_init_impl(
    buf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    let a = recv_args(buf, count, dt, source, tag, c)?;
    let op = Persistent::Recv {
        buf: a.buf,
        source,
        tag,
    };
    new_handle(Request::persistent(ReqKind::Recv, c, op), request)
}

pub(crate) fn recv_init(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    recv_init_impl(buf, count.into(), datatype, source, tag, comm, request)
}

pub(crate) fn recv_init_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    recv_init_impl(buf, count, datatype, source, tag, comm, request)
}

// ---------------------------------------------------------------------------
// Send-receive

/// Start the receive and the send of a send-receive; the returned request
/// completes when both have. `replace` sends from a copy, so the receive
/// may overwrite the buffer.
fn start_sendrecv(s: &SendArgs, r: &RecvArgs, replace: bool) -> MpiResult<Arc<Request>> {
    let sreq = Request::new(ReqKind::Send, s.comm.handle);
    let rreq = Request::with_also(ReqKind::Recv, r.comm.handle, sreq.clone());
    if replace && s.dest != MPI_PROC_NULL && s.buf.bytes > 0 {
        let copy = s.buf.packed();
        start_recv(r, &rreq);
        let env = Envelope {
            ctx: s.comm.ctx,
            src: s.comm.rank,
            tag: s.tag,
        };
        let world = s.comm.peer_world(s.dest);
        engine().isend(env, world, SendBuf::owned(copy), SendMode::Standard, sreq)?;
    } else {
        start_recv(r, &rreq);
        start_send(s, SendMode::Standard, &sreq)?;
    }
    Ok(rreq)
}

fn sendrecv_impl(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    c: MPI_Comm,
    status: *mut MPI_Status,
    request: Option<*mut MPI_Request>,
) -> MpiResult<()> {
    let s = send_args(sendbuf, sendcount, sendtype, dest, sendtag, c)?;
    let r = recv_args(recvbuf, recvcount, recvtype, source, recvtag, c)?;
    if let Some(h) = request {
        out(h, "request")?;
    }
    let req = start_sendrecv(&s, &r, false)?;
    match request {
        Some(h) => new_handle(req, h),
        None => wait_local(&req, status),
    }
}

pub(crate) fn sendrecv(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    sendrecv_impl(
        sendbuf,
        sendcount.into(),
        sendtype,
        dest,
        sendtag,
        recvbuf,
        recvcount.into(),
        recvtype,
        source,
        recvtag,
        comm,
        status,
        None,
    )
}

pub(crate) fn sendrecv_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    sendrecv_impl(
        sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag,
        comm, status, None,
    )
}

pub(crate) fn isendrecv(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    sendrecv_impl(
        sendbuf,
        sendcount.into(),
        sendtype,
        dest,
        sendtag,
        recvbuf,
        recvcount.into(),
        recvtype,
        source,
        recvtag,
        comm,
        MPI_STATUS_IGNORE,
        Some(request),
    )
}

pub(crate) fn isendrecv_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    sendrecv_impl(
        sendbuf,
        sendcount,
        sendtype,
        dest,
        sendtag,
        recvbuf,
        recvcount,
        recvtype,
        source,
        recvtag,
        comm,
        MPI_STATUS_IGNORE,
        Some(request),
    )
}

fn sendrecv_replace_impl(
    buf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    c: MPI_Comm,
    status: *mut MPI_Status,
    request: Option<*mut MPI_Request>,
) -> MpiResult<()> {
    let s = send_args(buf, count, dt, dest, sendtag, c)?;
    let r = recv_args(buf, count, dt, source, recvtag, c)?;
    if let Some(h) = request {
        out(h, "request")?;
    }
    let req = start_sendrecv(&s, &r, true)?;
    match request {
        Some(h) => new_handle(req, h),
        None => wait_local(&req, status),
    }
}

pub(crate) fn sendrecv_replace(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    sendrecv_replace_impl(
        buf,
        count.into(),
        datatype,
        dest,
        sendtag,
        source,
        recvtag,
        comm,
        status,
        None,
    )
}

pub(crate) fn sendrecv_replace_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    sendrecv_replace_impl(
        buf, count, datatype, dest, sendtag, source, recvtag, comm, status, None,
    )
}

pub(crate) fn isendrecv_replace(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    sendrecv_replace_impl(
        buf,
        count.into(),
        datatype,
        dest,
        sendtag,
        source,
        recvtag,
        comm,
        MPI_STATUS_IGNORE,
        Some(request),
    )
}

pub(crate) fn isendrecv_replace_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    sendrecv_replace_impl(
        buf,
        count,
        datatype,
        dest,
        sendtag,
        source,
        recvtag,
        comm,
        MPI_STATUS_IGNORE,
        Some(request),
    )
}

// ---------------------------------------------------------------------------
// Probes and matched receives

fn probe_args(source: c_int, tag: c_int, c: MPI_Comm) -> MpiResult<Arc<Comm>> {
    let comm = comm::get(c)?;
    recv_tag(tag)?;
    source_rank(&comm, source)?;
    Ok(comm)
}

pub(crate) fn iprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let cm = probe_args(source, tag, comm)?;
    let flag = out(flag, "flag")?;
    if source == MPI_PROC_NULL {
        *flag = 1;
        write_status(status, &Status::proc_null(), false);
        return Ok(());
    }
    match engine().iprobe(cm.ctx, source, tag, false) {
        Some((st, _)) => {
            *flag = 1;
            write_status(status, &st, false);
        }
        None => *flag = 0,
    }
    Ok(())
}

pub(crate) fn probe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let cm = probe_args(source, tag, comm)?;
    if source == MPI_PROC_NULL {
        write_status(status, &Status::proc_null(), false);
        return Ok(());
    }
    let found = probe_until(&cm, source, tag, false);
    if let Some((st, _)) = found {
        write_status(status, &st, false);
    }
    Ok(())
}

/// Probe until a message matches (taking it off the queue if `take`).
/// The wait may ask whether it is done more than once after the match:
/// once found, the probe is not repeated (a second take would lose the
/// first message).
fn probe_until(
    cm: &Comm,
    source: c_int,
    tag: c_int,
    take: bool,
) -> Option<(Status, Option<crate::core::p2p::Unexpected>)> {
    let found = std::cell::RefCell::new(None);
    engine().wait_until(|| {
        if found.borrow().is_some() {
            return true;
        }
        let hit = engine().iprobe(cm.ctx, source, tag, take);
        let done = hit.is_some();
        *found.borrow_mut() = hit;
        done
    });
    found.into_inner()
}

fn message_handle(
    cm: &Comm,
    hit: Option<(Status, Option<crate::core::p2p::Unexpected>)>,
    message: &mut MPI_Message,
    status: *mut MPI_Status,
) -> bool {
    match hit {
        Some((st, Some(msg))) => {
            let req = Request::new(ReqKind::Message, cm.handle);
            *req.message.lock() = Some(msg);
            *message = REQUESTS.insert(req);
            write_status(status, &st, false);
            true
        }
        _ => false,
    }
}

pub(crate) fn improbe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    flag: *mut c_int,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let cm = probe_args(source, tag, comm)?;
    let flag = out(flag, "flag")?;
    let message = out(message, "message")?;
    if source == MPI_PROC_NULL {
        *flag = 1;
        *message = MPI_MESSAGE_NO_PROC;
        write_status(status, &Status::proc_null(), false);
        return Ok(());
    }
    let hit = engine().iprobe(cm.ctx, source, tag, true);
    *flag = c_int::from(message_handle(&cm, hit, message, status));
    Ok(())
}

pub(crate) fn mprobe(
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let cm = probe_args(source, tag, comm)?;
    let message = out(message, "message")?;
    if source == MPI_PROC_NULL {
        *message = MPI_MESSAGE_NO_PROC;
        write_status(status, &Status::proc_null(), false);
        return Ok(());
    }
    let found = probe_until(&cm, source, tag, true);
    message_handle(&cm, found, message, status);
    Ok(())
}

/// Start receiving a matched message; `None` for `MPI_MESSAGE_NO_PROC`.
fn start_mrecv(
    buf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    message: *mut MPI_Message,
) -> MpiResult<Arc<Request>> {
    let m = out(message, "message")?;
    let buf = MsgBuf::new(buf as usize, count, dt)?;
    if *m == MPI_MESSAGE_NO_PROC {
        *m = MPI_MESSAGE_NULL;
        return Ok(Request::completed(
            ReqKind::Recv,
            MPI_COMM_SELF,
            Status::proc_null(),
        ));
    }
    let held = REQUESTS
        .get(*m)
        .filter(|r| r.kind == ReqKind::Message)
        .ok_or_else(|| MpiError::new(MPI_ERR_REQUEST, format!("invalid message 0x{:x}", *m)))?;
    let msg = held
        .message
        .lock()
        .take()
        .ok_or_else(|| MpiError::new(MPI_ERR_REQUEST, "message already received"))?;
    REQUESTS.remove(*m);
    *m = MPI_MESSAGE_NULL;
    let req = Request::new(ReqKind::Recv, held.comm);
    let (at, cap) = recv_target(&buf, &req);
    engine().mrecv(msg, at, cap, req.clone());
    Ok(req)
}

fn mrecv_impl(
    buf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let req = start_mrecv(buf, count, dt, message)?;
    wait_local(&req, status)
}

pub(crate) fn mrecv(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    mrecv_impl(buf, count.into(), datatype, message, status)
}

pub(crate) fn mrecv_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    mrecv_impl(buf, count, datatype, message, status)
}

pub(crate) fn imrecv(
    buf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    message: *mut MPI_Message,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    out(request, "request")?;
    let req = start_mrecv(buf, count.into(), datatype, message)?;
    new_handle(req, request)
}

pub(crate) fn imrecv_c(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    message: *mut MPI_Message,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    out(request, "request")?;
    let req = start_mrecv(buf, count, datatype, message)?;
    new_handle(req, request)
}

// ---------------------------------------------------------------------------
// Buffered-send buffer

fn attach(buffer: *mut c_void, size: i64) -> MpiResult<()> {
    if size < 0 {
        return Err(MpiError::new(
            MPI_ERR_ARG,
            format!("negative buffer size {size}"),
        ));
    }
    if size > 0 && buffer.is_null() {
        return Err(MpiError::new(MPI_ERR_BUFFER, "null buffer"));
    }
    let mut b = BSEND.lock();
    if b.is_some() {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "a buffer is already attached (MPI_Buffer_detach it first)",
        ));
    }
    *b = Some(Attached {
        addr: buffer as usize,
        size: size as usize,
        used: 0,
        pending: Vec::new(),
    });
    Ok(())
}

/// Detach after every buffered send using the buffer has gone out.
fn detach() -> MpiResult<(usize, usize)> {
    let pending: Vec<Arc<Request>> = match BSEND.lock().as_ref() {
        Some(a) => a.pending.iter().map(|(r, _)| r.clone()).collect(),
        None => return Ok((0, 0)),
    };
    engine().wait_until(|| pending.iter().all(|r| r.is_done()));
    let a = BSEND.lock().take();
    Ok(a.map_or((0, 0), |a| (a.addr, a.size)))
}

pub(crate) fn buffer_attach(buffer: *mut c_void, size: c_int) -> MpiResult<()> {
    attach(buffer, size.into())
}

pub(crate) fn buffer_attach_c(buffer: *mut c_void, size: MPI_Count) -> MpiResult<()> {
    attach(buffer, size)
}

pub(crate) fn buffer_detach(buffer_addr: *mut c_void, size: *mut c_int) -> MpiResult<()> {
    let addr = out(buffer_addr.cast::<*mut c_void>(), "buffer_addr")?;
    let size = out(size, "size")?;
    let (a, n) = detach()?;
    *addr = a as *mut c_void;
    *size = n as c_int;
    Ok(())
}

pub(crate) fn buffer_detach_c(buffer_addr: *mut c_void, size: *mut MPI_Count) -> MpiResult<()> {
    let addr = out(buffer_addr.cast::<*mut c_void>(), "buffer_addr")?;
    let size = out(size, "size")?;
    let (a, n) = detach()?;
    *addr = a as *mut c_void;
    *size = n as MPI_Count;
    Ok(())
}

// ---------------------------------------------------------------------------
// Completion: wait, test and friends

fn lookup(h: MPI_Request) -> MpiResult<Arc<Request>> {
    REQUESTS
        .get(h)
        .filter(|r| r.kind != ReqKind::Message)
        .ok_or_else(|| MpiError::new(MPI_ERR_REQUEST, format!("invalid request 0x{h:x}")))
}

/// A request slot: `None` for the null handle and inactive persistent
/// requests, which count as complete with an empty status.
fn active(h: MPI_Request) -> MpiResult<Option<Arc<Request>>> {
    if h == MPI_REQUEST_NULL {
        return Ok(None);
    }
    let r = lookup(h)?;
    if r.is_persistent() && !r.active.load(Ordering::Relaxed) {
        return Ok(None);
    }
    Ok(Some(r))
}

/// Call a generalized request's query function for its status.
fn query_generalized(r: &Request) -> Status {
    let g = r.generalized.as_ref().expect("generalized request");
    let mut s = MPI_Status {
        MPI_SOURCE: MPI_UNDEFINED,
        MPI_TAG: MPI_UNDEFINED,
        ..MPI_Status::default()
    };
    // SAFETY: the user registered these callbacks with MPI_Grequest_start.
    let rc = unsafe {
        let q: Fn_MPI_Grequest_query_function = std::mem::transmute(g.query);
        q(g.extra_state, &mut s)
    };
    let mut st = read_status(&s);
    if rc != MPI_SUCCESS {
        st.error = rc;
    }
    st
}

fn free_generalized(r: &Request) -> c_int {
    let g = r.generalized.as_ref().expect("generalized request");
    // SAFETY: as in query_generalized.
    unsafe {
        let f: Fn_MPI_Grequest_free_function = std::mem::transmute(g.free);
        f(g.extra_state)
    }
}

/// Retire a completed request: its status, then free it (or make a
/// persistent one inactive) and null the handle.
fn retire(h: &mut MPI_Request, r: &Arc<Request>) -> Status {
    let mut st = if r.kind == ReqKind::Generalized {
        query_generalized(r)
    } else {
        r.status()
    };
    if r.is_persistent() {
        r.active.store(false, Ordering::Relaxed);
    } else {
        REQUESTS.remove(*h);
        *h = MPI_REQUEST_NULL;
        if r.kind == ReqKind::Generalized {
            let rc = free_generalized(r);
            if rc != MPI_SUCCESS && st.error == MPI_SUCCESS {
                st.error = rc;
            }
        }
    }
    st
}

pub(crate) fn wait(request: *mut MPI_Request, status: *mut MPI_Status) -> MpiResult<()> {
    let h = out(request, "request")?;
    let Some(r) = active(*h)? else {
        write_status(status, &Status::empty(), true);
        return Ok(());
    };
    engine().wait(&r);
    let st = retire(h, &r);
    write_status(status, &st, false);
    st.result(r.comm)
}

pub(crate) fn test(
    request: *mut MPI_Request,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let h = out(request, "request")?;
    let flag = out(flag, "flag")?;
    let Some(r) = active(*h)? else {
        *flag = 1;
        write_status(status, &Status::empty(), true);
        return Ok(());
    };
    if !r.is_done() {
        engine().progress();
    }
    if !r.is_done() {
        *flag = 0;
        return Ok(());
    }
    *flag = 1;
    let st = retire(h, &r);
    write_status(status, &st, false);
    st.result(r.comm)
}

/// The requests of an array call, checked.
fn request_array(count: c_int, reqs: *mut MPI_Request) -> MpiResult<&'static mut [MPI_Request]> {
    if count < 0 {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {count}"),
        ));
    }
    if count == 0 {
        return Ok(&mut []);
    }
    if reqs.is_null() {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            "array_of_requests is a null pointer",
        ));
    }
    // SAFETY: the user passes `count` requests.
    Ok(unsafe { std::slice::from_raw_parts_mut(reqs, count as usize) })
}

fn actives(handles: &[MPI_Request]) -> MpiResult<Vec<Option<Arc<Request>>>> {
    handles.iter().map(|&h| active(h)).collect()
}

/// Write statuses of retired requests and turn any error into
/// `MPI_ERR_IN_STATUS` (the statuses then carry each request's code).
fn finish_array(done: &[(usize, Status, c_int)], statuses: *mut MPI_Status) -> MpiResult<()> {
    let failed = done.iter().find(|(_, st, _)| st.error != MPI_SUCCESS);
    for (k, st, _) in done {
        if !super::status::ignored(statuses) {
            // SAFETY: the user passes one status per reported request.
            write_status(unsafe { statuses.add(*k) }, st, failed.is_some());
        }
    }
    match failed {
        Some((_, st, comm)) => Err(MpiError::new(
            MPI_ERR_IN_STATUS,
            format!("a request failed with error code {}", st.error),
        )
        .on_comm(*comm)),
        None => Ok(()),
    }
}

pub(crate) fn waitall(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = request_array(count, array_of_requests)?;
    let rs = actives(hs)?;
    engine().wait_until(|| rs.iter().flatten().all(|r| r.is_done()));
    let done: Vec<_> = rs
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            Some(r) => (i, retire(&mut hs[i], r), r.comm),
            None => (i, Status::empty(), MPI_COMM_SELF),
        })
        .collect();
    finish_array(&done, array_of_statuses)
}

pub(crate) fn testall(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    flag: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = request_array(count, array_of_requests)?;
    let flag = out(flag, "flag")?;
    let rs = actives(hs)?;
    let all = || rs.iter().flatten().all(|r| r.is_done());
    if !all() {
        engine().progress();
    }
    if !all() {
        *flag = 0;
        return Ok(());
    }
    *flag = 1;
    let done: Vec<_> = rs
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            Some(r) => (i, retire(&mut hs[i], r), r.comm),
            None => (i, Status::empty(), MPI_COMM_SELF),
        })
        .collect();
    finish_array(&done, array_of_statuses)
}

/// Retire the first completed request for the any-forms.
fn retire_any(
    hs: &mut [MPI_Request],
    rs: &[Option<Arc<Request>>],
    index: &mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<bool> {
    let Some(i) = rs
        .iter()
        .position(|r| r.as_ref().is_some_and(|r| r.is_done()))
    else {
        return Ok(false);
    };
    let r = rs[i].as_ref().expect("found above");
    let st = retire(&mut hs[i], r);
    *index = i as c_int;
    write_status(status, &st, false);
    st.result(r.comm).map(|_| true)
}

pub(crate) fn waitany(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    index: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = request_array(count, array_of_requests)?;
    let index = out(index, "index")?;
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        *index = MPI_UNDEFINED;
        write_status(status, &Status::empty(), true);
        return Ok(());
    }
    engine().wait_until(|| rs.iter().flatten().any(|r| r.is_done()));
    retire_any(hs, &rs, index, status).map(|_| ())
}

pub(crate) fn testany(
    count: c_int,
    array_of_requests: *mut MPI_Request,
    index: *mut c_int,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = request_array(count, array_of_requests)?;
    let index = out(index, "index")?;
    let flag = out(flag, "flag")?;
    let rs = actives(hs)?;
    *index = MPI_UNDEFINED;
    if rs.iter().all(Option::is_none) {
        *flag = 1;
        write_status(status, &Status::empty(), true);
        return Ok(());
    }
    if !rs.iter().flatten().any(|r| r.is_done()) {
        engine().progress();
    }
    let found = retire_any(hs, &rs, index, status);
    *flag = c_int::from(*index != MPI_UNDEFINED);
    found.map(|_| ())
}

fn retire_some(
    hs: &mut [MPI_Request],
    rs: &[Option<Arc<Request>>],
    outcount: &mut c_int,
    indices: *mut c_int,
    statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let mut done = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        if let Some(r) = r
            && r.is_done()
        {
            let k = done.len();
            if indices.is_null() {
                return Err(MpiError::arg("array_of_indices is a null pointer"));
            }
            // SAFETY: the user passes room for `incount` indices.
            unsafe { *indices.add(k) = i as c_int };
            done.push((k, retire(&mut hs[i], r), r.comm));
        }
    }
    *outcount = done.len() as c_int;
    finish_array(&done, statuses)
}

pub(crate) fn waitsome(
    incount: c_int,
    array_of_requests: *mut MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = request_array(incount, array_of_requests)?;
    let outcount = out(outcount, "outcount")?;
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        *outcount = MPI_UNDEFINED;
        return Ok(());
    }
    engine().wait_until(|| rs.iter().flatten().any(|r| r.is_done()));
    retire_some(hs, &rs, outcount, array_of_indices, array_of_statuses)
}

pub(crate) fn testsome(
    incount: c_int,
    array_of_requests: *mut MPI_Request,
    outcount: *mut c_int,
    array_of_indices: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let hs = request_array(incount, array_of_requests)?;
    let outcount = out(outcount, "outcount")?;
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        *outcount = MPI_UNDEFINED;
        return Ok(());
    }
    engine().progress();
    retire_some(hs, &rs, outcount, array_of_indices, array_of_statuses)
}

/// Status of a request without freeing it.
fn peek(r: &Request) -> Status {
    if r.kind == ReqKind::Generalized {
        query_generalized(r)
    } else {
        r.status()
    }
}

pub(crate) fn request_get_status(
    request: MPI_Request,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let flag = out(flag, "flag")?;
    let Some(r) = active(request)? else {
        *flag = 1;
        write_status(status, &Status::empty(), true);
        return Ok(());
    };
    if !r.is_done() {
        engine().progress();
    }
    *flag = c_int::from(r.is_done());
    if r.is_done() {
        write_status(status, &peek(&r), false);
    }
    Ok(())
}

fn const_requests(count: c_int, reqs: *const MPI_Request) -> MpiResult<Vec<Option<Arc<Request>>>> {
    let hs = request_array(count, reqs.cast_mut())?;
    actives(hs)
}

pub(crate) fn request_get_status_any(
    count: c_int,
    array_of_requests: *const MPI_Request,
    index: *mut c_int,
    flag: *mut c_int,
    status: *mut MPI_Status,
) -> MpiResult<()> {
    let rs = const_requests(count, array_of_requests)?;
    let index = out(index, "index")?;
    let flag = out(flag, "flag")?;
    *index = MPI_UNDEFINED;
    if rs.iter().all(Option::is_none) {
        *flag = 1;
        write_status(status, &Status::empty(), true);
        return Ok(());
    }
    engine().progress();
    *flag = 0;
    if let Some(i) = rs
        .iter()
        .position(|r| r.as_ref().is_some_and(|r| r.is_done()))
    {
        *flag = 1;
        *index = i as c_int;
        write_status(status, &peek(rs[i].as_ref().expect("found")), false);
    }
    Ok(())
}

pub(crate) fn request_get_status_all(
    count: c_int,
    array_of_requests: *const MPI_Request,
    flag: *mut c_int,
    array_of_statuses: *mut MPI_Status,
) -> MpiResult<()> {
    let rs = const_requests(count, array_of_requests)?;
    let flag = out(flag, "flag")?;
    engine().progress();
    let all = rs.iter().flatten().all(|r| r.is_done());
    *flag = c_int::from(all);
    if all && !super::status::ignored(array_of_statuses) {
        for (i, r) in rs.iter().enumerate() {
            let st = r.as_ref().map_or_else(Status::empty, |r| peek(r));
            // SAFETY: one status per request.
            write_status(unsafe { array_of_statuses.add(i) }, &st, false);
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
    let rs = const_requests(incount, array_of_requests)?;
    let outcount = out(outcount, "outcount")?;
    if rs.iter().all(Option::is_none) {
        *outcount = MPI_UNDEFINED;
        return Ok(());
    }
    engine().progress();
    let mut k = 0;
    for (i, r) in rs.iter().enumerate() {
        if let Some(r) = r
            && r.is_done()
        {
            if array_of_indices.is_null() {
                return Err(MpiError::arg("array_of_indices is a null pointer"));
            }
            // SAFETY: room for `incount` indices and statuses.
            unsafe { *array_of_indices.add(k) = i as c_int };
            if !super::status::ignored(array_of_statuses) {
                // SAFETY: as above.
                write_status(unsafe { array_of_statuses.add(k) }, &peek(r), false);
            }
            k += 1;
        }
    }
    *outcount = k as c_int;
    Ok(())
}

pub(crate) fn request_free(request: *mut MPI_Request) -> MpiResult<()> {
    let h = out(request, "request")?;
    if *h == MPI_REQUEST_NULL {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            "MPI_REQUEST_NULL cannot be freed",
        ));
    }
    let r = lookup(*h)?;
    REQUESTS.remove(*h);
    *h = MPI_REQUEST_NULL;
    // A pending operation still completes; only the handle goes away.
    r.detached.store(true, Ordering::Relaxed);
    if r.kind == ReqKind::Generalized && r.is_done() {
        free_generalized(&r);
    }
    Ok(())
}

pub(crate) fn cancel(request: *mut MPI_Request) -> MpiResult<()> {
    let h = *out(request, "request")?;
    let r = lookup(h)?;
    if r.kind == ReqKind::Coll {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            "collective operations cannot be cancelled",
        ));
    }
    if r.is_persistent() && !r.active.load(Ordering::Relaxed) {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            "cannot cancel an inactive persistent request",
        ));
    }
    // A generalized request hears about the cancel even when complete; a
    // completed send may still sit unmatched at the receiver.
    if r.is_done() && !matches!(r.kind, ReqKind::Generalized | ReqKind::Send) {
        return Ok(());
    }
    if r.cancel_requested.swap(true, Ordering::Relaxed) && r.kind != ReqKind::Generalized {
        return Ok(()); // asked before: the first answer stands
    }
    match r.kind {
        ReqKind::Recv => {
            engine().cancel_recv(&r);
        }
        ReqKind::Send => {
            engine().cancel_send(&r);
        }
        ReqKind::Generalized => {
            let g = r.generalized.as_ref().expect("generalized request");
            // SAFETY: the user's callback from MPI_Grequest_start.
            let rc = unsafe {
                let f: Fn_MPI_Grequest_cancel_function = std::mem::transmute(g.cancel);
                f(g.extra_state, c_int::from(r.is_done()))
            };
            if rc != MPI_SUCCESS {
                return Err(MpiError::new(rc, "the cancel function failed").on_comm(r.comm));
            }
        }
        ReqKind::Message | ReqKind::Coll => {}
    }
    Ok(())
}

fn start_one(h: MPI_Request) -> MpiResult<()> {
    let r = lookup(h)?;
    let Some(op) = r.persistent.clone() else {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            "MPI_Start needs a persistent request",
        ));
    };
    if r.active.load(Ordering::Relaxed) {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            "the persistent request is already active",
        ));
    }
    let comm = comm::get(r.comm)?;
    r.restart();
    match op {
        Persistent::Send {
            mode,
            buf,
            dest,
            tag,
        } => {
            let a = SendArgs {
                ctx: comm.ctx,
                comm,
                buf,
                dest,
                tag,
            };
            start_send(&a, mode, &r)
        }
        Persistent::Recv { buf, source, tag } => {
            let a = RecvArgs {
                ctx: comm.ctx,
                comm,
                buf,
                source,
                tag,
            };
            start_recv(&a, &r);
            Ok(())
        }
        Persistent::PartSend { partitions, .. } => {
            // The message goes when the last partition is marked ready.
            *r.ready.lock() = vec![false; partitions];
            Ok(())
        }
        Persistent::PartRecv {
            ctx,
            buf,
            source,
            tag,
            ..
        } => {
            let a = RecvArgs {
                ctx,
                comm,
                buf,
                source,
                tag,
            };
            start_recv(&a, &r);
            Ok(())
        }
        Persistent::Coll(build) => {
            build(&comm).start(comm, r);
            Ok(())
        }
    }
}

pub(crate) fn start(request: *mut MPI_Request) -> MpiResult<()> {
    start_one(*out(request, "request")?)
}

pub(crate) fn startall(count: c_int, array_of_requests: *mut MPI_Request) -> MpiResult<()> {
    for &h in request_array(count, array_of_requests)?.iter() {
        start_one(h)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Generalized requests

pub(crate) fn grequest_start(
    query_fn: *mut MPI_Grequest_query_function,
    free_fn: *mut MPI_Grequest_free_function,
    cancel_fn: *mut MPI_Grequest_cancel_function,
    extra_state: *mut c_void,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    if query_fn.is_null() || free_fn.is_null() || cancel_fn.is_null() {
        return Err(MpiError::arg("a generalized request callback is null"));
    }
    let g = Generalized {
        query: query_fn as usize,
        free: free_fn as usize,
        cancel: cancel_fn as usize,
        extra_state,
    };
    new_handle(Request::generalized(MPI_COMM_SELF, g), request)
}

pub(crate) fn grequest_complete(request: MPI_Request) -> MpiResult<()> {
    let r = lookup(request)?;
    if r.kind != ReqKind::Generalized {
        return Err(MpiError::new(MPI_ERR_REQUEST, "not a generalized request"));
    }
    r.complete(Status::empty());
    engine().wake();
    Ok(())
}

// ---------------------------------------------------------------------------
// Counts

/// Bytes a status reports and the type to count them in.
fn status_and_type(
    status: *const MPI_Status,
    dt: MPI_Datatype,
) -> MpiResult<(i64, Arc<datatype::Datatype>)> {
    // SAFETY: the user passes a status or null.
    let s = unsafe { status.as_ref() }.ok_or_else(|| MpiError::arg("status is a null pointer"))?;
    Ok((super::status::status_bytes(s) as i64, datatype::get(dt)?))
}

/// Whole elements received (`MPI_Get_count`); `None` for a partial one.
fn count_of(status: *const MPI_Status, dt: MPI_Datatype) -> MpiResult<Option<i64>> {
    let (bytes, t) = status_and_type(status, dt)?;
    Ok(match t.size() {
        0 => Some(0),
        n if bytes % n == 0 => Some(bytes / n),
        _ => None,
    })
}

/// Basic elements received (`MPI_Get_elements`).
fn elements_of(status: *const MPI_Status, dt: MPI_Datatype) -> MpiResult<Option<i64>> {
    let (bytes, t) = status_and_type(status, dt)?;
    Ok(t.elements_in(bytes))
}

fn count_int(n: Option<i64>) -> c_int {
    match n {
        Some(n) if n <= c_int::MAX as i64 => n as c_int,
        _ => MPI_UNDEFINED,
    }
}

pub(crate) fn get_count(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut c_int,
) -> MpiResult<()> {
    let n = count_of(status, datatype)?;
    put(count, "count", count_int(n))
}

pub(crate) fn get_count_c(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut MPI_Count,
) -> MpiResult<()> {
    let n = count_of(status, datatype)?;
    put(count, "count", n.unwrap_or(MPI_UNDEFINED.into()))
}

pub(crate) fn get_elements(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut c_int,
) -> MpiResult<()> {
    let n = elements_of(status, datatype)?;
    put(count, "count", count_int(n))
}

pub(crate) fn get_elements_x(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut MPI_Count,
) -> MpiResult<()> {
    let n = elements_of(status, datatype)?;
    put(count, "count", n.unwrap_or(MPI_UNDEFINED.into()))
}

pub(crate) fn get_elements_c(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    count: *mut MPI_Count,
) -> MpiResult<()> {
    get_elements_x(status, datatype, count)
}

/// `MPI_Status_set_elements`: the bytes `count` basic elements of `dt` take.
fn set_elements(status: *mut MPI_Status, dt: MPI_Datatype, count: i64) -> MpiResult<()> {
    let s = out(status, "status")?;
    if count < 0 {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {count}"),
        ));
    }
    let t = datatype::get(dt)?;
    let bytes = if t.elements == 0 {
        0
    } else {
        let mut bytes = count / t.elements * t.size();
        let mut rem = count % t.elements;
        t.node.leaves(0, &mut |_, b, k| {
            let take = rem.min(k);
            bytes += take * datatype::basic_info(b).map_or(1, |i| i.size);
            rem -= take;
            rem > 0
        });
        bytes
    };
    super::status::set_status_bytes(s, bytes as usize);
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

/// Partitioned operations match in the order they were initialized (MPI-4.1
/// section 4.2): the k-th send initialized on a communicator to a peer with
/// a tag pairs with the k-th receive initialized from it. Each pair gets
/// its own context, with k and the communicator's context in it (bit 31
/// marks partitioned traffic), so they can never match anything else.
fn partitioned_ctx(comm: &Comm, peer: c_int, tag: c_int, send: bool) -> u32 {
    let mut seq = comm.part_seq.lock();
    let n = seq.entry((peer, tag, send)).or_insert(0);
    let k = *n;
    *n = n.wrapping_add(1);
    0x8000_0000 | ((k & 0x7fff) << 16) | (comm.ctx & 0xffff)
}

fn partitions_arg(partitions: c_int) -> MpiResult<usize> {
    if partitions < 1 {
        return Err(MpiError::arg(format!(
            "invalid partition count {partitions}"
        )));
    }
    Ok(partitions as usize)
}

/// Total count of `partitions` partitions of `count` elements.
fn partitioned_count(partitions: usize, count: MPI_Count) -> MpiResult<i64> {
    if count < 0 {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {count}"),
        ));
    }
    count
        .checked_mul(partitions as i64)
        .ok_or_else(|| MpiError::new(MPI_ERR_COUNT, "partitioned message too large"))
}

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
    let parts = partitions_arg(partitions)?;
    info_arg(info)?;
    let total = partitioned_count(parts, count)?;
    let a = send_args(buf, total, datatype, dest, tag, comm)?;
    let op = Persistent::PartSend {
        ctx: partitioned_ctx(&a.comm, dest, tag, true),
        buf: a.buf,
        dest,
        tag,
        partitions: parts,
    };
    new_handle(Request::persistent(ReqKind::Send, comm, op), request)
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
    let parts = partitions_arg(partitions)?;
    info_arg(info)?;
    let total = partitioned_count(parts, count)?;
    if source == MPI_ANY_SOURCE || tag == MPI_ANY_TAG {
        return Err(MpiError::arg(
            "partitioned receives name their source and tag (no wildcards)",
        ));
    }
    let a = recv_args(buf, total, datatype, source, tag, comm)?;
    let op = Persistent::PartRecv {
        ctx: partitioned_ctx(&a.comm, source, tag, false),
        buf: a.buf,
        source,
        tag,
        partitions: parts,
    };
    new_handle(Request::persistent(ReqKind::Recv, comm, op), request)
}

/// An active partitioned request of the given direction.
fn partitioned(request: MPI_Request, send: bool) -> MpiResult<Arc<Request>> {
    let r = lookup(request)?;
    let ok = match r.persistent {
        Some(Persistent::PartSend { .. }) => send,
        Some(Persistent::PartRecv { .. }) => !send,
        _ => false,
    };
    if !ok {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            format!(
                "not a partitioned {} request",
                if send { "send" } else { "receive" }
            ),
        ));
    }
    if !r.active.load(Ordering::Relaxed) {
        return Err(MpiError::new(
            MPI_ERR_REQUEST,
            "the partitioned request is not active (MPI_Start it first)",
        ));
    }
    Ok(r)
}

/// Mark partitions ready; the whole message goes with the last of them.
fn mark_ready(request: MPI_Request, parts: impl Iterator<Item = c_int>) -> MpiResult<()> {
    let r = partitioned(request, true)?;
    let all = {
        let mut ready = r.ready.lock();
        let n = ready.len();
        for p in parts {
            if !(0..n as c_int).contains(&p) {
                return Err(MpiError::arg(format!(
                    "partition {p} out of range (0 to {})",
                    n - 1
                )));
            }
            ready[p as usize] = true;
        }
        n > 0 && ready.iter().all(|&b| b) && {
            ready.clear();
            true
        }
    };
    if !all {
        return Ok(());
    }
    let Some(Persistent::PartSend {
        ctx,
        buf,
        dest,
        tag,
        ..
    }) = r.persistent.clone()
    else {
        unreachable!("checked by partitioned()")
    };
    let a = SendArgs {
        ctx,
        comm: comm::get(r.comm)?,
        buf,
        dest,
        tag,
    };
    start_send(&a, SendMode::Standard, &r)
}

pub(crate) fn pready(partition: c_int, request: MPI_Request) -> MpiResult<()> {
    mark_ready(request, std::iter::once(partition))
}

pub(crate) fn pready_range(
    partition_low: c_int,
    partition_high: c_int,
    request: MPI_Request,
) -> MpiResult<()> {
    mark_ready(request, partition_low..=partition_high)
}

pub(crate) fn pready_list(
    length: c_int,
    array_of_partitions: *const c_int,
    request: MPI_Request,
) -> MpiResult<()> {
    if length < 0 {
        return Err(MpiError::arg(format!("negative length {length}")));
    }
    if length > 0 && array_of_partitions.is_null() {
        return Err(MpiError::arg("array_of_partitions is a null pointer"));
    }
    let list: &[c_int] = if length == 0 {
        &[]
    } else {
        // SAFETY: the user passes `length` partition numbers.
        unsafe { std::slice::from_raw_parts(array_of_partitions, length as usize) }
    };
    mark_ready(request, list.iter().copied())
}

pub(crate) fn parrived(request: MPI_Request, partition: c_int, flag: *mut c_int) -> MpiResult<()> {
    let r = partitioned(request, false)?;
    let Some(Persistent::PartRecv { partitions, .. }) = r.persistent else {
        unreachable!("checked by partitioned()")
    };
    if !(0..partitions as c_int).contains(&partition) {
        return Err(MpiError::arg(format!(
            "partition {partition} out of range (0 to {})",
            partitions - 1
        )));
    }
    let flag = out(flag, "flag")?;
    if !r.is_done() {
        engine().progress();
    }
    // The message arrives whole, so every partition arrives with it.
    *flag = c_int::from(r.is_done());
    Ok(())
}
