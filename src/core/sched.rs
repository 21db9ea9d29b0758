//! Collective schedules: a collective operation written down as a list of
//! steps (sends, receives, local reductions and copies, fences) that runs
//! to completion in the caller (blocking collectives) or is advanced by the
//! progress engine (nonblocking and persistent ones, and `MPI_Comm_idup`).
//!
//! Steps run in order. Sends and receives are started as they are reached
//! and do not hold up the steps after them; a fence waits until every
//! operation started before it has completed. A local step may append more
//! steps (an agreement that must retry), which run before the rest.
//!
//! Every schedule on a communicator takes the next tag of the
//! communicator's collective sequence: all members start their collectives
//! in the same order, so the tags agree, and any number of collectives can
//! be in flight on one communicator without taking each other's messages.
//! Within one schedule, messages between two ranks match in the order they
//! were sent, which the algorithms keep equal to the order receives are
//! posted.

use super::algorithms::Algorithms;
use super::comm::Comm;
use super::error::{MpiError, MpiResult};
use super::group::Group;
use super::op;
use super::p2p::{Envelope, SendBuf, engine};
use super::request::{ReqKind, Request, SendMode, Status};
use crate::core::consts::{MPI_ERR_PROC_ABORTED, MPI_ERR_TRUNCATE};
use crate::core::types::{MPI_Datatype, MPI_Op};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::ffi::c_int;
use std::sync::Arc;

/// First tag of the collective sequence; lower tags are the library's own
/// fixed-purpose messages (see `core::comm`).
const TAG_BASE: c_int = 1 << 10;
/// Tags of each of the two sequences (nonblocking, blocking).
const TAG_SPAN: u32 = 1 << 19;
/// Sub-tags (`Sched::send_sub`) sit above the sequence's tags.
const SUB_SHIFT: u32 = 21;
pub const MAX_SUB: c_int = 1 << (30 - SUB_SHIFT);

type LocalFn = Box<dyn FnOnce(&mut Sched) -> MpiResult<()> + Send>;

/// Sends and receives say whether they go to the local group of an
/// intercommunicator (`local`) or across.
enum Step {
    Send {
        to: c_int,
        at: usize,
        len: usize,
        local: bool,
        sub: c_int,
    },
    Recv {
        from: c_int,
        at: usize,
        len: usize,
        local: bool,
        sub: c_int,
    },
    /// A local step, and whether the steps it adds go to the local group
    /// (as `within_local` said when it was added).
    Local(LocalFn, bool),
    Fence,
}

pub struct Sched {
    /// Collective context, this process's rank, and the processes ranks
    /// name (the remote group of an intercommunicator).
    ctx: u32,
    rank: c_int,
    peers: Arc<Group>,
    /// A schedule among a subgroup: each member's rank in the
    /// communicator whose context carries the messages, which envelopes
    /// name (ranks within different subgroups would be confused).
    names: Option<Arc<[c_int]>>,
    /// Intercommunicators: the context and members of the local group,
    /// which collectives also talk to (the point-to-point context of the
    /// communicator's private local copy, used for nothing else), and
    /// whether the steps being added go there.
    local: Option<(u32, Arc<Group>)>,
    to_local: bool,
    /// The communicator's handle, whose error handler hears of failures.
    handle: c_int,
    tag: c_int,
    /// The communicator's collective algorithms, which its members agreed on.
    algorithms: Algorithms,
    steps: VecDeque<Step>,
    /// Scratch buffers the steps address; boxed, so they never move.
    temps: Vec<Box<[u8]>>,
    /// Operations started and not yet seen complete, with the bytes a
    /// receive expects (`None` for sends).
    pending: Vec<(Arc<Request>, Option<usize>)>,
    error: Option<MpiError>,
    on_success: Vec<Box<dyn FnOnce() + Send>>,
    /// Kept alive until the schedule ends: the communicator of a
    /// nonblocking collective (its context must not be reused meanwhile),
    /// and whatever the builder hands over.
    keep: Vec<Box<dyn Send>>,
}

