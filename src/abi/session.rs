//! Sessions (MPI-4.1 chapter 11.3), the C face: session objects, process
//! sets and the communicators made from groups without a parent.

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

use super::entry::Target;
use super::errors::call;
use super::types::*;
use super::util::{cstr, info_arg, out, put, write_cstr};
use crate::abi::consts::*;
use crate::core::comm;
use crate::core::errhandler::{self, ObjKind};
use crate::core::error::{MpiError, MpiResult};
use crate::core::group;
use crate::core::info::{self, Info};
use crate::core::session::{self, PSETS};
use std::ffi::{c_char, c_int};

pub(crate) unsafe fn session_init(
    info: MPI_Info,
    errhandler: MPI_Errhandler,
    session: *mut MPI_Session,
) -> MpiResult<()> {
    info_arg(info)?;
    let slot = unsafe { out(session, "session") }?;
    let eh = if errhandler == MPI_ERRHANDLER_NULL {
        MPI_ERRORS_ARE_FATAL
    } else {
        errhandler::check(errhandler, ObjKind::Session)?;
        errhandler
    };
    *slot = session::init(eh)?;
    Ok(())
}

pub(crate) unsafe fn session_finalize(session: *mut MPI_Session) -> MpiResult<()> {
    let h = unsafe { out(session, "session") }?;
    session::finalize(*h)?;
    *h = MPI_SESSION_NULL;
    Ok(())
}

pub(crate) unsafe fn session_get_num_psets(
    session: MPI_Session,
    info: MPI_Info,
    npset_names: *mut c_int,
) -> MpiResult<()> {
    session::get(session)?;
    info_arg(info)?;
    unsafe { put(npset_names, "npset_names", PSETS.len() as c_int) }
}

/// `MPI_Session_get_nth_pset`: with `*pset_len` 0, only the length the
/// name needs (with its terminating NUL) is returned.
pub(crate) unsafe fn session_get_nth_pset(
    session: MPI_Session,
    info: MPI_Info,
    n: c_int,
    pset_len: *mut c_int,
    pset_name: *mut c_char,
) -> MpiResult<()> {
    session::get(session)?;
    info_arg(info)?;
    let Some(name) = usize::try_from(n).ok().and_then(|i| PSETS.get(i)) else {
        return Err(MpiError::arg(format!(
            "no process set {n} (there are {})",
            PSETS.len()
        )));
    };
    let len = unsafe { out(pset_len, "pset_len") }?;
    if *len > 0 {
        if pset_name.is_null() {
            return Err(MpiError::arg("pset_name is a null pointer"));
        }
        // SAFETY: the user's buffer holds `*len` characters.
        unsafe { write_cstr(pset_name, *len as usize, name) };
    }
    *len = name.len() as c_int + 1;
    Ok(())
}

pub(crate) unsafe fn session_get_pset_info(
    session: MPI_Session,
    pset_name: *const c_char,
    info: *mut MPI_Info,
) -> MpiResult<()> {
    session::get(session)?;
    // SAFETY: a NUL-terminated string from the caller.
    let name = unsafe { cstr(pset_name, "pset_name") }?;
    let size = session::pset(name)?.size();
    let slot = unsafe { out(info, "info") }?;
    *slot = info::create(Info::from_pairs(vec![(
        "mpi_size".to_string(),
        size.to_string(),
    )]));
    Ok(())
}

pub(crate) unsafe fn session_get_info(
    session: MPI_Session,
    info_used: *mut MPI_Info,
) -> MpiResult<()> {
    session::get(session)?;
    let slot = unsafe { out(info_used, "info_used") }?;
    *slot = info::create(Info::from_pairs(vec![(
        "thread_level".to_string(),
        "MPI_THREAD_MULTIPLE".to_string(),
    )]));
    Ok(())
}

pub(crate) unsafe fn group_from_session_pset(
    session: MPI_Session,
    pset_name: *const c_char,
    newgroup: *mut MPI_Group,
) -> MpiResult<()> {
    // SAFETY: a NUL-terminated string from the caller.
    let name = unsafe { cstr(pset_name, "pset_name") }?;
    let g = session::group_from_pset(session, name)?;
    unsafe { put(newgroup, "newgroup", group::handle(g)) }
}

/// The error handler a communicator made from a group starts with.
fn comm_errhandler(errhandler: MPI_Errhandler) -> MpiResult<c_int> {
    if errhandler == MPI_ERRHANDLER_NULL {
        return Ok(MPI_ERRORS_ARE_FATAL);
    }
    errhandler::check(errhandler, ObjKind::Comm)?;
    Ok(errhandler)
}

pub(crate) unsafe fn comm_create_from_group(
    g: MPI_Group,
    stringtag: *const c_char,
    info: MPI_Info,
    errhandler: MPI_Errhandler,
    newcomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let group = group::get(g)?;
    // SAFETY: a NUL-terminated string from the caller.
    let tag = unsafe { cstr(stringtag, "stringtag") }?;
    info_arg(info)?;
    let eh = comm_errhandler(errhandler)?;
    let slot = unsafe { out(newcomm, "newcomm") }?;
    *slot = MPI_COMM_NULL;
    *slot = comm::create_from_group(group, tag, eh)?;
    Ok(())
}

// The C signature is the standard's.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn intercomm_create_from_groups(
    local_group: MPI_Group,
    local_leader: c_int,
    remote_group: MPI_Group,
    remote_leader: c_int,
    stringtag: *const c_char,
    info: MPI_Info,
    errhandler: MPI_Errhandler,
    newintercomm: *mut MPI_Comm,
) -> MpiResult<()> {
    let (local, remote) = (group::get(local_group)?, group::get(remote_group)?);
    for (g, leader, what) in [
        (&local, local_leader, "local_leader"),
        (&remote, remote_leader, "remote_leader"),
    ] {
        if !(0..g.size() as c_int).contains(&leader) {
            return Err(MpiError::new(
                MPI_ERR_RANK,
                format!("invalid {what} {leader} (group size {})", g.size()),
            ));
        }
    }
    // SAFETY: a NUL-terminated string from the caller.
    let tag = unsafe { cstr(stringtag, "stringtag") }?;
    info_arg(info)?;
    let eh = comm_errhandler(errhandler)?;
    let slot = unsafe { out(newintercomm, "newintercomm") }?;
    *slot = MPI_COMM_NULL;
    *slot = comm::intercomm_from_groups(local, local_leader, &remote, remote_leader, tag, eh)?;
    Ok(())
}

pub(crate) fn session_set_errhandler(
    session: MPI_Session,
    errhandler: MPI_Errhandler,
) -> MpiResult<()> {
    let s = session::get(session)?;
    errhandler::check(errhandler, ObjKind::Session)?;
    s.errhandler.set(errhandler);
    Ok(())
}

pub(crate) unsafe fn session_get_errhandler(
    session: MPI_Session,
    errhandler: *mut MPI_Errhandler,
) -> MpiResult<()> {
    let s = session::get(session)?;
    *unsafe { out(errhandler, "errhandler") }? = s.errhandler.get_retained();
    Ok(())
}

pub(crate) fn session_call_errhandler(session: MPI_Session, errorcode: c_int) -> MpiResult<()> {
    let s = session::get(session)?;
    call(
        Target::Session(session),
        s.errhandler.get(),
        "MPI_Session_call_errhandler",
        errorcode,
    )
}
