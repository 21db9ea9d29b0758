//! Reduction operations: the predefined ones on the types the standard
//! allows them for, and user functions (`MPI_Op_create`).
//!
//! Every operation combines `inout[i] = in[i] op inout[i]`, MPI's order, so
//! non-commutative user operations see their operands the way the standard
//! says. Buffers may be unaligned; each element is read and written
//! unaligned, which the compiler still vectorizes.

use super::error::{MpiError, MpiResult};
use crate::core::callbacks::{Fn_MPI_User_function, Fn_MPI_User_function_c};
use crate::core::consts::*;
use crate::core::types::{MPI_Count, MPI_Datatype, MPI_Op};
use crate::handles::{Kind, Table};
use soft::{Format, Shape};
use std::ffi::c_int;

mod soft;

/// A user-defined operation.
pub struct UserOp {
    pub func: usize,
    pub commute: bool,
    /// Made by `MPI_Op_create_c`: the function takes an `MPI_Count` length.
    pub large_count: bool,
}

pub static USER_OPS: Table<UserOp> = Table::new(Kind::Op);

/// What kind of values a datatype holds, for the ops allowed on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    I128,
    F32,
    F64,
    C32,
    C64,
    /// C `bool`: logical operations only.
    Bool,
    /// `MPI_BYTE`: bitwise operations only.
    Byte,
    /// Value-index pairs for `MAXLOC`/`MINLOC`.
    PairI32,
    PairF32I32,
    PairF32,
    PairF64,
    /// The padded pairs, in their C layout.
    PairF64I32,
    PairI64I32,
    PairI16I32,
    /// Formats done in software: long double, binary128, binary16.
    Soft(Format, Shape),
}

fn elem_of(dt: MPI_Datatype) -> Option<Elem> {
    use Elem::*;
    Some(match dt {
        MPI_CHAR | MPI_SIGNED_CHAR | MPI_INT8_T | MPI_INTEGER1 => I8,
        MPI_UNSIGNED_CHAR | MPI_UINT8_T | MPI_LOGICAL1 => U8,
        MPI_SHORT | MPI_INT16_T | MPI_INTEGER2 | MPI_LOGICAL2 => I16,
        MPI_UNSIGNED_SHORT | MPI_UINT16_T => U16,
        MPI_INT | MPI_INT32_T | MPI_INTEGER | MPI_INTEGER4 | MPI_LOGICAL | MPI_LOGICAL4 => I32,
        MPI_UNSIGNED | MPI_UINT32_T | MPI_WCHAR => U32,
        MPI_LONG | MPI_LONG_LONG_INT | MPI_INT64_T | MPI_INTEGER8 | MPI_LOGICAL8 | MPI_AINT
        | MPI_OFFSET | MPI_COUNT => I64,
        MPI_UNSIGNED_LONG | MPI_UNSIGNED_LONG_LONG | MPI_UINT64_T => U64,
        MPI_INTEGER16 | MPI_LOGICAL16 => I128,
        MPI_FLOAT | MPI_REAL | MPI_REAL4 => F32,
        MPI_DOUBLE | MPI_DOUBLE_PRECISION | MPI_REAL8 => F64,
        MPI_C_FLOAT_COMPLEX | MPI_COMPLEX | MPI_COMPLEX8 | MPI_CXX_FLOAT_COMPLEX => C32,
        MPI_C_DOUBLE_COMPLEX | MPI_DOUBLE_COMPLEX | MPI_COMPLEX16 | MPI_CXX_DOUBLE_COMPLEX => C64,
        MPI_LONG_DOUBLE => Soft(Format::LongDouble, Shape::Real),
        MPI_C_LONG_DOUBLE_COMPLEX | MPI_CXX_LONG_DOUBLE_COMPLEX => {
            Soft(Format::LongDouble, Shape::Complex)
        }
        MPI_LONG_DOUBLE_INT => Soft(Format::LongDouble, Shape::PairInt),
        MPI_REAL16 => Soft(Format::Quad, Shape::Real),
        MPI_COMPLEX32 => Soft(Format::Quad, Shape::Complex),
        MPI_REAL2 | MPIX_C_FLOAT16 => Soft(Format::Half, Shape::Real),
        MPI_COMPLEX4 => Soft(Format::Half, Shape::Complex),
        MPI_C_BOOL | MPI_CXX_BOOL => Bool,
        MPI_BYTE => Byte,
        MPI_2INT | MPI_2INTEGER => PairI32,
        MPI_FLOAT_INT => PairF32I32,
        MPI_2REAL => PairF32,
        MPI_2DOUBLE_PRECISION => PairF64,
        MPI_DOUBLE_INT => PairF64I32,
        MPI_LONG_INT => PairI64I32,
        MPI_SHORT_INT => PairI16I32,
        _ => return None,
    })
}

