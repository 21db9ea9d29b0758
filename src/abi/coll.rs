//! Collective operations and reduction operators, the C face: argument
//! checks (root, counts, datatypes, `MPI_IN_PLACE`), then `core::coll`.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::types::*;
use super::util::{out, put};
use crate::abi::callbacks::MPI_User_function;
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
fn span(buf: *const c_void, count: c_int, dt: MPI_Datatype) -> MpiResult<(usize, usize)> {
    let bytes = datatype::message_bytes(count.into(), dt)?;
    if bytes > 0 && buf.is_null() {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "null buffer with a nonzero count",
        ));
    }
    Ok((buf as usize, bytes))
}

/// Blocks of a v-collective's buffer from its counts and displacements
/// (in elements of `dt`).
fn blocks(
    n: c_int,
    counts: *const c_int,
    displs: Option<*const c_int>,
    count: c_int,
    dt: MPI_Datatype,
) -> MpiResult<Vec<Block>> {
    let size = datatype::element_size(dt)?;
    let n = n as usize;
    let counts: Vec<c_int> = if counts.is_null() {
        if displs.is_some() {
            return Err(MpiError::arg("counts is a null pointer"));
        }
        vec![count; n]
    } else {
        // SAFETY: the user passes one count per rank.
        unsafe { std::slice::from_raw_parts(counts, n) }.to_vec()
    };
    let displs: Vec<i64> = match displs {
        Some(d) if d.is_null() => return Err(MpiError::arg("displs is a null pointer")),
        // SAFETY: the user passes one displacement per rank.
        Some(d) => unsafe { std::slice::from_raw_parts(d, n) }
            .iter()
            .map(|&x| x.into())
            .collect(),
        None => (0..n as i64).map(|i| i * i64::from(count)).collect(),
    };
    counts
        .iter()
        .zip(&displs)
        .map(|(&c, &d)| {
            if c < 0 {
                return Err(MpiError::new(MPI_ERR_COUNT, format!("negative count {c}")));
            }
            if d < 0 {
                return Err(MpiError::arg(format!("negative displacement {d}")));
            }
            Ok((d as usize * size, c as usize * size))
        })
        .collect()
}

pub(crate) fn barrier(c: MPI_Comm) -> MpiResult<()> {
    coll::barrier(comm::get(c)?)
}

pub(crate) fn bcast(
    buffer: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let root = root_of(comm, root)?;
    let (p, len) = span(buffer, count, datatype)?;
    coll::bcast(comm, p, len, root)
}

/// The arguments every reduction shares.
fn reduction(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    dt: MPI_Datatype,
    opr: MPI_Op,
    receives: bool,
) -> MpiResult<(usize, usize, usize, usize)> {
    op::check(opr)?;
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

pub(crate) fn reduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let root = root_of(comm, root)?;
    let (s, r, n, size) = reduction(sendbuf, recvbuf, count, datatype, op, comm.rank == root)?;
    coll::reduce(comm, s, r, n, datatype, size, op, root)
}

pub(crate) fn allreduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let (s, r, n, size) = reduction(sendbuf, recvbuf, count, datatype, op, true)?;
    coll::allreduce(comm, s, r, n, datatype, size, op)
}

pub(crate) fn reduce_local(
    inbuf: *const c_void,
    inoutbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
) -> MpiResult<()> {
    op::check(op)?;
    let (a, _) = span(inbuf, count, datatype)?;
    let (b, _) = span(inoutbuf, count, datatype)?;
    // SAFETY: both buffers hold `count` elements of `datatype` (checked
    // non-null above; sizes are the user's promise).
    unsafe { op::apply(op, datatype, count as usize, a as *const u8, b as *mut u8) }
}

