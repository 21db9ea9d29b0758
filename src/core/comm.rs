//! Communicators: the predefined `MPI_COMM_WORLD` and `MPI_COMM_SELF`, and
//! the ones users derive from them (`dup`, `split`).
//!
//! A communicator is a context id plus its group of members. Context
//! ids come in pairs (point-to-point `ctx`, collectives `ctx + 1`): 0 for
//! the world, 2 for self, then agreed collectively for each new
//! communicator as the lowest pair free on every member (an AND of their
//! free maps), and given back when the communicator is freed.

use super::algorithms::{self, Algorithms};
use super::attr::Attrs;
use super::coll;
use super::errhandler::{self, Slot};
use super::error::{MpiError, MpiResult};
use super::group::Group;
use super::procs;
use super::runtime;
use super::sched::{self, Sched};
use super::shmcoll;
use super::topo::Topo;
use crate::core::consts::*;
use crate::handles::{Kind, Table};
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, OnceLock};

pub struct Comm {
    pub handle: c_int,
    pub rank: c_int,
    pub size: c_int,
    /// Context id of point-to-point traffic; collectives use `ctx + 1`, so
    /// they never match user messages.
    pub ctx: u32,
    /// The members, by world rank (the local group of an intercommunicator).
    pub group: Arc<Group>,
    /// Intercommunicators: the remote group, which point-to-point ranks
    /// name, and an intracommunicator of the local group for the library's
    /// own collective steps.
    pub remote: Option<Arc<Group>>,
    pub local: Option<Arc<Comm>>,
    pub name: Mutex<String>,
    pub errhandler: Slot,
    /// Attributes cached by users (`MPI_Comm_set_attr`).
    pub attrs: Attrs,
    /// Partitioned operations initialized so far, per (peer, tag, is-send):
    /// they match in that order (see `pt2pt::partitioned_ctx`).
    pub part_seq: Mutex<std::collections::HashMap<(c_int, c_int, bool), u32>>,
    /// The process topology, set once right after creation.
    pub topo: OnceLock<Topo>,
    /// Info hints (`MPI_Comm_set_info`): the standard's assertions, kept
    /// and returned though none changes behaviour yet; `MPI_Comm_dup`
    /// carries them over.
    pub hints: Mutex<Vec<(String, String)>>,
    /// Collectives started on this communicator so far, nonblocking (and
    /// persistent) ones first, blocking ones second: each takes the next
    /// number of its sequence as its tag (see `core::sched`).
    pub coll_seq: [AtomicU32; 2],
    /// The collective algorithms its members agreed on at creation.
    pub algorithms: Algorithms,
    /// The buffer attached for its buffered sends (`MPI_Comm_attach_buffer`).
    pub bsend: super::bsend::Buffer,
    /// The session it was made from (through its group), whose buffer its
    /// buffered sends use when it has none of its own.
    pub session: Option<c_int>,
    /// Where its members run, when its collectives go node-local first
    /// (`coll_hier`); worked out at the first collective.
    pub hosts: OnceLock<Option<Arc<super::coll_hier::Hosts>>>,
}

impl Comm {
    /// Where the members run, when collectives go node-local first on it
    /// (an intracommunicator spanning hosts; see `coll_hier`).
    pub fn hosts(&self) -> Option<&Arc<super::coll_hier::Hosts>> {
        self.hosts
            .get_or_init(|| {
                (!self.is_inter() && self.algorithms.hosts_first())
                    .then(|| super::coll_hier::Hosts::of(self))
                    .flatten()
            })
            .as_ref()
    }

    /// The world rank of member `rank` (which the caller has checked).
    pub fn world_rank(&self, rank: c_int) -> usize {
        self.group.world(rank as usize)
    }

    /// World rank of the process a point-to-point `rank` names: in the
    /// remote group of an intercommunicator.
    pub fn peer_world(&self, rank: c_int) -> usize {
        self.remote
            .as_ref()
            .unwrap_or(&self.group)
            .world(rank as usize)
    }

    /// How many processes point-to-point ranks can name.
    pub fn peer_size(&self) -> c_int {
        self.remote
            .as_ref()
            .map_or(self.size, |g| g.size() as c_int)
    }

    pub fn is_inter(&self) -> bool {
        self.remote.is_some()
    }

    /// Context id of this communicator's collective traffic.
    pub fn coll_ctx(&self) -> u32 {
        self.ctx + 1
    }
}

impl Drop for Comm {
    fn drop(&mut self) {
        errhandler::release(self.errhandler.get());
        // A context whose node-local collectives members may still be
        // reading is given back later (see `shmcoll::settled`).
        if self.ctx >= 4 && !shmcoll::retire(self.ctx) {
            release_ctx(self.ctx);
        }
    }
}

static WORLD: OnceLock<Arc<Comm>> = OnceLock::new();
static SELF: OnceLock<Arc<Comm>> = OnceLock::new();
static USER: Table<Comm> = Table::new(Kind::Comm);

fn predefined(handle: c_int) -> Option<Arc<Comm>> {
    let cell = match handle {
        MPI_COMM_WORLD => &WORLD,
        MPI_COMM_SELF => &SELF,
        _ => return None,
    };
    // Every message names its communicator: the description is built
    // inside the initializer, so only the first lookup pays for it.
    Some(cell.get_or_init(|| describe_predefined(handle)).clone())
}

/// `MPI_COMM_WORLD` or `MPI_COMM_SELF`, as the world model makes it.
fn describe_predefined(handle: c_int) -> Arc<Comm> {
    let job = runtime::job();
    let world = handle == MPI_COMM_WORLD;
    let (rank, size, ctx, group, name, algorithms) = if world {
        (
            job.rank,
            job.size,
            0,
            Group::strided(0, 1, job.size as usize),
            "MPI_COMM_WORLD",
            algorithms::world(),
        )
    } else {
        (
            0,
            1,
            2,
            Group::strided(job.rank as usize, 1, 1),
            "MPI_COMM_SELF",
            Algorithms::alone(),
        )
    };
    Arc::new(Comm {
        handle,
        rank,
        size,
        ctx,
        group: Arc::new(group),
        remote: None,
        local: None,
        name: Mutex::new(name.to_string()),
        errhandler: Slot::new(MPI_ERRORS_ARE_FATAL),
        attrs: Attrs::default(),
        part_seq: Mutex::default(),
        topo: OnceLock::new(),
        hints: Mutex::default(),
        coll_seq: Default::default(),
        algorithms,
        bsend: Default::default(),
        session: None,
        hosts: OnceLock::new(),
    })
}

