//! Datatype constructors: each computes the new type's bounds from its
//! blocks (MPI-4.1 section 5.1), compiles its layout node and records its
//! arguments for `MPI_Type_get_contents`. Callers have checked counts and
//! handles; arithmetic that would overflow is reported here.

use super::layout::{Blocks, Node};
use super::{Contents, Datatype};
use crate::core::consts::*;
use crate::core::error::{MpiError, MpiResult};
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

type T = Arc<Datatype>;

fn overflow() -> MpiError {
    MpiError::new(MPI_ERR_ARG, "datatype size or extent overflows")
}

fn mul(a: i64, b: i64) -> MpiResult<i64> {
    a.checked_mul(b).ok_or_else(overflow)
}

/// Bounds, alignment and element count gathered over a type's blocks.
#[derive(Default)]
struct Acc {
    lb: Option<i64>,
    ub: Option<i64>,
    sticky_lb: Option<i64>,
    sticky_ub: Option<i64>,
    true_lb: Option<i64>,
    true_ub: Option<i64>,
    align: i64,
    elements: i64,
}

fn min(a: Option<i64>, b: i64) -> Option<i64> {
    Some(a.map_or(b, |a| a.min(b)))
}

fn max(a: Option<i64>, b: i64) -> Option<i64> {
    Some(a.map_or(b, |a| a.max(b)))
}

impl Acc {
    /// `blocklen` consecutive elements of `c` starting at `d`; `copies`
    /// says how many such blocks the caller stands for (element count).
    fn block(&mut self, d: i64, blocklen: i64, c: &Datatype) -> MpiResult<()> {
        if blocklen == 0 {
            return Ok(());
        }
        self.align = self.align.max(c.align);
        match c.named {
            Some(MPI_LB) => {
                self.sticky_lb = min(self.sticky_lb, d);
                return Ok(());
            }
            Some(MPI_UB) => {
                self.sticky_ub = max(self.sticky_ub, d);
                return Ok(());
            }
            _ => {}
        }
        if c.size() == 0 && !c.sticky_lb && !c.sticky_ub {
            return Ok(());
        }
        let span = mul(blocklen - 1, c.extent())?;
        let (lo, hi) = (span.min(0), span.max(0));
        let lb = d + c.lb + lo;
        let ub = d + c.ub + hi;
        self.lb = min(self.lb, lb);
        self.ub = max(self.ub, ub);
        if c.sticky_lb {
            self.sticky_lb = min(self.sticky_lb, lb);
        }
        if c.sticky_ub {
            self.sticky_ub = max(self.sticky_ub, ub);
        }
        if c.size() > 0 {
            self.true_lb = min(self.true_lb, d + c.true_lb + lo);
            self.true_ub = max(self.true_ub, d + c.true_ub + hi);
        }
        Ok(())
    }

    /// The finished type. `pad`: round the extent up to the alignment
    /// (structs without an explicit upper bound, as C compilers do).
    fn finish(
        self,
        combiner: c_int,
        contents: Contents,
        pad: bool,
        node: impl FnOnce(i64) -> Node,
    ) -> MpiResult<Datatype> {
        let lb = self.sticky_lb.or(self.lb).unwrap_or(0);
        let mut ub = self.sticky_ub.or(self.ub).unwrap_or(0);
        if pad && self.sticky_ub.is_none() && self.align > 1 {
            let ext = ub - lb;
            ub += (self.align - ext.rem_euclid(self.align)) % self.align;
        }
        let node = node(ub - lb);
        if node.size < 0 {
            return Err(overflow());
        }
        Ok(Datatype {
            combiner,
            contents,
            node: Arc::new(node),
            lb,
            ub,
            true_lb: self.true_lb.unwrap_or(0),
            true_ub: self.true_ub.unwrap_or(0),
            sticky_lb: self.sticky_lb.is_some(),
            sticky_ub: self.sticky_ub.is_some(),
            align: self.align.max(1),
            elements: self.elements,
            named: None,
            fixed: false,
            committed: AtomicBool::new(false),
            name: Default::default(),
            attrs: Default::default(),
            reg: Default::default(),
        })
    }
}

