//! Collectives on a communicator that spans hosts, node-local first: the
//! members on each host meet among themselves (binomial trees rooted at
//! the host's representative), and only the representatives, one per
//! host, meet across hosts, so the network carries one message per host
//! where a flat tree carries one per rank.
//!
//! Used for barriers, broadcasts, and those reductions whose result does
//! not depend on the order the operands are combined in (`exact`:
//! integers, bitwise and logical operations, minimum and maximum of
//! integers and their index pairs), so a program's results never depend
//! on where its ranks run. Floating-point reductions keep the flat
//! algorithms' documented order (`coll::Order`).
//!
//! The layout comes from the job's host table (`transport::host_of`),
//! the same on every member, so choosing this path needs no message and
//! every member of the communicator chooses alike.

use super::coll::Red;
use super::comm::Comm;
use super::consts::*;
use super::sched::Sched;
use std::ffi::c_int;
use std::sync::Arc;

/// Where a communicator's members run, worked out once per communicator.
pub struct Hosts {
    /// Each rank's host, as an index into `on`.
    host: Vec<usize>,
    /// Each host's ranks in rank order; hosts in the order of their lowest
    /// rank.
    on: Vec<Vec<c_int>>,
}

impl Hosts {
    /// The layout of `c`'s members, when a node-local first pass helps:
    /// they span two or more hosts and some host has two or more of them.
    /// `None` for members of other jobs (whose hosts are not in the table).
    pub fn of(c: &Comm) -> Option<Arc<Hosts>> {
        let host: Vec<u32> = c
            .group
            .iter()
            .map(crate::transport::host_of)
            .collect::<Option<_>>()?;
        Hosts::new(host).map(Arc::new)
    }

    /// From each rank's host, named by any number.
    fn new(named: Vec<u32>) -> Option<Hosts> {
        let mut names: Vec<u32> = Vec::new();
        let mut on: Vec<Vec<c_int>> = Vec::new();
        let mut host = Vec::with_capacity(named.len());
        for (r, name) in named.iter().enumerate() {
            let i = match names.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    names.push(*name);
                    on.push(Vec::new());
                    on.len() - 1
                }
            };
            on[i].push(r as c_int);
            host.push(i);
        }
        (on.len() > 1 && on.len() < named.len()).then_some(Hosts { host, on })
    }

    /// The ranks on rank `r`'s host, in rank order.
    fn mates(&self, r: c_int) -> &[c_int] {
        &self.on[self.host[r as usize]]
    }

    /// One rank per host, in host order: `root` for its host, the lowest
    /// rank for the others.
    fn reps(&self, root: c_int) -> Vec<c_int> {
        let at = self.host[root as usize];
        self.on
            .iter()
            .enumerate()
            .map(|(i, m)| if i == at { root } else { m[0] })
            .collect()
    }

    /// The representative of rank `r`'s host.
    fn rep_of(&self, r: c_int, root: c_int) -> c_int {
        if self.host[r as usize] == self.host[root as usize] {
            root
        } else {
            self.mates(r)[0]
        }
    }
}

/// Whether reduction `r` gives the same result in any order: integer
/// types with an exact operation, or minimum and maximum (and their
/// location forms) of integers.
pub fn exact(r: &Red) -> bool {
    const INTEGERS: &[crate::core::types::MPI_Datatype] = &[
        MPI_CHAR,
        MPI_SIGNED_CHAR,
        MPI_UNSIGNED_CHAR,
        MPI_BYTE,
        MPI_SHORT,
        MPI_UNSIGNED_SHORT,
        MPI_INT,
        MPI_UNSIGNED,
        MPI_LONG,
        MPI_UNSIGNED_LONG,
        MPI_LONG_LONG_INT,
        MPI_UNSIGNED_LONG_LONG,
        MPI_INT8_T,
        MPI_INT16_T,
        MPI_INT32_T,
        MPI_INT64_T,
        MPI_UINT8_T,
        MPI_UINT16_T,
        MPI_UINT32_T,
        MPI_UINT64_T,
        MPI_AINT,
        MPI_OFFSET,
        MPI_COUNT,
        MPI_C_BOOL,
    ];
    const PAIRS: &[crate::core::types::MPI_Datatype] = &[MPI_2INT, MPI_SHORT_INT, MPI_LONG_INT];
    let ops = [
        MPI_SUM, MPI_PROD, MPI_MIN, MPI_MAX, MPI_LAND, MPI_LOR, MPI_LXOR, MPI_BAND, MPI_BOR,
        MPI_BXOR,
    ];
    (INTEGERS.contains(&r.dt) && ops.contains(&r.op))
        || (PAIRS.contains(&r.dt) && [MPI_MINLOC, MPI_MAXLOC].contains(&r.op))
}