/// Is `dt` an integer, logical or byte type, whose values compare bit for
/// bit (what `MPI_Compare_and_swap` takes)?
pub fn is_integral(dt: MPI_Datatype) -> bool {
    use Elem::*;
    matches!(
        elem_of(dt),
        Some(I8 | U8 | I16 | U16 | I32 | U32 | I64 | U64 | I128 | Bool | Byte)
    )
}

/// The width of `dt` when it is a 4- or 8-byte integer the processor can
/// update atomically in place (one-sided accumulates use this).
pub fn atomic_width(dt: MPI_Datatype) -> Option<usize> {
    use Elem::*;
    match elem_of(dt)? {
        I32 | U32 => Some(4),
        I64 | U64 => Some(8),
        _ => None,
    }
}

/// Is `op` a valid operation handle?
pub fn check(op: MPI_Op) -> MpiResult<()> {
    if (MPI_MAX..=MPI_NO_OP).contains(&op) || USER_OPS.get(op).is_some() {
        Ok(())
    } else {
        Err(MpiError::new(
            MPI_ERR_OP,
            format!("invalid operation 0x{op:x}"),
        ))
    }
}

pub fn is_commutative(op: MPI_Op) -> MpiResult<bool> {
    check(op)?;
    Ok(USER_OPS.get(op).is_none_or(|u| u.commute))
}

/// Can `op` combine elements of `dt`? Checked on every rank before a
/// reduction communicates, so a bad pair fails everywhere alike instead of
/// leaving the other ranks waiting.
pub fn validate(op: MPI_Op, dt: MPI_Datatype) -> MpiResult<()> {
    check(op)?;
    if USER_OPS.get(op).is_some() {
        return Ok(());
    }
    let size = super::datatype::element_size(dt)?;
    // Run the kernel on one zero element: the same code decides.
    let (a, mut b) = ([0u8; 64], [0u8; 64]);
    if size > a.len() {
        return Err(bad_pair());
    }
    // SAFETY: both scratch buffers hold one element of `dt` (size <= 64).
    unsafe { apply(op, dt, 1, a.as_ptr(), b.as_mut_ptr()) }
}

/// Zip two arrays of `n` values of `T`: `b[i] = f(a[i], b[i])`.
///
/// # Safety
/// `a` and `b` point to `n` values of `T` each (any alignment).
unsafe fn zip<T: Copy>(n: usize, a: *const u8, b: *mut u8, f: impl Fn(T, T) -> T) {
    let (a, b) = (a.cast::<T>(), b.cast::<T>());
    for i in 0..n {
        // SAFETY: in bounds per the caller's contract; unaligned access.
        unsafe {
            let x = a.add(i).read_unaligned();
            let y = b.add(i).read_unaligned();
            b.add(i).write_unaligned(f(x, y));
        }
    }
}

macro_rules! int_op {
    ($t:ty, $op:expr, $n:expr, $a:expr, $b:expr) => {{
        // SAFETY: forwarded from apply's contract.
        unsafe {
            match $op {
                MPI_SUM => zip::<$t>($n, $a, $b, |x, y| x.wrapping_add(y)),
                MPI_PROD => zip::<$t>($n, $a, $b, |x, y| x.wrapping_mul(y)),
                MPI_MAX => zip::<$t>($n, $a, $b, |x, y| x.max(y)),
                MPI_MIN => zip::<$t>($n, $a, $b, |x, y| x.min(y)),
                MPI_LAND => zip::<$t>($n, $a, $b, |x, y| (x != 0 && y != 0) as $t),
                MPI_LOR => zip::<$t>($n, $a, $b, |x, y| (x != 0 || y != 0) as $t),
                MPI_LXOR => zip::<$t>($n, $a, $b, |x, y| ((x != 0) != (y != 0)) as $t),
                MPI_BAND => zip::<$t>($n, $a, $b, |x, y| x & y),
                MPI_BOR => zip::<$t>($n, $a, $b, |x, y| x | y),
                MPI_BXOR => zip::<$t>($n, $a, $b, |x, y| x ^ y),
                _ => return Err(bad_pair()),
            }
        }
    }};
}

