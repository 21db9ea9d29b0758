//! Communicators: the predefined `MPI_COMM_WORLD` and `MPI_COMM_SELF`, and
//! the ones users derive from them (`dup`, `split`).
//!
//! A communicator is a context id plus its group of members. Context
//! ids come in pairs (point-to-point `ctx`, collectives `ctx + 1`): 0 for
//! the world, 2 for self, then agreed collectively for each new
//! communicator as the lowest pair free on every member (an AND of their
//! free maps), and given back when the communicator is freed.

use super::attr::Attrs;
use super::coll;
use super::errhandler::{self, Slot};
use super::error::{MpiError, MpiResult};
use super::group::Group;
use super::runtime;
use super::topo::Topo;
use crate::abi::consts::*;
use crate::handles::{Kind, Table};
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

pub struct Comm {
    pub handle: c_int,
    pub rank: c_int,
    pub size: c_int,
    /// Context id of point-to-point traffic; collectives use `ctx + 1`, so
    /// they never match user messages.
    pub ctx: u32,
    /// The members, by world rank.
    pub group: Arc<Group>,
    pub name: Mutex<String>,
    pub errhandler: Slot,
    /// Attributes cached by users (`MPI_Comm_set_attr`).
    pub attrs: Attrs,
    /// Partitioned operations initialized so far, per (peer, tag, is-send):
    /// they match in that order (see `abi::p2p::partitioned_ctx`).
    pub part_seq: Mutex<std::collections::HashMap<(c_int, c_int, bool), u32>>,
    /// The process topology, set once right after creation.
    pub topo: OnceLock<Topo>,
    /// Info hints (`MPI_Comm_set_info`): the standard's assertions, kept
    /// and returned though none changes behaviour yet; `MPI_Comm_dup`
    /// carries them over.
    pub hints: Mutex<Vec<(String, String)>>,
}

impl Comm {
    /// The world rank of member `rank` (which the caller has checked).
    pub fn world_rank(&self, rank: c_int) -> usize {
        self.group.world(rank as usize)
    }

    /// Context id of this communicator's collective traffic.
    pub fn coll_ctx(&self) -> u32 {
        self.ctx + 1
    }
}

impl Drop for Comm {
    fn drop(&mut self) {
        errhandler::release(self.errhandler.get());
        if self.ctx >= 4 {
            release_ctx(self.ctx);
        }
    }
}

static WORLD: OnceLock<Arc<Comm>> = OnceLock::new();
static SELF: OnceLock<Arc<Comm>> = OnceLock::new();
static USER: Table<Comm> = Table::new(Kind::Comm);

fn predefined(handle: c_int) -> Option<Arc<Comm>> {
    let job = runtime::job();
    let (cell, rank, size, ctx, group, name) = match handle {
        MPI_COMM_WORLD => (
            &WORLD,
            job.rank,
            job.size,
            0,
            Group::strided(0, 1, job.size as usize),
            "MPI_COMM_WORLD",
        ),
        MPI_COMM_SELF => (
            &SELF,
            0,
            1,
            2,
            Group::strided(job.rank as usize, 1, 1),
            "MPI_COMM_SELF",
        ),
        _ => return None,
    };
    Some(
        cell.get_or_init(|| {
            Arc::new(Comm {
                handle,
                rank,
                size,
                ctx,
                group: Arc::new(group),
                name: Mutex::new(name.to_string()),
                errhandler: Slot::new(MPI_ERRORS_ARE_FATAL),
                attrs: Attrs::default(),
                part_seq: Mutex::default(),
                topo: OnceLock::new(),
                hints: Mutex::default(),
            })
        })
        .clone(),
    )
}

