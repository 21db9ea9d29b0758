//! The `external32` representation (MPI-4.1 section 5.2.4): every basic
//! value big-endian, at the standard's sizes (a C `long` travels as 4
//! bytes, a `wchar_t` as 2). Values too large for a narrower external size
//! are truncated, as the standard leaves them undefined.

use super::Datatype;
use super::predefined::{BasicInfo, Class, basic_info};

fn info(b: crate::abi::types::MPI_Datatype) -> &'static BasicInfo {
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
        Class::Complex => {
            let (h, he) = (s / 2, e / 2);
            let half = BasicInfo {
                size: h as i64,
                ext32: he as i64,
                class: Class::Float,
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

/// Pack `count` elements of `t` at `base` into `out` in external32.
///
/// # Safety
/// The typemap's bytes at `base` must be readable.
pub unsafe fn pack(t: &Datatype, base: usize, count: i64, out: &mut [u8]) {
    let mut at = 0usize;
    let mut tmp = [0u8; 32];
    for i in 0..count {
        t.node.leaves(i * t.extent(), &mut |off, b, k| {
            let bi = info(b);
            let (s, e) = (bi.size as usize, bi.ext32 as usize);
            for j in 0..k as usize {
                let src = (base as *const u8).wrapping_offset(off as isize + (j * s) as isize);
                // SAFETY: the caller vouches for the typemap's bytes.
                unsafe { std::ptr::copy_nonoverlapping(src, tmp.as_mut_ptr(), s) };
                convert(bi, &mut tmp[..s], &mut out[at..at + e], true);
                at += e;
            }
            true
        });
    }
}

/// Unpack external32 `data` into `count` elements of `t` at `base`.
///
/// # Safety
/// The typemap's bytes at `base` must be writable.
pub unsafe fn unpack(t: &Datatype, data: &[u8], base: usize, count: i64) {
    let mut at = 0usize;
    let mut tmp = [0u8; 32];
    let mut ext = [0u8; 32];
    for i in 0..count {
        t.node.leaves(i * t.extent(), &mut |off, b, k| {
            let bi = info(b);
            let (s, e) = (bi.size as usize, bi.ext32 as usize);
            for j in 0..k as usize {
                ext[..e].copy_from_slice(&data[at..at + e]);
                convert(bi, &mut tmp[..s], &mut ext[..e], false);
                let dst = (base as *mut u8).wrapping_offset(off as isize + (j * s) as isize);
                // SAFETY: the caller vouches for the typemap's bytes.
                unsafe { std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst, s) };
                at += e;
            }
            true
        });
    }
}
