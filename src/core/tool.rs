//! The MPI tool information interface (MPI-4.1 chapter 15, `MPI_T_*`).
//!
//! - Control variables are the settings registry (`core::config`): every
//!   setting the library reads, with its value, and writable where its
//!   scope allows (settings read at start-up are reported read-only).
//! - Performance variables are the engine's counters (`p2p::stats`) and
//!   the collectives' algorithm use (`coll::usage`).
//! - Categories group both; enumerations name the values of choice
//!   settings; one event source (a monotonic clock) stamps events
//!   (`core::events`: unexpected messages and rendezvous transfers).
//!
//! Handles are numbers here; the C face turns them into the pointers the
//! ABI declares. Every call returns an `MPI_T_ERR_*` class in its error
//! and never reaches an error handler: tools must not change the program's
//! error behaviour.

use super::callbacks::{
    Fn_MPI_T_event_cb_function, Fn_MPI_T_event_dropped_cb_function, Fn_MPI_T_event_free_cb_function,
};
use super::config::{self, Audience, Category, Kind, Scope, SetError, Setting};
use super::consts::*;
use super::error::{MpiError, MpiResult};
use super::events::{self, EVENTS};
use super::types::MPI_Aint;
use super::types::MPI_Datatype;
use super::{coll, p2p};
use parking_lot::Mutex;
use std::collections::BTreeMap as HashMap;
use std::ffi::c_int;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Instant;

fn err(code: c_int, msg: impl Into<String>) -> MpiError {
    MpiError::new(code, msg.into())
}

/// A value read or written through a handle, in its variable's datatype.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Int(c_int),
    U64(u64),
    Double(f64),
}

// ---------------------------------------------------------------------------
// State: initialization count and the handles in use.

#[derive(Default)]
struct State {
    /// `MPI_T_init_thread` calls not yet matched by `MPI_T_finalize`.
    inits: usize,
    next: usize,
    /// Control-variable handles: handle -> variable index.
    cvars: HashMap<usize, usize>,
    /// Performance-variable sessions and their handles.
    sessions: HashMap<usize, HashMap<usize, PvarHandle>>,
}

impl State {
    fn new_id(&mut self) -> usize {
        // Numbers that look like nothing else: multiples of 16 from 0x1000.
        self.next += 1;
        0x1000 + 16 * self.next
    }
}

static STATE: Mutex<State> = Mutex::new(State {
    inits: 0,
    next: 0,
    cvars: HashMap::new(),
    sessions: HashMap::new(),
});

/// Run `f` on the state once the interface is initialized.
fn with_state<T>(f: impl FnOnce(&mut State) -> MpiResult<T>) -> MpiResult<T> {
    let mut st = STATE.lock();
    if st.inits == 0 {
        return Err(err(
            MPI_T_ERR_NOT_INITIALIZED,
            "the tool interface is not initialized (call MPI_T_init_thread first)",
        ));
    }
    f(&mut st)
}

fn initialized() -> MpiResult<()> {
    with_state(|_| Ok(()))
}

/// `MPI_T_init_thread`: may be called any number of times, before
/// `MPI_Init` and after `MPI_Finalize`. The interface is thread safe.
pub fn init(required: c_int) -> MpiResult<c_int> {
    if !(MPI_THREAD_SINGLE..=MPI_THREAD_MULTIPLE).contains(&required) {
        return Err(err(
            MPI_T_ERR_INVALID,
            format!("{required} is not a thread level"),
        ));
    }
    STATE.lock().inits += 1;
    epoch();
    Ok(required)
}

/// `MPI_T_finalize`: the last one frees every handle and session.
pub fn finalize() -> MpiResult<()> {
    with_state(|st| {
        st.inits -= 1;
        if st.inits == 0 {
            st.cvars.clear();
            st.sessions.clear();
            events::clear();
        }
        Ok(())
    })
}

fn check_index(i: c_int, n: usize, what: &str) -> MpiResult<usize> {
    usize::try_from(i).ok().filter(|&i| i < n).ok_or_else(|| {
        err(
            MPI_T_ERR_INVALID_INDEX,
            format!("{i} is not a {what} index (there are {n})"),
        )
    })
}

