//! Node-local collectives: small blocking barriers, broadcasts and
//! reductions among ranks of one node, through the node segment instead of
//! messages.
//!
//! Every rank owns a slot per channel in the segment (`transport::shm`):
//! `COLL_CELLS` cells, used in turn, and a `done` word. A communicator whose
//! context pair is below `COLL_CHANNELS` uses the channel of that pair
//! (the pair is free on every member, so no member uses the channel for
//! anything else). For its collective number `s` (tag `t(s)`, below) a
//! member
//!
//! 1. waits until every member is done with collective `s - COLL_CELLS`,
//!    the last one that used the same cell (usually long since true), so
//!    a broadcast root runs ahead of its readers by that many at most;
//! 2. writes its contribution into cell `s % COLL_CELLS`, then publishes
//!    the tag of `s` (release), waking members that sleep;
//! 3. reads the cells it needs once they show that tag (acquire): all of
//!    them for an allreduce or barrier, the root's for a broadcast or
//!    reduction (and the root all of them), first of all the decider's
//!    (below: it may say the collective goes by messages instead);
//! 4. says it is done with `s` (release), waking members blocked in 1.
//!
//! Waiting goes through the progress engine: point-to-point traffic keeps
//! moving, and a waiting rank sleeps on its bell instead of spinning (more
//! ranks than cores is the normal case).
//!
//! # Invariants
//!
//! - **One writer per slot.** Only the owning rank writes a slot's cells,
//!   `done` and `blocked`; the others only read cells and `done`.
//! - **One communicator per slot.** A member's slot on a channel serves one
//!   communicator at a time: the channel is the communicator's context
//!   pair, and a freed communicator's pair goes back to the free map only
//!   once every member is done with its last collective (`retire`,
//!   `settled`), so a new communicator on the channel cannot overwrite
//!   cells that a slow member of the old one still reads.
//! - **Tags are never reused.** `t(s) = epoch << 40 | s`, `s >= 1`; the
//!   epoch is agreed when a communicator first uses its channel, one above
//!   the highest any member has used on it. So no tag is published twice
//!   on a slot, and nothing an earlier communicator left in the cells (or
//!   an earlier collective of this one) ever passes for the data of `s`.
//! - **Data before tag.** The writer stores the data and length, then the
//!   tag with release; a reader loads the tag with acquire and reads data
//!   and length only after seeing `t(s)`: it sees all of them.
//! - **No overwrite under a reader.** The data of `t(s)` stays in its cell
//!   until every member has stored `done >= t(s)` (release, after its last
//!   read of the cells), which the writer loads with acquire before it
//!   reuses the cell for `s + COLL_CELLS` (step 1). A descheduled reader
//!   only holds the others back, by `COLL_CELLS` collectives at most.
//! - **No lost wake-up.** A rank about to sleep in step 1 stores `blocked`
//!   (sequentially consistent), then checks `done` again; a rank finishing
//!   stores `done`, fences, then reads `blocked` and rings the bell of a
//!   blocked member. One of the two always sees the other. A publisher
//!   rings the bells of the members that read its cell.
//! - **Every member goes the same way.** Every blocking collective on a
//!   communicator with a channel (which depends only on the communicator)
//!   takes a round of it. Its decider (the root, or rank 0) publishes its
//!   data, when they fit a cell, or else the way it goes by messages
//!   (a length of `ANNOUNCE` or more); every member reads the decider's
//!   cell before going on and goes the decider's way. So members whose
//!   counts differ (an erroneous program) take the same algorithm, where
//!   a mismatch is a wrong length some member reports, instead of
//!   waiting for each other for ever.
//!
//! `abi-tests/coll_stress.c` checks results against a local reference
//! under random load; `scripts/mutation-test` shows it catches each rule
//! above broken (but memory orderings, which x86 hides); `tests/cells.rs`
//! model-checks the protocol, orderings included, with loom.
//!
//! Reductions combine in the order the message path does for the same
//! communicator size, root and operation (`coll::reduce_order`,
//! `coll::allreduce_order`): the same on every rank (bit-identical floating
//! point), non-commutative operations see their operands in rank order,
//! and results do not depend on whether a collective went through the
//! cells or by messages.

