//! Point-to-point messaging: the matching engine, the eager, rendezvous and
//! streaming protocols, and the progress engine that drives them.
//!
//! A message is matched by its envelope (context id, source rank in the
//! communicator, tag). Each context has a queue of posted receives and a
//! queue of unexpected messages, both kept in arrival order, which is what
//! gives MPI's non-overtaking rule: channels to a peer are FIFO, and both
//! queues are searched front to back.
//!
//! Protocols, chosen per message by size:
//! - eager: the data travels inline in one record; the send completes when
//!   the record is in the channel (or, synchronous mode, when the receiver
//!   acknowledges the match);
//! - rendezvous: a ready-to-send record carries the address of the data; the
//!   receiver, once matched, reads it with one copy (`process_vm_readv`) and
//!   acknowledges; when the kernel refuses that, the receiver answers
//!   clear-to-send and the sender streams the data through the channel.
//!
//! Messages to oneself are matched directly, as if they had arrived.
//!
//! One lock guards the engine's state. Waiting follows DESIGN decision 5:
//! spin on progress briefly, then yield, then sleep on the process's bell,
//! which peers ring when they put a record in our channel and local threads
//! ring when they complete a request.

use super::config;
use super::error::{MpiError, MpiResult};
use super::events;
use super::request::{Request, SendMode, Status};
use crate::core::consts::*;
use crate::transport::bell::Bell;
use crate::transport::{FLAG_CANCELLED, FLAG_NO_CMA, FLAG_SYNC, Header, RecordKind, Transport};
use parking_lot::{Mutex, RwLock};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::VecDeque;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Where a message comes from and what it is called, as the receiver sees it.
#[derive(Clone, Copy, Debug)]
pub struct Envelope {
    pub ctx: u32,
    /// The sender's rank in the communicator.
    pub src: c_int,
    pub tag: c_int,
}

/// A message that arrived before a matching receive was posted (or was
/// taken off the queue by `MPI_Mprobe`).
#[derive(Debug)]
pub struct Unexpected {
    pub src: c_int,
    pub tag: c_int,
    /// Size of the whole message in bytes.
    pub size: usize,
    /// World rank of the sending process.
    peer: usize,
    flags: u32,
    cookie: u64,
    body: Body,
}

#[derive(Debug)]
enum Body {
    /// The data, copied out of the channel.
    Data(Vec<u8>),
    /// The data waits at this address in the sender, exposed under this
    /// memory key.
    Rndv { addr: u64, key: u64 },
}

impl Unexpected {
    pub fn status(&self) -> Status {
        Status {
            source: self.src,
            tag: self.tag,
            error: MPI_SUCCESS,
            bytes: self.size,
            cancelled: false,
        }
    }
}

/// A message being delivered into a receive buffer.
struct Incoming<'a> {
    peer: usize,
    src: c_int,
    tag: c_int,
    size: usize,
    flags: u32,
    cookie: u64,
    data: Option<&'a [u8]>,
    addr: u64,
    key: u64,
}

impl Unexpected {
    fn incoming(&self) -> Incoming<'_> {
        let (data, addr, key) = match &self.body {
            Body::Data(d) => (Some(d.as_slice()), 0, 0),
            Body::Rndv { addr, key } => (None, *addr, *key),
        };
        Incoming {
            peer: self.peer,
            src: self.src,
            tag: self.tag,
            size: self.size,
            flags: self.flags,
            cookie: self.cookie,
            data,
            addr,
            key,
        }
    }
}

struct Posted {
    req: Arc<Request>,
    src: c_int,
    tag: c_int,
    buf: usize,
    cap: usize,
}

#[derive(Default)]
struct Queues {
    posted: VecDeque<Posted>,
    unexpected: VecDeque<Unexpected>,
}

/// Does a message (`src`, `tag`) match a receive for (`want_src`,
/// `want_tag`)?
fn matches(want_src: c_int, want_tag: c_int, src: c_int, tag: c_int) -> bool {
    (want_src == MPI_ANY_SOURCE || want_src == src) && (want_tag == MPI_ANY_TAG || want_tag == tag)
}

/// Bytes a send reads from: the user's buffer, or a copy we own (buffered
/// sends), kept alive as long as any record or operation refers to it.
#[derive(Clone)]
pub struct SendBuf {
    ptr: usize,
    len: usize,
    _keep: Option<Arc<[u8]>>,
}

impl SendBuf {
    /// The user's buffer, valid until the send completes (MPI's rule).
    pub fn user(ptr: usize, len: usize) -> Self {
        SendBuf {
            ptr,
            len,
            _keep: None,
        }
    }

    /// Our own copy of the data.
    pub fn owned(data: Arc<[u8]>) -> Self {
        SendBuf {
            ptr: data.as_ptr() as usize,
            len: data.len(),
            _keep: Some(data),
        }
    }

    fn slice(&self, off: usize, n: usize) -> &[u8] {
        if n == 0 {
            return &[];
        }
        debug_assert!(off + n <= self.len);
        // SAFETY: the buffer stays valid until the operation completes (the
        // user's promise for user buffers; `_keep` for our copies).
        unsafe { std::slice::from_raw_parts((self.ptr + off) as *const u8, n) }
    }
}

/// Write `data` into a receive buffer at `off`, clipped to `cap`.
fn store(buf: usize, cap: usize, off: usize, data: &[u8]) {
    if off >= cap {
        return;
    }
    let n = data.len().min(cap - off);
    // SAFETY: the receive buffer holds `cap` bytes until the receive
    // completes (the user's promise), and we write within it.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), (buf + off) as *mut u8, n) };
}

enum OutData {
    /// A control record without payload.
    Ctrl,
    /// An eager message; `done` completes once it is in the channel.
    Eager {
        buf: SendBuf,
        done: Option<Arc<Request>>,
    },
    /// A streamed message (after clear-to-send), `off` bytes sent so far.
    Stream {
        buf: SendBuf,
        off: usize,
        req: Arc<Request>,
    },
}