fn verbosity(a: Audience) -> c_int {
    match a {
        Audience::User => MPI_T_VERBOSITY_USER_BASIC,
        Audience::Tuner => MPI_T_VERBOSITY_TUNER_BASIC,
    }
}

// ---------------------------------------------------------------------------
// Control variables.

fn cvar_list() -> impl Iterator<Item = &'static Setting> {
    config::ALL.iter().copied().filter(|s| s.in_library())
}

fn cvar(i: usize) -> &'static Setting {
    cvar_list().nth(i).expect("index checked")
}

/// What `MPI_T_cvar_get_info` reports.
#[derive(Debug)]
pub struct CvarInfo {
    pub name: &'static str,
    pub verbosity: c_int,
    pub datatype: MPI_Datatype,
    /// The enumeration of a choice setting.
    pub enumtype: Option<usize>,
    pub desc: &'static str,
    pub bind: c_int,
    pub scope: c_int,
}

pub fn cvar_num() -> MpiResult<usize> {
    initialized()?;
    Ok(cvar_list().count())
}

pub fn cvar_info(i: c_int) -> MpiResult<CvarInfo> {
    let i = check_index(i, cvar_num()?, "control variable")?;
    let s = cvar(i);
    Ok(CvarInfo {
        name: s.name,
        verbosity: verbosity(s.audience),
        datatype: cvar_datatype(s),
        enumtype: enums().position(|e| std::ptr::eq(e, s)),
        desc: s.doc,
        bind: MPI_T_BIND_NO_OBJECT,
        scope: match s.scope {
            Scope::Anytime => MPI_T_SCOPE_LOCAL,
            _ => MPI_T_SCOPE_READONLY,
        },
    })
}

fn cvar_datatype(s: &Setting) -> MPI_Datatype {
    match s.kind {
        Kind::Bytes => MPI_UNSIGNED_LONG_LONG,
        _ => MPI_INT,
    }
}

pub fn cvar_index(name: &str) -> MpiResult<usize> {
    initialized()?;
    cvar_list().position(|s| s.name == name).ok_or_else(|| {
        err(
            MPI_T_ERR_INVALID_NAME,
            format!("no control variable is named {name:?}"),
        )
    })
}

/// `MPI_T_cvar_handle_alloc`: a handle and the number of values (1).
pub fn cvar_handle_alloc(i: c_int) -> MpiResult<(usize, c_int)> {
    let i = check_index(i, cvar_num()?, "control variable")?;
    with_state(|st| {
        let id = st.new_id();
        st.cvars.insert(id, i);
        Ok((id, 1))
    })
}

pub fn cvar_handle_free(h: usize) -> MpiResult<()> {
    with_state(|st| {
        st.cvars
            .remove(&h)
            .map(|_| ())
            .ok_or_else(|| err(MPI_T_ERR_INVALID_HANDLE, "not a control variable handle"))
    })
}

fn cvar_of(h: usize) -> MpiResult<&'static Setting> {
    let i = with_state(|st| {
        st.cvars
            .get(&h)
            .copied()
            .ok_or_else(|| err(MPI_T_ERR_INVALID_HANDLE, "not a control variable handle"))
    })?;
    Ok(cvar(i))
}

/// The datatype of the variable behind handle `h` (how to read a buffer).
pub fn cvar_handle_datatype(h: usize) -> MpiResult<MPI_Datatype> {
    Ok(cvar_datatype(cvar_of(h)?))
}

pub fn cvar_read(h: usize) -> MpiResult<Value> {
    let s = cvar_of(h)?;
    Ok(match s.kind {
        Kind::Bytes => Value::U64(s.get() as u64),
        _ => Value::Int(s.get() as c_int),
    })
}

pub fn cvar_write(h: usize, v: Value) -> MpiResult<()> {
    let s = cvar_of(h)?;
    let v = match v {
        Value::Int(i) => i64::from(i),
        Value::U64(u) => i64::try_from(u).unwrap_or(i64::MAX),
        Value::Double(d) => d as i64,
    };
    s.set(v).map_err(|e| match e {
        SetError::NotNow => err(
            MPI_T_ERR_CVAR_SET_NEVER,
            format!(
                "{} is read once at start-up; set it in the environment",
                s.name
            ),
        ),
        SetError::OutOfRange => err(
            MPI_T_ERR_INVALID,
            format!("{v} is out of range for {}", s.name),
        ),
    })
}