/// The communicator behind a handle, if it is valid.
/// Where processes `procs` (indices) are point-to-point peers: the
/// (context id, rank) pairs by which messages from them match, for every
/// communicator's point-to-point and collective traffic. The engine fails
/// receives these name once the processes have ended.
pub fn peers_named(procs: &[usize]) -> Vec<(u32, c_int)> {
    let mut at = Vec::new();
    USER.each(|c| {
        let peers = c.remote.as_ref().unwrap_or(&c.group);
        for i in 0..peers.size() {
            if procs.contains(&peers.world(i)) {
                at.push((c.ctx, i as c_int));
                at.push((c.coll_ctx(), i as c_int));
            }
        }
    });
    at
}

pub fn lookup(handle: c_int) -> Option<Arc<Comm>> {
    // The predefined communicators belong to the world model; sessions
    // make their own.
    if runtime::phase() == runtime::Phase::Initialized
        && let Some(c) = predefined(handle)
    {
        return Some(c);
    }
    if !runtime::active() {
        return None;
    }
    USER.get(handle)
}

pub fn get(handle: c_int) -> MpiResult<Arc<Comm>> {
    lookup(handle).ok_or_else(|| {
        if handle == MPI_COMM_NULL {
            MpiError::new(
                MPI_ERR_COMM,
                "MPI_COMM_NULL is not a valid communicator here",
            )
        } else {
            MpiError::new(MPI_ERR_COMM, format!("invalid communicator 0x{handle:x}"))
        }
    })
}

/// Context id pairs a process can tell apart; pairs 0 and 1 are the world's
/// and self's, pair 2 carries the agreements of communicators made from
/// groups alone.
const CTX_PAIRS: usize = 1 << 14;
const CTX_WORDS: usize = CTX_PAIRS / 32;
/// An agreement's offer: the free map, the leader's random word, the
/// algorithms offered.
const OFFER_WORDS: usize = CTX_WORDS + 2;

/// Which context id pairs this process has free (bit set = free).
static CTX_FREE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn with_ctx_map<T>(f: impl FnOnce(&mut Vec<u32>) -> T) -> T {
    let settled = shmcoll::settled();
    let mut map = CTX_FREE.lock();
    if map.is_empty() {
        *map = vec![u32::MAX; CTX_WORDS];
        // Pairs 0 and 1: the world and self; 2: the traffic of
        // communicators made from groups (`FROM_GROUP_CTX`).
        map[0] &= !0b111;
    }
    for ctx in settled {
        let pair = (ctx / 2) as usize;
        map[pair / 32] |= 1 << (pair % 32);
    }
    f(&mut map)
}

fn release_ctx(ctx: u32) {
    // What the engine remembers of ended peers under this context must
    // not outlive it: a new communicator may take the id.
    super::p2p::forget_ctx(ctx);
    let pair = (ctx / 2) as usize;
    with_ctx_map(|m| m[pair / 32] |= 1 << (pair % 32));
}

fn ctx_exhausted() -> MpiError {
    MpiError::new(
        MPI_ERR_OTHER,
        format!("too many communicators: all {CTX_PAIRS} context ids are in use (free some)"),
    )
}

/// A context id pair for a communicator of this process alone: no one to
/// agree with, so no waiting for the map (a thread holding it may be waiting
/// on other processes). Taken from the top of the map, while agreements take
/// the lowest common pair, so the two meet only when ids run out.
fn local_ctx() -> MpiResult<u32> {
    with_ctx_map(|m| {
        let word = m.iter().rposition(|&w| w != 0)?;
        let bit = 31 - m[word].leading_zeros() as usize;
        m[word] &= !(1 << bit);
        Some(2 * (word * 32 + bit) as u32)
    })
    .ok_or_else(ctx_exhausted)
}

/// What the members of a new communicator agreed on: its context id pair
/// and its collective algorithms.
#[derive(Clone, Copy, Debug)]
struct Agreed {
    ctx: u32,
    algorithms: Algorithms,
}

impl Agreed {
    /// The communicator was not made after all: its context ids go back.
    fn release(self) {
        release_ctx(self.ctx);
    }
}

/// A context id pair for a communicator of this process alone.
fn alone() -> MpiResult<Agreed> {
    Ok(Agreed {
        ctx: local_ctx()?,
        algorithms: Algorithms::alone(),
    })
}

/// Agree with the other members of `parent` on a context id pair free on
/// all of them (see `Agreement`), and on the collective algorithms.
fn agree_ctx(parent: &Comm) -> MpiResult<Agreed> {
    if parent.size == 1 {
        return alone();
    }
    agree_ctx_by(parent.rank == 0, |mine| and_maps(parent, mine))
}

/// The AND of every member's `mine`.
fn and_maps(comm: &Comm, mine: &[u32]) -> MpiResult<Vec<u32>> {
    let mut common = vec![0u32; mine.len()];
    coll::allreduce_blocking(
        comm,
        mine.as_ptr() as usize,
        common.as_mut_ptr() as usize,
        band(mine.len()),
    )?;
    Ok(common)
}

/// One process's side of a context-id agreement. Each round, every member
/// offers its whole free map; the AND of the offers names the pairs free
/// everywhere, and everyone proposes the same one of them: the lowest in
/// the first round, a pseudo-random one of the lowest 64 after that (the
/// leader's random word, carried through the AND, picks it). Each member
/// reserves the proposed pair if it is still free here (another agreement
/// of this process may have taken it meanwhile) and votes; if every vote
/// is yes the pair is agreed, otherwise the reservations are released and
/// the next round begins. No agreement ever waits for another, so any
/// number can run at once in one process, from several threads or as
/// nonblocking `MPI_Comm_idup`s, in whatever order each process starts
/// them; two that propose the same pair at once retry on different ones.
#[derive(Default)]
struct Agreement {
    round: u32,
    /// The pair this process reserved for the current proposal.
    held: Option<usize>,
    /// The algorithms the offers of the last round agreed on.
    algorithms: Option<Algorithms>,
}

impl Agreement {
    /// This round's offer: the free map, a word that is random at the
    /// leader and all ones elsewhere, and this process's offer of
    /// collective algorithms (`core::algorithms`).
    fn offer(&self, leader: bool) -> Vec<u32> {
        let mut mine = with_ctx_map(|m| m.clone());
        mine.push(if leader { random_word() } else { u32::MAX });
        mine.push(Algorithms::offer());
        mine
    }

