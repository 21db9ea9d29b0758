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
        // member maps (checked by `atomic_path`), accessed only atomically
        // by accumulate-kind operations.
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

impl Window {
    /// The element addresses of `s` and their width, if accumulates on it
    /// go by atomic instructions (see the module's invariant).
    fn atomic_path(&self, s: &Span, elem: MPI_Datatype) -> Option<(usize, Vec<usize>)> {
        if self.flavor != MPI_WIN_FLAVOR_ALLOCATE && self.flavor != MPI_WIN_FLAVOR_SHARED {
            return None;
        }
        let Place::Mapped(base) = s.target.place else {
            return None;
        };
        let width = op::atomic_width(elem)?;
        let mut addrs = Vec::with_capacity(s.bytes / width);
        for &(off, len) in &s.runs {
            let start = (base as i64 + s.addr + off) as usize;
            if start % width != 0 || len % width != 0 {
                return None;
            }
            addrs.extend((0..len / width).map(|i| start + i * width));
        }
        Some((width, addrs))
    }

    /// Combine packed `origin` into the span with `op` element by element
    /// (`None`: `MPI_NO_OP`); the values before, packed. `None` if the span
    /// does not go by atomic instructions.
    pub(crate) fn atomic_update(
        &self,
        s: &Span,
        elem: MPI_Datatype,
        op: MPI_Op,
        origin: Option<&[u8]>,
    ) -> MpiResult<Option<Vec<u8>>> {
        let Some((width, addrs)) = self.atomic_path(s, elem) else {
            return Ok(None);
        };
        let op = if origin.is_some() { op } else { MPI_NO_OP };
        let mut old = vec![0u8; s.bytes];
        for (i, &addr) in addrs.iter().enumerate() {
            let at = i * width..(i + 1) * width;
            let val = |o: &[u8]| o[at.clone()].to_vec();
            let v = origin.map(val).unwrap_or_else(|| vec![0; width]);
            if width == 4 {
                let before = rmw!(
                    AtomicU32,
                    u32,
                    addr,
                    op,
                    elem,
                    u32::from_ne_bytes(v[..].try_into().unwrap())
                );
                old[at].copy_from_slice(&before.to_ne_bytes());
            } else {
                let before = rmw!(
                    AtomicU64,
                    u64,
                    addr,
                    op,
                    elem,
                    u64::from_ne_bytes(v[..].try_into().unwrap())
                );
                old[at].copy_from_slice(&before.to_ne_bytes());
            }
        }
        Ok(Some(old))
    }

    /// Compare-and-swap of one element; the value before. `None` if the
    /// span does not go by atomic instructions.
    pub(crate) fn atomic_cas(
        &self,
        s: &Span,
        elem: MPI_Datatype,
        new: &[u8],
        cmp: &[u8],
    ) -> Option<Vec<u8>> {
        let (width, addrs) = self.atomic_path(s, elem)?;
        let &[addr] = &addrs[..] else {
            return None;
        };
        // SAFETY: as in `rmw!`.
        Some(if width == 4 {
            let a = unsafe { &*(addr as *const AtomicU32) };
            let (n, c) = (
                u32::from_ne_bytes(new.try_into().ok()?),
                u32::from_ne_bytes(cmp.try_into().ok()?),
            );
            let before = a
                .compare_exchange(c, n, SeqCst, SeqCst)
                .unwrap_or_else(|x| x);
            before.to_ne_bytes().to_vec()
        } else {
            let a = unsafe { &*(addr as *const AtomicU64) };
            let (n, c) = (
                u64::from_ne_bytes(new.try_into().ok()?),
                u64::from_ne_bytes(cmp.try_into().ok()?),
            );
            let before = a
                .compare_exchange(c, n, SeqCst, SeqCst)
                .unwrap_or_else(|x| x);
            before.to_ne_bytes().to_vec()
        })
    }
}
