//! Collective algorithms, written as schedules (`core::sched`): each
//! function here appends the steps of one collective to a schedule, which
//! then runs blocking, nonblocking or persistent alike.
//!
//! Buffers are raw addresses with byte counts: the C face has checked them.
//! Data of non-contiguous datatypes arrives here packed.

use super::algorithms::Way;
use super::comm::Comm;
use super::error::MpiResult;
use super::op;
use super::sched::{self, Sched};
use super::topo::Hood;
use crate::core::consts::MPI_PROC_NULL;
use crate::core::types::{MPI_Datatype, MPI_Op};
use std::ffi::c_int;
use std::sync::atomic::Ordering;

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

/// Broadcast of `len` bytes at `buf` from `root`, by the algorithm the
/// communicator's table gives for this size (`core::algorithms`).
pub fn bcast(s: &mut Sched, n: c_int, buf: usize, len: usize, root: c_int) {
    let way = s.algorithms().bcast(n, len);
    bcast_by(s, way, n, buf, len, root)
}

/// Broadcast the way given.
pub fn bcast_by(s: &mut Sched, way: Way, n: c_int, buf: usize, len: usize, root: c_int) {
    if way == Way::Split && n > 2 {
        usage::BCAST_SPLIT.fetch_add(1, Ordering::Relaxed);
        bcast_split(s, n, buf, len, root)
    } else {
        usage::BCAST_BINOMIAL.fetch_add(1, Ordering::Relaxed);
        bcast_binomial(s, n, buf, len, root)
    }
}

/// How often each way of running a collective was taken (the tool
/// interface's performance variables).
pub mod usage {
    use std::sync::atomic::AtomicU64;
    /// Collectives through the node's shared cells (`shmcoll`).
    pub static NODE_LOCAL: AtomicU64 = AtomicU64::new(0);
    /// Schedules run to the end by a blocking call.
    pub static BLOCKING: AtomicU64 = AtomicU64::new(0);
    /// Schedules left to the progress engine (nonblocking, persistent).
    pub static STARTED: AtomicU64 = AtomicU64::new(0);
    /// Broadcasts by scatter and ring allgather, and by binomial tree.
    pub static BCAST_SPLIT: AtomicU64 = AtomicU64::new(0);
    pub static BCAST_BINOMIAL: AtomicU64 = AtomicU64::new(0);
}

/// Binomial-tree broadcast of `len` bytes at `buf` from `root`.
///
/// A rank whose receive fails (the counts do not match the root's) passes
/// the failure on to the ranks below it (see `Sched::fail`).
fn bcast_binomial(s: &mut Sched, n: c_int, buf: usize, len: usize, root: c_int) {
    down_tree(s, n, root, |_, _| (buf, len));
}

/// Down a binomial tree rooted at `root`: receive from the parent, then
/// send to each child, the bytes `part(first, count)` names for the
/// subtree of `count` ranks that starts `first` places after the root.
fn down_tree(s: &mut Sched, n: c_int, root: c_int, part: impl Fn(c_int, c_int) -> (usize, usize)) {
    let me = s.rank() as usize;
    tree_down(
        s,
        n as usize,
        me,
        root as usize,
        |x| x as c_int,
        |first, count| part(first as c_int, count as c_int),
    );
}

/// `down_tree` over `n` places, this rank at place `me`, the root at
/// place `root`, place `x` being communicator rank `rank_of(x)` (so a
/// tree may run over any subset of the ranks: `coll_hier`).
pub fn tree_down(
    s: &mut Sched,
    n: usize,
    me: usize,
    root: usize,
    rank_of: impl Fn(usize) -> c_int,
    part: impl Fn(usize, usize) -> (usize, usize),
) {
    let rel = (me + n - root) % n;
    let abs = |r: usize| rank_of((r + root) % n);
    // The lowest set bit of `rel` is the size of its subtree.
    let mut mask = 1;
    while mask < n {
        if rel & mask != 0 {
            let (p, l) = part(rel, mask);
            s.recv(abs(rel - mask), p, l);
            s.fence();
            break;
        }
        mask <<= 1;
    }
    mask >>= 1;
    while mask > 0 {
        if rel + mask < n {
            let (p, l) = part(rel + mask, mask);
            s.send(abs(rel + mask), p, l);
        }
        mask >>= 1;
    }
}