    /// From the AND of the offers: reserve the proposed pair if it is
    /// still free here; the vote (1: reserved).
    fn propose(&mut self, common: &[u32]) -> MpiResult<u32> {
        self.algorithms = Some(Algorithms::agreed(common[CTX_WORDS + 1]));
        let free: Vec<usize> = common[..CTX_WORDS]
            .iter()
            .enumerate()
            .flat_map(|(i, &w)| {
                (0..32)
                    .filter(move |b| w & (1 << b) != 0)
                    .map(move |b| i * 32 + b)
            })
            .take(64)
            .collect();
        if free.is_empty() {
            return Err(ctx_exhausted());
        }
        let pick = if self.round == 0 {
            free[0]
        } else {
            free[common[CTX_WORDS] as usize % free.len()]
        };
        self.round += 1;
        let taken = with_ctx_map(|m| {
            let bit = 1 << (pick % 32);
            let free = m[pick / 32] & bit != 0;
            m[pick / 32] &= !bit;
            free
        });
        self.held = taken.then_some(pick);
        Ok(u32::from(taken))
    }

    /// From the AND of the votes: the agreed context id, or `None` to go
    /// round again.
    fn conclude(&mut self, all_yes: bool) -> Option<Agreed> {
        if all_yes {
            let pair = self.held.take().expect("a yes vote holds its pair");
            return Some(Agreed {
                ctx: 2 * pair as u32,
                algorithms: self.algorithms.expect("proposed before concluding"),
            });
        }
        self.release();
        None
    }

    fn release(&mut self) {
        if let Some(pair) = self.held.take() {
            release_ctx(2 * pair as u32);
        }
    }
}

impl Drop for Agreement {
    fn drop(&mut self) {
        self.release();
    }
}

/// A word that differs from call to call and process to process.
fn random_word() -> u32 {
    let mut b = [0u8; 4];
    crate::transport::random_bytes(&mut b);
    u32::from_ne_bytes(b)
}

/// The agreement loop of `agree_ctx`, with `and` computing the AND of every
/// participant's values (one communicator, or both groups of an
/// intercommunicator); `leader` is true at exactly one participant.
fn agree_ctx_by(
    leader: bool,
    mut and: impl FnMut(&[u32]) -> MpiResult<Vec<u32>>,
) -> MpiResult<Agreed> {
    let mut a = Agreement::default();
    loop {
        let common = and(&a.offer(leader))?;
        let vote = a.propose(&common)?;
        let votes = and(&[vote])?;
        if let Some(ctx) = a.conclude(votes[0] == 1) {
            return Ok(ctx);
        }
    }
}

/// A blocking agreement among the `n` members of a group with no
/// communicator of their own; `sched` makes a schedule among them.
fn agree_among(rank: c_int, n: c_int, sched: impl Fn() -> Sched) -> MpiResult<Agreed> {
    agree_ctx_by(rank == 0, |mine| {
        let mut common = vec![0u32; mine.len()];
        let mut s = sched();
        let (a, c) = (mine.as_ptr() as usize, common.as_mut_ptr() as usize);
        coll::allreduce(&mut s, n, a, c, band(mine.len()));
        s.run()?;
        Ok(common)
    })
}

/// How a nonblocking agreement ANDs `words` words at `mine` into `common`
/// over its participants; `n` is the size of this process's group.
type AndSteps = fn(&mut Sched, c_int, usize, usize, usize);

fn band(words: usize) -> coll::Red {
    coll::Red {
        count: words,
        dt: MPI_UNSIGNED,
        size: 4,
        op: MPI_BAND,
    }
}

/// Over the members of an intracommunicator.
fn and_steps(s: &mut Sched, n: c_int, mine: usize, common: usize, words: usize) {
    coll::allreduce(s, n, mine, common, band(words));
}

/// Over the local group of an intercommunicator.
fn and_steps_local(s: &mut Sched, n: c_int, mine: usize, common: usize, words: usize) {
    s.within_local(true);
    and_steps(s, n, mine, common, words);
    s.within_local(false);
}

/// Over both groups of an intercommunicator: each group ANDs, the leaders
/// swap and combine, and each group hears the result from its leader.
fn and_steps_across(s: &mut Sched, n: c_int, mine: usize, common: usize, words: usize) {
    and_steps_local(s, n, mine, common, words);
    if s.rank() == 0 {
        let theirs = s.temp(4 * words);
        s.send(0, common, 4 * words);
        s.recv(0, theirs, 4 * words);
        s.fence();
        s.local(move |_| {
            // SAFETY: both are this schedule's scratch of `words` words.
            let (c, t) = unsafe {
                (
                    std::slice::from_raw_parts_mut(common as *mut u32, words),
                    std::slice::from_raw_parts(theirs as *const u32, words),
                )
            };
            c.iter_mut().zip(t).for_each(|(a, b)| *a &= b);
            Ok(())
        });
    }
    s.within_local(true);
    coll::bcast(s, n, common, 4 * words, 0);
    s.within_local(false);
}

/// Something a nonblocking agreement does with the pair agreed on.
type Then = Arc<dyn Fn(Agreed) -> MpiResult<()> + Send + Sync>;

/// The nonblocking agreement loop: offer, AND, propose, AND the votes,
/// conclude (going round again if need be); `done` gets the pair agreed
/// on. `and` says over whom.
fn agree_round(s: &mut Sched, n: c_int, and: AndSteps, a: Arc<Mutex<Agreement>>, done: Then) {
    let words = OFFER_WORDS;
    let mine = s.temp(4 * words);
    let common = s.temp(4 * words);
    let (vote, votes) = (s.temp(4), s.temp(4));
    let (a1, a2) = (a.clone(), a.clone());
    let leader = s.rank() == 0;
    s.local(move |_| {
        let offer = a1.lock().offer(leader);
        // SAFETY: `mine` is this schedule's scratch of `words` words.
        unsafe { std::ptr::copy_nonoverlapping(offer.as_ptr(), mine as *mut u32, words) };
        Ok(())
    });
    and(s, n, mine, common, words);
    s.fence();
    s.local(move |_| {
        // SAFETY: scratch of this schedule, filled by the AND.
        let agreed = unsafe { std::slice::from_raw_parts(common as *const u32, words) };
        let v = a2.lock().propose(agreed)?;
        // SAFETY: as above.
        unsafe { *(vote as *mut u32) = v };
        Ok(())
    });
    and(s, n, vote, votes, 1);
    s.fence();
    s.local(move |s| {
        // SAFETY: as above.
        let all_yes = unsafe { *(votes as *const u32) } == 1;
        if s.failed() {
            // No pair left, or a message went wrong: the error stands.
            return Ok(());
        }
        let ctx = a.lock().conclude(all_yes);
        match ctx {
            Some(ctx) => done(ctx),
            None => {
                agree_round(s, n, and, a, done);
                Ok(())
            }
        }
    });
}