macro_rules! float_op {
    ($t:ty, $op:expr, $n:expr, $a:expr, $b:expr) => {{
        // SAFETY: forwarded from apply's contract.
        unsafe {
            match $op {
                MPI_SUM => zip::<$t>($n, $a, $b, |x, y| x + y),
                MPI_PROD => zip::<$t>($n, $a, $b, |x, y| x * y),
                MPI_MAX => zip::<$t>($n, $a, $b, |x, y| if y > x || x.is_nan() { y } else { x }),
                MPI_MIN => zip::<$t>($n, $a, $b, |x, y| if y < x || x.is_nan() { y } else { x }),
                // Logical operations on floating point: an MPICH extension
                // its own suite relies on (nonzero is true).
                MPI_LAND => zip::<$t>($n, $a, $b, |x, y| ((x != 0.0 && y != 0.0) as u8).into()),
                MPI_LOR => zip::<$t>($n, $a, $b, |x, y| ((x != 0.0 || y != 0.0) as u8).into()),
                MPI_LXOR => zip::<$t>($n, $a, $b, |x, y| (((x != 0.0) != (y != 0.0)) as u8).into()),
                _ => return Err(bad_pair()),
            }
        }
    }};
}

macro_rules! complex_op {
    ($t:ty, $op:expr, $n:expr, $a:expr, $b:expr) => {{
        // SAFETY: forwarded from apply's contract; a complex is two reals.
        unsafe {
            match $op {
                MPI_SUM => zip::<[$t; 2]>($n, $a, $b, |x, y| [x[0] + y[0], x[1] + y[1]]),
                MPI_PROD => zip::<[$t; 2]>($n, $a, $b, |x, y| {
                    [x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0]]
                }),
                _ => return Err(bad_pair()),
            }
        }
    }};
}

macro_rules! loc_op {
    ($v:ty, $i:ty, $op:expr, $n:expr, $a:expr, $b:expr) => {{
        // Ties keep the smaller index, as the standard says.
        let pick = |x: ($v, $i), y: ($v, $i), want_max: bool| {
            let better = if want_max { x.0 > y.0 } else { x.0 < y.0 };
            if better {
                x
            } else if x.0 == y.0 {
                (x.0, if x.1 < y.1 { x.1 } else { y.1 })
            } else {
                y
            }
        };
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct P($v, $i);
        // SAFETY: forwarded from apply's contract; the pair types are laid
        // out as a C struct of value then index.
        unsafe {
            match $op {
                MPI_MAXLOC => zip::<P>($n, $a, $b, |x, y| {
                    let r = pick((x.0, x.1), (y.0, y.1), true);
                    P(r.0, r.1)
                }),
                MPI_MINLOC => zip::<P>($n, $a, $b, |x, y| {
                    let r = pick((x.0, x.1), (y.0, y.1), false);
                    P(r.0, r.1)
                }),
                _ => return Err(bad_pair()),
            }
        }
    }};
}

fn bad_pair() -> MpiError {
    MpiError::new(
        MPI_ERR_OP,
        "this operation is not defined for this datatype",
    )
}

/// `inout[i] = in[i] op inout[i]` with the user's function: a schedule
/// holds the operation itself, which `MPI_Op_free` may already have
/// released by the time the reduction runs.
///
/// # Safety
/// `inp` and `inout` each hold `count` elements of `dt`.
pub unsafe fn apply_user(
    u: &UserOp,
    dt: MPI_Datatype,
    count: usize,
    inp: *const u8,
    inout: *mut u8,
) -> MpiResult<()> {
    if count == 0 {
        return Ok(());
    }
    let mut dt = dt;
    if u.large_count {
        let mut len = MPI_Count::try_from(count)
            .map_err(|_| MpiError::new(MPI_ERR_COUNT, "count too large"))?;
        // SAFETY: the user registered this function with
        // MPI_Op_create_c; the buffers hold `count` elements of `dt`.
        unsafe {
            let f: Fn_MPI_User_function_c = std::mem::transmute(u.func);
            f(inp.cast_mut().cast(), inout.cast(), &mut len, &mut dt);
        }
        return Ok(());
    }
    let mut len = c_int::try_from(count).map_err(|_| {
        MpiError::new(
            MPI_ERR_COUNT,
            "count too large for a user operation made by MPI_Op_create (use MPI_Op_create_c)",
        )
    })?;
    // SAFETY: the user registered this function with MPI_Op_create; the
    // buffers hold `count` elements of `dt`.
    unsafe {
        let f: Fn_MPI_User_function = std::mem::transmute(u.func);
        f(inp.cast_mut().cast(), inout.cast(), &mut len, &mut dt);
    }
    Ok(())
}

