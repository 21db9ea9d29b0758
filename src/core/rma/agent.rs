//! The progress agent: a thread of the target process that reads and
//! writes the target's window memory for origins that cannot reach it
//! themselves (memory a member brought, `MPI_Win_create` or a dynamic
//! window, where single-copy access between the processes is forbidden).
//! It sleeps on its bell in the window's segment until asked, never spins,
//! and needs nothing from the target's own threads.
//!
//! The agent area of the segment (present only on windows that need it):
//! per member the bell its agent sleeps on, then per member (as origin)
//! one request slot: a header and `slot_bytes(n)` of data (512 KiB for a
//! few members, less for many, so the area stays near 8 MiB). An origin
//! asks one piece at a time, at most a slot, in its own slot.
//!
//! Protocol and invariants:
//! - Only the origin writes its slot's header and data while the state is
//!   `IDLE`; it publishes them with the state `ASKED` (release) and rings
//!   the target's agent bell. Only the target's agent, having seen `ASKED`
//!   (acquire) with its own rank in `target`, touches the slot next; it
//!   publishes the result with `DONE` (release) and rings the origin's
//!   process bell. The origin reads the result after seeing `DONE`
//!   (acquire) and returns the slot to `IDLE`. So the slot's data has one
//!   writer at a time.
//! - The agent serves only addresses inside the memory its process
//!   exposes on the window (the `MPI_Win_create` buffer, or the regions
//!   attached to a dynamic window); anything else is answered with an
//!   error, never touched.
//! - The bell's own protocol (`transport::bell`) loses no ring between the
//!   agent's check for work and its sleep.

use super::Window;
use crate::core::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::transport::bell::Bell;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::thread::JoinHandle;
use std::time::Duration;

/// Data bytes of one request slot with `n` members: large pieces mean
/// few round trips through the agent; the area is bounded all the same.
fn slot_bytes(n: usize) -> usize {
    ((8 << 20) / n.max(1)).clamp(32 << 10, 512 << 10) / 4096 * 4096
}
const BELL: usize = std::mem::size_of::<Bell>();
const HEAD: usize = 64;

const IDLE: u32 = 0;
const ASKED: u32 = 1;
const DONE: u32 = 2;

#[repr(C, align(64))]
struct Head {
    state: AtomicU32,
    target: AtomicU32,
    /// 1: write the data at `addr`; 0: read `len` bytes from it.
    write: AtomicU32,
    /// The agent's answer: 0, or the error class.
    status: AtomicU32,
    addr: AtomicU64,
    len: AtomicU64,
}
const _: () = assert!(std::mem::size_of::<Head>() == HEAD && BELL == 64);

/// Bytes of the agent area for `n` members.
pub(crate) fn agent_bytes(n: usize) -> usize {
    n * BELL + n * (HEAD + slot_bytes(n))
}

/// Where the agent area is, as seen from one process.
#[derive(Clone, Copy)]
pub(crate) struct Area {
    at: usize,
    n: usize,
}

impl Area {
    pub(crate) fn new(at: usize, n: usize) -> Area {
        Area { at, n }
    }

    fn bell(&self, t: usize) -> &Bell {
        assert!(t < self.n);
        // SAFETY: the agent area lies in the window's mapped segment (which
        // outlives every user of it: the agent is joined before the segment
        // is unmapped); bells are 64-byte aligned and all-atomic.
        unsafe { &*((self.at + t * BELL) as *const Bell) }
    }

    fn slot(&self, o: usize) -> (&Head, *mut u8) {
        assert!(o < self.n);
        let at = self.at + self.n * BELL + o * (HEAD + slot_bytes(self.n));
        // SAFETY: as in `bell`; the header is all-atomic, the data is used
        // by one side at a time (the module's protocol).
        (unsafe { &*(at as *const Head) }, (at + HEAD) as *mut u8)
    }
}

/// The memory this process exposes on a window: what its agent may touch.
pub(crate) type Regions = Arc<Mutex<Vec<(usize, usize)>>>;

/// Do the regions (address, bytes), taken together, cover `[a, z)`?
/// Regions attached side by side hold an access that crosses from one to
/// the next.
pub(crate) fn covers(regions: &[(usize, usize)], a: i64, z: i64) -> bool {
    let mut sorted: Vec<(i64, i64)> = regions
        .iter()
        .map(|&(base, len)| (base as i64, base as i64 + len as i64))
        .collect();
    sorted.sort_unstable();
    let mut reached = a;
    for (b, e) in sorted {
        if b <= reached && e > reached {
            reached = e;
        }
    }
    reached >= z
}