/// Start a nonblocking agreement on `s` (see `agree_round`).
fn agree_nonblocking(s: &mut Sched, n: c_int, and: AndSteps, done: Then) {
    agree_round(s, n, and, Arc::default(), done);
}

fn install(parent: &Comm, ctx: Agreed, rank: c_int, group: Arc<Group>, attrs: Attrs) -> c_int {
    USER.insert_with(|handle| {
        let mut c = make(handle, parent, ctx, rank, group);
        c.attrs = attrs;
        c
    })
}

/// A communicator object (not yet registered) inheriting `parent`'s error
/// handler.
fn make(handle: c_int, parent: &Comm, ctx: Agreed, rank: c_int, group: Arc<Group>) -> Comm {
    let mut c = make_with(handle, parent.errhandler.get(), ctx, rank, group);
    c.session = parent.session;
    c
}

/// A communicator object (not yet registered) with error handler `eh`.
fn make_with(handle: c_int, eh: c_int, ctx: Agreed, rank: c_int, group: Arc<Group>) -> Comm {
    errhandler::retain(eh);
    Comm {
        handle,
        rank,
        size: group.size() as c_int,
        ctx: ctx.ctx,
        group,
        remote: None,
        local: None,
        name: Mutex::new(String::new()),
        errhandler: Slot::new(eh),
        attrs: Attrs::default(),
        part_seq: Mutex::default(),
        topo: OnceLock::new(),
        hints: Mutex::default(),
        coll_seq: Default::default(),
        algorithms: ctx.algorithms,
        bsend: Default::default(),
        session: None,
        hosts: OnceLock::new(),
    }
}

/// `MPI_Comm_dup`: same members, new context; the error handler is
/// inherited.
pub fn dup(parent: &Comm) -> MpiResult<c_int> {
    if parent.is_inter() {
        return dup_inter(parent);
    }
    let ctx = agree_ctx(parent)?;
    let attrs = parent
        .attrs
        .copy_for_dup(parent.handle)
        .inspect_err(|_| ctx.release())?;
    let h = install(parent, ctx, parent.rank, parent.group.clone(), attrs);
    inherit_extras(parent, h);
    Ok(h)
}

/// `MPI_Comm_idup`: `dup` with the context id agreed by a schedule the
/// progress engine drives; `done` gets the new handle once it exists
/// (before `req` completes). Copy callbacks run now, in the caller.
pub fn idup(
    parent: &Arc<Comm>,
    done: impl Fn(c_int) + Send + Sync + 'static,
    req: Arc<super::request::Request>,
) -> MpiResult<()> {
    if parent.is_inter() {
        return idup_inter(parent, done, req);
    }
    if parent.size == 1 {
        // Nothing to wait for on one process.
        done(dup(parent)?);
        super::p2p::engine().complete(&req, super::request::Status::empty());
        return Ok(());
    }
    let attrs = Mutex::new(Some(parent.attrs.copy_for_dup(parent.handle)?));
    let mut s = Sched::new(parent);
    let p = parent.clone();
    let install_new = Arc::new(move |ctx: Agreed| {
        let attrs = attrs.lock().take().unwrap_or_default();
        let h = install(&p, ctx, p.rank, p.group.clone(), attrs);
        inherit_extras(&p, h);
        done(h);
        Ok(())
    });
    agree_nonblocking(&mut s, parent.size, and_steps, install_new);
    s.start(parent.clone(), req);
    Ok(())
}

/// `MPI_Comm_idup` of an intercommunicator: two agreements in one
/// schedule, one over the local group for the new private copy, then one
/// over both groups for the intercommunicator itself.
fn idup_inter(
    ic: &Arc<Comm>,
    done: impl Fn(c_int) + Send + Sync + 'static,
    req: Arc<super::request::Request>,
) -> MpiResult<()> {
    let (remote, local) = (
        ic.remote.clone().expect("inter"),
        ic.local.clone().expect("inter"),
    );
    let attrs = Mutex::new(Some(ic.attrs.copy_for_dup(ic.handle)?));
    let mut s = Sched::new(ic);
    let private_ctx = Arc::new(Mutex::new(None));
    let keep = private_ctx.clone();
    agree_nonblocking(
        &mut s,
        ic.size,
        and_steps_local,
        Arc::new(move |ctx| {
            *keep.lock() = Some(ctx);
            Ok(())
        }),
    );
    let from = ic.clone();
    let install_new = Arc::new(move |ctx: Agreed| {
        let pctx = private_ctx
            .lock()
            .take()
            .expect("the local agreement came first");
        let private = Arc::new(make(
            MPI_COMM_NULL,
            &local,
            pctx,
            local.rank,
            local.group.clone(),
        ));
        let attrs = attrs.lock().take().unwrap_or_default();
        let h = install_inter_with(&local, ctx, remote.clone(), private, attrs);
        done(inherit_errhandler(&from, h));
        Ok(())
    });
    agree_nonblocking(&mut s, ic.size, and_steps_across, install_new);
    s.start(ic.clone(), req);
    Ok(())
}

/// What a duplicate inherits besides members and attributes: the topology
/// and the info hints.
fn inherit_extras(parent: &Comm, h: c_int) {
    if let Some(c) = USER.get(h) {
        if let Some(t) = parent.topo.get() {
            c.topo
                .set(t.clone())
                .expect("a new communicator has no topology yet");
        }
        *c.hints.lock() = parent.hints.lock().clone();
    }
}

/// `MPI_Comm_create_group`: collective over the members of `group` only
/// (a subset of `parent`), who agree on a context id among themselves with
/// messages tagged by `tag`, so that creations over overlapping groups
/// can run concurrently. A process outside the group gets `MPI_COMM_NULL`.
pub fn create_group(parent: &Comm, group: Arc<Group>, tag: c_int) -> MpiResult<c_int> {
    intra_only(parent, "MPI_Comm_create_group on")?;
    if let Some(w) = group.iter().find(|&w| parent.group.rank_of(w).is_none()) {
        return Err(MpiError::new(
            MPI_ERR_GROUP,
            format!("the group names world rank {w}, which is not in the communicator"),
        ));
    }
    let Some(rank) = group.rank_of(parent.world_rank(parent.rank)) else {
        return Ok(MPI_COMM_NULL);
    };
    let n = group.size() as c_int;
    let ctx = if n == 1 {
        alone()?
    } else {
        let itag = sched::group_tag(tag);
        agree_among(rank as c_int, n, || {
            Sched::within(parent, group.clone(), rank as c_int, itag)
        })?
    };
    Ok(install(parent, ctx, rank as c_int, group, Attrs::default()))
}

