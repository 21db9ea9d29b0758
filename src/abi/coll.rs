//! Collective operations and reduction operators, the C face: argument
//! checks (root, counts, datatypes, `MPI_IN_PLACE`), then `core::coll`.
//! Each collective has one implementation taking 64-bit counts; the `int`
//! and large-count (`_c`) C functions both call it.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::types::*;
use super::util::{out, put};
use crate::abi::callbacks::{MPI_User_function, MPI_User_function_c};
use crate::abi::consts::*;
use crate::core::coll::{self, Block};
use crate::core::comm::{self, Comm};
use crate::core::datatype::{self, MsgBuf};
use crate::core::error::{MpiError, MpiResult};
use crate::core::op::{self, USER_OPS, UserOp};
use std::ffi::{c_int, c_void};

fn in_place(p: *const c_void) -> bool {
    p == MPI_IN_PLACE.cast_const()
}

/// The communicator of a collective: intercommunicator collectives come
/// with the collectives issue.
fn intra(c: MPI_Comm) -> MpiResult<std::sync::Arc<Comm>> {
    let comm = comm::get(c)?;
    comm::intra_only(&comm, "collectives on")?;
    Ok(comm)
}

fn root_of(comm: &Comm, root: c_int) -> MpiResult<c_int> {
    if (0..comm.size).contains(&root) {
        Ok(root)
    } else {
        Err(MpiError::new(
            MPI_ERR_ROOT,
            format!("invalid root {root} (communicator size {})", comm.size),
        ))
    }
}

/// A per-rank array argument: `int` in the classic functions, `MPI_Count`
/// or `MPI_Aint` in the large-count ones.
#[derive(Clone, Copy)]
enum Arr {
    Int(*const c_int),
    Big(*const i64),
}

impl Arr {
    fn is_null(self) -> bool {
        match self {
            Arr::Int(p) => p.is_null(),
            Arr::Big(p) => p.is_null(),
        }
    }

    /// The first `n` values (the caller checked the pointer).
    fn values(self, n: usize) -> Vec<i64> {
        // SAFETY: the user passes one value per rank.
        unsafe {
            match self {
                Arr::Int(p) => std::slice::from_raw_parts(p, n)
                    .iter()
                    .map(|&x| x.into())
                    .collect(),
                Arr::Big(p) => std::slice::from_raw_parts(p, n).to_vec(),
            }
        }
    }
}

const NO_ARR: Arr = Arr::Int(std::ptr::null());

/// Which way data flows through a buffer argument of a collective.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Read by the collective (send buffers).
    In,
    /// Written by it (receive buffers).
    Out,
    /// Both (`MPI_IN_PLACE`).
    InOut,
}

/// The buffers of one collective call as the algorithms see them:
/// contiguous bytes. A buffer of a non-contiguous datatype is replaced by a
/// packed copy (filled first if the collective reads it); `finish` unpacks
/// the copies the collective wrote into the user's buffers.
#[derive(Default)]
struct Staging {
    temps: Vec<Box<[u8]>>,
    /// Output blocks: where in which temp, and the user's buffer.
    outputs: Vec<(usize, usize, MsgBuf)>,
}

impl Staging {
    /// A packed copy of `m`, as address and length.
    fn stage(&mut self, blocks: &[MsgBuf], dir: Dir) -> usize {
        let total = blocks.iter().map(|b| b.bytes).sum::<usize>();
        let mut temp = vec![0u8; total].into_boxed_slice();
        let base = temp.as_mut_ptr() as usize;
        let mut at = 0;
        for b in blocks {
            if dir != Dir::Out {
                temp[at..at + b.bytes].copy_from_slice(&b.packed());
            }
            if dir != Dir::In {
                self.outputs.push((self.temps.len(), at, b.clone()));
            }
            at += b.bytes;
        }
        self.temps.push(temp);
        base
    }

    /// Address and byte length of `count` elements of `dt` at `buf`.
    fn span(
        &mut self,
        buf: *const c_void,
        count: i64,
        dt: MPI_Datatype,
        dir: Dir,
    ) -> MpiResult<(usize, usize)> {
        let m = MsgBuf::new(buf as usize, count, dt)?;
        if m.layout.is_none() {
            return Ok((m.addr, m.bytes));
        }
        let len = m.bytes;
        Ok((self.stage(&[m], dir), len))
    }

