//! The MPI calls of one-sided communication (each named by its C family
//! with `doc(alias)`, for the generated C face).

use super::access::{combine, element_type, packed};
use super::sync::{COMPLETE, POST, control_bytes, reached};
use super::{Epochs, Place, Target, WINDOWS, Window, agent, get};
use crate::core::args::{StrOut, new_handle};
use crate::core::attr::{self, AttrValue, Attrs, Lang, Object};
use crate::core::coll;
use crate::core::comm;
use crate::core::consts::*;
use crate::core::errhandler::{self, ObjKind, Slot};
use crate::core::error::{MpiError, MpiResult};
use crate::core::group;
use crate::core::info;
use crate::core::p2p::engine;
use crate::core::request::Status;
use crate::core::request::{REQUESTS, ReqKind, Request};
use crate::core::sched;
use crate::core::types::*;
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{Ordering::SeqCst, fence};

/// Window memory of the allocate flavours starts on this boundary.
const ALIGN: usize = 64;

fn rma_sync(what: impl Into<String>) -> MpiError {
    MpiError::new(MPI_ERR_RMA_SYNC, what)
}

/// The info keys a window keeps and reports back.
const KNOWN_KEYS: &[&str] = &[
    "no_locks",
    "accumulate_ordering",
    "accumulate_ops",
    "same_size",
    "same_disp_unit",
    "alloc_shared_noncontig",
];