impl Sched {
    /// An empty schedule for the next collective on `comm`.
    pub fn new(comm: &Comm) -> Sched {
        Sched::tagged(comm, next_tag(comm))
    }

    /// An empty schedule for the next blocking collective on `comm`.
    pub fn blocking(comm: &Comm) -> Sched {
        Sched::tagged(comm, sequence_tag(comm, 1))
    }

    /// An empty schedule whose messages carry `tag` (a persistent
    /// collective's, taken when it was initialized).
    pub fn tagged(comm: &Comm, tag: c_int) -> Sched {
        let peers = comm.remote.clone().unwrap_or_else(|| comm.group.clone());
        Sched {
            local: comm.local.as_ref().map(|l| (l.ctx, l.group.clone())),
            algorithms: comm.algorithms,
            ..Sched::empty(comm.coll_ctx(), comm.rank, peers, comm.handle, tag)
        }
    }

    /// An empty schedule in context `ctx` among `peers`.
    fn empty(ctx: u32, rank: c_int, peers: Arc<Group>, handle: c_int, tag: c_int) -> Sched {
        Sched {
            ctx,
            rank,
            peers,
            names: None,
            local: None,
            to_local: false,
            handle,
            tag,
            algorithms: Algorithms::alone(),
            steps: VecDeque::new(),
            temps: Vec::new(),
            pending: Vec::new(),
            error: None,
            on_success: Vec::new(),
            keep: Vec::new(),
        }
    }

    /// A schedule among `group`, a subset of `comm` in which this process
    /// has rank `rank`, in `comm`'s collective context with messages tagged
    /// `tag` (see `group_tag`).
    pub fn within(comm: &Comm, group: Arc<Group>, rank: c_int, tag: c_int) -> Sched {
        let names = group
            .iter()
            .map(|w| {
                comm.group
                    .rank_of(w)
                    .expect("a subgroup of the communicator") as c_int
            })
            .collect();
        Sched {
            rank,
            peers: group,
            names: Some(names),
            ..Sched::tagged(comm, tag)
        }
    }

    /// Context and members a step talks to.
    fn scope(&self, local: bool) -> (u32, &Arc<Group>) {
        match (&self.local, local) {
            (Some((ctx, group)), true) => (*ctx, group),
            _ => (self.ctx, &self.peers),
        }
    }

    /// A schedule among `group`, with no communicator: messages in context
    /// `ctx` tagged `tag`, envelopes naming world ranks (see
    /// `comm::create_from_group`).
    pub fn among(ctx: u32, group: Arc<Group>, rank: c_int, tag: c_int) -> Sched {
        let names = group.iter().map(|w| w as c_int).collect();
        Sched {
            names: Some(names),
            ..Sched::empty(ctx, rank, group, crate::core::consts::MPI_COMM_NULL, tag)
        }
    }

    /// How envelopes name schedule rank `r`.
    fn name(&self, r: c_int) -> c_int {
        self.names.as_ref().map_or(r, |v| v[r as usize])
    }

    /// A zeroed scratch buffer of `len` bytes that lives as long as the
    /// schedule: its address.
    pub fn temp(&mut self, len: usize) -> usize {
        let mut b = vec![0u8; len].into_boxed_slice();
        let at = b.as_mut_ptr() as usize;
        self.temps.push(b);
        at
    }

    pub fn send(&mut self, to: c_int, at: usize, len: usize) {
        self.send_sub(to, at, len, 0);
    }

    pub fn recv(&mut self, from: c_int, at: usize, len: usize) {
        self.recv_sub(from, at, len, 0);
    }

    /// A send whose tag also carries `sub` (below `MAX_SUB`), for messages
    /// between one pair that must match particular receives.
    pub fn send_sub(&mut self, to: c_int, at: usize, len: usize, sub: c_int) {
        let local = self.to_local;
        self.steps.push_back(Step::Send {
            to,
            at,
            len,
            local,
            sub,
        });
    }