// ---------------------------------------------------------------------------
// Enumerations: the values of choice settings.

fn enums() -> impl Iterator<Item = &'static Setting> {
    cvar_list().filter(|s| matches!(s.kind, Kind::Choice(_)))
}

fn enum_names(e: usize) -> MpiResult<(&'static str, &'static [&'static str])> {
    initialized()?;
    match enums().nth(e).map(|s| (s.name, s.kind)) {
        Some((name, Kind::Choice(items))) => Ok((name, items)),
        _ => Err(err(MPI_T_ERR_INVALID_HANDLE, "not an enumeration handle")),
    }
}

/// `MPI_T_enum_get_info`: the number of items and the enumeration's name.
pub fn enum_info(e: usize) -> MpiResult<(c_int, &'static str)> {
    let (name, items) = enum_names(e)?;
    Ok((items.len() as c_int, name))
}

/// `MPI_T_enum_get_item`: the value and name of item `i`.
pub fn enum_item(e: usize, i: c_int) -> MpiResult<(c_int, &'static str)> {
    let (_, items) = enum_names(e)?;
    let i = usize::try_from(i)
        .ok()
        .filter(|&i| i < items.len())
        .ok_or_else(|| {
            err(
                MPI_T_ERR_INVALID_ITEM,
                format!("{i} is not an item of this enumeration"),
            )
        })?;
    Ok((i as c_int, items[i]))
}

// ---------------------------------------------------------------------------
// Performance variables.

struct PvarDef {
    name: &'static str,
    doc: &'static str,
    class: c_int,
    category: Category,
    /// Read-only variables cannot be written or reset.
    readonly: bool,
    /// Continuous variables are always running (no start or stop).
    continuous: bool,
    read: fn() -> Value,
}

fn counter(f: fn(&p2p::Stats) -> u64) -> Value {
    Value::U64(f(&p2p::stats()))
}

fn used(c: &std::sync::atomic::AtomicU64) -> Value {
    Value::U64(c.load(Ordering::Relaxed))
}

macro_rules! pvar {
    ($name:literal, $class:ident, $cat:ident, $ro:literal, $cont:literal, $read:expr, $doc:literal) => {
        PvarDef {
            name: $name,
            doc: $doc,
            class: $class,
            category: Category::$cat,
            readonly: $ro,
            continuous: $cont,
            read: $read,
        }
    };
}

static PVARS: [PvarDef; 16] = [
    pvar!(
        "eager_messages_sent",
        MPI_T_PVAR_CLASS_COUNTER,
        Transport,
        false,
        false,
        || counter(|s| s.eager_msgs),
        "Messages sent eagerly (copied through a shared-memory ring)."
    ),
    pvar!(
        "eager_bytes_sent",
        MPI_T_PVAR_CLASS_COUNTER,
        Transport,
        false,
        false,
        || counter(|s| s.eager_bytes),
        "Bytes sent eagerly."
    ),
    pvar!(
        "rendezvous_messages_sent",
        MPI_T_PVAR_CLASS_COUNTER,
        Transport,
        false,
        false,
        || counter(|s| s.rndv_msgs),
        "Messages sent by rendezvous (above OXMPI_EAGER_MAX)."
    ),
    pvar!(
        "rendezvous_bytes_sent",
        MPI_T_PVAR_CLASS_COUNTER,
        Transport,
        false,
        false,
        || counter(|s| s.rndv_bytes),
        "Bytes sent by rendezvous."
    ),
    pvar!(
        "single_copy_bytes_received",
        MPI_T_PVAR_CLASS_COUNTER,
        Transport,
        false,
        false,
        || counter(|s| s.single_copy_bytes),
        "Rendezvous bytes read straight from the sender's memory."
    ),
    pvar!(
        "streamed_bytes_received",
        MPI_T_PVAR_CLASS_COUNTER,
        Transport,
        false,
        false,
        || counter(|s| s.streamed_bytes),
        "Rendezvous bytes received in fragments through shared memory."
    ),
    pvar!(
        "ofi_bytes_sent",
        MPI_T_PVAR_CLASS_COUNTER,
        Transport,
        false,
        false,
        || used(&crate::transport::ofi::BYTES_SENT),
        "Bytes this process sent through the network transport (libfabric), headers included."
    ),
    pvar!(
        "ofi_bytes_received",
        MPI_T_PVAR_CLASS_COUNTER,
        Transport,
        false,
        false,
        || used(&crate::transport::ofi::BYTES_RECEIVED),
        "Bytes this process received through the network transport (libfabric)."
    ),
    pvar!(
        "unexpected_queue_length",
        MPI_T_PVAR_CLASS_LEVEL,
        Matching,
        true,
        true,
        || counter(|s| s.unexpected_len),
        "Messages that arrived before their receive and wait for it."
    ),
    pvar!(
        "unexpected_queue_high_water",
        MPI_T_PVAR_CLASS_HIGHWATERMARK,
        Matching,
        true,
        true,
        || counter(|s| s.unexpected_high),
        "The most messages ever waiting in the unexpected queue."
    ),
    pvar!(
        "posted_queue_length",
        MPI_T_PVAR_CLASS_LEVEL,
        Matching,
        true,
        true,
        || counter(|s| s.posted_len),
        "Receives posted and waiting for their message."
    ),
    pvar!(
        "wait_time",
        MPI_T_PVAR_CLASS_TIMER,
        Matching,
        false,
        false,
        || Value::Double(p2p::stats().wait_ns as f64 * 1e-9),
        "Seconds spent waiting in blocking calls once their first spins found nothing."
    ),
    pvar!(
        "coll_node_local",
        MPI_T_PVAR_CLASS_COUNTER,
        Collectives,
        false,
        false,
        || used(&coll::usage::NODE_LOCAL),
        "Collectives run through the node's shared cells."
    ),
    pvar!(
        "coll_schedules_blocking",
        MPI_T_PVAR_CLASS_COUNTER,
        Collectives,
        false,
        false,
        || used(&coll::usage::BLOCKING),
        "Collective schedules run by messages in a blocking call."
    ),
    pvar!(
        "coll_schedules_started",
        MPI_T_PVAR_CLASS_COUNTER,
        Collectives,
        false,
        false,
        || used(&coll::usage::STARTED),
        "Collective schedules started (nonblocking and persistent)."
    ),
    pvar!(
        "bcast_split_used",
        MPI_T_PVAR_CLASS_COUNTER,
        Collectives,
        false,
        false,
        || used(&coll::usage::BCAST_SPLIT),
        "Broadcasts by scatter and ring allgather (the rest are binomial trees)."
    ),
];

/// What `MPI_T_pvar_get_info` reports.
#[derive(Debug)]
pub struct PvarInfo {
    pub name: &'static str,
    pub verbosity: c_int,
    pub class: c_int,
    pub datatype: MPI_Datatype,
    pub desc: &'static str,
    pub bind: c_int,
    pub readonly: bool,
    pub continuous: bool,
    pub atomic: bool,
}

pub fn pvar_num() -> MpiResult<usize> {
    initialized()?;
    Ok(PVARS.len())
}

fn pvar_datatype(d: &PvarDef) -> MPI_Datatype {
    match (d.read)() {
        Value::Double(_) => MPI_DOUBLE,
        Value::U64(_) => MPI_UNSIGNED_LONG_LONG,
        Value::Int(_) => MPI_INT,
    }
}

pub fn pvar_info(i: c_int) -> MpiResult<PvarInfo> {
    let d = &PVARS[check_index(i, pvar_num()?, "performance variable")?];
    Ok(PvarInfo {
        name: d.name,
        verbosity: MPI_T_VERBOSITY_TUNER_BASIC,
        class: d.class,
        datatype: pvar_datatype(d),
        desc: d.doc,
        bind: MPI_T_BIND_NO_OBJECT,
        readonly: d.readonly,
        continuous: d.continuous,
        atomic: false,
    })
}

pub fn pvar_index(name: &str, class: c_int) -> MpiResult<usize> {
    initialized()?;
    PVARS
        .iter()
        .position(|d| d.name == name && d.class == class)
        .ok_or_else(|| {
            err(
                MPI_T_ERR_INVALID_NAME,
                format!("no performance variable of class {class} is named {name:?}"),
            )
        })
}

/// One handle of a session: the variable, and (for counters and timers)
/// what has accumulated while it ran.
#[derive(Clone, Copy)]
struct PvarHandle {
    var: usize,
    running: bool,
    /// The variable's reading when the handle last started (or was reset).
    base: Value,
    /// What accumulated before the last stop.
    kept: Value,
}

fn zero(v: Value) -> Value {
    match v {
        Value::Int(_) => Value::Int(0),
        Value::U64(_) => Value::U64(0),
        Value::Double(_) => Value::Double(0.0),
    }
}

fn add(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::U64(a), Value::U64(b)) => Value::U64(a.wrapping_add(b)),
        (Value::Double(a), Value::Double(b)) => Value::Double(a + b),
        (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_add(b)),
        (a, _) => a,
    }
}