fn known_info(info: MPI_Info) -> MpiResult<Vec<(String, String)>> {
    let given = if info == MPI_INFO_NULL {
        Vec::new()
    } else {
        info::get(info)?.pairs()
    };
    let mut out: Vec<(String, String)> = [
        ("no_locks", "false"),
        ("accumulate_ordering", "rar,raw,war,waw"),
        ("accumulate_ops", "same_op_no_op"),
        ("same_size", "false"),
        ("same_disp_unit", "false"),
        ("alloc_shared_noncontig", "false"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in given {
        if let Some(slot) = out.iter_mut().find(|(key, _)| *key == k) {
            slot.1 = v;
        } else if k.starts_with("mpi_assert_") || KNOWN_KEYS.contains(&k.as_str()) {
            out.push((k, v));
        }
    }
    Ok(out)
}

/// What the members tell each other when a window is made.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Member {
    size: i64,
    disp_unit: i64,
    addr: u64,
    key: u64,
    /// 1 if this member reaches every other member's memory by
    /// single-copy access.
    reach: u64,
}

/// Make a window over `comm`: collective. `own` is this member's memory
/// for `MPI_Win_create` (address), `None` for the other flavours.
pub(crate) fn make(
    comm: MPI_Comm,
    info: MPI_Info,
    flavor: c_int,
    size: i64,
    disp_unit: i64,
    own: Option<usize>,
) -> MpiResult<(MPI_Win, usize)> {
    let parent = comm::get(comm)?;
    comm::intra_only(&parent, "windows over")?;
    if size < 0 {
        return Err(MpiError::new(
            MPI_ERR_SIZE,
            format!("negative window size {size}"),
        ));
    }
    if disp_unit <= 0 && flavor != MPI_WIN_FLAVOR_DYNAMIC {
        return Err(MpiError::new(
            MPI_ERR_DISP,
            format!("displacement unit {disp_unit} is not positive"),
        ));
    }
    let hints = known_info(info)?;
    let noncontig = hints
        .iter()
        .any(|(k, v)| k == "alloc_shared_noncontig" && v == "true");
    let c = comm::get(comm::dup(&parent)?)?;
    let n = c.size as usize;
    let me = c.rank as usize;
    let world: Vec<usize> = (0..n).map(|r| c.group.world(r)).collect();

    // Members on other hosts are served by their window servers (`far`);
    // the members on each host share a segment.
    let spread = coll::spans_hosts(&c);
    if spread && flavor == MPI_WIN_FLAVOR_SHARED {
        return Err(MpiError::new(
            MPI_ERR_RMA_SHARED,
            "MPI_Win_allocate_shared over a communicator whose members are on several hosts, \
             which share no memory",
        ));
    }
    let hosts = if spread {
        comm::host_colors(&c)?
    } else {
        vec![0; n]
    };
    let near = |r: usize| hosts[r] == hosts[me];

    // Memory a member brings is exposed through the transport that
    // reaches the others on its host.
    let mut mine = Member {
        size,
        disp_unit,
        ..Member::default()
    };
    if let Some(addr) = own {
        mine.addr = addr as u64;
        if let Some(t) = (0..n)
            .find(|&r| r != me && near(r))
            .and_then(|r| engine().transport_to(world[r]))
        {
            mine.key = t.expose(addr as u64, size as usize).map_err(|e| {
                MpiError::new(MPI_ERR_OTHER, format!("cannot expose window memory: {e}"))
            })?;
        }
    }
    mine.reach = (0..n).filter(|&r| r != me && near(r)).all(|r| {
        engine()
            .transport_to(world[r])
            .is_some_and(|t| t.single_copy())
    }) as u64;
    let mut all = vec![Member::default(); n];
    let each = std::mem::size_of::<Member>();
    let blocks: Vec<coll::Block> = (0..n).map(|r| (r * each, each)).collect();
    coll::allgatherv_blocking(
        &c,
        Some((&mine as *const Member as usize, each)),
        all.as_mut_ptr() as usize,
        &blocks,
    )?;

    // Window memory in the segment (allocate flavours): where each member
    // of this host has its part, after the control area.
    // Memory members of this host brought that some member of it cannot
    // reach itself is served by its owner's agent, through an area after
    // the control area.
    let ctl = control_bytes(n);
    let brought = flavor == MPI_WIN_FLAVOR_CREATE || flavor == MPI_WIN_FLAVOR_DYNAMIC;
    let agent_len = if brought && (0..n).any(|r| near(r) && all[r].reach == 0) {
        agent::agent_bytes(n)
    } else {
        0
    };
    let mut offsets = vec![0usize; n];
    let mut data = 0usize;
    if flavor == MPI_WIN_FLAVOR_ALLOCATE || flavor == MPI_WIN_FLAVOR_SHARED {
        for (r, m) in all.iter().enumerate().filter(|&(r, _)| near(r)) {
            offsets[r] = ctl + agent_len + data;
            let len = m.size as usize;
            data += if flavor == MPI_WIN_FLAVOR_SHARED && !noncontig {
                // Contiguous across members, as the standard's default.
                len
            } else {
                len.next_multiple_of(if noncontig { 4096 } else { ALIGN })
            };
        }
    }
    let seg = coll::host_segment(&c, ctl + agent_len + data.max(1), &hosts)?;
    let attached: agent::Regions = Arc::new(Mutex::new(match own {
        Some(addr) if size > 0 => vec![(addr, size as usize)],
        _ => Vec::new(),
    }));
    let agent_area = (agent_len > 0).then(|| agent::Area::new(seg.as_ptr() as usize + ctl, n));
    let agent = agent_area.map(|a| agent::Agent::start(a, me, world.clone(), attached.clone()));
    let base_of = |r: usize| seg.as_ptr() as usize + offsets[r];
    let targets: Vec<Target> = (0..n)
        .map(|r| {
            let m = all[r];
            let place = match flavor {
                _ if !near(r) => Place::Far,
                MPI_WIN_FLAVOR_ALLOCATE | MPI_WIN_FLAVOR_SHARED => Place::Mapped(base_of(r)),
                _ if r == me => Place::Mapped(m.addr as usize),
                _ => Place::Remote {
                    addr: m.addr,
                    key: m.key,
                },
            };
            Target {
                world: world[r],
                place,
                size: m.size,
                disp_unit: m.disp_unit,
            }
        })
        .collect();
    let base = match targets[me].place {
        Place::Mapped(b) if flavor != MPI_WIN_FLAVOR_DYNAMIC => b,
        _ => 0,
    };
    let handle = WINDOWS.insert_with(|handle| Window {
        handle,
        comm: c.clone(),
        rank: me,
        targets,
        flavor,
        agent: Mutex::new(agent),
        agent_area,
        agent_slot: Mutex::new(()),
        seg,
        attr_size: size,
        attr_disp_unit: disp_unit as c_int,
        attr_flavor: flavor,
        attr_model: MPI_WIN_UNIFIED,
        base,
        errhandler: Slot::new(MPI_ERRORS_ARE_FATAL),
        attrs: Attrs::default(),
        name: Mutex::new(String::new()),
        info: Mutex::new(hints),
        epochs: Mutex::new(Epochs {
            starts: vec![0; n],
            waits: vec![0; n],
            ..Epochs::default()
        }),
        attached,
        far_ids: Default::default(),
        server: Mutex::new(false),
    });
    if spread {
        // Collective from here: every member frees the window alike if
        // any server cannot start.
        let w = get(handle)?;
        let started = w.start_server();
        let failed = [c_int::from(started.is_err())];
        let mut any = [0 as c_int];
        let red = coll::Red {
            count: 1,
            dt: MPI_INT,
            size: 4,
            op: MPI_MAX,
        };
        coll::allreduce_blocking(&c, failed.as_ptr() as usize, any.as_mut_ptr() as usize, red)?;
        if any[0] != 0 {
            w.stop_server();
            WINDOWS.remove(handle);
            comm::free(c.handle)?;
            return Err(started.err().unwrap_or_else(|| {
                MpiError::new(
                    MPI_ERR_OTHER,
                    "another member could not start its window server",
                )
            }));
        }
    }
    Ok((handle, base))
}

#[doc(alias = "MPI_Win_create")]
pub fn win_create(
    base: usize,
    size: i64,
    disp_unit: i64,
    info: MPI_Info,
    comm: MPI_Comm,
    win: &mut MPI_Win,
) -> MpiResult<()> {
    if base == 0 && size > 0 {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "null base with a nonzero size",
        ));
    }
    new_handle(win, MPI_WIN_NULL, || {
        make(
            comm,
            info,
            MPI_WIN_FLAVOR_CREATE,
            size,
            disp_unit,
            Some(base),
        )
        .map(|w| w.0)
    })
}

#[doc(alias = "MPI_Win_allocate")]
pub fn win_allocate(
    size: i64,
    disp_unit: i64,
    info: MPI_Info,
    comm: MPI_Comm,
    baseptr: &mut usize,
    win: &mut MPI_Win,
) -> MpiResult<()> {
    new_handle(win, MPI_WIN_NULL, || {
        let (w, b) = make(comm, info, MPI_WIN_FLAVOR_ALLOCATE, size, disp_unit, None)?;
        *baseptr = b;
        Ok(w)
    })
}

