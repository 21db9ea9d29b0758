use super::*;

#[test]
fn sizes_come_from_the_handle() {
    assert_eq!(element_size(MPI_INT).unwrap(), 4);
    assert_eq!(element_size(MPI_DOUBLE).unwrap(), 8);
    assert_eq!(element_size(MPI_C_LONG_DOUBLE_COMPLEX).unwrap(), 32);
    assert_eq!(element_size(MPI_FLOAT_INT).unwrap(), 8);
    assert_eq!(get(MPI_DATATYPE_NULL).err().unwrap().code, MPI_ERR_TYPE);
    assert_eq!(get(0x4c00ff77).err().unwrap().code, MPI_ERR_TYPE);
    assert_eq!(message(-1, MPI_INT).err().unwrap().code, MPI_ERR_COUNT);
    assert_eq!(message(3, MPI_SHORT).unwrap().bytes, 6);
}

#[test]
fn pair_types_have_mpich_layout() {
    let t = get(MPI_DOUBLE_INT).unwrap();
    assert_eq!((t.size(), t.extent(), t.true_ub - t.true_lb), (12, 16, 12));
    let t = get(MPI_SHORT_INT).unwrap();
    assert_eq!((t.size(), t.extent()), (6, 8));
    assert_eq!(t.elements_in(6), Some(2));
    assert_eq!(t.elements_in(2), Some(1));
    assert_eq!(t.elements_in(3), None);
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

const LEAVES: &[MPI_Datatype] = &[
    MPI_CHAR,
    MPI_SHORT,
    MPI_INT,
    MPI_DOUBLE,
    MPI_LONG_DOUBLE,
    MPI_DOUBLE_INT,
    MPI_SHORT_INT,
    MPI_2INT,
];

/// A random datatype of nesting depth at most `depth`.
fn random_type(r: &mut Rng, depth: u32) -> Arc<Datatype> {
    if depth == 0 || r.below(4) == 0 {
        return get(LEAVES[r.below(LEAVES.len() as u64) as usize]).unwrap();
    }
    let old = random_type(r, depth - 1);
    let ext = old.extent().max(1);
    let large = r.below(2) == 0;
    let t = match r.below(10) {
        0 => build::contiguous(r.below(4), &old, large),
        1 => build::vector(1 + r.below(3), r.below(3), r.below(7) - 3, &old, large),
        2 => build::hvector(
            1 + r.below(3),
            1 + r.below(2),
            r.below(5 * ext as u64) - ext,
            &old,
            large,
        ),
        3 => {
            let n = 1 + r.below(4) as usize;
            let bl: Vec<i64> = (0..n).map(|_| r.below(3)).collect();
            let d: Vec<i64> = (0..n).map(|_| r.below(9) - 2).collect();
            build::indexed(&bl, &d, &old, large)
        }
        4 => {
            let n = 1 + r.below(4) as usize;
            let bl: Vec<i64> = (0..n).map(|_| r.below(3)).collect();
            let d: Vec<i64> = (0..n).map(|_| r.below(40) - 8).collect();
            build::hindexed(&bl, &d, &old, large)
        }
        5 => {
            let d: Vec<i64> = (0..1 + r.below(3)).map(|_| r.below(6)).collect();
            build::indexed_block(1 + r.below(2), &d, &old, large)
        }
        6 => {
            let d: Vec<i64> = (0..1 + r.below(3)).map(|_| r.below(64) - 16).collect();
            build::hindexed_block(r.below(3), &d, &old, large)
        }
        7 => {
            let n = 1 + r.below(3) as usize;
            let types: Vec<_> = (0..n).map(|_| random_type(r, depth - 1)).collect();
            let bl: Vec<i64> = (0..n).map(|_| r.below(3)).collect();
            let d: Vec<i64> = (0..n).map(|_| r.below(64) - 16).collect();
            build::structure(&bl, &d, &types, large)
        }
        8 => build::resized(&old, r.below(9) - 4, r.below(3 * ext as u64), large),
        _ => Ok(build::dup(&old)),
    };
    Arc::new(t.unwrap())
}

/// The typemap by the standard's definition, straight from the recorded
/// constructor arguments (independent of the compiled layout): every
/// basic element's displacement and size, in order.
fn typemap(t: &Datatype) -> Vec<(i64, i64)> {
    let c = &t.contents;
    let ints: Vec<i64> = if c.counts.is_empty() {
        c.ints.clone()
    } else {
        c.counts.clone()
    };
    let aints: Vec<i64> = if c.counts.is_empty() {
        c.aints.clone()
    } else {
        c.counts.clone()
    };
    match t.combiner {
        MPI_COMBINER_NAMED => {
            let mut v = Vec::new();
            t.node.leaves(0, &mut |off, b, n| {
                let s = basic_info(b).unwrap().size;
                v.extend((0..n).map(|i| (off + i * s, s)));
                true
            });
            v
        }
        MPI_COMBINER_DUP | MPI_COMBINER_RESIZED => typemap(&c.types[0]),
        MPI_COMBINER_CONTIGUOUS => repeat(&c.types[0], 0, ints[0]),
        MPI_COMBINER_VECTOR | MPI_COMBINER_HVECTOR => {
            let o = &c.types[0];
            let stride = if t.combiner == MPI_COMBINER_VECTOR {
                ints[2] * o.extent()
            } else {
                aints[aints.len() - 1]
            };
            (0..ints[0])
                .flat_map(|i| repeat(o, i * stride, ints[1]))
                .collect()
        }
        MPI_COMBINER_INDEXED | MPI_COMBINER_HINDEXED => {
            let (o, n) = (&c.types[0], ints[0] as usize);
            (0..n)
                .flat_map(|k| {
                    let d = if t.combiner == MPI_COMBINER_INDEXED {
                        ints[1 + n + k] * o.extent()
                    } else {
                        aints[aints.len() - n + k]
                    };
                    repeat(o, d, ints[1 + k])
                })
                .collect()
        }
        MPI_COMBINER_INDEXED_BLOCK | MPI_COMBINER_HINDEXED_BLOCK => {
            let (o, n) = (&c.types[0], ints[0] as usize);
            (0..n)
                .flat_map(|k| {
                    let d = if t.combiner == MPI_COMBINER_INDEXED_BLOCK {
                        ints[2 + k] * o.extent()
                    } else {
                        aints[aints.len() - n + k]
                    };
                    repeat(o, d, ints[1])
                })
                .collect()
        }
        MPI_COMBINER_STRUCT => {
            let n = ints[0] as usize;
            (0..n)
                .flat_map(|k| repeat(&c.types[k], aints[aints.len() - n + k], ints[1 + k]))
                .collect()
        }
        other => panic!("combiner {other} not generated"),
    }
}

/// `n` consecutive elements of `t` starting at `at`.
fn repeat(t: &Datatype, at: i64, n: i64) -> Vec<(i64, i64)> {
    let one = typemap(t);
    (0..n)
        .flat_map(|j| one.iter().map(move |&(d, l)| (d + at + j * t.extent(), l)))
        .collect()
}

/// Pack `count` elements with the reference typemap.
fn reference_pack(t: &Datatype, mem: &[u8], origin: i64, count: i64) -> Vec<u8> {
    let map = typemap(t);
    let mut out = Vec::new();
    for i in 0..count {
        for &(d, l) in &map {
            let at = (origin + i * t.extent() + d) as usize;
            out.extend_from_slice(&mem[at..at + l as usize]);
        }
    }
    out
}

/// Memory covering `count` elements, and the offset of the buffer address.
fn arena(t: &Datatype, count: i64) -> (usize, i64) {
    let ext = t.extent();
    let lo = t.true_lb.min(t.true_lb + (count - 1) * ext).min(0);
    let hi = t.true_ub.max(t.true_ub + (count - 1) * ext).max(0);
    ((hi - lo) as usize + 1, -lo)
}

#[test]
fn random_nested_types_pack_as_their_typemap_says() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..3000 {
        let t = random_type(&mut r, 4);
        let count = 1 + r.below(3);
        let map = typemap(&t);
        assert_eq!(
            t.size(),
            map.iter().map(|m| m.1).sum::<i64>(),
            "case {case}: size"
        );
        if let (Some(lo), Some(hi)) = (
            map.iter().map(|m| m.0).min(),
            map.iter().map(|m| m.0 + m.1).max(),
        ) {
            assert_eq!((t.true_lb, t.true_ub), (lo, hi), "case {case}: true bounds");
        }
        let (len, origin) = arena(&t, count);
        let mem: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
        let base = mem.as_ptr() as usize + origin as usize;
        let mut packed = vec![0u8; (t.size() * count) as usize];
        // SAFETY: `mem` covers every byte of `count` elements at `base`.
        unsafe { pack(&t, base, count, &mut packed) };
        assert_eq!(
            packed,
            reference_pack(&t, &mem, origin, count),
            "case {case}: pack"
        );
        // Unpack into fresh memory: exactly the typemap's bytes change.
        let mut back = vec![0u8; len];
        let bbase = back.as_mut_ptr() as usize + origin as usize;
        // SAFETY: as above.
        unsafe { unpack(&t, &packed, bbase, count) };
        let mut expect = vec![0u8; len];
        for i in 0..count {
            for &(d, l) in &map {
                let at = (origin + i * t.extent() + d) as usize;
                expect[at..at + l as usize].copy_from_slice(&mem[at..at + l as usize]);
            }
        }
        // Typemaps may name a byte twice (overlapping blocks); the last
        // write wins in both.
        if map.len()
            == map
                .iter()
                .map(|m| m.0)
                .collect::<std::collections::HashSet<_>>()
                .len()
        {
            assert_eq!(back, expect, "case {case}: unpack");
        }
    }
}