/// Large broadcast (van de Geijn): the buffer is cut into `n` blocks,
/// scattered down a binomial tree (each rank gets the blocks of its
/// subtree, so the root sends each byte once), then every rank passes
/// blocks to its right neighbour round a ring until all have all. The
/// root's outgoing bytes fall from `len * log2 n` to `len`, and the
/// copying is shared by every rank.
///
/// Block `j` belongs to the rank `j` places after the root. The steps do
/// not depend on `len`, so a count mismatch surfaces as receives of the
/// wrong length, never as a rank left waiting, and a rank that saw one
/// passes it on (see `Sched::fail`).
fn bcast_split(s: &mut Sched, n: c_int, buf: usize, len: usize, root: c_int) {
    let rel = (s.rank() - root).rem_euclid(n);
    let abs = move |r: c_int| (r + root) % n;
    // Bytes of blocks [a, b), as offsets into `buf`.
    let (q, extra) = (len / n as usize, len % n as usize);
    let at = move |j: c_int| {
        let j = j.clamp(0, n) as usize;
        j * q + j.min(extra)
    };
    let span = move |a: c_int, b: c_int| (buf + at(a), at(b) - at(a));
    down_tree(s, n, root, |first, count| span(first, first + count));
    // Ring allgather: in step k, pass on block rel - k (which arrived in
    // step k - 1, or was scattered here) and take block rel - k - 1;
    // blocks a rank got in the scatter do not travel to it again.
    let holds = move |r: c_int, j: c_int| {
        let sub = if r == 0 { n } else { (r & -r).min(n - r) };
        (j - r).rem_euclid(n) < sub
    };
    let (me_right, right, left) = ((rel + 1) % n, abs(rel + 1), abs(rel + n - 1));
    for k in 0..n - 1 {
        let out = (rel - k).rem_euclid(n);
        let inc = (rel - k - 1).rem_euclid(n);
        if !holds(me_right, out) {
            let (p, l) = span(out, out + 1);
            s.send(right, p, l);
        }
        if !holds(rel, inc) {
            let (p, l) = span(inc, inc + 1);
            s.recv(left, p, l);
        }
        s.fence();
    }
}

/// Above this many bytes a reduction of a commutative operation splits
/// the vector among the ranks (reduce-scatter, then gather), so each rank
/// combines only its share; below it, whole vectors travel (fewer rounds).
pub const SPLIT_REDUCTION: usize = 2048;

/// Whether the order of operands does not matter to `r`'s operation.
fn commutes(r: &Red) -> bool {
    op::is_commutative(r.op).unwrap_or(false)
}

/// Reduce every rank's `send` into `recv` at `root`.
///
/// Small vectors go up the binomial tree of `reduce_order`: each rank
/// takes in its children's partial results (each covering consecutive
/// ranks, lower ranks' part first), then sends its own to its parent. For
/// a commutative operation the tree is rooted at `root`; otherwise at rank
/// 0, so the operands meet in rank order, and rank 0 hands the result on.
/// Large vectors of a commutative operation are split (`reduce_split`).
/// Either way every run combines the same values in the same order:
/// floating-point results do not vary.
pub fn reduce(s: &mut Sched, n: c_int, send: usize, recv: usize, r: Red, root: c_int) {
    reduce_by(s, reduction_way(n, &r), n, send, recv, r, root)
}

/// How a reduction of `r` among `n` ranks goes by messages (`reduce` and
/// `allreduce` alike): split when the operation commutes and the vector is
/// large, with at least an element per rank.
pub fn reduction_way(n: c_int, r: &Red) -> Way {
    if commutes(r) && r.count >= pof2(n) as usize && r.len() > SPLIT_REDUCTION {
        Way::Split
    } else {
        Way::Whole
    }
}

