//! Groups, the C face, and the communicator calls built on them
//! (`Comm_group`, `Comm_create`).

use super::types::*;
use super::util::{c_array, out, put};
use crate::abi::consts::*;
use crate::core::comm;
use crate::core::error::{MpiError, MpiResult};
use crate::core::group::{self, Group};
use std::ffi::c_int;
use std::sync::Arc;

/// `n` values of a C array argument.
fn slice<'a, T>(p: *const T, n: c_int, what: &str) -> MpiResult<&'a [T]> {
    if n < 0 {
        return Err(MpiError::arg(format!("negative count {n} of {what}")));
    }
    c_array(p, n as usize, what)
}

/// Store a new group's handle (`MPI_GROUP_NULL` first, so a failure leaves
/// no stale handle).
fn new_group(out_h: *mut MPI_Group, make: impl FnOnce() -> MpiResult<Group>) -> MpiResult<()> {
    let slot = out(out_h, "newgroup")?;
    *slot = MPI_GROUP_NULL;
    *slot = group::handle(Arc::new(make()?));
    Ok(())
}

pub(crate) fn group_size(g: MPI_Group, size: *mut c_int) -> MpiResult<()> {
    put(size, "size", group::get(g)?.size() as c_int)
}

pub(crate) fn group_rank(g: MPI_Group, rank: *mut c_int) -> MpiResult<()> {
    let me = crate::core::runtime::job().rank as usize;
    let r = group::get(g)?
        .rank_of(me)
        .map_or(MPI_UNDEFINED, |r| r as c_int);
    put(rank, "rank", r)
}

pub(crate) fn group_translate_ranks(
    group1: MPI_Group,
    n: c_int,
    ranks1: *const c_int,
    group2: MPI_Group,
    ranks2: *mut c_int,
) -> MpiResult<()> {
    let (a, b) = (group::get(group1)?, group::get(group2)?);
    let from = slice(ranks1, n, "ranks1")?;
    let to = slice(ranks2.cast_const(), n, "ranks2")?.as_ptr().cast_mut();
    for (i, &r) in from.iter().enumerate() {
        let t = a.translate(r, &b)?;
        // SAFETY: `ranks2` holds `n` entries (checked non-null above).
        unsafe { to.add(i).write(t) };
    }
    Ok(())
}

pub(crate) fn group_compare(
    group1: MPI_Group,
    group2: MPI_Group,
    result: *mut c_int,
) -> MpiResult<()> {
    let r = group::get(group1)?.compare(&*group::get(group2)?);
    put(result, "result", r)
}

/// A group made from two others (union, intersection, difference).
fn combine(
    group1: MPI_Group,
    group2: MPI_Group,
    newgroup: *mut MPI_Group,
    f: impl FnOnce(&Group, &Group) -> Group,
) -> MpiResult<()> {
    let (a, b) = (group::get(group1)?, group::get(group2)?);
    new_group(newgroup, || Ok(f(&a, &b)))
}

pub(crate) fn group_union(
    group1: MPI_Group,
    group2: MPI_Group,
    newgroup: *mut MPI_Group,
) -> MpiResult<()> {
    combine(group1, group2, newgroup, Group::union)
}

pub(crate) fn group_intersection(
    group1: MPI_Group,
    group2: MPI_Group,
    newgroup: *mut MPI_Group,
) -> MpiResult<()> {
    combine(group1, group2, newgroup, |a, b| a.filter(b, true))
}

pub(crate) fn group_difference(
    group1: MPI_Group,
    group2: MPI_Group,
    newgroup: *mut MPI_Group,
) -> MpiResult<()> {
    combine(group1, group2, newgroup, |a, b| a.filter(b, false))
}

pub(crate) fn group_incl(
    g: MPI_Group,
    n: c_int,
    ranks: *const c_int,
    newgroup: *mut MPI_Group,
) -> MpiResult<()> {
    let g = group::get(g)?;
    let ranks = slice(ranks, n, "ranks")?;
    new_group(newgroup, || g.incl(ranks))
}

pub(crate) fn group_excl(
    g: MPI_Group,
    n: c_int,
    ranks: *const c_int,
    newgroup: *mut MPI_Group,
) -> MpiResult<()> {
    let g = group::get(g)?;
    let ranks = slice(ranks, n, "ranks")?;
    new_group(newgroup, || g.excl(ranks))
}

pub(crate) fn group_range_incl(
    g: MPI_Group,
    n: c_int,
    ranges: *mut [c_int; 3],
    newgroup: *mut MPI_Group,
) -> MpiResult<()> {
    let g = group::get(g)?;
    let ranks = g.expand_ranges(slice(ranges.cast_const(), n, "ranges")?)?;
    new_group(newgroup, || g.incl(&ranks))
}

pub(crate) fn group_range_excl(
    g: MPI_Group,
    n: c_int,
    ranges: *mut [c_int; 3],
    newgroup: *mut MPI_Group,
) -> MpiResult<()> {
    let g = group::get(g)?;
    let ranks = g.expand_ranges(slice(ranges.cast_const(), n, "ranges")?)?;
    new_group(newgroup, || g.excl(&ranks))
}

pub(crate) fn group_free(g: *mut MPI_Group) -> MpiResult<()> {
    let slot = out(g, "group")?;
    group::free(*slot)?;
    *slot = MPI_GROUP_NULL;
    Ok(())
}

pub(crate) fn comm_group(c: MPI_Comm, g: *mut MPI_Group) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let slot = out(g, "group")?;
    *slot = group::handle(comm.group.clone());
    Ok(())
}

pub(crate) fn comm_remote_group(c: MPI_Comm, g: *mut MPI_Group) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let slot = out(g, "group")?;
    let remote = comm.remote.clone().ok_or_else(|| {
        MpiError::new(
            MPI_ERR_COMM,
            "MPI_Comm_remote_group needs an intercommunicator",
        )
    })?;
    *slot = group::handle(remote);
    Ok(())
}

pub(crate) fn comm_create(c: MPI_Comm, g: MPI_Group, newcomm: *mut MPI_Comm) -> MpiResult<()> {
    let parent = comm::get(c)?;
    let group = group::get(g)?;
    let slot = out(newcomm, "newcomm")?;
    *slot = MPI_COMM_NULL;
    *slot = comm::create(&parent, group)?;
    Ok(())
}

pub(crate) fn comm_create_group(
    c: MPI_Comm,
    g: MPI_Group,
    tag: c_int,
    newcomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let parent = comm::get(c)?;
    let group = group::get(g)?;
    if tag < 0 {
        return Err(MpiError::new(MPI_ERR_TAG, format!("invalid tag {tag}")));
    }
    let slot = out(newcomm, "newcomm")?;
    *slot = MPI_COMM_NULL;
    *slot = comm::create_group(&parent, group, tag)?;
    Ok(())
}
