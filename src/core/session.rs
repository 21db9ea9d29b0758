//! Sessions (MPI-4): a way into MPI without `MPI_Init`. A session holds
//! its error handler; its process sets are the two the standard names,
//! `mpi://WORLD` (every process of the job) and `mpi://SELF`, from which
//! groups and then communicators are made (`comm::create_from_group`).

use super::errhandler::{self, Slot};
use super::error::{MpiError, MpiResult};
use super::group::Group;
use super::runtime;
use crate::core::consts::*;
use crate::handles::{Kind, Table};
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::{Arc, Weak};

pub struct Session {
    pub errhandler: Slot,
    /// The buffer attached for buffered sends on its communicators
    /// (`MPI_Session_attach_buffer`).
    pub bsend: super::bsend::Buffer,
}

impl Drop for Session {
    fn drop(&mut self) {
        errhandler::release(self.errhandler.get());
    }
}

static SESSIONS: Table<Session> = Table::new(Kind::Session);

/// The process sets every session offers.
pub const PSETS: [&str; 2] = ["mpi://WORLD", "mpi://SELF"];

/// `MPI_Session_init`: join the job if this is the first way in.
pub fn init(eh: c_int) -> MpiResult<c_int> {
    runtime::session_init()?;
    errhandler::retain(eh);
    Ok(SESSIONS.insert(Session {
        errhandler: Slot::new(eh),
        bsend: Default::default(),
    }))
}

pub fn get(h: c_int) -> MpiResult<Arc<Session>> {
    SESSIONS.get(h).ok_or_else(|| {
        MpiError::new(
            MPI_ERR_SESSION,
            if h == MPI_SESSION_NULL {
                "MPI_SESSION_NULL is not a valid session here".to_string()
            } else {
                format!("invalid session 0x{h:x}")
            },
        )
    })
}

/// Groups made from a session's process sets, and the session (weakly:
/// a group's life is its own).
static PSET_GROUPS: Mutex<Vec<(Weak<Group>, c_int)>> = Mutex::new(Vec::new());

/// `MPI_Group_from_session_pset`: the group, remembered as the session's.
pub fn group_from_pset(session: c_int, name: &str) -> MpiResult<Arc<Group>> {
    get(session)?;
    let g = Arc::new(pset(name)?);
    let mut all = PSET_GROUPS.lock();
    all.retain(|(w, _)| w.strong_count() > 0);
    all.push((Arc::downgrade(&g), session));
    Ok(g)
}

/// The session `group` came from, if it is a process set's group.
pub fn of_group(group: &Arc<Group>) -> Option<c_int> {
    PSET_GROUPS
        .lock()
        .iter()
        .find(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(group)))
        .map(|(_, s)| *s)
}

/// `MPI_Session_finalize`.
pub fn finalize(h: c_int) -> MpiResult<()> {
    get(h)?;
    SESSIONS.remove(h);
    runtime::session_finalize();
    Ok(())
}

/// The members of process set `name` (names are case-insensitive, as
/// URIs' schemes are).
pub fn pset(name: &str) -> MpiResult<Group> {
    let job = runtime::job();
    match name.to_ascii_lowercase().as_str() {
        "mpi://world" => Ok(Group::strided(0, 1, job.size as usize)),
        "mpi://self" => Ok(Group::strided(job.rank as usize, 1, 1)),
        _ => Err(MpiError::arg(format!(
            "unknown process set \"{name}\" (this library has {})",
            PSETS.join(" and ")
        ))),
    }
}
