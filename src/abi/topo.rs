//! Process topologies, the C face: `MPI_Dims_create`, Cartesian, graph and
//! distributed-graph communicators and their queries (`core::topo` holds
//! the arithmetic).

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::data::{MPI_UNWEIGHTED, MPI_WEIGHTS_EMPTY};
use super::types::*;
use super::util::{c_array, out, put};
use crate::abi::consts::*;
use crate::core::comm::{self, Comm};
use crate::core::error::{MpiError, MpiResult};
use crate::core::topo::{self, Topo};
use std::ffi::c_int;
use std::sync::Arc;

pub(crate) fn dims_create(nnodes: c_int, ndims: c_int, dims: *mut c_int) -> MpiResult<()> {
    if ndims > 0 {
        out(dims, "dims")?;
    }
    // SAFETY: the user passes `ndims` entries (checked non-negative first).
    let d = match usize::try_from(ndims) {
        Ok(n) if n > 0 => unsafe { std::slice::from_raw_parts_mut(dims, n) },
        _ => &mut [],
    };
    topo::dims_create(nnodes, ndims, d)
}

/// `n` values of a C array argument.
fn ints(p: *const c_int, n: usize, what: &str) -> MpiResult<Vec<c_int>> {
    Ok(c_array(p, n, what)?.to_vec())
}

/// Copy `v` into a user array of `max` entries (at most `max` are written).
fn fill(p: *mut c_int, max: c_int, v: &[c_int], what: &str) -> MpiResult<()> {
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

fn topology(c: MPI_Comm) -> MpiResult<(Arc<Comm>, Topo)> {
    let comm = comm::get(c)?;
    let t = comm.topo.get().cloned().ok_or_else(|| {
        MpiError::new(MPI_ERR_TOPOLOGY, "the communicator has no process topology")
    })?;
    Ok((comm, t))
}

fn cart(c: MPI_Comm) -> MpiResult<(Arc<Comm>, Vec<c_int>, Vec<bool>)> {
    match topology(c)? {
        (comm, Topo::Cart { dims, periods }) => Ok((comm, dims, periods)),
        _ => Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            "the communicator has no Cartesian topology",
        )),
    }
}

fn graph(c: MPI_Comm) -> MpiResult<(Arc<Comm>, Vec<c_int>, Vec<c_int>)> {
    match topology(c)? {
        (comm, Topo::Graph { index, edges }) => Ok((comm, index, edges)),
        _ => Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            "the communicator has no graph topology",
        )),
    }
}

/// The first `n` processes of `parent` form a communicator with topology
/// `t` (ranks kept: `reorder` may be ignored); the others get
/// `MPI_COMM_NULL`.
fn with_topology(parent: &Comm, n: usize, t: Topo, newcomm: *mut MPI_Comm) -> MpiResult<()> {
    if n > parent.size as usize {
        return Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            format!(
                "the topology needs {n} processes; the communicator has {}",
                parent.size
            ),
        ));
    }
    let slot = out(newcomm, "newcomm")?;
    *slot = MPI_COMM_NULL;
    let color = if (parent.rank as usize) < n {
        0
    } else {
        MPI_UNDEFINED
    };
    let h = comm::split(parent, color, parent.rank)?;
    comm::set_topo(h, t);
    *slot = h;
    Ok(())
}

fn periods_of(p: *const c_int, n: usize) -> MpiResult<Vec<bool>> {
    Ok(ints(p, n, "periods")?.iter().map(|&x| x != 0).collect())
}

fn ndims_of(ndims: c_int) -> MpiResult<usize> {
    if ndims < 0 {
        return Err(MpiError::new(
            MPI_ERR_DIMS,
            format!("invalid number of dimensions {ndims}"),
        ));
    }
    Ok(ndims as usize)
}

pub(crate) fn cart_create(
    comm_old: MPI_Comm,
    ndims: c_int,
    dims: *const c_int,
    periods: *const c_int,
    _reorder: c_int,
    comm_cart: *mut MPI_Comm,
) -> MpiResult<()> {
    let parent = comm::get(comm_old)?;
    let n = ndims_of(ndims)?;
    let dims = ints(dims, n, "dims")?;
    let periods = periods_of(periods, n)?;
    let size = topo::grid_size(&dims)?;
    with_topology(&parent, size, Topo::Cart { dims, periods }, comm_cart)
}

pub(crate) fn cartdim_get(c: MPI_Comm, ndims: *mut c_int) -> MpiResult<()> {
    let (_, dims, _) = cart(c)?;
    put(ndims, "ndims", dims.len() as c_int)
}