struct Out {
    hdr: Header,
    data: OutData,
}

/// A send waiting for the receiver: an acknowledgement (rendezvous or
/// synchronous mode) or a clear-to-send.
struct SendOp {
    req: Arc<Request>,
    buf: SendBuf,
    /// The memory key the buffer was exposed under (rendezvous) to world
    /// rank `peer`, or 0.
    key: u64,
    peer: usize,
}

/// A receive being filled by stream fragments.
struct RecvOp {
    req: Arc<Request>,
    /// The sending process.
    peer: usize,
    buf: usize,
    cap: usize,
    got: usize,
    status: Status,
}

/// A send waiting for the receiver's answer to `CancelReq`.
struct PendingCancel {
    req: Arc<Request>,
    /// The send had completed (eager) and was reopened for the answer.
    reopened: bool,
}

/// Remove the unmatched message `cookie` from `peer` from any unexpected
/// queue; whether it was there.
fn take_unexpected(st: &mut State, peer: usize, cookie: u64) -> bool {
    st.queues.values_mut().any(|q| {
        q.unexpected
            .iter()
            .position(|u| u.peer == peer && u.cookie == cookie)
            .and_then(|i| q.unexpected.remove(i))
            .is_some()
    }) && {
        st.stats.unexpected_len -= 1;
        true
    }
}

/// Counts behind the tool interface's performance variables (`core::tool`),
/// kept under the engine lock the counted events already hold.
#[derive(Clone, Copy, Default, Debug)]
pub struct Stats {
    pub eager_msgs: u64,
    pub eager_bytes: u64,
    pub rndv_msgs: u64,
    pub rndv_bytes: u64,
    /// Rendezvous bytes read straight from the sender's memory.
    pub single_copy_bytes: u64,
    /// Rendezvous bytes that came in fragments through shared memory.
    pub streamed_bytes: u64,
    /// Messages arrived before their receive (now, and the most ever).
    pub unexpected_len: u64,
    pub unexpected_high: u64,
    /// Receives waiting for their message (filled in by `stats()`).
    pub posted_len: u64,
    /// Nanoseconds spent in blocking waits (filled in by `stats()`).
    pub wait_ns: u64,
}

/// The process engine's counters now (zeros before `MPI_Init`).
pub fn stats() -> Stats {
    ENGINE.get().map(Engine::stats).unwrap_or_default()
}

#[derive(Default)]
struct State {
    queues: HashMap<u32, Queues>,
    outq: HashMap<usize, VecDeque<Out>>,
    sends: HashMap<u64, SendOp>,
    recvs: HashMap<u64, RecvOp>,
    /// Buffers for unexpected eager messages, kept for reuse.
    spare: Vec<Vec<u8>>,
    /// Sends whose cancellation the receiver is deciding, by cookie.
    cancels: HashMap<u64, PendingCancel>,
    next_id: u64,
    stats: Stats,
}

/// What the engine knows of ended processes of other jobs: their indices,
/// and the (context, rank) pairs by which their messages would match.
#[derive(Default)]
struct Departed {
    procs: HashSet<usize>,
    at: HashSet<(u32, c_int)>,
    ctxs: HashSet<u32>,
}

impl Departed {
    /// Whether a receive of (`ctx`, `src`) can no longer be matched by a
    /// new message: its source has ended (or, `MPI_ANY_SOURCE`, a process
    /// it could come from has: MPI's fault-tolerance rule, so a wildcard
    /// receive does not wait forever on a group that has ended).
    fn blocks(&self, ctx: u32, src: c_int) -> bool {
        !self.at.is_empty()
            && (self.at.contains(&(ctx, src)) || src == MPI_ANY_SOURCE && self.ctxs.contains(&ctx))
    }
}

/// The status of an operation with a process that has ended.
fn departed_status(source: c_int) -> Status {
    Status {
        source,
        error: MPI_ERR_PROC_ABORTED,
        ..Status::empty()
    }
}

/// How many copy-out buffers of unexpected messages are kept for reuse.
const SPARE_BUFFERS: usize = 64;

impl State {
    /// Keep a delivered unexpected message's buffer for the next one: a
    /// sender running ahead would otherwise make every message a fresh
    /// allocation (and, past the allocator's trim threshold, fresh pages).
    fn recycle(&mut self, u: Unexpected) {
        if let Body::Data(mut v) = u.body
            && self.spare.len() < SPARE_BUFFERS
            && v.capacity() > 0
        {
            v.clear();
            self.spare.push(v);
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// One rank's point-to-point engine. The process has one (`engine()`),
/// started at `MPI_Init`; tests make several, one per simulated rank, over
/// the in-process loopback transport.
pub struct Engine {
    /// This process's world rank.
    me: usize,
    /// Every transport, in order of preference.
    transports: Vec<Arc<dyn Transport>>,
    /// World rank -> index in `transports` of the one that carries its
    /// messages (`None`: ourselves, or no transport reaches it).
    route: Vec<Option<u8>>,
    /// Links to processes of other jobs (made on connect, dropped on
    /// disconnect), and the indices they route; see `add_link`.
    links: RwLock<Links>,
    /// `links` is not empty (checked before taking its lock).
    has_links: AtomicBool,
    /// Processes of other jobs found ended (`look_for_departed`); taken
    /// after `st` when both are held.
    departed: Mutex<Departed>,
    /// `departed` has ever had an entry (checked before taking its lock).
    has_departed: AtomicBool,
    /// When links are next looked at for ended processes: nanoseconds
    /// since `born`.
    next_look: AtomicU64,
    born: std::time::Instant,
    /// Which transport's bell peers ring for us; `None`: our own bell,
    /// rung only by our threads.
    sleep_on: Option<usize>,
    own_bell: Bell,
    /// How long a sleeping waiter naps before looking again on its own.
    nap: Duration,
    st: Mutex<State>,
    cma_warned: AtomicBool,
    /// Nanoseconds spent in blocking waits, outside the engine lock.
    wait_ns: AtomicU64,
    /// More progress to make on every pass, outside the engine lock (the
    /// process engine: collective schedules, then tool events).
    also: fn() -> bool,
}

/// The engine's links to other jobs' processes.
#[derive(Default)]
struct Links {
    /// Every link, with its id and processes (`add_link`). Several links
    /// may share one transport (the network endpoint).
    list: Vec<(u64, Arc<dyn Transport>, Vec<usize>)>,
    /// The links' transports, each once: what progress polls and a
    /// sleeper waits on (kept by `add_link` and `drop_link`).
    distinct: Vec<Arc<dyn Transport>>,
    /// Process index -> the link that carries its messages.
    route: HashMap<usize, Arc<dyn Transport>>,
    next_id: u64,
}

/// The transport that carries messages to a peer: one of the engine's own
/// (borrowed) or a link (shared, since a link may be dropped meanwhile).
pub enum Route<'a> {
    Fixed(&'a (dyn Transport + 'static)),
    Link(Arc<dyn Transport>),
}

impl std::ops::Deref for Route<'_> {
    type Target = dyn Transport;
    fn deref(&self) -> &(dyn Transport + 'static) {
        match self {
            Route::Fixed(t) => *t,
            Route::Link(t) => &**t,
        }
    }
}