/// Refuse an operation not built for intercommunicators yet.
/// Whether some process (by index) of a live communicator, in either
/// group, satisfies `f`.
pub fn any_member(f: impl Fn(usize) -> bool) -> bool {
    USER.any(|c| c.group.iter().any(&f) || c.remote.as_ref().is_some_and(|r| r.iter().any(&f)))
}

pub fn intra_only(comm: &Comm, what: &str) -> MpiResult<()> {
    if comm.is_inter() {
        return Err(MpiError::new(
            MPI_ERR_UNSUPPORTED_OPERATION,
            format!("{what} intercommunicators is not supported yet"),
        ));
    }
    Ok(())
}

/// Every member's `mine` (of any length), concatenated in rank order.
pub fn allgather_ints(comm: &Comm, mine: &[c_int]) -> MpiResult<Vec<c_int>> {
    const INT: usize = std::mem::size_of::<c_int>();
    let n = comm.size as usize;
    let gather = |src: &[c_int], lens: &[usize]| -> MpiResult<Vec<c_int>> {
        let mut at = 0;
        let blocks: Vec<coll::Block> = lens
            .iter()
            .map(|&l| {
                at += l * INT;
                (at - l * INT, l * INT)
            })
            .collect();
        let mut all = vec![0 as c_int; at / INT];
        let send = Some((src.as_ptr() as usize, src.len() * INT));
        coll::allgatherv_blocking(comm, send, all.as_mut_ptr() as usize, &blocks)?;
        Ok(all)
    };
    let lens = gather(&[mine.len() as c_int], &vec![1; n])?;
    gather(mine, &lens.iter().map(|&l| l as usize).collect::<Vec<_>>())
}

/// `MPI_Comm_split`: members with the same color form a communicator,
/// ranked by key and then by rank in `parent`. `MPI_UNDEFINED` gets
/// `MPI_COMM_NULL`.
pub fn split(parent: &Comm, color: c_int, key: c_int) -> MpiResult<c_int> {
    if parent.is_inter() {
        return split_inter(parent, color, key);
    }
    if color < 0 && color != MPI_UNDEFINED {
        return Err(MpiError::arg(format!("invalid color {color}")));
    }
    let n = parent.size as usize;
    let all = allgather_ints(parent, &[color, key])?;
    let ctx = agree_ctx(parent)?;
    if color == MPI_UNDEFINED {
        ctx.release();
        return Ok(MPI_COMM_NULL);
    }
    let mut group: Vec<(c_int, usize)> = (0..n)
        .filter(|&i| all[2 * i] == color)
        .map(|i| (all[2 * i + 1], i))
        .collect();
    group.sort();
    let rank = group
        .iter()
        .position(|&(_, i)| i as c_int == parent.rank)
        .expect("a member is in its own color") as c_int;
    let members = group
        .iter()
        .map(|&(_, i)| parent.world_rank(i as c_int))
        .collect();
    Ok(install(
        parent,
        ctx,
        rank,
        Arc::new(Group::from_list(members)),
        Attrs::default(),
    ))
}

/// Attach a topology to a communicator just created (no-op for
/// `MPI_COMM_NULL`).
pub fn set_topo(handle: c_int, topo: Topo) {
    if let Some(c) = USER.get(handle) {
        c.topo
            .set(topo)
            .expect("a new communicator has no topology yet");
    }
}

/// `MPI_Comm_split_type`. `MPI_COMM_TYPE_SHARED` and the
/// `mpi_shared_memory` resource keep together the members on one host
/// (by host name, as the transports decide who shares the node segment).
/// The hardware-guided kinds with a hardware resource type (hwloc's names:
/// `Package`, `NUMANode`, `L3Cache`, `Core`, `PU`, ..., see
/// `crate::topology`) keep together the members bound within the same
/// object of that type; a member not bound within one (not bound at all,
/// say) gets `MPI_COMM_NULL`, as does an unknown type, and
/// `MPI_COMM_TYPE_HW_UNGUIDED`, as the standard allows.
pub fn split_type(
    parent: &Comm,
    split_type: c_int,
    key: c_int,
    resource: Option<&str>,
) -> MpiResult<c_int> {
    use crate::topology::{Kind, bound_within};
    // Where this member is, as a name equal exactly for the members to
    // keep together (`None`: in no such place).
    let host = super::runtime::processor_name;
    let place: Option<(String, usize)> = match split_type {
        MPI_UNDEFINED | MPI_COMM_TYPE_HW_UNGUIDED => None,
        MPI_COMM_TYPE_SHARED => Some((host(), 0)),
        MPI_COMM_TYPE_HW_GUIDED | MPI_COMM_TYPE_RESOURCE_GUIDED => match resource {
            Some("mpi_shared_memory") => Some((host(), 0)),
            Some(r) => Kind::parse(r)
                .and_then(bound_within)
                .map(|cpu| (host(), cpu)),
            None => None,
        },
        other => {
            return Err(MpiError::arg(format!("invalid split type {other}")));
        }
    };
    // Every member takes part in the exchange, whatever it asked for; on
    // one host (the same answer everywhere) the object's first CPU is
    // name enough.
    let color = if coll::spans_hosts(parent) {
        let mine = place.map_or(String::new(), |(h, cpu)| format!("{h}/{cpu}"));
        colors_of(parent, &mine)?[parent.rank as usize]
    } else {
        place.map_or(MPI_UNDEFINED, |(_, cpu)| cpu as c_int)
    };
    split(parent, color, key)
}

/// Per member of intracommunicator `c`, the rank of the first member on
/// the same host: from the job's host table when every member is of this
/// job (the same answer on every member, no message), else by exchanging
/// host names. Collective over `c`.
pub fn host_colors(c: &Comm) -> MpiResult<Vec<c_int>> {
    let table: Option<Vec<u32>> = c.group.iter().map(crate::transport::host_of).collect();
    match table {
        Some(hosts) => {
            let mut first = std::collections::HashMap::new();
            Ok(hosts
                .iter()
                .enumerate()
                .map(|(r, h)| *first.entry(h).or_insert(r as c_int))
                .collect())
        }
        None => colors_of(c, &super::runtime::processor_name()),
    }
}

