//! Collective operations over point-to-point messages in the
//! communicator's collective context (so they never match user messages).
//!
//! These are the simple, correct algorithms the rest of the library needs
//! first (binomial broadcast, rank-ordered reduction at the root, direct
//! exchanges for the gather/scatter/all-to-all family); the collectives
//! issue replaces them with tuned ones. Every receive names its source, and
//! each operation has its own tag, so successive collectives on one
//! communicator cannot take each other's messages.
//!
//! Buffers are raw addresses with byte counts: the C face has checked them.

use super::comm::Comm;
use super::error::MpiResult;
use super::op;
use super::p2p::{Envelope, SendBuf, engine};
use super::request::{ReqKind, Request, SendMode};
use crate::abi::types::{MPI_Datatype, MPI_Op};
use std::ffi::c_int;
use std::sync::Arc;

const TAG_BARRIER: c_int = 1;
const TAG_BCAST: c_int = 2;
const TAG_REDUCE: c_int = 3;
const TAG_GATHER: c_int = 4;
const TAG_SCATTER: c_int = 5;
const TAG_ALLGATHER: c_int = 6;
const TAG_ALLTOALL: c_int = 7;
const TAG_SCAN: c_int = 8;

/// A block of a buffer: byte offset (two's complement: displacements may
/// be negative, so addresses are formed with `wrapping_add`) and length.
pub type Block = (usize, usize);

fn isend(comm: &Comm, to: c_int, tag: c_int, ptr: usize, len: usize) -> MpiResult<Arc<Request>> {
    let r = Request::new(ReqKind::Send, comm.handle);
    let env = Envelope {
        ctx: comm.coll_ctx(),
        src: comm.rank,
        tag,
    };
    engine().isend(
        env,
        comm.world_rank(to),
        SendBuf::user(ptr, len),
        SendMode::Standard,
        r.clone(),
    )?;
    Ok(r)
}

fn irecv(comm: &Comm, from: c_int, tag: c_int, ptr: usize, cap: usize) -> Arc<Request> {
    let r = Request::new(ReqKind::Recv, comm.handle);
    engine().irecv(comm.coll_ctx(), from, tag, ptr, cap, r.clone());
    r
}