/// `inout[i] = in[i] op inout[i]` for `count` elements of `dt`.
///
/// # Safety
/// `inp` and `inout` each hold `count` elements of `dt`.
pub unsafe fn apply(
    op: MPI_Op,
    dt: MPI_Datatype,
    count: usize,
    inp: *const u8,
    inout: *mut u8,
) -> MpiResult<()> {
    if count == 0 || op == MPI_NO_OP {
        return Ok(());
    }
    if let Some(u) = USER_OPS.get(op) {
        // SAFETY: as this function's.
        return unsafe { apply_user(&u, dt, count, inp, inout) };
    }
    check(op)?;
    let size = super::datatype::element_size(dt)?;
    if op == MPI_REPLACE {
        // SAFETY: both hold count elements of size bytes.
        unsafe { std::ptr::copy(inp, inout, count * size) };
        return Ok(());
    }
    let Some(elem) = elem_of(dt) else {
        return Err(MpiError::new(
            MPI_ERR_OP,
            format!("reductions on datatype 0x{dt:x} are not supported"),
        ));
    };
    let logical = matches!(op, MPI_LAND | MPI_LOR | MPI_LXOR);
    let bitwise = matches!(op, MPI_BAND | MPI_BOR | MPI_BXOR);
    let (n, a, b) = (count, inp, inout);
    match elem {
        Elem::I8 => int_op!(i8, op, n, a, b),
        Elem::U8 => int_op!(u8, op, n, a, b),
        Elem::I16 => int_op!(i16, op, n, a, b),
        Elem::U16 => int_op!(u16, op, n, a, b),
        Elem::I32 => int_op!(i32, op, n, a, b),
        Elem::U32 => int_op!(u32, op, n, a, b),
        Elem::I64 => int_op!(i64, op, n, a, b),
        Elem::U64 => int_op!(u64, op, n, a, b),
        Elem::I128 => int_op!(i128, op, n, a, b),
        Elem::Bool if logical => int_op!(u8, op, n, a, b),
        Elem::Byte if bitwise => int_op!(u8, op, n, a, b),
        Elem::F32 => float_op!(f32, op, n, a, b),
        Elem::F64 => float_op!(f64, op, n, a, b),
        Elem::C32 => complex_op!(f32, op, n, a, b),
        Elem::C64 => complex_op!(f64, op, n, a, b),
        Elem::PairI32 => loc_op!(i32, i32, op, n, a, b),
        Elem::PairF32I32 => loc_op!(f32, i32, op, n, a, b),
        Elem::PairF32 => loc_op!(f32, f32, op, n, a, b),
        Elem::PairF64 => loc_op!(f64, f64, op, n, a, b),
        Elem::PairF64I32 => loc_op!(f64, i32, op, n, a, b),
        Elem::PairI64I32 => loc_op!(i64, i32, op, n, a, b),
        Elem::PairI16I32 => loc_op!(i16, i32, op, n, a, b),
        // SAFETY: as this function's.
        Elem::Soft(soft, shape) => unsafe { soft::apply(soft, shape, op, n, a, b)? },
        Elem::Bool | Elem::Byte => return Err(bad_pair()),
    }
    Ok(())
}

/// `MPI_Op_create` (`large_count`: `MPI_Op_create_c`): the function's
/// address and whether it commutes.
pub fn create_user(func: usize, commute: bool, large_count: bool) -> MpiResult<MPI_Op> {
    if func == 0 {
        return Err(MpiError::arg("user_fn is a null pointer"));
    }
    Ok(USER_OPS.insert(UserOp {
        func,
        commute,
        large_count,
    }))
}

