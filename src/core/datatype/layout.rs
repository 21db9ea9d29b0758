//! The compiled form of a datatype's typemap: a small tree of loops over
//! contiguous runs, which packing, unpacking, element counting and the
//! external32 conversion all walk.
//!
//! A node describes one element of a datatype, at offset 0. Where a node's
//! bytes form one run in typemap order (`dense`), walkers copy it whole,
//! whatever is inside; adjacent runs are merged again as they are emitted,
//! so a struct whose members touch costs one copy.

use crate::core::types::MPI_Datatype;
use std::sync::Arc;

/// One element of a datatype.
#[derive(Debug)]
pub struct Node {
    /// Bytes of data (the type's size).
    pub size: i64,
    /// Distance between consecutive elements when the type is repeated.
    pub extent: i64,
    /// `Some(off)`: the data is the bytes `[off, off + size)`, in order.
    pub dense: Option<i64>,
    /// The data as equally spaced runs of equal length (vectors, columns,
    /// strided elements): the fast path of packing.
    pub runs: Option<Runs>,
    pub kind: NodeKind,
}

/// `n` runs of `len` bytes, the first at `off`, each `stride` after the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runs {
    pub off: i64,
    pub n: i64,
    pub len: i64,
    pub stride: i64,
}

impl Runs {
    /// Runs of `count` elements `extent` apart, when they still form one
    /// progression.
    fn repeated(self, count: i64, extent: i64) -> Option<Runs> {
        if count == 1 {
            return Some(self);
        }
        if self.n == 1 && extent == self.len {
            return Some(Runs {
                len: self.len * count,
                ..self
            });
        }
        if self.n == 1 {
            return Some(Runs {
                n: count,
                stride: extent,
                ..self
            });
        }
        (self.n * self.stride == extent).then_some(Runs {
            n: self.n * count,
            ..self
        })
    }
}

#[derive(Debug)]
pub enum NodeKind {
    /// `n` consecutive basic elements of the predefined type `basic`.
    Leaf { basic: MPI_Datatype, n: i64 },
    /// Blocks of consecutive `child` elements.
    Blocks { child: Arc<Node>, blocks: Blocks },
    /// Struct members: displacement, blocklength, member type.
    Struct { members: Vec<(i64, i64, Arc<Node>)> },
}

/// Where the blocks of a `Blocks` node lie (displacements in bytes).
#[derive(Debug)]
pub enum Blocks {
    Strided {
        count: i64,
        blocklen: i64,
        stride: i64,
    },
    /// Displacement and blocklength of each block.
    List(Vec<(i64, i64)>),
}

impl Blocks {
    fn for_each(&self, mut f: impl FnMut(i64, i64) -> bool) -> bool {
        match self {
            Blocks::Strided {
                count,
                blocklen,
                stride,
            } => (0..*count).all(|i| f(i * stride, *blocklen)),
            Blocks::List(v) => v.iter().all(|&(d, l)| f(d, l)),
        }
    }
}

impl Node {
    pub fn leaf(basic: MPI_Datatype, size: i64, n: i64) -> Node {
        Node {
            size: size * n,
            extent: size * n,
            dense: Some(0),
            runs: Some(Runs {
                off: 0,
                n: 1,
                len: size * n,
                stride: 0,
            }),
            kind: NodeKind::Leaf { basic, n },
        }
    }

    /// Consecutive elements of this node are one run.
    fn packs_flat(&self) -> bool {
        self.dense.is_some() && self.extent == self.size
    }

    /// The run `blocklen` consecutive elements of `child` form, if they do.
    fn block_run(child: &Node, blocklen: i64) -> Option<i64> {
        let off = child.dense?;
        (blocklen == 1 || child.extent == child.size).then_some(off)
    }

    /// A node of blocks of `child`; `extent` is the new type's.
    pub fn blocks(child: Arc<Node>, blocks: Blocks, extent: i64) -> Node {
        // Dense when every block is one run and each starts where the last ended.
        let mut size = 0i64;
        let mut dense = Some(None::<i64>);
        let mut next = 0i64;
        blocks.for_each(|d, l| {
            if l == 0 || child.size == 0 {
                return true;
            }
            size += l * child.size;
            match (dense, Node::block_run(&child, l)) {
                (Some(None), Some(o)) => dense = Some(Some(d + o)),
                (Some(Some(_)), Some(o)) if d + o == next => {}
                _ => dense = None,
            }
            next = d + Node::block_run(&child, l).unwrap_or(0) + l * child.size;
            true
        });
        // Leaves merge: a block of one run of a leaf is a longer leaf.
        if let (NodeKind::Leaf { basic, n }, Some(Some(0))) = (&child.kind, dense)
            && child.packs_flat()
        {
            let total = size / child.size.max(1) * n;
            let mut leaf = Node::leaf(*basic, child.size / n.max(&1), total);
            leaf.extent = extent;
            return leaf;
        }
        let dense = match dense {
            Some(Some(o)) => Some(o),
            Some(None) => Some(0),
            None => None,
        };
        let runs = match (dense, &blocks) {
            _ if size == 0 => None,
            (Some(o), _) => Some(Runs {
                off: o,
                n: 1,
                len: size,
                stride: 0,
            }),
            (
                None,
                &Blocks::Strided {
                    count,
                    blocklen,
                    stride,
                },
            ) => match Node::block_run(&child, blocklen) {
                Some(o) => Some(Runs {
                    off: o,
                    n: count,
                    len: blocklen * child.size,
                    stride,
                }),
                None if count == 1 => child.runs.and_then(|r| r.repeated(blocklen, child.extent)),
                None => None,
            },
            _ => None,
        };
        Node {
            size,
            extent,
            dense,
            runs,
            kind: NodeKind::Blocks { child, blocks },
        }
    }

