//! Requests: the handle a nonblocking operation returns, its completion
//! flag and status. One object serves every kind (sends, receives,
//! persistent operations, matched messages, generalized requests); the
//! engine that owns an operation completes its request.

use super::datatype::MsgBuf;
use super::error::MpiError;
use crate::core::consts::*;
use crate::core::types::{MPI_Info, MPI_Request, MPI_Status};
use crate::handles::{Kind, Table};
use parking_lot::Mutex;
use std::ffi::{c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// The cancelled flag is the low bit of `count_hi_and_cancelled`; the bits
/// above it hold the high part of the byte count (MPICH's layout).
pub const CANCELLED_BIT: c_int = 1;

/// The byte count a C status carries.
pub fn c_status_bytes(s: &MPI_Status) -> usize {
    let hi = (s.count_hi_and_cancelled as u32 >> 1) as usize;
    (hi << 32) | s.count_lo as u32 as usize
}

pub fn set_c_status_bytes(s: &mut MPI_Status, bytes: usize) {
    s.count_lo = bytes as u32 as c_int;
    s.count_hi_and_cancelled =
        (s.count_hi_and_cancelled & CANCELLED_BIT) | (((bytes >> 32) as u32) << 1) as c_int;
}

/// What a completed operation reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub source: c_int,
    pub tag: c_int,
    pub error: c_int,
    /// Bytes received.
    pub bytes: usize,
    pub cancelled: bool,
}

impl Status {
    /// A status from a C status (a generalized request's query fills one).
    pub fn from_c(s: &MPI_Status) -> Status {
        Status {
            source: s.MPI_SOURCE,
            tag: s.MPI_TAG,
            error: s.MPI_ERROR,
            bytes: c_status_bytes(s),
            cancelled: s.count_hi_and_cancelled & CANCELLED_BIT != 0,
        }
    }

    /// Fill a C status; `with_error` also sets the `MPI_ERROR` field
    /// (multiple-completion calls only, as the standard says).
    pub fn to_c(&self, s: &mut MPI_Status, with_error: bool) {
        s.MPI_SOURCE = self.source;
        s.MPI_TAG = self.tag;
        if with_error {
            s.MPI_ERROR = self.error;
        }
        s.count_hi_and_cancelled = c_int::from(self.cancelled);
        set_c_status_bytes(s, self.bytes);
    }

    /// The status of a completed send, or of an operation with no data.
    pub fn empty() -> Self {
        Status {
            source: MPI_ANY_SOURCE,
            tag: MPI_ANY_TAG,
            error: MPI_SUCCESS,
            bytes: 0,
            cancelled: false,
        }
    }

    /// The outcome as a result: the error it carries, if any, goes to
    /// `comm`'s error handler.
    pub fn result(&self, comm: c_int) -> Result<(), MpiError> {
        if self.error == MPI_SUCCESS {
            return Ok(());
        }
        let what = match self.error {
            MPI_ERR_TRUNCATE => "message truncated: the receive buffer is smaller than the message",
            MPI_ERR_PROC_ABORTED => "a process this operation involves has ended",
            _ => "the operation failed",
        };
        Err(MpiError::new(self.error, what).on_comm(comm))
    }

    /// The status of an operation withdrawn by `MPI_Cancel`.
    pub fn cancelled() -> Self {
        Status {
            cancelled: true,
            ..Status::empty()
        }
    }

    /// The status of a receive from `MPI_PROC_NULL`.
    pub fn proc_null() -> Self {
        Status {
            source: MPI_PROC_NULL,
            ..Status::empty()
        }
    }
}