use super::algorithms::Way;
use super::coll::{self, Red};
use super::comm::Comm;
use super::error::{MpiError, MpiResult};
use super::op;
use super::p2p::engine;
use super::sched;
use crate::core::consts::{MPI_ERR_TRUNCATE, MPI_MAX, MPI_UNSIGNED};
use crate::transport::shm::{COLL_CELL_DATA, COLL_CELLS, COLL_CHANNELS, Shm};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The largest payload that goes through the cells.
pub const MAX_BYTES: usize = COLL_CELL_DATA;
// Node-local reductions follow the order of unsplit message reductions.
const _: () = assert!(MAX_BYTES <= coll::SPLIT_REDUCTION);

/// A communicator's use of its channel.
pub struct Channel {
    channel: usize,
    /// The agreed epoch, shifted into the tags' upper half.
    epoch: u64,
    /// Collectives run so far.
    seq: AtomicU64,
    /// Node-local index of each member, by communicator rank.
    members: Box<[usize]>,
    rank: usize,
    /// Combining orders, made on first use: `Reduce`'s by the rank its
    /// tree is rooted at, then `Allreduce`'s.
    orders: Box<[OnceLock<coll::Order>]>,
}

/// Per context id: the communicator's channel once it has one, `None`
/// when it cannot have one.
static CHANNELS: Mutex<Option<FxHashMap<u32, Option<Arc<Channel>>>>> = Mutex::new(None);
/// Per channel: the highest epoch this process has used on it.
static EPOCHS: Mutex<[u32; COLL_CHANNELS]> = Mutex::new([0; COLL_CHANNELS]);
/// Context ids of freed communicators held back until every member is done
/// with their last collective: (ctx, channel, members, last tag).
type Retired = (u32, usize, Box<[usize]>, u64);
static RETIRED: Mutex<Vec<Retired>> = Mutex::new(Vec::new());

/// The node's segment (set at `MPI_Init`; none when alone on the node).
static NODE: OnceLock<Option<Arc<Shm>>> = OnceLock::new();

/// Use the node segment `node` for node-local collectives (at `MPI_Init`).
pub fn attach(node: Option<Arc<Shm>>) {
    let _ = NODE.set(node);
}

/// The node's segment, if other ranks share this node.
pub fn node() -> Option<&'static Shm> {
    NODE.get().and_then(|n| n.as_deref())
}

/// The channel of `comm`, if it has one: every blocking collective on it
/// then goes through the channel, by the cells or announced there. The
/// answer is the same on every member (it depends only on the
/// communicator); the first time, the members agree on the channel's
/// epoch, a collective of its own.
pub fn channel(comm: &Comm) -> MpiResult<Option<Arc<Channel>>> {
    if comm.is_inter() || comm.size < 2 {
        return Ok(None);
    }
    let channel = (comm.ctx / 2) as usize;
    if channel >= COLL_CHANNELS || !comm.algorithms.node_cells() {
        return Ok(None);
    }
    if let Some(known) = CHANNELS
        .lock()
        .get_or_insert_with(Default::default)
        .get(&comm.ctx)
    {
        return Ok(known.clone());
    }
    let Some(shm) = node() else {
        return Ok(None);
    };
    let members: Option<Box<[usize]>> = comm.group.iter().map(|w| shm.local(w)).collect();
    let made = match members {
        Some(members) => open(comm, channel, members)?,
        None => None,
    };
    CHANNELS
        .lock()
        .get_or_insert_with(Default::default)
        .insert(comm.ctx, made.clone());
    Ok(made)
}

/// Tags: the epoch above this many bits, the collective's number below.
/// 2^40 collectives take more than a day at the fastest; after 2^24
/// communicators on one channel, it is no longer used.
const EPOCH_SHIFT: u32 = 40;
const MAX_EPOCH: u32 = 1 << 24;

/// Agree on an epoch (one above the highest any member has used on
/// `channel`) and make the channel. Every member gets the same epoch, so
/// all make it or none does.
fn open(comm: &Comm, channel: usize, members: Box<[usize]>) -> MpiResult<Option<Arc<Channel>>> {
    let mine = EPOCHS.lock()[channel] + 1;
    let mut agreed = 0u32;
    let r = Red {
        count: 1,
        dt: MPI_UNSIGNED,
        size: 4,
        op: MPI_MAX,
    };
    let (a, b) = (
        &mine as *const u32 as usize,
        &mut agreed as *mut u32 as usize,
    );
    coll::allreduce_blocking(comm, a, b, r)?;
    EPOCHS.lock()[channel] = agreed;
    if agreed >= MAX_EPOCH {
        return Ok(None);
    }
    Ok(Some(Arc::new(Channel {
        channel,
        epoch: u64::from(agreed) << EPOCH_SHIFT,
        seq: AtomicU64::new(0),
        orders: (0..=members.len()).map(|_| OnceLock::new()).collect(),
        members,
        rank: comm.rank as usize,
    })))
}