    pub fn structure(members: Vec<(i64, i64, Arc<Node>)>, extent: i64) -> Node {
        let mut size = 0i64;
        let mut dense = Some(None::<i64>);
        let mut next = 0i64;
        for (d, l, c) in &members {
            if *l == 0 || c.size == 0 {
                continue;
            }
            size += l * c.size;
            match (dense, Node::block_run(c, *l)) {
                (Some(None), Some(o)) => dense = Some(Some(d + o)),
                (Some(Some(_)), Some(o)) if d + o == next => {}
                _ => dense = None,
            }
            next = d + Node::block_run(c, *l).unwrap_or(0) + l * c.size;
        }
        let dense = match dense {
            Some(Some(o)) => Some(o),
            Some(None) => Some(0),
            None => None,
        };
        Node {
            size,
            extent,
            dense,
            runs: dense.filter(|_| size > 0).map(|o| Runs {
                off: o,
                n: 1,
                len: size,
                stride: 0,
            }),
            kind: NodeKind::Struct { members },
        }
    }

    /// The same typemap with another extent (`MPI_Type_create_resized`).
    pub fn with_extent(self: &Arc<Node>, extent: i64) -> Node {
        Node::blocks(
            self.clone(),
            Blocks::Strided {
                count: 1,
                blocklen: 1,
                stride: 0,
            },
            extent,
        )
    }

    /// Emit the runs of `count` elements at `base`, in typemap order, until
    /// `left` bytes have been emitted. `f(offset, len)`.
    pub fn runs(&self, base: i64, count: i64, left: &mut i64, f: &mut impl FnMut(i64, i64)) {
        if let Some(o) = self.dense
            && (count == 1 || self.extent == self.size)
        {
            let n = (self.size * count).min(*left);
            if n > 0 {
                f(base + o, n);
                *left -= n;
            }
            return;
        }
        for i in 0..count {
            if !self.walk(base + i * self.extent, left, f) {
                return;
            }
        }
    }

    /// One element; false once `left` is used up.
    fn walk(&self, base: i64, left: &mut i64, f: &mut impl FnMut(i64, i64)) -> bool {
        if *left <= 0 {
            return false;
        }
        if let Some(o) = self.dense {
            let n = self.size.min(*left);
            if n > 0 {
                f(base + o, n);
                *left -= n;
            }
            return *left > 0;
        }
        match &self.kind {
            NodeKind::Leaf { .. } => unreachable!("leaves are dense"),
            NodeKind::Blocks { child, blocks } => {
                blocks.for_each(|d, l| Node::walk_block(child, base + d, l, left, f))
            }
            NodeKind::Struct { members } => members
                .iter()
                .all(|(d, l, c)| Node::walk_block(c, base + d, *l, left, f)),
        }
    }

    fn walk_block(
        child: &Node,
        start: i64,
        blocklen: i64,
        left: &mut i64,
        f: &mut impl FnMut(i64, i64),
    ) -> bool {
        if child.size == 0 || blocklen == 0 {
            return *left > 0;
        }
        if let Some(o) = Node::block_run(child, blocklen) {
            let n = (blocklen * child.size).min(*left);
            f(start + o, n);
            *left -= n;
            return *left > 0;
        }
        (0..blocklen).all(|j| child.walk(start + j * child.extent, left, f))
    }

    /// Visit every run of basic elements of one element at `base`:
    /// `f(offset, basic type, how many)`; stops when `f` returns false.
    pub fn leaves(&self, base: i64, f: &mut impl FnMut(i64, MPI_Datatype, i64) -> bool) -> bool {
        match &self.kind {
            NodeKind::Leaf { basic, n } => f(base, *basic, *n),
            NodeKind::Blocks { child, blocks } => blocks.for_each(|d, l| match &child.kind {
                NodeKind::Leaf { basic, n } if child.packs_flat() => f(base + d, *basic, n * l),
                _ => (0..l).all(|j| child.leaves(base + d + j * child.extent, f)),
            }),
            NodeKind::Struct { members } => members
                .iter()
                .all(|(d, l, c)| (0..*l).all(|j| c.leaves(base + d + j * c.extent, f))),
        }
    }
}