/// A running agent: stopped and joined when the window is freed.
pub(crate) struct Agent {
    stop: Arc<AtomicBool>,
    area: Area,
    me: usize,
    thread: Option<JoinHandle<()>>,
}

impl Agent {
    /// Start the agent of member `me`; `worlds` are the members' world
    /// ranks (whose bells it rings).
    pub(crate) fn start(area: Area, me: usize, worlds: Vec<usize>, regions: Regions) -> Agent {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("oxmpi-rma-agent".into())
            .spawn(move || serve(area, me, &worlds, &regions, &flag))
            .ok();
        Agent {
            stop,
            area,
            me,
            thread,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
        self.area.bell(self.me).ring();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn asked_of(area: &Area, me: usize) -> impl Iterator<Item = usize> + '_ {
    (0..area.n).filter(move |&o| {
        let (h, _) = area.slot(o);
        h.state.load(SeqCst) == ASKED && h.target.load(SeqCst) as usize == me
    })
}

fn serve(area: Area, me: usize, worlds: &[usize], regions: &Regions, stop: &AtomicBool) {
    while !stop.load(SeqCst) {
        let mut served = false;
        for (o, &world) in worlds.iter().enumerate() {
            let (h, data) = area.slot(o);
            if h.state.load(SeqCst) != ASKED || h.target.load(SeqCst) as usize != me {
                continue;
            }
            let (addr, len) = (h.addr.load(SeqCst) as usize, h.len.load(SeqCst) as usize);
            let inside = len <= slot_bytes(area.n)
                && addr
                    .checked_add(len)
                    .is_some_and(|e| covers(&regions.lock(), addr as i64, e as i64));
            if inside {
                // SAFETY: `[addr, addr + len)` is window memory this process
                // exposes (checked above); the slot's data is ours until we
                // say DONE.
                unsafe {
                    if h.write.load(SeqCst) == 1 {
                        std::ptr::copy(data, addr as *mut u8, len);
                    } else {
                        std::ptr::copy(addr as *const u8, data, len);
                    }
                }
                h.status.store(0, SeqCst);
            } else {
                h.status.store(MPI_ERR_RMA_RANGE as u32, SeqCst);
            }
            h.state.store(DONE, SeqCst);
            super::sync::ring_world(world);
            served = true;
        }
        if !served {
            area.bell(me).sleep(Duration::from_secs(1), || {
                stop.load(SeqCst) || asked_of(&area, me).next().is_some()
            });
        }
    }
}

/// One request's direction and bytes.
pub(crate) enum Io<'a> {
    Write(&'a [u8]),
    Read(&'a mut [u8]),
}

impl Window {
    /// Write or read the bytes at `addr` of member `t` through its agent,
    /// in pieces of at most a slot.
    pub(crate) fn through_agent(&self, t: usize, addr: u64, mut io: Io<'_>) -> MpiResult<()> {
        let Some(area) = self.agent_area else {
            return Err(MpiError::new(MPI_ERR_INTERN, "no agent serves this window"));
        };
        let total = match &io {
            Io::Write(d) => d.len(),
            Io::Read(o) => o.len(),
        };
        // One request at a time from this process (threads share the slot).
        let _mine = self.agent_slot.lock();
        let (h, data) = area.slot(self.rank);
        let mut done = 0;
        while done < total {
            let len = (total - done).min(slot_bytes(area.n));
            let at = addr + done as u64;
            if let Io::Write(d) = &io {
                // SAFETY: the slot is IDLE and ours (module protocol).
                unsafe { std::ptr::copy_nonoverlapping(d[done..].as_ptr(), data, len) };
            }
            h.target.store(t as u32, SeqCst);
            h.write.store(matches!(io, Io::Write(_)) as u32, SeqCst);
            h.addr.store(at, SeqCst);
            h.len.store(len as u64, SeqCst);
            h.state.store(ASKED, SeqCst);
            area.bell(t).ring();
            self.wait_on(t, || h.state.load(SeqCst) == DONE);
            let status = h.status.load(SeqCst);
            if let Io::Read(o) = &mut io
                && status == 0
            {
                // SAFETY: DONE: the agent wrote the data and let go.
                unsafe { std::ptr::copy_nonoverlapping(data, o[done..].as_mut_ptr(), len) };
            }
            h.state.store(IDLE, SeqCst);
            if status != 0 {
                return Err(MpiError::new(
                    status as i32,
                    format!("address 0x{at:x} and {len} bytes are not window memory of rank {t}"),
                ));
            }
            done += len;
        }
        Ok(())
    }
}
