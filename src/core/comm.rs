//! Communicators. This foundation knows the two predefined ones,
//! `MPI_COMM_WORLD` and `MPI_COMM_SELF`; user communicators join the same
//! lookup when they are built.

use super::errhandler::Slot;
use super::error::{MpiError, MpiResult};
use super::runtime;
use crate::abi::consts::*;
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::OnceLock;

pub struct Comm {
    pub handle: c_int,
    pub rank: c_int,
    pub size: c_int,
    /// Context id of point-to-point traffic; collectives use `ctx + 1`, so
    /// they never match user messages.
    pub ctx: u32,
    /// World rank of each member.
    members: Members,
    pub name: Mutex<String>,
    pub errhandler: Slot,
}

/// Who belongs to a communicator, by world rank.
enum Members {
    World,
    Single(usize),
}

impl Comm {
    /// The world rank of member `rank` (which the caller has checked).
    pub fn world_rank(&self, rank: c_int) -> usize {
        match self.members {
            Members::World => rank as usize,
            Members::Single(w) => w,
        }
    }

    /// Context id of this communicator's collective traffic.
    pub fn coll_ctx(&self) -> u32 {
        self.ctx + 1
    }
}

static WORLD: OnceLock<Comm> = OnceLock::new();
static SELF: OnceLock<Comm> = OnceLock::new();

fn predefined(handle: c_int) -> Option<&'static Comm> {
    let job = runtime::job();
    let (cell, rank, size, ctx, members, name) = match handle {
        MPI_COMM_WORLD => (
            &WORLD,
            job.rank,
            job.size,
            0,
            Members::World,
            "MPI_COMM_WORLD",
        ),
        MPI_COMM_SELF => (
            &SELF,
            0,
            1,
            2,
            Members::Single(job.rank as usize),
            "MPI_COMM_SELF",
        ),
        _ => return None,
    };
    Some(cell.get_or_init(|| Comm {
        handle,
        rank,
        size,
        ctx,
        members,
        name: Mutex::new(name.to_string()),
        errhandler: Slot::new(MPI_ERRORS_ARE_FATAL),
    }))
}

/// The communicator behind a handle, if it is valid.
pub fn lookup(handle: c_int) -> Option<&'static Comm> {
    if runtime::phase() != runtime::Phase::Initialized {
        return None;
    }
    predefined(handle)
}

pub fn get(handle: c_int) -> MpiResult<&'static Comm> {
    lookup(handle).ok_or_else(|| {
        if handle == MPI_COMM_NULL {
            MpiError::new(
                MPI_ERR_COMM,
                "MPI_COMM_NULL is not a valid communicator here",
            )
        } else {
            MpiError::new(MPI_ERR_COMM, format!("invalid communicator 0x{handle:x}"))
        }
    })
}