#[doc(alias = "MPI_Win_allocate_shared")]
pub fn win_allocate_shared(
    size: i64,
    disp_unit: i64,
    info: MPI_Info,
    comm: MPI_Comm,
    baseptr: &mut usize,
    win: &mut MPI_Win,
) -> MpiResult<()> {
    new_handle(win, MPI_WIN_NULL, || {
        let (w, b) = make(comm, info, MPI_WIN_FLAVOR_SHARED, size, disp_unit, None)?;
        *baseptr = b;
        Ok(w)
    })
}

#[doc(alias = "MPI_Win_create_dynamic")]
pub fn win_create_dynamic(info: MPI_Info, comm: MPI_Comm, win: &mut MPI_Win) -> MpiResult<()> {
    new_handle(win, MPI_WIN_NULL, || {
        make(comm, info, MPI_WIN_FLAVOR_DYNAMIC, 0, 1, Some(0)).map(|w| w.0)
    })
}

#[doc(alias = "MPI_Win_attach")]
pub fn win_attach(win: MPI_Win, base: usize, size: i64) -> MpiResult<()> {
    let w = get(win)?;
    if w.flavor != MPI_WIN_FLAVOR_DYNAMIC {
        return Err(MpiError::new(
            MPI_ERR_RMA_FLAVOR,
            "MPI_Win_attach needs a dynamic window",
        ));
    }
    if size < 0 {
        return Err(MpiError::new(MPI_ERR_SIZE, format!("negative size {size}")));
    }
    w.attached.lock().push((base, size as usize));
    Ok(())
}

#[doc(alias = "MPI_Win_detach")]
pub fn win_detach(win: MPI_Win, base: usize) -> MpiResult<()> {
    let w = get(win)?;
    if w.flavor != MPI_WIN_FLAVOR_DYNAMIC {
        return Err(MpiError::new(
            MPI_ERR_RMA_FLAVOR,
            "MPI_Win_detach needs a dynamic window",
        ));
    }
    let mut a = w.attached.lock();
    let i = a.iter().position(|&(b, _)| b == base).ok_or_else(|| {
        MpiError::new(
            MPI_ERR_RMA_ATTACH,
            format!("no memory is attached at 0x{base:x}"),
        )
    })?;
    a.remove(i);
    Ok(())
}

#[doc(alias = "MPI_Win_free")]
pub fn win_free(win: &mut MPI_Win) -> MpiResult<()> {
    let w = get(*win)?;
    {
        let e = w.epochs.lock();
        if !e.locks.is_empty() || e.lock_all.is_some() || e.started.is_some() || e.posted.is_some()
        {
            return Err(rma_sync(
                "MPI_Win_free with an epoch still open on the window",
            ));
        }
    }
    // Every member's operations on this window are done when it gets here.
    let n = w.comm.size;
    sched::run(&w.comm, |s| coll::barrier(s, n))?;
    let result = w.attrs.delete_all(w.handle);
    // Nobody asks our agent or our server anything after the barrier.
    drop(w.agent.lock().take());
    w.stop_server();
    WINDOWS.remove(w.handle);
    comm::free(w.comm.handle)?;
    *win = MPI_WIN_NULL;
    result
}

#[doc(alias = "MPI_Win_shared_query")]
pub fn win_shared_query(
    win: MPI_Win,
    rank: c_int,
    size: &mut i64,
    disp_unit: &mut i64,
    baseptr: &mut usize,
) -> MpiResult<()> {
    let w = get(win)?;
    let n = w.size();
    let r = if rank == MPI_PROC_NULL {
        // The first member with memory.
        (0..n).find(|&r| w.targets[r].size > 0)
    } else if rank < 0 || rank as usize >= n {
        return Err(MpiError::new(MPI_ERR_RANK, format!("invalid rank {rank}")));
    } else {
        Some(rank as usize)
    };
    let shared = w.flavor == MPI_WIN_FLAVOR_SHARED || w.flavor == MPI_WIN_FLAVOR_ALLOCATE;
    (*size, *disp_unit, *baseptr) = match r {
        Some(r) if shared => {
            let t = w.targets[r];
            // A member without memory has no base address (NULL, as
            // callers test), but keeps its displacement unit.
            match t.place {
                Place::Mapped(b) if t.size > 0 => (t.size, t.disp_unit, b),
                _ => (0, t.disp_unit, 0),
            }
        }
        _ => (0, 0, 0),
    };
    Ok(())
}

#[doc(alias = "MPI_Win_get_group")]
pub fn win_get_group(win: MPI_Win, group: &mut MPI_Group) -> MpiResult<()> {
    *group = group::handle(get(win)?.comm.group.clone());
    Ok(())
}

#[doc(alias = "MPI_Win_set_info")]
pub fn win_set_info(win: MPI_Win, info: MPI_Info) -> MpiResult<()> {
    let w = get(win)?;
    let new = known_info(info)?;
    let mut cur = w.info.lock();
    for (k, v) in new {
        // Only what the call names changes.
        let given = info != MPI_INFO_NULL && info::get(info)?.get(&k)?.is_some();
        match cur.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) if given => slot.1 = v,
            None if given => cur.push((k, v)),
            _ => {}
        }
    }
    Ok(())
}

#[doc(alias = "MPI_Win_get_info")]
pub fn win_get_info(win: MPI_Win, info_used: &mut MPI_Info) -> MpiResult<()> {
    let pairs = get(win)?.info.lock().clone();
    *info_used = info::create(info::Info::from_pairs(pairs));
    Ok(())
}

