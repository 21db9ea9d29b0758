//! The window segment's control area and the waits on it: per target a
//! fair reader-writer lock (passive target) and a fair mutex (accumulates),
//! per pair of members the post and complete counters of
//! post-start-complete-wait.
//!
//! Protocol: a waiter counts itself in its target's `waiting` before it
//! first checks, then waits in the engine (which sleeps on this process's
//! bell). A releaser makes its change with a sequentially consistent
//! operation, then reads `waiting` and, if anyone waits, rings every
//! member's bell. In the single order of those operations either the
//! waiter's check sees the change or the releaser sees the waiter, and the
//! bell's own protocol loses no ring between check and sleep.

use super::Window;
use crate::core::error::MpiResult;
use crate::core::p2p::engine;
use crate::core::shmcoll;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst, fence};

/// One target's locks, 64 bytes in the segment.
#[repr(C, align(64))]
pub(crate) struct TargetCtl {
    /// Passive-target lock tickets taken: readers in the low half,
    /// writers in the high half (each wrapping on its own).
    lock_taken: AtomicU64,
    /// Tickets returned, the same way.
    lock_done: AtomicU64,
    /// Accumulate lock: tickets taken and now served.
    acc_next: AtomicU32,
    acc_serving: AtomicU32,
    /// Processes waiting for one of this target's locks or counters.
    waiting: AtomicU32,
}

const CTL: usize = std::mem::size_of::<TargetCtl>();
const _: () = assert!(CTL == 64);

/// Bytes of the control area for `n` members (a multiple of the page).
pub(crate) fn control_bytes(n: usize) -> usize {
    (n * CTL + 2 * n * n * 4).next_multiple_of(4096)
}

const HALF: u64 = 1 << 32;

/// Which PSCW counter (`Window::counter`).
pub(crate) const POST: usize = 0;
pub(crate) const COMPLETE: usize = 1;

/// Add one to the low (`reader`) or high half of `word`, each half
/// wrapping on its own; the value before.
fn bump(word: &AtomicU64, reader: bool) -> u64 {
    let mut cur = word.load(SeqCst);
    loop {
        let (lo, hi) = (cur as u32, (cur >> 32) as u32);
        let new = if reader {
            u64::from(lo.wrapping_add(1)) | (u64::from(hi) << 32)
        } else {
            u64::from(lo) | (u64::from(hi.wrapping_add(1)) << 32)
        };
        match word.compare_exchange_weak(cur, new, SeqCst, SeqCst) {
            Ok(_) => return cur,
            Err(c) => cur = c,
        }
    }
}

impl Window {
    pub(crate) fn ctl(&self, t: usize) -> &TargetCtl {
        assert!(t < self.size());
        // SAFETY: the control area starts the segment (page aligned) and
        // holds `size()` of these, 64-byte aligned; every field is atomic.
        unsafe { &*(self.seg.as_ptr().add(t * CTL) as *const TargetCtl) }
    }

    /// PSCW counters: `post(t, o)` counts the exposure epochs target `t`
    /// opened to origin `o`; `complete(t, o)` the access epochs `o` closed
    /// on `t`.
    pub(crate) fn counter(&self, which: usize, t: usize, o: usize) -> &AtomicU32 {
        let n = self.size();
        assert!(t < n && o < n);
        let off = n * CTL + (which * n * n + t * n + o) * 4;
        // SAFETY: within the control area (see `control_bytes`), 4-byte
        // aligned, accessed only atomically.
        unsafe { &*(self.seg.as_ptr().add(off) as *const AtomicU32) }
    }

    pub(crate) fn post_count(&self, t: usize, o: usize) -> &AtomicU32 {
        self.counter(POST, t, o)
    }

    pub(crate) fn complete_count(&self, t: usize, o: usize) -> &AtomicU32 {
        self.counter(COMPLETE, t, o)
    }

    /// Wake member `r`'s sleeping threads.
    pub(crate) fn ring(&self, r: usize) {
        ring_world(self.targets[r].world);
    }

    /// After a change others on target `t`'s locks may wait for.
    fn released(&self, t: usize) {
        fence(SeqCst);
        if self.ctl(t).waiting.load(SeqCst) > 0 {
            for r in 0..self.size() {
                self.ring(r);
            }
        }
    }