    pub fn recv_sub(&mut self, from: c_int, at: usize, len: usize, sub: c_int) {
        let local = self.to_local;
        self.steps.push_back(Step::Recv {
            from,
            at,
            len,
            local,
            sub,
        });
    }

    /// On an intercommunicator: the sends and receives added from here on
    /// go within the local group (`true`) or to the remote group.
    pub fn within_local(&mut self, yes: bool) {
        assert!(
            self.local.is_some() || !yes,
            "only intercommunicators have a local group"
        );
        self.to_local = yes;
    }

    /// Wait for every send and receive started so far.
    pub fn fence(&mut self) {
        self.steps.push_back(Step::Fence);
    }

    pub fn local(&mut self, f: impl FnOnce(&mut Sched) -> MpiResult<()> + Send + 'static) {
        self.steps
            .push_back(Step::Local(Box::new(f), self.to_local));
    }

    pub fn copy(&mut self, from: usize, to: usize, len: usize) {
        self.local(move |_| {
            copy(from, to, len);
            Ok(())
        });
    }

    /// This rank's own block of a collective, from its send buffer to its
    /// receive buffer: `sent` bytes where `expected` are due. Like any
    /// pair's, the two must agree; if not, the counts or datatypes do not
    /// match and the schedule fails as a receive of the wrong length
    /// would (what fits is copied).
    pub fn copy_own(&mut self, from: usize, to: usize, sent: usize, expected: usize) {
        self.local(move |_| {
            copy(from, to, sent.min(expected));
            if sent == expected {
                Ok(())
            } else {
                Err(mismatch(expected, sent))
            }
        });
    }

    /// `inout = input op inout`, elementwise over `count` elements. A user
    /// operation is held from here on: it may be freed before this runs.
    pub fn reduce(
        &mut self,
        opr: MPI_Op,
        dt: MPI_Datatype,
        count: usize,
        input: usize,
        inout: usize,
    ) {
        let (a, b) = (input, inout);
        match op::USER_OPS.get(opr) {
            // SAFETY (both): the builder sized the buffers for `count` elements.
            Some(u) => self.local(move |_| unsafe {
                op::apply_user(&u, dt, count, a as *const u8, b as *mut u8)
            }),
            None => self
                .local(move |_| unsafe { op::apply(opr, dt, count, a as *const u8, b as *mut u8) }),
        }
    }

    /// Run `f` once the schedule has succeeded (unpack staged outputs).
    pub fn on_success(&mut self, f: impl FnOnce() + Send + 'static) {
        self.on_success.push(Box::new(f));
    }

    /// Also end only once `r` (an operation started elsewhere) completes.
    pub fn wait_for(&mut self, r: Arc<Request>) {
        self.pending.push((r, None));
    }

    /// Keep `x` alive until the schedule ends.
    pub fn keep(&mut self, x: impl Send + 'static) {
        self.keep.push(Box::new(x));
    }