/// Reduce the way given (split works for any count, blocks of no element
/// included).
pub fn reduce_by(s: &mut Sched, way: Way, n: c_int, send: usize, recv: usize, r: Red, root: c_int) {
    if way == Way::Split {
        return reduce_split(s, n, send, recv, r, root);
    }
    let len = r.len();
    let me = s.rank();
    let order = reduce_order(n, root, &r);
    let top = order.result as c_int;
    // The partial result (at first this rank's own input, never written)
    // and where the next part arrives; after combining, the two swap.
    let mut acc = send;
    let mut spare = None;
    // This rank's steps come in tree order: its children's, then its own
    // to its parent.
    for &(a, b) in &order.steps {
        if b == me as usize {
            s.send(a as c_int, acc, len);
            break;
        }
        if a == me as usize {
            let into = *spare.get_or_insert_with(|| s.temp(len));
            s.recv(b as c_int, into, len);
            s.fence();
            // into = acc op into: the lower ranks' part first.
            s.reduce(r.op, r.dt, r.count, acc, into);
            spare = (acc != send).then_some(acc);
            acc = into;
        }
    }
    if me == top && top == root {
        if acc != recv {
            s.copy(acc, recv, len);
        }
    } else if me == top {
        s.send(root, acc, len);
    } else if me == root {
        s.fence();
        s.recv(top, recv, len);
    }
    // Callers go on with the result (inter-group reductions pass it on).
    s.fence();
}

/// Largest power of two not above `n` (n >= 1).
fn pof2(n: c_int) -> c_int {
    1 << (31 - (n as u32).leading_zeros())
}

/// The ranks of a recursive algorithm on a power of two: with n = 2^k +
/// rem ranks, the first 2*rem pair up (even, odd) and the even one of each
/// pair sits out, its input folded into the odd one.
struct Fold {
    pof2: c_int,
    rem: c_int,
}

impl Fold {
    fn new(n: c_int) -> Fold {
        let pof2 = pof2(n);
        Fold {
            pof2,
            rem: n - pof2,
        }
    }

    /// This rank's place among the 2^k, if it takes part.
    fn vrank(&self, me: c_int) -> Option<c_int> {
        if me < 2 * self.rem {
            (me % 2 == 1).then_some(me / 2)
        } else {
            Some(me - self.rem)
        }
    }

    /// The rank in place `v`.
    fn real(&self, v: c_int) -> c_int {
        if v < self.rem {
            2 * v + 1
        } else {
            v + self.rem
        }
    }
}

/// Reduce-scatter by recursive halving over the 2^k ranks of `f`: the
/// vector in `acc` is cut into 2^k blocks; in each round a rank keeps half
/// of what it still holds, sends the other half to its partner and
/// combines the partner's copy of its half into `acc`. At the end block v
/// of `acc` holds the full result at place v.
fn halve(s: &mut Sched, f: &Fold, v: c_int, acc: usize, tmp: usize, r: Red) {
    let me = s.rank();
    let mut mask = f.pof2 / 2;
    while mask > 0 {
        let partner = f.real(v ^ mask);
        let (sa, sb) = split_range(r, f.pof2, v ^ mask, mask);
        let (ka, kb) = split_range(r, f.pof2, v, mask);
        s.send(partner, acc + sa, sb - sa);
        s.recv(partner, tmp + ka, kb - ka);
        s.fence();
        let count = (kb - ka) / r.size;
        if partner < me {
            s.reduce(r.op, r.dt, count, tmp + ka, acc + ka);
        } else {
            s.reduce(r.op, r.dt, count, acc + ka, tmp + ka);
            s.copy(tmp + ka, acc + ka, kb - ka);
        }
        mask >>= 1;
    }
}

/// Byte range of `m` consecutive blocks (from `v` rounded down to a
/// multiple of `m`) when `r`'s elements are cut into `parts` blocks whose
/// sizes differ by at most one element.
fn split_range(r: Red, parts: c_int, v: c_int, m: c_int) -> (usize, usize) {
    let (q, extra) = (r.count / parts as usize, r.count % parts as usize);
    let at = |i: usize| (i * q + i.min(extra)) * r.size;
    let first = (v & !(m - 1)) as usize;
    (at(first), at(first + m as usize))
}