static ENGINE: OnceLock<Engine> = OnceLock::new();

/// Start the process engine for world rank `me` of `size` (at `MPI_Init`).
pub fn start(me: usize, size: usize, transports: Vec<Arc<dyn Transport>>) {
    let _ = ENGINE.set(Engine::new(me, size, transports, process_progress));
}

thread_local! {
    /// This thread is one of the library's own (the window server): its
    /// waits move messages only, never collective schedules or tool
    /// events, which may call user code (reduction operations, event
    /// callbacks) that the user's threads alone are to run.
    static LIBRARY_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Mark the calling thread as one of the library's own (see
/// `LIBRARY_THREAD`).
pub fn mark_library_thread() {
    LIBRARY_THREAD.set(true);
}

/// The progress of the process beyond the engine's own records.
fn process_progress() -> bool {
    // Collective schedules, outside the engine lock: they start sends and
    // receives.
    let moved = super::sched::progress();
    // Tool events last, with no lock of ours held.
    events::dispatch();
    moved
}

/// A communicator's context pair (`ctx`, `ctx + 1`) is given back: forget
/// which of its ranks had ended.
pub fn forget_ctx(ctx: u32) {
    if let Some(e) = ENGINE.get() {
        let mut d = e.departed.lock();
        if !d.ctxs.is_empty() {
            d.at.retain(|&(c, _)| c != ctx && c != ctx + 1);
            d.ctxs.retain(|&c| c != ctx && c != ctx + 1);
        }
    }
}

/// Whether the process engine has seen a process that messages of
/// context `ctx` come from end (false before `MPI_Init`).
pub fn lost_peer_in(ctx: u32) -> bool {
    ENGINE.get().is_some_and(|e| e.lost_peer_in(ctx))
}

pub fn engine() -> &'static Engine {
    ENGINE
        .get()
        .expect("point-to-point engine used before MPI_Init")
}

/// How long a sleeping waiter naps before looking again on its own; only
/// a safety net, since every event that matters rings the bell.
const NAP: Duration = Duration::from_millis(50);
/// The nap when some transport wakes nobody: its records are found only by
/// looking.
const POLL_NAP: Duration = Duration::from_millis(1);

impl Engine {
    /// An engine for world rank `me` of `size` over `transports` (the first
    /// that reaches a peer carries its messages); `also` is polled on every
    /// pass of progress.
    pub fn new(
        me: usize,
        size: usize,
        transports: Vec<Arc<dyn Transport>>,
        also: fn() -> bool,
    ) -> Engine {
        let route = (0..size)
            .map(|p| {
                (p != me)
                    .then(|| transports.iter().position(|t| t.reaches(p)))
                    .flatten()
                    .map(|i| i as u8)
            })
            .collect();
        let sleep_on = transports.iter().position(|t| t.bell().is_some());
        let all_ring = transports.iter().all(|t| t.bell().is_some());
        Engine {
            me,
            transports,
            route,
            links: RwLock::new(Links::default()),
            has_links: AtomicBool::new(false),
            departed: Mutex::new(Departed::default()),
            has_departed: AtomicBool::new(false),
            next_look: AtomicU64::new(0),
            born: std::time::Instant::now(),
            sleep_on,
            own_bell: Bell::new(),
            nap: if all_ring { NAP } else { POLL_NAP },
            st: Mutex::new(State::default()),
            cma_warned: AtomicBool::new(false),
            wait_ns: AtomicU64::new(0),
            also,
        }
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let st = self.st.lock();
        Stats {
            posted_len: st.queues.values().map(|q| q.posted.len() as u64).sum(),
            wait_ns: self.wait_ns.load(Ordering::Relaxed),
            ..st.stats
        }
    }

