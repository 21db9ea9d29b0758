//! Accumulate-kind operations with the processor's atomic instructions.
//!
//! When every member maps a target's memory (the allocate flavours) and the
//! elements are 4- or 8-byte integers at aligned addresses, each element is
//! updated by one atomic read-modify-write in place (`fetch_add`, `swap`,
//! a compare-exchange loop through the operation's kernel for the others),
//! without the target's accumulate lock.
//!
//! Invariant: whether an element goes this way depends only on the window's
//! flavour, the element type and the element's address, never on the
//! operation, the count or the caller, so all accumulate-kind operations on
//! one location with one basic type take the same way and stay atomic with
//! respect to each other (MPI-4.1 section 12.7.1).

use super::access::Span;
use super::{Place, Window};
use crate::core::consts::*;
use crate::core::error::MpiResult;
use crate::core::op;
use crate::core::types::*;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};

/// One element's update; the value before.
macro_rules! rmw {
    ($atomic:ty, $int:ty, $addr:expr, $op:expr, $elem:expr, $val:expr) => {{
        // SAFETY: `$addr` is an aligned element of window memory every
        // member maps (checked by `atomic_path`/`atomic_element`),
        // accessed only atomically by accumulate-kind operations.
        let a = unsafe { &*($addr as *const $atomic) };
        let v: $int = $val;
        match $op {
            MPI_NO_OP => a.load(SeqCst),
            MPI_REPLACE => a.swap(v, SeqCst),
            MPI_SUM => a.fetch_add(v, SeqCst),
            MPI_BAND => a.fetch_and(v, SeqCst),
            MPI_BOR => a.fetch_or(v, SeqCst),
            MPI_BXOR => a.fetch_xor(v, SeqCst),
            _ => {
                let mut cur = a.load(SeqCst);
                loop {
                    let mut new = cur;
                    // SAFETY: one element of `$elem` on each side.
                    unsafe {
                        op::apply(
                            $op,
                            $elem,
                            1,
                            (&v as *const $int).cast(),
                            (&mut new as *mut $int).cast(),
                        )?
                    };
                    match a.compare_exchange_weak(cur, new, SeqCst, SeqCst) {
                        Ok(_) => break cur,
                        Err(c) => cur = c,
                    }
                }
            }
        }
    }};
}

/// `op` applied atomically to the element at `addr` (`val`'s width); the
/// value before. The caller has `addr` from `atomic_path` or
/// `atomic_element`.
pub(crate) fn update(
    addr: usize,
    op: MPI_Op,
    elem: MPI_Datatype,
    val: &[u8],
) -> MpiResult<Vec<u8>> {
    Ok(match *val {
        [a, b, c, d] => rmw!(
            AtomicU32,
            u32,
            addr,
            op,
            elem,
            u32::from_ne_bytes([a, b, c, d])
        )
        .to_ne_bytes()
        .to_vec(),
        [a, b, c, d, e, f, g, h] => rmw!(
            AtomicU64,
            u64,
            addr,
            op,
            elem,
            u64::from_ne_bytes([a, b, c, d, e, f, g, h])
        )
        .to_ne_bytes()
        .to_vec(),
        _ => unreachable!("atomic elements are 4 or 8 bytes"),
    })
}

/// Compare-and-swap of the element at `addr`; the value before.
pub(crate) fn compare_swap(addr: usize, new: &[u8], cmp: &[u8]) -> Vec<u8> {
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        u64::from_ne_bytes(w)
    };
    let (n, c) = (word(new), word(cmp));
    if new.len() == 4 {
        // SAFETY: as in `rmw!`.
        let a = unsafe { &*(addr as *const AtomicU32) };
        let before = a.compare_exchange(c as u32, n as u32, SeqCst, SeqCst);
        before.unwrap_or_else(|x| x).to_ne_bytes().to_vec()
    } else {
        // SAFETY: as in `rmw!`.
        let a = unsafe { &*(addr as *const AtomicU64) };
        let before = a.compare_exchange(c, n, SeqCst, SeqCst);
        before.unwrap_or_else(|x| x).to_ne_bytes().to_vec()
    }
}

impl Window {
    /// Does memory of target `t` take atomic instructions at all?
    fn atomic_base(&self, t: usize) -> Option<usize> {
        if self.flavor != MPI_WIN_FLAVOR_ALLOCATE && self.flavor != MPI_WIN_FLAVOR_SHARED {
            return None;
        }
        match self.targets[t].place {
            Place::Mapped(base) => Some(base),
            Place::Remote { .. } | Place::Far => None,
        }
    }

    /// The element addresses of `s` and their width, if accumulates on it
    /// go by atomic instructions (see the module's invariant).
    fn atomic_path(&self, t: usize, s: &Span, elem: MPI_Datatype) -> Option<(usize, Vec<usize>)> {
        let base = self.atomic_base(t)?;
        let width = op::atomic_width(elem)?;
        let mut addrs = Vec::with_capacity(s.bytes / width);
        for &(off, len) in &s.runs {
            let start = (base as i64 + s.addr + off) as usize;
            if !start.is_multiple_of(width) || !len.is_multiple_of(width) {
                return None;
            }
            addrs.extend((0..len / width).map(|i| start + i * width));
        }
        Some((width, addrs))
    }

    /// The address of the one element of predefined `dt` at `disp` on
    /// target `t`, inside the window, if it goes by atomic instructions
    /// (the decision `atomic_path` makes for it); `None` leaves it, and
    /// any error, to the general path.
    pub(crate) fn atomic_element(&self, t: usize, disp: i64, dt: MPI_Datatype) -> Option<usize> {
        let base = self.atomic_base(t)?;
        let width = op::atomic_width(dt)?;
        let target = self.targets[t];
        let at = disp.checked_mul(target.disp_unit)?;
        if disp < 0 || at.checked_add(width as i64)? > target.size {
            return None;
        }
        let addr = base + at as usize;
        addr.is_multiple_of(width).then_some(addr)
    }

    /// Combine packed `origin` into the span with `op` element by element
    /// (`None`: `MPI_NO_OP`); the values before, packed. `None` if the span
    /// does not go by atomic instructions.
    pub(crate) fn atomic_update(
        &self,
        t: usize,
        s: &Span,
        elem: MPI_Datatype,
        op: MPI_Op,
        origin: Option<&[u8]>,
    ) -> MpiResult<Option<Vec<u8>>> {
        let Some((width, addrs)) = self.atomic_path(t, s, elem) else {
            return Ok(None);
        };
        let op = if origin.is_some() { op } else { MPI_NO_OP };
        let zero = vec![0u8; width];
        let mut old = Vec::with_capacity(s.bytes);
        for (i, &addr) in addrs.iter().enumerate() {
            let val = origin.map_or(&zero[..], |o| &o[i * width..(i + 1) * width]);
            old.extend(update(addr, op, elem, val)?);
        }
        Ok(Some(old))
    }

    /// Compare-and-swap of the span's one element; the value before. `None`
    /// if the span does not go by atomic instructions.
    pub(crate) fn atomic_cas(
        &self,
        t: usize,
        s: &Span,
        elem: MPI_Datatype,
        new: &[u8],
        cmp: &[u8],
    ) -> Option<Vec<u8>> {
        let (_, addrs) = self.atomic_path(t, s, elem)?;
        let &[addr] = &addrs[..] else {
            return None;
        };
        Some(compare_swap(addr, new, cmp))
    }
}