/// The communicator behind a handle, if it is valid.
pub fn lookup(handle: c_int) -> Option<Arc<Comm>> {
    if runtime::phase() != runtime::Phase::Initialized {
        return None;
    }
    predefined(handle).or_else(|| USER.get(handle))
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
/// and self's.
const CTX_PAIRS: usize = 1 << 14;
const CTX_WORDS: usize = CTX_PAIRS / 32;

/// Which context id pairs this process has free (bit set = free).
static CTX_FREE: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// One thread at a time offers this process's free map to an agreement;
/// the others offer nothing (all zeros) and try again. A lock held across
/// the agreement instead would deadlock two processes whose threads create
/// different communicators in opposite orders.
static CTX_MAP_OFFERED: AtomicBool = AtomicBool::new(false);
/// Parent contexts of the agreements under way in this process. The map
/// goes to the one with the lowest parent context: every process applies
/// the same rule, so the lowest communicator still agreeing gets every
/// member's map at once and completes (no livelock).
static CTX_WAITING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Registers an agreement in `CTX_WAITING` for its lifetime.
struct Waiting(u32);

impl Waiting {
    fn new(ctx: u32) -> Self {
        CTX_WAITING.lock().push(ctx);
        Waiting(ctx)
    }

    /// May this agreement offer the map now? Takes it if so.
    fn take_map(&self) -> bool {
        let first = CTX_WAITING.lock().iter().min() == Some(&self.0);
        first && !CTX_MAP_OFFERED.swap(true, Ordering::AcqRel)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut w = CTX_WAITING.lock();
        if let Some(i) = w.iter().position(|&c| c == self.0) {
            w.swap_remove(i);
        }
    }
}

fn with_ctx_map<T>(f: impl FnOnce(&mut Vec<u32>) -> T) -> T {
    let mut map = CTX_FREE.lock();
    if map.is_empty() {
        *map = vec![u32::MAX; CTX_WORDS];
        map[0] &= !0b11;
    }
    f(&mut map)
}

fn release_ctx(ctx: u32) {
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

/// Agree with the other members of `parent` on a context id pair free on
/// all of them: the lowest bit set in the AND of everyone's free map. A
/// member whose map is busy with another agreement offers zeros, so the
/// round picks nothing and everyone tries again; the last word of the AND
/// says whether every member offered its map (then an empty result means
/// the ids are exhausted).
fn agree_ctx(parent: &Comm) -> MpiResult<u32> {
    if parent.size == 1 {
        return local_ctx();
    }
    let waiting = Waiting::new(parent.ctx);
    loop {
        let offered = waiting.take_map();
        let mut mine = if offered {
            with_ctx_map(|m| m.clone())
        } else {
            vec![0; CTX_WORDS]
        };
        mine.push(u32::from(offered));
        let mut common = vec![0u32; CTX_WORDS + 1];
        let agreed = coll::allreduce(
            parent,
            mine.as_ptr() as usize,
            common.as_mut_ptr() as usize,
            CTX_WORDS + 1,
            MPI_UNSIGNED,
            4,
            MPI_BAND,
        );
        let pick = common[..CTX_WORDS]
            .iter()
            .position(|&w| w != 0)
            .map(|word| word * 32 + common[word].trailing_zeros() as usize);
        // A nonzero AND means every member offered its map, this one too.
        // The pair may have gone to a one-process communicator since the
        // offer (only when nearly all are in use): then no pair is left.
        let pick = match (&agreed, pick) {
            (Ok(()), Some(pair)) => with_ctx_map(|m| {
                let bit = 1 << (pair % 32);
                let free = m[pair / 32] & bit != 0;
                m[pair / 32] &= !bit;
                free.then_some(pair)
            }),
            _ => None,
        };
        if offered {
            CTX_MAP_OFFERED.store(false, Ordering::Release);
        }
        agreed?;
        match pick {
            Some(pair) => return Ok(2 * pair as u32),
            None if common[CTX_WORDS] == 1 => return Err(ctx_exhausted()),
            None => std::thread::yield_now(),
        }
    }
}

fn install(parent: &Comm, ctx: u32, rank: c_int, group: Arc<Group>, attrs: Attrs) -> c_int {
    let eh = parent.errhandler.get();
    errhandler::retain(eh);
    USER.insert_with(|handle| Comm {
        handle,
        rank,
        size: group.size() as c_int,
        ctx,
        group,
        name: Mutex::new(String::new()),
        errhandler: Slot::new(eh),
        attrs,
        part_seq: Mutex::default(),
        topo: OnceLock::new(),
        hints: Mutex::default(),
    })
}

/// `MPI_Comm_dup`: same members, new context; the error handler is
/// inherited.
pub fn dup(parent: &Comm) -> MpiResult<c_int> {
    let ctx = agree_ctx(parent)?;
    let attrs = parent
        .attrs
        .copy_for_dup(parent.handle)
        .inspect_err(|_| release_ctx(ctx))?;
    let h = install(parent, ctx, parent.rank, parent.group.clone(), attrs);
    if let Some(c) = USER.get(h) {
        if let Some(t) = parent.topo.get() {
            c.topo
                .set(t.clone())
                .expect("a new communicator has no topology yet");
        }
        *c.hints.lock() = parent.hints.lock().clone();
    }
    Ok(h)
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
        coll::allgatherv(comm, send, all.as_mut_ptr() as usize, &blocks)?;
        Ok(all)
    };
    let lens = gather(&[mine.len() as c_int], &vec![1; n])?;
    gather(mine, &lens.iter().map(|&l| l as usize).collect::<Vec<_>>())
}

/// `MPI_Comm_split`: members with the same color form a communicator,
/// ranked by key and then by rank in `parent`. `MPI_UNDEFINED` gets
/// `MPI_COMM_NULL`.
pub fn split(parent: &Comm, color: c_int, key: c_int) -> MpiResult<c_int> {
    if color < 0 && color != MPI_UNDEFINED {
        return Err(MpiError::arg(format!("invalid color {color}")));
    }
    let n = parent.size as usize;
    let all = allgather_ints(parent, &[color, key])?;
    let ctx = agree_ctx(parent)?;
    if color == MPI_UNDEFINED {
        release_ctx(ctx);
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

/// `MPI_Comm_split_type`. Every process of a job shares this node's memory
/// (OxMPI runs jobs on one node), so `MPI_COMM_TYPE_SHARED` and its
/// `mpi_shared_memory` resource keep everyone; processes are not bound to
/// cores, so no smaller hardware resource holds a process and the other
/// resource types give `MPI_COMM_NULL`, as the standard allows.
pub fn split_type(
    parent: &Comm,
    split_type: c_int,
    key: c_int,
    resource: Option<&str>,
) -> MpiResult<c_int> {
    let color = match split_type {
        MPI_UNDEFINED => MPI_UNDEFINED,
        MPI_COMM_TYPE_SHARED => 0,
        MPI_COMM_TYPE_HW_GUIDED | MPI_COMM_TYPE_RESOURCE_GUIDED => match resource {
            Some("mpi_shared_memory") => 0,
            _ => MPI_UNDEFINED,
        },
        MPI_COMM_TYPE_HW_UNGUIDED => MPI_UNDEFINED,
        other => {
            return Err(MpiError::arg(format!("invalid split type {other}")));
        }
    };
    split(parent, color, key)
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
    match a.group.compare(&b.group) {
        MPI_IDENT => MPI_CONGRUENT,
        other => other,
    }
}

/// `MPI_Comm_create`: collective over `parent`; the members of `group`
/// (a subset of `parent`, possibly a different one on each process as
/// long as they are disjoint) form a communicator, ordered as in the group.
/// Others get `MPI_COMM_NULL`.
pub fn create(parent: &Comm, group: Arc<Group>) -> MpiResult<c_int> {
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
            release_ctx(ctx);
            Ok(MPI_COMM_NULL)
        }
    }
}
