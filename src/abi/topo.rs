//! Process topologies, the C face: read the array arguments (their lengths
//! come from earlier arguments or the communicator's topology), call
//! `core::topo`, write back what it reports.

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::data::{MPI_UNWEIGHTED, MPI_WEIGHTS_EMPTY};
use super::types::*;
use super::util::{c_array, info_arg, out, put};
use crate::abi::consts::*;
use crate::core::comm;
use crate::core::error::{MpiError, MpiResult};
use crate::core::topo;
use std::ffi::c_int;

pub(crate) unsafe fn dims_create(nnodes: c_int, ndims: c_int, dims: *mut c_int) -> MpiResult<()> {
    if ndims > 0 {
        unsafe { out(dims, "dims") }?;
    }
    // SAFETY: the user passes `ndims` entries (checked non-negative first).
    let d = match usize::try_from(ndims) {
        Ok(n) if n > 0 => unsafe { std::slice::from_raw_parts_mut(dims, n) },
        _ => &mut [],
    };
    topo::dims_create(nnodes, ndims, d)
}

/// `n` values of a C array argument.
unsafe fn ints(p: *const c_int, n: usize, what: &str) -> MpiResult<Vec<c_int>> {
    Ok(unsafe { c_array(p, n, what) }?.to_vec())
}

/// Flags of a C array argument.
unsafe fn flags(p: *const c_int, n: usize, what: &str) -> MpiResult<Vec<bool>> {
    Ok(unsafe { c_array(p, n, what) }?
        .iter()
        .map(|&x| x != 0)
        .collect())
}

/// Copy `v` into a user array of `max` entries (at most `max` are written).
unsafe fn fill(p: *mut c_int, max: c_int, v: &[c_int], what: &str) -> MpiResult<()> {
    let n = v.len().min(max.max(0) as usize);
    if n == 0 {
        return Ok(());
    }
    if p.is_null() {
        return Err(MpiError::arg(format!("{what} is a null pointer")));
    }
    // SAFETY: the user's array holds `max` >= n entries.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), p, n) };
    Ok(())
}

/// A new communicator into the user's slot (`MPI_COMM_NULL` first).
unsafe fn new_comm(
    slot: *mut MPI_Comm,
    make: impl FnOnce() -> MpiResult<MPI_Comm>,
) -> MpiResult<()> {
    let slot = unsafe { out(slot, "newcomm") }?;
    *slot = MPI_COMM_NULL;
    *slot = make()?;
    Ok(())
}

pub(crate) unsafe fn cart_create(
    comm_old: MPI_Comm,
    ndims: c_int,
    dims: *const c_int,
    periods: *const c_int,
    _reorder: c_int,
    comm_cart: *mut MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm_old)?;
    let n = topo::ndims_arg(ndims)?;
    let (dims, periods) = (unsafe { ints(dims, n, "dims") }?, unsafe {
        flags(periods, n, "periods")
    }?);
    unsafe { new_comm(comm_cart, || topo::cart_create(comm_old, dims, periods)) }
}

pub(crate) unsafe fn cartdim_get(c: MPI_Comm, ndims: *mut c_int) -> MpiResult<()> {
    unsafe { put(ndims, "ndims", topo::cart(c)?.1.len() as c_int) }
}

pub(crate) unsafe fn cart_get(
    c: MPI_Comm,
    maxdims: c_int,
    dims: *mut c_int,
    periods: *mut c_int,
    coords: *mut c_int,
) -> MpiResult<()> {
    let (comm, d, p) = topo::cart(c)?;
    let p: Vec<c_int> = p.iter().map(|&b| b as c_int).collect();
    unsafe { fill(dims, maxdims, &d, "dims") }?;
    unsafe { fill(periods, maxdims, &p, "periods") }?;
    unsafe { fill(coords, maxdims, &topo::coords(&d, comm.rank), "coords") }
}

pub(crate) unsafe fn cart_coords(
    c: MPI_Comm,
    rank: c_int,
    maxdims: c_int,
    coords: *mut c_int,
) -> MpiResult<()> {
    unsafe { fill(coords, maxdims, &topo::cart_coords(c, rank)?, "coords") }
}

pub(crate) unsafe fn cart_rank(
    c: MPI_Comm,
    coords: *const c_int,
    rank: *mut c_int,
) -> MpiResult<()> {
    let at = unsafe { ints(coords, topo::cart(c)?.1.len(), "coords") }?;
    unsafe { put(rank, "rank", topo::cart_rank(c, &at)?) }
}