/// The form of a call: run to completion now, started with a request
/// (`MPI_I...`), or set up as a persistent request that each `MPI_Start`
/// runs again (`..._init`, with its info argument). One core function
/// serves the three C functions of a family.
pub enum Mode<'a> {
    Blocking,
    Start(&'a mut MPI_Request),
    Init(MPI_Info, &'a mut MPI_Request),
}

/// The arguments of a persistent operation, kept for every `MPI_Start`.
#[derive(Clone)]
pub enum Persistent {
    Send {
        mode: SendMode,
        buf: MsgBuf,
        dest: c_int,
        tag: c_int,
    },
    Recv {
        buf: MsgBuf,
        source: c_int,
        tag: c_int,
    },
    /// Partitioned send (`MPI_Psend_init`): the message goes once every
    /// partition is marked ready.
    PartSend {
        /// The context of this partitioned pair (see `core::pt2pt`).
        ctx: u32,
        buf: MsgBuf,
        dest: c_int,
        tag: c_int,
        partitions: usize,
    },
    /// A persistent collective: builds the schedule each `MPI_Start` runs.
    Coll(Arc<dyn Fn(&super::comm::Comm) -> super::sched::Sched + Send + Sync>),
    /// Partitioned receive (`MPI_Precv_init`).
    PartRecv {
        ctx: u32,
        buf: MsgBuf,
        source: c_int,
        tag: c_int,
        partitions: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendMode {
    Standard,
    Sync,
    Ready,
    Buffered,
}

/// A generalized request's callbacks (`MPI_Grequest_start`).
pub struct Generalized {
    pub query: usize,
    pub free: usize,
    pub cancel: usize,
    pub extra_state: *mut c_void,
}

// SAFETY: extra_state is the user's opaque pointer, only handed back to the
// user's callbacks.
unsafe impl Send for Generalized {}
unsafe impl Sync for Generalized {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqKind {
    Send,
    Recv,
    /// A message taken off the queue by `MPI_Mprobe`, waiting for `MPI_Mrecv`.
    Message,
    Generalized,
    /// A nonblocking or persistent collective (see `core::sched`).
    Coll,
}

pub struct Request {
    pub kind: ReqKind,
    /// Communicator handle whose error handler hears about failures.
    pub comm: c_int,
    done: AtomicBool,
    status: Mutex<Status>,
    /// Persistent requests: the operation `MPI_Start` begins.
    pub persistent: Option<Persistent>,
    /// Persistent requests: started and not yet completed by a wait/test.
    pub active: AtomicBool,
    /// Generalized requests: the user's callbacks.
    pub generalized: Option<Generalized>,
    /// The request was cancelled before completion (set by `MPI_Cancel`).
    pub cancel_requested: AtomicBool,
    /// A matched message (`MPI_Mprobe`) carried by this request.
    pub message: Mutex<Option<super::p2p::Unexpected>>,
    /// Freed by `MPI_Request_free` while still pending.
    pub detached: AtomicBool,
    /// Another operation this request also waits for (the send half of
    /// `MPI_Isendrecv`, whose request is the receive's).
    pub also: Option<Arc<Request>>,
    /// Partitioned sends: which partitions are ready in this round.
    pub ready: Mutex<Vec<bool>>,
    /// Sends: the message's cookie (0: none yet) and the world rank it went
    /// to, so `MPI_Cancel` can ask the receiver to withdraw it (see
    /// `core::p2p`). Written and read under the engine lock.
    pub wire_cookie: AtomicU64,
    pub wire_peer: AtomicUsize,
    /// Run once at completion, before waiters see it (a staged receive
    /// unpacks into the user's buffer, and may turn the status into an
    /// error).
    finisher: Mutex<Option<Finisher>>,
    /// A finisher is set (checked before taking its lock: most requests
    /// have none).
    finishes: AtomicBool,
}

type Finisher = Box<dyn FnOnce(&mut Status) + Send>;

impl Request {
    pub fn new(kind: ReqKind, comm: c_int) -> Arc<Request> {
        Arc::new(Request {
            kind,
            comm,
            done: AtomicBool::new(false),
            status: Mutex::new(Status::empty()),
            persistent: None,
            active: AtomicBool::new(false),
            generalized: None,
            cancel_requested: AtomicBool::new(false),
            message: Mutex::new(None),
            detached: AtomicBool::new(false),
            also: None,
            ready: Mutex::new(Vec::new()),
            wire_cookie: AtomicU64::new(0),
            wire_peer: AtomicUsize::new(0),
            finisher: Mutex::new(None),
            finishes: AtomicBool::new(false),
        })
    }

    /// A request complete when `self`'s operation and `also` both are.
    pub fn with_also(kind: ReqKind, comm: c_int, also: Arc<Request>) -> Arc<Request> {
        let mut r = Request::new(kind, comm);
        Arc::get_mut(&mut r).expect("fresh request").also = Some(also);
        r
    }

    pub fn persistent(kind: ReqKind, comm: c_int, op: Persistent) -> Arc<Request> {
        let mut r = Request::new(kind, comm);
        let inner = Arc::get_mut(&mut r).expect("fresh request");
        inner.persistent = Some(op);
        // Inactive persistent requests count as complete for wait and test.
        inner.done = AtomicBool::new(true);
        r
    }

    pub fn generalized(comm: c_int, g: Generalized) -> Arc<Request> {
        let mut r = Request::new(ReqKind::Generalized, comm);
        Arc::get_mut(&mut r).expect("fresh request").generalized = Some(g);
        r
    }

    /// A request that is already complete with `status`.
    pub fn completed(kind: ReqKind, comm: c_int, status: Status) -> Arc<Request> {
        let r = Request::new(kind, comm);
        r.complete(status);
        r
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire) && self.also.as_ref().is_none_or(|a| a.is_done())
    }

    pub fn is_persistent(&self) -> bool {
        self.persistent.is_some()
    }

    /// Record the outcome and mark the request complete. The caller rings
    /// the process's bell so that threads waiting on it wake up.
    pub fn complete(&self, mut status: Status) {
        if self.finishes.load(Ordering::Relaxed)
            && self.finishes.swap(false, Ordering::Relaxed)
            && let Some(f) = self.finisher.lock().take()
        {
            f(&mut status);
        }
        *self.status.lock() = status;
        self.done.store(true, Ordering::Release);
    }

    /// Set what runs when this request next completes.
    pub fn on_complete(&self, f: Finisher) {
        *self.finisher.lock() = Some(f);
        self.finishes.store(true, Ordering::Relaxed);
    }

    /// Undo the completion of a send whose cancellation the receiver is
    /// deciding (the engine completes it again with the answer).
    pub fn reopen(&self) {
        self.done.store(false, Ordering::Release);
    }

    /// Make a persistent request active again (`MPI_Start`).
    pub fn restart(&self) {
        *self.status.lock() = Status::empty();
        self.cancel_requested.store(false, Ordering::Relaxed);
        self.active.store(true, Ordering::Relaxed);
        self.done.store(false, Ordering::Release);
    }

    pub fn status(&self) -> Status {
        self.status.lock().clone()
    }

    /// The error this request completed with, routed to its communicator.
    pub fn error(&self) -> Option<MpiError> {
        self.status.lock().result(self.comm).err()
    }
}

/// Every request a handle refers to.
pub static REQUESTS: Table<Request> = Table::new(Kind::Request);
