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

/// Sleep until any of `bells` rings (or `timeout`), unless `ready()` says
/// there is work after we announced ourselves on all of them: the same
/// rule as [`Bell::sleep`], for a process that peers reach through several
/// segments (the node's, links to other jobs). Needs `futex_waitv`
/// (Linux 5.16); without it, naps on the first bell for at most 1 ms, so
/// rings on the others are seen late but never missed.
pub fn sleep_any(bells: &[&Bell], timeout: Duration, ready: impl FnOnce() -> bool) {
    if let [one] = bells {
        return one.sleep(timeout, ready);
    }
    let seqs: Vec<u32> = bells.iter().map(|b| b.seq.load(Ordering::SeqCst)).collect();
    for b in bells {
        b.sleepers.fetch_add(1, Ordering::SeqCst);
    }
    fence(Ordering::SeqCst);
    if !ready() && !futex_waitv(bells, &seqs, timeout) {
        futex_wait(
            &bells[0].seq,
            seqs[0],
            timeout.min(Duration::from_millis(1)),
        );
    }
    for b in bells {
        b.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `futex_waitv` on every bell's `seq`; false if the kernel lacks it.
fn futex_waitv(bells: &[&Bell], seqs: &[u32], timeout: Duration) -> bool {
    /// The kernel's `struct futex_waitv`.
    #[repr(C)]
    struct Waiter {
        val: u64,
        uaddr: u64,
        flags: u32,
        reserved: u32,
    }
    const FUTEX2_SIZE_U32: u32 = 2;
    let waiters: Vec<Waiter> = bells
        .iter()
        .zip(seqs)
        .map(|(b, &v)| Waiter {
            val: u64::from(v),
            uaddr: b.seq.as_ptr() as u64,
            flags: FUTEX2_SIZE_U32,
            reserved: 0,
        })
        .collect();
    // SAFETY: clock_gettime fills the timespec we own.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let end = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32) + timeout;
    let ts = libc::timespec {
        tv_sec: end.as_secs() as libc::time_t,
        tv_nsec: end.subsec_nanos() as libc::c_long,
    };
    // SAFETY: every address is a live 4-byte aligned futex word of a bell
    // the caller holds; the kernel only reads the array and the timeout.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            waiters.as_ptr(),
            waiters.len() as u32,
            0u32,
            &ts as *const libc::timespec,
            libc::CLOCK_MONOTONIC,
        )
    };
    rc >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
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
