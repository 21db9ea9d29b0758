//! Communicator queries available with the predefined communicators: rank,
//! size, names, predefined attributes, comparison.

use super::callbacks::*;
use super::types::*;
use super::util::{cstr, out, put, write_cstr};
use crate::abi::consts::*;
use crate::core::attr;
use crate::core::coll;
use crate::core::comm;
use crate::core::error::{MpiError, MpiResult};
use crate::core::request::{REQUESTS, ReqKind, Request};
use std::ffi::{c_char, c_int, c_void};

pub(crate) fn comm_rank(c: MPI_Comm, rank: *mut c_int) -> MpiResult<()> {
    let comm = comm::get(c)?;
    put(rank, "rank", comm.rank)
}

pub(crate) fn comm_size(c: MPI_Comm, size: *mut c_int) -> MpiResult<()> {
    let comm = comm::get(c)?;
    put(size, "size", comm.size)
}

pub(crate) unsafe fn comm_get_name(
    c: MPI_Comm,
    comm_name: *mut c_char,
    resultlen: *mut c_int,
) -> MpiResult<()> {
    // The null handle has a name too, as in MPICH.
    let name = if c == MPI_COMM_NULL {
        "MPI_COMM_NULL".to_string()
    } else {
        comm::get(c)?.name.lock().clone()
    };
    if comm_name.is_null() {
        return Err(MpiError::arg("comm_name is a null pointer"));
    }
    // SAFETY: the caller provides MPI_MAX_OBJECT_NAME bytes.
    let n = unsafe { write_cstr(comm_name, MPI_MAX_OBJECT_NAME as usize, &name) };
    put(resultlen, "resultlen", n as c_int)
}

pub(crate) unsafe fn comm_set_name(c: MPI_Comm, comm_name: *const c_char) -> MpiResult<()> {
    let comm = comm::get(c)?;
    // SAFETY: C string argument.
    let name = unsafe { cstr(comm_name, "comm_name") }?;
    // Names longer than the limit are truncated, as the standard allows.
    let keep = name
        .char_indices()
        .take_while(|(i, _)| *i < MPI_MAX_OBJECT_NAME as usize - 1)
        .count();
    *comm.name.lock() = name.chars().take(keep).collect();
    Ok(())
}

pub(crate) fn comm_test_inter(c: MPI_Comm, flag: *mut c_int) -> MpiResult<()> {
    let comm = comm::get(c)?;
    put(flag, "flag", comm.is_inter() as c_int)
}

pub(crate) fn comm_remote_size(c: MPI_Comm, size: *mut c_int) -> MpiResult<()> {
    let comm = comm::get(c)?;
    if !comm.is_inter() {
        return Err(MpiError::new(
            MPI_ERR_COMM,
            "MPI_Comm_remote_size needs an intercommunicator",
        ));
    }
    put(size, "size", comm.peer_size())
}

pub(crate) fn intercomm_create(
    local_comm: MPI_Comm,
    local_leader: c_int,
    peer_comm: MPI_Comm,
    remote_leader: c_int,
    tag: c_int,
    newintercomm: *mut MPI_Comm,
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
    if !(0..=crate::core::attr::TAG_UB_VALUE).contains(&tag) {
        return Err(MpiError::new(MPI_ERR_TAG, format!("invalid tag {tag}")));
    }
    let slot = out(newintercomm, "newintercomm")?;
    *slot = MPI_COMM_NULL;
    *slot = comm::intercomm_create(&local, local_leader, peer, tag)?;
    Ok(())
}

pub(crate) fn intercomm_merge(
    intercomm: MPI_Comm,
    high: c_int,
    newintracomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let ic = comm::get(intercomm)?;
    let slot = out(newintracomm, "newintracomm")?;
    *slot = MPI_COMM_NULL;
    *slot = comm::merge(&ic, high != 0)?;
    Ok(())
}

pub(crate) fn comm_compare(c1: MPI_Comm, c2: MPI_Comm, result: *mut c_int) -> MpiResult<()> {
    let a = comm::get(c1)?;
    let b = comm::get(c2)?;
    put(result, "result", comm::compare(&a, &b))
}

pub(crate) fn comm_free(c: *mut MPI_Comm) -> MpiResult<()> {
    let h = out(c, "comm")?;
    comm::free(*h)?;
    *h = MPI_COMM_NULL;
    Ok(())
}