#[doc(alias = "MPI_Win_set_name")]
pub fn win_set_name(win: MPI_Win, win_name: &str) -> MpiResult<()> {
    let w = get(win)?;
    *w.name.lock() = win_name
        .chars()
        .take(MPI_MAX_OBJECT_NAME as usize - 1)
        .collect();
    Ok(())
}

#[doc(alias = "MPI_Win_get_name")]
pub fn win_get_name(
    win: MPI_Win,
    mut win_name: StrOut<'_>,
    resultlen: &mut c_int,
) -> MpiResult<()> {
    // The null handle has a name too, as MPICH gives it.
    *resultlen = if win == MPI_WIN_NULL {
        win_name.write("MPI_WIN_NULL")
    } else {
        win_name.write(&get(win)?.name.lock())
    };
    Ok(())
}

#[doc(alias = "MPI_Win_create_keyval")]
pub fn win_create_keyval(
    win_copy_attr_fn: usize,
    win_delete_attr_fn: usize,
    win_keyval: &mut c_int,
    extra_state: usize,
) -> MpiResult<()> {
    *win_keyval = attr::create_keyval(
        Object::Win,
        win_copy_attr_fn,
        win_delete_attr_fn,
        extra_state,
    );
    Ok(())
}

#[doc(alias = "MPI_Win_free_keyval")]
pub fn win_free_keyval(win_keyval: &mut c_int) -> MpiResult<()> {
    attr::free_keyval(Object::Win, *win_keyval)?;
    *win_keyval = MPI_KEYVAL_INVALID;
    Ok(())
}

#[doc(alias = "MPI_Win_set_attr")]
pub fn win_set_attr(win: MPI_Win, win_keyval: c_int, attribute_val: usize) -> MpiResult<()> {
    win_set_attr_from(win, win_keyval, attribute_val, Lang::C)
}

/// Sets a window attribute from a program in `lang`'s binding.
pub fn win_set_attr_from(win: MPI_Win, win_keyval: c_int, val: usize, lang: Lang) -> MpiResult<()> {
    let w = get(win)?;
    if w.predefined_attr(win_keyval).is_some() {
        return Err(MpiError::new(
            MPI_ERR_KEYVAL,
            "predefined window attributes cannot be set",
        ));
    }
    w.attrs
        .set(Object::Win, win, win_keyval, AttrValue::new(val, lang))
}

#[doc(alias = "MPI_Win_get_attr")]
pub fn win_get_attr(
    win: MPI_Win,
    win_keyval: c_int,
    attribute_val: &mut usize,
    flag: &mut c_int,
) -> MpiResult<()> {
    let found = win_attr(win, win_keyval, Lang::C)?;
    *flag = found.is_some() as c_int;
    if let Some(v) = found {
        *attribute_val = v;
    }
    Ok(())
}

/// A window attribute as a program in `reader`'s binding sees it.
pub fn win_attr(win: MPI_Win, win_keyval: c_int, reader: Lang) -> MpiResult<Option<usize>> {
    let w = get(win)?;
    match w.predefined_attr(win_keyval) {
        Some(v) => Ok(Some(v)),
        None => w.attrs.get(Object::Win, win_keyval, reader),
    }
}

#[doc(alias = "MPI_Win_delete_attr")]
pub fn win_delete_attr(win: MPI_Win, win_keyval: c_int) -> MpiResult<()> {
    get(win)?.attrs.delete(Object::Win, win, win_keyval)
}

#[doc(alias = "MPI_Win_set_errhandler")]
pub fn win_set_errhandler(win: MPI_Win, errhandler: MPI_Errhandler) -> MpiResult<()> {
    let w = get(win)?;
    errhandler::check(errhandler, ObjKind::Win)?;
    w.errhandler.set(errhandler);
    Ok(())
}

#[doc(alias = "MPI_Win_get_errhandler")]
pub fn win_get_errhandler(win: MPI_Win, errhandler: &mut MPI_Errhandler) -> MpiResult<()> {
    *errhandler = get(win)?.errhandler.get_retained();
    Ok(())
}

// ---------------------------------------------------------------------------
// Synchronization

fn member(w: &Window, rank: c_int) -> MpiResult<Option<usize>> {
    if rank == MPI_PROC_NULL {
        return Ok(None);
    }
    if rank < 0 || rank as usize >= w.size() {
        return Err(MpiError::new(
            MPI_ERR_RANK,
            format!("invalid rank {rank} in a window of {} members", w.size()),
        ));
    }
    Ok(Some(rank as usize))
}

/// The window ranks of `group`'s members.
fn members(w: &Window, group: MPI_Group) -> MpiResult<Vec<usize>> {
    let g = group::get(group)?;
    (0..g.size())
        .map(|i| {
            w.comm.group.rank_of(g.world(i)).ok_or_else(|| {
                MpiError::new(
                    MPI_ERR_GROUP,
                    "the group names a process outside the window",
                )
            })
        })
        .collect()
}

#[doc(alias = "MPI_Win_fence")]
pub fn win_fence(assert: c_int, win: MPI_Win) -> MpiResult<()> {
    let w = get(win)?;
    {
        let e = w.epochs.lock();
        if !e.locks.is_empty() || e.lock_all.is_some() || e.started.is_some() || e.posted.is_some()
        {
            return Err(rma_sync(
                "MPI_Win_fence inside a passive-target or PSCW epoch",
            ));
        }
    }
    // Operations are complete when issued: the barrier alone separates
    // every member's epochs.
    fence(SeqCst);
    let n = w.comm.size;
    sched::run(&w.comm, |s| coll::barrier(s, n))?;
    fence(SeqCst);
    w.epochs.lock().fence = assert & MPI_MODE_NOSUCCEED == 0;
    Ok(())
}

