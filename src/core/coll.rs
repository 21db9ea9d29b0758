//! Collective algorithms, written as schedules (`core::sched`): each
//! function here appends the steps of one collective to a schedule, which
//! then runs blocking, nonblocking or persistent alike.
//!
//! Buffers are raw addresses with byte counts: the C face has checked them.
//! Data of non-contiguous datatypes arrives here packed.

use super::comm::Comm;
use super::error::MpiResult;
use super::sched::{self, Sched};
use super::topo::Hood;
use crate::abi::consts::MPI_PROC_NULL;
use crate::abi::types::{MPI_Datatype, MPI_Op};
use std::ffi::c_int;

/// A block of a buffer: byte offset (two's complement: displacements may
/// be negative, so addresses are formed with `wrapping_add`) and length.
pub type Block = (usize, usize);

/// The elements of a reduction: `count` of `dt`, `size` bytes each, and
/// the operation.
#[derive(Clone, Copy)]
pub struct Red {
    pub count: usize,
    pub dt: MPI_Datatype,
    pub size: usize,
    pub op: MPI_Op,
}

impl Red {
    fn len(&self) -> usize {
        self.count * self.size
    }
}

/// Dissemination barrier: in round k every rank signals rank + 2^k and
/// hears from rank - 2^k; after ceil(log2 n) rounds everyone has entered.
pub fn barrier(s: &mut Sched, n: c_int) {
    let me = s.rank();
    let mut dist = 1;
    while dist < n {
        s.recv((me - dist).rem_euclid(n), 0, 0);
        s.send((me + dist) % n, 0, 0);
        s.fence();
        dist *= 2;
    }
}

/// Binomial-tree broadcast of `len` bytes at `buf` from `root`. A rank
/// whose receive fails (a count too small: truncation) still passes on
/// what it got, so no rank below it in the tree is left waiting.
pub fn bcast(s: &mut Sched, n: c_int, buf: usize, len: usize, root: c_int) {
    let rel = (s.rank() - root).rem_euclid(n);
    let abs = |r: c_int| (r + root) % n;
    let mut mask = 1;
    while mask < n {
        if rel & mask != 0 {
            s.recv(abs(rel - mask), buf, len);
            s.fence();
            break;
        }
        mask <<= 1;
    }
    mask >>= 1;
    while mask > 0 {
        if rel + mask < n {
            s.send(abs(rel + mask), buf, len);
        }
        mask >>= 1;
    }
}

/// Reduce every rank's `send` into `recv` at `root`, combining in rank
/// order (x0 op x1 op ... op xn-1) so that non-commutative operations and
/// floating-point results are the same on every run.
pub fn reduce(s: &mut Sched, n: c_int, send: usize, recv: usize, r: Red, root: c_int) {
    let len = r.len();
    if s.rank() != root {
        s.send(root, send, len);
        return;
    }
    let parts: Vec<usize> = (0..n).map(|_| s.temp(len)).collect();
    for (i, &p) in parts.iter().enumerate() {
        if i as c_int == root {
            s.copy(send, p, len);
        } else {
            s.recv(i as c_int, p, len);
        }
    }
    s.fence();
    let last = parts[n as usize - 1];
    for &p in parts[..n as usize - 1].iter().rev() {
        s.reduce(r.op, r.dt, r.count, p, last);
    }
    s.copy(last, recv, len);
}

/// Recursive-doubling allreduce. The ranks beyond the largest power of
/// two first fold into their lower neighbour; then in round k each rank
/// swaps its partial result with rank ^ 2^k and combines the two, always
/// the lower ranks' part first, so every rank computes the same values in
/// the same order (bit-identical floating point, non-commutative
/// operations in rank order).
pub fn allreduce(s: &mut Sched, n: c_int, send: usize, recv: usize, r: Red) {
    let len = r.len();
    let me = s.rank();
    let acc = s.temp(len);
    let tmp = s.temp(len);
    s.copy(send, acc, len);
    let pof2 = 1 << (31 - (n as u32).leading_zeros());
    let rem = n - pof2;
    // Ranks below 2*rem pair up (even, odd); the odd one carries on.
    let vrank = if me < 2 * rem {
        if me % 2 == 0 {
            s.send(me + 1, acc, len);
            s.recv(me + 1, recv, len);
            s.fence();
            return;
        }
        s.recv(me - 1, tmp, len);
        s.fence();
        combine(s, r, tmp, acc, true);
        me / 2
    } else {
        me - rem
    };
    let real = |v: c_int| if v < rem { 2 * v + 1 } else { v + rem };
    let mut mask = 1;
    while mask < pof2 {
        let partner = real(vrank ^ mask);
        s.send(partner, acc, len);
        s.recv(partner, tmp, len);
        s.fence();
        combine(s, r, tmp, acc, partner < me);
        mask <<= 1;
    }
    s.copy(acc, recv, len);
    if me < 2 * rem {
        s.send(me - 1, acc, len);
    }
}