    /// The blocks of a collective's buffer, from counts and displacements
    /// (in extents of `dt`) for the v-forms, or `count` elements per rank:
    /// the base address and each block's offset from it and length.
    fn blocks(
        &mut self,
        buf: *const c_void,
        n: c_int,
        counts: Arr,
        displs: Option<Arr>,
        count: i64,
        dt: MPI_Datatype,
        what: &str,
        dir: Dir,
    ) -> MpiResult<(usize, Vec<Block>)> {
        let n = n as usize;
        let counts = match displs {
            Some(_) if counts.is_null() => {
                return Err(MpiError::arg(format!("{what}counts is a null pointer")));
            }
            Some(_) => counts.values(n),
            None => vec![count; n],
        };
        let displs: Vec<i64> = match displs {
            Some(d) if d.is_null() => {
                return Err(MpiError::arg("displs is a null pointer"));
            }
            Some(d) => d.values(n),
            None => (0..n as i64).map(|i| i * count).collect(),
        };
        if let Some(&c) = counts.iter().find(|&&c| c < 0) {
            return Err(MpiError::new(MPI_ERR_COUNT, format!("negative count {c}")));
        }
        let extent = if counts.iter().all(|&c| c == 0) {
            0
        } else {
            datatype::get(dt)?.extent()
        };
        // Displacements may be negative (relative to the buffer).
        let bufs = counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| MsgBuf::new((buf as usize).wrapping_add((d * extent) as usize), c, dt))
            .collect::<MpiResult<Vec<_>>>()?;
        if buf.is_null() && bufs.iter().any(|b| b.bytes > 0) && datatype::get(dt)?.named.is_some() {
            // MPI_BOTTOM only makes sense with a derived type's absolute addresses.
            return Err(MpiError::new(MPI_ERR_BUFFER, format!("null {what} buffer")));
        }
        if bufs.iter().all(|b| b.layout.is_none()) {
            let base = buf as usize;
            let list = bufs
                .iter()
                .map(|b| (b.addr.wrapping_sub(base), b.bytes))
                .collect();
            return Ok((base, list));
        }
        let base = self.stage(&bufs, dir);
        let mut at = 0;
        let list = bufs
            .iter()
            .map(|b| {
                at += b.bytes;
                (at - b.bytes, b.bytes)
            })
            .collect();
        Ok((base, list))
    }

    /// Unpack what the collective wrote into the user's buffers.
    fn finish(self) {
        for (t, at, b) in &self.outputs {
            b.unpack_from(&self.temps[*t][*at..*at + b.bytes]);
        }
    }

    /// Run a collective, then unpack its outputs (only if it succeeded).
    fn run(self, f: impl FnOnce() -> MpiResult<()>) -> MpiResult<()> {
        f()?;
        self.finish();
        Ok(())
    }
}

/// The send buffer may not be the receive buffer (or this rank's block of
/// it): that is what `MPI_IN_PLACE` is for.
fn no_alias(send: usize, recv: usize, len: usize) -> MpiResult<()> {
    if len > 0 && send == recv {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "send and receive buffers are the same (use MPI_IN_PLACE)",
        ));
    }
    Ok(())
}

pub(crate) fn barrier(c: MPI_Comm) -> MpiResult<()> {
    coll::barrier(&*intra(c)?)
}

fn bcast_impl(
    buffer: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let root = root_of(&comm, root)?;
    let mut st = Staging::default();
    let dir = if comm.rank == root { Dir::In } else { Dir::Out };
    let (p, len) = st.span(buffer, count, dt, dir)?;
    st.run(|| coll::bcast(&comm, p, len, root))
}

pub(crate) fn bcast(
    buffer: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    bcast_impl(buffer, count.into(), datatype, root, comm)
}

pub(crate) fn bcast_c(
    buffer: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    bcast_impl(buffer, count, datatype, root, comm)
}

/// The arguments every reduction shares: send and receive addresses,
/// element count and size.
/// A reduction's buffers: send and receive addresses, and `n` elements
/// of `size` bytes.
struct Red {
    s: usize,
    r: usize,
    n: usize,
    size: usize,
}

/// The datatype a reduction's kernel runs on for `dt`, how many of its
/// elements one element of `dt` holds, and whether buffers of `dt` need
/// packed copies. Predefined types (the value-index pairs too) are used
/// in their C layout; a derived type of one basic type is reduced as that
/// type, packed if it is not contiguous.
/// How a reduction's kernel sees a datatype: elements of `size` bytes,
/// in the user's buffers as they are.
struct Shape {
    size: usize,
}

