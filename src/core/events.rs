//! Events of the tool interface (MPI-4.1 section 15.3.8).
//!
//! Two event types: `unexpected_message` (a message arrived before its
//! receive and joins the unexpected queue) and `rendezvous` (a receiver
//! starts fetching a large message). The engine calls [`emit`] under its
//! lock; an event nobody registered for costs one relaxed load. Emitted
//! events wait in a bounded queue (the excess is counted as dropped) and
//! [`dispatch`] hands them to the callbacks where the engine holds no
//! lock. Callbacks run in an `MPI_T_CB_REQUIRE_MPI_RESTRICTED` context: a
//! registration's callback of that level, or of the next stricter one
//! registered, is called; one registered only for `MPI_T_CB_REQUIRE_NONE`
//! never is (its events count as dropped, reported to the dropped
//! handler). An event instance is valid while its callback runs.

use super::callbacks::{
    Fn_MPI_T_event_cb_function, Fn_MPI_T_event_dropped_cb_function, Fn_MPI_T_event_free_cb_function,
};
use super::config::Category;
use super::consts::*;
use super::error::{MpiError, MpiResult};
use super::types::{MPI_Aint, MPI_Datatype, MPI_T_event_instance, MPI_T_event_registration};
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One event type: its elements are `MPI_INT` or `MPI_COUNT` values at
/// the given displacements of the copied record.
pub struct EventDef {
    pub name: &'static str,
    pub doc: &'static str,
    pub category: Category,
    pub elements: &'static [(MPI_Datatype, MPI_Aint)],
}

pub const UNEXPECTED: usize = 0;
pub const RENDEZVOUS: usize = 1;

pub static EVENTS: [EventDef; 2] = [
    EventDef {
        name: "unexpected_message",
        doc: "A message arrived before its receive was posted: source rank in the communicator, \
              tag, bytes, context id.",
        category: Category::Matching,
        elements: &[(MPI_INT, 0), (MPI_INT, 4), (MPI_COUNT, 8), (MPI_INT, 16)],
    },
    EventDef {
        name: "rendezvous",
        doc: "A receiver starts fetching a large message: sender's world rank, 1 for a \
              single-copy read or 0 for streaming through shared memory, bytes.",
        category: Category::Transport,
        elements: &[(MPI_INT, 0), (MPI_INT, 4), (MPI_COUNT, 8)],
    },
];

/// Whether some registration has a callback for each event type.
static WANTED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// The most events kept between two dispatches.
const QUEUE_MAX: usize = 4096;

#[derive(Clone, Copy)]
struct Occurrence {
    event: usize,
    data: [i64; 4],
    time: i64,
}

/// The callbacks of one registration, by safety level (0..=3).
#[derive(Default)]
struct Registration {
    event: usize,
    callbacks: [Option<(Fn_MPI_T_event_cb_function, usize)>; 4],
    dropped_handler: Option<Fn_MPI_T_event_dropped_cb_function>,
    dropped: u64,
}

#[derive(Default)]
struct Events {
    regs: BTreeMap<usize, Registration>,
    queue: VecDeque<Occurrence>,
    /// Events lost to a full queue, by type.
    lost: [u64; 2],
}

static EVENTS_STATE: Mutex<Events> = Mutex::new(Events {
    regs: BTreeMap::new(),
    queue: VecDeque::new(),
    lost: [0; 2],
});
static QUEUED: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// The instance whose callback runs in this thread.
    static CURRENT: Cell<Option<(usize, Occurrence)>> = const { Cell::new(None) };
    static DISPATCHING: Cell<bool> = const { Cell::new(false) };
}

fn err(code: c_int, msg: &str) -> MpiError {
    MpiError::new(code, msg.to_string())
}

