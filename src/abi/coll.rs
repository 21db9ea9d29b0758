//! Collective operations and reduction operators, the C face: each
//! collective's six C functions (classic and large-count `_c`, blocking,
//! `MPI_I...` and `..._init`) call its one implementation in
//! `core::collective` with 64-bit counts and the mode.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::callbacks::{MPI_User_function, MPI_User_function_c};
use super::types::*;
use super::util::{out, put};
use crate::core::collective::{self, Arr, Mode, NO_ARR};
use crate::core::error::MpiResult;
use crate::core::op;
use std::ffi::{c_int, c_void};

/// Defines the blocking, nonblocking and persistent C functions of each
/// collective: `$imp` (in `core::collective`) gets the arguments converted
/// as written, then the mode.
macro_rules! forms {
    ($($b:ident $i:ident $p:ident ($($a:ident: $t:ty),*) => $imp:ident($($e:expr),*);)*) => {$(
        pub(crate) fn $b($($a: $t),*) -> MpiResult<()> {
            collective::$imp($($e,)* Mode::Blocking)
        }
        pub(crate) fn $i($($a: $t,)* request: *mut MPI_Request) -> MpiResult<()> {
            collective::$imp($($e,)* Mode::Start(out(request, "request")?))
        }
        pub(crate) fn $p($($a: $t,)* info: MPI_Info, request: *mut MPI_Request) -> MpiResult<()> {
            collective::$imp($($e,)* Mode::Init(info, out(request, "request")?))
        }
    )*};
}