/// Down a binomial tree over `ranks` (communicator ranks) rooted at
/// `ranks[root]`: `len` bytes at `buf` reach every rank listed. A rank
/// not listed adds nothing.
fn down(s: &mut Sched, ranks: &[c_int], root: usize, buf: usize, len: usize) {
    if let Some(me) = ranks.iter().position(|&r| r == s.rank()) {
        super::coll::tree_down(s, ranks.len(), me, root, |x| ranks[x], |_, _| (buf, len));
    }
}

/// Up a binomial tree over `ranks` to `ranks[root]`: each rank combines
/// its children's `acc` into its own (by `red`; nothing when `None`, a
/// barrier), then sends it to its parent. A rank not listed adds nothing.
fn up(s: &mut Sched, ranks: &[c_int], root: usize, acc: usize, red: Option<Red>) {
    let n = ranks.len();
    let Some(me) = ranks.iter().position(|&r| r == s.rank()) else {
        return;
    };
    let len = red.map_or(0, |r| r.count * r.size);
    let tmp = if len > 0 { s.temp(len) } else { 0 };
    let rel = (me + n - root) % n;
    let abs = |x: usize| ranks[(x + root) % n];
    let mut mask = 1;
    while mask < n {
        if rel & mask != 0 {
            s.send(abs(rel - mask), acc, len);
            s.fence();
            return;
        }
        if rel + mask < n {
            s.recv(abs(rel + mask), tmp, len);
            s.fence();
            if let Some(r) = red {
                s.reduce(r.op, r.dt, r.count, tmp, acc);
            }
        }
        mask <<= 1;
    }
}

/// Barrier: each host's members report to its lowest rank, those meet
/// across hosts (up and down a tree), and each tells its host.
pub fn barrier(s: &mut Sched, h: &Hosts) {
    let me = s.rank();
    let mates = h.mates(me);
    let reps = h.reps(0);
    up(s, mates, 0, 0, None);
    up(s, &reps, 0, 0, None);
    down(s, &reps, 0, 0, 0);
    down(s, mates, 0, 0, 0);
}

/// Broadcast from `root`: across hosts among the representatives (the
/// root for its host), then within each host from its representative.
pub fn bcast(s: &mut Sched, h: &Hosts, buf: usize, len: usize, root: c_int) {
    let me = s.rank();
    let reps = h.reps(root);
    let top = reps.iter().position(|&r| r == root).unwrap_or(0);
    down(s, &reps, top, buf, len);
    let mates = h.mates(me);
    let rep = h.rep_of(me, root);
    let from = mates.iter().position(|&r| r == rep).unwrap_or(0);
    down(s, mates, from, buf, len);
}

/// Reduction to `root` (an `exact` one): within each host to its
/// representative, then across hosts to the root. `recv` matters at the
/// root only.
pub fn reduce(s: &mut Sched, h: &Hosts, send: usize, recv: usize, r: Red, root: c_int) {
    let me = s.rank();
    let len = r.count * r.size;
    let acc = if me == root { recv } else { s.temp(len) };
    if send != acc {
        s.copy(send, acc, len);
    }
    let mates = h.mates(me);
    let rep = h.rep_of(me, root);
    let to = mates.iter().position(|&x| x == rep).unwrap_or(0);
    up(s, mates, to, acc, Some(r));
    let reps = h.reps(root);
    let top = reps.iter().position(|&x| x == root).unwrap_or(0);
    up(s, &reps, top, acc, Some(r));
}