/// Per member of intracommunicator `c`, the rank of the first member
/// whose `name` is the same (`MPI_UNDEFINED` for an empty one).
/// Collective over `c`.
fn colors_of(c: &Comm, name: &str) -> MpiResult<Vec<c_int>> {
    let names = coll::allgather_text(c, name, 320)?;
    let mut first = std::collections::HashMap::new();
    Ok(names
        .iter()
        .enumerate()
        .map(|(r, name)| {
            if name.is_empty() {
                MPI_UNDEFINED
            } else {
                *first.entry(name).or_insert(r as c_int)
            }
        })
        .collect())
}

/// `MPI_Comm_free` of a user communicator: its attributes are deleted
/// (callbacks run) before it goes.
pub fn free(handle: c_int) -> MpiResult<()> {
    if handle == MPI_COMM_WORLD || handle == MPI_COMM_SELF {
        return Err(MpiError::new(
            MPI_ERR_COMM,
            "predefined communicators cannot be freed",
        ));
    }
    let comm = get(handle)?;
    comm.attrs.delete_all(handle)?;
    USER.remove(handle);
    Ok(())
}

/// At `MPI_Finalize`: attributes on `MPI_COMM_SELF` are deleted first (the
/// standard's hook for libraries to clean up), then those on the world.
pub fn finalize_attrs() -> MpiResult<()> {
    for h in [MPI_COMM_SELF, MPI_COMM_WORLD] {
        if let Some(c) = lookup(h) {
            c.attrs.delete_all(h)?;
        }
    }
    Ok(())
}

/// `MPI_Comm_compare`.
pub fn compare(a: &Comm, b: &Comm) -> c_int {
    if a.handle == b.handle {
        return MPI_IDENT;
    }
    if a.is_inter() != b.is_inter() {
        return MPI_UNEQUAL;
    }
    let remote = match (&a.remote, &b.remote) {
        (Some(x), Some(y)) => x.compare(y),
        _ => MPI_IDENT,
    };
    match (a.group.compare(&b.group), remote) {
        (MPI_IDENT, MPI_IDENT) => MPI_CONGRUENT,
        (MPI_UNEQUAL, _) | (_, MPI_UNEQUAL) => MPI_UNEQUAL,
        _ => MPI_SIMILAR,
    }
}

/// `MPI_Comm_create`: collective over `parent`; the members of `group`
/// (a subset of `parent`, possibly a different one on each process as
/// long as they are disjoint) form a communicator, ordered as in the group.
/// Others get `MPI_COMM_NULL`.
pub fn create(parent: &Comm, group: Arc<Group>) -> MpiResult<c_int> {
    if parent.is_inter() {
        return create_inter(parent, group);
    }
    if let Some(w) = group.iter().find(|&w| parent.group.rank_of(w).is_none()) {
        return Err(MpiError::new(
            MPI_ERR_GROUP,
            format!("the group names world rank {w}, which is not in the communicator"),
        ));
    }
    let ctx = agree_ctx(parent)?;
    match group.rank_of(parent.world_rank(parent.rank)) {
        Some(rank) => Ok(install(parent, ctx, rank as c_int, group, Attrs::default())),
        None => {
            ctx.release();
            Ok(MPI_COMM_NULL)
        }
    }
}

// ---------------------------------------------------------------------------
// Communicators from groups alone (MPI-4: sessions, or without a parent)

/// The context whose collective half carries the agreements of
/// communicators made from groups: messages there are tagged by a hash of
/// the string tag and name world ranks, so creations over different
/// groups, or with different tags, never take each other's messages.
const FROM_GROUP_CTX: u32 = 4;

/// The internal tag for `stringtag` (with a purpose byte, so that the
/// steps of one creation use distinct tags).
fn string_tag(stringtag: &str, purpose: u8) -> c_int {
    use std::hash::{Hash, Hasher};
    // A fixed hasher: every process must compute the same tag.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    stringtag.hash(&mut h);
    purpose.hash(&mut h);
    (h.finish() & 0x3fff_ffff) as c_int
}

/// `MPI_Comm_create_from_group`: collective over the members of `group`,
/// who match by `stringtag`. Errors on the new communicator go to `eh`.
pub fn create_from_group(group: Arc<Group>, stringtag: &str, eh: c_int) -> MpiResult<c_int> {
    let me = runtime::job().rank as usize;
    let Some(rank) = group.rank_of(me) else {
        return Err(MpiError::new(
            MPI_ERR_GROUP,
            "MPI_Comm_create_from_group: the calling process is not in the group",
        ));
    };
    let rank = rank as c_int;
    let n = group.size() as c_int;
    let ctx = if n == 1 {
        alone()?
    } else {
        let tag = string_tag(stringtag, 0);
        agree_among(rank, n, || {
            Sched::among(FROM_GROUP_CTX, group.clone(), rank, tag)
        })?
    };
    let session = super::session::of_group(&group);
    Ok(USER.insert_with(|handle| {
        let mut c = make_with(handle, eh, ctx, rank, group);
        c.session = session;
        c
    }))
}

/// `MPI_Intercomm_create_from_groups`: each group makes a communicator of
/// its own, then the leaders (ranks `local_leader` of this group and
/// `remote_leader` of the other) link up, matching by `stringtag`.
pub fn intercomm_from_groups(
    local_group: Arc<Group>,
    local_leader: c_int,
    remote_group: &Group,
    remote_leader: c_int,
    stringtag: &str,
    eh: c_int,
) -> MpiResult<c_int> {
    let local = create_from_group(local_group, &format!("{stringtag}\0local"), eh)?;
    let local = USER.remove(local).expect("just made");
    let link = (local.rank == local_leader).then(|| {
        let w = remote_group.world(remote_leader as usize);
        Link::Msg {
            ctx: FROM_GROUP_CTX,
            me: runtime::job().rank,
            peer: w as c_int,
            peer_world: w,
            tag: string_tag(stringtag, 1),
        }
    });
    intercomm_over(&local, local_leader, link.as_ref(), false)
}

// ---------------------------------------------------------------------------
// Intercommunicators

/// Tags of the library's own messages between the leaders of an
/// intercommunicator's two groups, in its collective context.
const TAG_MERGE_HIGH: c_int = 64;
const TAG_AGREE: c_int = 65;
const TAG_SPLIT: c_int = 66;
const TAG_CREATE: c_int = 67;