#[doc(alias = "MPI_Win_lock")]
pub fn win_lock(lock_type: c_int, rank: c_int, assert: c_int, win: MPI_Win) -> MpiResult<()> {
    let w = get(win)?;
    let exclusive = match lock_type {
        MPI_LOCK_EXCLUSIVE => true,
        MPI_LOCK_SHARED => false,
        _ => {
            return Err(MpiError::new(
                MPI_ERR_LOCKTYPE,
                format!("invalid lock type {lock_type}"),
            ));
        }
    };
    let Some(t) = member(&w, rank)? else {
        return Ok(());
    };
    let take = assert & MPI_MODE_NOCHECK == 0;
    {
        let mut e = w.epochs.lock();
        if e.locks.contains_key(&t) || e.lock_all.is_some() {
            return Err(rma_sync(format!(
                "rank {rank} of this window is already locked"
            )));
        }
        if e.started.is_some() {
            return Err(rma_sync("MPI_Win_lock inside an MPI_Win_start epoch"));
        }
        // A passive-target epoch ends the fence's (MPI_Win_fence may have
        // opened one).
        e.fence = false;
        e.locks.insert(t, (lock_type, take));
    }
    if take {
        w.lock(t, exclusive)?;
    }
    Ok(())
}

#[doc(alias = "MPI_Win_unlock")]
pub fn win_unlock(rank: c_int, win: MPI_Win) -> MpiResult<()> {
    let w = get(win)?;
    let Some(t) = member(&w, rank)? else {
        return Ok(());
    };
    let (kind, taken) = w.epochs.lock().locks.remove(&t).ok_or_else(|| {
        rma_sync(format!(
            "MPI_Win_unlock of rank {rank}, which this process has not locked"
        ))
    })?;
    fence(SeqCst);
    if taken {
        w.unlock(t, kind == MPI_LOCK_EXCLUSIVE)?;
    }
    Ok(())
}

#[doc(alias = "MPI_Win_lock_all")]
pub fn win_lock_all(assert: c_int, win: MPI_Win) -> MpiResult<()> {
    let w = get(win)?;
    let take = assert & MPI_MODE_NOCHECK == 0;
    {
        let mut e = w.epochs.lock();
        if e.lock_all.is_some() || !e.locks.is_empty() {
            return Err(rma_sync(
                "MPI_Win_lock_all while a lock on this window is held",
            ));
        }
        if e.started.is_some() {
            return Err(rma_sync("MPI_Win_lock_all inside an MPI_Win_start epoch"));
        }
        e.fence = false;
        e.lock_all = Some(take);
    }
    if take {
        for t in 0..w.size() {
            w.lock(t, false)?;
        }
    }
    Ok(())
}

#[doc(alias = "MPI_Win_unlock_all")]
pub fn win_unlock_all(win: MPI_Win) -> MpiResult<()> {
    let w = get(win)?;
    let taken = w
        .epochs
        .lock()
        .lock_all
        .take()
        .ok_or_else(|| rma_sync("MPI_Win_unlock_all without MPI_Win_lock_all"))?;
    fence(SeqCst);
    if taken {
        for t in 0..w.size() {
            w.unlock(t, false)?;
        }
    }
    Ok(())
}

/// Flushes: operations are complete when issued, so a flush orders memory
/// and checks that a passive-target epoch is open.
fn flush_check(w: &Window, rank: Option<c_int>) -> MpiResult<()> {
    let e = w.epochs.lock();
    let open = match rank {
        Some(r) => match member(w, r)? {
            Some(t) => e.lock_all.is_some() || e.locks.contains_key(&t),
            None => true,
        },
        None => e.lock_all.is_some() || !e.locks.is_empty(),
    };
    drop(e);
    if !open {
        return Err(rma_sync("flush outside a passive-target epoch"));
    }
    fence(SeqCst);
    Ok(())
}

#[doc(alias = "MPI_Win_flush")]
pub fn win_flush(rank: c_int, win: MPI_Win) -> MpiResult<()> {
    flush_check(&*get(win)?, Some(rank))
}

#[doc(alias = "MPI_Win_flush_local")]
pub fn win_flush_local(rank: c_int, win: MPI_Win) -> MpiResult<()> {
    flush_check(&*get(win)?, Some(rank))
}

#[doc(alias = "MPI_Win_flush_all")]
pub fn win_flush_all(win: MPI_Win) -> MpiResult<()> {
    flush_check(&*get(win)?, None)
}

#[doc(alias = "MPI_Win_flush_local_all")]
pub fn win_flush_local_all(win: MPI_Win) -> MpiResult<()> {
    flush_check(&*get(win)?, None)
}

#[doc(alias = "MPI_Win_sync")]
pub fn win_sync(win: MPI_Win) -> MpiResult<()> {
    get(win)?;
    fence(SeqCst);
    Ok(())
}

#[doc(alias = "MPI_Win_post")]
pub fn win_post(group: MPI_Group, assert: c_int, win: MPI_Win) -> MpiResult<()> {
    let _ = assert;
    let w = get(win)?;
    let origins = members(&w, group)?;
    {
        let mut e = w.epochs.lock();
        if e.posted.is_some() {
            return Err(rma_sync("MPI_Win_post while an exposure epoch is open"));
        }
        e.fence = false;
        e.posted = Some(origins.clone());
    }
    fence(SeqCst);
    for &o in &origins {
        w.signal(POST, w.rank, o)?;
    }
    Ok(())
}