/// Wait for all, then report the first failure (a truncated block means
/// the ranks disagreed on counts).
fn wait_all(reqs: &[Arc<Request>]) -> MpiResult<()> {
    engine().wait_until(|| reqs.iter().all(|r| r.is_done()));
    match reqs.iter().find_map(|r| r.error()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn copy(from: usize, to: usize, len: usize) {
    if len > 0 && from != to {
        // SAFETY: the C face checked both buffers hold `len` bytes.
        unsafe { std::ptr::copy(from as *const u8, to as *mut u8, len) };
    }
}

/// Dissemination barrier: in round k every rank signals rank + 2^k and
/// hears from rank - 2^k; after ceil(log2 n) rounds everyone has entered.
pub fn barrier(comm: &Comm) -> MpiResult<()> {
    let (n, me) = (comm.size, comm.rank);
    let mut dist = 1;
    while dist < n {
        let r = irecv(comm, (me - dist).rem_euclid(n), TAG_BARRIER, 0, 0);
        let s = isend(comm, (me + dist) % n, TAG_BARRIER, 0, 0)?;
        wait_all(&[r, s])?;
        dist *= 2;
    }
    Ok(())
}

/// Binomial-tree broadcast of `len` bytes at `buf` from `root`. A rank
/// whose receive fails (a count too small: truncation) still passes on
/// what it got, so no rank below it in the tree is left waiting.
pub fn bcast(comm: &Comm, buf: usize, len: usize, root: c_int) -> MpiResult<()> {
    let n = comm.size;
    let rel = (comm.rank - root).rem_euclid(n);
    let abs = |r: c_int| (r + root) % n;
    let mut mask = 1;
    let mut failed = Ok(());
    while mask < n {
        if rel & mask != 0 {
            failed = wait_all(&[irecv(comm, abs(rel - mask), TAG_BCAST, buf, len)]);
            break;
        }
        mask <<= 1;
    }
    let mut sends = Vec::new();
    mask >>= 1;
    while mask > 0 {
        if rel + mask < n {
            sends.push(isend(comm, abs(rel + mask), TAG_BCAST, buf, len)?);
        }
        mask >>= 1;
    }
    wait_all(&sends)?;
    failed
}

/// Reduce `count` elements of `dt` from every rank's `send` into `recv` at
/// `root`, combining in rank order (x0 op x1 op ... op xn-1) so that
/// non-commutative operations and floating-point results are the same on
/// every run.
#[allow(clippy::too_many_arguments)]
pub fn reduce(
    comm: &Comm,
    send: usize,
    recv: usize,
    count: usize,
    dt: MPI_Datatype,
    elem_size: usize,
    opr: MPI_Op,
    root: c_int,
) -> MpiResult<()> {
    let len = count * elem_size;
    if comm.rank != root {
        return wait_all(&[isend(comm, root, TAG_REDUCE, send, len)?]);
    }
    let n = comm.size as usize;
    let mut parts: Vec<Vec<u8>> = (0..n).map(|_| vec![0u8; len]).collect();
    let mut reqs = Vec::new();
    for (i, p) in parts.iter_mut().enumerate() {
        if i as c_int == root {
            copy(send, p.as_mut_ptr() as usize, len);
        } else {
            reqs.push(irecv(
                comm,
                i as c_int,
                TAG_REDUCE,
                p.as_mut_ptr() as usize,
                len,
            ));
        }
    }
    wait_all(&reqs)?;
    let mut acc = parts.pop().expect("at least one rank");
    for p in parts.iter().rev() {
        // SAFETY: both hold `count` elements of `dt`.
        unsafe { op::apply(opr, dt, count, p.as_ptr(), acc.as_mut_ptr()) }?;
    }
    copy(acc.as_ptr() as usize, recv, len);
    Ok(())
}

/// Reduce to rank 0, then broadcast the result.
pub fn allreduce(
    comm: &Comm,
    send: usize,
    recv: usize,
    count: usize,
    dt: MPI_Datatype,
    elem_size: usize,
    opr: MPI_Op,
) -> MpiResult<()> {
    reduce(comm, send, recv, count, dt, elem_size, opr, 0)?;
    bcast(comm, recv, count * elem_size, 0)
}

/// Gather `len` bytes from every rank into `blocks` of `recv` at `root`;
/// `send` is `None` when the root's block is already in place.
pub fn gatherv(
    comm: &Comm,
    send: Option<(usize, usize)>,
    recv: usize,
    blocks: &[Block],
    root: c_int,
) -> MpiResult<()> {
    if comm.rank != root {
        let (p, len) = send.unwrap_or((0, 0));
        return wait_all(&[isend(comm, root, TAG_GATHER, p, len)?]);
    }
    let mut reqs = Vec::new();
    for (i, &(off, len)) in blocks.iter().enumerate() {
        if i as c_int == root {
            if let Some((p, n)) = send {
                copy(p, recv.wrapping_add(off), n.min(len));
            }
        } else {
            reqs.push(irecv(
                comm,
                i as c_int,
                TAG_GATHER,
                recv.wrapping_add(off),
                len,
            ));
        }
    }
    wait_all(&reqs)
}

/// Scatter `blocks` of `send` at `root`, `len` bytes into every rank's
/// `recv`; `recv` is `None` at a root that keeps its block in place.
pub fn scatterv(
    comm: &Comm,
    send: usize,
    blocks: &[Block],
    recv: Option<(usize, usize)>,
    root: c_int,
) -> MpiResult<()> {
    if comm.rank != root {
        let (p, len) = recv.unwrap_or((0, 0));
        return wait_all(&[irecv(comm, root, TAG_SCATTER, p, len)]);
    }
    let mut reqs = Vec::new();
    for (i, &(off, len)) in blocks.iter().enumerate() {
        if i as c_int == root {
            if let Some((p, n)) = recv {
                copy(send.wrapping_add(off), p, n.min(len));
            }
        } else {
            reqs.push(isend(
                comm,
                i as c_int,
                TAG_SCATTER,
                send.wrapping_add(off),
                len,
            )?);
        }
    }
    wait_all(&reqs)
}

/// Every rank's `send` into `blocks` of every rank's `recv`; `send` is
/// `None` when each rank's own block is already in place.
pub fn allgatherv(
    comm: &Comm,
    send: Option<(usize, usize)>,
    recv: usize,
    blocks: &[Block],
) -> MpiResult<()> {
    let me = comm.rank as usize;
    let (mine, mine_len) = match send {
        Some((p, n)) => {
            copy(p, recv.wrapping_add(blocks[me].0), n.min(blocks[me].1));
            (p, n)
        }
        None => (recv.wrapping_add(blocks[me].0), blocks[me].1),
    };
    let mut reqs = Vec::new();
    for (i, &(off, len)) in blocks.iter().enumerate() {
        if i != me {
            reqs.push(irecv(
                comm,
                i as c_int,
                TAG_ALLGATHER,
                recv.wrapping_add(off),
                len,
            ));
        }
    }
    for i in (0..blocks.len()).filter(|&i| i != me) {
        reqs.push(isend(comm, i as c_int, TAG_ALLGATHER, mine, mine_len)?);
    }
    wait_all(&reqs)
}

/// Block `sblocks[i]` of `send` to rank i, into `rblocks[j]` of `recv` from
/// rank j. `send` is `None` for `MPI_IN_PLACE` (data taken from `recv`).
pub fn alltoallv(
    comm: &Comm,
    send: Option<usize>,
    sblocks: &[Block],
    recv: usize,
    rblocks: &[Block],
) -> MpiResult<()> {
    // In place: send from a copy of the receive buffer.
    let saved: Vec<u8>;
    let send = match send {
        Some(p) => p,
        None => {
            let end = rblocks
                .iter()
                .map(|&(o, l)| (o as isize + l as isize).max(0) as usize)
                .max()
                .unwrap_or(0);
            saved = if end == 0 {
                Vec::new()
            } else {
                // SAFETY: the receive buffer spans all of its blocks.
                unsafe { std::slice::from_raw_parts(recv as *const u8, end) }.to_vec()
            };
            saved.as_ptr() as usize
        }
    };
    let me = comm.rank as usize;
    copy(
        send.wrapping_add(sblocks[me].0),
        recv.wrapping_add(rblocks[me].0),
        sblocks[me].1.min(rblocks[me].1),
    );
    let mut reqs = Vec::new();
    for (i, &(off, len)) in rblocks.iter().enumerate() {
        if i != me {
            reqs.push(irecv(
                comm,
                i as c_int,
                TAG_ALLTOALL,
                recv.wrapping_add(off),
                len,
            ));
        }
    }
    for (i, &(off, len)) in sblocks.iter().enumerate() {
        if i != me {
            reqs.push(isend(
                comm,
                i as c_int,
                TAG_ALLTOALL,
                send.wrapping_add(off),
                len,
            )?);
        }
    }
    wait_all(&reqs)
}

/// Reduce the whole vector to rank 0, then scatter `counts[i]` elements
/// of the result to rank i.
#[allow(clippy::too_many_arguments)]
pub fn reduce_scatter(
    comm: &Comm,
    send: usize,
    recv: usize,
    counts: &[usize],
    dt: MPI_Datatype,
    elem_size: usize,
    opr: MPI_Op,
) -> MpiResult<()> {
    let total: usize = counts.iter().sum();
    let mut full = vec![0u8; total * elem_size];
    let full_at = full.as_mut_ptr() as usize;
    reduce(comm, send, full_at, total, dt, elem_size, opr, 0)?;
    let mut blocks = Vec::with_capacity(counts.len());
    let mut off = 0;
    for &c in counts {
        blocks.push((off * elem_size, c * elem_size));
        off += c;
    }
    let mine = counts[comm.rank as usize] * elem_size;
    scatterv(comm, full_at, &blocks, Some((recv, mine)), 0)
}

/// Inclusive (`exclusive` false) or exclusive prefix reduction: rank i
/// gets x0 op ... op xi (or op x(i-1)), passed along the ranks in order.
#[allow(clippy::too_many_arguments)]
pub fn scan(
    comm: &Comm,
    send: usize,
    recv: usize,
    count: usize,
    dt: MPI_Datatype,
    elem_size: usize,
    opr: MPI_Op,
    exclusive: bool,
) -> MpiResult<()> {
    let len = count * elem_size;
    let (me, n) = (comm.rank, comm.size);
    // My own contribution, saved first: with MPI_IN_PLACE it is in `recv`.
    let mut partial = vec![0u8; len];
    copy(send, partial.as_mut_ptr() as usize, len);
    if me > 0 {
        let mut before = vec![0u8; len];
        wait_all(&[irecv(
            comm,
            me - 1,
            TAG_SCAN,
            before.as_mut_ptr() as usize,
            len,
        )])?;
        if exclusive {
            copy(before.as_ptr() as usize, recv, len);
        }
        // partial = before op mine
        // SAFETY: both hold `count` elements of `dt`.
        unsafe { op::apply(opr, dt, count, before.as_ptr(), partial.as_mut_ptr()) }?;
    }
    if !exclusive {
        copy(partial.as_ptr() as usize, recv, len);
    }
    if me + 1 < n {
        wait_all(&[isend(
            comm,
            me + 1,
            TAG_SCAN,
            partial.as_ptr() as usize,
            len,
        )?])?;
    }
    Ok(())
}