pub(crate) unsafe fn cart_shift(
    c: MPI_Comm,
    direction: c_int,
    disp: c_int,
    rank_source: *mut c_int,
    rank_dest: *mut c_int,
) -> MpiResult<()> {
    let (src, dst) = topo::cart_shift(c, direction, disp)?;
    unsafe { put(rank_source, "rank_source", src) }?;
    unsafe { put(rank_dest, "rank_dest", dst) }
}

pub(crate) unsafe fn cart_sub(
    c: MPI_Comm,
    remain_dims: *const c_int,
    newcomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let keep = unsafe { flags(remain_dims, topo::cart(c)?.1.len(), "remain_dims") }?;
    unsafe { new_comm(newcomm, || topo::cart_sub(c, &keep)) }
}

pub(crate) unsafe fn cart_map(
    c: MPI_Comm,
    ndims: c_int,
    dims: *const c_int,
    periods: *const c_int,
    newrank: *mut c_int,
) -> MpiResult<()> {
    comm::get(c)?;
    let n = topo::ndims_arg(ndims)?;
    let dims = unsafe { ints(dims, n, "dims") }?;
    unsafe { flags(periods, n, "periods") }?;
    unsafe { put(newrank, "newrank", topo::cart_map(c, &dims)?) }
}

/// A graph's `index` (`nnodes` entries) and `edges` (as many as it says).
unsafe fn graph_arrays(
    nnodes: usize,
    index: *const c_int,
    edges: *const c_int,
) -> MpiResult<(Vec<c_int>, Vec<c_int>)> {
    let index = unsafe { ints(index, nnodes, "index") }?;
    let edges = unsafe { ints(edges, topo::edge_count(&index), "edges") }?;
    Ok((index, edges))
}

pub(crate) unsafe fn graph_create(
    comm_old: MPI_Comm,
    nnodes: c_int,
    index: *const c_int,
    edges: *const c_int,
    _reorder: c_int,
    comm_graph: *mut MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm_old)?;
    let (index, edges) = unsafe { graph_arrays(topo::nnodes_arg(nnodes)?, index, edges) }?;
    unsafe { new_comm(comm_graph, || topo::graph_create(comm_old, index, edges)) }
}

pub(crate) unsafe fn graphdims_get(
    c: MPI_Comm,
    nnodes: *mut c_int,
    nedges: *mut c_int,
) -> MpiResult<()> {
    let (_, index, edges) = topo::graph(c)?;
    unsafe { put(nnodes, "nnodes", index.len() as c_int) }?;
    unsafe { put(nedges, "nedges", edges.len() as c_int) }
}

pub(crate) unsafe fn graph_get(
    c: MPI_Comm,
    maxindex: c_int,
    maxedges: c_int,
    index: *mut c_int,
    edges: *mut c_int,
) -> MpiResult<()> {
    let (_, i, e) = topo::graph(c)?;
    unsafe { fill(index, maxindex, &i, "index") }?;
    unsafe { fill(edges, maxedges, &e, "edges") }
}

pub(crate) unsafe fn graph_neighbors_count(
    c: MPI_Comm,
    rank: c_int,
    nneighbors: *mut c_int,
) -> MpiResult<()> {
    unsafe {
        put(
            nneighbors,
            "nneighbors",
            topo::graph_rank_neighbors(c, rank)?.len() as c_int,
        )
    }
}

pub(crate) unsafe fn graph_neighbors(
    c: MPI_Comm,
    rank: c_int,
    maxneighbors: c_int,
    neighbors: *mut c_int,
) -> MpiResult<()> {
    unsafe {
        fill(
            neighbors,
            maxneighbors,
            &topo::graph_rank_neighbors(c, rank)?,
            "neighbors",
        )
    }
}

pub(crate) unsafe fn graph_map(
    c: MPI_Comm,
    nnodes: c_int,
    index: *const c_int,
    edges: *const c_int,
    newrank: *mut c_int,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    // Arrays are read only for a number of nodes the call can accept.
    let n = if (0..=comm.size).contains(&nnodes) {
        nnodes as usize
    } else {
        0
    };
    let (index, edges) = unsafe { graph_arrays(n, index, edges) }?;
    unsafe {
        put(
            newrank,
            "newrank",
            topo::graph_map(c, nnodes, &index, &edges)?,
        )
    }
}