/// `comm` is being freed: keep its context id back if members may still
/// read its cells. Returns whether it was kept (the caller must not give
/// it back now).
pub fn retire(ctx: u32) -> bool {
    let Some(Some(ch)) = CHANNELS.lock().as_mut().and_then(|m| m.remove(&ctx)) else {
        return false;
    };
    let seq = ch.seq.load(Ordering::Relaxed);
    if seq == 0 {
        return false;
    }
    RETIRED
        .lock()
        .push((ctx, ch.channel, ch.members.clone(), ch.epoch | seq));
    true
}

/// Context ids of retired communicators whose members are all done with
/// them: the caller gives them back.
pub fn settled() -> Vec<u32> {
    let mut retired = RETIRED.lock();
    if retired.is_empty() {
        return Vec::new();
    }
    let Some(shm) = node() else {
        return retired.drain(..).map(|r| r.0).collect();
    };
    let mut free = Vec::new();
    retired.retain(|(ctx, channel, members, last)| {
        let done = members
            .iter()
            .all(|&m| shm.coll_slot(m, *channel).done() >= *last);
        if done {
            free.push(*ctx);
        }
        !done
    });
    free
}

/// What a member publishes for a collective.
#[derive(Clone, Copy)]
enum Publish {
    /// Its contribution, `len <= MAX_BYTES` bytes at an address: it goes by
    /// the cells.
    Data(usize, usize),
    /// It goes by messages, this way (too much data for a cell).
    Way(Way),
}

/// A cell length at or above this announces a way instead of data.
const ANNOUNCE: usize = 1 << 48;

impl Publish {
    const NOTHING: Publish = Publish::Data(0, 0);

    fn len(self) -> usize {
        match self {
            Publish::Data(_, len) => len,
            Publish::Way(w) => ANNOUNCE + w as usize,
        }
    }
}

/// One collective on a channel, steps 1 and 2 of the protocol done.
struct Round<'a> {
    ch: &'a Channel,
    shm: &'a Shm,
    tag: u64,
    turn: usize,
}

impl Channel {
    /// Start the next collective: wait until the cell is free to write,
    /// write `data` into it (when given), publish it and wake the members
    /// who read it (`readers`).
    fn begin<'a>(&'a self, shm: &'a Shm, mine: Publish, readers: Readers) -> Round<'a> {
        let s = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let tag = self.epoch | s;
        let cells = COLL_CELLS as u64;
        let turn = (s % cells) as usize;
        if s > cells {
            let before = tag - cells;
            let free = || {
                self.members
                    .iter()
                    .all(|&m| shm.coll_slot(m, self.channel).done() >= before)
            };
            if !free() {
                let mine = shm.coll_slot(self.members[self.rank], self.channel);
                mine.set_blocked(true);
                engine().wait_until(free);
                mine.set_blocked(false);
            }
        }
        let slot = shm.coll_slot(self.members[self.rank], self.channel);
        if let Publish::Data(at, len) = mine {
            debug_assert!(len <= MAX_BYTES);
            // SAFETY: `at` holds `len` <= MAX_BYTES bytes (the caller's
            // buffer); the cell is ours and nobody reads it now (step 1).
            unsafe { std::ptr::copy_nonoverlapping(at as *const u8, slot.data(turn), len) };
        }
        slot.publish(turn, tag, mine.len());
        match readers {
            Readers::All => {
                for (r, &m) in self.members.iter().enumerate() {
                    if r != self.rank {
                        shm.ring_bell(m);
                    }
                }
            }
            Readers::Root(r) if r != self.rank => shm.ring_bell(self.members[r]),
            _ => {}
        }
        Round {
            ch: self,
            shm,
            tag,
            turn,
        }
    }
}