pub(crate) fn cart_get(
    c: MPI_Comm,
    maxdims: c_int,
    dims: *mut c_int,
    periods: *mut c_int,
    coords: *mut c_int,
) -> MpiResult<()> {
    let (comm, d, p) = cart(c)?;
    let p: Vec<c_int> = p.iter().map(|&b| b as c_int).collect();
    fill(dims, maxdims, &d, "dims")?;
    fill(periods, maxdims, &p, "periods")?;
    fill(coords, maxdims, &topo::coords(&d, comm.rank), "coords")
}

fn rank_arg(comm: &Comm, rank: c_int) -> MpiResult<c_int> {
    if (0..comm.size).contains(&rank) {
        Ok(rank)
    } else {
        Err(MpiError::new(
            MPI_ERR_RANK,
            format!("invalid rank {rank} (communicator size {})", comm.size),
        ))
    }
}

pub(crate) fn cart_coords(
    c: MPI_Comm,
    rank: c_int,
    maxdims: c_int,
    coords: *mut c_int,
) -> MpiResult<()> {
    let (comm, d, _) = cart(c)?;
    let r = rank_arg(&comm, rank)?;
    fill(coords, maxdims, &topo::coords(&d, r), "coords")
}

pub(crate) fn cart_rank(c: MPI_Comm, coords: *const c_int, rank: *mut c_int) -> MpiResult<()> {
    let (_, d, p) = cart(c)?;
    let at = ints(coords, d.len(), "coords")?;
    let r = topo::rank_at(&d, &p, &at).ok_or_else(|| {
        MpiError::new(
            MPI_ERR_ARG,
            format!("coordinates {at:?} are outside the grid {d:?}"),
        )
    })?;
    put(rank, "rank", r)
}

pub(crate) fn cart_shift(
    c: MPI_Comm,
    direction: c_int,
    disp: c_int,
    rank_source: *mut c_int,
    rank_dest: *mut c_int,
) -> MpiResult<()> {
    let (comm, d, p) = cart(c)?;
    if !(0..d.len() as c_int).contains(&direction) {
        return Err(MpiError::arg(format!(
            "invalid direction {direction} for {} dimensions",
            d.len()
        )));
    }
    let (src, dst) = topo::shift(&d, &p, comm.rank, direction as usize, disp);
    put(rank_source, "rank_source", src)?;
    put(rank_dest, "rank_dest", dst)
}

pub(crate) fn cart_sub(
    c: MPI_Comm,
    remain_dims: *const c_int,
    newcomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let (comm, d, p) = cart(c)?;
    let keep: Vec<bool> = ints(remain_dims, d.len(), "remain_dims")?
        .iter()
        .map(|&x| x != 0)
        .collect();
    let me = topo::coords(&d, comm.rank);
    // Processes that agree on every dropped coordinate share a subgrid.
    // Dropping every dimension leaves a zero-dimensional grid of one
    // process: rank 0 keeps it, the others get MPI_COMM_NULL (as in MPICH).
    let color = if keep.iter().any(|&k| k) {
        (0..d.len())
            .filter(|&i| !keep[i])
            .fold(0, |acc, i| acc * d[i] + me[i])
    } else if comm.rank == 0 {
        0
    } else {
        MPI_UNDEFINED
    };
    let slot = out(newcomm, "newcomm")?;
    *slot = MPI_COMM_NULL;
    let h = comm::split(&comm, color, comm.rank)?;
    let pick = |v: &[c_int]| {
        (0..d.len())
            .filter(|&i| keep[i])
            .map(|i| v[i])
            .collect::<Vec<_>>()
    };
    let periods = (0..d.len()).filter(|&i| keep[i]).map(|i| p[i]).collect();
    comm::set_topo(
        h,
        Topo::Cart {
            dims: pick(&d),
            periods,
        },
    );
    *slot = h;
    Ok(())
}

pub(crate) fn cart_map(
    c: MPI_Comm,
    ndims: c_int,
    dims: *const c_int,
    periods: *const c_int,
    newrank: *mut c_int,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let n = ndims_of(ndims)?;
    let size = topo::grid_size(&ints(dims, n, "dims")?)?;
    periods_of(periods, n)?;
    if size > comm.size as usize {
        return Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            "the grid is larger than the communicator",
        ));
    }
    let r = if (comm.rank as usize) < size {
        comm.rank
    } else {
        MPI_UNDEFINED
    };
    put(newrank, "newrank", r)
}