/// Integer arguments go to `ints`, or to `counts` for `_c` constructors.
fn args(large: bool, ints: Vec<i64>, aints: Vec<i64>, types: Vec<T>) -> Contents {
    if large {
        Contents {
            ints: Vec::new(),
            aints: Vec::new(),
            counts: ints.into_iter().chain(aints).collect(),
            types,
        }
    } else {
        Contents {
            ints,
            aints,
            counts: Vec::new(),
            types,
        }
    }
}

/// `count` blocks of `blocklen` elements, `stride` bytes apart.
fn strided(
    count: i64,
    blocklen: i64,
    stride: i64,
    old: &T,
    combiner: c_int,
    contents: Contents,
) -> MpiResult<Datatype> {
    let mut acc = Acc::default();
    if count > 0 {
        acc.block(0, blocklen, old)?;
        acc.block(mul(count - 1, stride)?, blocklen, old)?;
    }
    acc.elements = mul(mul(count, blocklen)?, old.elements)?;
    mul(mul(count, blocklen)?, old.size())?;
    let child = old.node.clone();
    acc.finish(combiner, contents, false, |ext| {
        Node::blocks(
            child,
            Blocks::Strided {
                count,
                blocklen,
                stride,
            },
            ext,
        )
    })
}

/// Blocks at byte displacements.
fn listed(
    blocks: Vec<(i64, i64)>,
    old: &T,
    combiner: c_int,
    contents: Contents,
) -> MpiResult<Datatype> {
    let mut acc = Acc::default();
    let mut total = 0i64;
    for &(d, l) in &blocks {
        acc.block(d, l, old)?;
        total = total.checked_add(l).ok_or_else(overflow)?;
    }
    acc.elements = mul(total, old.elements)?;
    mul(total, old.size())?;
    let child = old.node.clone();
    acc.finish(combiner, contents, false, |ext| {
        Node::blocks(child, Blocks::List(blocks), ext)
    })
}

pub fn contiguous(count: i64, old: &T, large: bool) -> MpiResult<Datatype> {
    let c = args(large, vec![count], vec![], vec![old.clone()]);
    strided(1, count, 0, old, MPI_COMBINER_CONTIGUOUS, c)
}

pub fn vector(count: i64, blocklen: i64, stride: i64, old: &T, large: bool) -> MpiResult<Datatype> {
    let c = args(
        large,
        vec![count, blocklen, stride],
        vec![],
        vec![old.clone()],
    );
    strided(
        count,
        blocklen,
        mul(stride, old.extent())?,
        old,
        MPI_COMBINER_VECTOR,
        c,
    )
}

pub fn hvector(
    count: i64,
    blocklen: i64,
    stride: i64,
    old: &T,
    large: bool,
) -> MpiResult<Datatype> {
    let c = args(
        large,
        vec![count, blocklen],
        vec![stride],
        vec![old.clone()],
    );
    strided(count, blocklen, stride, old, MPI_COMBINER_HVECTOR, c)
}

pub fn indexed(blocklens: &[i64], displs: &[i64], old: &T, large: bool) -> MpiResult<Datatype> {
    let ints = std::iter::once(blocklens.len() as i64)
        .chain(blocklens.iter().copied())
        .chain(displs.iter().copied())
        .collect();
    let c = args(large, ints, vec![], vec![old.clone()]);
    let ext = old.extent();
    let blocks = displs
        .iter()
        .zip(blocklens)
        .map(|(&d, &l)| Ok((mul(d, ext)?, l)))
        .collect::<MpiResult<_>>()?;
    listed(blocks, old, MPI_COMBINER_INDEXED, c)
}