/// Large reduction of a commutative operation: fold to a power of two,
/// reduce-scatter by recursive halving, then every place sends its block
/// of the result to `root`.
fn reduce_split(s: &mut Sched, n: c_int, send: usize, recv: usize, r: Red, root: c_int) {
    let len = r.len();
    let me = s.rank();
    let f = Fold::new(n);
    if let Some(v) = f.vrank(me) {
        let acc = s.temp(len);
        let tmp = s.temp(len);
        s.copy(send, acc, len);
        if me < 2 * f.rem {
            s.recv(me - 1, tmp, len);
            s.fence();
            s.reduce(r.op, r.dt, r.count, tmp, acc);
        }
        halve(s, &f, v, acc, tmp, r);
        let (a, b) = split_range(r, f.pof2, v, 1);
        if me == root {
            s.copy(acc + a, recv + a, b - a);
        } else {
            s.send(root, acc + a, b - a);
        }
    } else {
        s.send(me + 1, send, len);
    }
    if me == root {
        for v in (0..f.pof2).filter(|&v| f.real(v) != me) {
            let (a, b) = split_range(r, f.pof2, v, 1);
            s.recv(f.real(v), recv + a, b - a);
        }
    }
    s.fence();
}

/// Allreduce. Small vectors, and operations that do not commute: recursive
/// doubling. The ranks beyond the largest power of two first fold into
/// their lower neighbour; then in round k each rank swaps its partial
/// result with rank ^ 2^k and combines the two, always the lower ranks'
/// part first, so every rank computes the same values in the same order
/// (bit-identical floating point, non-commutative operations in rank
/// order). Large vectors of commutative operations: Rabenseifner's
/// reduce-scatter by recursive halving, then allgather by recursive
/// doubling; each block is combined on one rank only, so all agree.
pub fn allreduce(s: &mut Sched, n: c_int, send: usize, recv: usize, r: Red) {
    allreduce_by(s, reduction_way(n, &r), n, send, recv, r)
}

/// Allreduce the way given.
pub fn allreduce_by(s: &mut Sched, way: Way, n: c_int, send: usize, recv: usize, r: Red) {
    let len = r.len();
    let me = s.rank();
    let f = Fold::new(n);
    let Some(v) = f.vrank(me) else {
        // Folded out; the fence keeps an in-place input from being
        // overwritten while it is still being sent.
        s.send(me + 1, send, len);
        s.fence();
        s.recv(me + 1, recv, len);
        s.fence();
        return;
    };
    let split = way == Way::Split;
    let acc = if split { recv } else { s.temp(len) };
    let tmp = s.temp(len);
    if send != acc {
        s.copy(send, acc, len);
    }
    if me < 2 * f.rem {
        s.recv(me - 1, tmp, len);
        s.fence();
        combine(s, r, tmp, acc, true);
    }
    if split {
        halve(s, &f, v, acc, tmp, r);
        let mut mask = 1;
        while mask < f.pof2 {
            let partner = f.real(v ^ mask);
            let (ma, mb) = split_range(r, f.pof2, v, mask);
            let (pa, pb) = split_range(r, f.pof2, v ^ mask, mask);
            s.send(partner, acc + ma, mb - ma);
            s.recv(partner, acc + pa, pb - pa);
            s.fence();
            mask <<= 1;
        }
    } else {
        let mut mask = 1;
        while mask < f.pof2 {
            let partner = f.real(v ^ mask);
            s.send(partner, acc, len);
            s.recv(partner, tmp, len);
            s.fence();
            combine(s, r, tmp, acc, partner < me);
            mask <<= 1;
        }
        s.copy(acc, recv, len);
    }
    if me < 2 * f.rem {
        s.send(me - 1, recv, len);
    }
}

