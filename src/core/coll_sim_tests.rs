//! Every collective algorithm at 1 to 17 ranks, run by the in-process
//! simulator (`sched::sim`) and checked against a direct computation:
//! broadcasts (binomial tree and scatter-ring), reductions (binomial tree
//! and reduce-scatter-gather; floating-point results bit for bit in the
//! documented order, and equal on every rank), scans, reduce-scatter and
//! the gather/scatter/all-to-all family with blocks of differing sizes,
//! and a count mismatch, which must fail rather than hang or pass. Each
//! check has one test per size: `cargo test coll::sim_tests::allreduce::n07`.

use super::*;
use crate::core::consts::{MPI_DOUBLE, MPI_INT, MPI_SUM};
use crate::core::sched::sim;

/// Run `n` ranks, rank `r` built by `build(sched, r)`; every outcome.
fn run(n: usize, build: impl Fn(&mut Sched, usize)) -> Vec<MpiResult<()>> {
    let scheds = (0..n)
        .map(|r| {
            let mut s = sim::sched(n, r);
            build(&mut s, r);
            s
        })
        .collect();
    sim::run(scheds)
}

fn run_ok(n: usize, build: impl Fn(&mut Sched, usize)) {
    for (r, out) in run(n, build).into_iter().enumerate() {
        if let Err(e) = out {
            panic!("rank {r} failed: {}", e.msg);
        }
    }
}

/// A deterministic byte pattern for rank `r`.
fn pattern(r: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + r * 31 + 1) as u8).collect()
}

