//! Windows whose members span hosts. Members on one host share a segment
//! as on a single node (control area, window memory of the allocate
//! flavours, agent area); a member on another host is `Place::Far`, and
//! every operation on it, its locks and the PSCW counters it waits on go
//! as a request to its window server: a thread of that member's process,
//! started with the window, which does the operation there exactly as a
//! member of that host would (same segment, same accumulate lock, same
//! atomic instructions) and answers. So, as on one node, an operation is
//! complete when its call returns and no operation needs the target to
//! call MPI.
//!
//! Protocol (on the window's private communicator, point-to-point
//! context, which nothing else uses):
//! - A request is a fixed header with tag `ASK`, then, when it carries
//!   runs or data, one body message with tag `data_tag(id)`; the answer
//!   comes back with tag `answer_tag(id)`: the error class (0 for
//!   success), the length of an error text, then the text or the payload.
//!   `id` is the requester's own count, so the tags of two requests in
//!   flight from one process differ, and a body tag (even) never equals
//!   an answer tag (odd): a process's server and its own requests never
//!   take each other's messages.
//! - The server takes one request at a time; the only request it cannot
//!   answer at once is a lock: it takes a ticket in arrival order (the
//!   same tickets local members take), counts itself a waiter on the lock,
//!   and grants the ticket when it comes up, while it goes on serving.
//!   It never blocks on another host.
//! - One server thread per process serves every window of it that spans
//!   hosts, each with its own receive posted; it ends with the last. It
//!   moves messages only, never runs user code (`mark_library_thread`).
//! - `MPI_Win_free` waits (barrier) until no member has a request left,
//!   then has the server withdraw the window's receive and let go of it.

use super::Window;
use super::access::Span;
use crate::core::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::p2p::{Envelope, SendBuf, engine};
use crate::core::request::{ReqKind, Request, SendMode};
use crate::core::types::*;
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, fence};

const ASK: c_int = 1;
const HEAD: usize = 48;
/// Bytes of a run in a body: offset (i64), length (u64).
const RUN: usize = 16;
/// Request ids wrap here, so the tags stay positive.
const ID_MASK: u32 = (1 << 29) - 1;

const PUT: u32 = 1;
const GET: u32 = 2;
const ACC: u32 = 3;
const CAS: u32 = 4;
const LOCK: u32 = 5;
const UNLOCK: u32 = 6;
const SIGNAL: u32 = 7;

/// `flags`: an exclusive lock; accumulate data present; old values wanted.
const EXCLUSIVE: u32 = 1;
const HAS_DATA: u32 = 2;
const WANT_OLD: u32 = 4;

fn data_tag(id: u32) -> c_int {
    (2 + 2 * id) as c_int
}

fn answer_tag(id: u32) -> c_int {
    (3 + 2 * id) as c_int
}

/// A request's header. For `SIGNAL`, `elem` is which counter and `addr`
/// packs target and origin.
#[derive(Clone, Copy, Default)]
struct Head {
    kind: u32,
    id: u32,
    elem: i32,
    op: i32,
    flags: u32,
    addr: i64,
    runs: u64,
    data: u64,
}

impl Head {
    fn encode(&self) -> [u8; HEAD] {
        let mut b = [0u8; HEAD];
        b[0..4].copy_from_slice(&self.kind.to_ne_bytes());
        b[4..8].copy_from_slice(&self.id.to_ne_bytes());
        b[8..12].copy_from_slice(&self.elem.to_ne_bytes());
        b[12..16].copy_from_slice(&self.op.to_ne_bytes());
        b[16..20].copy_from_slice(&self.flags.to_ne_bytes());
        b[24..32].copy_from_slice(&self.addr.to_ne_bytes());
        b[32..40].copy_from_slice(&self.runs.to_ne_bytes());
        b[40..48].copy_from_slice(&self.data.to_ne_bytes());
        b
    }