    /// Whether a step has failed so far.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    pub fn rank(&self) -> c_int {
        self.rank
    }

    /// The algorithms this schedule's communicator agreed on.
    pub fn algorithms(&self) -> Algorithms {
        self.algorithms
    }

    fn exec(&mut self, step: Step) {
        let started = match step {
            Step::Send {
                to,
                at,
                len,
                local,
                sub,
            } => {
                let (at, len) = self.spoiled(at, len);
                let r = Request::new(ReqKind::Send, self.handle);
                let (ctx, peers) = self.scope(local);
                let env = Envelope {
                    ctx,
                    src: self.name(self.rank),
                    tag: self.tag + (sub << SUB_SHIFT),
                };
                let peer = peers.world(to as usize);
                engine()
                    .isend(
                        env,
                        peer,
                        SendBuf::user(at, len),
                        SendMode::Standard,
                        r.clone(),
                    )
                    .map(|()| Some((r, None)))
            }
            Step::Recv {
                from,
                at,
                len,
                local,
                sub,
            } => {
                let r = Request::new(ReqKind::Recv, self.handle);
                let ctx = self.scope(local).0;
                let tag = self.tag + (sub << SUB_SHIFT);
                engine().irecv(ctx, self.name(from), tag, at, len, r.clone());
                Ok(Some((r, Some(len))))
            }
            Step::Local(f, to_local) => {
                // Steps the function adds run before the rest, and go
                // where the steps around it go.
                let before = self.steps.len();
                let outer = std::mem::replace(&mut self.to_local, to_local);
                let done = f(self);
                self.to_local = outer;
                let added = self.steps.len() - before;
                self.steps.rotate_right(added);
                done.map(|()| None)
            }
            Step::Fence => unreachable!("fences are handled by advance"),
        };
        match started {
            Ok(None) => {}
            Ok(Some((r, expect))) => {
                if !r.is_done() {
                    self.pending.push((r, expect));
                } else if let Some(e) = outcome(&r, expect) {
                    self.fail(e);
                }
            }
            Err(e) => self.fail(e),
        }
    }

    /// Record the first failure. The schedule still runs to its end, so
    /// that no other member is left waiting for its messages, but its
    /// later messages are spoiled (`spoiled`).
    ///
    /// A spoiled message may also come from a member that lost a process
    /// of another job: when one of ours has ended, that is the error.
    fn fail(&mut self, e: MpiError) {
        if self.error.is_some() {
            return;
        }
        let e = if e.code == MPI_ERR_TRUNCATE && super::p2p::lost_peer_in(self.ctx) {
            MpiError::new(
                MPI_ERR_PROC_ABORTED,
                "a process of this communicator has ended",
            )
        } else {
            e
        };
        self.error = Some(e.on_comm(self.handle));
    }

    /// What a send carries: its bytes, or, once the schedule has failed
    /// (a receive of the wrong length: the processes' counts do not
    /// match), a length its receiver cannot expect (none, or one byte
    /// where none is expected). The receiver then fails too and passes it
    /// on, as MPICH's error propagation does, instead of taking on wrong
    /// data unawares.
    fn spoiled(&mut self, at: usize, len: usize) -> (usize, usize) {
        match (self.error.is_some(), spoiled_len(len)) {
            (false, _) => (at, len),
            (true, 1) => (self.temp(1), 1),
            (true, bad) => (at, bad),
        }
    }

    /// Whether everything started so far has completed (collecting the
    /// errors of what has).
    fn settled(&mut self) -> bool {
        let mut failed = None;
        self.pending.retain(|(r, expect)| {
            let done = r.is_done();
            if done && failed.is_none() {
                failed = outcome(r, *expect);
            }
            !done
        });
        if let Some(e) = failed {
            self.fail(e);
        }
        self.pending.is_empty()
    }

    /// Run steps until one must wait; whether the schedule has ended.
    fn advance(&mut self) -> bool {
        loop {
            match self.steps.front() {
                None => return self.settled(),
                Some(Step::Fence) => {
                    if !self.settled() {
                        return false;
                    }
                    self.steps.pop_front();
                }
                Some(_) => {
                    let step = self.steps.pop_front().expect("front exists");
                    self.exec(step);
                }
            }
        }
    }

    /// The outcome of an ended schedule; on success the finishing hooks
    /// have run.
    fn outcome(&mut self) -> MpiResult<()> {
        self.keep.clear();
        match self.error.take() {
            Some(e) => Err(e),
            None => {
                self.on_success.drain(..).for_each(|f| f());
                Ok(())
            }
        }
    }

    /// Run the schedule to its end in this thread (a blocking collective).
    pub fn run(mut self) -> MpiResult<()> {
        super::coll::usage::BLOCKING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        while !self.advance() {
            let pending = &self.pending;
            engine().wait_until(|| pending.iter().all(|(r, _)| r.is_done()));
        }
        self.outcome()
    }

    /// Start the schedule and leave it to the progress engine; `req`
    /// completes when it ends. `comm` stays alive until then.
    pub fn start(mut self, comm: Arc<Comm>, req: Arc<Request>) {
        self.keep(comm);
        super::coll::usage::STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.advance() {
            finish(&req, self.outcome());
        } else {
            ACTIVE.lock().push((self, req));
            STARTED.fetch_add(1, std::sync::atomic::Ordering::Release);
        }
    }
}