// gen-abi implements: barrier ibarrier barrier_init
// gen-abi implements: bcast ibcast bcast_init bcast_c ibcast_c bcast_init_c
// gen-abi implements: reduce ireduce reduce_init reduce_c ireduce_c reduce_init_c
// gen-abi implements: allreduce iallreduce allreduce_init allreduce_c iallreduce_c allreduce_init_c
// gen-abi implements: reduce_scatter_block ireduce_scatter_block reduce_scatter_block_init
// gen-abi implements: reduce_scatter_block_c ireduce_scatter_block_c reduce_scatter_block_init_c
// gen-abi implements: reduce_scatter ireduce_scatter reduce_scatter_init
// gen-abi implements: reduce_scatter_c ireduce_scatter_c reduce_scatter_init_c
// gen-abi implements: scan iscan scan_init scan_c iscan_c scan_init_c
// gen-abi implements: exscan iexscan exscan_init exscan_c iexscan_c exscan_init_c
// gen-abi implements: gather igather gather_init gather_c igather_c gather_init_c
// gen-abi implements: gatherv igatherv gatherv_init gatherv_c igatherv_c gatherv_init_c
// gen-abi implements: scatter iscatter scatter_init scatter_c iscatter_c scatter_init_c
// gen-abi implements: scatterv iscatterv scatterv_init scatterv_c iscatterv_c scatterv_init_c
// gen-abi implements: allgather iallgather allgather_init allgather_c iallgather_c allgather_init_c
// gen-abi implements: allgatherv iallgatherv allgatherv_init allgatherv_c iallgatherv_c allgatherv_init_c
// gen-abi implements: alltoall ialltoall alltoall_init alltoall_c ialltoall_c alltoall_init_c
// gen-abi implements: alltoallv ialltoallv alltoallv_init alltoallv_c ialltoallv_c alltoallv_init_c
// gen-abi implements: alltoallw ialltoallw alltoallw_init alltoallw_c ialltoallw_c alltoallw_init_c
// gen-abi implements: neighbor_allgather ineighbor_allgather neighbor_allgather_init
// gen-abi implements: neighbor_allgather_c ineighbor_allgather_c neighbor_allgather_init_c
// gen-abi implements: neighbor_allgatherv ineighbor_allgatherv neighbor_allgatherv_init
// gen-abi implements: neighbor_allgatherv_c ineighbor_allgatherv_c neighbor_allgatherv_init_c
// gen-abi implements: neighbor_alltoall ineighbor_alltoall neighbor_alltoall_init
// gen-abi implements: neighbor_alltoall_c ineighbor_alltoall_c neighbor_alltoall_init_c
// gen-abi implements: neighbor_alltoallv ineighbor_alltoallv neighbor_alltoallv_init
// gen-abi implements: neighbor_alltoallv_c ineighbor_alltoallv_c neighbor_alltoallv_init_c
// gen-abi implements: neighbor_alltoallw ineighbor_alltoallw neighbor_alltoallw_init
// gen-abi implements: neighbor_alltoallw_c ineighbor_alltoallw_c neighbor_alltoallw_init_c
forms! {
    barrier ibarrier barrier_init (comm: MPI_Comm) => barrier(comm);

    bcast ibcast bcast_init (buffer: *mut c_void, count: c_int, datatype: MPI_Datatype,
        root: c_int, comm: MPI_Comm) => bcast(buffer, count.into(), datatype, root, comm);
    bcast_c ibcast_c bcast_init_c (buffer: *mut c_void, count: MPI_Count, datatype: MPI_Datatype,
        root: c_int, comm: MPI_Comm) => bcast(buffer, count, datatype, root, comm);

    reduce ireduce reduce_init (sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int,
        datatype: MPI_Datatype, op: MPI_Op, root: c_int, comm: MPI_Comm)
        => reduce(sendbuf, recvbuf, count.into(), datatype, op, root, comm);
    reduce_c ireduce_c reduce_init_c (sendbuf: *const c_void, recvbuf: *mut c_void,
        count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, root: c_int, comm: MPI_Comm)
        => reduce(sendbuf, recvbuf, count, datatype, op, root, comm);

    allreduce iallreduce allreduce_init (sendbuf: *const c_void, recvbuf: *mut c_void,
        count: c_int, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm)
        => allreduce(sendbuf, recvbuf, count.into(), datatype, op, comm);
    allreduce_c iallreduce_c allreduce_init_c (sendbuf: *const c_void, recvbuf: *mut c_void,
        count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm)
        => allreduce(sendbuf, recvbuf, count, datatype, op, comm);

    reduce_scatter_block ireduce_scatter_block reduce_scatter_block_init (sendbuf: *const c_void,
        recvbuf: *mut c_void, recvcount: c_int, datatype: MPI_Datatype, op: MPI_Op,
        comm: MPI_Comm)
        => reduce_scatter(sendbuf, recvbuf, recvcount.into(), None, datatype, op, comm);
    reduce_scatter_block_c ireduce_scatter_block_c reduce_scatter_block_init_c (
        sendbuf: *const c_void, recvbuf: *mut c_void, recvcount: MPI_Count,
        datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm)
        => reduce_scatter(sendbuf, recvbuf, recvcount, None, datatype, op, comm);

    reduce_scatter ireduce_scatter reduce_scatter_init (sendbuf: *const c_void,
        recvbuf: *mut c_void, recvcounts: *const c_int, datatype: MPI_Datatype, op: MPI_Op,
        comm: MPI_Comm) => reduce_scatter(sendbuf, recvbuf, 0,
        Some(Arr::Int(recvcounts)), datatype, op, comm);
    reduce_scatter_c ireduce_scatter_c reduce_scatter_init_c (sendbuf: *const c_void,
        recvbuf: *mut c_void, recvcounts: *const MPI_Count, datatype: MPI_Datatype, op: MPI_Op,
        comm: MPI_Comm) => reduce_scatter(sendbuf, recvbuf, 0,
        Some(Arr::Big(recvcounts)), datatype, op, comm);

    scan iscan scan_init (sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int,
        datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm)
        => scan(sendbuf, recvbuf, count.into(), datatype, op, comm, false);
    scan_c iscan_c scan_init_c (sendbuf: *const c_void, recvbuf: *mut c_void, count: MPI_Count,
        datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm)
        => scan(sendbuf, recvbuf, count, datatype, op, comm, false);
    exscan iexscan exscan_init (sendbuf: *const c_void, recvbuf: *mut c_void, count: c_int,
        datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm)
        => scan(sendbuf, recvbuf, count.into(), datatype, op, comm, true);
    exscan_c iexscan_c exscan_init_c (sendbuf: *const c_void, recvbuf: *mut c_void,
        count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op, comm: MPI_Comm)
        => scan(sendbuf, recvbuf, count, datatype, op, comm, true);

    gather igather gather_init (sendbuf: *const c_void, sendcount: c_int,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int, recvtype: MPI_Datatype,
        root: c_int, comm: MPI_Comm) => gather(sendbuf, sendcount.into(), sendtype,
        recvbuf, recvcount.into(), NO_ARR, None, recvtype, root, comm);
    gather_c igather_c gather_init_c (sendbuf: *const c_void, sendcount: MPI_Count,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count,
        recvtype: MPI_Datatype, root: c_int, comm: MPI_Comm) => gather(sendbuf, sendcount,
        sendtype, recvbuf, recvcount, NO_ARR, None, recvtype, root, comm);
    gatherv igatherv gatherv_init (sendbuf: *const c_void, sendcount: c_int,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const c_int,
        displs: *const c_int, recvtype: MPI_Datatype, root: c_int, comm: MPI_Comm)
        => gather(sendbuf, sendcount.into(), sendtype, recvbuf, 0, Arr::Int(recvcounts),
        Some(Arr::Int(displs)), recvtype, root, comm);
    gatherv_c igatherv_c gatherv_init_c (sendbuf: *const c_void, sendcount: MPI_Count,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const MPI_Count,
        displs: *const MPI_Aint, recvtype: MPI_Datatype, root: c_int, comm: MPI_Comm)
        => gather(sendbuf, sendcount, sendtype, recvbuf, 0, Arr::Big(recvcounts),
        Some(Arr::Big(displs)), recvtype, root, comm);

    scatter iscatter scatter_init (sendbuf: *const c_void, sendcount: c_int,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int, recvtype: MPI_Datatype,
        root: c_int, comm: MPI_Comm) => scatter(sendbuf, sendcount.into(), NO_ARR, None,
        sendtype, recvbuf, recvcount.into(), recvtype, root, comm);
    scatter_c iscatter_c scatter_init_c (sendbuf: *const c_void, sendcount: MPI_Count,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count,
        recvtype: MPI_Datatype, root: c_int, comm: MPI_Comm) => scatter(sendbuf, sendcount,
        NO_ARR, None, sendtype, recvbuf, recvcount, recvtype, root, comm);
    scatterv iscatterv scatterv_init (sendbuf: *const c_void, sendcounts: *const c_int,
        displs: *const c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int,
        recvtype: MPI_Datatype, root: c_int, comm: MPI_Comm) => scatter(sendbuf, 0,
        Arr::Int(sendcounts), Some(Arr::Int(displs)), sendtype, recvbuf, recvcount.into(),
        recvtype, root, comm);
    scatterv_c iscatterv_c scatterv_init_c (sendbuf: *const c_void,
        sendcounts: *const MPI_Count, displs: *const MPI_Aint, sendtype: MPI_Datatype,
        recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype, root: c_int,
        comm: MPI_Comm) => scatter(sendbuf, 0, Arr::Big(sendcounts),
        Some(Arr::Big(displs)), sendtype, recvbuf, recvcount, recvtype, root, comm);

    allgather iallgather allgather_init (sendbuf: *const c_void, sendcount: c_int,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int, recvtype: MPI_Datatype,
        comm: MPI_Comm) => allgather(sendbuf, sendcount.into(), sendtype, recvbuf,
        recvcount.into(), NO_ARR, None, recvtype, comm);
    allgather_c iallgather_c allgather_init_c (sendbuf: *const c_void, sendcount: MPI_Count,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count,
        recvtype: MPI_Datatype, comm: MPI_Comm) => allgather(sendbuf, sendcount, sendtype,
        recvbuf, recvcount, NO_ARR, None, recvtype, comm);
    allgatherv iallgatherv allgatherv_init (sendbuf: *const c_void, sendcount: c_int,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const c_int,
        displs: *const c_int, recvtype: MPI_Datatype, comm: MPI_Comm)
        => allgather(sendbuf, sendcount.into(), sendtype, recvbuf, 0,
        Arr::Int(recvcounts), Some(Arr::Int(displs)), recvtype, comm);
    allgatherv_c iallgatherv_c allgatherv_init_c (sendbuf: *const c_void,
        sendcount: MPI_Count, sendtype: MPI_Datatype, recvbuf: *mut c_void,
        recvcounts: *const MPI_Count, displs: *const MPI_Aint, recvtype: MPI_Datatype,
        comm: MPI_Comm) => allgather(sendbuf, sendcount, sendtype, recvbuf, 0,
        Arr::Big(recvcounts), Some(Arr::Big(displs)), recvtype, comm);

    alltoall ialltoall alltoall_init (sendbuf: *const c_void, sendcount: c_int,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int, recvtype: MPI_Datatype,
        comm: MPI_Comm) => alltoall(sendbuf, sendcount.into(), NO_ARR, None, sendtype,
        recvbuf, recvcount.into(), NO_ARR, None, recvtype, comm);
    alltoall_c ialltoall_c alltoall_init_c (sendbuf: *const c_void, sendcount: MPI_Count,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count,
        recvtype: MPI_Datatype, comm: MPI_Comm) => alltoall(sendbuf, sendcount, NO_ARR,
        None, sendtype, recvbuf, recvcount, NO_ARR, None, recvtype, comm);
    alltoallv ialltoallv alltoallv_init (sendbuf: *const c_void, sendcounts: *const c_int,
        sdispls: *const c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void,
        recvcounts: *const c_int, rdispls: *const c_int, recvtype: MPI_Datatype, comm: MPI_Comm)
        => alltoall(sendbuf, 0, Arr::Int(sendcounts), Some(Arr::Int(sdispls)), sendtype,
        recvbuf, 0, Arr::Int(recvcounts), Some(Arr::Int(rdispls)), recvtype, comm);
    alltoallv_c ialltoallv_c alltoallv_init_c (sendbuf: *const c_void,
        sendcounts: *const MPI_Count, sdispls: *const MPI_Aint, sendtype: MPI_Datatype,
        recvbuf: *mut c_void, recvcounts: *const MPI_Count, rdispls: *const MPI_Aint,
        recvtype: MPI_Datatype, comm: MPI_Comm) => alltoall(sendbuf, 0,
        Arr::Big(sendcounts), Some(Arr::Big(sdispls)), sendtype, recvbuf, 0,
        Arr::Big(recvcounts), Some(Arr::Big(rdispls)), recvtype, comm);
    alltoallw ialltoallw alltoallw_init (sendbuf: *const c_void, sendcounts: *const c_int,
        sdispls: *const c_int, sendtypes: *const MPI_Datatype, recvbuf: *mut c_void,
        recvcounts: *const c_int, rdispls: *const c_int, recvtypes: *const MPI_Datatype,
        comm: MPI_Comm) => alltoallw(sendbuf, Arr::Int(sendcounts), Arr::Int(sdispls),
        sendtypes, recvbuf, Arr::Int(recvcounts), Arr::Int(rdispls), recvtypes, comm);
    alltoallw_c ialltoallw_c alltoallw_init_c (sendbuf: *const c_void,
        sendcounts: *const MPI_Count, sdispls: *const MPI_Aint, sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void, recvcounts: *const MPI_Count, rdispls: *const MPI_Aint,
        recvtypes: *const MPI_Datatype, comm: MPI_Comm) => alltoallw(sendbuf,
        Arr::Big(sendcounts), Arr::Big(sdispls), sendtypes, recvbuf, Arr::Big(recvcounts),
        Arr::Big(rdispls), recvtypes, comm);

    neighbor_allgather ineighbor_allgather neighbor_allgather_init (sendbuf: *const c_void,
        sendcount: c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int,
        recvtype: MPI_Datatype, comm: MPI_Comm) => neighbor_allgather(sendbuf,
        sendcount.into(), sendtype, recvbuf, recvcount.into(), NO_ARR, None, recvtype, comm);
    neighbor_allgather_c ineighbor_allgather_c neighbor_allgather_init_c (sendbuf: *const c_void,
        sendcount: MPI_Count, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count,
        recvtype: MPI_Datatype, comm: MPI_Comm) => neighbor_allgather(sendbuf, sendcount,
        sendtype, recvbuf, recvcount, NO_ARR, None, recvtype, comm);
    neighbor_allgatherv ineighbor_allgatherv neighbor_allgatherv_init (sendbuf: *const c_void,
        sendcount: c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const c_int,
        displs: *const c_int, recvtype: MPI_Datatype, comm: MPI_Comm)
        => neighbor_allgather(sendbuf, sendcount.into(), sendtype, recvbuf, 0,
        Arr::Int(recvcounts), Some(Arr::Int(displs)), recvtype, comm);
    neighbor_allgatherv_c ineighbor_allgatherv_c neighbor_allgatherv_init_c (
        sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype,
        recvbuf: *mut c_void, recvcounts: *const MPI_Count, displs: *const MPI_Aint,
        recvtype: MPI_Datatype, comm: MPI_Comm) => neighbor_allgather(sendbuf, sendcount,
        sendtype, recvbuf, 0, Arr::Big(recvcounts), Some(Arr::Big(displs)), recvtype, comm);

    neighbor_alltoall ineighbor_alltoall neighbor_alltoall_init (sendbuf: *const c_void,
        sendcount: c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int,
        recvtype: MPI_Datatype, comm: MPI_Comm) => neighbor_alltoall(sendbuf,
        sendcount.into(), NO_ARR, None, sendtype, recvbuf, recvcount.into(), NO_ARR, None,
        recvtype, comm);
    neighbor_alltoall_c ineighbor_alltoall_c neighbor_alltoall_init_c (sendbuf: *const c_void,
        sendcount: MPI_Count, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count,
        recvtype: MPI_Datatype, comm: MPI_Comm) => neighbor_alltoall(sendbuf, sendcount,
        NO_ARR, None, sendtype, recvbuf, recvcount, NO_ARR, None, recvtype, comm);
    neighbor_alltoallv ineighbor_alltoallv neighbor_alltoallv_init (sendbuf: *const c_void,
        sendcounts: *const c_int, sdispls: *const c_int, sendtype: MPI_Datatype,
        recvbuf: *mut c_void, recvcounts: *const c_int, rdispls: *const c_int,
        recvtype: MPI_Datatype, comm: MPI_Comm) => neighbor_alltoall(sendbuf, 0,
        Arr::Int(sendcounts), Some(Arr::Int(sdispls)), sendtype, recvbuf, 0,
        Arr::Int(recvcounts), Some(Arr::Int(rdispls)), recvtype, comm);
    neighbor_alltoallv_c ineighbor_alltoallv_c neighbor_alltoallv_init_c (
        sendbuf: *const c_void, sendcounts: *const MPI_Count, sdispls: *const MPI_Aint,
        sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const MPI_Count,
        rdispls: *const MPI_Aint, recvtype: MPI_Datatype, comm: MPI_Comm)
        => neighbor_alltoall(sendbuf, 0, Arr::Big(sendcounts), Some(Arr::Big(sdispls)),
        sendtype, recvbuf, 0, Arr::Big(recvcounts), Some(Arr::Big(rdispls)), recvtype, comm);
    neighbor_alltoallw ineighbor_alltoallw neighbor_alltoallw_init (sendbuf: *const c_void,
        sendcounts: *const c_int, sdispls: *const MPI_Aint, sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void, recvcounts: *const c_int, rdispls: *const MPI_Aint,
        recvtypes: *const MPI_Datatype, comm: MPI_Comm) => neighbor_alltoallw(sendbuf,
        Arr::Int(sendcounts), Arr::Big(sdispls), sendtypes, recvbuf, Arr::Int(recvcounts),
        Arr::Big(rdispls), recvtypes, comm);
    neighbor_alltoallw_c ineighbor_alltoallw_c neighbor_alltoallw_init_c (
        sendbuf: *const c_void, sendcounts: *const MPI_Count, sdispls: *const MPI_Aint,
        sendtypes: *const MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const MPI_Count,
        rdispls: *const MPI_Aint, recvtypes: *const MPI_Datatype, comm: MPI_Comm)
        => neighbor_alltoallw(sendbuf, Arr::Big(sendcounts), Arr::Big(sdispls), sendtypes,
        recvbuf, Arr::Big(recvcounts), Arr::Big(rdispls), recvtypes, comm);
}