/// `acc = other op acc` when `other` holds lower ranks' part, else
/// `acc = acc op other`.
fn combine(s: &mut Sched, r: Red, other: usize, acc: usize, other_first: bool) {
    if other_first {
        s.reduce(r.op, r.dt, r.count, other, acc);
    } else {
        s.reduce(r.op, r.dt, r.count, acc, other);
        s.copy(other, acc, r.len());
    }
}

/// Gather `len` bytes from every rank into `blocks` of `recv` at `root`;
/// `send` is `None` when the root's block is already in place.
pub fn gatherv(
    s: &mut Sched,
    send: Option<(usize, usize)>,
    recv: usize,
    blocks: &[Block],
    root: c_int,
) {
    if s.rank() != root {
        let (p, len) = send.unwrap_or((0, 0));
        s.send(root, p, len);
        return;
    }
    for (i, &(off, len)) in blocks.iter().enumerate() {
        if i as c_int == root {
            if let Some((p, n)) = send {
                s.copy(p, recv.wrapping_add(off), n.min(len));
            }
        } else {
            s.recv(i as c_int, recv.wrapping_add(off), len);
        }
    }
}

/// Scatter `blocks` of `send` at `root`, `len` bytes into every rank's
/// `recv`; `recv` is `None` at a root that keeps its block in place.
pub fn scatterv(
    s: &mut Sched,
    send: usize,
    blocks: &[Block],
    recv: Option<(usize, usize)>,
    root: c_int,
) {
    if s.rank() != root {
        let (p, len) = recv.unwrap_or((0, 0));
        s.recv(root, p, len);
        return;
    }
    for (i, &(off, len)) in blocks.iter().enumerate() {
        if i as c_int == root {
            if let Some((p, n)) = recv {
                s.copy(send.wrapping_add(off), p, n.min(len));
            }
        } else {
            s.send(i as c_int, send.wrapping_add(off), len);
        }
    }
}

/// Every rank's `send` into `blocks` of every rank's `recv`; `send` is
/// `None` when each rank's own block is already in place.
pub fn allgatherv(s: &mut Sched, send: Option<(usize, usize)>, recv: usize, blocks: &[Block]) {
    let me = s.rank() as usize;
    let (mine, mine_len) = match send {
        Some((p, n)) => {
            s.copy(p, recv.wrapping_add(blocks[me].0), n.min(blocks[me].1));
            (p, n)
        }
        None => (recv.wrapping_add(blocks[me].0), blocks[me].1),
    };
    for (i, &(off, len)) in blocks.iter().enumerate() {
        if i != me {
            s.recv(i as c_int, recv.wrapping_add(off), len);
        }
    }
    for i in (0..blocks.len()).filter(|&i| i != me) {
        s.send(i as c_int, mine, mine_len);
    }
}

/// Block `sblocks[i]` of `send` to rank i, into `rblocks[j]` of `recv` from
/// rank j. `send` is `None` for `MPI_IN_PLACE` (data taken from `recv`).
/// On an intercommunicator `i` and `j` are remote ranks and nothing stays
/// local (`local` false).
pub fn alltoallv(
    s: &mut Sched,
    send: Option<usize>,
    sblocks: &[Block],
    recv: usize,
    rblocks: &[Block],
    local: bool,
) {
    let send = match send {
        Some(p) => p,
        None => {
            // In place: send from a copy of the receive buffer.
            let end = rblocks
                .iter()
                .map(|&(o, l)| (o as isize + l as isize).max(0) as usize)
                .max()
                .unwrap_or(0);
            let saved = s.temp(end);
            s.copy(recv, saved, end);
            saved
        }
    };
    let me = if local { s.rank() as usize } else { usize::MAX };
    if local {
        s.copy(
            send.wrapping_add(sblocks[me].0),
            recv.wrapping_add(rblocks[me].0),
            sblocks[me].1.min(rblocks[me].1),
        );
    }
    for (i, &(off, len)) in rblocks.iter().enumerate() {
        if i != me {
            s.recv(i as c_int, recv.wrapping_add(off), len);
        }
    }
    for (i, &(off, len)) in sblocks.iter().enumerate() {
        if i != me {
            s.send(i as c_int, send.wrapping_add(off), len);
        }
    }
}