    /// Wait (sleeping, never spinning long) until `ready()`, counted as a
    /// waiter on target `t`.
    pub(crate) fn wait_on(&self, t: usize, ready: impl Fn() -> bool) {
        if ready() {
            return;
        }
        let ctl = self.ctl(t);
        ctl.waiting.fetch_add(1, SeqCst);
        engine().wait_until(&ready);
        ctl.waiting.fetch_sub(1, SeqCst);
    }

    /// Take target `t`'s passive-target lock, shared or exclusive, in
    /// arrival order (a target on another host takes it itself, asked).
    pub(crate) fn lock(&self, t: usize, exclusive: bool) -> MpiResult<()> {
        if self.is_far(t) {
            return self.far_lock(t, true, exclusive);
        }
        let ticket = self.take_ticket(t, exclusive);
        self.wait_on(t, || self.lock_ready(t, ticket, exclusive));
        Ok(())
    }

    /// A ticket for target `t`'s passive-target lock (served in order).
    pub(crate) fn take_ticket(&self, t: usize, exclusive: bool) -> u64 {
        bump(&self.ctl(t).lock_taken, !exclusive)
    }

    /// Is the lock of `ticket` on target `t` held now?
    pub(crate) fn lock_ready(&self, t: usize, ticket: u64, exclusive: bool) -> bool {
        let done = self.ctl(t).lock_done.load(SeqCst);
        if exclusive {
            // Every ticket before ours, readers and writers, returned.
            done == ticket
        } else {
            // Every writer before us done.
            done / HALF == ticket / HALF
        }
    }

    pub(crate) fn unlock(&self, t: usize, exclusive: bool) -> MpiResult<()> {
        if self.is_far(t) {
            return self.far_lock(t, false, exclusive);
        }
        bump(&self.ctl(t).lock_done, !exclusive);
        self.released(t);
        Ok(())
    }

    /// Count target `t`'s lock waiters up (waiting for a lock on behalf of
    /// another host) or down, so releasers ring our bell meanwhile.
    pub(crate) fn count_waiter(&self, t: usize, up: bool) {
        if up {
            self.ctl(t).waiting.fetch_add(1, SeqCst);
        } else {
            self.ctl(t).waiting.fetch_sub(1, SeqCst);
        }
    }

    /// Run `f` holding target `t`'s accumulate lock.
    pub(crate) fn atomically<R>(&self, t: usize, f: impl FnOnce() -> R) -> R {
        let ctl = self.ctl(t);
        let mine = ctl.acc_next.fetch_add(1, SeqCst);
        self.wait_on(t, || ctl.acc_serving.load(SeqCst) == mine);
        let r = f();
        ctl.acc_serving.fetch_add(1, SeqCst);
        self.released(t);
        r
    }

    /// Count one more post (`POST`: target `t` opened an exposure epoch to
    /// origin `o`) or complete (`COMPLETE`: `o` closed its access epoch on
    /// `t`) and wake the member that waits for it (`o`, or `t`). The
    /// counter lives on the waiter's host: one on another host counts it
    /// itself, asked.
    pub(crate) fn signal(&self, which: usize, t: usize, o: usize) -> MpiResult<()> {
        let to = if which == POST { o } else { t };
        if self.is_far(to) {
            return self.far_signal(to, which, t, o);
        }
        self.counter(which, t, o).fetch_add(1, SeqCst);
        fence(SeqCst);
        self.ring(to);
        Ok(())
    }

    /// Wait until counter `c` reaches `want` (wrapping).
    pub(crate) fn wait_count(&self, t: usize, c: &AtomicU32, want: u32) {
        self.wait_on(t, || reached(c, want));
    }
}

/// Counter `c` is at `want` or past it (wrapping).
pub(crate) fn reached(c: &AtomicU32, want: u32) -> bool {
    (c.load(SeqCst).wrapping_sub(want) as i32) >= 0
}

/// Wake the sleeping threads of the process of world rank `world`.
pub(crate) fn ring_world(world: usize) {
    match shmcoll::node().and_then(|n| n.local(world).map(|l| (n, l))) {
        Some((node, local)) => node.ring_bell(local),
        None => engine().wake(),
    }
}