pub(crate) fn gather(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    gatherv_impl(
        sendbuf,
        sendcount,
        sendtype,
        recvbuf,
        recvcount,
        std::ptr::null(),
        None,
        recvtype,
        root,
        c,
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
    c: MPI_Comm,
) -> MpiResult<()> {
    gatherv_impl(
        sendbuf,
        sendcount,
        sendtype,
        recvbuf,
        0,
        recvcounts,
        Some(displs),
        recvtype,
        root,
        c,
    )
}

fn gatherv_impl(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvcounts: *const c_int,
    displs: Option<*const c_int>,
    recvtype: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let root = root_of(comm, root)?;
    let is_root = comm.rank == root;
    let send = if is_root && in_place(sendbuf) {
        None
    } else {
        Some(span(sendbuf, sendcount, sendtype)?)
    };
    let bl = if is_root {
        if displs.is_some() && recvcounts.is_null() {
            return Err(MpiError::arg("recvcounts is a null pointer"));
        }
        let b = blocks(comm.size, recvcounts, displs, recvcount, recvtype)?;
        if b.iter().any(|&(_, l)| l > 0) && recvbuf.is_null() {
            return Err(MpiError::new(MPI_ERR_BUFFER, "null receive buffer"));
        }
        b
    } else {
        Vec::new()
    };
    coll::gatherv(comm, send, recvbuf as usize, &bl, root)
}

pub(crate) fn scatter(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    scatterv_impl(
        sendbuf,
        sendcount,
        std::ptr::null(),
        None,
        sendtype,
        recvbuf,
        recvcount,
        recvtype,
        root,
        c,
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
    c: MPI_Comm,
) -> MpiResult<()> {
    scatterv_impl(
        sendbuf,
        0,
        sendcounts,
        Some(displs),
        sendtype,
        recvbuf,
        recvcount,
        recvtype,
        root,
        c,
    )
}

fn scatterv_impl(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendcounts: *const c_int,
    displs: Option<*const c_int>,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    root: c_int,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let root = root_of(comm, root)?;
    let is_root = comm.rank == root;
    let recv = if is_root && in_place(recvbuf) {
        None
    } else {
        Some(span(recvbuf, recvcount, recvtype)?)
    };
    let bl = if is_root {
        if displs.is_some() && sendcounts.is_null() {
            return Err(MpiError::arg("sendcounts is a null pointer"));
        }
        let b = blocks(comm.size, sendcounts, displs, sendcount, sendtype)?;
        if b.iter().any(|&(_, l)| l > 0) && sendbuf.is_null() {
            return Err(MpiError::new(MPI_ERR_BUFFER, "null send buffer"));
        }
        b
    } else {
        Vec::new()
    };
    coll::scatterv(comm, sendbuf as usize, &bl, recv, root)
}

pub(crate) fn allgather(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    c: MPI_Comm,
) -> MpiResult<()> {
    allgatherv_impl(
        sendbuf,
        sendcount,
        sendtype,
        recvbuf,
        recvcount,
        std::ptr::null(),
        None,
        recvtype,
        c,
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
    c: MPI_Comm,
) -> MpiResult<()> {
    allgatherv_impl(
        sendbuf,
        sendcount,
        sendtype,
        recvbuf,
        0,
        recvcounts,
        Some(displs),
        recvtype,
        c,
    )
}

fn allgatherv_impl(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvcounts: *const c_int,
    displs: Option<*const c_int>,
    recvtype: MPI_Datatype,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let send = if in_place(sendbuf) {
        None
    } else {
        Some(span(sendbuf, sendcount, sendtype)?)
    };
    if displs.is_some() && recvcounts.is_null() {
        return Err(MpiError::arg("recvcounts is a null pointer"));
    }
    let bl = blocks(comm.size, recvcounts, displs, recvcount, recvtype)?;
    if bl.iter().any(|&(_, l)| l > 0) && recvbuf.is_null() {
        return Err(MpiError::new(MPI_ERR_BUFFER, "null receive buffer"));
    }
    coll::allgatherv(comm, send, recvbuf as usize, &bl)
}

pub(crate) fn alltoall(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let place = in_place(sendbuf);
    let rb = blocks(comm.size, std::ptr::null(), None, recvcount, recvtype)?;
    let sb = if place {
        rb.clone()
    } else {
        blocks(comm.size, std::ptr::null(), None, sendcount, sendtype)?
    };
    check_bufs(sendbuf, &sb, recvbuf, &rb, place)?;
    coll::alltoallv(
        comm,
        (!place).then_some(sendbuf as usize),
        &sb,
        recvbuf as usize,
        &rb,
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
    c: MPI_Comm,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let place = in_place(sendbuf);
    if recvcounts.is_null() {
        return Err(MpiError::arg("recvcounts is a null pointer"));
    }
    let rb = blocks(comm.size, recvcounts, Some(rdispls), 0, recvtype)?;
    let sb = if place {
        rb.clone()
    } else {
        if sendcounts.is_null() {
            return Err(MpiError::arg("sendcounts is a null pointer"));
        }
        blocks(comm.size, sendcounts, Some(sdispls), 0, sendtype)?
    };
    check_bufs(sendbuf, &sb, recvbuf, &rb, place)?;
    coll::alltoallv(
        comm,
        (!place).then_some(sendbuf as usize),
        &sb,
        recvbuf as usize,
        &rb,
    )
}

fn check_bufs(
    sendbuf: *const c_void,
    sb: &[Block],
    recvbuf: *mut c_void,
    rb: &[Block],
    place: bool,
) -> MpiResult<()> {
    if !place && sb.iter().any(|&(_, l)| l > 0) && sendbuf.is_null() {
        return Err(MpiError::new(MPI_ERR_BUFFER, "null send buffer"));
    }
    if rb.iter().any(|&(_, l)| l > 0) && recvbuf.is_null() {
        return Err(MpiError::new(MPI_ERR_BUFFER, "null receive buffer"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Operators

pub(crate) fn op_create(
    user_fn: *mut MPI_User_function,
    commute: c_int,
    op: *mut MPI_Op,
) -> MpiResult<()> {
    if user_fn.is_null() {
        return Err(MpiError::arg("user_fn is a null pointer"));
    }
    let slot = out(op, "op")?;
    *slot = USER_OPS.insert(UserOp {
        func: user_fn as usize,
        commute: commute != 0,
    });
    Ok(())
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