/// Where a group's leader reaches the other group's leader.
#[derive(Clone)]
pub(crate) enum Link {
    /// By messages: a context, the leader's own rank there, the peer's
    /// rank and process index, and a tag.
    Msg {
        ctx: u32,
        me: c_int,
        peer: c_int,
        peer_world: usize,
        tag: c_int,
    },
    /// By another channel the two leaders share before they can message
    /// each other (the socket of a connection between jobs).
    Other(Arc<dyn Swap>),
}

/// A channel between two leaders that swaps words.
pub(crate) trait Swap: Send + Sync {
    /// Send `mine` and receive the peer's `n` words.
    fn swap_fixed(&self, mine: &[u32], n: usize) -> MpiResult<Vec<u32>>;
}

impl Link {
    /// Send `mine` to the peer and receive its values, of any length.
    pub(crate) fn swap(&self, mine: &[u32]) -> MpiResult<Vec<u32>> {
        let len = self.swap_fixed(&[mine.len() as u32], 1)?;
        self.swap_fixed(mine, len[0] as usize)
    }

    pub(crate) fn swap_fixed(&self, mine: &[u32], n: usize) -> MpiResult<Vec<u32>> {
        use super::p2p::{Envelope, SendBuf, engine};
        use super::request::{ReqKind, Request, SendMode};
        let &Link::Msg {
            ctx,
            me,
            peer,
            peer_world,
            tag,
        } = self
        else {
            let Link::Other(w) = self else { unreachable!() };
            return w.swap_fixed(mine, n);
        };
        let bytes: Vec<u8> = mine.iter().flat_map(|x| x.to_ne_bytes()).collect();
        let mut theirs = vec![0u32; n];
        let r = Request::new(ReqKind::Recv, MPI_COMM_NULL);
        let s = Request::new(ReqKind::Send, MPI_COMM_NULL);
        engine().irecv(
            ctx,
            peer,
            tag,
            theirs.as_mut_ptr() as usize,
            4 * n,
            r.clone(),
        );
        let env = Envelope { ctx, src: me, tag };
        engine().isend(
            env,
            peer_world,
            SendBuf::owned(bytes.into()),
            SendMode::Standard,
            s.clone(),
        )?;
        engine().wait_until(|| r.is_done() && s.is_done());
        if let Some(e) = r.error().or_else(|| s.error()) {
            return Err(e);
        }
        Ok(theirs)
    }
}

/// A context id pair free on every process of both groups: each group ANDs
/// its maps, the leaders swap the results, and each broadcasts the AND of
/// both (so the two groups retry or pick in lockstep).
fn agree_ctx_across(local: &Comm, leader: c_int, link: Option<&Link>) -> MpiResult<Agreed> {
    agree_ctx_by(local.rank == leader && link.is_some(), |mine| {
        let mut common = and_maps(local, mine)?;
        if let Some(l) = link {
            let theirs = l.swap_fixed(&common, common.len())?;
            common.iter_mut().zip(theirs).for_each(|(a, b)| *a &= b);
        }
        coll::bcast_vec(local, &mut common, leader)?;
        Ok(common)
    })
}

/// An intracommunicator of `local`'s group for the library's own use.
fn private_copy(local: &Comm) -> MpiResult<Arc<Comm>> {
    let ctx = agree_ctx(local)?;
    Ok(Arc::new(make(
        MPI_COMM_NULL,
        local,
        ctx,
        local.rank,
        local.group.clone(),
    )))
}

fn install_inter(local: &Comm, ctx: Agreed, remote: Arc<Group>, private: Arc<Comm>) -> c_int {
    install_inter_with(local, ctx, remote, private, Attrs::default())
}

fn install_inter_with(
    local: &Comm,
    ctx: Agreed,
    remote: Arc<Group>,
    private: Arc<Comm>,
    attrs: Attrs,
) -> c_int {
    USER.insert_with(|handle| {
        let mut c = make(handle, local, ctx, local.rank, local.group.clone());
        c.remote = Some(remote);
        c.local = Some(private);
        c.attrs = attrs;
        c
    })
}

/// `MPI_Intercomm_create`: collective over `local`; its leader reaches the
/// other group's leader through `peer` (the peer communicator and the
/// remote leader's rank in it; only the leader passes it).
pub fn intercomm_create(
    local: &Comm,
    leader: c_int,
    peer: Option<(Arc<Comm>, c_int)>,
    tag: c_int,
) -> MpiResult<c_int> {
    let link = peer.map(|(p, remote_leader)| Link::Msg {
        ctx: p.ctx,
        me: p.rank,
        peer: remote_leader,
        peer_world: p.peer_world(remote_leader),
        tag,
    });
    intercomm_over(local, leader, link.as_ref(), false)
}

/// An intercommunicator of `local`'s group and the group whose leader
/// this group's `leader` reaches through `link`. The leaders swap their
/// groups by global name (the groups may belong to different jobs).
/// `connected`: the groups were just connected (`core::dpm`), so links
/// are made and a process may be in both (a job connecting to itself).
pub(crate) fn intercomm_over(
    local: &Comm,
    leader: c_int,
    link: Option<&Link>,
    connected: bool,
) -> MpiResult<c_int> {
    let mut theirs = match link {
        Some(l) => l.swap(&names_of(&local.group))?,
        None => Vec::new(),
    };
    coll::bcast_vec(local, &mut theirs, leader)?;
    let remote = group_named(&theirs);
    if !connected && let Some(w) = remote.iter().find(|&w| local.group.rank_of(w).is_some()) {
        return Err(MpiError::new(
            MPI_ERR_COMM,
            format!("world rank {w} is in both groups of the intercommunicator"),
        ));
    }
    // Groups of jobs connected in pieces may need a link first.
    let made = if connected {
        None
    } else {
        super::dpm::link_groups(local, leader, link, &remote)?
    };
    let inter = (|| {
        let private = private_copy(local)?;
        let ctx = agree_ctx_across(&private, leader, link)?;
        Ok(install_inter(local, ctx, Arc::new(remote), private))
    })();
    super::dpm::made_with(made);
    inter
}

/// A group's members by global name, as words to send to another process.
fn names_of(group: &Group) -> Vec<u32> {
    group
        .iter()
        .flat_map(|w| {
            let g = procs::gpid(w);
            [(g >> 32) as u32, g as u32]
        })
        .collect()
}

/// The group whose members `names_of` wrote.
fn group_named(words: &[u32]) -> Group {
    Group::from_list(
        words
            .chunks_exact(2)
            .map(|g| procs::index((u64::from(g[0]) << 32) | u64::from(g[1])))
            .collect(),
    )
}

