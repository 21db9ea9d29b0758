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
use crate::core::datatype;
use crate::core::error::{MpiError, MpiResult};
use crate::core::op::{self, USER_OPS, UserOp};
use std::ffi::{c_int, c_void};

fn in_place(p: *const c_void) -> bool {
    p == MPI_IN_PLACE.cast_const()
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

/// Address and byte length of `count` elements of `dt` at `buf`.
fn span(buf: *const c_void, count: i64, dt: MPI_Datatype) -> MpiResult<(usize, usize)> {
    let bytes = datatype::message_bytes(count, dt)?;
    if bytes > 0 && buf.is_null() {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "null buffer with a nonzero count",
        ));
    }
    Ok((buf as usize, bytes))
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

/// Blocks of a collective's buffer: from counts and displacements (in
/// elements of `dt`) for the v-forms, or `count` elements per rank.
fn blocks(
    n: c_int,
    counts: Arr,
    displs: Option<Arr>,
    count: i64,
    dt: MPI_Datatype,
    what: &str,
) -> MpiResult<Vec<Block>> {
    let size = datatype::element_size(dt)?;
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
    counts
        .iter()
        .zip(&displs)
        .map(|(&c, &d)| {
            if c < 0 {
                return Err(MpiError::new(MPI_ERR_COUNT, format!("negative count {c}")));
            }
            // Displacements may be negative (relative to the buffer).
            Ok(((d as isize * size as isize) as usize, c as usize * size))
        })
        .collect()
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

fn need_buf(buf: *const c_void, bl: &[Block], what: &str) -> MpiResult<()> {
    if bl.iter().any(|&(_, l)| l > 0) && buf.is_null() {
        return Err(MpiError::new(MPI_ERR_BUFFER, format!("null {what} buffer")));
    }
    Ok(())
}

pub(crate) fn barrier(c: MPI_Comm) -> MpiResult<()> {
    coll::barrier(&*comm::get(c)?)
}

fn bcast_impl(
    buffer: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let root = root_of(&comm, root)?;
    let (p, len) = span(buffer, count, dt)?;
    coll::bcast(&comm, p, len, root)
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
fn reduction(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    opr: MPI_Op,
    receives: bool,
) -> MpiResult<(usize, usize, usize, usize)> {
    op::validate(opr, dt)?;
    let size = datatype::element_size(dt)?;
    let (r, len) = if receives {
        span(recvbuf, count, dt)?
    } else {
        (recvbuf as usize, 0)
    };
    let s = if in_place(sendbuf) {
        if !receives {
            return Err(MpiError::new(
                MPI_ERR_BUFFER,
                "MPI_IN_PLACE is only valid at the root here",
            ));
        }
        r
    } else {
        span(sendbuf, count, dt)?.0
    };
    if receives && len > 0 && s == r && !in_place(sendbuf) {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "send and receive buffers are the same (use MPI_IN_PLACE)",
        ));
    }
    Ok((s, r, count as usize, size))
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
    let comm = comm::get(c)?;
    let root = root_of(&comm, root)?;
    let (s, r, n, size) = reduction(sendbuf, recvbuf, count, dt, opr, comm.rank == root)?;
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
    let comm = comm::get(c)?;
    let (s, r, n, size) = reduction(sendbuf, recvbuf, count, dt, opr, true)?;
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
    op::validate(opr, dt)?;
    if in_place(inbuf) || in_place(inoutbuf) {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "MPI_IN_PLACE is not valid in MPI_Reduce_local",
        ));
    }
    let (a, len) = span(inbuf, count, dt)?;
    let (b, _) = span(inoutbuf, count, dt)?;
    no_alias(a, b, len)?;
    // SAFETY: both buffers hold `count` elements of `dt` (checked non-null
    // above; sizes are the user's promise).
    unsafe { op::apply(opr, dt, count as usize, a as *const u8, b as *mut u8) }
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
    let comm = comm::get(c)?;
    op::validate(opr, dt)?;
    let size = datatype::element_size(dt)?;
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
    let counts: Vec<usize> = counts.iter().map(|&x| x as usize).collect();
    let total: usize = counts.iter().sum();
    let (r, _) = span(recvbuf, counts[comm.rank as usize] as i64, dt)?;
    // In place, the whole input vector is in the receive buffer.
    let s = if in_place(sendbuf) {
        span(recvbuf, total as i64, dt)?.0
    } else {
        let s = span(sendbuf, total as i64, dt)?.0;
        no_alias(s, r, total * size)?;
        s
    };
    coll::reduce_scatter(&comm, s, r, &counts, dt, size, opr)
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
    let comm = comm::get(c)?;
    let (s, r, n, size) = reduction(sendbuf, recvbuf, count, dt, opr, true)?;
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
    let comm = comm::get(c)?;
    let root = root_of(&comm, root)?;
    let is_root = comm.rank == root;
    let send = if is_root && in_place(sendbuf) {
        None
    } else {
        Some(span(sendbuf, sendcount, sendtype)?)
    };
    let bl = if is_root {
        let b = blocks(comm.size, recvcounts, displs, recvcount, recvtype, "recv")?;
        need_buf(recvbuf, &b, "receive")?;
        if let Some((p, _)) = send {
            let (off, len) = b[root as usize];
            no_alias(p, (recvbuf as usize).wrapping_add(off), len)?;
        }
        b
    } else {
        Vec::new()
    };
    coll::gatherv(&comm, send, recvbuf as usize, &bl, root)
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
    let comm = comm::get(c)?;
    let root = root_of(&comm, root)?;
    let is_root = comm.rank == root;
    let recv = if is_root && in_place(recvbuf) {
        None
    } else {
        Some(span(recvbuf, recvcount, recvtype)?)
    };
    let bl = if is_root {
        let b = blocks(comm.size, sendcounts, displs, sendcount, sendtype, "send")?;
        need_buf(sendbuf, &b, "send")?;
        if let Some((p, _)) = recv {
            let (off, len) = b[root as usize];
            no_alias((sendbuf as usize).wrapping_add(off), p, len)?;
        }
        b
    } else {
        Vec::new()
    };
    coll::scatterv(&comm, sendbuf as usize, &bl, recv, root)
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
    let comm = comm::get(c)?;
    let send = if in_place(sendbuf) {
        None
    } else {
        Some(span(sendbuf, sendcount, sendtype)?)
    };
    let bl = blocks(comm.size, recvcounts, displs, recvcount, recvtype, "recv")?;
    need_buf(recvbuf, &bl, "receive")?;
    if let Some((p, _)) = send {
        let (off, len) = bl[comm.rank as usize];
        no_alias(p, (recvbuf as usize).wrapping_add(off), len)?;
    }
    coll::allgatherv(&comm, send, recvbuf as usize, &bl)
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
    let comm = comm::get(c)?;
    let place = in_place(sendbuf);
    let rb = blocks(comm.size, recvcounts, rdispls, recvcount, recvtype, "recv")?;
    let sb = if place {
        rb.clone()
    } else {
        let b = blocks(comm.size, sendcounts, sdispls, sendcount, sendtype, "send")?;
        need_buf(sendbuf, &b, "send")?;
        b
    };
    need_buf(recvbuf, &rb, "receive")?;
    if !place {
        let any = rb.iter().map(|&(_, l)| l).sum::<usize>();
        no_alias(sendbuf as usize, recvbuf as usize, any)?;
    }
    coll::alltoallv(
        &comm,
        (!place).then_some(sendbuf as usize),
        &sb,
        recvbuf as usize,
        &rb,
    )
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
