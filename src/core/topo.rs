//! Process topologies attached to communicators: Cartesian grids, graphs
//! and distributed graphs. Ranks are never reordered (`reorder` is allowed
//! to be ignored), so a topology's ranks are its communicator's.

use super::comm::{self, Comm};
use super::error::{MpiError, MpiResult};
use crate::core::consts::*;
use crate::core::types::MPI_Comm;
use std::ffi::c_int;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub enum Topo {
    Cart {
        dims: Vec<c_int>,
        periods: Vec<bool>,
    },
    Graph {
        /// Cumulative neighbor counts, as `MPI_Graph_create` takes them.
        index: Vec<c_int>,
        edges: Vec<c_int>,
    },
    DistGraph {
        sources: Vec<c_int>,
        dests: Vec<c_int>,
        weights: Weights,
    },
}

/// A distributed graph's source and destination weights; `None` when it
/// was created with `MPI_UNWEIGHTED`.
pub type Weights = Option<(Vec<c_int>, Vec<c_int>)>;

impl Topo {
    /// `MPI_Topo_test`.
    pub fn kind(&self) -> c_int {
        match self {
            Topo::Cart { .. } => MPI_CART,
            Topo::Graph { .. } => MPI_GRAPH,
            Topo::DistGraph { .. } => MPI_DIST_GRAPH,
        }
    }
}

/// Where a process's neighbourhood collectives send and receive: its
/// in-neighbours (in receive-buffer order) and out-neighbours (in
/// send-buffer order), `MPI_PROC_NULL` for a missing Cartesian neighbour,
/// each with the sub-tag its messages carry. Two edges between one pair
/// of processes (a periodic dimension of extent 1 or 2) must not take each
/// other's messages: on a grid, what is sent in direction k arrives from
/// the opposite direction, so a message is tagged with the receiver's
/// slot for it. Graph edges between one pair match in order (sub-tag 0).
pub struct Hood {
    pub sources: Vec<(c_int, c_int)>,
    pub dests: Vec<(c_int, c_int)>,
}

impl Topo {
    /// The neighbourhood of `rank`.
    pub fn hood(&self, rank: c_int) -> Hood {
        let plain = |v: &[c_int]| v.iter().map(|&r| (r, 0)).collect::<Vec<_>>();
        match self {
            Topo::Cart { dims, periods } => {
                let mut sources = Vec::with_capacity(2 * dims.len());
                let mut dests = Vec::with_capacity(2 * dims.len());
                for d in 0..dims.len() {
                    let (below, above) = shift(dims, periods, rank, d, 1);
                    let (lo, hi) = (2 * d as c_int, 2 * d as c_int + 1);
                    sources.extend([(below, lo), (above, hi)]);
                    dests.extend([(below, hi), (above, lo)]);
                }
                Hood { sources, dests }
            }
            Topo::Graph { index, edges } => {
                let n = plain(graph_neighbors(index, edges, rank as usize));
                Hood {
                    sources: n.clone(),
                    dests: n,
                }
            }
            Topo::DistGraph { sources, dests, .. } => Hood {
                sources: plain(sources),
                dests: plain(dests),
            },
        }
    }
}

fn bad(msg: String) -> MpiError {
    MpiError::new(MPI_ERR_ARG, msg)
}

/// Processes a grid of `dims` needs (checked: positive extents, no overflow).
pub fn grid_size(dims: &[c_int]) -> MpiResult<usize> {
    dims.iter().try_fold(1usize, |n, &d| {
        if d <= 0 {
            return Err(MpiError::new(
                MPI_ERR_DIMS,
                format!("invalid dimension {d} in {dims:?}"),
            ));
        }
        n.checked_mul(d as usize)
            .ok_or_else(|| bad(format!("grid {dims:?} is too large")))
    })
}

/// Coordinates of `rank` in a row-major grid.
pub fn coords(dims: &[c_int], rank: c_int) -> Vec<c_int> {
    let mut c = vec![0; dims.len()];
    let mut r = rank;
    for i in (0..dims.len()).rev() {
        c[i] = r % dims[i];
        r /= dims[i];
    }
    c
}