pub(crate) fn reduce_local(
    inbuf: *const c_void,
    inoutbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
) -> MpiResult<()> {
    collective::reduce_local(inbuf, inoutbuf, count.into(), datatype, op)
}

pub(crate) fn reduce_local_c(
    inbuf: *const c_void,
    inoutbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
) -> MpiResult<()> {
    collective::reduce_local(inbuf, inoutbuf, count, datatype, op)
}

pub(crate) fn op_create(
    user_fn: *mut MPI_User_function,
    commute: c_int,
    op: *mut MPI_Op,
) -> MpiResult<()> {
    put(
        op,
        "op",
        op::create_user(user_fn as usize, commute != 0, false)?,
    )
}

pub(crate) fn op_create_c(
    user_fn: *mut MPI_User_function_c,
    commute: c_int,
    op: *mut MPI_Op,
) -> MpiResult<()> {
    put(
        op,
        "op",
        op::create_user(user_fn as usize, commute != 0, true)?,
    )
}

pub(crate) fn op_free(op: *mut MPI_Op) -> MpiResult<()> {
    op::free_user(out(op, "op")?)
}

pub(crate) fn op_commutative(op: MPI_Op, commute: *mut c_int) -> MpiResult<()> {
    put(commute, "commute", c_int::from(op::is_commutative(op)?))
}