/// Predefined operations apply to predefined datatypes (the value-index
/// pairs in their C layout), as in MPICH; user operations also to derived
/// types whose elements are contiguous.
fn red_shape(dt: MPI_Datatype, opr: MPI_Op) -> MpiResult<Shape> {
    op::check(opr)?;
    let t = datatype::get_committed(dt)?;
    if t.named.is_none() {
        if USER_OPS.get(opr).is_none() {
            return Err(MpiError::new(
                MPI_ERR_OP,
                format!("predefined operations apply to predefined datatypes only (not 0x{dt:x})"),
            ));
        }
        if t.contiguous_offset(2) != Some(0) {
            return Err(MpiError::new(
                MPI_ERR_UNSUPPORTED_OPERATION,
                "user-defined operations on non-contiguous datatypes are not supported yet",
            ));
        }
    }
    op::validate(opr, dt)?;
    Ok(Shape {
        size: datatype::element_size(dt)?,
    })
}

/// Address and length of `count` elements of a reduction's buffer.
/// Address and length of `count` elements of a reduction's buffer.
/// Address and length of `count` elements of a reduction's buffer.
fn red_span(buf: *const c_void, count: i64, shape: &Shape) -> MpiResult<(usize, usize)> {
    if count < 0 {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {count}"),
        ));
    }
    let len = (count as usize)
        .checked_mul(shape.size)
        .ok_or_else(|| MpiError::new(MPI_ERR_COUNT, "count too large"))?;
    if len > 0 && buf.is_null() {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "null buffer with a nonzero count",
        ));
    }
    Ok((buf as usize, len))
}

fn reduction(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    opr: MPI_Op,
    receives: bool,
) -> MpiResult<Red> {
    let shape = red_shape(dt, opr)?;
    let place = in_place(sendbuf);
    if place && !receives {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "MPI_IN_PLACE is only valid at the root here",
        ));
    }
    let (r, len) = if receives {
        red_span(recvbuf, count, &shape)?
    } else {
        (recvbuf as usize, 0)
    };
    let s = if place {
        r
    } else {
        red_span(sendbuf, count, &shape)?.0
    };
    if receives && !place {
        no_alias(s, r, len)?;
    }
    Ok(Red {
        s,
        r,
        n: count as usize,
        size: shape.size,
    })
}

fn reduce_impl(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    opr: MPI_Op,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let root = root_of(&comm, root)?;
    let Red { s, r, n, size } = reduction(sendbuf, recvbuf, count, dt, opr, comm.rank == root)?;
    coll::reduce(&comm, s, r, n, dt, size, opr, root)
}

pub(crate) fn reduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    reduce_impl(sendbuf, recvbuf, count.into(), datatype, op, root, comm)
}

pub(crate) fn reduce_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    reduce_impl(sendbuf, recvbuf, count, datatype, op, root, comm)
}

fn allreduce_impl(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    opr: MPI_Op,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let Red { s, r, n, size } = reduction(sendbuf, recvbuf, count, dt, opr, true)?;
    coll::allreduce(&comm, s, r, n, dt, size, opr)
}

pub(crate) fn allreduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    allreduce_impl(sendbuf, recvbuf, count.into(), datatype, op, comm)
}

pub(crate) fn allreduce_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    allreduce_impl(sendbuf, recvbuf, count, datatype, op, comm)
}

fn reduce_local_impl(
    inbuf: *const c_void,
    inoutbuf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    opr: MPI_Op,
) -> MpiResult<()> {
    if in_place(inbuf) || in_place(inoutbuf) {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "MPI_IN_PLACE is not valid in MPI_Reduce_local",
        ));
    }
    let Red { s, r, n, .. } = reduction(inbuf, inoutbuf, count, dt, opr, true)?;
    // SAFETY: both buffers hold `count` elements of `dt`.
    unsafe { op::apply(opr, dt, n, s as *const u8, r as *mut u8) }
}

pub(crate) fn reduce_local(
    inbuf: *const c_void,
    inoutbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
) -> MpiResult<()> {
    reduce_local_impl(inbuf, inoutbuf, count.into(), datatype, op)
}

pub(crate) fn reduce_local_c(
    inbuf: *const c_void,
    inoutbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
) -> MpiResult<()> {
    reduce_local_impl(inbuf, inoutbuf, count, datatype, op)
}

