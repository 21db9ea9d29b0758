//! The predefined datatypes of the MPICH ABI: names, alignment, external32
//! sizes, and the objects behind their handles. The pair types of
//! `MPI_MAXLOC`/`MPI_MINLOC` are structs with MPICH's layout.

use super::layout::Node;
use super::{Contents, Datatype};
use crate::core::consts::*;
use crate::core::types::MPI_Datatype;
use rustc_hash::FxHashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, LazyLock};

/// What a basic type holds, for external32 and size matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Signed integers (sign-extended when external32 widens them).
    Int,
    Uint,
    Float,
    /// Two floating-point halves.
    Complex,
    /// x87 extended precision in 16 bytes; binary128 in external32.
    LongDouble,
    /// Two `LongDouble` halves.
    ComplexLongDouble,
    /// Characters, bytes, booleans: no byte order.
    Byte,
}

#[derive(Clone, Copy, Debug)]
pub struct BasicInfo {
    pub handle: MPI_Datatype,
    pub name: &'static str,
    pub size: i64,
    pub align: i64,
    /// Bytes in the external32 representation.
    pub ext32: i64,
    pub class: Class,
}

macro_rules! basics {
    ($($h:ident $align:literal $ext32:literal $class:ident;)*) => {
        &[$(BasicInfo {
            handle: $h,
            name: stringify!($h),
            size: (($h as u32 >> 8) & 0xff) as i64,
            align: $align,
            ext32: $ext32,
            class: Class::$class,
        },)*]
    };
}

/// Every predefined type whose element is a single basic value.
const BASICS: &[BasicInfo] = basics! {
    MPI_CHAR 1 1 Byte;
    MPI_SIGNED_CHAR 1 1 Int;
    MPI_UNSIGNED_CHAR 1 1 Uint;
    MPI_BYTE 1 1 Byte;
    MPI_WCHAR 4 2 Uint;
    MPI_SHORT 2 2 Int;
    MPI_UNSIGNED_SHORT 2 2 Uint;
    MPI_INT 4 4 Int;
    MPI_UNSIGNED 4 4 Uint;
    MPI_LONG 8 4 Int;
    MPI_UNSIGNED_LONG 8 4 Uint;
    MPI_FLOAT 4 4 Float;
    MPI_DOUBLE 8 8 Float;
    MPI_LONG_DOUBLE 16 16 LongDouble;
    MPI_LONG_LONG_INT 8 8 Int;
    MPI_UNSIGNED_LONG_LONG 8 8 Uint;
    MPI_PACKED 1 1 Byte;
    MPI_COMPLEX 4 8 Complex;
    MPI_DOUBLE_COMPLEX 8 16 Complex;
    MPI_LOGICAL 4 4 Int;
    MPI_REAL 4 4 Float;
    MPI_DOUBLE_PRECISION 8 8 Float;
    MPI_INTEGER 4 4 Int;
    MPI_CHARACTER 1 1 Byte;
    MPI_REAL4 4 4 Float;
    MPI_REAL8 8 8 Float;
    MPI_REAL16 16 16 Float;
    MPI_COMPLEX8 4 8 Complex;
    MPI_COMPLEX16 8 16 Complex;
    MPI_COMPLEX32 16 32 Complex;
    MPI_INTEGER1 1 1 Int;
    MPI_INTEGER2 2 2 Int;
    MPI_INTEGER4 4 4 Int;
    MPI_INTEGER8 8 8 Int;
    MPI_INTEGER16 16 16 Int;
    MPI_REAL2 2 2 Float;
    MPI_COMPLEX4 2 4 Complex;
    MPI_LOGICAL1 1 1 Int;
    MPI_LOGICAL2 2 2 Int;
    MPI_LOGICAL4 4 4 Int;
    MPI_LOGICAL8 8 8 Int;
    MPI_LOGICAL16 16 16 Int;
    MPI_INT8_T 1 1 Int;
    MPI_INT16_T 2 2 Int;
    MPI_INT32_T 4 4 Int;
    MPI_INT64_T 8 8 Int;
    MPI_UINT8_T 1 1 Uint;
    MPI_UINT16_T 2 2 Uint;
    MPI_UINT32_T 4 4 Uint;
    MPI_UINT64_T 8 8 Uint;
    MPI_C_BOOL 1 1 Byte;
    MPI_C_FLOAT_COMPLEX 4 8 Complex;
    MPI_C_DOUBLE_COMPLEX 8 16 Complex;
    MPI_C_LONG_DOUBLE_COMPLEX 16 32 ComplexLongDouble;
    MPIX_C_FLOAT16 2 2 Float;
    MPI_AINT 8 8 Int;
    MPI_OFFSET 8 8 Int;
    MPI_COUNT 8 8 Int;
    MPI_CXX_BOOL 1 1 Byte;
    MPI_CXX_FLOAT_COMPLEX 4 8 Complex;
    MPI_CXX_DOUBLE_COMPLEX 8 16 Complex;
    MPI_CXX_LONG_DOUBLE_COMPLEX 16 32 ComplexLongDouble;
};