    fn decode(b: &[u8; HEAD]) -> Head {
        let u32_at = |i: usize| u32::from_ne_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_ne_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Head {
            kind: u32_at(0),
            id: u32_at(4),
            elem: u32_at(8) as i32,
            op: u32_at(12) as i32,
            flags: u32_at(16),
            addr: u64_at(24) as i64,
            runs: u64_at(32),
            data: u64_at(40),
        }
    }
}

fn encode_runs(runs: &[(i64, usize)], out: &mut Vec<u8>) {
    for &(off, len) in runs {
        out.extend_from_slice(&off.to_ne_bytes());
        out.extend_from_slice(&(len as u64).to_ne_bytes());
    }
}

fn decode_runs(b: &[u8]) -> Vec<(i64, usize)> {
    b.chunks_exact(RUN)
        .map(|c| {
            let off = i64::from_ne_bytes(c[..8].try_into().expect("8 bytes"));
            let len = u64::from_ne_bytes(c[8..].try_into().expect("8 bytes"));
            (off, len as usize)
        })
        .collect()
}

/// Wait for `reqs`; the first error among them.
fn wait_all(reqs: &[&Arc<Request>]) -> MpiResult<()> {
    engine().wait_until(|| reqs.iter().all(|r| r.is_done()));
    match reqs.iter().find_map(|r| r.error()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Window {
    /// Is member `t` on another host (served by its window server)?
    pub(crate) fn is_far(&self, t: usize) -> bool {
        matches!(self.targets[t].place, super::Place::Far)
    }

    fn send(&self, to: usize, tag: c_int, bytes: Vec<u8>) -> MpiResult<Arc<Request>> {
        let req = Request::new(ReqKind::Send, self.comm.handle);
        let env = Envelope {
            ctx: self.comm.ctx,
            src: self.comm.rank,
            tag,
        };
        engine().isend(
            env,
            self.targets[to].world,
            SendBuf::owned(bytes.into()),
            SendMode::Standard,
            req.clone(),
        )?;
        Ok(req)
    }

    fn recv(&self, from: c_int, tag: c_int, buf: &mut [u8]) -> Arc<Request> {
        let req = Request::new(ReqKind::Recv, self.comm.handle);
        engine().irecv(
            self.comm.ctx,
            from,
            tag,
            buf.as_mut_ptr() as usize,
            buf.len(),
            req.clone(),
        );
        req
    }

    /// Ask member `t`'s server; its payload (exactly `want` bytes).
    fn ask(&self, t: usize, mut h: Head, body: Vec<u8>, want: usize) -> MpiResult<Vec<u8>> {
        h.id = self.far_ids.fetch_add(1, Relaxed) & ID_MASK;
        let mut answer = vec![0u8; 8 + want.max(512)];
        let got = self.recv(t as c_int, answer_tag(h.id), &mut answer);
        // A request that cannot be sent gets no answer: withdraw its
        // receive before the buffer goes.
        let withdraw = |e: MpiError| {
            engine().cancel_recv(&got);
            e
        };
        let head = self.send(t, ASK, h.encode().to_vec()).map_err(withdraw)?;
        let mut reqs = vec![&got, &head];
        let sent_body;
        if !body.is_empty() {
            sent_body = self.send(t, data_tag(h.id), body).map_err(withdraw)?;
            reqs.push(&sent_body);
        }
        wait_all(&reqs)?;
        let n = got.status().bytes;
        let class = i32::from_ne_bytes(answer[..4].try_into().expect("4 bytes"));
        let len = u32::from_ne_bytes(answer[4..8].try_into().expect("4 bytes")) as usize;
        if class != 0 {
            let text = String::from_utf8_lossy(&answer[8..(8 + len).min(n)]);
            return Err(MpiError::new(
                class,
                format!("at rank {t} of the window: {text}"),
            ));
        }
        if n != 8 + want {
            return Err(MpiError::new(
                MPI_ERR_INTERN,
                format!(
                    "the window server of rank {t} answered {n} bytes, not {}",
                    8 + want
                ),
            ));
        }
        answer.truncate(8 + want);
        answer.drain(..8);
        Ok(answer)
    }

    fn span_head(kind: u32, s: &Span) -> (Head, Vec<u8>) {
        let mut body = Vec::with_capacity(s.runs.len() * RUN + s.bytes);
        encode_runs(&s.runs, &mut body);
        let h = Head {
            kind,
            addr: s.addr,
            runs: s.runs.len() as u64,
            ..Head::default()
        };
        (h, body)
    }

    pub(crate) fn far_put(&self, s: &Span, data: &[u8]) -> MpiResult<()> {
        let (mut h, mut body) = Window::span_head(PUT, s);
        h.data = data.len() as u64;
        body.extend_from_slice(data);
        self.ask(s.rank, h, body, 0).map(drop)
    }

    pub(crate) fn far_get(&self, s: &Span, out: &mut [u8]) -> MpiResult<()> {
        let (h, body) = Window::span_head(GET, s);
        out.copy_from_slice(&self.ask(s.rank, h, body, s.bytes)?);
        Ok(())
    }

    pub(crate) fn far_accumulate(
        &self,
        s: &Span,
        elem: MPI_Datatype,
        op: MPI_Op,
        data: Option<&[u8]>,
        want_old: bool,
    ) -> MpiResult<Option<Vec<u8>>> {
        let (mut h, mut body) = Window::span_head(ACC, s);
        h.elem = elem;
        h.op = op;
        if let Some(d) = data {
            h.flags |= HAS_DATA;
            h.data = d.len() as u64;
            body.extend_from_slice(d);
        }
        if want_old {
            h.flags |= WANT_OLD;
        }
        let old = self.ask(s.rank, h, body, if want_old { s.bytes } else { 0 })?;
        Ok(want_old.then_some(old))
    }

    pub(crate) fn far_compare_swap(
        &self,
        s: &Span,
        elem: MPI_Datatype,
        new: &[u8],
        cmp: &[u8],
    ) -> MpiResult<Vec<u8>> {
        let (mut h, mut body) = Window::span_head(CAS, s);
        h.elem = elem;
        h.data = new.len() as u64;
        body.extend_from_slice(new);
        body.extend_from_slice(cmp);
        self.ask(s.rank, h, body, s.bytes)
    }

    /// Take (`lock`) or return member `t`'s passive-target lock; a lock
    /// is answered once granted.
    pub(crate) fn far_lock(&self, t: usize, lock: bool, exclusive: bool) -> MpiResult<()> {
        let h = Head {
            kind: if lock { LOCK } else { UNLOCK },
            flags: if exclusive { EXCLUSIVE } else { 0 },
            ..Head::default()
        };
        self.ask(t, h, Vec::new(), 0).map(drop)
    }

    /// Count a PSCW post or complete (`sync::Window::signal`) at member
    /// `to`, who waits for it.
    pub(crate) fn far_signal(&self, to: usize, which: usize, t: usize, o: usize) -> MpiResult<()> {
        let h = Head {
            kind: SIGNAL,
            elem: which as i32,
            addr: ((t as i64) << 32) | o as i64,
            ..Head::default()
        };
        self.ask(to, h, Vec::new(), 0).map(drop)
    }

    /// Have this process's window server serve the window (it spans
    /// hosts); the server starts with the first such window.
    pub(crate) fn start_server(self: &Arc<Self>) -> MpiResult<()> {
        let mut server = SERVER.lock();
        if server.is_none() {
            let hub = Arc::new(Hub::default());
            let h = hub.clone();
            std::thread::Builder::new()
                .name("oxmpi-win-server".into())
                .spawn(move || serve(&h))
                .map_err(|e| {
                    MpiError::new(
                        MPI_ERR_OTHER,
                        format!("cannot start the window server: {e}"),
                    )
                })?;
            *server = Some(hub);
        }
        let hub = server.as_ref().expect("started above");
        hub.change(Change::Add(self.clone()));
        *self.server.lock() = true;
        Ok(())
    }

    /// Stop serving the window (every member is done with it): returns once
    /// the server has let go of it. The server ends with its last window.
    pub(crate) fn stop_server(&self) {
        if !std::mem::take(&mut *self.server.lock()) {
            return;
        }
        let gone = Arc::new(AtomicBool::new(false));
        {
            let server = SERVER.lock();
            let hub = server.as_ref().expect("serving this window");
            hub.change(Change::Remove(self.handle, gone.clone()));
        }
        engine().wait_until(|| gone.load(SeqCst));
    }
}

/// The process's window server, while it serves some window.
static SERVER: Mutex<Option<Arc<Hub>>> = Mutex::new(None);

/// Windows to start or stop serving, handed to the server.
#[derive(Default)]
struct Hub {
    changes: Mutex<Vec<Change>>,
    changed: AtomicBool,
}

enum Change {
    Add(Arc<Window>),
    /// Stop serving the window; set the flag once done.
    Remove(MPI_Win, Arc<AtomicBool>),
}

impl Hub {
    fn change(&self, c: Change) {
        self.changes.lock().push(c);
        self.changed.store(true, SeqCst);
        engine().wake();
    }
}

/// A lock a member on another host waits for: granted when its ticket
/// comes up.
struct Grant {
    src: c_int,
    id: u32,
    ticket: u64,
    exclusive: bool,
}

/// One window the server serves: the receive of its next request (into
/// `head`) and the locks it has yet to grant.
struct Served {
    win: Arc<Window>,
    head: Box<[u8; HEAD]>,
    asked: Arc<Request>,
    grants: Vec<Grant>,
}

impl Served {
    fn new(win: Arc<Window>) -> Served {
        let mut head = Box::new([0u8; HEAD]);
        let asked = win.recv(MPI_ANY_SOURCE, ASK, &mut head[..]);
        Served {
            win,
            head,
            asked,
            grants: Vec::new(),
        }
    }

    fn ready(&self) -> bool {
        let me = self.win.rank;
        self.asked.is_done()
            || self
                .grants
                .iter()
                .any(|g| self.win.lock_ready(me, g.ticket, g.exclusive))
    }

    /// Grant what can be granted, then take the request that came, if
    /// one did; false once no more can come.
    fn step(&mut self) -> bool {
        let w = &*self.win;
        let me = w.rank;
        self.grants.retain(|g| {
            if !w.lock_ready(me, g.ticket, g.exclusive) {
                return true;
            }
            w.count_waiter(me, false);
            answer(w, g.src, g.id, Ok(Vec::new()));
            false
        });
        if !self.asked.is_done() {
            return true;
        }
        if self.asked.error().is_some() {
            // Nothing more can come (the job is failing).
            return false;
        }
        let src = self.asked.status().source;
        let h = Head::decode(&self.head);
        if h.kind == LOCK {
            let exclusive = h.flags & EXCLUSIVE != 0;
            let ticket = w.take_ticket(me, exclusive);
            w.count_waiter(me, true);
            self.grants.push(Grant {
                src,
                id: h.id,
                ticket,
                exclusive,
            });
        } else {
            let out = serve_one(w, src, &h);
            answer(w, src, h.id, out);
        }
        self.asked = w.recv(MPI_ANY_SOURCE, ASK, &mut self.head[..]);
        true
    }

    /// Stop: the receive withdrawn, waiting counts returned.
    fn end(self) {
        if !self.asked.is_done() {
            engine().cancel_recv(&self.asked);
        }
        for _ in &self.grants {
            self.win.count_waiter(self.win.rank, false);
        }
    }
}

/// The window server's loop (see the module's protocol): every window it
/// serves at once, sleeping in the engine's wait until a request or a
/// grantable lock is there.
fn serve(hub: &Hub) {
    crate::core::p2p::mark_library_thread();
    let mut served: Vec<Served> = Vec::new();
    loop {
        engine().wait_until(|| hub.changed.load(SeqCst) || served.iter().any(Served::ready));
        if hub.changed.swap(false, SeqCst) {
            let changes = std::mem::take(&mut *hub.changes.lock());
            for c in changes {
                match c {
                    Change::Add(w) => served.push(Served::new(w)),
                    Change::Remove(handle, gone) => {
                        if let Some(i) = served.iter().position(|s| s.win.handle == handle) {
                            served.swap_remove(i).end();
                        }
                        gone.store(true, SeqCst);
                        engine().wake();
                    }
                }
            }
            // The last window gone: end, unless one came meanwhile.
            let mut server = SERVER.lock();
            if served.is_empty() && !hub.changed.load(SeqCst) {
                *server = None;
                return;
            }
        }
        let mut i = 0;
        while i < served.len() {
            if served[i].ready() && !served[i].step() {
                served.swap_remove(i).end();
                continue;
            }
            i += 1;
        }
    }
}

/// Do one request other than a lock; the payload of the answer.
fn serve_one(w: &Window, src: c_int, h: &Head) -> MpiResult<Vec<u8>> {
    let runs_len = h.runs as usize * RUN;
    let extra = if h.kind == CAS { h.data as usize } else { 0 };
    let body_len = runs_len + h.data as usize + extra;
    let mut body = vec![0u8; body_len];
    if body_len > 0 {
        let got = w.recv(src, data_tag(h.id), &mut body);
        wait_all(&[&got])?;
    }
    let (runs, data) = body.split_at(runs_len);
    let span = || w.own_span(h.addr, decode_runs(runs));
    let exclusive = h.flags & EXCLUSIVE != 0;
    match h.kind {
        PUT => {
            let s = span()?;
            check_len(data.len(), s.bytes)?;
            w.store(&s, data).map(|()| Vec::new())
        }
        GET => w.load(&span()?),
        ACC => {
            let s = span()?;
            let d = (h.flags & HAS_DATA != 0).then_some(data);
            if let Some(d) = d {
                check_len(d.len(), s.bytes)?;
            }
            let old = w.accumulate_at(&s, h.elem, h.op, d, h.flags & WANT_OLD != 0)?;
            Ok(old.unwrap_or_default())
        }
        CAS => {
            let s = span()?;
            let (new, cmp) = data.split_at(h.data as usize);
            check_len(new.len(), s.bytes)?;
            w.compare_swap_at(&s, h.elem, new, cmp)
        }
        UNLOCK => w.unlock(w.rank, exclusive).map(|()| Vec::new()),
        SIGNAL => {
            let (t, o) = ((h.addr >> 32) as usize, (h.addr & 0xffff_ffff) as usize);
            if t >= w.size() || o >= w.size() || h.elem > 1 {
                return Err(MpiError::new(MPI_ERR_INTERN, "a malformed PSCW signal"));
            }
            w.counter(h.elem as usize, t, o).fetch_add(1, SeqCst);
            fence(SeqCst);
            w.ring(w.rank);
            Ok(Vec::new())
        }
        other => Err(MpiError::new(
            MPI_ERR_INTERN,
            format!("unknown window request {other}"),
        )),
    }
}

fn check_len(got: usize, want: usize) -> MpiResult<()> {
    if got != want {
        return Err(MpiError::new(
            MPI_ERR_INTERN,
            format!("a window request carried {got} bytes for {want}"),
        ));
    }
    Ok(())
}

/// Answer request `id` of member `src`: the payload, or the error.
fn answer(w: &Window, src: c_int, id: u32, out: MpiResult<Vec<u8>>) {
    let bytes = match out {
        Ok(payload) => {
            let mut b = Vec::with_capacity(8 + payload.len());
            b.extend_from_slice(&0i32.to_ne_bytes());
            b.extend_from_slice(&0u32.to_ne_bytes());
            b.extend_from_slice(&payload);
            b
        }
        Err(e) => {
            let text = e.msg.as_bytes();
            let text = &text[..text.len().min(512)];
            let mut b = Vec::with_capacity(8 + text.len());
            b.extend_from_slice(&e.code.to_ne_bytes());
            b.extend_from_slice(&(text.len() as u32).to_ne_bytes());
            b.extend_from_slice(text);
            b
        }
    };
    // The request completes on its own; a member that is gone cannot be
    // answered, and its own job failure reports that.
    let _ = w.send(src as usize, answer_tag(id), bytes);
}