fn reduce_scatter_impl(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Option<Arr>,
    dt: MPI_Datatype,
    opr: MPI_Op,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let n = comm.size as usize;
    let counts: Vec<i64> = match recvcounts {
        Some(a) if a.is_null() => return Err(MpiError::arg("recvcounts is a null pointer")),
        Some(a) => a.values(n),
        None => vec![recvcount; n],
    };
    if let Some(&bad) = counts.iter().find(|&&x| x < 0) {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {bad}"),
        ));
    }
    let total: i64 = counts.iter().sum();
    let shape = red_shape(dt, opr)?;
    let (s, r) = if in_place(sendbuf) {
        // In place, the whole input vector is in the receive buffer.
        let (p, _) = red_span(recvbuf, total, &shape)?;
        (p, p)
    } else {
        let (r, _) = red_span(recvbuf, counts[comm.rank as usize], &shape)?;
        let (s, len) = red_span(sendbuf, total, &shape)?;
        no_alias(s, r, len)?;
        (s, r)
    };
    let counts: Vec<usize> = counts.iter().map(|&x| x as usize).collect();
    coll::reduce_scatter(&comm, s, r, &counts, dt, shape.size, opr)
}

pub(crate) fn reduce_scatter_block(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcount: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    reduce_scatter_impl(sendbuf, recvbuf, recvcount.into(), None, datatype, op, comm)
}

pub(crate) fn reduce_scatter_block_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    reduce_scatter_impl(sendbuf, recvbuf, recvcount, None, datatype, op, comm)
}

pub(crate) fn reduce_scatter(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcounts: *const c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    reduce_scatter_impl(
        sendbuf,
        recvbuf,
        0,
        Some(Arr::Int(recvcounts)),
        datatype,
        op,
        comm,
    )
}

pub(crate) fn reduce_scatter_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcounts: *const MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    reduce_scatter_impl(
        sendbuf,
        recvbuf,
        0,
        Some(Arr::Big(recvcounts)),
        datatype,
        op,
        comm,
    )
}

fn scan_impl(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    opr: MPI_Op,
    c: MPI_Comm,
    exclusive: bool,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let Red { s, r, n, size } = reduction(sendbuf, recvbuf, count, dt, opr, true)?;
    coll::scan(&comm, s, r, n, dt, size, opr, exclusive)
}

pub(crate) fn scan(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    scan_impl(sendbuf, recvbuf, count.into(), datatype, op, comm, false)
}

pub(crate) fn scan_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    scan_impl(sendbuf, recvbuf, count, datatype, op, comm, false)
}

pub(crate) fn exscan(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    scan_impl(sendbuf, recvbuf, count.into(), datatype, op, comm, true)
}

pub(crate) fn exscan_c(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> MpiResult<()> {
    scan_impl(sendbuf, recvbuf, count, datatype, op, comm, true)
}

fn gather_impl(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Arr,
    displs: Option<Arr>,
    recvtype: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let root = root_of(&comm, root)?;
    let is_root = comm.rank == root;
    let mut st = Staging::default();
    let send = if is_root && in_place(sendbuf) {
        None
    } else {
        Some(st.span(sendbuf, sendcount, sendtype, Dir::In)?)
    };
    let (base, bl) = if is_root {
        let (base, b) = st.blocks(
            recvbuf,
            comm.size,
            recvcounts,
            displs,
            recvcount,
            recvtype,
            "recv",
            Dir::Out,
        )?;
        if let Some((p, _)) = send {
            let (off, len) = b[root as usize];
            no_alias(p, base.wrapping_add(off), len)?;
        }
        (base, b)
    } else {
        (0, Vec::new())
    };
    st.run(|| coll::gatherv(&comm, send, base, &bl, root))
}

pub(crate) fn gather(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    gather_impl(
        sendbuf,
        sendcount.into(),
        sendtype,
        recvbuf,
        recvcount.into(),
        NO_ARR,
        None,
        recvtype,
        root,
        comm,
    )
}

pub(crate) fn gather_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    gather_impl(
        sendbuf, sendcount, sendtype, recvbuf, recvcount, NO_ARR, None, recvtype, root, comm,
    )
}

pub(crate) fn gatherv(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const c_int,
    displs: *const c_int,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    gather_impl(
        sendbuf,
        sendcount.into(),
        sendtype,
        recvbuf,
        0,
        Arr::Int(recvcounts),
        Some(Arr::Int(displs)),
        recvtype,
        root,
        comm,
    )
}