/// The tag of the next nonblocking collective on `comm`. Persistent
/// collectives take theirs when initialized: they match in that order,
/// whatever order they are started in.
pub fn next_tag(comm: &Comm) -> c_int {
    sequence_tag(comm, 0)
}

/// The next tag of sequence `which` (0 nonblocking, 1 blocking) on
/// `comm`. Blocking and nonblocking collectives count apart, so a
/// blocking collective never matches a nonblocking one that members
/// started in a different place among their blocking calls (a program
/// that interleaves them so, like mpi4py's `Iagree` fallback, works as
/// it does on MPICH, whose blocking collectives use their own tags).
fn sequence_tag(comm: &Comm, which: usize) -> c_int {
    let seq = comm.coll_seq[which].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    TAG_BASE + (which as u32 * TAG_SPAN + seq % TAG_SPAN) as c_int
}

/// The tag of a collective among a subgroup that the user tags
/// (`MPI_Comm_create_group`): negative, apart from the sequence's tags.
pub fn group_tag(user_tag: c_int) -> c_int {
    -16 - user_tag
}

/// Build and run a blocking collective on `comm`.
pub fn run(comm: &Comm, build: impl FnOnce(&mut Sched)) -> MpiResult<()> {
    let mut s = Sched::blocking(comm);
    build(&mut s);
    s.run()
}

/// The error of a completed send or receive. A receive must get exactly
/// the bytes it expects: in a collective every process's counts and
/// datatypes must match, and a shorter message means they do not.
fn outcome(r: &Request, expect: Option<usize>) -> Option<MpiError> {
    r.error().or_else(|| {
        let got = r.status().bytes;
        expect.filter(|&e| e != got).map(|e| mismatch(e, got))
    })
}

/// A length a receiver expecting `len` bytes cannot take for it: none, or
/// one byte where none is expected (how a failed member says so).
pub fn spoiled_len(len: usize) -> usize {
    usize::from(len == 0)
}

/// A collective's receive of `got` bytes where `expected` were due.
pub fn mismatch(expected: usize, got: usize) -> MpiError {
    MpiError::new(
        MPI_ERR_TRUNCATE,
        format!(
            "a collective expected {expected} bytes from a process that sent {got}: \
             the processes' counts or datatypes do not match"
        ),
    )
}

fn copy(from: usize, to: usize, len: usize) {
    if len > 0 && from != to {
        // SAFETY: the builder checked both buffers hold `len` bytes.
        unsafe { std::ptr::copy(from as *const u8, to as *mut u8, len) };
    }
}

fn finish(req: &Request, outcome: MpiResult<()>) {
    let status = match outcome {
        Ok(()) => Status::empty(),
        Err(e) => Status {
            error: e.code,
            ..Status::empty()
        },
    };
    engine().complete(req, status);
}

/// Schedules started and not yet ended, with the requests they complete.
static ACTIVE: Mutex<Vec<(Sched, Arc<Request>)>> = Mutex::new(Vec::new());
/// How many schedules `ACTIVE` holds: the progress loop reads this instead
/// of taking the lock when there are none (the common case).
static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Advance every started schedule (one pass; from the progress engine).
/// A thread that finds another already doing it leaves it to that one.
/// Returns whether anything moved.
pub fn progress() -> bool {
    if STARTED.load(std::sync::atomic::Ordering::Acquire) == 0 {
        return false;
    }
    let Some(mut active) = ACTIVE.try_lock() else {
        return false;
    };
    let mut moved = false;
    let mut i = 0;
    while i < active.len() {
        let (s, _) = &mut active[i];
        let before = (s.steps.len(), s.pending.len());
        if s.advance() {
            let (mut s, req) = active.swap_remove(i);
            STARTED.fetch_sub(1, std::sync::atomic::Ordering::Release);
            finish(&req, s.outcome());
            moved = true;
        } else {
            moved |= (s.steps.len(), s.pending.len()) != before;
            i += 1;
        }
    }
    moved
}

