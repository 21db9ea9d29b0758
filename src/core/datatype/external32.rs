//! The `external32` representation (MPI-4.1 section 5.2.4): every basic
//! value big-endian, at the standard's sizes (a C `long` travels as 4
//! bytes, a `wchar_t` as 2), `long double` as IEEE binary128. Values too
//! large for a narrower external size are truncated, as the standard
//! leaves them undefined.

use super::Datatype;
use super::predefined::{BasicInfo, Class, basic_info};

fn info(b: crate::core::types::MPI_Datatype) -> &'static BasicInfo {
    basic_info(b).expect("leaves are basic types")
}

/// Bytes of one element of `t` in external32.
pub fn size(t: &Datatype) -> i64 {
    let mut n = 0;
    t.node.leaves(0, &mut |_, b, k| {
        n += k * info(b).ext32;
        true
    });
    n
}

/// Convert one value between native order/size (`native`) and external32
/// (`ext`); `to_ext` says which way.
fn convert(b: &BasicInfo, native: &mut [u8], ext: &mut [u8], to_ext: bool) {
    let (s, e) = (b.size as usize, b.ext32 as usize);
    match b.class {
        Class::Byte => {
            if to_ext {
                ext.copy_from_slice(native)
            } else {
                native.copy_from_slice(ext)
            }
        }
        Class::LongDouble => {
            let mut quad = [0u8; 16];
            if to_ext {
                quad = x87_to_binary128(native).to_be_bytes();
                ext.copy_from_slice(&quad);
            } else {
                quad.copy_from_slice(ext);
                native.copy_from_slice(&binary128_to_x87(u128::from_be_bytes(quad)));
            }
        }
        Class::Complex | Class::ComplexLongDouble => {
            let (h, he) = (s / 2, e / 2);
            let half = BasicInfo {
                size: h as i64,
                ext32: he as i64,
                class: if b.class == Class::Complex {
                    Class::Float
                } else {
                    Class::LongDouble
                },
                ..*b
            };
            let (n0, n1) = native.split_at_mut(h);
            let (e0, e1) = ext.split_at_mut(he);
            convert(&half, n0, e0, to_ext);
            convert(&half, n1, e1, to_ext);
        }
        Class::Int | Class::Uint | Class::Float => {
            // Native little-endian: the low `e` bytes, reversed.
            if to_ext {
                for i in 0..e {
                    ext[i] = native[e - 1 - i];
                }
            } else {
                for i in 0..e {
                    native[i] = ext[e - 1 - i];
                }
                let negative = b.class == Class::Int && ext[0] & 0x80 != 0;
                native[e..s].fill(if negative { 0xff } else { 0 });
            }
        }
    }
}

/// An x87 extended value (64-bit significand with its integer bit, then
/// sign and 15-bit exponent, little-endian) as binary128 bits: the same
/// exponent bias, the fraction widened.
fn x87_to_binary128(native: &[u8]) -> u128 {
    let mant = u64::from_le_bytes(native[..8].try_into().expect("8 bytes"));
    let se = u16::from_le_bytes([native[8], native[9]]) as u128;
    (se << 112) | (((mant & !(1 << 63)) as u128) << 49)
}

/// The reverse: binary128 bits to x87 extended (the fraction's low 49
/// bits are dropped).
fn binary128_to_x87(q: u128) -> [u8; 16] {
    let se = (q >> 112) as u16;
    let int_bit = if se & 0x7fff != 0 { 1u64 << 63 } else { 0 };
    let mant = ((q >> 49) as u64 & !(1 << 63)) | int_bit;
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&mant.to_le_bytes());
    out[8..10].copy_from_slice(&se.to_le_bytes());
    out
}

/// Visit every basic value of `count` elements of `t`, in order: its
/// offset from the buffer address, its type, and where it sits in the
/// external32 stream.
fn values(t: &Datatype, count: i64, mut f: impl FnMut(isize, &'static BasicInfo, usize)) {
    let mut at = 0usize;
    for i in 0..count {
        t.node.leaves(i * t.extent(), &mut |off, b, k| {
            let bi = info(b);
            for j in 0..k {
                f((off + j * bi.size) as isize, bi, at);
                at += bi.ext32 as usize;
            }
            true
        });
    }
}

/// Pack `count` elements of `t` at `base` into `out` in external32.
///
/// # Safety
/// The typemap's bytes at `base` must be readable.
pub unsafe fn pack(t: &Datatype, base: usize, count: i64, out: &mut [u8]) {
    let mut tmp = [0u8; 32];
    values(t, count, |off, bi, at| {
        let (s, e) = (bi.size as usize, bi.ext32 as usize);
        let src = (base as *const u8).wrapping_offset(off);
        // SAFETY: the caller vouches for the typemap's bytes.
        unsafe { std::ptr::copy_nonoverlapping(src, tmp.as_mut_ptr(), s) };
        convert(bi, &mut tmp[..s], &mut out[at..at + e], true);
    });
}

/// Unpack external32 `data` into `count` elements of `t` at `base`.
///
/// # Safety
/// The typemap's bytes at `base` must be writable.
pub unsafe fn unpack(t: &Datatype, data: &[u8], base: usize, count: i64) {
    let (mut tmp, mut ext) = ([0u8; 32], [0u8; 32]);
    values(t, count, |off, bi, at| {
        let (s, e) = (bi.size as usize, bi.ext32 as usize);
        ext[..e].copy_from_slice(&data[at..at + e]);
        convert(bi, &mut tmp[..s], &mut ext[..e], false);
        let dst = (base as *mut u8).wrapping_offset(off);
        // SAFETY: the caller vouches for the typemap's bytes.
        unsafe { std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst, s) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_double_is_binary128() {
        // 1.0 and -2.5 in x87 extended precision.
        let one = [0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f, 0, 0, 0, 0, 0, 0];
        assert_eq!(x87_to_binary128(&one), 0x3fff << 112);
        assert_eq!(binary128_to_x87(0x3fff << 112), one);
        let m25 = [0, 0, 0, 0, 0, 0, 0, 0xa0, 0x00, 0xc0, 0, 0, 0, 0, 0, 0];
        let q = x87_to_binary128(&m25);
        assert_eq!(q >> 112, 0xc000);
        assert_eq!(binary128_to_x87(q), m25);
    }
}