pub(crate) fn graph_create(
    comm_old: MPI_Comm,
    nnodes: c_int,
    index: *const c_int,
    edges: *const c_int,
    _reorder: c_int,
    comm_graph: *mut MPI_Comm,
) -> MpiResult<()> {
    let parent = comm::get(comm_old)?;
    if nnodes < 0 {
        return Err(MpiError::arg(format!("invalid number of nodes {nnodes}")));
    }
    let index = ints(index, nnodes as usize, "index")?;
    let nedges = index.last().copied().unwrap_or(0).max(0) as usize;
    let edges = ints(edges, nedges, "edges")?;
    topo::check_graph(&index, &edges)?;
    with_topology(
        &parent,
        nnodes as usize,
        Topo::Graph { index, edges },
        comm_graph,
    )
}

pub(crate) fn graphdims_get(c: MPI_Comm, nnodes: *mut c_int, nedges: *mut c_int) -> MpiResult<()> {
    let (_, index, edges) = graph(c)?;
    put(nnodes, "nnodes", index.len() as c_int)?;
    put(nedges, "nedges", edges.len() as c_int)
}

pub(crate) fn graph_get(
    c: MPI_Comm,
    maxindex: c_int,
    maxedges: c_int,
    index: *mut c_int,
    edges: *mut c_int,
) -> MpiResult<()> {
    let (_, i, e) = graph(c)?;
    fill(index, maxindex, &i, "index")?;
    fill(edges, maxedges, &e, "edges")
}

pub(crate) fn graph_neighbors_count(
    c: MPI_Comm,
    rank: c_int,
    nneighbors: *mut c_int,
) -> MpiResult<()> {
    let (comm, i, e) = graph(c)?;
    let r = rank_arg(&comm, rank)? as usize;
    put(
        nneighbors,
        "nneighbors",
        topo::graph_neighbors(&i, &e, r).len() as c_int,
    )
}

pub(crate) fn graph_neighbors(
    c: MPI_Comm,
    rank: c_int,
    maxneighbors: c_int,
    neighbors: *mut c_int,
) -> MpiResult<()> {
    let (comm, i, e) = graph(c)?;
    let r = rank_arg(&comm, rank)? as usize;
    fill(
        neighbors,
        maxneighbors,
        topo::graph_neighbors(&i, &e, r),
        "neighbors",
    )
}

pub(crate) fn graph_map(
    c: MPI_Comm,
    nnodes: c_int,
    index: *const c_int,
    edges: *const c_int,
    newrank: *mut c_int,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    if nnodes < 0 || nnodes > comm.size {
        return Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            format!("invalid number of nodes {nnodes}"),
        ));
    }
    let index = ints(index, nnodes as usize, "index")?;
    let nedges = index.last().copied().unwrap_or(0).max(0) as usize;
    topo::check_graph(&index, &ints(edges, nedges, "edges")?)?;
    let r = if comm.rank < nnodes {
        comm.rank
    } else {
        MPI_UNDEFINED
    };
    put(newrank, "newrank", r)
}

/// Weights argument: `None` for `MPI_UNWEIGHTED`.
fn weights_arg(p: *const c_int, n: usize, what: &str) -> MpiResult<Option<Vec<c_int>>> {
    if p == MPI_UNWEIGHTED.0.cast_const() {
        return Ok(None);
    }
    if p == MPI_WEIGHTS_EMPTY.0.cast_const() {
        return Ok(Some(vec![1; n]));
    }
    ints(p, n, what).map(Some)
}

fn check_ranks(comm: &Comm, v: &[c_int], what: &str) -> MpiResult<()> {
    match v.iter().find(|&&r| !(0..comm.size).contains(&r)) {
        Some(r) => Err(MpiError::new(
            MPI_ERR_RANK,
            format!("{what} names rank {r} (communicator size {})", comm.size),
        )),
        None => Ok(()),
    }
}

/// A copy of `parent` (every process stays) carrying `t`.
fn dup_with_topology(parent: &Comm, t: Topo, newcomm: *mut MPI_Comm) -> MpiResult<()> {
    with_topology(parent, parent.size as usize, t, newcomm)
}

pub(crate) fn dist_graph_create_adjacent(
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
    let parent = comm::get(comm_old)?;
    if info != MPI_INFO_NULL {
        crate::core::info::get(info)?;
    }
    if indegree < 0 || outdegree < 0 {
        return Err(MpiError::arg("negative degree"));
    }
    let (ni, no) = (indegree as usize, outdegree as usize);
    let sources = ints(sources, ni, "sources")?;
    let dests = ints(destinations, no, "destinations")?;
    check_ranks(&parent, &sources, "sources")?;
    check_ranks(&parent, &dests, "destinations")?;
    let sw = weights_arg(sourceweights, ni, "sourceweights")?;
    let dw = weights_arg(destweights, no, "destweights")?;
    let weights = match (sw, dw) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    let t = Topo::DistGraph {
        sources,
        dests,
        weights,
    };
    dup_with_topology(&parent, t, comm_dist_graph)
}