fn sub(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::U64(a), Value::U64(b)) => Value::U64(a.wrapping_sub(b)),
        (Value::Double(a), Value::Double(b)) => Value::Double(a - b),
        (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_sub(b)),
        (a, _) => a,
    }
}

impl PvarHandle {
    fn def(&self) -> &'static PvarDef {
        &PVARS[self.var]
    }

    fn value(&self) -> Value {
        let def = self.def();
        let now = (def.read)();
        if def.continuous && def.readonly {
            return now;
        }
        if self.running {
            add(self.kept, sub(now, self.base))
        } else {
            self.kept
        }
    }
}

/// A handle of a session, or every handle of it (`MPI_T_PVAR_ALL_HANDLES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PvarTarget {
    One(usize),
    All,
}

pub fn pvar_session_create() -> MpiResult<usize> {
    with_state(|st| {
        let id = st.new_id();
        st.sessions.insert(id, HashMap::new());
        Ok(id)
    })
}

pub fn pvar_session_free(s: usize) -> MpiResult<()> {
    with_state(|st| {
        st.sessions.remove(&s).map(|_| ()).ok_or_else(|| {
            err(
                MPI_T_ERR_INVALID_SESSION,
                "not a performance variable session",
            )
        })
    })
}

fn session(st: &mut State, s: usize) -> MpiResult<&mut HashMap<usize, PvarHandle>> {
    st.sessions.get_mut(&s).ok_or_else(|| {
        err(
            MPI_T_ERR_INVALID_SESSION,
            "not a performance variable session",
        )
    })
}

