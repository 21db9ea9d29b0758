//! Point-to-point communication (MPI-4.1 chapters 3 and 4): argument
//! rules, send modes and the buffered-send pool, receives with staging for
//! non-contiguous types, probes and matched receives, the request life
//! cycle (wait, test, cancel, start, free, generalized requests), counts
//! from statuses, and partitioned communication. The matching and
//! progress engine underneath is `core::p2p`; the C face decodes
//! arguments, calls one function here and writes back what it returns.
//!
//! Buffers are addresses (`usize`) and counts are `i64` here: the C face
//! widens `int` counts, so every `_c` form is the same call.

use super::attr::TAG_UB_VALUE;
use super::callbacks::{
    Fn_MPI_Grequest_cancel_function, Fn_MPI_Grequest_free_function, Fn_MPI_Grequest_query_function,
};
use super::comm::{self, Comm};
use super::consts::*;
use super::datatype::{self, MsgBuf};
use super::error::{MpiError, MpiResult};
use super::p2p::{Envelope, SendBuf, Unexpected, engine};
use super::request::{Generalized, Mode, Persistent, REQUESTS, ReqKind, Request, SendMode, Status};
use super::types::{MPI_Comm, MPI_Datatype, MPI_Message, MPI_Request, MPI_Status};
use std::ffi::{c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::Ordering;

// ---------------------------------------------------------------------------
// What calls report

/// A finished blocking operation: its status, and the error it ended with
/// (the status is reported either way).
pub struct Completion {
    pub status: Status,
    pub error: Option<MpiError>,
}

impl Completion {
    fn of(req: &Request, status: Status) -> Completion {
        let error = status.result(req.comm).err();
        Completion { status, error }
    }
}

/// The statuses a multiple-completion call reports, each at its position
/// in the user's status array; `error` is `MPI_ERR_IN_STATUS` when any
/// failed (the statuses then carry their error fields).
pub struct Statuses {
    pub list: Vec<(usize, Status)>,
    pub error: Option<MpiError>,
}

// ---------------------------------------------------------------------------
// Argument checks

/// A rank point-to-point can name (in the remote group of an
/// intercommunicator).
pub fn dest_rank(comm: &Comm, dest: c_int) -> MpiResult<()> {
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

pub fn source_rank(comm: &Comm, source: c_int) -> MpiResult<()> {
    if source == MPI_ANY_SOURCE {
        Ok(())
    } else {
        dest_rank(comm, source)
    }
}

pub fn send_tag(tag: c_int) -> MpiResult<()> {
    if (0..=TAG_UB_VALUE).contains(&tag) {
        Ok(())
    } else {
        Err(MpiError::new(
            MPI_ERR_TAG,
            format!("invalid tag {tag} (0 to {TAG_UB_VALUE})"),
        ))
    }
}

pub fn recv_tag(tag: c_int) -> MpiResult<()> {
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
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<SendArgs> {
    let comm = comm::get(c)?;
    let buf = MsgBuf::new(buf, count, dt)?;
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
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<RecvArgs> {
    let comm = comm::get(c)?;
    let buf = MsgBuf::new(buf, count, dt)?;
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

/// Copy the message of a buffered send, drawing on the buffer that serves
/// its communicator (`core::bsend`), and send the copy; returns the
/// engine's request for it.
fn start_bsend(a: &SendArgs, world: usize, env: Envelope) -> MpiResult<Arc<Request>> {
    super::bsend::draw(&a.comm, a.buf.bytes, || {
        let inner = Request::new(ReqKind::Send, a.comm.handle);
        engine().isend(
            env,
            world,
            SendBuf::owned(a.buf.packed()),
            SendMode::Standard,
            inner.clone(),
        )?;
        Ok(inner)
    })
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

/// Wait for a request that is not in the handle table.
fn wait_local(req: &Request) -> Completion {
    engine().wait(req);
    Completion {
        status: req.status(),
        error: req.error(),
    }
}

// ---------------------------------------------------------------------------
// Sends and receives

/// A blocking send in `mode`.
fn send_blocking(
    buf: usize,
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
    wait_local(&req).error.map_or(Ok(()), Err)
}

/// A nonblocking send in `mode`; returns its request handle.
fn send_started(
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    c: MPI_Comm,
    mode: SendMode,
) -> MpiResult<MPI_Request> {
    let a = send_args(buf, count, dt, dest, tag, c)?;
    let req = Request::new(ReqKind::Send, c);
    start_send(&a, mode, &req)?;
    Ok(REQUESTS.insert(req))
}

/// A persistent send in `mode` (`MPI_Send_init` and the mode forms).
fn send_persistent(
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    c: MPI_Comm,
    mode: SendMode,
) -> MpiResult<MPI_Request> {
    let a = send_args(buf, count, dt, dest, tag, c)?;
    let op = Persistent::Send {
        mode,
        buf: a.buf,
        dest,
        tag,
    };
    Ok(REQUESTS.insert(Request::persistent(ReqKind::Send, c, op)))
}

fn recv_blocking(
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<Completion> {
    let a = recv_args(buf, count, dt, source, tag, c)?;
    let req = Request::new(ReqKind::Recv, c);
    start_recv(&a, &req);
    Ok(wait_local(&req))
}

fn recv_started(
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<MPI_Request> {
    let a = recv_args(buf, count, dt, source, tag, c)?;
    let req = Request::new(ReqKind::Recv, c);
    start_recv(&a, &req);
    Ok(REQUESTS.insert(req))
}

fn recv_persistent(
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<MPI_Request> {
    let a = recv_args(buf, count, dt, source, tag, c)?;
    let op = Persistent::Recv {
        buf: a.buf,
        source,
        tag,
    };
    Ok(REQUESTS.insert(Request::persistent(ReqKind::Recv, c, op)))
}

// ---------------------------------------------------------------------------
// Send-receive

/// One side of a send-receive: buffer, count, type, peer and tag.
pub struct Side {
    pub buf: usize,
    pub count: i64,
    pub dt: MPI_Datatype,
    pub peer: c_int,
    pub tag: c_int,
}

/// Start the receive and the send of a send-receive; the returned request
/// completes when both have. `replace` sends from a copy, so the receive
/// may overwrite the buffer.
fn start_sendrecv(s: &Side, r: &Side, c: MPI_Comm, replace: bool) -> MpiResult<Arc<Request>> {
    let s = send_args(s.buf, s.count, s.dt, s.peer, s.tag, c)?;
    let r = recv_args(r.buf, r.count, r.dt, r.peer, r.tag, c)?;
    let sreq = Request::new(ReqKind::Send, s.comm.handle);
    let rreq = Request::with_also(ReqKind::Recv, r.comm.handle, sreq.clone());
    if replace && s.dest != MPI_PROC_NULL && s.buf.bytes > 0 {
        let copy = s.buf.packed();
        start_recv(&r, &rreq);
        let env = Envelope {
            ctx: s.comm.ctx,
            src: s.comm.rank,
            tag: s.tag,
        };
        let world = s.comm.peer_world(s.dest);
        engine().isend(env, world, SendBuf::owned(copy), SendMode::Standard, sreq)?;
    } else {
        start_recv(&r, &rreq);
        start_send(&s, SendMode::Standard, &sreq)?;
    }
    Ok(rreq)
}

/// `MPI_Sendrecv` (`replace`: `MPI_Sendrecv_replace`, one buffer).
fn sendrecv_blocking(s: &Side, r: &Side, c: MPI_Comm, replace: bool) -> MpiResult<Completion> {
    let req = start_sendrecv(s, r, c, replace)?;
    Ok(wait_local(&req))
}

/// `MPI_Isendrecv` and `MPI_Isendrecv_replace`.
fn sendrecv_started(s: &Side, r: &Side, c: MPI_Comm, replace: bool) -> MpiResult<MPI_Request> {
    Ok(REQUESTS.insert(start_sendrecv(s, r, c, replace)?))
}

// ---------------------------------------------------------------------------
// Probes and matched receives

fn probe_args(source: c_int, tag: c_int, c: MPI_Comm) -> MpiResult<Arc<Comm>> {
    let comm = comm::get(c)?;
    recv_tag(tag)?;
    source_rank(&comm, source)?;
    Ok(comm)
}

/// `MPI_Iprobe`: the status of a matching message, if one is there.
pub fn iprobe(source: c_int, tag: c_int, c: MPI_Comm) -> MpiResult<Option<Status>> {
    let cm = probe_args(source, tag, c)?;
    if source == MPI_PROC_NULL {
        return Ok(Some(Status::proc_null()));
    }
    Ok(probed(&cm, engine().iprobe(cm.ctx, source, tag, false))?.map(|(st, _)| st))
}

/// A probe's outcome, or its error: the processes it could match have
/// ended (the engine's answer then carries no message).
fn probed(
    cm: &Comm,
    hit: Option<(Status, Option<Unexpected>)>,
) -> MpiResult<Option<(Status, Option<Unexpected>)>> {
    if let Some((st, _)) = &hit {
        st.result(cm.handle)?;
    }
    Ok(hit)
}

pub fn probe(source: c_int, tag: c_int, c: MPI_Comm) -> MpiResult<Status> {
    let cm = probe_args(source, tag, c)?;
    if source == MPI_PROC_NULL {
        return Ok(Status::proc_null());
    }
    Ok(probed(&cm, probe_until(&cm, source, tag, false))?.map_or_else(Status::empty, |(st, _)| st))
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
) -> Option<(Status, Option<Unexpected>)> {
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

/// A matched message as a handle for `MPI_Mrecv`.
fn message_handle(
    cm: &Comm,
    hit: Option<(Status, Option<Unexpected>)>,
) -> Option<(MPI_Message, Status)> {
    match hit {
        Some((st, Some(msg))) => {
            let req = Request::new(ReqKind::Message, cm.handle);
            *req.message.lock() = Some(msg);
            Some((REQUESTS.insert(req), st))
        }
        _ => None,
    }
}

/// `MPI_Improbe`: a matched message and its status, if one is there.
pub fn improbe(source: c_int, tag: c_int, c: MPI_Comm) -> MpiResult<Option<(MPI_Message, Status)>> {
    let cm = probe_args(source, tag, c)?;
    if source == MPI_PROC_NULL {
        return Ok(Some((MPI_MESSAGE_NO_PROC, Status::proc_null())));
    }
    Ok(message_handle(
        &cm,
        probed(&cm, engine().iprobe(cm.ctx, source, tag, true))?,
    ))
}

pub fn mprobe(source: c_int, tag: c_int, c: MPI_Comm) -> MpiResult<(MPI_Message, Status)> {
    let cm = probe_args(source, tag, c)?;
    if source == MPI_PROC_NULL {
        return Ok((MPI_MESSAGE_NO_PROC, Status::proc_null()));
    }
    let found = probed(&cm, probe_until(&cm, source, tag, true))?;
    Ok(message_handle(&cm, found).unwrap_or((MPI_MESSAGE_NULL, Status::empty())))
}

/// Start receiving a matched message; the handle becomes `MPI_MESSAGE_NULL`.
fn start_mrecv(
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    m: &mut MPI_Message,
) -> MpiResult<Arc<Request>> {
    let buf = MsgBuf::new(buf, count, dt)?;
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

fn mrecv_blocking(
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    m: &mut MPI_Message,
) -> MpiResult<Completion> {
    let req = start_mrecv(buf, count, dt, m)?;
    Ok(wait_local(&req))
}

fn mrecv_started(
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    m: &mut MPI_Message,
) -> MpiResult<MPI_Request> {
    Ok(REQUESTS.insert(start_mrecv(buf, count, dt, m)?))
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

fn actives(handles: &[MPI_Request]) -> MpiResult<Vec<Option<Arc<Request>>>> {
    handles.iter().map(|&h| active(h)).collect()
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
    let mut st = Status::from_c(&s);
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
    let mut st = peek(r);
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

/// Status of a request without freeing it.
fn peek(r: &Request) -> Status {
    if r.kind == ReqKind::Generalized {
        query_generalized(r)
    } else {
        r.status()
    }
}

/// `MPI_Wait`: `None` for a null or inactive request (an empty status,
/// error field included).
pub fn wait(h: &mut MPI_Request) -> MpiResult<Option<Completion>> {
    let Some(r) = active(*h)? else {
        return Ok(None);
    };
    engine().wait(&r);
    let st = retire(h, &r);
    Ok(Some(Completion::of(&r, st)))
}

/// `MPI_Test`: `Some(None)` for a null or inactive request, `None` while
/// the operation runs.
pub fn test(h: &mut MPI_Request) -> MpiResult<Option<Option<Completion>>> {
    let Some(r) = active(*h)? else {
        return Ok(Some(None));
    };
    if !r.is_done() {
        engine().progress();
    }
    if !r.is_done() {
        return Ok(None);
    }
    let st = retire(h, &r);
    Ok(Some(Some(Completion::of(&r, st))))
}

/// Statuses of retired requests; any error makes the call's error
/// `MPI_ERR_IN_STATUS`.
fn statuses(done: Vec<(usize, Status, c_int)>) -> Statuses {
    let error = done
        .iter()
        .find(|(_, st, _)| st.error != MPI_SUCCESS)
        .map(|(_, st, comm)| {
            MpiError::new(
                MPI_ERR_IN_STATUS,
                format!("a request failed with error code {}", st.error),
            )
            .on_comm(*comm)
        });
    Statuses {
        list: done.into_iter().map(|(i, st, _)| (i, st)).collect(),
        error,
    }
}

fn retire_all(hs: &mut [MPI_Request], rs: &[Option<Arc<Request>>]) -> Statuses {
    statuses(
        rs.iter()
            .enumerate()
            .map(|(i, r)| match r {
                Some(r) => (i, retire(&mut hs[i], r), r.comm),
                None => (i, Status::empty(), MPI_COMM_SELF),
            })
            .collect(),
    )
}

pub fn waitall(hs: &mut [MPI_Request]) -> MpiResult<Statuses> {
    let rs = actives(hs)?;
    engine().wait_until(|| rs.iter().flatten().all(|r| r.is_done()));
    Ok(retire_all(hs, &rs))
}

/// `MPI_Testall`: `None` until every request is complete.
pub fn testall(hs: &mut [MPI_Request]) -> MpiResult<Option<Statuses>> {
    let rs = actives(hs)?;
    let all = || rs.iter().flatten().all(|r| r.is_done());
    if !all() {
        engine().progress();
    }
    if !all() {
        return Ok(None);
    }
    Ok(Some(retire_all(hs, &rs)))
}

/// What `MPI_Waitany`/`MPI_Testany` found: no active request at all, none
/// complete yet, or the index of the one retired.
pub enum Any {
    NoneActive,
    NotYet,
    Done(usize, Completion),
}

fn retire_any(hs: &mut [MPI_Request], rs: &[Option<Arc<Request>>]) -> Any {
    let Some(i) = rs
        .iter()
        .position(|r| r.as_ref().is_some_and(|r| r.is_done()))
    else {
        return Any::NotYet;
    };
    let r = rs[i].as_ref().expect("found above");
    let st = retire(&mut hs[i], r);
    Any::Done(i, Completion::of(r, st))
}

pub fn waitany(hs: &mut [MPI_Request]) -> MpiResult<Any> {
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        return Ok(Any::NoneActive);
    }
    engine().wait_until(|| rs.iter().flatten().any(|r| r.is_done()));
    Ok(retire_any(hs, &rs))
}

pub fn testany(hs: &mut [MPI_Request]) -> MpiResult<Any> {
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        return Ok(Any::NoneActive);
    }
    if !rs.iter().flatten().any(|r| r.is_done()) {
        engine().progress();
    }
    Ok(retire_any(hs, &rs))
}

/// The completed requests of a some-call: their indices in order and
/// statuses (numbered 0.. as the status array is); `None` when no request
/// is active (`outcount` is then `MPI_UNDEFINED`).
fn retire_some(hs: &mut [MPI_Request], rs: &[Option<Arc<Request>>]) -> (Vec<c_int>, Statuses) {
    let mut indices = Vec::new();
    let mut done = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        if let Some(r) = r
            && r.is_done()
        {
            done.push((indices.len(), retire(&mut hs[i], r), r.comm));
            indices.push(i as c_int);
        }
    }
    (indices, statuses(done))
}

pub fn waitsome(hs: &mut [MPI_Request]) -> MpiResult<Option<(Vec<c_int>, Statuses)>> {
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        return Ok(None);
    }
    engine().wait_until(|| rs.iter().flatten().any(|r| r.is_done()));
    Ok(Some(retire_some(hs, &rs)))
}

pub fn testsome(hs: &mut [MPI_Request]) -> MpiResult<Option<(Vec<c_int>, Statuses)>> {
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        return Ok(None);
    }
    engine().progress();
    Ok(Some(retire_some(hs, &rs)))
}

/// `MPI_Request_get_status`: `Some(None)` for a null or inactive request,
/// `None` while it runs, else its status (the request stays).
pub fn request_get_status(h: MPI_Request) -> MpiResult<Option<Option<Status>>> {
    let Some(r) = active(h)? else {
        return Ok(Some(None));
    };
    if !r.is_done() {
        engine().progress();
    }
    Ok(r.is_done().then(|| Some(peek(&r))))
}

/// `MPI_Request_get_status_any`.
pub fn request_get_status_any(hs: &[MPI_Request]) -> MpiResult<Any> {
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        return Ok(Any::NoneActive);
    }
    engine().progress();
    Ok(
        match rs
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r.is_done()))
        {
            Some(i) => {
                let r = rs[i].as_ref().expect("found");
                Any::Done(
                    i,
                    Completion {
                        status: peek(r),
                        error: None,
                    },
                )
            }
            None => Any::NotYet,
        },
    )
}

/// `MPI_Request_get_status_all`: every status once all are complete.
pub fn request_get_status_all(hs: &[MPI_Request]) -> MpiResult<Option<Vec<Status>>> {
    let rs = actives(hs)?;
    engine().progress();
    if !rs.iter().flatten().all(|r| r.is_done()) {
        return Ok(None);
    }
    Ok(Some(
        rs.iter()
            .map(|r| r.as_ref().map_or_else(Status::empty, |r| peek(r)))
            .collect(),
    ))
}

/// `MPI_Request_get_status_some`: indices and statuses of the complete
/// ones; `None` when no request is active.
pub fn request_get_status_some(hs: &[MPI_Request]) -> MpiResult<Option<Vec<(c_int, Status)>>> {
    let rs = actives(hs)?;
    if rs.iter().all(Option::is_none) {
        return Ok(None);
    }
    engine().progress();
    Ok(Some(
        rs.iter()
            .enumerate()
            .filter_map(|(i, r)| {
                r.as_ref()
                    .filter(|r| r.is_done())
                    .map(|r| (i as c_int, peek(r)))
            })
            .collect(),
    ))
}

pub fn request_free(h: &mut MPI_Request) -> MpiResult<()> {
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

pub fn cancel(h: MPI_Request) -> MpiResult<()> {
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
            // `MPI_Isendrecv`: its send half too.
            if let Some(send) = &r.also {
                engine().cancel_send(send);
            }
        }
        ReqKind::Send if matches!(r.persistent, Some(Persistent::PartSend { .. })) => {
            // A partitioned send whose partitions are not all ready has not
            // started: it ends cancelled here and now. Otherwise the whole
            // message is out, and is withdrawn as any send.
            let unsent = {
                let mut ready = r.ready.lock();
                let unsent = !ready.is_empty();
                ready.clear();
                unsent
            };
            if unsent {
                engine().complete(&r, Status::cancelled());
            } else {
                engine().cancel_send(&r);
            }
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

/// `MPI_Start` of one persistent request.
pub fn start(h: MPI_Request) -> MpiResult<()> {
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

// ---------------------------------------------------------------------------
// Generalized requests

/// `MPI_Grequest_start`: the callbacks' addresses and the user's state.
pub fn grequest_start(
    query: usize,
    free: usize,
    cancel: usize,
    extra_state: *mut c_void,
) -> MpiResult<MPI_Request> {
    if query == 0 || free == 0 || cancel == 0 {
        return Err(MpiError::arg("a generalized request callback is null"));
    }
    let g = Generalized {
        query,
        free,
        cancel,
        extra_state,
    };
    Ok(REQUESTS.insert(Request::generalized(MPI_COMM_SELF, g)))
}

pub fn grequest_complete(h: MPI_Request) -> MpiResult<()> {
    let r = lookup(h)?;
    if r.kind != ReqKind::Generalized {
        return Err(MpiError::new(MPI_ERR_REQUEST, "not a generalized request"));
    }
    r.complete(Status::empty());
    engine().wake();
    Ok(())
}

// ---------------------------------------------------------------------------
// Counts

/// Whole elements of `dt` in `bytes` (`MPI_Get_count`); `None` for a
/// partial one.
pub fn count_of(bytes: usize, dt: MPI_Datatype) -> MpiResult<Option<i64>> {
    let t = datatype::get(dt)?;
    let bytes = bytes as i64;
    Ok(match t.size() {
        0 => Some(0),
        n if bytes % n == 0 => Some(bytes / n),
        _ => None,
    })
}

/// Basic elements in `bytes` (`MPI_Get_elements`).
pub fn elements_of(bytes: usize, dt: MPI_Datatype) -> MpiResult<Option<i64>> {
    Ok(datatype::get(dt)?.elements_in(bytes as i64))
}

/// The bytes `count` basic elements of `dt` take (`MPI_Status_set_elements`).
pub fn bytes_of_elements(dt: MPI_Datatype, count: i64) -> MpiResult<usize> {
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
    Ok(bytes as usize)
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

/// Checked partition count, and the total element count of the message.
fn partitioned_count(partitions: c_int, count: i64) -> MpiResult<(usize, i64)> {
    if partitions < 1 {
        return Err(MpiError::arg(format!(
            "invalid partition count {partitions}"
        )));
    }
    if count < 0 {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {count}"),
        ));
    }
    let total = count
        .checked_mul(partitions.into())
        .ok_or_else(|| MpiError::new(MPI_ERR_COUNT, "partitioned message too large"))?;
    Ok((partitions as usize, total))
}

pub fn psend_init(
    buf: usize,
    partitions: c_int,
    count: i64,
    dt: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<MPI_Request> {
    let (parts, total) = partitioned_count(partitions, count)?;
    let a = send_args(buf, total, dt, dest, tag, c)?;
    let op = Persistent::PartSend {
        ctx: partitioned_ctx(&a.comm, dest, tag, true),
        buf: a.buf,
        dest,
        tag,
        partitions: parts,
    };
    Ok(REQUESTS.insert(Request::persistent(ReqKind::Send, c, op)))
}

pub fn precv_init(
    buf: usize,
    partitions: c_int,
    count: i64,
    dt: MPI_Datatype,
    source: c_int,
    tag: c_int,
    c: MPI_Comm,
) -> MpiResult<MPI_Request> {
    let (parts, total) = partitioned_count(partitions, count)?;
    if source == MPI_ANY_SOURCE || tag == MPI_ANY_TAG {
        return Err(MpiError::arg(
            "partitioned receives name their source and tag (no wildcards)",
        ));
    }
    let a = recv_args(buf, total, dt, source, tag, c)?;
    let op = Persistent::PartRecv {
        ctx: partitioned_ctx(&a.comm, source, tag, false),
        buf: a.buf,
        source,
        tag,
        partitions: parts,
    };
    Ok(REQUESTS.insert(Request::persistent(ReqKind::Recv, c, op)))
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

/// `MPI_Pready` and its range and list forms: mark partitions ready; the
/// whole message goes with the last of them.
pub fn pready(request: MPI_Request, parts: impl Iterator<Item = c_int>) -> MpiResult<()> {
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

/// `MPI_Parrived`: whether `partition` has arrived.
pub fn parrived(request: MPI_Request, partition: c_int) -> MpiResult<bool> {
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
    if !r.is_done() {
        engine().progress();
    }
    // The message arrives whole, so every partition arrives with it.
    Ok(r.is_done())
}

// ---------------------------------------------------------------------------
// The C functions' entry points: one per family (classic and large-count,
// blocking, `MPI_I...` and `..._init`), with 64-bit counts and the form.

/// Where a blocking call's status goes (`None`: `MPI_STATUS_IGNORE`), and
/// its error after it.
fn report(c: Completion, status: Option<&mut MPI_Status>) -> MpiResult<()> {
    if let Some(s) = status {
        c.status.to_c(s, false);
    }
    c.error.map_or(Ok(()), Err)
}

/// A send in any form; `how` is the send mode (standard, synchronous,
/// ready, buffered), which the C function's name gives.
#[doc(alias = "MPI_Send")]
#[doc(alias = "MPI_Ssend")]
#[doc(alias = "MPI_Rsend")]
#[doc(alias = "MPI_Bsend")]
#[allow(clippy::too_many_arguments)]
pub fn send(
    buf: *const c_void,
    count: i64,
    datatype: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    comm: MPI_Comm,
    how: SendMode,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let buf = buf as usize;
    match mode {
        Mode::Blocking => send_blocking(buf, count, datatype, dest, tag, comm, how),
        Mode::Start(r) => {
            *r = send_started(buf, count, datatype, dest, tag, comm, how)?;
            Ok(())
        }
        Mode::Init(_, r) => {
            *r = send_persistent(buf, count, datatype, dest, tag, comm, how)?;
            Ok(())
        }
    }
}

#[doc(alias = "MPI_Recv")]
#[allow(clippy::too_many_arguments)]
pub fn recv(
    buf: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: Option<&mut MPI_Status>,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let buf = buf as usize;
    match mode {
        Mode::Blocking => report(
            recv_blocking(buf, count, datatype, source, tag, comm)?,
            status,
        ),
        Mode::Start(r) => {
            *r = recv_started(buf, count, datatype, source, tag, comm)?;
            Ok(())
        }
        Mode::Init(_, r) => {
            *r = recv_persistent(buf, count, datatype, source, tag, comm)?;
            Ok(())
        }
    }
}

/// A send-receive in any form (`replace`: one buffer for both).
fn sendrecv_form(
    s: &Side,
    r: &Side,
    comm: MPI_Comm,
    replace: bool,
    status: Option<&mut MPI_Status>,
    mode: Mode<'_>,
) -> MpiResult<()> {
    match mode {
        Mode::Blocking => report(sendrecv_blocking(s, r, comm, replace)?, status),
        Mode::Start(req) => {
            *req = sendrecv_started(s, r, comm, replace)?;
            Ok(())
        }
        Mode::Init(..) => Err(MpiError::new(
            MPI_ERR_INTERN,
            "send-receive has no persistent form",
        )),
    }
}

#[doc(alias = "MPI_Sendrecv")]
#[allow(clippy::too_many_arguments)]
pub fn sendrecv(
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
    comm: MPI_Comm,
    status: Option<&mut MPI_Status>,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let s = Side {
        buf: sendbuf as usize,
        count: sendcount,
        dt: sendtype,
        peer: dest,
        tag: sendtag,
    };
    let r = Side {
        buf: recvbuf as usize,
        count: recvcount,
        dt: recvtype,
        peer: source,
        tag: recvtag,
    };
    sendrecv_form(&s, &r, comm, false, status, mode)
}

#[doc(alias = "MPI_Sendrecv_replace")]
#[allow(clippy::too_many_arguments)]
pub fn sendrecv_replace(
    buf: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: Option<&mut MPI_Status>,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let s = Side {
        buf: buf as usize,
        count,
        dt: datatype,
        peer: dest,
        tag: sendtag,
    };
    let r = Side {
        peer: source,
        tag: recvtag,
        ..s
    };
    sendrecv_form(&s, &r, comm, true, status, mode)
}

#[doc(alias = "MPI_Mrecv")]
pub fn mrecv(
    buf: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    message: &mut MPI_Message,
    status: Option<&mut MPI_Status>,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let buf = buf as usize;
    match mode {
        Mode::Blocking => report(mrecv_blocking(buf, count, datatype, message)?, status),
        Mode::Start(r) => {
            *r = mrecv_started(buf, count, datatype, message)?;
            Ok(())
        }
        Mode::Init(..) => Err(MpiError::new(
            MPI_ERR_INTERN,
            "a matched receive has no persistent form",
        )),
    }
}