    /// The transport that reaches process `peer` (one-sided
    /// communication reaches peers' memory through it).
    pub fn transport_to(&self, peer: usize) -> Option<Route<'_>> {
        self.via(peer)
    }

    /// The transport that carries messages to process `peer`.
    fn via(&self, peer: usize) -> Option<Route<'_>> {
        if let Some(r) = self.route.get(peer) {
            let i = (*r)?;
            return Some(Route::Fixed(&*self.transports[i as usize]));
        }
        if !self.has_links.load(Ordering::Acquire) {
            return None;
        }
        self.links.read().route.get(&peer).cloned().map(Route::Link)
    }

    /// Add a link to processes of another job: `t` carries the messages of
    /// `procs` (indices no transport reaches yet). Returns the link's id
    /// for `drop_link`.
    pub fn add_link(&self, t: Arc<dyn Transport>, procs: &[usize]) -> u64 {
        let mut l = self.links.write();
        l.next_id += 1;
        let id = l.next_id;
        for &p in procs {
            l.route.insert(p, t.clone());
        }
        if !l.distinct.iter().any(|o| Arc::ptr_eq(o, &t)) {
            l.distinct.push(t.clone());
        }
        l.list.push((id, t, procs.to_vec()));
        self.has_links.store(true, Ordering::Release);
        id
    }

    /// Stop using link `id`: its processes become unreachable, and its
    /// segment is unmapped once no operation holds it.
    pub fn drop_link(&self, id: u64) {
        let mut l = self.links.write();
        let Some(at) = l.list.iter().position(|(i, _, _)| *i == id) else {
            return;
        };
        let (_, t, procs) = l.list.remove(at);
        for p in procs {
            if l.route.get(&p).is_some_and(|r| Arc::ptr_eq(r, &t)) {
                l.route.remove(&p);
            }
        }
        if !l.list.iter().any(|(_, o, _)| Arc::ptr_eq(o, &t)) {
            l.distinct.retain(|o| !Arc::ptr_eq(o, &t));
        }
        self.has_links.store(!l.list.is_empty(), Ordering::Release);
    }

    /// Every link's transport now, each once (to poll them, or sleep on
    /// their bells).
    fn link_list(&self) -> Vec<Arc<dyn Transport>> {
        if !self.has_links.load(Ordering::Acquire) {
            return Vec::new();
        }
        self.links.read().distinct.clone()
    }

    fn bell(&self) -> &Bell {
        self.sleep_on
            .and_then(|i| self.transports[i].bell())
            .unwrap_or(&self.own_bell)
    }

    /// Whether a message can be sent to world rank `peer`.
    pub fn reaches(&self, peer: usize) -> bool {
        peer == self.me || self.via(peer).is_some()
    }

    /// Complete `req`; called with the engine lock held, which orders the
    /// completion against any thread of ours going to sleep (see
    /// `Bell::ring_locked`).
    fn finish(&self, req: &Request, status: Status) {
        req.complete(status);
        self.bell().ring_locked();
    }

    /// Complete `req` from outside the engine (a collective schedule).
    pub fn complete(&self, req: &Request, status: Status) {
        let _st = self.st.lock();
        self.finish(req, status);
    }

    /// Start sending `buf` to world rank `peer` with envelope `env`; `req`
    /// completes when the send buffer may be reused (or, synchronous mode,
    /// when the receive has matched).
    pub fn isend(
        &self,
        env: Envelope,
        peer: usize,
        buf: SendBuf,
        mode: SendMode,
        req: Arc<Request>,
    ) -> MpiResult<()> {
        let inline = if peer == self.me {
            0
        } else if let Some(t) = self.via(peer) {
            t.max_inline()
        } else {
            return Err(MpiError::new(
                MPI_ERR_OTHER,
                format!(
                    "no transport reaches world rank {peer}: only ranks on this node can \
                     communicate in this version of OxMPI"
                ),
            ));
        };
        let sync = mode == SendMode::Sync;
        let mut st = self.st.lock();
        if self.any_departed() && self.departed.lock().procs.contains(&peer) {
            return Err(MpiError::new(
                MPI_ERR_PROC_ABORTED,
                format!("process {peer} has ended: nothing can be sent to it"),
            ));
        }
        let size = buf.len;
        let mut hdr = Header {
            kind: RecordKind::Eager as u32,
            len: size as u32,
            ctx: env.ctx,
            src: env.src,
            tag: env.tag,
            flags: if sync { FLAG_SYNC } else { 0 },
            size: size as u64,
            ..Header::default()
        };
        // Every message carries a cookie, unique per sender, by which
        // acknowledgements and cancellation find it again.
        let id = st.id();
        hdr.cookie = id;
        req.wire_cookie.store(id, Ordering::Relaxed);
        req.wire_peer.store(peer, Ordering::Relaxed);
        // The eager limit (`config::EAGER_MAX`, capped by what fits a ring
        // record): above it a single-copy rendezvous costs less than copying
        // through the ring twice, and a sender running ahead of its receiver
        // can no longer flood it with unexpected data it must buffer.
        if peer == self.me || size <= config::EAGER_MAX.bytes().min(inline) {
            st.stats.eager_msgs += 1;
            st.stats.eager_bytes += size as u64;
            let done = if sync {
                st.sends.insert(
                    id,
                    SendOp {
                        req,
                        buf: buf.clone(),
                        key: 0,
                        peer,
                    },
                );
                None
            } else {
                Some(req)
            };
            if peer == self.me {
                // Matched here and now, as if it had arrived.
                self.on_record(&mut st, peer, &hdr, buf.slice(0, size));
                if let Some(r) = done {
                    self.finish(&r, Status::empty());
                }
            } else {
                self.post(&mut st, peer, hdr, OutData::Eager { buf, done });
            }
        } else {
            st.stats.rndv_msgs += 1;
            st.stats.rndv_bytes += size as u64;
            hdr.kind = RecordKind::Rts as u32;
            hdr.len = 0;
            hdr.addr = buf.ptr as u64;
            let t = self.via(peer).expect("routed above");
            if t.single_copy() {
                hdr.key = t.expose(hdr.addr, size).map_err(|e| {
                    MpiError::new(
                        MPI_ERR_OTHER,
                        format!("cannot expose a {size}-byte send buffer to rank {peer}: {e}"),
                    )
                })?;
            } else {
                hdr.flags |= FLAG_NO_CMA;
            }
            let key = hdr.key;
            st.sends.insert(
                id,
                SendOp {
                    req,
                    buf,
                    key,
                    peer,
                },
            );
            self.post(&mut st, peer, hdr, OutData::Ctrl);
        }
        Ok(())
    }

    /// Post a receive of up to `cap` bytes into `buf`.
    pub fn irecv(
        &self,
        ctx: u32,
        src: c_int,
        tag: c_int,
        buf: usize,
        cap: usize,
        req: Arc<Request>,
    ) {
        let mut st = self.st.lock();
        let st = &mut *st;
        let q = st.queues.entry(ctx).or_default();
        match q
            .unexpected
            .iter()
            .position(|u| matches(src, tag, u.src, u.tag))
        {
            Some(i) => {
                let u = q.unexpected.remove(i).expect("index found above");
                st.stats.unexpected_len -= 1;
                self.deliver(st, &req, buf, cap, &u.incoming());
                st.recycle(u);
            }
            None if self.blocked(ctx, src) => self.finish(&req, departed_status(src)),
            None => q.posted.push_back(Posted {
                req,
                src,
                tag,
                buf,
                cap,
            }),
        }
    }

    /// Receive a message taken off the queue by `improbe`.
    pub fn mrecv(&self, msg: Unexpected, buf: usize, cap: usize, req: Arc<Request>) {
        let mut st = self.st.lock();
        self.deliver(&mut st, &req, buf, cap, &msg.incoming());
        st.recycle(msg);
    }

    /// The status of the first queued message matching (`src`, `tag`), and,
    /// if `take`, the message itself, removed from the queue.
    /// When none can come any more (see `Departed::blocks`), a status
    /// with the error and no message.
    pub fn iprobe(
        &self,
        ctx: u32,
        src: c_int,
        tag: c_int,
        take: bool,
    ) -> Option<(Status, Option<Unexpected>)> {
        self.progress();
        let mut st = self.st.lock();
        // Nothing queued, and nothing can come any more: say so by the
        // status's error.
        let none = || self.blocked(ctx, src).then(|| (departed_status(src), None));
        let Some(q) = st.queues.get_mut(&ctx) else {
            return none();
        };
        let Some(i) = q
            .unexpected
            .iter()
            .position(|u| matches(src, tag, u.src, u.tag))
        else {
            return none();
        };
        let status = q.unexpected[i].status();
        let msg = if take { q.unexpected.remove(i) } else { None };
        if msg.is_some() {
            st.stats.unexpected_len -= 1;
        }
        Some((status, msg))
    }

    /// Cancel a pending receive; false if it already matched.
    pub fn cancel_recv(&self, req: &Arc<Request>) -> bool {
        let mut st = self.st.lock();
        for q in st.queues.values_mut() {
            if let Some(i) = q.posted.iter().position(|p| Arc::ptr_eq(&p.req, req)) {
                q.posted.remove(i);
                self.finish(req, Status::cancelled());
                return true;
            }
        }
        false
    }

    /// Cancel a send (`MPI_Cancel`). Data still queued here is dropped at
    /// once. A message already with the receiver is withdrawn if it is
    /// still unmatched there: a self-send here and now, another process by
    /// a `CancelReq` whose answer completes the request again (an eager
    /// send, already complete, is reopened until then).
    pub fn cancel_send(&self, req: &Arc<Request>) {
        let mut guard = self.st.lock();
        let st = &mut *guard;
        let cookie = req.wire_cookie.load(Ordering::Relaxed);
        let peer = req.wire_peer.load(Ordering::Relaxed);
        // Nothing went out (MPI_PROC_NULL). A repeated MPI_Cancel never
        // gets here: the caller lets only the first through.
        if cookie == 0 {
            return;
        }
        let queued = st.outq.get(&peer).and_then(|q| {
            q.iter().position(|o| {
                o.hdr.cookie == cookie
                    && matches!(
                        RecordKind::from_u32(o.hdr.kind),
                        Some(RecordKind::Eager | RecordKind::Rts)
                    )
            })
        });
        if let Some(i) = queued {
            let out = st.outq.get_mut(&peer).and_then(|q| q.remove(i));
            if let Some(Out {
                data: OutData::Eager { done: Some(r), .. },
                ..
            }) = out
            {
                self.withdrawn(&r, req);
            }
            self.withdraw(st, cookie, req);
            return;
        }
        if peer == self.me {
            if take_unexpected(st, peer, cookie) {
                self.withdraw(st, cookie, req);
            }
            return;
        }
        let reopened = req.is_done();
        if reopened {
            req.reopen();
        }
        st.cancels.insert(
            cookie,
            PendingCancel {
                req: req.clone(),
                reopened,
            },
        );
        let hdr = Header {
            kind: RecordKind::CancelReq as u32,
            cookie,
            ..Header::default()
        };
        self.post(st, peer, hdr, OutData::Ctrl);
    }

    /// Complete `req` as cancelled, with the send operation `cookie` still
    /// waiting for an acknowledgement, if any.
    fn withdraw(&self, st: &mut State, cookie: u64, req: &Arc<Request>) {
        if let Some(op) = self.take_send(st, cookie) {
            self.withdrawn(&op.req, req);
        }
        self.finish(req, Status::cancelled());
    }

    /// The engine's own request `inner` for a send the user cancelled
    /// through `req` (they differ for buffered sends, whose inner request
    /// gives the attached buffer space back when complete).
    fn withdrawn(&self, inner: &Arc<Request>, req: &Arc<Request>) {
        if !Arc::ptr_eq(inner, req) {
            self.finish(inner, Status::cancelled());
        }
    }

    /// Queue a record for `peer`, sending at once when nothing is queued
    /// ahead of it and the channel has room.
    fn post(&self, st: &mut State, peer: usize, hdr: Header, mut data: OutData) {
        if peer == self.me {
            // Control records to ourselves (acknowledgements of self-sends).
            let payload: &[u8] = &[];
            self.on_record(st, peer, &hdr, payload);
            return;
        }
        // The map holds only peers with records waiting, so the common case
        // (nothing queued, room in the ring) touches neither it nor the
        // shared want_space flag.
        let queued = st.outq.get(&peer).is_some_and(|q| !q.is_empty());
        if !queued && self.try_out(peer, &hdr, &mut data) {
            return;
        }
        st.outq
            .entry(peer)
            .or_default()
            .push_back(Out { hdr, data });
        if let Some(t) = self.via(peer) {
            t.want_space(peer, true);
        }
    }

    /// Push as much of one queued record as the channel takes; true when
    /// all of it went.
    fn try_out(&self, peer: usize, hdr: &Header, data: &mut OutData) -> bool {
        let Some(shm) = self.via(peer) else {
            return false;
        };
        match data {
            OutData::Ctrl => shm.try_send(peer, hdr, &[]),
            OutData::Eager { buf, done } => {
                if !shm.try_send(peer, hdr, buf.slice(0, buf.len)) {
                    return false;
                }
                if let Some(r) = done.take() {
                    self.finish(&r, Status::empty());
                }
                true
            }
            OutData::Stream { buf, off, req } => {
                let chunk = shm.max_inline();
                while *off < buf.len {
                    let n = chunk.min(buf.len - *off);
                    let h = Header {
                        kind: RecordKind::Frag as u32,
                        len: n as u32,
                        addr: *off as u64,
                        ..*hdr
                    };
                    if !shm.try_send(peer, &h, buf.slice(*off, n)) {
                        return false;
                    }
                    *off += n;
                }
                self.finish(req, Status::empty());
                true
            }
        }
    }

    /// The send operation `cookie`, done waiting: its buffer is no longer
    /// exposed to the receiver.
    fn take_send(&self, st: &mut State, cookie: u64) -> Option<SendOp> {
        let op = st.sends.remove(&cookie)?;
        if op.key != 0
            && let Some(t) = self.via(op.peer)
        {
            t.conceal(op.key);
        }
        Some(op)
    }

    fn ack(&self, st: &mut State, peer: usize, cookie: u64) {
        let hdr = Header {
            kind: RecordKind::Ack as u32,
            cookie,
            ..Header::default()
        };
        self.post(st, peer, hdr, OutData::Ctrl);
    }

    /// Handle one record that arrived from `peer`.
    fn on_record(&self, st: &mut State, peer: usize, hdr: &Header, payload: &[u8]) {
        let Some(kind) = RecordKind::from_u32(hdr.kind) else {
            return;
        };
        match kind {
            RecordKind::Eager | RecordKind::Rts => {
                let q = st.queues.entry(hdr.ctx).or_default();
                let found = q
                    .posted
                    .iter()
                    .position(|p| matches(p.src, p.tag, hdr.src, hdr.tag));
                let eager = kind == RecordKind::Eager;
                match found {
                    Some(i) => {
                        let p = q.posted.remove(i).expect("index found above");
                        let m = Incoming {
                            peer,
                            src: hdr.src,
                            tag: hdr.tag,
                            size: hdr.size as usize,
                            flags: hdr.flags,
                            cookie: hdr.cookie,
                            data: eager.then_some(payload),
                            addr: hdr.addr,
                            key: hdr.key,
                        };
                        self.deliver(st, &p.req, p.buf, p.cap, &m);
                    }
                    None => {
                        let body = if eager {
                            let mut v = st.spare.pop().unwrap_or_default();
                            v.extend_from_slice(payload);
                            Body::Data(v)
                        } else {
                            Body::Rndv {
                                addr: hdr.addr,
                                key: hdr.key,
                            }
                        };
                        let q = st.queues.entry(hdr.ctx).or_default();
                        q.unexpected.push_back(Unexpected {
                            src: hdr.src,
                            tag: hdr.tag,
                            size: hdr.size as usize,
                            peer,
                            flags: hdr.flags,
                            cookie: hdr.cookie,
                            body,
                        });
                        st.stats.unexpected_len += 1;
                        let (src, tag, size) = (hdr.src, hdr.tag, hdr.size);
                        events::emit(
                            events::UNEXPECTED,
                            [src.into(), tag.into(), size as i64, hdr.ctx.into()],
                        );
                        st.stats.unexpected_high =
                            st.stats.unexpected_high.max(st.stats.unexpected_len);
                    }
                }
            }
            RecordKind::CancelReq => {
                let flags = if take_unexpected(st, peer, hdr.cookie) {
                    FLAG_CANCELLED
                } else {
                    0
                };
                let reply = Header {
                    kind: RecordKind::CancelAck as u32,
                    cookie: hdr.cookie,
                    flags,
                    ..Header::default()
                };
                self.post(st, peer, reply, OutData::Ctrl);
            }
            RecordKind::CancelAck => {
                let Some(c) = st.cancels.remove(&hdr.cookie) else {
                    return;
                };
                if hdr.flags & FLAG_CANCELLED != 0 {
                    // Withdrawn unmatched: no acknowledgement will come.
                    self.withdraw(st, hdr.cookie, &c.req);
                } else if c.reopened {
                    // Already matched: the send had completed normally.
                    self.finish(&c.req, Status::empty());
                }
                // Otherwise the send completes the usual way (its
                // acknowledgement was sent before this answer).
            }
            RecordKind::Ack => {
                if let Some(op) = self.take_send(st, hdr.cookie) {
                    self.finish(&op.req, Status::empty());
                }
            }
            RecordKind::Cts => {
                if let Some(op) = self.take_send(st, hdr.cookie) {
                    let h = Header {
                        kind: RecordKind::Frag as u32,
                        cookie2: hdr.cookie2,
                        size: op.buf.len as u64,
                        ..Header::default()
                    };
                    let data = OutData::Stream {
                        buf: op.buf,
                        off: 0,
                        req: op.req,
                    };
                    self.post(st, peer, h, data);
                }
            }
            RecordKind::Frag => {
                let done = match st.recvs.get_mut(&hdr.cookie2) {
                    Some(op) => {
                        st.stats.streamed_bytes += payload.len() as u64;
                        store(op.buf, op.cap, hdr.addr as usize, payload);
                        op.got += payload.len();
                        op.got as u64 >= hdr.size
                    }
                    None => false,
                };
                if done && let Some(op) = st.recvs.remove(&hdr.cookie2) {
                    self.finish(&op.req, op.status);
                }
            }
        }
    }

    /// Deliver a matched message into a receive buffer of `cap` bytes.
    fn deliver(&self, st: &mut State, req: &Arc<Request>, buf: usize, cap: usize, m: &Incoming) {
        let n = m.size.min(cap);
        let status = Status {
            source: m.src,
            tag: m.tag,
            error: if m.size > cap {
                MPI_ERR_TRUNCATE
            } else {
                MPI_SUCCESS
            },
            bytes: n,
            cancelled: false,
        };
        if let Some(data) = m.data {
            store(buf, cap, 0, &data[..n]);
            if m.flags & FLAG_SYNC != 0 {
                self.ack(st, m.peer, m.cookie);
            }
            self.finish(req, status);
            return;
        }
        // Rendezvous: read the sender's memory directly if we may.
        let t = self
            .via(m.peer)
            .expect("a rendezvous came through a transport");
        if m.flags & FLAG_NO_CMA == 0 && t.single_copy() {
            // SAFETY: the receive buffer holds `cap` >= n bytes until the
            // receive completes (the user's promise).
            let dst = unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, n) };
            match t.read_remote(m.peer, m.addr, m.key, dst) {
                Ok(()) => {
                    st.stats.single_copy_bytes += n as u64;
                    events::emit(events::RENDEZVOUS, [m.peer as i64, 1, n as i64, 0]);
                    self.ack(st, m.peer, m.cookie);
                    self.finish(req, status);
                    return;
                }
                Err(e) => {
                    if config::DEBUG.on() && !self.cma_warned.swap(true, Ordering::Relaxed) {
                        super::runtime::report(&format!(
                            "single-copy reads from other processes are refused ({e}); large \
                             messages are copied through the shared-memory channels instead"
                        ));
                    }
                }
            }
        }
        events::emit(events::RENDEZVOUS, [m.peer as i64, 0, n as i64, 0]);
        let id = st.id();
        st.recvs.insert(
            id,
            RecvOp {
                req: req.clone(),
                peer: m.peer,
                buf,
                cap,
                got: 0,
                status,
            },
        );
        let hdr = Header {
            kind: RecordKind::Cts as u32,
            cookie: m.cookie,
            cookie2: id,
            ..Header::default()
        };
        self.post(st, m.peer, hdr, OutData::Ctrl);
    }

    /// One pass of progress: read every channel, push queued records.
    /// Returns whether anything happened.
    pub fn progress(&self) -> bool {
        if self.has_links.load(Ordering::Acquire) {
            self.look_for_departed();
        }
        let moved = self.progress_transports();
        (self.also)() || moved
    }

    fn progress_transports(&self) -> bool {
        // Taken even without a transport: a sleeper's call here orders its
        // registration before any later `finish` (see `Bell::ring_locked`).
        let mut st = self.st.lock();
        let st = &mut *st;
        let mut n = 0;
        for t in &self.transports {
            n += t.poll(&mut |peer, hdr, payload| self.on_record(st, peer, hdr, payload));
        }
        if self.has_links.load(Ordering::Acquire) {
            for t in self.links.read().distinct.iter() {
                n += t.poll(&mut |peer, hdr, payload| self.on_record(st, peer, hdr, payload));
            }
        }
        if st.outq.is_empty() {
            return n > 0;
        }
        for (&peer, q) in st.outq.iter_mut() {
            while let Some(front) = q.front_mut() {
                if !self.try_out(peer, &front.hdr, &mut front.data) {
                    break;
                }
                q.pop_front();
                n += 1;
            }
            if q.is_empty()
                && let Some(t) = self.via(peer)
            {
                t.want_space(peer, false);
            }
        }
        st.outq.retain(|_, q| !q.is_empty());
        n > 0
    }

    /// Every `LOOK_EVERY`, ask the links whether processes of other jobs
    /// have ended (the launcher ends our job when one of ours does, but
    /// not when another job's process does). What an ended process sent
    /// is still delivered; then every operation that waits on it fails
    /// with `MPI_ERR_PROC_ABORTED`, and so do new ones, so nothing hangs.
    fn look_for_departed(&self) {
        const LOOK_EVERY: u64 = 50_000_000;
        let now = self.born.elapsed().as_nanos() as u64;
        let next = self.next_look.load(Ordering::Relaxed);
        if now < next
            || self
                .next_look
                .compare_exchange(next, now + LOOK_EVERY, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let gone: Vec<usize> = self
            .link_list()
            .iter()
            .flat_map(|t| t.departed())
            .filter(|&p| self.route.get(p).is_none())
            .collect();
        if gone.is_empty() {
            return;
        }
        // Records it wrote before it went are in the channels: take them.
        self.progress_transports();
        {
            // Held while the communicators are read, so a context given
            // back meanwhile (`forget_ctx`) is forgotten after this.
            let mut d = self.departed.lock();
            let at = super::comm::peers_named(&gone);
            d.procs.extend(gone.iter().copied());
            d.ctxs.extend(at.iter().map(|a| a.0));
            d.at.extend(at);
            self.has_departed.store(true, Ordering::Relaxed);
        }
        let mut st = self.st.lock();
        let st = &mut *st;
        let d = self.departed.lock();
        let mut failed = Vec::new();
        for (&ctx, q) in st.queues.iter_mut() {
            q.posted.retain(|p| {
                let hit = d.blocks(ctx, p.src);
                if hit {
                    failed.push((p.req.clone(), p.src));
                }
                !hit
            });
        }
        let gone_here = |p: &usize| gone.contains(p);
        st.sends.retain(|_, s| {
            let hit = gone_here(&s.peer);
            if hit {
                failed.push((s.req.clone(), MPI_ANY_SOURCE));
            }
            !hit
        });
        st.recvs.retain(|_, r| {
            let hit = gone_here(&r.peer);
            if hit {
                failed.push((r.req.clone(), r.status.source));
            }
            !hit
        });
        st.cancels.retain(|_, c| {
            let hit = gone_here(&c.req.wire_peer.load(Ordering::Relaxed));
            if hit {
                failed.push((c.req.clone(), MPI_ANY_SOURCE));
            }
            !hit
        });
        for p in &gone {
            for out in st.outq.remove(p).into_iter().flatten() {
                match out.data {
                    OutData::Eager { done: Some(r), .. } | OutData::Stream { req: r, .. } => {
                        failed.push((r, MPI_ANY_SOURCE));
                    }
                    _ => {}
                }
            }
        }
        for (r, src) in failed {
            self.finish(&r, departed_status(src));
        }
    }

    fn any_departed(&self) -> bool {
        self.has_departed.load(Ordering::Relaxed)
    }

    /// See `Departed::blocks`.
    fn blocked(&self, ctx: u32, src: c_int) -> bool {
        self.any_departed() && self.departed.lock().blocks(ctx, src)
    }

    /// Whether a process that messages of context `ctx` come from has
    /// ended (looking again now).
    pub fn lost_peer_in(&self, ctx: u32) -> bool {
        if !self.has_links.load(Ordering::Acquire) {
            return false;
        }
        self.next_look.store(0, Ordering::Relaxed);
        self.look_for_departed();
        self.departed.lock().ctxs.contains(&ctx)
    }

    /// Drive progress until `done()` holds: spin, then yield, then sleep on
    /// the bell so a waiting rank costs (almost) no CPU. The yield phase is
    /// timed, not counted, and several times longer than a futex wake-up
    /// takes: two ranks trading messages faster than that must not fall
    /// into putting each other to sleep and waking each other up.
    pub fn wait_until(&self, done: impl Fn() -> bool) {
        self.wait_driving(done, !LIBRARY_THREAD.get());
    }

    fn wait_driving(&self, done: impl Fn() -> bool, all: bool) {
        let progress = || {
            if all {
                self.progress()
            } else {
                if self.has_links.load(Ordering::Acquire) {
                    self.look_for_departed();
                }
                self.progress_transports()
            }
        };
        const SPINS: u32 = 64;
        const YIELD_FOR: Duration = Duration::from_micros(250);
        let mut idle = 0u32;
        let mut since: Option<std::time::Instant> = None;
        // When this wait first ran out of spins: the time counted as
        // waiting from there (`Stats::wait_ns`). The clock is read only
        // then, so a wait that ends within its spins costs no clock reads.
        let mut idle_from: Option<std::time::Instant> = None;
        loop {
            if done() {
                if let Some(t) = idle_from {
                    self.wait_ns
                        .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                return;
            }
            if progress() {
                idle = 0;
                since = None;
                continue;
            }
            idle += 1;
            if idle < SPINS {
                std::hint::spin_loop();
                continue;
            }
            let start = *since.get_or_insert_with(std::time::Instant::now);
            idle_from.get_or_insert(start);
            if start.elapsed() < YIELD_FOR {
                std::thread::yield_now();
            } else {
                // progress() first: its lock pairs with `finish` (see
                // `Bell::ring_locked`), then done() sees what finished before.
                self.sleep(|| progress() || done());
                idle = SPINS;
            }
        }
    }

    /// Sleep on our bell, and on our bell in every link, until one rings
    /// (see `bell::sleep_any`).
    fn sleep(&self, ready: impl FnOnce() -> bool) {
        let links = self.link_list();
        if links.is_empty() {
            return self.bell().sleep(self.nap, ready);
        }
        let mut bells = vec![self.bell()];
        for b in links.iter().filter_map(|t| t.bell()) {
            if !bells.iter().any(|o| std::ptr::eq(*o, b)) {
                bells.push(b);
            }
        }
        crate::transport::bell::sleep_any(&bells, self.nap, ready);
    }

    pub fn wait(&self, req: &Request) {
        self.wait_until(|| req.is_done());
    }

    /// Before finalize: push out everything still queued (acknowledgements,
    /// buffered sends), giving up after `limit` if a peer never reads.
    pub fn flush(&self, limit: Duration) {
        let start = std::time::Instant::now();
        self.wait_until(|| {
            let st = self.st.lock();
            st.outq.is_empty() && st.sends.is_empty() || start.elapsed() > limit
        });
    }

    /// `MPI_Comm_disconnect`: wait until no send or receive of
    /// communicator `comm` is still in flight here and nothing queued for
    /// `peers` is left unwritten, so taking their link down loses nothing.
    pub fn settle(&self, comm: c_int, peers: &[usize]) {
        self.wait_until(|| {
            let st = self.st.lock();
            !st.sends.values().any(|s| s.req.comm == comm)
                && !st.recvs.values().any(|r| r.req.comm == comm)
                && !peers.iter().any(|p| st.outq.contains_key(p))
        });
    }

    /// Wake every thread of this process that sleeps in a wait (after a
    /// request was completed from outside the engine).
    pub fn wake(&self) {
        self.bell().ring();
    }
}

#[cfg(test)]
#[path = "p2p_loopback_tests.rs"]
mod loopback_tests;