/// Weights argument: `None` for `MPI_UNWEIGHTED`.
unsafe fn weights_arg(p: *const c_int, n: usize, what: &str) -> MpiResult<Option<Vec<c_int>>> {
    if p == MPI_UNWEIGHTED.0.cast_const() {
        return Ok(None);
    }
    if p == MPI_WEIGHTS_EMPTY.0.cast_const() {
        return Ok(Some(vec![1; n]));
    }
    unsafe { ints(p, n, what) }.map(Some)
}

/// A degree or count argument.
fn degree(d: c_int, what: &str) -> MpiResult<usize> {
    usize::try_from(d).map_err(|_| MpiError::arg(format!("negative {what} {d}")))
}

pub(crate) unsafe fn dist_graph_create_adjacent(
    comm_old: MPI_Comm,
    indegree: c_int,
    sources: *const c_int,
    sourceweights: *const c_int,
    outdegree: c_int,
    destinations: *const c_int,
    destweights: *const c_int,
    info: MPI_Info,
    _reorder: c_int,
    comm_dist_graph: *mut MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm_old)?;
    info_arg(info)?;
    let (ni, no) = (degree(indegree, "degree")?, degree(outdegree, "degree")?);
    let sources = unsafe { ints(sources, ni, "sources") }?;
    let dests = unsafe { ints(destinations, no, "destinations") }?;
    let sw = unsafe { weights_arg(sourceweights, ni, "sourceweights") }?;
    let dw = unsafe { weights_arg(destweights, no, "destweights") }?;
    unsafe {
        new_comm(comm_dist_graph, || {
            topo::dist_graph_create_adjacent(comm_old, sources, sw, dests, dw)
        })
    }
}

pub(crate) unsafe fn dist_graph_create(
    comm_old: MPI_Comm,
    n: c_int,
    sources: *const c_int,
    degrees: *const c_int,
    destinations: *const c_int,
    weights: *const c_int,
    info: MPI_Info,
    _reorder: c_int,
    comm_dist_graph: *mut MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm_old)?;
    info_arg(info)?;
    let n = degree(n, "number of sources")?;
    let srcs = unsafe { ints(sources, n, "sources") }?;
    let degs = unsafe { ints(degrees, n, "degrees") }?;
    let total = degs
        .iter()
        .map(|&d| degree(d, "degree"))
        .sum::<MpiResult<usize>>()?;
    let dsts = unsafe { ints(destinations, total, "destinations") }?;
    let w = unsafe { weights_arg(weights, total, "weights") }?;
    unsafe {
        new_comm(comm_dist_graph, || {
            topo::dist_graph_create(comm_old, &srcs, &degs, &dsts, w)
        })
    }
}

pub(crate) unsafe fn dist_graph_neighbors_count(
    c: MPI_Comm,
    indegree: *mut c_int,
    outdegree: *mut c_int,
    weighted: *mut c_int,
) -> MpiResult<()> {
    let (s, d, w) = topo::dist_graph(c)?;
    unsafe { put(indegree, "indegree", s.len() as c_int) }?;
    unsafe { put(outdegree, "outdegree", d.len() as c_int) }?;
    unsafe { put(weighted, "weighted", w.is_some() as c_int) }
}

pub(crate) unsafe fn dist_graph_neighbors(
    c: MPI_Comm,
    maxindegree: c_int,
    sources: *mut c_int,
    sourceweights: *mut c_int,
    maxoutdegree: c_int,
    destinations: *mut c_int,
    destweights: *mut c_int,
) -> MpiResult<()> {
    let (s, d, w) = topo::dist_graph(c)?;
    unsafe { fill(sources, maxindegree, &s, "sources") }?;
    unsafe { fill(destinations, maxoutdegree, &d, "destinations") }?;
    if let Some((sw, dw)) = w {
        if sourceweights != MPI_UNWEIGHTED.0 {
            unsafe { fill(sourceweights, maxindegree, &sw, "sourceweights") }?;
        }
        if destweights != MPI_UNWEIGHTED.0 {
            unsafe { fill(destweights, maxoutdegree, &dw, "destweights") }?;
        }
    }
    Ok(())
}

pub(crate) unsafe fn topo_test(c: MPI_Comm, status: *mut c_int) -> MpiResult<()> {
    unsafe { put(status, "status", topo::topo_test(c)?) }
}