pub fn hindexed(blocklens: &[i64], displs: &[i64], old: &T, large: bool) -> MpiResult<Datatype> {
    let ints = std::iter::once(blocklens.len() as i64)
        .chain(blocklens.iter().copied())
        .collect();
    let c = args(large, ints, displs.to_vec(), vec![old.clone()]);
    let blocks = displs
        .iter()
        .copied()
        .zip(blocklens.iter().copied())
        .collect();
    listed(blocks, old, MPI_COMBINER_HINDEXED, c)
}

pub fn indexed_block(blocklen: i64, displs: &[i64], old: &T, large: bool) -> MpiResult<Datatype> {
    let ints = [displs.len() as i64, blocklen]
        .into_iter()
        .chain(displs.iter().copied())
        .collect();
    let c = args(large, ints, vec![], vec![old.clone()]);
    let ext = old.extent();
    let blocks = displs
        .iter()
        .map(|&d| Ok((mul(d, ext)?, blocklen)))
        .collect::<MpiResult<_>>()?;
    listed(blocks, old, MPI_COMBINER_INDEXED_BLOCK, c)
}

pub fn hindexed_block(blocklen: i64, displs: &[i64], old: &T, large: bool) -> MpiResult<Datatype> {
    let c = args(
        large,
        vec![displs.len() as i64, blocklen],
        displs.to_vec(),
        vec![old.clone()],
    );
    let blocks = displs.iter().map(|&d| (d, blocklen)).collect();
    listed(blocks, old, MPI_COMBINER_HINDEXED_BLOCK, c)
}

pub fn structure(
    blocklens: &[i64],
    displs: &[i64],
    types: &[T],
    large: bool,
) -> MpiResult<Datatype> {
    let ints = std::iter::once(blocklens.len() as i64)
        .chain(blocklens.iter().copied())
        .collect();
    let c = args(large, ints, displs.to_vec(), types.to_vec());
    let mut acc = Acc::default();
    let mut members = Vec::with_capacity(types.len());
    for ((&l, &d), t) in blocklens.iter().zip(displs).zip(types) {
        acc.block(d, l, t)?;
        acc.elements = acc
            .elements
            .checked_add(mul(l, t.elements)?)
            .ok_or_else(overflow)?;
        mul(l, t.size())?;
        members.push((d, l, t.node.clone()));
    }
    acc.finish(MPI_COMBINER_STRUCT, c, true, |ext| {
        Node::structure(members, ext)
    })
}

pub fn resized(old: &T, lb: i64, extent: i64, large: bool) -> MpiResult<Datatype> {
    let c = args(large, vec![], vec![lb, extent], vec![old.clone()]);
    let ub = lb.checked_add(extent).ok_or_else(overflow)?;
    Ok(Datatype {
        node: Arc::new(old.node.with_extent(extent)),
        lb,
        ub,
        sticky_lb: true,
        sticky_ub: true,
        ..derived_from(old, MPI_COMBINER_RESIZED, c)
    })
}

/// `MPI_Type_dup`: the same type under a new handle (committed if the
/// original is); attributes are copied by the caller.
pub fn dup(old: &T) -> Datatype {
    let c = Contents {
        types: vec![old.clone()],
        ..Default::default()
    };
    Datatype {
        committed: AtomicBool::new(old.is_committed()),
        ..derived_from(old, MPI_COMBINER_DUP, c)
    }
}

/// A new, uncommitted type with `old`'s layout and bounds.
fn derived_from(old: &Datatype, combiner: c_int, contents: Contents) -> Datatype {
    Datatype {
        combiner,
        contents,
        node: old.node.clone(),
        lb: old.lb,
        ub: old.ub,
        true_lb: old.true_lb,
        true_ub: old.true_ub,
        sticky_lb: old.sticky_lb,
        sticky_ub: old.sticky_ub,
        align: old.align,
        elements: old.elements,
        named: None,
        fixed: false,
        committed: AtomicBool::new(false),
        name: Default::default(),
        attrs: Default::default(),
        reg: Default::default(),
    }
}

