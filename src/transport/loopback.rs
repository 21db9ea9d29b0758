//! The in-process loopback transport (tests only): N ranks that are
//! threads of one process (or one thread driving N engines in turn), so the
//! point-to-point engine can be tested over real channels with
//! `cargo test`.
//!
//! A fabric holds one bounded FIFO of records per ordered pair of ranks and
//! a bell per rank, and behaves like a transport between processes:
//! - a full channel refuses a record (`try_send` false) and the writer asks
//!   to be rung when the reader drains it (`want_space`), as with `shm`;
//! - single-copy access reads and writes the peer's memory directly (it is
//!   our own address space), but only inside a range the peer exposed,
//!   under the key it was given, so the engine's key handling is checked;
//! - single-copy can be switched off, or made to fail when tried, to drive
//!   the engine down its streaming fallback.

use super::bell::Bell;
use super::{Header, Transport};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How a fabric behaves.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Records a channel holds before it refuses more.
    pub capacity: usize,
    /// Largest payload of one record.
    pub max_inline: usize,
    /// `single_copy()` answers yes.
    pub single_copy: bool,
    /// Single-copy reads fail anyway (as when the kernel refuses them).
    pub refuse_reads: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            capacity: 64,
            max_inline: 4096,
            single_copy: true,
            refuse_reads: false,
        }
    }
}

struct Record {
    hdr: Header,
    payload: Vec<u8>,
}

struct Fabric {
    n: usize,
    opts: Options,
    /// Channel `from * n + to`.
    chans: Vec<Mutex<VecDeque<Record>>>,
    /// The writer of channel `from * n + to` waits for space in it.
    want: Vec<AtomicBool>,
    bells: Vec<Bell>,
    /// Exposed memory of each rank: key -> (address, length).
    exposed: Vec<Mutex<FxHashMap<u64, (u64, usize)>>>,
    next_key: AtomicU64,
}

/// One rank's end of a fabric.
pub struct Loopback {
    fabric: Arc<Fabric>,
    me: usize,
}

/// A fabric of `n` ranks; element `i` is rank `i`'s transport.
pub fn fabric(n: usize, opts: Options) -> Vec<Arc<Loopback>> {
    let fabric = Arc::new(Fabric {
        n,
        opts,
        chans: (0..n * n).map(|_| Mutex::new(VecDeque::new())).collect(),
        want: (0..n * n).map(|_| AtomicBool::new(false)).collect(),
        bells: (0..n).map(|_| Bell::new()).collect(),
        exposed: (0..n).map(|_| Mutex::new(FxHashMap::default())).collect(),
        next_key: AtomicU64::new(1),
    });
    (0..n)
        .map(|me| {
            Arc::new(Loopback {
                fabric: fabric.clone(),
                me,
            })
        })
        .collect()
}

impl Loopback {
    /// Memory ranges this rank has exposed and not yet concealed.
    pub fn exposed(&self) -> usize {
        self.fabric.exposed[self.me].lock().len()
    }

    /// Check that `peer` exposed `len` bytes at `addr` under `key`.
    fn check(&self, peer: usize, addr: u64, key: u64, len: usize) -> io::Result<()> {
        let exposed = self.fabric.exposed[peer].lock();
        match exposed.get(&key) {
            Some(&(a, l)) if addr >= a && addr + len as u64 <= a + l as u64 => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("rank {peer} did not expose {len} bytes at {addr:#x} under key {key}"),
            )),
        }
    }
}

impl Transport for Loopback {
    fn name(&self) -> &'static str {
        "loopback"
    }

    fn reaches(&self, peer: usize) -> bool {
        peer < self.fabric.n && peer != self.me
    }

    fn max_inline(&self) -> usize {
        self.fabric.opts.max_inline
    }

    fn try_send(&self, peer: usize, hdr: &Header, payload: &[u8]) -> bool {
        assert!(payload.len() <= self.max_inline() && hdr.len as usize == payload.len());
        let f = &self.fabric;
        {
            let mut ch = f.chans[self.me * f.n + peer].lock();
            if ch.len() >= f.opts.capacity {
                return false;
            }
            ch.push_back(Record {
                hdr: *hdr,
                payload: payload.to_vec(),
            });
        }
        f.bells[peer].ring();
        true
    }

    fn want_space(&self, peer: usize, on: bool) {
        let f = &self.fabric;
        f.want[self.me * f.n + peer].store(on, Ordering::SeqCst);
    }

    fn poll(&self, f: &mut dyn FnMut(usize, &Header, &[u8])) -> usize {
        let fab = &self.fabric;
        let mut handled = 0;
        for from in (0..fab.n).filter(|&r| r != self.me) {
            let at = from * fab.n + self.me;
            let mut drained = false;
            // One record at a time, with the channel unlocked while it is
            // handled: handling may send to `from`, whose own poll may be
            // sending to us.
            loop {
                let next = fab.chans[at].lock().pop_front();
                let Some(r) = next else { break };
                f(from, &r.hdr, &r.payload);
                handled += 1;
                drained = true;
            }
            if drained && fab.want[at].load(Ordering::SeqCst) {
                fab.bells[from].ring();
            }
        }
        handled
    }

    fn single_copy(&self) -> bool {
        self.fabric.opts.single_copy
    }

    fn expose(&self, addr: u64, len: usize) -> io::Result<u64> {
        let key = self.fabric.next_key.fetch_add(1, Ordering::Relaxed);
        self.fabric.exposed[self.me].lock().insert(key, (addr, len));
        Ok(key)
    }

    fn conceal(&self, key: u64) {
        self.fabric.exposed[self.me].lock().remove(&key);
    }

    fn read_remote(&self, peer: usize, addr: u64, key: u64, dst: &mut [u8]) -> io::Result<()> {
        if self.fabric.opts.refuse_reads {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        self.check(peer, addr, key, dst.len())?;
        // SAFETY: the peer is a thread of this process that exposed this
        // range of its memory (checked above) and keeps it alive until it
        // conceals it, which it does only after our acknowledgement.
        unsafe { std::ptr::copy_nonoverlapping(addr as *const u8, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    fn write_remote(&self, peer: usize, addr: u64, key: u64, src: &[u8]) -> io::Result<()> {
        self.check(peer, addr, key, src.len())?;
        // SAFETY: as in `read_remote`; the exposing rank allows writes to
        // the range for as long as it is exposed.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), addr as *mut u8, src.len()) };
        Ok(())
    }

    fn bell(&self) -> Option<&Bell> {
        Some(&self.fabric.bells[self.me])
    }
}