/// Members of a predefined pair: (displacement, basic type).
type Members = &'static [(i64, MPI_Datatype)];

/// Predefined types made of basic ones: handle, name, members, extent.
const PAIRS: &[(MPI_Datatype, &str, Members, i64)] = &[
    (MPI_2INT, "MPI_2INT", &[(0, MPI_INT), (4, MPI_INT)], 8),
    (
        MPI_2INTEGER,
        "MPI_2INTEGER",
        &[(0, MPI_INTEGER), (4, MPI_INTEGER)],
        8,
    ),
    (MPI_2REAL, "MPI_2REAL", &[(0, MPI_REAL), (4, MPI_REAL)], 8),
    (
        MPI_2DOUBLE_PRECISION,
        "MPI_2DOUBLE_PRECISION",
        &[(0, MPI_DOUBLE_PRECISION), (8, MPI_DOUBLE_PRECISION)],
        16,
    ),
    (
        MPI_FLOAT_INT,
        "MPI_FLOAT_INT",
        &[(0, MPI_FLOAT), (4, MPI_INT)],
        8,
    ),
    (
        MPI_DOUBLE_INT,
        "MPI_DOUBLE_INT",
        &[(0, MPI_DOUBLE), (8, MPI_INT)],
        16,
    ),
    (
        MPI_LONG_INT,
        "MPI_LONG_INT",
        &[(0, MPI_LONG), (8, MPI_INT)],
        16,
    ),
    (
        MPI_SHORT_INT,
        "MPI_SHORT_INT",
        &[(0, MPI_SHORT), (4, MPI_INT)],
        8,
    ),
    (
        MPI_LONG_DOUBLE_INT,
        "MPI_LONG_DOUBLE_INT",
        &[(0, MPI_LONG_DOUBLE), (16, MPI_INT)],
        32,
    ),
];

pub fn basic_info(dt: MPI_Datatype) -> Option<&'static BasicInfo> {
    static BY_HANDLE: LazyLock<FxHashMap<MPI_Datatype, &'static BasicInfo>> =
        LazyLock::new(|| BASICS.iter().map(|b| (b.handle, b)).collect());
    BY_HANDLE.get(&dt).copied()
}

/// Element size of a contiguous predefined type, straight from its handle.
pub fn contiguous_size(dt: MPI_Datatype) -> Option<i64> {
    // Indexed by the handle's low byte; holds the handle to confirm it.
    static BY_INDEX: LazyLock<[MPI_Datatype; 256]> = LazyLock::new(|| {
        let mut t = [MPI_DATATYPE_NULL; 256];
        for h in BASICS
            .iter()
            .map(|b| b.handle)
            .chain(PAIRS.iter().map(|p| p.0))
            .filter(|h| crate::handles::is_builtin(*h))
        {
            t[(h & 0xff) as usize] = h;
        }
        t
    });
    (BY_INDEX[(dt & 0xff) as usize] == dt && dt != MPI_DATATYPE_NULL)
        .then_some(((dt as u32 >> 8) & 0xff) as i64)
}