impl Channel {
    /// Begin a collective whose way member `decider` chooses: publish
    /// `mine`, then learn the decider's choice (its cell: data, or the way
    /// it announced) and take it. Every member reads the decider's cell, so
    /// a count mismatch across the cells' limit, or across a threshold
    /// between algorithms by messages, sends nobody a different way from
    /// the others, where they would wait for each other for ever.
    ///
    /// `Ok(Ok(round))`: by the cells, go on with the round. `Ok(Err(way))`:
    /// by messages, this way, every member alike (the round is over).
    /// `Err`: the decider goes by the cells and this member cannot, a count
    /// mismatch, which those who read this member's cell see as well.
    fn start<'a>(
        &'a self,
        shm: &'a Shm,
        mine: Publish,
        readers: Readers,
        decider: usize,
    ) -> MpiResult<Result<Round<'a>, Way>> {
        let round = self.begin(shm, mine, readers);
        let said = if decider == self.rank {
            mine.len()
        } else {
            round.cell(decider).1
        };
        if said >= ANNOUNCE {
            round.end();
            return Ok(Err(Way::from_u32((said - ANNOUNCE) as u32)));
        }
        if let Publish::Way(_) = mine {
            round.end();
            return Err(MpiError::new(
                MPI_ERR_TRUNCATE,
                format!(
                    "message sizes differ across ranks: more than {MAX_BYTES} bytes here, \
                     {said} at rank {decider}"
                ),
            ));
        }
        super::coll::usage::NODE_LOCAL.fetch_add(1, Ordering::Relaxed);
        Ok(Ok(round))
    }
}

/// What a member publishes when it has `len` bytes at `at` and would go
/// `way` by messages.
fn publish(at: usize, len: usize, way: Way) -> Publish {
    if len <= MAX_BYTES {
        Publish::Data(at, len)
    } else {
        Publish::Way(way)
    }
}

/// Who reads what a member publishes.
#[derive(Clone, Copy)]
enum Readers {
    All,
    Root(usize),
    Nobody,
}

impl Round<'_> {
    /// Member `r`'s cell for this collective, once it is published, and
    /// its length.
    fn cell(&self, r: usize) -> (*const u8, usize) {
        let slot = self.shm.coll_slot(self.ch.members[r], self.ch.channel);
        let ready = || slot.tag(self.turn) == self.tag;
        if !ready() {
            engine().wait_until(ready);
        }
        (slot.data(self.turn), slot.len(self.turn))
    }

    /// Member `r`'s payload, which must be `len` bytes like ours.
    fn data(&self, r: usize, len: usize) -> MpiResult<*const u8> {
        let (at, theirs) = self.cell(r);
        if theirs != len {
            return Err(MpiError::new(
                MPI_ERR_TRUNCATE,
                format!(
                    "message sizes differ across ranks: {len} bytes here, {theirs} at rank {r}"
                ),
            ));
        }
        Ok(at)
    }

    /// Done with the cells of this collective: wake members waiting for
    /// that to reuse a cell.
    fn end(self) {
        let ch = self.ch;
        let mine = self.shm.coll_slot(ch.members[ch.rank], ch.channel);
        mine.set_done(self.tag);
        for (r, &m) in ch.members.iter().enumerate() {
            if r != ch.rank && self.shm.coll_slot(m, ch.channel).blocked() {
                self.shm.ring_bell(m);
            }
        }
    }
}