#[test]
fn layouts_of_one_signature_exchange_values() {
    let mut r = Rng(0x1234_5678_9abc_def1);
    for case in 0..1000 {
        let a = random_type(&mut r, 4);
        // Another layout of the same signature: the same basic elements, in
        // order, spread out with gaps.
        let mut members = Vec::new();
        let mut at = 0i64;
        a.node.leaves(0, &mut |_, b, n| {
            for _ in 0..n {
                at += r.below(3) * 8;
                members.push((at, get(b).unwrap()));
                at += basic_info(b).unwrap().size;
            }
            true
        });
        let (bl, d, ts): (Vec<i64>, Vec<i64>, Vec<_>) = (
            vec![1; members.len()],
            members.iter().map(|m| m.0).collect(),
            members.iter().map(|m| m.1.clone()).collect(),
        );
        let b = Arc::new(build::structure(&bl, &d, &ts, false).unwrap());
        assert_eq!(a.size(), b.size(), "case {case}");
        let (alen, aorg) = arena(&a, 1);
        let mem: Vec<u8> = (0..alen).map(|_| r.next() as u8).collect();
        let mut wire = vec![0u8; a.size() as usize];
        // SAFETY: the arenas cover one element of each type.
        unsafe { pack(&a, mem.as_ptr() as usize + aorg as usize, 1, &mut wire) };
        let (blen, borg) = arena(&b, 1);
        let mut other = vec![0u8; blen];
        let bbase = other.as_mut_ptr() as usize + borg as usize;
        // SAFETY: as above.
        unsafe { unpack(&b, &wire, bbase, 1) };
        let mut again = vec![0u8; b.size() as usize];
        // SAFETY: as above.
        unsafe { pack(&b, bbase, 1, &mut again) };
        assert_eq!(wire, again, "case {case}");
    }
}

/// `elements_in` (what `MPI_Get_elements` and the truncation check use)
/// against a walk of the typemap: every byte count of up to two whole
/// elements and a part, for random nested types.
#[test]
fn partial_messages_count_elements_as_the_typemap_says() {
    let mut r = Rng(0x51ed_2701_aa55_1234);
    for case in 0..2000 {
        let t = random_type(&mut r, 3);
        let sizes: Vec<i64> = typemap(&t).iter().map(|m| m.1).collect();
        let total: i64 = sizes.iter().sum();
        for bytes in 0..=(2 * total + 1).min(700) {
            let (mut left, mut n, mut exact) = (bytes, 0, true);
            'walk: while left > 0 && total > 0 {
                for &s in &sizes {
                    if left == 0 {
                        break 'walk;
                    }
                    if left < s {
                        exact = false;
                        break 'walk;
                    }
                    left -= s;
                    n += 1;
                }
            }
            assert_eq!(
                t.elements_in(bytes),
                exact.then_some(n),
                "case {case}: {bytes} bytes"
            );
        }
    }
}