pub(crate) fn dist_graph_create(
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
    let parent = comm::get(comm_old)?;
    if info != MPI_INFO_NULL {
        crate::core::info::get(info)?;
    }
    if n < 0 {
        return Err(MpiError::arg(format!("negative number of sources {n}")));
    }
    let srcs = ints(sources, n as usize, "sources")?;
    let degs = ints(degrees, n as usize, "degrees")?;
    if degs.iter().any(|&d| d < 0) {
        return Err(MpiError::arg("negative degree"));
    }
    let total: usize = degs.iter().map(|&d| d as usize).sum();
    let dsts = ints(destinations, total, "destinations")?;
    let w = weights_arg(weights, total, "weights")?;
    check_ranks(&parent, &srcs, "sources")?;
    check_ranks(&parent, &dsts, "destinations")?;
    // This process's edges as (source, destination, weight) triples.
    let mut mine = Vec::with_capacity(3 * total);
    let mut k = 0;
    for (&s, &d) in srcs.iter().zip(&degs) {
        for _ in 0..d {
            mine.extend([s, dsts[k], w.as_ref().map_or(1, |w| w[k])]);
            k += 1;
        }
    }
    // Everyone learns every edge, then keeps those that touch it.
    let all = comm::allgather_ints(&parent, &mine)?;
    let me = parent.rank;
    let edges = all.chunks_exact(3);
    let ins: Vec<(c_int, c_int)> = edges
        .clone()
        .filter(|e| e[1] == me)
        .map(|e| (e[0], e[2]))
        .collect();
    let outs: Vec<(c_int, c_int)> = edges.filter(|e| e[0] == me).map(|e| (e[1], e[2])).collect();
    let weights = w.map(|_| {
        (
            ins.iter().map(|e| e.1).collect(),
            outs.iter().map(|e| e.1).collect(),
        )
    });
    // Weightedness must agree: a process passing MPI_UNWEIGHTED makes the
    // graph unweighted only if all do; the standard requires consistency.
    let t = Topo::DistGraph {
        sources: ins.iter().map(|e| e.0).collect(),
        dests: outs.iter().map(|e| e.0).collect(),
        weights,
    };
    dup_with_topology(&parent, t, comm_dist_graph)
}

fn dist_graph(c: MPI_Comm) -> MpiResult<(Vec<c_int>, Vec<c_int>, topo::Weights)> {
    match topology(c)? {
        (
            _,
            Topo::DistGraph {
                sources,
                dests,
                weights,
            },
        ) => Ok((sources, dests, weights)),
        _ => Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            "the communicator has no distributed graph topology",
        )),
    }
}

pub(crate) fn dist_graph_neighbors_count(
    c: MPI_Comm,
    indegree: *mut c_int,
    outdegree: *mut c_int,
    weighted: *mut c_int,
) -> MpiResult<()> {
    let (s, d, w) = dist_graph(c)?;
    put(indegree, "indegree", s.len() as c_int)?;
    put(outdegree, "outdegree", d.len() as c_int)?;
    put(weighted, "weighted", w.is_some() as c_int)
}

pub(crate) fn dist_graph_neighbors(
    c: MPI_Comm,
    maxindegree: c_int,
    sources: *mut c_int,
    sourceweights: *mut c_int,
    maxoutdegree: c_int,
    destinations: *mut c_int,
    destweights: *mut c_int,
) -> MpiResult<()> {
    let (s, d, w) = dist_graph(c)?;
    fill(sources, maxindegree, &s, "sources")?;
    fill(destinations, maxoutdegree, &d, "destinations")?;
    if let Some((sw, dw)) = w {
        if sourceweights != MPI_UNWEIGHTED.0 {
            fill(sourceweights, maxindegree, &sw, "sourceweights")?;
        }
        if destweights != MPI_UNWEIGHTED.0 {
            fill(destweights, maxoutdegree, &dw, "destweights")?;
        }
    }
    Ok(())
}

pub(crate) fn topo_test(c: MPI_Comm, status: *mut c_int) -> MpiResult<()> {
    let comm = comm::get(c)?;
    put(
        status,
        "status",
        comm.topo.get().map_or(MPI_UNDEFINED, Topo::kind),
    )
}