impl Channel {
    pub fn barrier(&self) -> MpiResult<()> {
        let shm = node().expect("a channel implies the segment");
        let round = self.begin(shm, Publish::NOTHING, Readers::All);
        for r in 0..self.members.len() {
            round.cell(r);
        }
        round.end();
        super::coll::usage::NODE_LOCAL.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Broadcast, or `Ok(Some(way))`: go by messages that way, as the root
    /// (the decider) said; `way` is this rank's own choice.
    pub fn bcast(&self, buf: usize, len: usize, root: c_int, way: Way) -> MpiResult<Option<Way>> {
        let shm = node().expect("a channel implies the segment");
        let root = root as usize;
        let me = self.rank == root;
        let (mine, readers) = if me {
            (publish(buf, len, way), Readers::All)
        } else {
            (Publish::NOTHING, Readers::Nobody)
        };
        let round = match self.start(shm, mine, readers, root)? {
            Ok(round) => round,
            Err(way) => return Ok(Some(way)),
        };
        let mut result = Ok(None);
        if !me {
            let (from, sent) = round.cell(root);
            // SAFETY: the root's cell holds `sent` bytes for this
            // collective and stays unchanged until we say we are done;
            // `buf` holds `len`.
            unsafe { std::ptr::copy_nonoverlapping(from, buf as *mut u8, sent.min(len)) };
            if sent != len {
                result = Err(MpiError::new(
                    MPI_ERR_TRUNCATE,
                    format!("broadcast of {sent} bytes from the root into {len} bytes here"),
                ));
            }
        }
        round.end();
        result
    }

    /// Reduce into `recv` on every rank (`root` None) or at `root`, or
    /// `Ok(Some(way))`: go by messages that way, as the decider (the root,
    /// or rank 0) said; `way` is this rank's own choice.
    pub fn reduce(
        &self,
        send: usize,
        recv: usize,
        r: Red,
        root: Option<c_int>,
        way: Way,
    ) -> MpiResult<Option<Way>> {
        let shm = node().expect("a channel implies the segment");
        let len = r.count * r.size;
        // The root reads every cell and everyone the root's; without a root
        // everyone reads every cell.
        let (readers, decider) = match root {
            Some(t) if t as usize != self.rank => (Readers::Root(t as usize), t as usize),
            Some(t) => (Readers::All, t as usize),
            None => (Readers::All, 0),
        };
        let round = match self.start(shm, publish(send, len, way), readers, decider)? {
            Ok(round) => round,
            Err(way) => return Ok(Some(way)),
        };
        let result = if root.is_none_or(|t| t as usize == self.rank) {
            let n = self.members.len();
            let order = match root {
                // Cached by the rank the tree is rooted at.
                Some(t) => {
                    let top = coll::reduce_top(t, &r);
                    self.orders[top as usize]
                        .get_or_init(|| coll::reduce_order(n as c_int, top, &r))
                }
                None => self.orders[n].get_or_init(|| coll::allreduce_order(n as c_int)),
            };
            combine(&round, recv, r, order)
        } else {
            Ok(())
        };
        round.end();
        result.map(|()| None)
    }
}

impl Channel {
    /// Every member's block into `blocks` (offset from `base`, length) of
    /// every member's buffer; `send` is `None` when this rank's block is
    /// already in place.
    /// `largest` is the longest block; `Ok(Some(_))`: go by messages, as
    /// rank 0 (the decider) said.
    pub fn allgather(
        &self,
        send: Option<(usize, usize)>,
        base: usize,
        blocks: &[coll::Block],
        largest: usize,
    ) -> MpiResult<Option<Way>> {
        let shm = node().expect("a channel implies the segment");
        let (off, len) = blocks[self.rank];
        let (at, n) = send.unwrap_or((base.wrapping_add(off), len));
        let mine = if largest > MAX_BYTES {
            Publish::Way(Way::Whole)
        } else if n <= MAX_BYTES {
            Publish::Data(at, n)
        } else {
            // A send block longer than any receive block: a mismatch,
            // which a length nobody expects reports.
            Publish::Data(at, sched::spoiled_len(len))
        };
        let round = match self.start(shm, mine, Readers::All, 0)? {
            Ok(round) => round,
            Err(way) => return Ok(Some(way)),
        };
        let mut result = Ok(None);
        for (r, &(off, len)) in blocks.iter().enumerate() {
            let to = base.wrapping_add(off) as *mut u8;
            if r == self.rank {
                if let Some((p, n)) = send {
                    // SAFETY: the caller's send buffer holds `n` bytes and
                    // its block of the receive buffer `len`.
                    unsafe { std::ptr::copy_nonoverlapping(p as *const u8, to, n.min(len)) };
                    if n != len {
                        result = result.and(Err(sched::mismatch(len, n)));
                    }
                }
                continue;
            }
            match round.data(r, len) {
                // SAFETY: the member's cell holds `len` bytes for this
                // collective; the block holds `len`.
                Ok(from) => unsafe { std::ptr::copy_nonoverlapping(from, to, len) },
                Err(e) => result = result.and(Err(e)),
            }
        }
        round.end();
        result
    }
}

impl Channel {
    /// All-to-all of `block` bytes per pair: block i of `send` (`n` blocks
    /// end to end) to member i, into block j of `recv` from member j.
    /// `send` may be `recv` (in place): the cell holds a copy. Send blocks
    /// of another length (`sent`) are a count mismatch: this member then
    /// publishes a length nobody expects, within the cell, so every member
    /// reports it. `Ok(Some(_))`: go by messages, as rank 0 (the decider)
    /// said.
    pub fn alltoall(
        &self,
        send: usize,
        sent: usize,
        recv: usize,
        block: usize,
    ) -> MpiResult<Option<Way>> {
        let shm = node().expect("a channel implies the segment");
        let total = block * self.members.len();
        let mine = if total > MAX_BYTES {
            Publish::Way(Way::Whole)
        } else if sent == block {
            Publish::Data(send, total)
        } else {
            Publish::Data(send, sched::spoiled_len(total))
        };
        let round = match self.start(shm, mine, Readers::All, 0)? {
            Ok(round) => round,
            Err(way) => return Ok(Some(way)),
        };
        let mut result = Ok(None);
        for r in 0..self.members.len() {
            match round.data(r, total) {
                // SAFETY: the member's cell holds `total` bytes for this
                // collective; `recv` holds `n` blocks.
                Ok(from) => unsafe {
                    let from = from.add(self.rank * block);
                    std::ptr::copy_nonoverlapping(from, (recv + r * block) as *mut u8, block);
                },
                Err(e) => result = result.and(Err(e)),
            }
        }
        round.end();
        result
    }
}

/// Combine every member's cell into `recv` in `order` (the message
/// path's, `coll::reduce_order` / `coll::allreduce_order`). Cells are only
/// read: a part that has been combined lives in a private buffer, and the
/// last step combines straight into `recv` (so two members need no buffer
/// at all).
fn combine(round: &Round, recv: usize, r: Red, order: &coll::Order) -> MpiResult<()> {
    let n = round.ch.members.len();
    let len = r.count * r.size;
    // Every member's cell, published with our length (on the stack for a
    // communicator of up to 16: nothing to allocate for small reductions).
    let (mut small, mut large) = ([0usize; 16], Vec::new());
    let cells: &mut [usize] = if n <= small.len() {
        &mut small[..n]
    } else {
        large.resize(n, 0);
        &mut large
    };
    for (i, c) in cells.iter_mut().enumerate() {
        *c = round.data(i, len)? as usize;
    }
    let cell = |p: usize| cells[p];
    // The last step makes the result (`coll::Order`'s orders end so).
    let Some((&(a, b), inner)) = order.steps.split_last() else {
        // SAFETY: the cell holds `len` bytes for this collective; `recv`
        // holds `len` (checked by the caller) and is no cell.
        unsafe {
            std::ptr::copy_nonoverlapping(cell(order.result) as *const u8, recv as *mut u8, len)
        };
        return Ok(());
    };
    debug_assert_eq!(a, order.result);
    // Buffer k belongs to part k's first combination as its right-hand
    // side; a part's value then moves with the buffer, so no two live
    // parts ever share one.
    let mut scratch = vec![0u8; if inner.is_empty() { 0 } else { n * len }];
    let base = scratch.as_mut_ptr() as usize;
    let mut held: Vec<Option<usize>> = vec![None; if inner.is_empty() { 0 } else { n }];
    let value = |held: &[Option<usize>], p: usize| {
        held.get(p)
            .copied()
            .flatten()
            .map_or_else(|| cell(p), |k| base + k * len)
    };
    // dst = part a op part b, where dst already holds part b's value.
    // SAFETY (for callers): the parts' values (cells, holding `len` bytes
    // for this collective and unchanged until we are done, or private
    // buffers) and `dst` (a private buffer of `len` bytes, or `recv`,
    // which holds `len`) are distinct.
    let step = |a: usize, held: &[Option<usize>], dst: usize| unsafe {
        op::apply(
            r.op,
            r.dt,
            r.count,
            value(held, a) as *const u8,
            dst as *mut u8,
        )
    };
    for &(a, b) in inner {
        let k = held[b].unwrap_or(b);
        let dst = base + k * len;
        if held[b].is_none() {
            // SAFETY: as above.
            unsafe { std::ptr::copy_nonoverlapping(cell(b) as *const u8, dst as *mut u8, len) };
        }
        step(a, &held, dst)?;
        held[a] = Some(k);
    }
    // SAFETY: as above.
    unsafe { std::ptr::copy_nonoverlapping(value(&held, b) as *const u8, recv as *mut u8, len) };
    step(a, &held, recv)
}
