//! The communicator chapter's calls: argument rules, then `core::comm`.
//! `scripts/gen-abi` binds each to its C functions by its `doc(alias)`.

use super::args::new_handle;
use super::attr;
use super::coll;
use super::comm::{self, Comm};
use super::consts::*;
use super::error::{MpiError, MpiResult};
use super::group;
use super::info;
use super::types::{MPI_Comm, MPI_Group, MPI_Info};
use std::ffi::c_int;
use std::sync::Arc;

/// Store a new communicator's handle (`MPI_COMM_NULL` if making it fails).
fn store(slot: &mut MPI_Comm, make: impl FnOnce() -> MpiResult<MPI_Comm>) -> MpiResult<()> {
    new_handle(slot, MPI_COMM_NULL, make)
}

fn inter_only(comm: &Comm, what: &str) -> MpiResult<()> {
    if !comm.is_inter() {
        return Err(MpiError::new(
            MPI_ERR_COMM,
            format!("{what} needs an intercommunicator"),
        ));
    }
    Ok(())
}

#[doc(alias = "MPI_Comm_rank")]
pub fn comm_rank(comm: MPI_Comm, rank: &mut c_int) -> MpiResult<()> {
    *rank = comm::get(comm)?.rank;
    Ok(())
}

#[doc(alias = "MPI_Comm_size")]
pub fn comm_size(comm: MPI_Comm, size: &mut c_int) -> MpiResult<()> {
    *size = comm::get(comm)?.size;
    Ok(())
}

#[doc(alias = "MPI_Comm_set_name")]
pub fn comm_set_name(comm: MPI_Comm, comm_name: &str) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    // Names longer than the limit are truncated, as the standard allows.
    let keep = comm_name
        .char_indices()
        .take_while(|(i, _)| *i < MPI_MAX_OBJECT_NAME as usize - 1)
        .count();
    *comm.name.lock() = comm_name.chars().take(keep).collect();
    Ok(())
}

#[doc(alias = "MPI_Comm_test_inter")]
pub fn comm_test_inter(comm: MPI_Comm, flag: &mut c_int) -> MpiResult<()> {
    *flag = comm::get(comm)?.is_inter() as c_int;
    Ok(())
}

#[doc(alias = "MPI_Comm_remote_size")]
pub fn comm_remote_size(comm: MPI_Comm, size: &mut c_int) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    inter_only(&comm, "MPI_Comm_remote_size")?;
    *size = comm.peer_size();
    Ok(())
}

#[doc(alias = "MPI_Intercomm_create")]
pub fn intercomm_create(
    local_comm: MPI_Comm,
    local_leader: c_int,
    peer_comm: MPI_Comm,
    remote_leader: c_int,
    tag: c_int,
    newintercomm: &mut MPI_Comm,
) -> MpiResult<()> {
    let local = comm::get(local_comm)?;
    comm::intra_only(&local, "MPI_Intercomm_create over")?;
    if !(0..local.size).contains(&local_leader) {
        return Err(MpiError::new(
            MPI_ERR_RANK,
            format!("invalid local leader {local_leader} (size {})", local.size),
        ));
    }
    // Only the leader uses the peer communicator (others may pass anything).
    let peer = if local.rank == local_leader {
        let p = comm::get(peer_comm)?;
        if !(0..p.peer_size()).contains(&remote_leader) {
            return Err(MpiError::new(
                MPI_ERR_RANK,
                format!("invalid remote leader {remote_leader}"),
            ));
        }
        Some((p, remote_leader))
    } else {
        None
    };
    if !(0..=attr::TAG_UB_VALUE).contains(&tag) {
        return Err(MpiError::new(MPI_ERR_TAG, format!("invalid tag {tag}")));
    }
    store(newintercomm, || {
        comm::intercomm_create(&local, local_leader, peer, tag)
    })
}

#[doc(alias = "MPI_Intercomm_merge")]
pub fn intercomm_merge(
    intercomm: MPI_Comm,
    high: c_int,
    newintracomm: &mut MPI_Comm,
) -> MpiResult<()> {
    let ic = comm::get(intercomm)?;
    store(newintracomm, || comm::merge(&ic, high != 0))
}

#[doc(alias = "MPI_Comm_compare")]
pub fn comm_compare(comm1: MPI_Comm, comm2: MPI_Comm, result: &mut c_int) -> MpiResult<()> {
    let (a, b) = (comm::get(comm1)?, comm::get(comm2)?);
    *result = comm::compare(&a, &b);
    Ok(())
}

