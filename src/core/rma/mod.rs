//! One-sided communication (RMA): windows, their epochs and the operations
//! on them.
//!
//! Every window has a segment shared by its members on one host (see
//! `far` for members on other hosts), made when the window is: a control area (per target a
//! fair lock for passive-target epochs and a lock that makes accumulates
//! atomic; per pair of members the counters of post-start-complete-wait),
//! then, for `MPI_Win_allocate` and `MPI_Win_allocate_shared`, the
//! members' window memory. A target's memory is reached one of two ways
//! (`Place`): mapped (window memory in the segment, or the caller's own
//! memory) and accessed with plain copies, or, for memory a member brought
//! (`MPI_Win_create`, dynamic windows), read and written through the
//! transport's single-copy access by address and key, or, where that is
//! forbidden, by the owner's progress agent (`agent`). Either way an
//! operation is done when its call returns, so flushes only order memory
//! and a fence is a barrier; and no operation ever needs the target to
//! call MPI.
//!
//! Invariants:
//! - Every accumulate-kind operation (accumulate, get-accumulate,
//!   fetch-and-op, compare-and-swap) on a target either holds that
//!   target's accumulate lock from its first read to its last write, or
//!   (aligned 4- and 8-byte integers in memory every member maps, see
//!   `atomic`) updates each element with one atomic instruction; which of
//!   the two depends only on the window, the element type and the address,
//!   so accumulates to one location are atomic with respect to each other.
//! - Locks are tickets (`sync`): waiters are served in the order they
//!   came, so with `n` contenders nobody waits more than `n - 1` holdings.
//! - Whoever releases a lock or counts a post or complete rings the bells
//!   of the members that may wait for it, after the change is visible
//!   (see `sync::Ctl::released`); waiters sleep in the engine's wait.

mod access;
mod agent;
mod atomic;
pub mod calls;
mod counter;
mod far;
mod sync;

pub use calls::*;
pub(crate) use counter::Counter;

use super::attr::Attrs;
use super::comm::Comm;
use super::consts::*;
use super::errhandler::Slot;
use super::error::{MpiError, MpiResult};
use crate::core::types::*;
use crate::handles::{Kind, Table};
use memmap2::MmapMut;
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::Arc;

/// How a member's window memory is reached from this process.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place {
    /// At this address in this process (our own memory, or the segment).
    Mapped(usize),
    /// At this address in the member's process, exposed under `key`.
    Remote { addr: u64, key: u64 },
    /// On another host: the member's window server does each operation
    /// (`far`).
    Far,
}

/// One member's window memory, as every member sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    pub world: usize,
    pub place: Place,
    pub size: i64,
    pub disp_unit: i64,
}

/// What this process has open on a window (MPI-4.1 section 12.5).
#[derive(Default)]
pub(crate) struct Epochs {
    /// A fence opened an epoch (until a fence with `MPI_MODE_NOSUCCEED`).
    pub fence: bool,
    /// `MPI_Win_start`: the targets (window ranks) of the access epoch.
    pub started: Option<Vec<usize>>,
    /// `MPI_Win_post`: the origins of the exposure epoch.
    pub posted: Option<Vec<usize>>,
    /// Passive target: per target, the lock held (`MPI_LOCK_SHARED` or
    /// `MPI_LOCK_EXCLUSIVE`) and whether it was really taken
    /// (`MPI_MODE_NOCHECK` skips it).
    pub locks: std::collections::BTreeMap<usize, (c_int, bool)>,
    /// `MPI_Win_lock_all` (and whether the locks were taken).
    pub lock_all: Option<bool>,
    /// PSCW rounds so far: per target, epochs started on it; per origin,
    /// exposure epochs waited for.
    pub starts: Vec<u32>,
    pub waits: Vec<u32>,
}

pub struct Window {
    pub handle: MPI_Win,
    /// A private duplicate of the creating communicator (the window's own
    /// collective steps never meet the user's).
    pub(crate) comm: Arc<Comm>,
    pub(crate) rank: usize,
    pub(crate) targets: Vec<Target>,
    pub(crate) flavor: c_int,
    /// The progress agent serving our memory (declared before `seg`, so
    /// it stops before the segment goes), where the window has one.
    pub(crate) agent: Mutex<Option<agent::Agent>>,
    pub(crate) agent_area: Option<agent::Area>,
    /// Our request slot in the agent area, one user at a time.
    pub(crate) agent_slot: Mutex<()>,
    /// The segment (control area, then any agent area and window memory).
    pub(crate) seg: MmapMut,
    /// Values the predefined attributes point to (stable addresses).
    attr_size: MPI_Aint,
    attr_disp_unit: c_int,
    attr_flavor: c_int,
    attr_model: c_int,
    base: usize,
    pub errhandler: Slot,
    pub(crate) attrs: Attrs,
    pub(crate) name: Mutex<String>,
    pub(crate) info: Mutex<Vec<(String, String)>>,
    pub(crate) epochs: Mutex<Epochs>,
    /// The memory we brought (address, bytes): the `MPI_Win_create`
    /// buffer, or the regions attached to a dynamic window. Shared with
    /// our agent, which touches nothing else.
    pub(crate) attached: agent::Regions,
    /// Requests this process sent to window servers on other hosts so
    /// far (their ids, see `far`).
    pub(crate) far_ids: std::sync::atomic::AtomicU32,
    /// Whether our window server serves it (it spans hosts).
    pub(crate) server: Mutex<bool>,
}

static WINDOWS: Table<Window> = Table::new(Kind::Win);

pub fn get(win: MPI_Win) -> MpiResult<Arc<Window>> {
    WINDOWS.get(win).ok_or_else(|| {
        if win == MPI_WIN_NULL {
            MpiError::new(MPI_ERR_WIN, "MPI_WIN_NULL is not a valid window here")
        } else {
            MpiError::new(MPI_ERR_WIN, format!("invalid window 0x{win:x}"))
        }
    })
}

/// The error handler of window `win`, if it is one (errors raised on it
/// go there).
pub fn errhandler_of(win: MPI_Win) -> Option<c_int> {
    WINDOWS.get(win).map(|w| w.errhandler.get())
}

impl Window {
    pub(crate) fn size(&self) -> usize {
        self.targets.len()
    }

    /// The value of a predefined window attribute (`MPI_WIN_BASE`, ...),
    /// as `MPI_Win_get_attr` returns it: the base itself, or the address
    /// of the value.
    pub(crate) fn predefined_attr(&self, keyval: c_int) -> Option<usize> {
        // The Fortran keyvals are C's plus one and give the value itself
        // where C gets a pointer to it (the base is an address in both).
        if keyval & 1 == 0 {
            return Some(match keyval - 1 {
                MPI_WIN_BASE => self.base,
                MPI_WIN_SIZE => self.attr_size as usize,
                MPI_WIN_DISP_UNIT => self.attr_disp_unit as usize,
                MPI_WIN_CREATE_FLAVOR => self.attr_flavor as usize,
                MPI_WIN_MODEL => self.attr_model as usize,
                _ => return None,
            });
        }
        Some(match keyval {
            MPI_WIN_BASE => self.base,
            MPI_WIN_SIZE => &self.attr_size as *const MPI_Aint as usize,
            MPI_WIN_DISP_UNIT => &self.attr_disp_unit as *const c_int as usize,
            MPI_WIN_CREATE_FLAVOR => &self.attr_flavor as *const c_int as usize,
            MPI_WIN_MODEL => &self.attr_model as *const c_int as usize,
            _ => return None,
        })
    }
}
