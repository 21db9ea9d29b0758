//! Reductions on the floating-point formats Rust has no type for: C
//! `long double` (x87 80-bit extended on x86, IEEE binary128 elsewhere),
//! Fortran `REAL*16` (binary128) and `REAL*2` (binary16).
//!
//! `rustc_apfloat` does the arithmetic in software, correctly rounded to
//! nearest-even as the hardware does by default, so a sum reduced here is
//! the sum the C compiler would have produced. These types are rare in
//! reductions; being exact matters more than speed.

use super::{bad_pair, zip};
use crate::core::consts::*;
use crate::core::types::MPI_Op;
use rustc_apfloat::Float;
use rustc_apfloat::ieee::{Half, Quad};
use std::cmp::Ordering;

/// C `long double` on this target.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
pub type LongDouble = rustc_apfloat::ieee::X87DoubleExtended;
#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
pub type LongDouble = Quad;

/// Which software format a reduction works in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    LongDouble,
    Quad,
    Half,
}

/// A value stored in `N` bytes of memory (the format's bits, then padding).
#[derive(Clone, Copy)]
#[repr(transparent)]
struct Slot<const N: usize>([u8; N]);

impl<const N: usize> Slot<N> {
    fn get<F: Float>(self) -> F {
        let mut b = [0u8; 16];
        b[..N].copy_from_slice(&self.0);
        let bits = u128::from_ne_bytes(b);
        let mask = if F::BITS >= 128 {
            !0
        } else {
            (1u128 << F::BITS) - 1
        };
        F::from_bits(bits & mask)
    }

    fn put<F: Float>(v: F) -> Self {
        let b = v.to_bits().to_ne_bytes();
        let mut s = [0u8; N];
        s.copy_from_slice(&b[..N]);
        Slot(s)
    }
}

fn max<F: Float>(x: F, y: F) -> F {
    if y.partial_cmp(&x) == Some(Ordering::Greater) || x.is_nan() {
        y
    } else {
        x
    }
}

fn min<F: Float>(x: F, y: F) -> F {
    if y.partial_cmp(&x) == Some(Ordering::Less) || x.is_nan() {
        y
    } else {
        x
    }
}

fn truth<F: Float>(b: bool) -> F {
    if b { F::from_u128(1).value } else { F::ZERO }
}

fn mul_complex<F: Float>(x: [F; 2], y: [F; 2]) -> [F; 2] {
    let re = (x[0] * y[0]).value - (x[1] * y[1]).value;
    let im = (x[0] * y[1]).value + (x[1] * y[0]).value;
    [re.value, im.value]
}

/// `b[i] = a[i] op b[i]` on `n` reals of format `F`, each in `N` bytes.
///
/// # Safety
/// `a` and `b` hold `n` elements of `N` bytes each (any alignment).
unsafe fn real<F: Float, const N: usize>(op: MPI_Op, n: usize, a: *const u8, b: *mut u8) -> bool {
    let f = |g: fn(F, F) -> F| {
        // SAFETY: forwarded from this function's contract.
        unsafe { zip::<Slot<N>>(n, a, b, |x, y| Slot::put(g(x.get(), y.get()))) }
    };
    match op {
        MPI_SUM => f(|x, y| (x + y).value),
        MPI_PROD => f(|x, y| (x * y).value),
        MPI_MAX => f(max),
        MPI_MIN => f(min),
        MPI_LAND => f(|x, y| truth(!x.is_zero() && !y.is_zero())),
        MPI_LOR => f(|x, y| truth(!x.is_zero() || !y.is_zero())),
        MPI_LXOR => f(|x, y| truth(x.is_zero() != y.is_zero())),
        _ => return false,
    }
    true
}

/// The same on complex numbers: two reals of `N` bytes each.
///
/// # Safety
/// `a` and `b` hold `n` complex elements of `2 * N` bytes each.
unsafe fn complex<F: Float, const N: usize>(
    op: MPI_Op,
    n: usize,
    a: *const u8,
    b: *mut u8,
) -> bool {
    let f = |g: fn([F; 2], [F; 2]) -> [F; 2]| {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            zip::<[Slot<N>; 2]>(n, a, b, |x, y| {
                let r = g([x[0].get(), x[1].get()], [y[0].get(), y[1].get()]);
                [Slot::put(r[0]), Slot::put(r[1])]
            })
        }
    };
    match op {
        MPI_SUM => f(|x, y| [(x[0] + y[0]).value, (x[1] + y[1]).value]),
        MPI_PROD => f(mul_complex),
        _ => return false,
    }
    true
}

/// `MAXLOC`/`MINLOC` on `MPI_LONG_DOUBLE_INT`: a 16-byte value, a C `int`,
/// padding to 32 bytes. Ties keep the smaller index.
///
/// # Safety
/// `a` and `b` hold `n` pairs of 32 bytes each.
unsafe fn long_double_int(op: MPI_Op, n: usize, a: *const u8, b: *mut u8) -> bool {
    #[derive(Clone, Copy)]
    #[repr(C)]
    struct Pair(Slot<16>, i32, [u8; 12]);
    let want = match op {
        MPI_MAXLOC => Ordering::Greater,
        MPI_MINLOC => Ordering::Less,
        _ => return false,
    };
    // SAFETY: forwarded from this function's contract.
    unsafe {
        zip::<Pair>(n, a, b, |x, y| {
            let (vx, vy) = (x.0.get::<LongDouble>(), y.0.get::<LongDouble>());
            match vx.partial_cmp(&vy) {
                Some(o) if o == want => x,
                Some(Ordering::Equal) => Pair(x.0, x.1.min(y.1), x.2),
                _ => y,
            }
        })
    };
    true
}

/// Apply a predefined `op` in software format `soft`; `complex` numbers
/// and `pair`s (value, index) when asked.
///
/// # Safety
/// `a` and `b` hold `n` elements of the datatype these describe.
pub(super) unsafe fn apply(
    soft: Format,
    shape: Shape,
    op: MPI_Op,
    n: usize,
    a: *const u8,
    b: *mut u8,
) -> Result<(), crate::core::error::MpiError> {
    // SAFETY: forwarded from this function's contract.
    let done = unsafe {
        match (shape, soft) {
            (Shape::Real, Format::LongDouble) => real::<LongDouble, 16>(op, n, a, b),
            (Shape::Real, Format::Quad) => real::<Quad, 16>(op, n, a, b),
            (Shape::Real, Format::Half) => real::<Half, 2>(op, n, a, b),
            (Shape::Complex, Format::LongDouble) => complex::<LongDouble, 16>(op, n, a, b),
            (Shape::Complex, Format::Quad) => complex::<Quad, 16>(op, n, a, b),
            (Shape::Complex, Format::Half) => complex::<Half, 2>(op, n, a, b),
            (Shape::PairInt, Format::LongDouble) => long_double_int(op, n, a, b),
            (Shape::PairInt, _) => false,
        }
    };
    if done { Ok(()) } else { Err(bad_pair()) }
}

/// How values of a software format are arranged in a datatype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Real,
    Complex,
    PairInt,
}