/// `MPI_T_pvar_handle_alloc`: a handle and the number of values (1).
pub fn pvar_handle_alloc(s: usize, i: c_int) -> MpiResult<(usize, c_int)> {
    let var = check_index(i, pvar_num()?, "performance variable")?;
    with_state(|st| {
        let id = st.new_id();
        let def = &PVARS[var];
        let now = (def.read)();
        let h = PvarHandle {
            var,
            running: def.continuous,
            base: now,
            kept: zero(now),
        };
        session(st, s)?.insert(id, h);
        Ok((id, 1))
    })
}

pub fn pvar_handle_free(s: usize, h: usize) -> MpiResult<()> {
    with_state(|st| {
        session(st, s)?
            .remove(&h)
            .map(|_| ())
            .ok_or_else(|| err(MPI_T_ERR_INVALID_HANDLE, "not a handle of this session"))
    })
}

/// Apply `f` to one handle or to all of a session's.
fn each_handle(
    s: usize,
    target: PvarTarget,
    mut f: impl FnMut(&mut PvarHandle) -> MpiResult<()>,
) -> MpiResult<()> {
    with_state(|st| {
        let handles = session(st, s)?;
        match target {
            PvarTarget::One(h) => f(handles
                .get_mut(&h)
                .ok_or_else(|| err(MPI_T_ERR_INVALID_HANDLE, "not a handle of this session"))?),
            PvarTarget::All => handles.values_mut().try_for_each(f),
        }
    })
}