fn ints(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

fn as_ints(b: &[u8]) -> Vec<i32> {
    b.chunks(4)
        .map(|c| i32::from_ne_bytes(c.try_into().unwrap()))
        .collect()
}

fn as_doubles(b: &[u8]) -> Vec<f64> {
    b.chunks(8)
        .map(|c| f64::from_ne_bytes(c.try_into().unwrap()))
        .collect()
}

/// Per-rank buffers that stay where they are while the schedules run.
struct Bufs(Vec<std::cell::UnsafeCell<Vec<u8>>>);

impl Bufs {
    fn new(v: Vec<Vec<u8>>) -> Bufs {
        Bufs(v.into_iter().map(std::cell::UnsafeCell::new).collect())
    }
    fn at(&self, r: usize) -> usize {
        // SAFETY: only the address is taken; the simulator writes through
        // it while no reference to the vector is held.
        unsafe { (*self.0[r].get()).as_mut_ptr() as usize }
    }
    fn get(&self, r: usize) -> &[u8] {
        // SAFETY: read after the simulation ended.
        unsafe { &*self.0[r].get() }
    }
}

fn int_sum(count: usize) -> Red {
    Red {
        count,
        dt: MPI_INT,
        size: 4,
        op: MPI_SUM,
    }
}

fn double_sum(count: usize) -> Red {
    Red {
        count,
        dt: MPI_DOUBLE,
        size: 8,
        op: MPI_SUM,
    }
}

/// Inputs whose sums depend on the order they are added in.
fn doubles(r: usize, count: usize) -> Vec<u8> {
    (0..count)
        .flat_map(|i| {
            let x = ((r * 7919 + i * 104_729) % 1000) as f64 * 1e-3 + 1e10 * ((r + i) % 3) as f64;
            x.to_ne_bytes()
        })
        .collect()
}

/// Evaluate a documented combining order on per-rank values.
fn fold(o: &Order, vals: &[f64]) -> f64 {
    let mut parts = vals.to_vec();
    for &(a, b) in &o.steps {
        parts[a] += parts[b];
    }
    parts[o.result]
}

fn check_barrier(n: usize) {
    run_ok(n, |s, _| barrier(s, n as c_int));
}

fn bcast_with(n: usize, len: usize, split: bool) {
    for root in [0, n / 2, n - 1] {
        let bufs = Bufs::new(
            (0..n)
                .map(|r| {
                    if r == root {
                        pattern(99, len)
                    } else {
                        vec![0; len]
                    }
                })
                .collect(),
        );
        run_ok(n, |s, r| {
            let nn = n as c_int;
            if split && n > 2 {
                bcast_split(s, nn, bufs.at(r), len, root as c_int)
            } else {
                bcast_binomial(s, nn, bufs.at(r), len, root as c_int)
            }
        });
        for r in 0..n {
            assert_eq!(bufs.get(r), &pattern(99, len)[..], "rank {r}, root {root}");
        }
    }
}

fn check_bcast_binomial(n: usize) {
    bcast_with(n, 1000, false);
}

fn check_bcast_split(n: usize) {
    bcast_with(n, 1001, true);
}

/// Reduce of integers, small (binomial) and large (reduce-scatter then
/// gather), to several roots.
fn check_reduce_ints(n: usize) {
    for count in [3, 1500] {
        for root in [0, n - 1] {
            let send = Bufs::new((0..n).map(|r| ints(&vec![r as i32 + 1; count])).collect());
            let recv = Bufs::new(vec![vec![0; count * 4]; n]);
            run_ok(n, |s, r| {
                reduce(
                    s,
                    n as c_int,
                    send.at(r),
                    recv.at(r),
                    int_sum(count),
                    root as c_int,
                )
            });
            let want = (n * (n + 1) / 2) as i32;
            assert!(
                as_ints(recv.get(root)).iter().all(|&x| x == want),
                "count {count}, root {root}"
            );
        }
    }
}

/// A small floating-point reduce combines in `reduce_order`'s order, bit
/// for bit.
fn check_reduce_doubles(n: usize) {
    for root in [0, n / 2] {
        let send = Bufs::new((0..n).map(|r| doubles(r, 4)).collect());
        let recv = Bufs::new(vec![vec![0; 32]; n]);
        let r4 = double_sum(4);
        run_ok(n, |s, r| {
            reduce(s, n as c_int, send.at(r), recv.at(r), r4, root as c_int)
        });
        let order = reduce_order(n as c_int, root as c_int, &r4);
        for i in 0..4 {
            let vals: Vec<f64> = (0..n).map(|r| as_doubles(send.get(r))[i]).collect();
            assert_eq!(
                as_doubles(recv.get(root))[i].to_bits(),
                fold(&order, &vals).to_bits()
            );
        }
    }
}

fn check_allreduce_ints(n: usize) {
    for count in [1, 7, 1500] {
        let send = Bufs::new(
            (0..n)
                .map(|r| {
                    ints(
                        &(0..count as i32)
                            .map(|i| i * (r as i32 + 1))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect(),
        );
        let recv = Bufs::new(vec![vec![0; count * 4]; n]);
        run_ok(n, |s, r| {
            allreduce(s, n as c_int, send.at(r), recv.at(r), int_sum(count))
        });
        let k = (n * (n + 1) / 2) as i32;
        for r in 0..n {
            let got = as_ints(recv.get(r));
            assert!(
                got.iter().enumerate().all(|(i, &x)| x == i as i32 * k),
                "rank {r}, count {count}"
            );
        }
    }
}

/// A small floating-point allreduce: the same bits on every rank, in
/// `allreduce_order`'s order; a large one: the same bits on every rank.
fn check_allreduce_doubles(n: usize) {
    for count in [2, 600] {
        let send = Bufs::new((0..n).map(|r| doubles(r, count)).collect());
        let recv = Bufs::new(vec![vec![0; count * 8]; n]);
        run_ok(n, |s, r| {
            allreduce(s, n as c_int, send.at(r), recv.at(r), double_sum(count))
        });
        for r in 1..n {
            assert_eq!(
                recv.get(r),
                recv.get(0),
                "rank {r} differs from rank 0, count {count}"
            );
        }
        if count == 2 {
            let order = allreduce_order(n as c_int);
            for i in 0..count {
                let vals: Vec<f64> = (0..n).map(|r| as_doubles(send.get(r))[i]).collect();
                assert_eq!(
                    as_doubles(recv.get(0))[i].to_bits(),
                    fold(&order, &vals).to_bits()
                );
            }
        }
    }
}

fn check_scan(n: usize) {
    for exclusive in [false, true] {
        let send = Bufs::new((0..n).map(|r| ints(&[r as i32 + 1, 2])).collect());
        let recv = Bufs::new(vec![vec![0; 8]; n]);
        run_ok(n, |s, r| {
            scan(s, n as c_int, send.at(r), recv.at(r), int_sum(2), exclusive)
        });
        for r in (usize::from(exclusive))..n {
            let upto = if exclusive { r } else { r + 1 };
            let want = [(upto * (upto + 1) / 2) as i32, 2 * upto as i32];
            assert_eq!(
                as_ints(recv.get(r)),
                want,
                "rank {r}, exclusive {exclusive}"
            );
        }
    }
}

fn check_reduce_scatter(n: usize) {
    let counts: Vec<usize> = (0..n).map(|r| r % 3 + 1).collect();
    let total: usize = counts.iter().sum();
    let send = Bufs::new((0..n).map(|r| ints(&vec![r as i32; total])).collect());
    let recv = Bufs::new(counts.iter().map(|&c| vec![0; c * 4]).collect());
    run_ok(n, |s, r| {
        reduce_scatter(s, send.at(r), recv.at(r), &counts, int_sum(0))
    });
    let want = (n * (n - 1) / 2) as i32;
    for r in 0..n {
        assert!(as_ints(recv.get(r)).iter().all(|&x| x == want), "rank {r}");
    }
}

/// Blocks of differing sizes, laid end to end: (offset, length) for each rank.
fn blocks(n: usize, unit: usize) -> Vec<Block> {
    let mut off = 0;
    (0..n)
        .map(|r| {
            let len = (r % 4) * unit;
            off += len;
            (off - len, len)
        })
        .collect()
}

fn check_gather_scatter(n: usize) {
    let b = blocks(n, 5);
    let total = b.iter().map(|x| x.1).sum::<usize>();
    for root in [0, n - 1] {
        let send = Bufs::new((0..n).map(|r| pattern(r, b[r].1)).collect());
        let recv = Bufs::new(vec![vec![0; total]; n]);
        run_ok(n, |s, r| {
            gatherv(s, Some((send.at(r), b[r].1)), recv.at(r), &b, root as c_int)
        });
        for (r, &(off, len)) in b.iter().enumerate() {
            assert_eq!(&recv.get(root)[off..off + len], &pattern(r, len)[..]);
        }
        let back = Bufs::new((0..n).map(|r| vec![0; b[r].1]).collect());
        run_ok(n, |s, r| {
            scatterv(s, recv.at(r), &b, Some((back.at(r), b[r].1)), root as c_int)
        });
        for (r, &(_, len)) in b.iter().enumerate() {
            assert_eq!(back.get(r), &pattern(r, len)[..], "scatter to {r}");
        }
    }
}

fn check_allgather(n: usize) {
    let b = blocks(n, 3);
    let total = b.iter().map(|x| x.1).sum::<usize>();
    let send = Bufs::new((0..n).map(|r| pattern(r, b[r].1)).collect());
    let recv = Bufs::new(vec![vec![0; total]; n]);
    run_ok(n, |s, r| {
        allgatherv(s, Some((send.at(r), b[r].1)), recv.at(r), &b)
    });
    for q in 0..n {
        for (r, &(off, len)) in b.iter().enumerate() {
            assert_eq!(
                &recv.get(q)[off..off + len],
                &pattern(r, len)[..],
                "rank {q} block {r}"
            );
        }
    }
}

fn check_alltoall(n: usize) {
    // Rank r sends (r + d) % 3 + 1 bytes of pattern(r * n + d) to rank d.
    let len = |from: usize, to: usize| (from + to) % 3 + 1;
    let lay = |lens: Vec<usize>| {
        let mut off = 0;
        lens.into_iter()
            .map(|l| {
                off += l;
                (off - l, l)
            })
            .collect::<Vec<Block>>()
    };
    let sb: Vec<Vec<Block>> = (0..n)
        .map(|r| lay((0..n).map(|d| len(r, d)).collect()))
        .collect();
    let rb: Vec<Vec<Block>> = (0..n)
        .map(|r| lay((0..n).map(|s| len(s, r)).collect()))
        .collect();
    let send = Bufs::new(
        (0..n)
            .map(|r| (0..n).flat_map(|d| pattern(r * n + d, len(r, d))).collect())
            .collect(),
    );
    let recv = Bufs::new(
        rb.iter()
            .map(|b| vec![0; b.iter().map(|x| x.1).sum()])
            .collect(),
    );
    run_ok(n, |s, r| {
        alltoallv(s, Some(send.at(r)), &sb[r], recv.at(r), &rb[r], false)
    });
    for (r, blocks) in rb.iter().enumerate() {
        for (src, &(off, l)) in blocks.iter().enumerate() {
            assert_eq!(
                &recv.get(r)[off..off + l],
                &pattern(src * n + r, l)[..],
                "{src} to {r}"
            );
        }
    }
}

/// Rank 0 broadcasts fewer bytes than the others expect: the others fail
/// (the mismatch travels down the tree), nobody hangs.
fn check_bcast_mismatch(n: usize) {
    if n < 2 {
        return;
    }
    let bufs = Bufs::new(vec![vec![0; 64]; n]);
    let out = run(n, |s, r| {
        let len = if r == 0 { 32 } else { 64 };
        bcast_binomial(s, n as c_int, bufs.at(r), len, 0)
    });
    assert!(
        out[1..].iter().all(Result::is_err),
        "a mismatch went unnoticed"
    );
}

macro_rules! for_sizes {
    ($($check:ident => $name:ident;)*) => {$(
        mod $name {
            #[test] fn n01() { super::$check(1) }
            #[test] fn n02() { super::$check(2) }
            #[test] fn n03() { super::$check(3) }
            #[test] fn n04() { super::$check(4) }
            #[test] fn n05() { super::$check(5) }
            #[test] fn n06() { super::$check(6) }
            #[test] fn n07() { super::$check(7) }
            #[test] fn n08() { super::$check(8) }
            #[test] fn n09() { super::$check(9) }
            #[test] fn n10() { super::$check(10) }
            #[test] fn n11() { super::$check(11) }
            #[test] fn n12() { super::$check(12) }
            #[test] fn n13() { super::$check(13) }
            #[test] fn n14() { super::$check(14) }
            #[test] fn n15() { super::$check(15) }
            #[test] fn n16() { super::$check(16) }
            #[test] fn n17() { super::$check(17) }
        }
    )*};
}

for_sizes! {
    check_barrier => barrier;
    check_bcast_binomial => bcast_binomial;
    check_bcast_split => bcast_split;
    check_reduce_ints => reduce_ints;
    check_reduce_doubles => reduce_doubles;
    check_allreduce_ints => allreduce_ints;
    check_allreduce_doubles => allreduce_doubles;
    check_scan => scan;
    check_reduce_scatter => reduce_scatter;
    check_gather_scatter => gather_scatter;
    check_allgather => allgather;
    check_alltoall => alltoall;
    check_bcast_mismatch => bcast_mismatch;
}