#[doc(alias = "MPI_Win_start")]
pub fn win_start(group: MPI_Group, assert: c_int, win: MPI_Win) -> MpiResult<()> {
    let w = get(win)?;
    let targets = members(&w, group)?;
    let wants: Vec<(usize, u32)> = {
        let mut e = w.epochs.lock();
        if e.started.is_some() || e.lock_all.is_some() || !e.locks.is_empty() {
            return Err(rma_sync("MPI_Win_start while an access epoch is open"));
        }
        e.fence = false;
        e.started = Some(targets.clone());
        targets
            .iter()
            .map(|&t| {
                e.starts[t] = e.starts[t].wrapping_add(1);
                (t, e.starts[t])
            })
            .collect()
    };
    if assert & MPI_MODE_NOCHECK == 0 {
        for (t, want) in wants {
            w.wait_count(t, w.post_count(t, w.rank), want);
        }
    }
    Ok(())
}

#[doc(alias = "MPI_Win_complete")]
pub fn win_complete(win: MPI_Win) -> MpiResult<()> {
    let w = get(win)?;
    let targets = w
        .epochs
        .lock()
        .started
        .take()
        .ok_or_else(|| rma_sync("MPI_Win_complete without MPI_Win_start"))?;
    fence(SeqCst);
    for t in targets {
        w.signal(COMPLETE, t, w.rank)?;
    }
    Ok(())
}

/// The completes an exposure epoch waits for: (origin, count to reach).
fn awaited(w: &Window, e: &Epochs) -> MpiResult<Vec<(usize, u32)>> {
    let origins = e
        .posted
        .as_ref()
        .ok_or_else(|| rma_sync("no exposure epoch (MPI_Win_post) is open"))?;
    let _ = w;
    Ok(origins
        .iter()
        .map(|&o| (o, e.waits[o].wrapping_add(1)))
        .collect())
}

#[doc(alias = "MPI_Win_wait")]
pub fn win_wait(win: MPI_Win) -> MpiResult<()> {
    let w = get(win)?;
    let wants = awaited(&w, &w.epochs.lock())?;
    for &(o, want) in &wants {
        w.wait_count(w.rank, w.complete_count(w.rank, o), want);
    }
    let mut e = w.epochs.lock();
    for (o, want) in wants {
        e.waits[o] = want;
    }
    e.posted = None;
    fence(SeqCst);
    Ok(())
}

#[doc(alias = "MPI_Win_test")]
pub fn win_test(win: MPI_Win, flag: &mut c_int) -> MpiResult<()> {
    let w = get(win)?;
    let mut e = w.epochs.lock();
    let wants = awaited(&w, &e)?;
    let done = wants
        .iter()
        .all(|&(o, want)| reached(w.complete_count(w.rank, o), want));
    if done {
        for (o, want) in wants {
            e.waits[o] = want;
        }
        e.posted = None;
        fence(SeqCst);
    } else {
        drop(e);
        engine().progress();
    }
    *flag = done as c_int;
    Ok(())
}

// ---------------------------------------------------------------------------
// Operations

/// The target of an operation, checked: `None` for `MPI_PROC_NULL`.
fn target(w: &Window, rank: c_int) -> MpiResult<Option<usize>> {
    let Some(t) = member(w, rank)? else {
        return Ok(None);
    };
    let e = w.epochs.lock();
    let open = e.fence
        || e.lock_all.is_some()
        || e.locks.contains_key(&t)
        || e.started.as_ref().is_some_and(|s| s.contains(&t));
    if !open {
        return Err(rma_sync(format!(
            "no access epoch to rank {rank} is open on this window (fence, MPI_Win_start or a lock)"
        )));
    }
    Ok(Some(t))
}

fn same_size(origin: usize, target: usize) -> MpiResult<()> {
    if origin != target {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            format!(
                "the origin has {origin} bytes of data and the target {target}: the type signatures differ"
            ),
        ));
    }
    Ok(())
}

fn datatype_width(dt: MPI_Datatype) -> MpiResult<usize> {
    Ok(crate::core::datatype::get(dt)?.size() as usize)
}

/// The single-element atomics take one predefined datatype.
fn predefined(datatype: MPI_Datatype, call: &str) -> MpiResult<()> {
    if element_type(datatype)? != datatype {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            format!("{call} takes a predefined datatype"),
        ));
    }
    Ok(())
}

/// Accumulate-kind operations: predefined operations only.
fn acc_op(op: MPI_Op, elem: Option<MPI_Datatype>) -> MpiResult<()> {
    if !(MPI_MAX..=MPI_NO_OP).contains(&op) {
        return Err(MpiError::new(
            MPI_ERR_OP,
            format!(
                "operation 0x{op:x} is not predefined; one-sided accumulates take predefined operations only"
            ),
        ));
    }
    elem.map_or(Ok(()), |elem| crate::core::op::validate(op, elem))
}

fn completed(win: &Window, request: &mut MPI_Request) {
    *request = REQUESTS.insert(Request::completed(
        ReqKind::Send,
        win.comm.handle,
        Status::empty(),
    ));
}

