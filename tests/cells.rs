//! Model check of the node-local collectives' cell protocol
//! (`core::shmcoll`) with loom: every interleaving of two members (up to
//! three forced preemptions) and every outcome the C11 memory model allows
//! for the orderings that `transport::cells::Slot` uses, with the slot's
//! own code. Payloads live in
//! loom's tracked cells, so a read that is not ordered after the write it
//! must see (or a write that overlaps a read) fails the check, as does a
//! reader that gets another collective's data.
//!
//! The members run the protocol's four steps as `shmcoll` does: wait until
//! every member is done with the cell's previous collective, write and
//! publish, read the cells needed once they show the tag, say done. With 2
//! cells per slot a member reuses a cell after 2 collectives, so a few
//! collectives cover reuse under a slow reader.
//!
//! Three tests break the protocol and expect the check to fail: release
//! stores made relaxed and acquire loads made relaxed (the model sees what
//! x86 hardware hides), and a writer that reuses a cell without waiting for
//! its readers.

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicU64, fence};
use loom::thread;
use mpi::transport::cells::{Slot, Word};
use std::sync::atomic::Ordering;

const CELLS: usize = 2;
const EPOCH: u64 = 5 << 40;

/// Loom's atomics, as the segment's; `WEAK` downgrades orderings.
struct Mem<const WEAK: u8>(AtomicU64);

const EXACT: u8 = 0;
const RELAXED_STORES: u8 = 1;
const RELAXED_LOADS: u8 = 2;

impl<const WEAK: u8> Word for Mem<WEAK> {
    fn load(&self, order: Ordering) -> u64 {
        let order = match (WEAK, order) {
            (RELAXED_LOADS, Ordering::Acquire) => Ordering::Relaxed,
            _ => order,
        };
        self.0.load(order)
    }

    fn store(&self, value: u64, order: Ordering) {
        let order = match (WEAK, order) {
            (RELAXED_STORES, Ordering::Release) => Ordering::Relaxed,
            _ => order,
        };
        self.0.store(value, order)
    }

    fn fence(order: Ordering) {
        fence(order)
    }
}

type ModelSlot<const WEAK: u8> = Slot<Mem<WEAK>, UnsafeCell<u64>, CELLS>;

/// What member `m` contributes to collective `s`.
fn value(m: usize, s: u64) -> u64 {
    (m as u64 + 1) * 1000 + s
}

/// Wait, letting the other threads run, until `ready`.
fn wait(ready: impl Fn() -> bool) {
    while !ready() {
        thread::yield_now();
    }
}

/// Member `me` of `slots.len()` runs `rounds` collectives; in an
/// allreduce every member reads every cell, in a broadcast only the
/// others read the root's (member 0's) and the root reads none.
fn member<const WEAK: u8>(
    slots: &[ModelSlot<WEAK>],
    me: usize,
    rounds: u64,
    bcast: bool,
    reuse_wait: bool,
) {
    let n = slots.len();
    for s in 1..=rounds {
        let tag = EPOCH | s;
        let turn = (s % CELLS as u64) as usize;
        // 1. The cell's previous collective is done everywhere.
        if s > CELLS as u64 && reuse_wait {
            let before = tag - CELLS as u64;
            wait(|| slots.iter().all(|x| x.done() >= before));
        }
        // 2. Write and publish.
        let writes = !bcast || me == 0;
        if writes {
            slots[me]
                .payload(turn)
                .with_mut(|p| unsafe { *p = value(me, s) });
            slots[me].publish(turn, tag, 8);
        }
        // 3. Read what this collective needs.
        let reads: Vec<usize> = if bcast {
            if me == 0 { vec![] } else { vec![0] }
        } else {
            (0..n).filter(|&r| r != me).collect()
        };
        for r in reads {
            wait(|| slots[r].tag(turn) == tag);
            assert_eq!(slots[r].len(turn), 8);
            let got = slots[r].payload(turn).with(|p| unsafe { *p });
            assert_eq!(
                got,
                value(r, s),
                "member {me} read member {r}'s cell for {s}"
            );
        }
        // 4. Done.
        slots[me].set_done(tag);
    }
}

/// Check every interleaving with up to `preemptions` forced thread
/// switches (loom's bound; 3 finds most bugs, more only costs time).
fn run<const WEAK: u8>(members: usize, rounds: u64, bcast: bool, preemptions: usize) {
    run_with::<WEAK>(members, rounds, bcast, preemptions, true)
}

fn run_with<const WEAK: u8>(
    members: usize,
    rounds: u64,
    bcast: bool,
    preemptions: usize,
    reuse_wait: bool,
) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.max_branches = 100_000;
    builder.check(move || {
        let slots: Arc<Vec<ModelSlot<WEAK>>> = Arc::new(
            (0..members)
                .map(|_| Slot::new(|| Mem(AtomicU64::new(0)), || UnsafeCell::new(0)))
                .collect(),
        );
        let others: Vec<_> = (1..members)
            .map(|m| {
                let slots = slots.clone();
                thread::spawn(move || member(&slots, m, rounds, bcast, reuse_wait))
            })
            .collect();
        member(&slots, 0, rounds, bcast, reuse_wait);
        for t in others {
            t.join().unwrap();
        }
    });
}

#[test]
fn allreduce_two_members_reusing_cells() {
    run::<EXACT>(2, 4, false, 3);
}

#[test]
fn broadcast_root_runs_ahead_of_its_reader() {
    run::<EXACT>(2, 4, true, 3);
}

#[test]
#[should_panic]
fn relaxed_publication_is_caught() {
    run::<RELAXED_STORES>(2, 1, false, 3);
}

#[test]
#[should_panic]
fn relaxed_tag_loads_are_caught() {
    run::<RELAXED_LOADS>(2, 1, true, 3);
}

#[test]
#[should_panic]
fn reuse_without_waiting_is_caught() {
    run_with::<EXACT>(2, 3, true, 3, false);
}