fn one(target: PvarTarget) -> MpiResult<PvarTarget> {
    match target {
        PvarTarget::All => Err(err(
            MPI_T_ERR_INVALID_HANDLE,
            "MPI_T_PVAR_ALL_HANDLES is only for start, stop and reset",
        )),
        t => Ok(t),
    }
}

/// An operation that does not apply to a variable: an error for that
/// handle, but `MPI_T_PVAR_ALL_HANDLES` just passes over it.
fn refuse(target: PvarTarget, code: c_int, what: &str) -> MpiResult<()> {
    match target {
        PvarTarget::All => Ok(()),
        PvarTarget::One(_) => Err(err(code, what)),
    }
}

pub fn pvar_start(s: usize, target: PvarTarget) -> MpiResult<()> {
    each_handle(s, target, |h| {
        if h.def().continuous {
            return refuse(
                target,
                MPI_T_ERR_PVAR_NO_STARTSTOP,
                "a continuous variable cannot be started",
            );
        }
        if !h.running {
            h.base = (h.def().read)();
            h.running = true;
        }
        Ok(())
    })
}

pub fn pvar_stop(s: usize, target: PvarTarget) -> MpiResult<()> {
    each_handle(s, target, |h| {
        if h.def().continuous {
            return refuse(
                target,
                MPI_T_ERR_PVAR_NO_STARTSTOP,
                "a continuous variable cannot be stopped",
            );
        }
        h.kept = h.value();
        h.running = false;
        Ok(())
    })
}

/// The datatype of the variable behind a handle (how to read a buffer).
pub fn pvar_handle_datatype(s: usize, h: usize) -> MpiResult<MPI_Datatype> {
    let mut dt = MPI_DATATYPE_NULL;
    each_handle(s, one(PvarTarget::One(h))?, |h| {
        dt = pvar_datatype(h.def());
        Ok(())
    })?;
    Ok(dt)
}

pub fn pvar_read(s: usize, target: PvarTarget) -> MpiResult<Value> {
    let mut v = Value::Int(0);
    each_handle(s, one(target)?, |h| {
        v = h.value();
        Ok(())
    })?;
    Ok(v)
}

/// Set a handle's value to `v` (a reset writes zero).
fn write_handle(h: &mut PvarHandle, v: Value, target: PvarTarget) -> MpiResult<()> {
    if h.def().readonly {
        return refuse(
            target,
            MPI_T_ERR_PVAR_NO_WRITE,
            "this performance variable is read-only",
        );
    }
    h.base = (h.def().read)();
    h.kept = v;
    Ok(())
}

pub fn pvar_write(s: usize, target: PvarTarget, v: Value) -> MpiResult<()> {
    let target = one(target)?;
    each_handle(s, target, |h| write_handle(h, v, target))
}

pub fn pvar_reset(s: usize, target: PvarTarget) -> MpiResult<()> {
    each_handle(s, target, |h| write_handle(h, zero(h.value()), target))
}

pub fn pvar_readreset(s: usize, target: PvarTarget) -> MpiResult<Value> {
    let target = one(target)?;
    let mut v = Value::Int(0);
    each_handle(s, target, |h| {
        v = h.value();
        write_handle(h, zero(v), target)
    })?;
    Ok(v)
}

// ---------------------------------------------------------------------------
// Categories.

/// The categories that hold variables, in index order.
fn categories() -> impl Iterator<Item = Category> {
    Category::ALL.into_iter().filter(|&c| {
        cvar_list().any(|s| s.category == c)
            || PVARS.iter().any(|d| d.category == c)
            || EVENTS.iter().any(|e| e.category == c)
    })
}

#[derive(Debug)]
pub struct CategoryInfo {
    pub name: &'static str,
    pub desc: &'static str,
    pub num_cvars: usize,
    pub num_pvars: usize,
    pub num_categories: usize,
}

pub fn category_num() -> MpiResult<usize> {
    initialized()?;
    Ok(categories().count())
}