/// Copies `count` elements laid out by `node` at `base` into `out`, in
/// order, up to `out.len()` bytes.
///
/// # Safety
/// Every byte the typemap names at `base` must be readable.
pub unsafe fn pack(node: &Node, base: usize, count: i64, out: &mut [u8]) {
    if let Some(r) = node.runs.and_then(|r| r.repeated(count, node.extent))
        && out.len() as i64 == r.n * r.len
    {
        let src = (base as *const u8).wrapping_offset(r.off as isize);
        // SAFETY: the caller vouches for the source; `out` holds the runs.
        unsafe { copy_runs(src, r.stride as isize, out.as_mut_ptr(), r.len as isize, r) };
        return;
    }
    let mut at = 0usize;
    let mut left = out.len() as i64;
    let mut pending: Option<(i64, i64)> = None;
    let dst = out.as_mut_ptr();
    let flush = |run: (i64, i64), at: &mut usize| {
        // SAFETY: the caller vouches for the source; `out` holds the bytes.
        unsafe {
            copy(
                (base as *const u8).wrapping_offset(run.0 as isize),
                dst.add(*at),
                run.1 as usize,
            )
        };
        *at += run.1 as usize;
    };
    node.runs(0, count, &mut left, &mut |off, len| match pending {
        Some((o, l)) if o + l == off => pending = Some((o, l + len)),
        Some(run) => {
            flush(run, &mut at);
            pending = Some((off, len));
        }
        None => pending = Some((off, len)),
    });
    if let Some(run) = pending {
        flush(run, &mut at);
    }
}

/// Copies `data` (packed bytes, possibly fewer than `count` whole
/// elements) into `count` elements laid out by `node` at `base`.
///
/// # Safety
/// Every byte the typemap names at `base` must be writable.
pub unsafe fn unpack(node: &Node, data: &[u8], base: usize, count: i64) {
    if let Some(r) = node.runs.and_then(|r| r.repeated(count, node.extent))
        && data.len() as i64 == r.n * r.len
    {
        let dst = (base as *mut u8).wrapping_offset(r.off as isize);
        // SAFETY: the caller vouches for the destination; `data` holds the runs.
        unsafe { copy_runs(data.as_ptr(), r.len as isize, dst, r.stride as isize, r) };
        return;
    }
    let mut at = 0usize;
    let mut left = data.len() as i64;
    let src = data.as_ptr();
    node.runs(0, count, &mut left, &mut |off, len| {
        // SAFETY: the caller vouches for the destination; `data` holds the bytes.
        unsafe {
            copy(
                src.add(at),
                (base as *mut u8).wrapping_offset(off as isize),
                len as usize,
            )
        };
        at += len as usize;
    });
}

/// Copy `r.n` runs of `r.len` bytes, stepping the source and destination
/// by their strides; small run lengths get loops of fixed-size moves.
#[inline(always)]
unsafe fn copy_runs(src: *const u8, sstep: isize, dst: *mut u8, dstep: isize, r: Runs) {
    macro_rules! fixed {
        ($t:ty) => {
            for i in 0..r.n as isize {
                // SAFETY: the callers pass valid, non-overlapping runs.
                unsafe {
                    let v = src.wrapping_offset(i * sstep).cast::<$t>().read_unaligned();
                    dst.wrapping_offset(i * dstep)
                        .cast::<$t>()
                        .write_unaligned(v);
                }
            }
        };
    }
    match r.len {
        1 => fixed!(u8),
        2 => fixed!(u16),
        4 => fixed!(u32),
        8 => fixed!(u64),
        16 => fixed!(u128),
        32 => fixed!([u128; 2]),
        len => {
            for i in 0..r.n as isize {
                // SAFETY: as above.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        src.wrapping_offset(i * sstep),
                        dst.wrapping_offset(i * dstep),
                        len as usize,
                    )
                };
            }
        }
    }
}

/// Copy one run; the common small sizes as single moves.
#[inline(always)]
unsafe fn copy(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: the callers pass valid, non-overlapping runs.
    unsafe {
        match len {
            4 => dst
                .cast::<u32>()
                .write_unaligned(src.cast::<u32>().read_unaligned()),
            8 => dst
                .cast::<u64>()
                .write_unaligned(src.cast::<u64>().read_unaligned()),
            16 => dst
                .cast::<u128>()
                .write_unaligned(src.cast::<u128>().read_unaligned()),
            _ => std::ptr::copy_nonoverlapping(src, dst, len),
        }
    }
}