/// Replace the recorded constructor of a type built from simpler ones.
fn relabel(mut t: Datatype, combiner: c_int, contents: Contents) -> Datatype {
    t.combiner = combiner;
    t.contents = contents;
    t
}

/// One block of `t` at byte displacement `d`, in a type of bounds
/// `[0, extent)`: how subarrays and distributed arrays place their data.
fn place(t: Datatype, d: i64, extent: i64) -> MpiResult<Datatype> {
    let t = Arc::new(t);
    let moved = Arc::new(hindexed(&[1], &[d], &t, false)?);
    resized(&moved, 0, extent, false)
}

/// Dimensions from the fastest-varying to the slowest.
fn fastest_first<X: Copy>(v: &[X], order: c_int) -> Vec<X> {
    if order == MPI_ORDER_C {
        v.iter().rev().copied().collect()
    } else {
        v.to_vec()
    }
}

pub fn subarray(
    sizes: &[i64],
    subsizes: &[i64],
    starts: &[i64],
    order: c_int,
    old: &T,
    large: bool,
) -> MpiResult<Datatype> {
    let n = sizes.len() as i64;
    for i in 0..sizes.len() {
        if sizes[i] < 1
            || !(0..=sizes[i]).contains(&subsizes[i])
            || !(0..=sizes[i] - subsizes[i]).contains(&starts[i])
        {
            return Err(MpiError::new(
                MPI_ERR_ARG,
                format!(
                    "subarray dimension {i}: size {}, subsize {}, start {} do not fit",
                    sizes[i], subsizes[i], starts[i]
                ),
            ));
        }
    }
    let contents = if large {
        Contents {
            ints: vec![n, order as i64],
            counts: [sizes, subsizes, starts].concat(),
            types: vec![old.clone()],
            ..Default::default()
        }
    } else {
        Contents {
            ints: [&[n][..], sizes, subsizes, starts, &[order as i64]].concat(),
            types: vec![old.clone()],
            ..Default::default()
        }
    };
    let (sz, sub, st) = (
        fastest_first(sizes, order),
        fastest_first(subsizes, order),
        fastest_first(starts, order),
    );
    let ext = old.extent();
    let mut t = contiguous(sub[0], old, false)?;
    let mut step = ext;
    let mut disp = mul(st[0], ext)?;
    for i in 1..sz.len() {
        step = mul(step, sz[i - 1])?;
        t = hvector(sub[i], 1, step, &Arc::new(t), false)?;
        disp = disp.checked_add(mul(st[i], step)?).ok_or_else(overflow)?;
    }
    let total = mul(step, sz[sz.len() - 1])?;
    Ok(relabel(
        place(t, disp, total)?,
        MPI_COMBINER_SUBARRAY,
        contents,
    ))
}