/// `MPI_Comm_disconnect`: collective, unlike `MPI_Comm_free`; when it
/// returns, every member has stopped using the communicator.
pub(crate) fn comm_disconnect(c: *mut MPI_Comm) -> MpiResult<()> {
    let h = out(c, "comm")?;
    let comm = comm::get(*h)?;
    let n = comm.size;
    let inter = comm.is_inter();
    crate::core::sched::run(&comm, |s| {
        if inter {
            coll::inter_barrier(s, n)
        } else {
            coll::barrier(s, n)
        }
    })?;
    comm::free(*h)?;
    *h = MPI_COMM_NULL;
    Ok(())
}

pub(crate) fn comm_dup(c: MPI_Comm, newcomm: *mut MPI_Comm) -> MpiResult<()> {
    let parent = comm::get(c)?;
    let slot = out(newcomm, "newcomm")?;
    // A failed dup (a copy callback's error) leaves MPI_COMM_NULL behind.
    *slot = MPI_COMM_NULL;
    *slot = comm::dup(&parent)?;
    Ok(())
}

pub(crate) fn comm_idup(
    c: MPI_Comm,
    newcomm: *mut MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    idup_impl(c, None, newcomm, request)
}

pub(crate) fn comm_idup_with_info(
    c: MPI_Comm,
    info: MPI_Info,
    newcomm: *mut MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    let hints = if info == MPI_INFO_NULL {
        Vec::new()
    } else {
        known_hints(info)?
    };
    idup_impl(c, Some(hints), newcomm, request)
}

/// `MPI_Comm_idup(_with_info)`: the new handle is written to `newcomm`
/// when the request completes (`MPI_COMM_NULL` until then).
fn idup_impl(
    c: MPI_Comm,
    hints: Option<Vec<(String, String)>>,
    newcomm: *mut MPI_Comm,
    request: *mut MPI_Request,
) -> MpiResult<()> {
    let parent = comm::get(c)?;
    let slot = out(newcomm, "newcomm")?;
    let rslot = out(request, "request")?;
    *slot = MPI_COMM_NULL;
    let req = Request::new(ReqKind::Coll, parent.handle);
    *rslot = REQUESTS.insert(req.clone());
    let at = newcomm as usize;
    let done = move |h: c_int| {
        if let (Some(hints), Some(c)) = (&hints, comm::lookup(h)) {
            *c.hints.lock() = hints.clone();
        }
        // SAFETY: the user keeps `newcomm` valid until the request completes.
        unsafe { *(at as *mut MPI_Comm) = h };
    };
    comm::idup(&parent, done, req).inspect_err(|_| {
        REQUESTS.remove(*rslot);
        *rslot = MPI_REQUEST_NULL;
    })
}

pub(crate) fn comm_dup_with_info(
    c: MPI_Comm,
    info: MPI_Info,
    newcomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let hints = if info == MPI_INFO_NULL {
        Vec::new()
    } else {
        known_hints(info)?
    };
    comm_dup(c, newcomm)?;
    // SAFETY: comm_dup wrote the new handle through this pointer.
    let h = unsafe { *newcomm };
    *comm::get(h)?.hints.lock() = hints;
    Ok(())
}

pub(crate) fn comm_set_info(c: MPI_Comm, info: MPI_Info) -> MpiResult<()> {
    let comm = comm::get(c)?;
    *comm.hints.lock() = known_hints(info)?;
    Ok(())
}

/// The communicator hints of `info` this library knows: the standard's
/// assertions (`mpi_assert_*`). Others are ignored, as the standard allows,
/// so `MPI_Comm_get_info` does not return them.
fn known_hints(info: MPI_Info) -> MpiResult<Vec<(String, String)>> {
    let mut pairs = crate::core::info::get(info)?.pairs();
    pairs.retain(|(k, _)| k.starts_with("mpi_assert_"));
    Ok(pairs)
}

pub(crate) fn comm_get_info(c: MPI_Comm, info_used: *mut MPI_Info) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let pairs = comm.hints.lock().clone();
    put(
        info_used,
        "info_used",
        crate::core::info::create(crate::core::info::Info::from_pairs(pairs)),
    )
}

pub(crate) fn comm_split_type(
    c: MPI_Comm,
    split_type: c_int,
    key: c_int,
    info: MPI_Info,
    newcomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let parent = comm::get(c)?;
    let resource = if info == MPI_INFO_NULL {
        None
    } else {
        crate::core::info::get(info)?.get("mpi_hw_resource_type")?
    };
    let slot = out(newcomm, "newcomm")?;
    *slot = MPI_COMM_NULL;
    *slot = comm::split_type(&parent, split_type, key, resource.as_deref())?;
    Ok(())
}