pub(crate) fn gatherv_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const MPI_Count,
    displs: *const MPI_Aint,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    gather_impl(
        sendbuf,
        sendcount,
        sendtype,
        recvbuf,
        0,
        Arr::Big(recvcounts),
        Some(Arr::Big(displs)),
        recvtype,
        root,
        comm,
    )
}

fn scatter_impl(
    sendbuf: *const c_void,
    sendcount: i64,
    sendcounts: Arr,
    displs: Option<Arr>,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvtype: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let root = root_of(&comm, root)?;
    let is_root = comm.rank == root;
    let mut st = Staging::default();
    let recv = if is_root && in_place(recvbuf) {
        None
    } else {
        Some(st.span(recvbuf, recvcount, recvtype, Dir::Out)?)
    };
    let (base, bl) = if is_root {
        let (base, b) = st.blocks(
            sendbuf,
            comm.size,
            sendcounts,
            displs,
            sendcount,
            sendtype,
            "send",
            Dir::In,
        )?;
        if let Some((p, _)) = recv {
            let (off, len) = b[root as usize];
            no_alias(base.wrapping_add(off), p, len)?;
        }
        (base, b)
    } else {
        (0, Vec::new())
    };
    st.run(|| coll::scatterv(&comm, base, &bl, recv, root))
}

pub(crate) fn scatter(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    scatter_impl(
        sendbuf,
        sendcount.into(),
        NO_ARR,
        None,
        sendtype,
        recvbuf,
        recvcount.into(),
        recvtype,
        root,
        comm,
    )
}

pub(crate) fn scatter_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    scatter_impl(
        sendbuf, sendcount, NO_ARR, None, sendtype, recvbuf, recvcount, recvtype, root, comm,
    )
}

pub(crate) fn scatterv(
    sendbuf: *const c_void,
    sendcounts: *const c_int,
    displs: *const c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    scatter_impl(
        sendbuf,
        0,
        Arr::Int(sendcounts),
        Some(Arr::Int(displs)),
        sendtype,
        recvbuf,
        recvcount.into(),
        recvtype,
        root,
        comm,
    )
}

pub(crate) fn scatterv_c(
    sendbuf: *const c_void,
    sendcounts: *const MPI_Count,
    displs: *const MPI_Aint,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    scatter_impl(
        sendbuf,
        0,
        Arr::Big(sendcounts),
        Some(Arr::Big(displs)),
        sendtype,
        recvbuf,
        recvcount,
        recvtype,
        root,
        comm,
    )
}

fn allgather_impl(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Arr,
    displs: Option<Arr>,
    recvtype: MPI_Datatype,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let mut st = Staging::default();
    let place = in_place(sendbuf);
    let send = if place {
        None
    } else {
        Some(st.span(sendbuf, sendcount, sendtype, Dir::In)?)
    };
    // In place, this rank's block of the receive buffer is its input.
    let dir = if place { Dir::InOut } else { Dir::Out };
    let (base, bl) = st.blocks(
        recvbuf, comm.size, recvcounts, displs, recvcount, recvtype, "recv", dir,
    )?;
    if let Some((p, _)) = send {
        let (off, len) = bl[comm.rank as usize];
        no_alias(p, base.wrapping_add(off), len)?;
    }
    st.run(|| coll::allgatherv(&comm, send, base, &bl))
}

pub(crate) fn allgather(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    allgather_impl(
        sendbuf,
        sendcount.into(),
        sendtype,
        recvbuf,
        recvcount.into(),
        NO_ARR,
        None,
        recvtype,
        comm,
    )
}

pub(crate) fn allgather_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    allgather_impl(
        sendbuf, sendcount, sendtype, recvbuf, recvcount, NO_ARR, None, recvtype, comm,
    )
}

pub(crate) fn allgatherv(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const c_int,
    displs: *const c_int,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    allgather_impl(
        sendbuf,
        sendcount.into(),
        sendtype,
        recvbuf,
        0,
        Arr::Int(recvcounts),
        Some(Arr::Int(displs)),
        recvtype,
        comm,
    )
}

pub(crate) fn allgatherv_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const MPI_Count,
    displs: *const MPI_Aint,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    allgather_impl(
        sendbuf,
        sendcount,
        sendtype,
        recvbuf,
        0,
        Arr::Big(recvcounts),
        Some(Arr::Big(displs)),
        recvtype,
        comm,
    )
}