#[doc(alias = "MPI_Comm_free")]
pub fn comm_free(comm: &mut MPI_Comm) -> MpiResult<()> {
    comm::free(*comm)?;
    super::dpm::forget(*comm);
    *comm = MPI_COMM_NULL;
    Ok(())
}

/// `MPI_Comm_disconnect`: collective, unlike `MPI_Comm_free`; when it
/// returns, every member has stopped using the communicator.
#[doc(alias = "MPI_Comm_disconnect")]
pub fn comm_disconnect(comm: &mut MPI_Comm) -> MpiResult<()> {
    let c = comm::get(*comm)?;
    let n = c.size;
    let inter = c.is_inter();
    // Pending communication completes first, then everyone meets.
    let peers: Vec<usize> = c.remote.as_ref().unwrap_or(&c.group).iter().collect();
    super::p2p::engine().settle(*comm, &peers);
    let met = super::sched::run(&c, |s| {
        if inter {
            coll::inter_barrier(s, n)
        } else {
            coll::barrier(s, n)
        }
    });
    // A member has ended: the error goes to the communicator's handler,
    // so it stays valid (the program may free it).
    met?;
    // The barrier's own last messages are written out too.
    super::p2p::engine().settle(*comm, &peers);
    comm_free(comm)?;
    super::dpm::collect_links();
    Ok(())
}

#[doc(alias = "MPI_Comm_dup")]
pub fn comm_dup(comm: MPI_Comm, newcomm: &mut MPI_Comm) -> MpiResult<()> {
    let parent = comm::get(comm)?;
    // A failed dup (a copy callback's error) leaves MPI_COMM_NULL behind.
    store(newcomm, || comm::dup(&parent))
}

/// The communicator hints of `info` this library knows: the standard's
/// assertions (`mpi_assert_*`). Others are ignored, as the standard allows,
/// so `MPI_Comm_get_info` does not return them.
pub fn known_hints(info: MPI_Info) -> MpiResult<Vec<(String, String)>> {
    if info == MPI_INFO_NULL {
        return Ok(Vec::new());
    }
    let mut pairs = info::get(info)?.pairs();
    pairs.retain(|(k, _)| k.starts_with("mpi_assert_"));
    Ok(pairs)
}

#[doc(alias = "MPI_Comm_dup_with_info")]
pub fn comm_dup_with_info(comm: MPI_Comm, info: MPI_Info, newcomm: &mut MPI_Comm) -> MpiResult<()> {
    let hints = known_hints(info)?;
    comm_dup(comm, newcomm)?;
    *comm::get(*newcomm)?.hints.lock() = hints;
    Ok(())
}

#[doc(alias = "MPI_Comm_set_info")]
pub fn comm_set_info(comm: MPI_Comm, info: MPI_Info) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    *comm.hints.lock() = known_hints(info)?;
    Ok(())
}

#[doc(alias = "MPI_Comm_get_info")]
pub fn comm_get_info(comm: MPI_Comm, info_used: &mut MPI_Info) -> MpiResult<()> {
    let pairs = comm::get(comm)?.hints.lock().clone();
    *info_used = info::create(info::Info::from_pairs(pairs));
    Ok(())
}

#[doc(alias = "MPI_Comm_split_type")]
pub fn comm_split_type(
    comm: MPI_Comm,
    split_type: c_int,
    key: c_int,
    info: MPI_Info,
    newcomm: &mut MPI_Comm,
) -> MpiResult<()> {
    let parent = comm::get(comm)?;
    let resource = if info == MPI_INFO_NULL {
        None
    } else {
        info::get(info)?.get("mpi_hw_resource_type")?
    };
    store(newcomm, || {
        comm::split_type(&parent, split_type, key, resource.as_deref())
    })
}

#[doc(alias = "MPI_Comm_split")]
pub fn comm_split(
    comm: MPI_Comm,
    color: c_int,
    key: c_int,
    newcomm: &mut MPI_Comm,
) -> MpiResult<()> {
    let parent = comm::get(comm)?;
    store(newcomm, || comm::split(&parent, color, key))
}

#[doc(alias = "MPI_Comm_group")]
pub fn comm_group(comm: MPI_Comm, group: &mut MPI_Group) -> MpiResult<()> {
    *group = group::handle(comm::get(comm)?.group.clone());
    Ok(())
}