/// Runs the schedules of `n` simulated ranks in one thread, so the
/// collective algorithms can be checked by `cargo test` without processes
/// or a transport: sends are delivered at once into per-pair queues
/// (first in, first out, as between two ranks of the engine), receives
/// take the oldest message of their pair and sub-tag in the order they
/// were posted, and a fence waits until this rank's receives are matched.
/// A round in which no rank can move is a deadlock and panics.
#[cfg(test)]
pub(crate) mod sim {
    use super::*;
    use std::collections::HashMap;

    /// A schedule among ranks `0..n` (world ranks equal to their rank).
    pub fn sched(n: usize, rank: usize) -> Sched {
        let group = Arc::new(Group::strided(0, 1, n));
        Sched::among(1, group, rank as c_int, 7)
    }

    /// Source, destination, sub-tag and whether within the local group.
    type Pair = (c_int, c_int, c_int, bool);

    struct Rank {
        s: Sched,
        /// Posted receives not yet matched: pair, address, expected bytes.
        recvs: Vec<(Pair, usize, usize)>,
        done: bool,
    }

    /// Run every rank's schedule to its end; each rank's outcome.
    pub fn run(scheds: Vec<Sched>) -> Vec<MpiResult<()>> {
        let mut ranks: Vec<Rank> = scheds
            .into_iter()
            .map(|s| Rank {
                s,
                recvs: Vec::new(),
                done: false,
            })
            .collect();
        let mut mail: HashMap<Pair, VecDeque<Vec<u8>>> = HashMap::new();
        loop {
            let mut moved = false;
            for r in ranks.iter_mut().filter(|r| !r.done) {
                moved |= step(r, &mut mail);
            }
            if ranks.iter().all(|r| r.done) {
                break;
            }
            assert!(moved, "the simulated schedules deadlock");
        }
        assert!(
            mail.values().all(VecDeque::is_empty),
            "messages left unreceived"
        );
        ranks.into_iter().map(|mut r| r.s.outcome()).collect()
    }

    /// Match this rank's receives, then run its steps until a fence must
    /// wait; whether anything happened.
    fn step(r: &mut Rank, mail: &mut HashMap<Pair, VecDeque<Vec<u8>>>) -> bool {
        let mut moved = false;
        loop {
            let mut i = 0;
            while i < r.recvs.len() {
                let (pair, at, len) = r.recvs[i];
                match mail.get_mut(&pair).and_then(VecDeque::pop_front) {
                    Some(data) => {
                        copy(data.as_ptr() as usize, at, data.len().min(len));
                        if data.len() != len {
                            r.s.fail(mismatch(len, data.len()));
                        }
                        r.recvs.remove(i);
                        moved = true;
                    }
                    None => i += 1,
                }
            }
            match r.s.steps.pop_front() {
                None if r.recvs.is_empty() => {
                    r.done = true;
                    return true;
                }
                None => return moved,
                Some(Step::Fence) if !r.recvs.is_empty() => {
                    r.s.steps.push_front(Step::Fence);
                    return moved;
                }
                Some(Step::Fence) => {}
                Some(Step::Send {
                    to,
                    at,
                    len,
                    local,
                    sub,
                }) => {
                    let (at, len) = r.s.spoiled(at, len);
                    let mut data = vec![0u8; len];
                    copy(at, data.as_mut_ptr() as usize, len);
                    let pair = (r.s.rank, to, sub, local);
                    mail.entry(pair).or_default().push_back(data);
                }
                Some(Step::Recv {
                    from,
                    at,
                    len,
                    local,
                    sub,
                }) => r.recvs.push(((from, r.s.rank, sub, local), at, len)),
                Some(local @ Step::Local(..)) => r.s.exec(local),
            }
            moved = true;
        }
    }
}