/// The rank at `coords`, wrapping periodic dimensions; `None` when a
/// coordinate falls off a non-periodic one.
pub fn rank_at(dims: &[c_int], periods: &[bool], coords: &[c_int]) -> Option<c_int> {
    let mut r = 0;
    for i in 0..dims.len() {
        let mut c = coords[i];
        if periods[i] {
            c = c.rem_euclid(dims[i]);
        } else if !(0..dims[i]).contains(&c) {
            return None;
        }
        r = r * dims[i] + c;
    }
    Some(r)
}

/// `MPI_Cart_shift`: (source, destination) of a shift by `disp` along
/// `dir` from `rank`.
pub fn shift(
    dims: &[c_int],
    periods: &[bool],
    rank: c_int,
    dir: usize,
    disp: c_int,
) -> (c_int, c_int) {
    let me = coords(dims, rank);
    let at = |d: c_int| {
        let mut c = me.clone();
        c[dir] += d;
        rank_at(dims, periods, &c).unwrap_or(MPI_PROC_NULL)
    };
    (at(-disp), at(disp))
}

/// Neighbors of `rank` in a graph given by cumulative `index` and `edges`.
pub fn graph_neighbors<'a>(index: &[c_int], edges: &'a [c_int], rank: usize) -> &'a [c_int] {
    let lo = if rank == 0 {
        0
    } else {
        index[rank - 1] as usize
    };
    &edges[lo..index[rank] as usize]
}

/// Check a graph's `index` and `edges` for `nnodes` nodes.
pub fn check_graph(index: &[c_int], edges: &[c_int]) -> MpiResult<()> {
    let nnodes = index.len() as c_int;
    if index.windows(2).any(|w| w[1] < w[0]) || index.first().is_some_and(|&i| i < 0) {
        return Err(bad(format!("graph index {index:?} is not non-decreasing")));
    }
    if let Some(&e) = edges.iter().find(|&&e| !(0..nnodes).contains(&e)) {
        return Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            format!("graph edge to {e}, outside the {nnodes} nodes"),
        ));
    }
    Ok(())
}

/// The most even split of `n` into `k` factors, largest first: the
/// smallest spread between largest and smallest factor, and among equals
/// the most even split of the smaller factors (MPICH's choices). An
/// exhaustive search over divisors; `n` is a process count.
fn most_even(n: i64, k: usize) -> Option<Vec<i64>> {
    let mut divisors: Vec<i64> = (1..)
        .take_while(|d| d * d <= n)
        .filter(|d| n % d == 0)
        .collect();
    let large: Vec<i64> = divisors.iter().rev().map(|d| n / d).collect();
    divisors.extend(large);
    divisors.dedup();
    divisors.reverse();
    let spread = |v: &[i64]| v[0] - v[v.len() - 1];
    // Factors chosen so far (non-increasing), what is left to split.
    fn search(
        divisors: &[i64],
        rest: i64,
        k: usize,
        cur: &mut Vec<i64>,
        best: &mut Option<Vec<i64>>,
        spread: &impl Fn(&[i64]) -> i64,
    ) {
        if k == 0 {
            // Most even overall, then most even among the smaller factors.
            let key = |v: &[i64]| v.iter().map(|x| x - v[v.len() - 1]).collect::<Vec<_>>();
            let better = rest == 1 && best.as_ref().is_none_or(|b| key(cur) < key(b));
            if better {
                *best = Some(cur.clone());
            }
            return;
        }
        let cap = cur.last().copied().unwrap_or(rest);
        for &d in divisors.iter().filter(|&&d| d <= cap && rest % d == 0) {
            // The largest of the remaining factors is at least their k-th root.
            if d.checked_pow(k as u32).is_some_and(|p| p < rest) {
                break;
            }
            // Smaller factors only widen the spread from here on.
            if let (Some(b), Some(&top)) = (best.as_ref(), cur.first())
                && top - d > spread(b)
            {
                break;
            }
            cur.push(d);
            search(divisors, rest / d, k - 1, cur, best, spread);
            cur.pop();
        }
    }
    let mut best = None;
    search(&divisors, n, k, &mut Vec::new(), &mut best, &spread);
    best
}