/// The name of a predefined datatype (`MPI_Type_get_name`).
pub fn predefined_name(dt: MPI_Datatype) -> Option<&'static str> {
    match dt {
        MPI_LB => Some("MPI_LB"),
        MPI_UB => Some("MPI_UB"),
        // MPICH's name for this handle; MPI_C_FLOAT_COMPLEX is its synonym.
        MPI_C_FLOAT_COMPLEX => Some("MPI_C_COMPLEX"),
        _ => basic_info(dt)
            .map(|b| b.name)
            .or_else(|| PAIRS.iter().find(|p| p.0 == dt).map(|p| p.1)),
    }
}

/// `MPI_Type_match_size`: the Fortran type of this class and size.
pub fn match_size(class: i32, size: i64) -> Option<MPI_Datatype> {
    let candidates: &[MPI_Datatype] = match class {
        MPI_TYPECLASS_REAL => &[MPI_REAL2, MPI_REAL4, MPI_REAL8, MPI_REAL16],
        MPI_TYPECLASS_INTEGER => &[
            MPI_INTEGER1,
            MPI_INTEGER2,
            MPI_INTEGER4,
            MPI_INTEGER8,
            MPI_INTEGER16,
        ],
        MPI_TYPECLASS_COMPLEX => &[MPI_COMPLEX4, MPI_COMPLEX8, MPI_COMPLEX16, MPI_COMPLEX32],
        _ => return None,
    };
    candidates
        .iter()
        .copied()
        .find(|&h| basic_info(h).is_some_and(|b| b.size == size))
}

fn named(
    handle: MPI_Datatype,
    node: Node,
    lb: i64,
    ub: i64,
    align: i64,
    elements: i64,
) -> Datatype {
    Datatype {
        combiner: MPI_COMBINER_NAMED,
        contents: Contents::default(),
        lb,
        ub,
        true_lb: node.dense.unwrap_or(0),
        true_ub: match &node.kind {
            super::layout::NodeKind::Struct { members } => members
                .iter()
                .map(|(d, l, c)| d + l * c.size)
                .max()
                .unwrap_or(0),
            _ => node.size,
        },
        node: Arc::new(node),
        sticky_lb: false,
        sticky_ub: false,
        align,
        elements,
        named: Some(handle),
        fixed: false,
        committed: AtomicBool::new(true),
        name: Default::default(),
        attrs: Default::default(),
        reg: Default::default(),
    }
}

/// The objects behind every predefined handle.
pub(super) fn all() -> FxHashMap<MPI_Datatype, Arc<Datatype>> {
    let mut m = FxHashMap::default();
    for b in BASICS {
        let node = Node::leaf(b.handle, b.size, 1);
        m.insert(
            b.handle,
            Arc::new(named(b.handle, node, 0, b.size, b.align, 1)),
        );
    }
    for (h, _, members, extent) in PAIRS {
        let leaves = members
            .iter()
            .map(|&(d, t)| {
                let b = basic_info(t).expect("pair members are basic");
                (d, 1, Arc::new(Node::leaf(t, b.size, 1)))
            })
            .collect();
        let align = members
            .iter()
            .map(|&(_, t)| basic_info(t).map_or(1, |b| b.align))
            .max()
            .unwrap_or(1);
        let node = Node::structure(leaves, *extent);
        m.insert(
            *h,
            Arc::new(named(*h, node, 0, *extent, align, members.len() as i64)),
        );
    }
    // The markers of MPI-1 struct bounds: no data, no extent.
    for h in [MPI_LB, MPI_UB] {
        let node = Node::structure(Vec::new(), 0);
        m.insert(h, Arc::new(named(h, node, 0, 0, 1, 0)));
    }
    m
}