#[doc(alias = "MPI_Comm_remote_group")]
pub fn comm_remote_group(comm: MPI_Comm, group: &mut MPI_Group) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    inter_only(&comm, "MPI_Comm_remote_group")?;
    *group = group::handle(comm.remote.clone().expect("an intercommunicator"));
    Ok(())
}

#[doc(alias = "MPI_Comm_create")]
pub fn comm_create(comm: MPI_Comm, group: MPI_Group, newcomm: &mut MPI_Comm) -> MpiResult<()> {
    let parent = comm::get(comm)?;
    let group = group::get(group)?;
    store(newcomm, || comm::create(&parent, group))
}

#[doc(alias = "MPI_Comm_create_group")]
pub fn comm_create_group(
    comm: MPI_Comm,
    group: MPI_Group,
    tag: c_int,
    newcomm: &mut MPI_Comm,
) -> MpiResult<()> {
    let parent = comm::get(comm)?;
    let group: Arc<group::Group> = group::get(group)?;
    if tag < 0 {
        return Err(MpiError::new(MPI_ERR_TAG, format!("invalid tag {tag}")));
    }
    store(newcomm, || comm::create_group(&parent, group, tag))
}

// ---------------------------------------------------------------------------
// Attributes and keyvals (the MPI-1 names and the datatype keyvals are
// the same calls)

#[doc(alias = "MPI_Comm_get_attr")]
pub fn comm_get_attr(
    comm: MPI_Comm,
    comm_keyval: c_int,
    attribute_val: &mut usize,
    flag: &mut c_int,
) -> MpiResult<()> {
    let found = comm_attr(comm, comm_keyval, attr::Lang::C)?;
    *flag = found.is_some() as c_int;
    if let Some(v) = found {
        *attribute_val = v;
    }
    Ok(())
}

/// A communicator attribute as a program in `reader`'s binding sees it.
pub fn comm_attr(
    comm: MPI_Comm,
    comm_keyval: c_int,
    reader: attr::Lang,
) -> MpiResult<Option<usize>> {
    let comm = comm::get(comm)?;
    // Predefined attributes are cached on MPI_COMM_WORLD only.
    if attr::is_predefined_comm_keyval(comm_keyval) {
        return Ok(match attr::predefined_comm_attr(comm_keyval) {
            Some(Some(v)) if comm.handle == MPI_COMM_WORLD => Some(v),
            _ => None,
        });
    }
    comm.attrs.get(attr::Object::Comm, comm_keyval, reader)
}

#[doc(alias = "MPI_Comm_create_keyval")]
pub fn comm_create_keyval(
    comm_copy_attr_fn: usize,
    comm_delete_attr_fn: usize,
    comm_keyval: &mut c_int,
    extra_state: usize,
) -> MpiResult<()> {
    *comm_keyval = attr::create_keyval(
        attr::Object::Comm,
        comm_copy_attr_fn,
        comm_delete_attr_fn,
        extra_state,
    );
    Ok(())
}

#[doc(alias = "MPI_Comm_free_keyval")]
pub fn comm_free_keyval(comm_keyval: &mut c_int) -> MpiResult<()> {
    attr::free_keyval(attr::Object::Comm, *comm_keyval)?;
    *comm_keyval = MPI_KEYVAL_INVALID;
    Ok(())
}

#[doc(alias = "MPI_Comm_set_attr")]
pub fn comm_set_attr(comm: MPI_Comm, comm_keyval: c_int, attribute_val: usize) -> MpiResult<()> {
    comm_set_attr_from(comm, comm_keyval, attribute_val, attr::Lang::C)
}

/// Sets a communicator attribute from a program in `lang`'s binding.
pub fn comm_set_attr_from(
    comm: MPI_Comm,
    comm_keyval: c_int,
    val: usize,
    lang: attr::Lang,
) -> MpiResult<()> {
    comm::get(comm)?.attrs.set(
        attr::Object::Comm,
        comm,
        comm_keyval,
        attr::AttrValue::new(val, lang),
    )
}

#[doc(alias = "MPI_Comm_delete_attr")]
pub fn comm_delete_attr(comm: MPI_Comm, comm_keyval: c_int) -> MpiResult<()> {
    comm::get(comm)?
        .attrs
        .delete(attr::Object::Comm, comm, comm_keyval)
}

/// `MPI_Comm_get_parent`: the intercommunicator to the spawning group
/// (see `dpm::connect_parent`).
#[doc(alias = "MPI_Comm_get_parent")]
pub fn comm_get_parent(parent: &mut MPI_Comm) -> MpiResult<()> {
    *parent = super::dpm::parent();
    Ok(())
}
