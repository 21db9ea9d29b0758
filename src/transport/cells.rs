//! The cells of the node-local collectives (`core::shmcoll`): one rank's
//! slot of one collective channel, and the memory operations of the
//! protocol on it, each with its ordering (the protocol and its invariants
//! are described in `core::shmcoll`).
//!
//! Generic over the memory it lives in: the node segment's atomics and
//! bytes (`transport::shm::CollSlot`), or a model checker's, so that
//! `tests/cells.rs` checks these very operations with loom.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, Ordering, fence};

/// An atomic 64-bit word, and the fence of the memory it is in.
pub trait Word {
    fn load(&self, order: Ordering) -> u64;
    fn store(&self, value: u64, order: Ordering);
    fn fence(order: Ordering);
}

impl Word for AtomicU64 {
    fn load(&self, order: Ordering) -> u64 {
        AtomicU64::load(self, order)
    }

    fn store(&self, value: u64, order: Ordering) {
        AtomicU64::store(self, value, order)
    }

    fn fence(order: Ordering) {
        fence(order)
    }
}

/// One rank's slot of one channel: `CELLS` cells used in turn (payload
/// `D`), and how far the rank has got.
#[repr(C)]
pub struct Slot<W, D, const CELLS: usize> {
    /// The last collective this rank has finished with (it no longer reads
    /// anyone's cells for it).
    done: W,
    /// The rank waits for others to be done (to reuse a cell): those
    /// finishing a collective wake it.
    blocked: W,
    _pad: [u64; 6],
    cells: [Cell<W, D>; CELLS],
}

#[repr(C)]
struct Cell<W, D> {
    /// Which collective the data is for; stored last, with release.
    tag: W,
    /// Bytes of payload (the other ranks check their counts against it).
    len: W,
    _pad: [u64; 6],
    data: D,
}

impl<W: Word, D, const CELLS: usize> Slot<W, D, CELLS> {
    /// A slot in ordinary memory (the segment's are zeroed pages instead).
    pub fn new(word: impl Fn() -> W, data: impl Fn() -> D) -> Self {
        Slot {
            done: word(),
            blocked: word(),
            _pad: [0; 6],
            cells: std::array::from_fn(|_| Cell {
                tag: word(),
                len: word(),
                _pad: [0; 6],
                data: data(),
            }),
        }
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Acquire)
    }

    /// Say this rank is done with collective `tag`: it no longer reads any
    /// cell for it (release: those reads come before a writer's reuse).
    /// The fence orders this before the caller reads the others'
    /// `blocked`: a rank about to wait (it sets `blocked`, then reads
    /// `done`) either sees the new value or is seen waiting and woken.
    pub fn set_done(&self, tag: u64) {
        self.done.store(tag, Ordering::Release);
        W::fence(Ordering::SeqCst);
    }

    pub fn blocked(&self) -> bool {
        self.blocked.load(Ordering::Relaxed) != 0
    }

    /// Mark this rank as waiting for others to be done (before it checks
    /// their `done` words again), or no longer.
    pub fn set_blocked(&self, yes: bool) {
        self.blocked.store(u64::from(yes), Ordering::SeqCst);
    }

    /// The tag of cell `turn`: data for that collective is there (acquire:
    /// the data and length stored before it are visible).
    pub fn tag(&self, turn: usize) -> u64 {
        self.cells[turn].tag.load(Ordering::Acquire)
    }

    /// Payload bytes of cell `turn`, once its tag is seen.
    pub fn len(&self, turn: usize) -> usize {
        self.cells[turn].len.load(Ordering::Relaxed) as usize
    }

    /// Publish cell `turn` for collective `tag`, its payload written.
    pub fn publish(&self, turn: usize, tag: u64, len: usize) {
        self.cells[turn].len.store(len as u64, Ordering::Relaxed);
        self.cells[turn].tag.store(tag, Ordering::Release);
    }

    /// Cell `turn`'s payload. Its owner writes it only while no other rank
    /// reads it (after step 1 of the protocol), then publishes it; readers
    /// read it after seeing the tag.
    pub fn payload(&self, turn: usize) -> &D {
        &self.cells[turn].data
    }
}

impl<W: Word, const N: usize, const CELLS: usize> Slot<W, UnsafeCell<[u8; N]>, CELLS> {
    /// Where cell `turn`'s payload bytes are.
    pub fn data(&self, turn: usize) -> *mut u8 {
        self.payload(turn).get().cast()
    }
}