/// The order in which a reduction of whole vectors combines its operands,
/// as steps `(a, b)`: part `a` becomes `part a op part b`, part `a` always
/// holding the lower ranks' share. Part `i` starts as rank `i`'s input;
/// the result ends in part `result`.
///
/// `reduce` and `allreduce` combine in exactly these orders whenever they
/// do not split the vector, and the node-local path (`shmcoll`) evaluates
/// the same steps, so a program's floating-point results do not depend on
/// which way a collective went (`OXMPI_SHM_COLL`, message sizes).
pub struct Order {
    pub steps: Vec<(usize, usize)>,
    pub result: usize,
}

/// The rank `reduce`'s tree is rooted at: the root for a commutative
/// operation, rank 0 otherwise (so the operands meet in rank order).
pub fn reduce_top(root: c_int, r: &Red) -> c_int {
    if commutes(r) { root } else { 0 }
}

/// `reduce`'s order (unsplit): the binomial tree rooted at
/// `reduce_top(root)`; a rank first takes in the partial results of its
/// children in the order of their distance, each child's covering the
/// consecutive ranks above it.
pub fn reduce_order(n: c_int, root: c_int, r: &Red) -> Order {
    let top = reduce_top(root, r);
    let abs = |x: c_int| ((x + top) % n) as usize;
    let mut steps = Vec::with_capacity(n as usize);
    // Children (higher relative ranks) finish before their parents.
    for rel in (0..n).rev() {
        let mut mask = 1;
        while mask < n && rel & mask == 0 {
            if rel + mask < n {
                steps.push((abs(rel), abs(rel + mask)));
            }
            mask <<= 1;
        }
    }
    Order {
        steps,
        result: top as usize,
    }
}