/// Fill the zero entries of `dims` so that the product is `nnodes`, as
/// evenly as possible and in non-increasing order.
pub fn balance(nnodes: i64, dims: &mut [i64]) -> MpiResult<()> {
    if dims.iter().any(|&d| d < 0) {
        return Err(MpiError::new(
            MPI_ERR_DIMS,
            format!("negative dimension in {dims:?}"),
        ));
    }
    let fixed: i64 = dims.iter().filter(|&&d| d > 0).product();
    if nnodes % fixed != 0 {
        return Err(MpiError::new(
            MPI_ERR_DIMS,
            format!("{nnodes} processes cannot fill the given dimensions {dims:?}"),
        ));
    }
    let free: Vec<usize> = (0..dims.len()).filter(|&i| dims[i] == 0).collect();
    let rest = nnodes / fixed;
    if free.is_empty() {
        return if rest == 1 {
            Ok(())
        } else {
            Err(MpiError::new(
                MPI_ERR_DIMS,
                format!("the dimensions {dims:?} do not multiply to {nnodes}"),
            ))
        };
    }
    let mut vals = most_even(rest, free.len()).expect("any number splits into factors");
    vals.sort_unstable_by(|a, b| b.cmp(a));
    for (i, v) in free.into_iter().zip(vals) {
        dims[i] = v;
    }
    Ok(())
}

/// `MPI_Dims_create`: fill the zero entries of `dims` (`ndims` of them).
pub fn dims_create(nnodes: c_int, ndims: c_int, dims: &mut [c_int]) -> MpiResult<()> {
    if nnodes <= 0 {
        return Err(MpiError::arg(format!("invalid number of nodes {nnodes}")));
    }
    if ndims < 0 {
        return Err(MpiError::new(
            MPI_ERR_DIMS,
            format!("invalid number of dimensions {ndims}"),
        ));
    }
    let mut v: Vec<i64> = dims.iter().map(|&x| x.into()).collect();
    balance(nnodes.into(), &mut v)?;
    for (x, y) in dims.iter_mut().zip(v) {
        *x = y as c_int;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The chapter's calls: each takes its arguments read (arrays as vectors)
// and returns what the C call reports.

/// The communicator's topology.
fn topology(c: MPI_Comm) -> MpiResult<(Arc<Comm>, Topo)> {
    let comm = comm::get(c)?;
    let t = comm.topo.get().cloned().ok_or_else(|| {
        MpiError::new(MPI_ERR_TOPOLOGY, "the communicator has no process topology")
    })?;
    Ok((comm, t))
}

/// A Cartesian communicator: it, its dimensions and periodicity.
pub fn cart(c: MPI_Comm) -> MpiResult<(Arc<Comm>, Vec<c_int>, Vec<bool>)> {
    match topology(c)? {
        (comm, Topo::Cart { dims, periods }) => Ok((comm, dims, periods)),
        _ => Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            "the communicator has no Cartesian topology",
        )),
    }
}

/// A graph communicator: it, its index and edges.
pub fn graph(c: MPI_Comm) -> MpiResult<(Arc<Comm>, Vec<c_int>, Vec<c_int>)> {
    match topology(c)? {
        (comm, Topo::Graph { index, edges }) => Ok((comm, index, edges)),
        _ => Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            "the communicator has no graph topology",
        )),
    }
}

/// A distributed-graph communicator's sources, destinations and weights.
pub fn dist_graph(c: MPI_Comm) -> MpiResult<(Vec<c_int>, Vec<c_int>, Weights)> {
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

/// The first `n` processes of `parent` form a communicator with topology
/// `t` (ranks kept: `reorder` may be ignored); the others get
/// `MPI_COMM_NULL`.
fn with_topology(parent: &Comm, n: usize, t: Topo) -> MpiResult<MPI_Comm> {
    if n > parent.size as usize {
        return Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            format!(
                "the topology needs {n} processes; the communicator has {}",
                parent.size
            ),
        ));
    }
    let color = if (parent.rank as usize) < n {
        0
    } else {
        MPI_UNDEFINED
    };
    let h = comm::split(parent, color, parent.rank)?;
    comm::set_topo(h, t);
    Ok(h)
}

/// The number of dimensions of a Cartesian call.
pub fn ndims_arg(ndims: c_int) -> MpiResult<usize> {
    if ndims < 0 {
        return Err(MpiError::new(
            MPI_ERR_DIMS,
            format!("invalid number of dimensions {ndims}"),
        ));
    }
    Ok(ndims as usize)
}