#[doc(alias = "MPI_Put")]
#[allow(clippy::too_many_arguments)]
pub fn put(
    origin_addr: usize,
    origin_count: i64,
    origin_datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    win: MPI_Win,
) -> MpiResult<()> {
    let w = get(win)?;
    let Some(t) = target(&w, target_rank)? else {
        return Ok(());
    };
    let origin = crate::core::datatype::MsgBuf::new(origin_addr, origin_count, origin_datatype)?;
    let span = w.span(t, target_disp, target_count, target_datatype)?;
    same_size(origin.bytes, span.bytes)?;
    w.store_from(&span, &origin)
}

#[doc(alias = "MPI_Rput")]
#[allow(clippy::too_many_arguments)]
pub fn rput(
    origin_addr: usize,
    origin_count: i64,
    origin_datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    win: MPI_Win,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    put(
        origin_addr,
        origin_count,
        origin_datatype,
        target_rank,
        target_disp,
        target_count,
        target_datatype,
        win,
    )?;
    completed(&*get(win)?, request);
    Ok(())
}

#[doc(alias = "MPI_Get")]
#[allow(clippy::too_many_arguments)]
pub fn get_(
    origin_addr: usize,
    origin_count: i64,
    origin_datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    win: MPI_Win,
) -> MpiResult<()> {
    let w = get(win)?;
    let Some(t) = target(&w, target_rank)? else {
        return Ok(());
    };
    let origin = crate::core::datatype::MsgBuf::new(origin_addr, origin_count, origin_datatype)?;
    let span = w.span(t, target_disp, target_count, target_datatype)?;
    same_size(origin.bytes, span.bytes)?;
    w.load_to(&span, &origin)
}

#[doc(alias = "MPI_Rget")]
#[allow(clippy::too_many_arguments)]
pub fn rget(
    origin_addr: usize,
    origin_count: i64,
    origin_datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    win: MPI_Win,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    get_(
        origin_addr,
        origin_count,
        origin_datatype,
        target_rank,
        target_disp,
        target_count,
        target_datatype,
        win,
    )?;
    completed(&*get(win)?, request);
    Ok(())
}

/// The one accumulate-kind operation the others are: element by element
/// with atomic instructions where `atomic` allows, otherwise under the
/// target's accumulate lock: read the target, hand the old value to
/// `result`, combine the origin in, write back.
#[allow(clippy::too_many_arguments)]
fn get_accumulate_on(
    w: &Window,
    origin: Option<(usize, i64, MPI_Datatype)>,
    result: Option<(usize, i64, MPI_Datatype)>,
    t: usize,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    op: MPI_Op,
) -> MpiResult<()> {
    let elem = element_type(target_datatype)?;
    let span = w.span(t, target_disp, target_count, target_datatype)?;
    // No element, no operation to check against its type.
    acc_op(op, (span.bytes > 0).then_some(elem))?;
    let data = match origin {
        Some((a, c, dt)) if op != MPI_NO_OP => {
            let (_, d) = packed(a, c, dt)?;
            same_size(d.len(), span.bytes)?;
            // No data, no signature to compare (a zero count may name any type).
            if !d.is_empty() && element_type(dt)? != elem {
                return Err(MpiError::new(
                    MPI_ERR_TYPE,
                    "origin and target elements differ",
                ));
            }
            Some(d)
        }
        _ => None,
    };
    let result = match result {
        Some((a, c, dt)) => {
            let r = crate::core::datatype::MsgBuf::new(a, c, dt)?;
            same_size(r.bytes, span.bytes)?;
            Some(r)
        }
        None => None,
    };
    let old = w.accumulate_at(&span, elem, op, data.as_deref(), result.is_some())?;
    if let (Some(r), Some(old)) = (&result, old) {
        r.unpack_from(&old);
    }
    Ok(())
}

impl Window {
    /// Combine packed `data` (`None`: `MPI_NO_OP`) into the span with `op`,
    /// atomically; the values before, packed, if `want_old`. A target on
    /// another host does it itself, asked.
    pub(crate) fn accumulate_at(
        &self,
        span: &super::access::Span,
        elem: MPI_Datatype,
        op: MPI_Op,
        data: Option<&[u8]>,
        want_old: bool,
    ) -> MpiResult<Option<Vec<u8>>> {
        let t = span.rank;
        if self.is_far(t) {
            return self.far_accumulate(span, elem, op, data, want_old);
        }
        if let Some(old) = self.atomic_update(t, span, elem, op, data)? {
            return Ok(want_old.then_some(old));
        }
        self.atomically(t, || {
            let needs_old = want_old || (op != MPI_REPLACE && data.is_some());
            let mut cur = if needs_old {
                self.load(span)?
            } else {
                vec![0; span.bytes]
            };
            let old = want_old.then(|| cur.clone());
            if let Some(d) = data {
                combine(op, elem, d, &mut cur)?;
                self.store(span, &cur)?;
            }
            Ok(old)
        })
    }

    /// Compare-and-swap of the span's one element of `elem`: the value
    /// before, packed. A target on another host does it itself, asked.
    pub(crate) fn compare_swap_at(
        &self,
        span: &super::access::Span,
        elem: MPI_Datatype,
        new: &[u8],
        cmp: &[u8],
    ) -> MpiResult<Vec<u8>> {
        let t = span.rank;
        if self.is_far(t) {
            return self.far_compare_swap(span, elem, new, cmp);
        }
        if let Some(old) = self.atomic_cas(t, span, elem, new, cmp) {
            return Ok(old);
        }
        self.atomically(t, || {
            let cur = self.load(span)?;
            if cur == cmp {
                self.store(span, new)?;
            }
            Ok(cur)
        })
    }
}