pub(crate) fn comm_split(
    c: MPI_Comm,
    color: c_int,
    key: c_int,
    newcomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let parent = comm::get(c)?;
    let slot = out(newcomm, "newcomm")?;
    *slot = MPI_COMM_NULL;
    *slot = comm::split(&parent, color, key)?;
    Ok(())
}

pub(crate) unsafe fn comm_get_attr(
    c: MPI_Comm,
    comm_keyval: c_int,
    attribute_val: *mut c_void,
    flag: *mut c_int,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    let flag = out(flag, "flag")?;
    let val = out(attribute_val.cast::<usize>(), "attribute_val")?;
    // Predefined attributes are cached on MPI_COMM_WORLD only.
    if attr::is_predefined_comm_keyval(comm_keyval) {
        match attr::predefined_comm_attr(comm_keyval) {
            Some(Some(v)) if comm.handle == MPI_COMM_WORLD => {
                *val = v;
                *flag = 1;
            }
            _ => *flag = 0,
        }
        return Ok(());
    }
    match comm.attrs.get(comm_keyval)? {
        Some(v) => {
            *val = v;
            *flag = 1;
        }
        None => *flag = 0,
    }
    Ok(())
}

pub(crate) unsafe fn attr_get(
    c: MPI_Comm,
    keyval: c_int,
    attribute_val: *mut c_void,
    flag: *mut c_int,
) -> MpiResult<()> {
    // SAFETY: same arguments, MPI-1 spelling.
    unsafe { comm_get_attr(c, keyval, attribute_val, flag) }
}

pub(crate) fn comm_create_keyval(
    comm_copy_attr_fn: *mut MPI_Comm_copy_attr_function,
    comm_delete_attr_fn: *mut MPI_Comm_delete_attr_function,
    comm_keyval: *mut c_int,
    extra_state: *mut c_void,
) -> MpiResult<()> {
    let slot = out(comm_keyval, "comm_keyval")?;
    *slot = attr::create_keyval(
        comm_copy_attr_fn as usize,
        comm_delete_attr_fn as usize,
        extra_state as usize,
    );
    Ok(())
}

pub(crate) fn keyval_create(
    copy_fn: *mut MPI_Copy_function,
    delete_fn: *mut MPI_Delete_function,
    keyval: *mut c_int,
    extra_state: *mut c_void,
) -> MpiResult<()> {
    // The MPI-1 callbacks have the same C signatures.
    comm_create_keyval(copy_fn.cast(), delete_fn.cast(), keyval, extra_state)
}

pub(crate) fn comm_free_keyval(comm_keyval: *mut c_int) -> MpiResult<()> {
    let k = out(comm_keyval, "comm_keyval")?;
    attr::free_keyval(*k)?;
    *k = MPI_KEYVAL_INVALID;
    Ok(())
}

pub(crate) fn keyval_free(keyval: *mut c_int) -> MpiResult<()> {
    comm_free_keyval(keyval)
}

pub(crate) fn comm_set_attr(
    c: MPI_Comm,
    comm_keyval: c_int,
    attribute_val: *mut c_void,
) -> MpiResult<()> {
    let comm = comm::get(c)?;
    comm.attrs.set(c, comm_keyval, attribute_val as usize)
}

pub(crate) fn attr_put(c: MPI_Comm, keyval: c_int, attribute_val: *mut c_void) -> MpiResult<()> {
    comm_set_attr(c, keyval, attribute_val)
}

pub(crate) fn comm_delete_attr(c: MPI_Comm, comm_keyval: c_int) -> MpiResult<()> {
    let comm = comm::get(c)?;
    comm.attrs.delete(c, comm_keyval)
}

pub(crate) fn attr_delete(c: MPI_Comm, keyval: c_int) -> MpiResult<()> {
    comm_delete_attr(c, keyval)
}

/// `MPI_Comm_get_parent`: no process of an OxMPI job is started by
/// `MPI_Comm_spawn` (dynamic processes are not built), so there is never
/// a parent.
pub(crate) fn comm_get_parent(parent: *mut MPI_Comm) -> MpiResult<()> {
    put(parent, "parent", MPI_COMM_NULL)
}