/// The link between the leaders (rank 0 of each group) of an
/// intercommunicator, in its collective context.
fn leaders(ic: &Comm, tag: c_int) -> Option<Link> {
    let remote = ic.remote.as_ref()?;
    (ic.rank == 0).then(|| Link::Msg {
        ctx: ic.coll_ctx(),
        me: 0,
        peer: 0,
        peer_world: remote.world(0),
        tag,
    })
}

/// `MPI_Comm_dup` of an intercommunicator.
fn dup_inter(ic: &Comm) -> MpiResult<c_int> {
    let (remote, local) = (
        ic.remote.clone().expect("inter"),
        ic.local.clone().expect("inter"),
    );
    let private = private_copy(&local)?;
    let ctx = agree_ctx_across(&private, 0, leaders(ic, TAG_AGREE).as_ref())?;
    let attrs = ic
        .attrs
        .copy_for_dup(ic.handle)
        .inspect_err(|_| ctx.release())?;
    Ok(inherit_errhandler(
        ic,
        install_inter_with(&local, ctx, remote, private, attrs),
    ))
}

/// `MPI_Intercomm_merge`: both groups in one intracommunicator, the group
/// that passed `high = false` first (the one whose leader has the lower
/// world rank when both passed the same).
pub fn merge(ic: &Comm, high: bool) -> MpiResult<c_int> {
    let (remote, local) = match (&ic.remote, &ic.local) {
        (Some(r), Some(l)) => (r.clone(), l.clone()),
        _ => {
            return Err(MpiError::new(
                MPI_ERR_COMM,
                "MPI_Intercomm_merge needs an intercommunicator",
            ));
        }
    };
    let mut theirs = match leaders(ic, TAG_MERGE_HIGH) {
        Some(l) => l.swap(&[high as u32])?,
        None => Vec::new(),
    };
    coll::bcast_vec(&local, &mut theirs, 0)?;
    let remote_high = theirs.first().is_some_and(|&h| h != 0);
    let first = if high != remote_high {
        !high
    } else {
        procs::gpid(ic.group.world(0)) < procs::gpid(remote.world(0))
    };
    let (a, b) = if first {
        (&ic.group, &remote)
    } else {
        (&remote, &ic.group)
    };
    let members: Vec<usize> = a.iter().chain(b.iter()).collect();
    let ctx = agree_ctx_across(&local, 0, leaders(ic, TAG_AGREE).as_ref())?;
    let me = runtime::job().rank as usize;
    let rank = members.iter().position(|&w| w == me).expect("a member") as c_int;
    let group = Arc::new(Group::from_list(members));
    Ok(inherit_errhandler(
        ic,
        install(&local, ctx, rank, group, Attrs::default()),
    ))
}

/// Give the communicator `h` just made from `from` the same error handler.
fn inherit_errhandler(from: &Comm, h: c_int) -> c_int {
    if let Some(c) = USER.get(h) {
        c.errhandler.set(from.errhandler.get());
    }
    h
}

/// The members of `color` in a group whose (color, key) pairs are `ck`,
/// ordered by key and then by rank: their ranks in the group.
fn by_color(ck: &[c_int], color: c_int) -> Vec<usize> {
    let mut v: Vec<(c_int, usize)> = (0..ck.len() / 2)
        .filter(|&i| ck[2 * i] == color)
        .map(|i| (ck[2 * i + 1], i))
        .collect();
    v.sort();
    v.into_iter().map(|(_, i)| i).collect()
}

/// `MPI_Comm_split` of an intercommunicator: each side splits its group;
/// the parts of one color on the two sides form a new intercommunicator
/// (`MPI_COMM_NULL` where a color has no counterpart).
fn split_inter(ic: &Comm, color: c_int, key: c_int) -> MpiResult<c_int> {
    if color < 0 && color != MPI_UNDEFINED {
        return Err(MpiError::arg(format!("invalid color {color}")));
    }
    let (remote, private) = (
        ic.remote.clone().expect("inter"),
        ic.local.clone().expect("inter"),
    );
    let ours = allgather_ints(&private, &[color, key])?;
    let mut theirs = match leaders(ic, TAG_SPLIT) {
        Some(l) => l.swap(&ours.iter().map(|&x| x as u32).collect::<Vec<_>>())?,
        None => Vec::new(),
    };
    coll::bcast_vec(&private, &mut theirs, 0)?;
    let theirs: Vec<c_int> = theirs.iter().map(|&x| x as c_int).collect();
    // This side's part of each color, with a private communicator of it.
    let sub = split(&private, color, key)?;
    let sub = USER.remove(sub);
    let ctx = agree_ctx_across(&private, 0, leaders(ic, TAG_AGREE).as_ref())?;
    let far: Vec<usize> = by_color(&theirs, color)
        .into_iter()
        .map(|i| remote.world(i))
        .collect();
    match sub {
        Some(sub) if color != MPI_UNDEFINED && !far.is_empty() => {
            let remote = Arc::new(Group::from_list(far));
            let h = install_inter(&sub, ctx, remote, sub.clone());
            Ok(inherit_errhandler(ic, h))
        }
        _ => {
            ctx.release();
            Ok(MPI_COMM_NULL)
        }
    }
}

/// `MPI_Comm_create` of an intercommunicator: `group` is part of this
/// side's group; the two sides' parts form a new intercommunicator
/// (`MPI_COMM_NULL` outside them, or when either part is empty).
fn create_inter(ic: &Comm, group: Arc<Group>) -> MpiResult<c_int> {
    let (_, private) = (
        ic.remote.clone().expect("inter"),
        ic.local.clone().expect("inter"),
    );
    let mut theirs = match leaders(ic, TAG_CREATE) {
        Some(l) => l.swap(&names_of(&group))?,
        None => Vec::new(),
    };
    coll::bcast_vec(&private, &mut theirs, 0)?;
    let sub = create(&private, group)?;
    let sub = USER.remove(sub);
    let ctx = agree_ctx_across(&private, 0, leaders(ic, TAG_AGREE).as_ref())?;
    match sub {
        Some(sub) if !theirs.is_empty() => {
            let far = group_named(&theirs);
            let h = install_inter(&sub, ctx, Arc::new(far), sub.clone());
            Ok(inherit_errhandler(ic, h))
        }
        _ => {
            ctx.release();
            Ok(MPI_COMM_NULL)
        }
    }
}
