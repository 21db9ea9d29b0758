//! A rank's doorbell: how a waiting rank sleeps and is woken.
//!
//! A bell is a futex word that may live in memory shared between processes
//! (the node segment of `shm`) or in this process (a rank alone on its node,
//! the in-process loopback transport). Whoever makes work for a rank rings
//! its bell; the rank's threads sleep on it when there is nothing to do.
//!
//! Invariant: a sleeper announces itself (`sleepers`), then checks for work,
//! then waits on `seq` with the value read before announcing. A waker
//! publishes its work, then (after a full fence, or holding a lock the
//! sleeper's check takes) reads `sleepers` and bumps `seq`. Either the
//! sleeper's check sees the work or the waker sees the sleeper, so no wake-up
//! is lost; the futex compares `seq` so a ring between check and wait is not
//! lost either.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering, fence};
use std::time::Duration;

/// A rank's doorbell: its threads sleep on `seq` while `sleepers` counts
/// them; anyone who makes work for the rank bumps `seq` and wakes them.
#[repr(C)]
pub struct Bell {
    seq: AtomicU32,
    sleepers: AtomicU32,
    /// The owning process (bells in the node segment: whose memory a
    /// single-copy read targets).
    pub(super) pid: AtomicI32,
    _pad: [u32; 13],
}

impl Bell {
    pub const fn new() -> Self {
        Bell {
            seq: AtomicU32::new(0),
            sleepers: AtomicU32::new(0),
            pid: AtomicI32::new(0),
            _pad: [0; 13],
        }
    }

    /// Wake every thread sleeping on this bell, if any.
    pub fn ring(&self) {
        // Pairs with the fence in `sleep`: either the sleeper sees the work
        // we published before this call, or we see it counted as asleep.
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            self.seq.fetch_add(1, Ordering::SeqCst);
            futex_wake(&self.seq);
        }
    }

    /// Like `ring`, without the fence, for a waker holding the lock that a
    /// sleeper takes (in `ready`) after announcing itself: the lock orders
    /// the two, so a sleeper that found no work is seen counted here.
    pub fn ring_locked(&self) {
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            self.seq.fetch_add(1, Ordering::SeqCst);
            futex_wake(&self.seq);
        }
    }

    /// Sleep until rung (or `timeout`), unless `ready()` says there is work
    /// after we announced ourselves as a sleeper.
    pub fn sleep(&self, timeout: Duration, ready: impl FnOnce() -> bool) {
        let seq = self.seq.load(Ordering::SeqCst);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !ready() {
            futex_wait(&self.seq, seq, timeout);
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Default for Bell {
    fn default() -> Self {
        Self::new()
    }
}

fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: the futex word is a live, 4-byte aligned atomic (in our own
    // memory or the mapped segment); the kernel only reads it. Not the
    // private variant: the word may be shared between processes.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: as in futex_wait; FUTEX_WAKE only uses the address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}