fn category(i: c_int) -> MpiResult<Category> {
    let i = check_index(i, category_num()?, "category")?;
    Ok(categories().nth(i).expect("index checked"))
}

pub fn category_info(i: c_int) -> MpiResult<CategoryInfo> {
    let c = category(i)?;
    Ok(CategoryInfo {
        name: c.name(),
        desc: c.doc(),
        num_cvars: category_cvars(i)?.len(),
        num_pvars: category_pvars(i)?.len(),
        num_categories: 0,
    })
}

pub fn category_index(name: &str) -> MpiResult<usize> {
    initialized()?;
    categories().position(|c| c.name() == name).ok_or_else(|| {
        err(
            MPI_T_ERR_INVALID_NAME,
            format!("no category is named {name:?}"),
        )
    })
}

/// The indices of the items (given by their categories) that are in `c`.
fn members(items: impl Iterator<Item = Category>, c: Category) -> Vec<c_int> {
    items
        .enumerate()
        .filter(|&(_, x)| x == c)
        .map(|(i, _)| i as c_int)
        .collect()
}

pub fn category_cvars(i: c_int) -> MpiResult<Vec<c_int>> {
    Ok(members(cvar_list().map(|s| s.category), category(i)?))
}

pub fn category_pvars(i: c_int) -> MpiResult<Vec<c_int>> {
    Ok(members(PVARS.iter().map(|d| d.category), category(i)?))
}

/// Categories hold no sub-categories.
pub fn category_categories(i: c_int) -> MpiResult<Vec<c_int>> {
    category(i)?;
    Ok(Vec::new())
}

pub fn category_events(i: c_int) -> MpiResult<Vec<c_int>> {
    Ok(members(EVENTS.iter().map(|e| e.category), category(i)?))
}

/// `MPI_T_category_changed`: the variables and categories never change.
pub fn category_changed() -> MpiResult<c_int> {
    initialized()?;
    Ok(0)
}

// ---------------------------------------------------------------------------
// Event sources and events.

/// When the interface was first initialized: time zero of the clock source.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

#[derive(Debug)]
pub struct SourceInfo {
    pub name: &'static str,
    pub desc: &'static str,
    pub ordering: c_int,
    pub ticks_per_second: i64,
    pub max_ticks: i64,
}

pub fn source_num() -> MpiResult<usize> {
    initialized()?;
    Ok(1)
}

pub fn source_info(i: c_int) -> MpiResult<SourceInfo> {
    check_index(i, source_num()?, "source")?;
    Ok(SourceInfo {
        name: "monotonic_clock",
        desc: "The process's monotonic clock, in nanoseconds since the tool interface started.",
        ordering: MPI_T_SOURCE_ORDERED,
        ticks_per_second: 1_000_000_000,
        max_ticks: i64::MAX,
    })
}

pub fn source_timestamp(i: c_int) -> MpiResult<i64> {
    check_index(i, source_num()?, "source")?;
    Ok(now_ticks())
}

/// The clock source's reading now.
pub fn now_ticks() -> i64 {
    i64::try_from(epoch().elapsed().as_nanos()).unwrap_or(i64::MAX)
}

pub fn event_num() -> MpiResult<usize> {
    initialized()?;
    Ok(EVENTS.len())
}

/// What `MPI_T_event_get_info` reports.
pub struct EventInfo {
    pub name: &'static str,
    pub verbosity: c_int,
    pub elements: &'static [(MPI_Datatype, MPI_Aint)],
    pub desc: &'static str,
    pub bind: c_int,
}

pub fn event_info(i: c_int) -> MpiResult<EventInfo> {
    let e = &EVENTS[check_index(i, event_num()?, "event")?];
    Ok(EventInfo {
        name: e.name,
        verbosity: MPI_T_VERBOSITY_TUNER_BASIC,
        elements: e.elements,
        desc: e.doc,
        bind: MPI_T_BIND_NO_OBJECT,
    })
}

pub fn event_index(name: &str) -> MpiResult<usize> {
    initialized()?;
    EVENTS.iter().position(|e| e.name == name).ok_or_else(|| {
        err(
            MPI_T_ERR_INVALID_NAME,
            format!("no event is named {name:?}"),
        )
    })
}