fn new_id() -> usize {
    0x2000_0000 + 16 * NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Record an occurrence of `event` (called by the engine under its lock).
pub fn emit(event: usize, data: [i64; 4]) {
    if !WANTED[event].load(Ordering::Relaxed) {
        return;
    }
    let time = super::tool::now_ticks();
    let mut st = EVENTS_STATE.lock();
    if st.queue.len() >= QUEUE_MAX {
        st.lost[event] += 1;
        return;
    }
    st.queue.push_back(Occurrence { event, data, time });
    QUEUED.store(st.queue.len(), Ordering::Release);
}

/// Pick the callback for the restricted context: the registration's
/// callback of the least strict level that is at least MPI_RESTRICTED.
fn callback_for(r: &Registration) -> Option<(Fn_MPI_T_event_cb_function, usize, c_int)> {
    (MPI_T_CB_REQUIRE_MPI_RESTRICTED..=MPI_T_CB_REQUIRE_ASYNC_SIGNAL_SAFE)
        .find_map(|level| r.callbacks[level as usize].map(|(f, d)| (f, d, level)))
}

/// Deliver queued events to their callbacks. Called where the engine
/// holds no lock; a callback's own MPI_T calls take only this module's
/// state, which is not held while a callback runs.
pub fn dispatch() {
    if QUEUED.load(Ordering::Acquire) == 0 || DISPATCHING.with(Cell::get) {
        return;
    }
    DISPATCHING.with(|d| d.set(true));
    loop {
        // Take one occurrence and its callbacks, then call them unlocked.
        let (occ, calls, drops) = {
            let mut st = EVENTS_STATE.lock();
            let Some(occ) = st.queue.pop_front() else {
                QUEUED.store(0, Ordering::Release);
                break;
            };
            QUEUED.store(st.queue.len(), Ordering::Release);
            let lost = std::mem::take(&mut st.lost[occ.event]);
            let mut calls = Vec::new();
            let mut drops = Vec::new();
            for (&id, r) in st.regs.iter_mut().filter(|(_, r)| r.event == occ.event) {
                r.dropped += lost;
                match callback_for(r) {
                    Some(c) => calls.push((id, c)),
                    None => r.dropped += 1,
                }
                if r.dropped > 0
                    && let Some(h) = r.dropped_handler
                {
                    drops.push((id, h, std::mem::take(&mut r.dropped)));
                }
            }
            (occ, calls, drops)
        };
        for (reg, h, n) in drops {
            // SAFETY: a dropped handler the user registered with this signature.
            unsafe {
                h(
                    n as i64,
                    reg as MPI_T_event_registration,
                    0,
                    MPI_T_CB_REQUIRE_MPI_RESTRICTED,
                    std::ptr::null_mut(),
                )
            };
        }
        let instance = new_id();
        CURRENT.with(|c| c.set(Some((instance, occ))));
        for (reg, (f, user_data, level)) in calls {
            // SAFETY: a callback the user registered with this signature;
            // the instance handle is valid until it returns.
            unsafe {
                f(
                    instance as MPI_T_event_instance,
                    reg as MPI_T_event_registration,
                    level,
                    user_data as *mut c_void,
                )
            };
        }
        CURRENT.with(|c| c.set(None));
    }
    DISPATCHING.with(|d| d.set(false));
}

fn refresh_wanted(st: &Events) {
    for (e, w) in WANTED.iter().enumerate() {
        let any = st
            .regs
            .values()
            .any(|r| r.event == e && r.callbacks.iter().any(Option::is_some));
        w.store(any, Ordering::Relaxed);
    }
}

fn with_reg<T>(reg: usize, f: impl FnOnce(&mut Registration) -> T) -> MpiResult<T> {
    let mut st = EVENTS_STATE.lock();
    let r = st
        .regs
        .get_mut(&reg)
        .ok_or_else(|| err(MPI_T_ERR_INVALID_HANDLE, "not an event registration"))?;
    Ok(f(r))
}

/// `MPI_T_event_handle_alloc`.
pub fn alloc(event: usize) -> usize {
    let id = new_id();
    EVENTS_STATE.lock().regs.insert(
        id,
        Registration {
            event,
            ..Registration::default()
        },
    );
    id
}

/// `MPI_T_event_register_callback` (a null callback removes the level's).
pub fn register(
    reg: usize,
    safety: c_int,
    cb: Option<Fn_MPI_T_event_cb_function>,
    user_data: usize,
) -> MpiResult<()> {
    if !(MPI_T_CB_REQUIRE_NONE..=MPI_T_CB_REQUIRE_ASYNC_SIGNAL_SAFE).contains(&safety) {
        return Err(err(MPI_T_ERR_INVALID, "invalid callback safety level"));
    }
    with_reg(reg, |r| {
        r.callbacks[safety as usize] = cb.map(|f| (f, user_data))
    })?;
    refresh_wanted(&EVENTS_STATE.lock());
    Ok(())
}

/// Check a registration handle (and, for callback info, a level).
pub fn check(reg: usize, safety: Option<c_int>) -> MpiResult<()> {
    with_reg(reg, |_| ())?;
    match safety {
        Some(s) if !(MPI_T_CB_REQUIRE_NONE..=MPI_T_CB_REQUIRE_ASYNC_SIGNAL_SAFE).contains(&s) => {
            Err(err(MPI_T_ERR_INVALID, "invalid callback safety level"))
        }
        _ => Ok(()),
    }
}

pub fn set_dropped_handler(
    reg: usize,
    h: Option<Fn_MPI_T_event_dropped_cb_function>,
) -> MpiResult<()> {
    with_reg(reg, |r| r.dropped_handler = h)
}

/// `MPI_T_event_handle_free`: no callback runs after it returns; the free
/// callback is called at once.
pub fn free(
    reg: usize,
    user_data: usize,
    free_cb: Option<Fn_MPI_T_event_free_cb_function>,
) -> MpiResult<()> {
    {
        let mut st = EVENTS_STATE.lock();
        st.regs
            .remove(&reg)
            .ok_or_else(|| err(MPI_T_ERR_INVALID_HANDLE, "not an event registration"))?;
        refresh_wanted(&st);
    }
    if let Some(f) = free_cb {
        // SAFETY: a free callback the user passed with this signature.
        unsafe {
            f(
                reg as MPI_T_event_registration,
                MPI_T_CB_REQUIRE_MPI_RESTRICTED,
                user_data as *mut c_void,
            )
        };
    }
    Ok(())
}

/// Drop every registration (the last `MPI_T_finalize`).
pub fn clear() {
    let mut st = EVENTS_STATE.lock();
    st.regs.clear();
    st.queue.clear();
    QUEUED.store(0, Ordering::Release);
    refresh_wanted(&st);
}

fn current(instance: usize) -> MpiResult<Occurrence> {
    CURRENT
        .with(Cell::get)
        .filter(|(id, _)| *id == instance)
        .map(|(_, o)| o)
        .ok_or_else(|| {
            err(
                MPI_T_ERR_INVALID_HANDLE,
                "not an event instance (valid only while its callback runs)",
            )
        })
}

/// The bytes of element `i` of an instance.
pub fn read(instance: usize, i: c_int) -> MpiResult<Vec<u8>> {
    let o = current(instance)?;
    let elems = EVENTS[o.event].elements;
    let i = usize::try_from(i)
        .ok()
        .filter(|&i| i < elems.len())
        .ok_or_else(|| err(MPI_T_ERR_INVALID_INDEX, "no such element of this event"))?;
    Ok(element_bytes(elems[i].0, o.data[i]))
}

fn element_bytes(dt: MPI_Datatype, v: i64) -> Vec<u8> {
    if dt == MPI_COUNT {
        v.to_ne_bytes().to_vec()
    } else {
        (v as c_int).to_ne_bytes().to_vec()
    }
}

/// Every element of an instance at its displacement.
pub fn copy(instance: usize) -> MpiResult<Vec<u8>> {
    let o = current(instance)?;
    let elems = EVENTS[o.event].elements;
    let mut out = Vec::new();
    for (k, &(dt, disp)) in elems.iter().enumerate() {
        let b = element_bytes(dt, o.data[k]);
        let at = disp as usize;
        out.resize(out.len().max(at + b.len()), 0);
        out[at..at + b.len()].copy_from_slice(&b);
    }
    Ok(out)
}

pub fn timestamp(instance: usize) -> MpiResult<i64> {
    Ok(current(instance)?.time)
}

pub fn source(instance: usize) -> MpiResult<c_int> {
    current(instance).map(|_| 0)
}