#[doc(alias = "MPI_Accumulate")]
#[allow(clippy::too_many_arguments)]
pub fn accumulate(
    origin_addr: usize,
    origin_count: i64,
    origin_datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    op: MPI_Op,
    win: MPI_Win,
) -> MpiResult<()> {
    let w = get(win)?;
    let Some(t) = target(&w, target_rank)? else {
        return Ok(());
    };
    let origin = Some((origin_addr, origin_count, origin_datatype));
    get_accumulate_on(
        &w,
        origin,
        None,
        t,
        target_disp,
        target_count,
        target_datatype,
        op,
    )
}

#[doc(alias = "MPI_Raccumulate")]
#[allow(clippy::too_many_arguments)]
pub fn raccumulate(
    origin_addr: usize,
    origin_count: i64,
    origin_datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    op: MPI_Op,
    win: MPI_Win,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    accumulate(
        origin_addr,
        origin_count,
        origin_datatype,
        target_rank,
        target_disp,
        target_count,
        target_datatype,
        op,
        win,
    )?;
    completed(&*get(win)?, request);
    Ok(())
}

#[doc(alias = "MPI_Get_accumulate")]
#[allow(clippy::too_many_arguments)]
pub fn get_accumulate(
    origin_addr: usize,
    origin_count: i64,
    origin_datatype: MPI_Datatype,
    result_addr: usize,
    result_count: i64,
    result_datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    op: MPI_Op,
    win: MPI_Win,
) -> MpiResult<()> {
    let w = get(win)?;
    let Some(t) = target(&w, target_rank)? else {
        return Ok(());
    };
    get_accumulate_on(
        &w,
        Some((origin_addr, origin_count, origin_datatype)),
        Some((result_addr, result_count, result_datatype)),
        t,
        target_disp,
        target_count,
        target_datatype,
        op,
    )
}

#[doc(alias = "MPI_Rget_accumulate")]
#[allow(clippy::too_many_arguments)]
pub fn rget_accumulate(
    origin_addr: usize,
    origin_count: i64,
    origin_datatype: MPI_Datatype,
    result_addr: usize,
    result_count: i64,
    result_datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    target_count: i64,
    target_datatype: MPI_Datatype,
    op: MPI_Op,
    win: MPI_Win,
    request: &mut MPI_Request,
) -> MpiResult<()> {
    get_accumulate(
        origin_addr,
        origin_count,
        origin_datatype,
        result_addr,
        result_count,
        result_datatype,
        target_rank,
        target_disp,
        target_count,
        target_datatype,
        op,
        win,
    )?;
    completed(&*get(win)?, request);
    Ok(())
}

#[doc(alias = "MPI_Fetch_and_op")]
#[allow(clippy::too_many_arguments)]
pub fn fetch_and_op(
    origin_addr: usize,
    result_addr: usize,
    datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    op: MPI_Op,
    win: MPI_Win,
) -> MpiResult<()> {
    predefined(datatype, "MPI_Fetch_and_op")?;
    // One aligned integer that takes atomic instructions: straight there.
    let w = get(win)?;
    if let Some(t) = target(&w, target_rank)?
        && let Some(addr) = w.atomic_element(t, target_disp, datatype)
        && result_addr != 0
        && (origin_addr != 0 || op == MPI_NO_OP)
    {
        acc_op(op, Some(datatype))?;
        let width = datatype_width(datatype)?;
        let mut val = vec![0u8; width];
        if op != MPI_NO_OP {
            // SAFETY: the origin buffer holds one element of `datatype`.
            unsafe {
                std::ptr::copy_nonoverlapping(origin_addr as *const u8, val.as_mut_ptr(), width)
            };
        }
        let old = super::atomic::update(addr, op, datatype, &val)?;
        // SAFETY: the result buffer holds one element of `datatype`.
        unsafe { std::ptr::copy_nonoverlapping(old.as_ptr(), result_addr as *mut u8, width) };
        return Ok(());
    }
    get_accumulate(
        origin_addr,
        1,
        datatype,
        result_addr,
        1,
        datatype,
        target_rank,
        target_disp,
        1,
        datatype,
        op,
        win,
    )
}

#[doc(alias = "MPI_Compare_and_swap")]
#[allow(clippy::too_many_arguments)]
pub fn compare_and_swap(
    origin_addr: usize,
    compare_addr: usize,
    result_addr: usize,
    datatype: MPI_Datatype,
    target_rank: c_int,
    target_disp: i64,
    win: MPI_Win,
) -> MpiResult<()> {
    let w = get(win)?;
    let Some(t) = target(&w, target_rank)? else {
        return Ok(());
    };
    predefined(datatype, "MPI_Compare_and_swap")?;
    if !crate::core::op::is_integral(datatype) {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            "MPI_Compare_and_swap takes an integer, logical or byte datatype",
        ));
    }
    let span = w.span(t, target_disp, 1, datatype)?;
    let (_, new) = packed(origin_addr, 1, datatype)?;
    let (_, cmp) = packed(compare_addr, 1, datatype)?;
    let result = crate::core::datatype::MsgBuf::new(result_addr, 1, datatype)?;
    let old = w.compare_swap_at(&span, datatype, &new, &cmp)?;
    result.unpack_from(&old);
    Ok(())
}