/// `MPI_T_event_handle_alloc`: a registration for event `i`.
pub fn event_handle_alloc(i: c_int) -> MpiResult<usize> {
    let i = check_index(i, event_num()?, "event")?;
    Ok(events::alloc(i))
}

pub fn event_register(
    reg: usize,
    safety: c_int,
    cb: Option<Fn_MPI_T_event_cb_function>,
    user_data: usize,
) -> MpiResult<()> {
    initialized()?;
    events::register(reg, safety, cb, user_data)
}

/// Check a registration (and a safety level) for the info calls: no info
/// keys are defined, so what is set is accepted and an empty object reported.
pub fn event_check(reg: usize, safety: Option<c_int>) -> MpiResult<()> {
    initialized()?;
    events::check(reg, safety)
}

pub fn event_set_dropped_handler(
    reg: usize,
    h: Option<Fn_MPI_T_event_dropped_cb_function>,
) -> MpiResult<()> {
    initialized()?;
    events::set_dropped_handler(reg, h)
}

pub fn event_handle_free(
    reg: usize,
    user_data: usize,
    free_cb: Option<Fn_MPI_T_event_free_cb_function>,
) -> MpiResult<()> {
    initialized()?;
    events::free(reg, user_data, free_cb)
}

pub fn event_read(instance: usize, element: c_int) -> MpiResult<Vec<u8>> {
    initialized()?;
    events::read(instance, element)
}

pub fn event_copy(instance: usize) -> MpiResult<Vec<u8>> {
    initialized()?;
    events::copy(instance)
}

pub fn event_timestamp(instance: usize) -> MpiResult<i64> {
    initialized()?;
    events::timestamp(instance)
}

pub fn event_source(instance: usize) -> MpiResult<c_int> {
    initialized()?;
    events::source(instance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cvar_reads_and_indices_round_trip() {
        init(MPI_THREAD_SINGLE).unwrap();
        for i in 0..cvar_num().unwrap() {
            let info = cvar_info(i as c_int).unwrap();
            assert_eq!(cvar_index(info.name).unwrap(), i);
            let (h, n) = cvar_handle_alloc(i as c_int).unwrap();
            assert_eq!(n, 1);
            cvar_read(h).unwrap();
            cvar_handle_free(h).unwrap();
            assert_eq!(
                cvar_handle_free(h).unwrap_err().code,
                MPI_T_ERR_INVALID_HANDLE
            );
        }
        assert_eq!(cvar_info(-1).unwrap_err().code, MPI_T_ERR_INVALID_INDEX);
        assert_eq!(cvar_index("nope").unwrap_err().code, MPI_T_ERR_INVALID_NAME);
        finalize().unwrap();
    }

    #[test]
    fn counters_accumulate_only_while_started() {
        init(MPI_THREAD_SINGLE).unwrap();
        let s = pvar_session_create().unwrap();
        let i = pvar_index("bcast_split_used", MPI_T_PVAR_CLASS_COUNTER).unwrap();
        let (h, _) = pvar_handle_alloc(s, i as c_int).unwrap();
        let h = PvarTarget::One(h);
        coll::usage::BCAST_SPLIT.fetch_add(5, Ordering::Relaxed);
        assert_eq!(pvar_read(s, h).unwrap(), Value::U64(0));
        pvar_start(s, h).unwrap();
        coll::usage::BCAST_SPLIT.fetch_add(3, Ordering::Relaxed);
        pvar_stop(s, h).unwrap();
        coll::usage::BCAST_SPLIT.fetch_add(7, Ordering::Relaxed);
        assert_eq!(pvar_read(s, h).unwrap(), Value::U64(3));
        assert_eq!(pvar_readreset(s, h).unwrap(), Value::U64(3));
        assert_eq!(pvar_read(s, h).unwrap(), Value::U64(0));
        pvar_session_free(s).unwrap();
        assert_eq!(pvar_read(s, h).unwrap_err().code, MPI_T_ERR_INVALID_SESSION);
        finalize().unwrap();
    }
}