/// `allreduce`'s order (unsplit): the ranks beyond the largest power of
/// two fold into their upper neighbour (`x[2v] op x[2v+1]`), then the
/// 2^k places combine pairwise, lower place first, in a balanced tree:
/// what recursive doubling computes on every rank.
pub fn allreduce_order(n: c_int) -> Order {
    let f = Fold::new(n);
    // A part standing for place v.
    let part = |v: c_int| if v < f.rem { 2 * v } else { v + f.rem } as usize;
    let mut steps: Vec<(usize, usize)> = (0..f.rem).map(part).map(|p| (p, p + 1)).collect();
    let mut mask = 1;
    while mask < f.pof2 {
        for v in (0..f.pof2).step_by(2 * mask as usize) {
            steps.push((part(v), part(v + mask)));
        }
        mask <<= 1;
    }
    Order { steps, result: 0 }
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
                s.copy_own(p, recv.wrapping_add(off), n, len);
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
                s.copy_own(send.wrapping_add(off), p, len, n);
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
            s.copy_own(p, recv.wrapping_add(blocks[me].0), n, blocks[me].1);
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
        s.copy_own(
            send.wrapping_add(sblocks[me].0),
            recv.wrapping_add(rblocks[me].0),
            sblocks[me].1,
            rblocks[me].1,
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

/// Block i of every rank's vector (`counts[i]` elements) goes to rank i,
/// which combines the blocks in rank order: each rank does its own share
/// of the work, and non-commutative operations see their operands in
/// order.
pub fn reduce_scatter(s: &mut Sched, send: usize, recv: usize, counts: &[usize], r: Red) {
    let me = s.rank() as usize;
    let mut offs = Vec::with_capacity(counts.len() + 1);
    offs.push(0);
    for &c in counts {
        offs.push(offs.last().unwrap() + c * r.size);
    }
    let mine = counts[me] * r.size;
    let mut parts = vec![send + offs[me]; counts.len()];
    if mine > 0 {
        for (i, p) in parts.iter_mut().enumerate().filter(|&(i, _)| i != me) {
            *p = s.temp(mine);
            s.recv(i as c_int, *p, mine);
        }
    }
    for (j, &c) in counts.iter().enumerate() {
        if j != me && c > 0 {
            s.send(j as c_int, send + offs[j], c * r.size);
        }
    }
    s.fence();
    if mine == 0 {
        return;
    }
    // acc = x0 op (x1 op ... (xn-2 op xn-1)), built from the top down in a
    // buffer of our own (the last part may be the caller's input).
    let last = parts.len() - 1;
    let acc = if last == me {
        s.temp(mine)
    } else {
        parts[last]
    };
    if last == me {
        s.copy(parts[last], acc, mine);
    }
    for &p in parts[..last].iter().rev() {
        s.reduce(r.op, r.dt, counts[me], p, acc);
    }
    s.copy(acc, recv, mine);
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

/// Whether some member of `c` is on another host (reached through the
/// network, not the node segment).
pub fn spans_hosts(c: &Comm) -> bool {
    let engine = super::p2p::engine();
    let node = super::shmcoll::node();
    c.group.iter().any(|w| {
        engine.transport_to(w).is_some_and(|t| t.name() == "ofi")
            && node.is_none_or(|s| s.local(w).is_none())
    })
}

/// A segment of `size` bytes shared by `c`'s members: rank 0 makes it and
/// tells the others its name; the name is gone once all have it mapped.
pub fn shared_segment(c: &Comm, size: usize) -> MpiResult<memmap2::MmapMut> {
    if spans_hosts(c) {
        // Every member finds the same answer, so all fail alike.
        return Err(super::error::MpiError::new(
            super::consts::MPI_ERR_UNSUPPORTED_OPERATION,
            "the communicator spans several hosts, and memory shared by its members \
             (shared windows, shared file pointers) works within one host only in this version",
        ));
    }
    host_segment(c, size, &vec![0; c.size as usize])
}

/// A segment of `size` bytes per host, shared by the members of `c` with
/// the same host color (`comm::host_colors`): the first member of each
/// host makes it, every member learns the names in one all-gather, and
/// the names are gone once all have theirs mapped. Collective over `c`.
pub fn host_segment(c: &Comm, size: usize, hosts: &[c_int]) -> MpiResult<memmap2::MmapMut> {
    let me = c.rank as usize;
    let leader = hosts[me] as usize == me;
    let mut name = String::new();
    let mut made = None;
    if leader {
        match crate::transport::shm::create_shared(size) {
            Ok((n, m)) => {
                name = n;
                made = Some(m);
            }
            Err(e) => name = format!("!{e}"),
        }
    }
    let n = c.size as usize;
    let all = allgather_text(c, &name, 64)?;
    let text = &all[hosts[me] as usize];
    // A failure on any host fails every member alike.
    if let Some(why) = (0..n)
        .filter(|&r| hosts[r] as usize == r)
        .find_map(|r| all[r].strip_prefix('!').map(str::to_owned))
    {
        return Err(super::error::MpiError::new(
            super::consts::MPI_ERR_NO_MEM,
            format!("cannot make shared memory: {why}"),
        ));
    }
    let seg = match made {
        Some(m) => Ok(m),
        None => crate::transport::shm::open_shared(text, size).map_err(|e| {
            super::error::MpiError::new(
                super::consts::MPI_ERR_NO_MEM,
                format!("cannot map shared memory: {e}"),
            )
        }),
    };
    let barrier = sched::run(c, |s| barrier(s, c.size));
    if leader {
        crate::transport::shm::unlink_shared(text);
    }
    barrier?;
    seg
}

/// Every member's `mine`, in rank order, through one all-gather of
/// fixed records of `width` bytes (longer texts are cut). Collective.
pub fn allgather_text(c: &Comm, mine: &str, width: usize) -> MpiResult<Vec<String>> {
    let mut rec = vec![0u8; width];
    let k = mine.len().min(width - 1);
    rec[..k].copy_from_slice(&mine.as_bytes()[..k]);
    let n = c.size as usize;
    let mut all = vec![0u8; n * width];
    let blocks: Vec<Block> = (0..n).map(|r| (r * width, width)).collect();
    allgatherv_blocking(
        c,
        Some((rec.as_ptr() as usize, width)),
        all.as_mut_ptr() as usize,
        &blocks,
    )?;
    Ok(all
        .chunks(width)
        .map(|b| {
            let end = b.iter().position(|&x| x == 0).unwrap_or(width);
            String::from_utf8_lossy(&b[..end]).into_owned()
        })
        .collect())
}

/// Broadcast a vector of plain values whose length only the root knows.
pub fn bcast_vec<T: Copy + Default>(comm: &Comm, v: &mut Vec<T>, root: c_int) -> MpiResult<()> {
    let mut len = [v.len() as u64];
    bcast_blocking(comm, len.as_mut_ptr() as usize, 8, root)?;
    v.resize(len[0] as usize, T::default());
    bcast_blocking(
        comm,
        v.as_mut_ptr() as usize,
        size_of::<T>() * v.len(),
        root,
    )
}

pub fn allreduce_blocking(comm: &Comm, send: usize, recv: usize, r: Red) -> MpiResult<()> {
    sched::run(comm, |s| allreduce(s, comm.size, send, recv, r))
}

/// The least and the greatest of `v` over `comm`'s members, in one
/// all-reduce (of `v` and `-v`, by maximum; `v` above `i64::MIN`).
/// Blocking; every member calls.
pub fn least_and_most(comm: &Comm, v: i64) -> MpiResult<(i64, i64)> {
    let mine = [v, v.wrapping_neg()];
    let mut seen = [0i64; 2];
    let max = Red {
        count: 2,
        dt: crate::core::consts::MPI_INT64_T,
        size: 8,
        op: crate::core::consts::MPI_MAX,
    };
    allreduce_blocking(
        comm,
        mine.as_ptr() as usize,
        seen.as_mut_ptr() as usize,
        max,
    )?;
    Ok((seen[1].wrapping_neg(), seen[0]))
}

pub fn allgatherv_blocking(
    comm: &Comm,
    send: Option<(usize, usize)>,
    recv: usize,
    blocks: &[Block],
) -> MpiResult<()> {
    sched::run(comm, |s| allgatherv(s, send, recv, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::consts::{MPI_DOUBLE, MPI_SUM};

    /// The expression an order computes, written out.
    fn eval(o: &Order, n: usize) -> String {
        let mut parts: Vec<String> = (0..n).map(|i| format!("x{i}")).collect();
        for &(a, b) in &o.steps {
            parts[a] = format!("({} {})", parts[a], parts[b]);
        }
        parts[o.result].clone()
    }

    fn sum() -> Red {
        Red {
            count: 1,
            dt: MPI_DOUBLE,
            size: 8,
            op: MPI_SUM,
        }
    }

    #[test]
    fn reduce_order_is_the_binomial_tree() {
        assert_eq!(eval(&reduce_order(1, 0, &sum()), 1), "x0");
        assert_eq!(eval(&reduce_order(3, 0, &sum()), 3), "((x0 x1) x2)");
        assert_eq!(eval(&reduce_order(3, 1, &sum()), 3), "((x1 x2) x0)");
        assert_eq!(eval(&reduce_order(4, 2, &sum()), 4), "((x2 x3) (x0 x1))");
        assert_eq!(
            eval(&reduce_order(7, 0, &sum()), 7),
            "(((x0 x1) (x2 x3)) ((x4 x5) x6))"
        );
    }

    #[test]
    fn allreduce_order_is_recursive_doubling() {
        assert_eq!(eval(&allreduce_order(2), 2), "(x0 x1)");
        assert_eq!(eval(&allreduce_order(3), 3), "((x0 x1) x2)");
        assert_eq!(eval(&allreduce_order(5), 5), "(((x0 x1) x2) (x3 x4))");
        assert_eq!(eval(&allreduce_order(6), 6), "(((x0 x1) (x2 x3)) (x4 x5))");
    }

    #[test]
    fn every_operand_is_used_once_and_the_last_step_makes_the_result() {
        for n in 1..40 {
            for o in [allreduce_order(n)]
                .into_iter()
                .chain((0..n).map(|t| reduce_order(n, t, &sum())))
            {
                assert!(o.steps.last().is_none_or(|s| s.0 == o.result));
                assert_eq!(o.steps.len(), n as usize - 1);
                let e = eval(&o, n as usize);
                for i in 0..n {
                    assert_eq!(
                        e.matches(&format!("x{i})")).count()
                            + e.matches(&format!("x{i} ")).count()
                            + usize::from(e == format!("x{i}")),
                        1,
                        "{e}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "coll_sim_tests.rs"]
mod sim_tests;