/// The number of nodes of a graph call.
pub fn nnodes_arg(nnodes: c_int) -> MpiResult<usize> {
    if nnodes < 0 {
        return Err(MpiError::arg(format!("invalid number of nodes {nnodes}")));
    }
    Ok(nnodes as usize)
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

pub fn cart_create(c: MPI_Comm, dims: Vec<c_int>, periods: Vec<bool>) -> MpiResult<MPI_Comm> {
    let parent = comm::get(c)?;
    let size = grid_size(&dims)?;
    with_topology(&parent, size, Topo::Cart { dims, periods })
}

/// `MPI_Cart_coords`: the coordinates of `rank`.
pub fn cart_coords(c: MPI_Comm, rank: c_int) -> MpiResult<Vec<c_int>> {
    let (comm, d, _) = cart(c)?;
    Ok(coords(&d, rank_arg(&comm, rank)?))
}

/// `MPI_Cart_rank`: the rank at `at`.
pub fn cart_rank(c: MPI_Comm, at: &[c_int]) -> MpiResult<c_int> {
    let (_, d, p) = cart(c)?;
    rank_at(&d, &p, at).ok_or_else(|| {
        MpiError::new(
            MPI_ERR_ARG,
            format!("coordinates {at:?} are outside the grid {d:?}"),
        )
    })
}

/// `MPI_Cart_shift`: (source, destination).
pub fn cart_shift(c: MPI_Comm, direction: c_int, disp: c_int) -> MpiResult<(c_int, c_int)> {
    let (comm, d, p) = cart(c)?;
    if !(0..d.len() as c_int).contains(&direction) {
        return Err(MpiError::arg(format!(
            "invalid direction {direction} for {} dimensions",
            d.len()
        )));
    }
    Ok(shift(&d, &p, comm.rank, direction as usize, disp))
}

/// `MPI_Cart_sub`: the subgrid keeping the dimensions `keep` says.
pub fn cart_sub(c: MPI_Comm, keep: &[bool]) -> MpiResult<MPI_Comm> {
    let (comm, d, p) = cart(c)?;
    let me = coords(&d, comm.rank);
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
    let h = comm::split(&comm, color, comm.rank)?;
    let dims = (0..d.len()).filter(|&i| keep[i]).map(|i| d[i]).collect();
    let periods = (0..d.len()).filter(|&i| keep[i]).map(|i| p[i]).collect();
    comm::set_topo(h, Topo::Cart { dims, periods });
    Ok(h)
}

/// `MPI_Cart_map`: this process's rank in the grid, or `MPI_UNDEFINED`.
pub fn cart_map(c: MPI_Comm, dims: &[c_int]) -> MpiResult<c_int> {
    let comm = comm::get(c)?;
    let size = grid_size(dims)?;
    if size > comm.size as usize {
        return Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            "the grid is larger than the communicator",
        ));
    }
    Ok(if (comm.rank as usize) < size {
        comm.rank
    } else {
        MPI_UNDEFINED
    })
}

/// The number of edges a graph's `index` announces.
pub fn edge_count(index: &[c_int]) -> usize {
    index.last().copied().unwrap_or(0).max(0) as usize
}

pub fn graph_create(c: MPI_Comm, index: Vec<c_int>, edges: Vec<c_int>) -> MpiResult<MPI_Comm> {
    let parent = comm::get(c)?;
    check_graph(&index, &edges)?;
    let n = index.len();
    with_topology(&parent, n, Topo::Graph { index, edges })
}

/// `MPI_Graph_neighbors`: the neighbours of `rank`.
pub fn graph_rank_neighbors(c: MPI_Comm, rank: c_int) -> MpiResult<Vec<c_int>> {
    let (comm, i, e) = graph(c)?;
    let r = rank_arg(&comm, rank)? as usize;
    Ok(graph_neighbors(&i, &e, r).to_vec())
}

/// `MPI_Graph_map`: this process's rank in the graph, or `MPI_UNDEFINED`
/// (`index` and `edges` read for a valid `nnodes` only).
pub fn graph_map(c: MPI_Comm, nnodes: c_int, index: &[c_int], edges: &[c_int]) -> MpiResult<c_int> {
    let comm = comm::get(c)?;
    if nnodes < 0 || nnodes > comm.size {
        return Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            format!("invalid number of nodes {nnodes}"),
        ));
    }
    check_graph(index, edges)?;
    Ok(if comm.rank < nnodes {
        comm.rank
    } else {
        MPI_UNDEFINED
    })
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