fn alltoall_impl(
    sendbuf: *const c_void,
    sendcount: i64,
    sendcounts: Arr,
    sdispls: Option<Arr>,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Arr,
    rdispls: Option<Arr>,
    recvtype: MPI_Datatype,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = intra(c)?;
    let place = in_place(sendbuf);
    let mut st = Staging::default();
    let dir = if place { Dir::InOut } else { Dir::Out };
    let (rbase, rb) = st.blocks(
        recvbuf, comm.size, recvcounts, rdispls, recvcount, recvtype, "recv", dir,
    )?;
    let (sbase, sb) = if place {
        (rbase, rb.clone())
    } else {
        st.blocks(
            sendbuf,
            comm.size,
            sendcounts,
            sdispls,
            sendcount,
            sendtype,
            "send",
            Dir::In,
        )?
    };
    if !place && sendbuf == recvbuf.cast_const() {
        let any = rb.iter().map(|&(_, l)| l).sum::<usize>();
        no_alias(sbase, rbase, any)?;
    }
    st.run(|| coll::alltoallv(&comm, (!place).then_some(sbase), &sb, rbase, &rb))
}

pub(crate) fn alltoall(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    alltoall_impl(
        sendbuf,
        sendcount.into(),
        NO_ARR,
        None,
        sendtype,
        recvbuf,
        recvcount.into(),
        NO_ARR,
        None,
        recvtype,
        comm,
    )
}

pub(crate) fn alltoall_c(
    sendbuf: *const c_void,
    sendcount: MPI_Count,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: MPI_Count,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    alltoall_impl(
        sendbuf, sendcount, NO_ARR, None, sendtype, recvbuf, recvcount, NO_ARR, None, recvtype,
        comm,
    )
}

pub(crate) fn alltoallv(
    sendbuf: *const c_void,
    sendcounts: *const c_int,
    sdispls: *const c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const c_int,
    rdispls: *const c_int,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    alltoall_impl(
        sendbuf,
        0,
        Arr::Int(sendcounts),
        Some(Arr::Int(sdispls)),
        sendtype,
        recvbuf,
        0,
        Arr::Int(recvcounts),
        Some(Arr::Int(rdispls)),
        recvtype,
        comm,
    )
}

pub(crate) fn alltoallv_c(
    sendbuf: *const c_void,
    sendcounts: *const MPI_Count,
    sdispls: *const MPI_Aint,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const MPI_Count,
    rdispls: *const MPI_Aint,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    alltoall_impl(
        sendbuf,
        0,
        Arr::Big(sendcounts),
        Some(Arr::Big(sdispls)),
        sendtype,
        recvbuf,
        0,
        Arr::Big(recvcounts),
        Some(Arr::Big(rdispls)),
        recvtype,
        comm,
    )
}

// ---------------------------------------------------------------------------
// Operators

fn create_user_op(
    func: usize,
    commute: c_int,
    large_count: bool,
    op: *mut MPI_Op,
) -> MpiResult<()> {
    if func == 0 {
        return Err(MpiError::arg("user_fn is a null pointer"));
    }
    let slot = out(op, "op")?;
    *slot = USER_OPS.insert(UserOp {
        func,
        commute: commute != 0,
        large_count,
    });
    Ok(())
}

pub(crate) fn op_create(
    user_fn: *mut MPI_User_function,
    commute: c_int,
    op: *mut MPI_Op,
) -> MpiResult<()> {
    create_user_op(user_fn as usize, commute, false, op)
}

pub(crate) fn op_create_c(
    user_fn: *mut MPI_User_function_c,
    commute: c_int,
    op: *mut MPI_Op,
) -> MpiResult<()> {
    create_user_op(user_fn as usize, commute, true, op)
}

pub(crate) fn op_free(op: *mut MPI_Op) -> MpiResult<()> {
    let h = out(op, "op")?;
    if USER_OPS.remove(*h).is_none() {
        return Err(MpiError::new(
            MPI_ERR_OP,
            if (MPI_MAX..=MPI_NO_OP).contains(h) {
                "predefined operations cannot be freed".to_string()
            } else {
                format!("invalid operation 0x{:x}", *h)
            },
        ));
    }
    *h = MPI_OP_NULL;
    Ok(())
}

pub(crate) fn op_commutative(op: MPI_Op, commute: *mut c_int) -> MpiResult<()> {
    put(commute, "commute", c_int::from(op::is_commutative(op)?))
}