/// `MPI_Op_free`: the handle becomes `MPI_OP_NULL`.
pub fn free_user(h: &mut MPI_Op) -> MpiResult<()> {
    if USER_OPS.remove(*h).is_none() {
        return Err(MpiError::new(
            MPI_ERR_OP,
            if (MPI_MAX..=MPI_NO_OP).contains(h) {
                "predefined operations cannot be freed".to_string()
            } else {
                format!("invalid operation 0x{:x}", *h)
            },
        ));
    }
    *h = MPI_OP_NULL;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T: Copy>(op: MPI_Op, dt: MPI_Datatype, a: &[T], b: &mut [T]) -> MpiResult<()> {
        // SAFETY: both slices hold a.len() elements of T, which matches dt.
        unsafe { apply(op, dt, a.len(), a.as_ptr().cast(), b.as_mut_ptr().cast()) }
    }

    #[test]
    fn predefined_ops() {
        let mut b = [1i32, 5, -3];
        run(MPI_SUM, MPI_INT, &[2, 2, 2], &mut b).unwrap();
        assert_eq!(b, [3, 7, -1]);
        run(MPI_MAX, MPI_INT, &[9, 0, 0], &mut b).unwrap();
        assert_eq!(b, [9, 7, 0]);
        let mut f = [1.5f64, 2.0];
        run(MPI_PROD, MPI_DOUBLE, &[2.0, 0.5], &mut f).unwrap();
        assert_eq!(f, [3.0, 1.0]);
        let mut c = [[1.0f32, 2.0]];
        run(MPI_PROD, MPI_C_FLOAT_COMPLEX, &[[3.0f32, 4.0]], &mut c).unwrap();
        assert_eq!(c, [[-5.0, 10.0]]);
        let mut l = [(5i32, 2i32), (1, 1)];
        run(MPI_MAXLOC, MPI_2INT, &[(5, 1), (0, 0)], &mut l).unwrap();
        assert_eq!(l, [(5, 1), (1, 1)]);
        let mut z = [1u8, 0];
        run(MPI_LXOR, MPI_C_BOOL, &[1u8, 1], &mut z).unwrap();
        assert_eq!(z, [0, 1]);
        assert_eq!(
            run(MPI_BAND, MPI_DOUBLE, &[1.0f64], &mut [1.0])
                .unwrap_err()
                .code,
            MPI_ERR_OP
        );
        assert_eq!(
            run(MPI_SUM, MPI_C_BOOL, &[1u8], &mut [1]).unwrap_err().code,
            MPI_ERR_OP
        );
        assert_eq!(check(MPI_OP_NULL).unwrap_err().code, MPI_ERR_OP);
    }

    /// An x87 extended value: sign and exponent word over a 64-bit
    /// mantissa with explicit integer bit, padded to 16 bytes.
    #[cfg(target_arch = "x86_64")]
    fn x87(exp: u16, mantissa: u64) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&mantissa.to_le_bytes());
        b[8..10].copy_from_slice(&exp.to_le_bytes());
        b
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn long_double_keeps_its_precision() {
        // 1 + 2^-63 needs all 64 mantissa bits: a double would lose it.
        let one = x87(0x3fff, 1 << 63);
        let tiny = x87(0x3fff - 63, 1 << 63);
        let mut b = [tiny];
        run(MPI_SUM, MPI_LONG_DOUBLE, &[one], &mut b).unwrap();
        assert_eq!(b, [x87(0x3fff, (1 << 63) | 1)]);
        let mut m = [one];
        run(MPI_MAX, MPI_LONG_DOUBLE, &[tiny], &mut m).unwrap();
        assert_eq!(m, [one]);
        // (1 + i) * (1 + i) = 2i
        let zero = [0u8; 16];
        let mut c = [[one, one]];
        run(MPI_PROD, MPI_C_LONG_DOUBLE_COMPLEX, &[[one, one]], &mut c).unwrap();
        assert_eq!(c, [[zero, x87(0x4000, 1 << 63)]]);
        // MINLOC on (value, index) pairs padded to 32 bytes; ties keep
        // the smaller index.
        let pair = |v: [u8; 16], i: i32| {
            let mut p = [0u8; 32];
            p[..16].copy_from_slice(&v);
            p[16..20].copy_from_slice(&i.to_ne_bytes());
            p
        };
        let mut l = [pair(one, 7), pair(one, 1)];
        run(
            MPI_MINLOC,
            MPI_LONG_DOUBLE_INT,
            &[pair(one, 3), pair(tiny, 9)],
            &mut l,
        )
        .unwrap();
        assert_eq!(l, [pair(one, 3), pair(tiny, 9)]);
        assert_eq!(
            run(MPI_BOR, MPI_LONG_DOUBLE, &[one], &mut [one])
                .unwrap_err()
                .code,
            MPI_ERR_OP
        );
    }
}