/// Reduce the whole vector to rank 0, then scatter `counts[i]` elements
/// of the result to rank i.
pub fn reduce_scatter(s: &mut Sched, send: usize, recv: usize, counts: &[usize], r: Red) {
    let total: usize = counts.iter().sum();
    let full = s.temp(total * r.size);
    let n = counts.len() as c_int;
    reduce(s, n, send, full, Red { count: total, ..r }, 0);
    s.fence();
    let mut blocks = Vec::with_capacity(counts.len());
    let mut off = 0;
    for &c in counts {
        blocks.push((off * r.size, c * r.size));
        off += c;
    }
    let mine = counts[s.rank() as usize] * r.size;
    scatterv(s, full, &blocks, Some((recv, mine)), 0);
}

/// Inclusive (`exclusive` false) or exclusive prefix reduction: rank i
/// gets x0 op ... op xi (or op x(i-1)), passed along the ranks in order.
pub fn scan(s: &mut Sched, n: c_int, send: usize, recv: usize, r: Red, exclusive: bool) {
    let len = r.len();
    let me = s.rank();
    // My own contribution, saved first: with MPI_IN_PLACE it is in `recv`.
    let partial = s.temp(len);
    s.copy(send, partial, len);
    if me > 0 {
        let before = s.temp(len);
        s.recv(me - 1, before, len);
        s.fence();
        if exclusive {
            s.copy(before, recv, len);
        }
        s.reduce(r.op, r.dt, r.count, before, partial);
    }
    if !exclusive {
        s.copy(partial, recv, len);
    }
    if me + 1 < n {
        s.send(me + 1, partial, len);
    }
}

// ---------------------------------------------------------------------------
// Intercommunicators: data moves between the two groups; steps within a
// group go to its local copy (`Sched::within_local`). Ranks of the
// remote group are the remote ranks point-to-point uses.

/// The root of a rooted collective on an intercommunicator, as this
/// process sees it: it is the root (`MPI_ROOT`), it is in the root's group
/// but not the root (`MPI_PROC_NULL`), or it is in the other group and
/// the root has this remote rank.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Me,
    Idle,
    Remote(c_int),
}

/// Run `f` on the local group.
fn in_local(s: &mut Sched, f: impl FnOnce(&mut Sched)) {
    s.within_local(true);
    f(s);
    s.within_local(false);
}

/// The two leaders (local rank 0) trade `len` bytes: `mine` goes, the
/// other's arrives in `theirs`.
fn leaders_swap(s: &mut Sched, mine: usize, theirs: usize, len: usize) {
    if s.rank() == 0 {
        s.send(0, mine, len);
        s.recv(0, theirs, len);
        s.fence();
    }
}

/// Nobody leaves before everyone of the other group has entered: each
/// group meets, the leaders swap word, and each group hears it.
pub fn inter_barrier(s: &mut Sched, nl: c_int) {
    in_local(s, |s| barrier(s, nl));
    leaders_swap(s, 0, 0, 0);
    in_local(s, |s| bcast(s, nl, 0, 0, 0));
}

/// The root sends to the other group's leader, which broadcasts there.
pub fn inter_bcast(s: &mut Sched, nl: c_int, buf: usize, len: usize, root: Root) {
    match root {
        Root::Me => s.send(0, buf, len),
        Root::Idle => {}
        Root::Remote(r) => {
            if s.rank() == 0 {
                s.recv(r, buf, len);
                s.fence();
            }
            in_local(s, |s| bcast(s, nl, buf, len, 0));
        }
    }
}

/// The other group reduces to its leader, which sends the result to the
/// root.
pub fn inter_reduce(s: &mut Sched, nl: c_int, send: usize, recv: usize, r: Red, root: Root) {
    match root {
        Root::Me => s.recv(0, recv, r.len()),
        Root::Idle => {}
        Root::Remote(rt) => {
            let t = s.temp(r.len());
            in_local(s, |s| reduce(s, nl, send, t, r, 0));
            if s.rank() == 0 {
                s.send(rt, t, r.len());
            }
        }
    }
}