/// All-reduce (an `exact` one): within each host to its lowest rank,
/// across hosts up and down a tree of those, then within each host again.
pub fn allreduce(s: &mut Sched, h: &Hosts, send: usize, recv: usize, r: Red) {
    let me = s.rank();
    let len = r.count * r.size;
    if send != recv {
        s.copy(send, recv, len);
    }
    let mates = h.mates(me);
    let reps = h.reps(0);
    up(s, mates, 0, recv, Some(r));
    up(s, &reps, 0, recv, Some(r));
    down(s, &reps, 0, recv, len);
    down(s, mates, 0, recv, len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sched::sim;

    /// Layouts: hosts of 1 to 4 ranks, round-robin and in blocks, the
    /// root anywhere.
    fn layouts() -> Vec<Vec<u32>> {
        let mut out: Vec<Vec<u32>> = Vec::new();
        for n in 3..=11usize {
            for hosts in 2..n {
                out.push((0..n).map(|r| (r % hosts) as u32).collect());
                let per = n.div_ceil(hosts);
                out.push((0..n).map(|r| (r / per) as u32).collect());
            }
        }
        out.retain(|l| Hosts::new(l.clone()).is_some());
        out
    }

    fn run(n: usize, build: impl Fn(&mut Sched, usize)) {
        let scheds = (0..n)
            .map(|r| {
                let mut s = sim::sched(n, r);
                build(&mut s, r);
                s
            })
            .collect();
        for (r, out) in sim::run(scheds).into_iter().enumerate() {
            if let Err(e) = out {
                panic!("rank {r} failed: {}", e.msg);
            }
        }
    }

    fn int_red(count: usize, op: crate::core::types::MPI_Op) -> Red {
        Red {
            count,
            dt: MPI_INT,
            size: 4,
            op,
        }
    }

    fn value(r: usize, i: usize) -> i32 {
        ((r * 7919 + i * 104_729) % 1000) as i32 - 500
    }

    #[test]
    fn layouts_that_gain_nothing_are_refused() {
        assert!(Hosts::new(vec![0, 0, 0]).is_none());
        assert!(Hosts::new(vec![0, 1, 2]).is_none());
        assert!(Hosts::new(vec![0, 1, 0]).is_some());
    }

    #[test]
    fn exact_reductions_only() {
        assert!(exact(&int_red(1, MPI_SUM)));
        assert!(exact(&Red {
            count: 1,
            dt: MPI_2INT,
            size: 8,
            op: MPI_MINLOC
        }));
        assert!(!exact(&Red {
            count: 1,
            dt: MPI_DOUBLE,
            size: 8,
            op: MPI_SUM
        }));
        assert!(!exact(&Red {
            count: 1,
            dt: MPI_DOUBLE,
            size: 8,
            op: MPI_MAX
        }));
    }

    #[test]
    fn barrier_and_bcast_on_every_layout() {
        for l in layouts() {
            let n = l.len();
            let h = Hosts::new(l.clone()).unwrap();
            run(n, |s, _| barrier(s, &h));
            for root in 0..n {
                let len = 1 + root * 13;
                let mut bufs: Vec<Vec<u8>> = (0..n)
                    .map(|r| {
                        if r == root {
                            (0..len).map(|i| (i * 3 + root) as u8).collect()
                        } else {
                            vec![0xee; len]
                        }
                    })
                    .collect();
                let at: Vec<usize> = bufs.iter_mut().map(|b| b.as_mut_ptr() as usize).collect();
                run(n, |s, r| bcast(s, &h, at[r], len, root as c_int));
                for (r, b) in bufs.iter().enumerate() {
                    assert_eq!(b, &bufs[root], "{l:?} root {root} rank {r}");
                }
            }
        }
    }

    #[test]
    fn reductions_on_every_layout_match_the_direct_computation() {
        for l in layouts() {
            let n = l.len();
            let h = Hosts::new(l.clone()).unwrap();
            for (op, f) in [
                (MPI_SUM, (|a, b| a + b) as fn(i32, i32) -> i32),
                (MPI_MAX, |a: i32, b: i32| a.max(b)),
                (MPI_BXOR, |a, b| a ^ b),
            ] {
                let count = 5;
                let want: Vec<i32> = (0..count)
                    .map(|i| (1..n).fold(value(0, i), |acc, r| f(acc, value(r, i))))
                    .collect();
                let input: Vec<Vec<i32>> = (0..n)
                    .map(|r| (0..count).map(|i| value(r, i)).collect())
                    .collect();
                // All-reduce, out of place.
                let mut out = vec![vec![0i32; count]; n];
                let o: Vec<usize> = out.iter_mut().map(|b| b.as_mut_ptr() as usize).collect();
                let i: Vec<usize> = input.iter().map(|b| b.as_ptr() as usize).collect();
                run(n, |s, r| allreduce(s, &h, i[r], o[r], int_red(count, op)));
                for (r, got) in out.iter().enumerate() {
                    assert_eq!(got, &want, "allreduce {l:?} rank {r}");
                }
                // Reduce, in place at the root, to every root.
                for root in 0..n {
                    let mut bufs = input.clone();
                    let b: Vec<usize> = bufs.iter_mut().map(|x| x.as_mut_ptr() as usize).collect();
                    run(n, |s, r| {
                        reduce(s, &h, b[r], b[r], int_red(count, op), root as c_int)
                    });
                    assert_eq!(bufs[root], want, "reduce {l:?} root {root}");
                    for (r, x) in bufs.iter().enumerate().filter(|&(r, _)| r != root) {
                        assert_eq!(x, &input[r], "reduce {l:?}: rank {r}'s input changed");
                    }
                }
            }
        }
    }
}