/// `MPI_Dist_graph_create_adjacent`: weights `None` for `MPI_UNWEIGHTED`.
pub fn dist_graph_create_adjacent(
    c: MPI_Comm,
    sources: Vec<c_int>,
    source_weights: Option<Vec<c_int>>,
    dests: Vec<c_int>,
    dest_weights: Option<Vec<c_int>>,
) -> MpiResult<MPI_Comm> {
    let parent = comm::get(c)?;
    check_ranks(&parent, &sources, "sources")?;
    check_ranks(&parent, &dests, "destinations")?;
    let weights = source_weights.zip(dest_weights);
    let t = Topo::DistGraph {
        sources,
        dests,
        weights,
    };
    with_topology(&parent, parent.size as usize, t)
}

/// `MPI_Dist_graph_create`: every process gives some edges (`sources`,
/// each with `degrees` destinations in turn); each ends up with its own.
pub fn dist_graph_create(
    c: MPI_Comm,
    srcs: &[c_int],
    degs: &[c_int],
    dsts: &[c_int],
    w: Option<Vec<c_int>>,
) -> MpiResult<MPI_Comm> {
    let parent = comm::get(c)?;
    check_ranks(&parent, srcs, "sources")?;
    check_ranks(&parent, dsts, "destinations")?;
    // This process's edges as (source, destination, weight) triples.
    let mut mine = Vec::with_capacity(3 * dsts.len());
    let mut k = 0;
    for (&s, &d) in srcs.iter().zip(degs) {
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
    with_topology(&parent, parent.size as usize, t)
}

/// `MPI_Topo_test`.
pub fn topo_test(c: MPI_Comm) -> MpiResult<c_int> {
    Ok(comm::get(c)?.topo.get().map_or(MPI_UNDEFINED, Topo::kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_arithmetic() {
        let dims = [2, 3];
        assert_eq!(coords(&dims, 5), [1, 2]);
        assert_eq!(rank_at(&dims, &[false, false], &[1, 2]), Some(5));
        assert_eq!(rank_at(&dims, &[false, true], &[1, 3]), Some(3));
        assert_eq!(rank_at(&dims, &[false, false], &[2, 0]), None);
        assert_eq!(shift(&dims, &[false, true], 0, 1, 1), (2, 1));
        assert_eq!(shift(&dims, &[false, true], 0, 0, 1), (MPI_PROC_NULL, 3));
        assert_eq!(graph_neighbors(&[2, 3, 4], &[1, 2, 0, 0], 1), [0]);
        assert!(check_graph(&[1, 2], &[1, 2]).is_err());
        assert_eq!(grid_size(&[2, 0]).unwrap_err().code, MPI_ERR_DIMS);
    }

    fn dims(n: i64, mut d: Vec<i64>) -> Vec<i64> {
        balance(n, &mut d).unwrap();
        d
    }

    #[test]
    fn balanced_and_non_increasing() {
        assert_eq!(dims(6, vec![0, 0]), [3, 2]);
        assert_eq!(dims(12, vec![0, 0]), [4, 3]);
        assert_eq!(dims(72, vec![0, 0]), [9, 8]);
        assert_eq!(dims(240, vec![0, 0]), [16, 15]);
        assert_eq!(dims(72, vec![0, 0, 0]), [6, 4, 3]);
        assert_eq!(dims(5040, vec![0, 0, 0]), [21, 16, 15]);
        assert_eq!(dims(5616, vec![0, 0, 0, 0]), [13, 9, 8, 6]);
        assert_eq!(dims(1 << 20, vec![0; 20]), [2; 20]);
        assert_eq!(dims(12, vec![0, 0, 0]), [3, 2, 2]);
        assert_eq!(dims(16, vec![0, 0]), [4, 4]);
        assert_eq!(dims(7, vec![0, 0]), [7, 1]);
        assert_eq!(dims(12, vec![0, 3, 0]), [2, 3, 2]);
        assert_eq!(dims(1, vec![0, 0, 0]), [1, 1, 1]);
        assert!(balance(10, &mut [3, 0]).is_err());
        assert!(balance(6, &mut [2, 3]).is_ok());
    }
}