/// Each group reduces to its leader, the leaders swap results, and each
/// group broadcasts the other's.
pub fn inter_allreduce(s: &mut Sched, nl: c_int, send: usize, recv: usize, r: Red) {
    let t = s.temp(r.len());
    in_local(s, |s| reduce(s, nl, send, t, r, 0));
    leaders_swap(s, t, recv, r.len());
    in_local(s, |s| bcast(s, nl, recv, r.len(), 0));
}

/// The reduction of each group's vectors (the sum of the receiving
/// group's `counts` elements), scattered over the other group by
/// `counts`.
pub fn inter_reduce_scatter(s: &mut Sched, send: usize, recv: usize, counts: &[usize], r: Red) {
    let nl = counts.len() as c_int;
    let total: usize = counts.iter().sum();
    let full = Red { count: total, ..r };
    let (mine, theirs) = (s.temp(full.len()), s.temp(full.len()));
    in_local(s, |s| reduce(s, nl, send, mine, full, 0));
    leaders_swap(s, mine, theirs, full.len());
    let mut blocks = Vec::with_capacity(counts.len());
    let mut off = 0;
    for &c in counts {
        blocks.push((off * r.size, c * r.size));
        off += c;
    }
    let my = counts[s.rank() as usize] * r.size;
    in_local(s, |s| scatterv(s, theirs, &blocks, Some((recv, my)), 0));
}

/// The root receives block i from remote rank i.
pub fn inter_gatherv(
    s: &mut Sched,
    send: (usize, usize),
    recv: usize,
    blocks: &[Block],
    root: Root,
) {
    match root {
        Root::Me => {
            for (i, &(off, len)) in blocks.iter().enumerate() {
                s.recv(i as c_int, recv.wrapping_add(off), len);
            }
        }
        Root::Idle => {}
        Root::Remote(r) => s.send(r, send.0, send.1),
    }
}

/// The root sends block i to remote rank i.
pub fn inter_scatterv(
    s: &mut Sched,
    send: usize,
    blocks: &[Block],
    recv: (usize, usize),
    root: Root,
) {
    match root {
        Root::Me => {
            for (i, &(off, len)) in blocks.iter().enumerate() {
                s.send(i as c_int, send.wrapping_add(off), len);
            }
        }
        Root::Idle => {}
        Root::Remote(r) => s.recv(r, recv.0, recv.1),
    }
}

/// Every process gets every remote process's block.
pub fn inter_allgatherv(s: &mut Sched, send: (usize, usize), recv: usize, blocks: &[Block]) {
    for (i, &(off, len)) in blocks.iter().enumerate() {
        s.recv(i as c_int, recv.wrapping_add(off), len);
    }
    for i in 0..blocks.len() {
        s.send(i as c_int, send.0, send.1);
    }
}

// ---------------------------------------------------------------------------
// Neighbourhood collectives over a process topology

/// Block j of `send` to out-neighbour j, block i of `recv` from
/// in-neighbour i; `MPI_PROC_NULL` neighbours are skipped (their blocks
/// stay as they are). The allgather forms send one block to every
/// out-neighbour.
pub fn neighbor_alltoallv(
    s: &mut Sched,
    hood: &Hood,
    send: usize,
    sblocks: &[Block],
    recv: usize,
    rblocks: &[Block],
) {
    for (&(from, sub), &(off, len)) in hood.sources.iter().zip(rblocks) {
        if from != MPI_PROC_NULL {
            s.recv_sub(from, recv.wrapping_add(off), len, sub);
        }
    }
    for (&(to, sub), &(off, len)) in hood.dests.iter().zip(sblocks) {
        if to != MPI_PROC_NULL {
            s.send_sub(to, send.wrapping_add(off), len, sub);
        }
    }
}

/// Blocking forms for the library's own use (context-id agreement,
/// communicator construction).
pub fn bcast_blocking(comm: &Comm, buf: usize, len: usize, root: c_int) -> MpiResult<()> {
    sched::run(comm, |s| bcast(s, comm.size, buf, len, root))
}

pub fn allreduce_blocking(comm: &Comm, send: usize, recv: usize, r: Red) -> MpiResult<()> {
    sched::run(comm, |s| allreduce(s, comm.size, send, recv, r))
}

pub fn allgatherv_blocking(
    comm: &Comm,
    send: Option<(usize, usize)>,
    recv: usize,
    blocks: &[Block],
) -> MpiResult<()> {
    sched::run(comm, |s| allgatherv(s, send, recv, blocks))
}