/// One dimension of a distributed array: how many elements this process
/// holds, the index of its first, and the type (over `child`, which steps
/// one index of this dimension) that picks them.
fn distribute(
    gsize: i64,
    distrib: c_int,
    darg: c_int,
    psize: i64,
    coord: i64,
    child: &T,
    step: i64,
) -> MpiResult<(Datatype, i64)> {
    let bad = |m: String| MpiError::new(MPI_ERR_ARG, m);
    match distrib {
        MPI_DISTRIBUTE_NONE => Ok((contiguous(gsize, child, false)?, 0)),
        MPI_DISTRIBUTE_BLOCK => {
            let blk = if darg == MPI_DISTRIBUTE_DFLT_DARG {
                (gsize + psize - 1) / psize
            } else {
                darg as i64
            };
            if blk <= 0 || blk * psize < gsize {
                return Err(bad(format!(
                    "block size {blk} times {psize} processes does not cover {gsize} elements"
                )));
            }
            let first = blk * coord;
            let mine = (gsize - first).clamp(0, blk);
            Ok((
                contiguous(mine, child, false)?,
                if mine > 0 { first } else { 0 },
            ))
        }
        MPI_DISTRIBUTE_CYCLIC => {
            let blk = if darg == MPI_DISTRIBUTE_DFLT_DARG {
                1
            } else {
                darg as i64
            };
            if blk <= 0 {
                return Err(bad(format!("invalid cyclic block size {blk}")));
            }
            let first = coord * blk;
            let mine = if first >= gsize {
                0
            } else {
                let span = gsize - first;
                let cycle = psize * blk;
                span / cycle * blk + (span % cycle).min(blk)
            };
            let (count, rem) = (mine / blk, mine % blk);
            let stride = mul(psize * blk, step)?;
            let mut t = hvector(count, blk, stride, child, false)?;
            if rem > 0 {
                let full = Arc::new(t);
                t = structure(
                    &[1, rem],
                    &[0, mul(count, stride)?],
                    &[full, child.clone()],
                    false,
                )?;
            }
            Ok((t, if mine > 0 { first } else { 0 }))
        }
        _ => Err(bad(format!("invalid distribution {distrib}"))),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn darray(
    size: i64,
    rank: i64,
    gsizes: &[i64],
    distribs: &[c_int],
    dargs: &[c_int],
    psizes: &[i64],
    order: c_int,
    old: &T,
    large: bool,
) -> MpiResult<Datatype> {
    let n = gsizes.len() as i64;
    let ints_of = |v: &[c_int]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
    let (di, da) = (ints_of(distribs), ints_of(dargs));
    let contents = if large {
        Contents {
            ints: [&[size, rank, n][..], &di, &da, psizes, &[order as i64]].concat(),
            counts: gsizes.to_vec(),
            types: vec![old.clone()],
            ..Default::default()
        }
    } else {
        Contents {
            ints: [
                &[size, rank, n][..],
                gsizes,
                &di,
                &da,
                psizes,
                &[order as i64],
            ]
            .concat(),
            types: vec![old.clone()],
            ..Default::default()
        }
    };
    // Process coordinates: the grid is always numbered in row-major order.
    let mut coords = vec![0i64; psizes.len()];
    let mut r = rank;
    for i in (0..psizes.len()).rev() {
        coords[i] = r % psizes[i];
        r /= psizes[i];
    }
    let (g, d, a, p, c) = (
        fastest_first(gsizes, order),
        fastest_first(distribs, order),
        fastest_first(dargs, order),
        fastest_first(psizes, order),
        fastest_first(&coords, order),
    );
    let ext = old.extent();
    let mut child = old.clone();
    let mut step = ext;
    let mut disp = 0i64;
    for i in 0..g.len() {
        if i > 0 {
            step = mul(step, g[i - 1])?;
            // The previous dimensions' type spans one index of this one.
            child = Arc::new(resized(&child, 0, step, false)?);
        }
        let (t, first) = distribute(g[i], d[i], a[i], p[i], c[i], &child, step)?;
        disp = disp.checked_add(mul(first, step)?).ok_or_else(overflow)?;
        child = Arc::new(t);
    }
    let total = mul(step, g[g.len() - 1])?;
    let inner = Arc::try_unwrap(child).unwrap_or_else(|a| dup(&a));
    Ok(relabel(
        place(inner, disp, total)?,
        MPI_COMBINER_DARRAY,
        contents,
    ))
}

/// `MPI_Type_create_f90_*`: the predefined type for the precision and
/// range, under the F90 combiner (cached by the caller).
pub fn f90(combiner: c_int, ints: Vec<i64>, basic: &T) -> Datatype {
    let mut t = dup(basic);
    t.combiner = combiner;
    t.contents = Contents {
        ints,
        ..Default::default()
    };
    t.fixed = true;
    t.committed = AtomicBool::new(true);
    t
}
