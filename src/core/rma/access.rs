//! Moving bytes between an origin buffer and a target's window memory:
//! the target side is a list of runs (its datatype's layout at the target
//! address), filled from or read into packed bytes; mapped memory is
//! copied directly, remote memory goes through the transport's single-copy
//! access.

use super::agent::Io;
use super::{Place, Target, Window};
use crate::core::consts::*;
use crate::core::datatype::{self, MsgBuf};
use crate::core::error::{MpiError, MpiResult};
use crate::core::p2p::engine;
use crate::core::types::*;

/// Where on a target an operation lands: `runs` (offset from `addr`,
/// bytes), in the order of the target datatype's typemap.
pub(crate) struct Span {
    /// The target's rank in the window.
    pub rank: usize,
    pub target: Target,
    pub addr: i64,
    pub runs: Vec<(i64, usize)>,
    pub bytes: usize,
}

impl Window {
    /// The memory `count` elements of `dt` at displacement `disp` of target
    /// `rank` cover, checked against the target's window.
    pub(crate) fn span(
        &self,
        rank: usize,
        disp: i64,
        count: i64,
        dt: MPI_Datatype,
    ) -> MpiResult<Span> {
        let target = self.targets[rank];
        let m = datatype::message(count, dt)?;
        let mut runs = Vec::new();
        match &m.layout {
            None => {
                if m.bytes > 0 {
                    runs.push((m.offset, m.bytes));
                }
            }
            Some(t) => {
                let mut left = m.bytes as i64;
                t.node.runs(0, count, &mut left, &mut |off, len| {
                    runs.push((off, len as usize))
                });
            }
        }
        let range = || {
            MpiError::new(
                MPI_ERR_RMA_RANGE,
                format!(
                    "displacement {disp} and {count} elements of datatype 0x{dt:x} fall outside \
                     the window of rank {rank} ({} bytes, displacement unit {})",
                    target.size, target.disp_unit
                ),
            )
        };
        let lo = runs.iter().map(|r| r.0).min().unwrap_or(0);
        let hi = runs.iter().map(|r| r.0 + r.1 as i64).max().unwrap_or(0);
        let addr = if self.flavor == MPI_WIN_FLAVOR_DYNAMIC {
            // The displacement is an address (`MPI_Get_address`) in the
            // target's memory. Our own regions are checked here; another
            // member's memory is checked by its window server (on another
            // host), its agent, or the single-copy access, which fails on
            // addresses its process has not mapped.
            if rank == self.rank {
                self.check_attached(disp, &runs, count, dt)?;
            }
            disp
        } else {
            if disp < 0 {
                return Err(range());
            }
            let at = disp.checked_mul(target.disp_unit).ok_or_else(range)?;
            if !runs.is_empty() && (at + lo < 0 || at + hi > target.size) {
                return Err(range());
            }
            at
        };
        Ok(Span {
            rank,
            target,
            addr,
            runs,
            bytes: m.bytes,
        })
    }

    /// Is `runs` at address `addr` inside memory attached here (a dynamic
    /// window)?
    pub(crate) fn check_attached(
        &self,
        addr: i64,
        runs: &[(i64, usize)],
        count: i64,
        dt: MPI_Datatype,
    ) -> MpiResult<()> {
        if runs.is_empty() {
            return Ok(());
        }
        let lo = runs.iter().map(|r| r.0).min().unwrap_or(0);
        let hi = runs.iter().map(|r| r.0 + r.1 as i64).max().unwrap_or(0);
        let inside = match (addr.checked_add(lo), addr.checked_add(hi)) {
            (Some(a), Some(z)) => super::agent::covers(&self.attached.lock(), a, z),
            _ => false,
        };
        if inside {
            return Ok(());
        }
        Err(MpiError::new(
            MPI_ERR_RMA_RANGE,
            format!(
                "address 0x{addr:x} and {count} elements of datatype 0x{dt:x} are not inside \
                 memory attached to this dynamic window"
            ),
        ))
    }

    /// The span of `runs` at `addr` on our own memory, as an origin on
    /// another host computed it (`span`), checked as `span` checks it.
    pub(crate) fn own_span(&self, addr: i64, runs: Vec<(i64, usize)>) -> MpiResult<Span> {
        let target = self.targets[self.rank];
        let bytes = runs.iter().map(|r| r.1).sum();
        if self.flavor == MPI_WIN_FLAVOR_DYNAMIC {
            self.check_attached(addr, &runs, bytes as i64, MPI_BYTE)?;
        } else {
            let lo = runs.iter().map(|r| r.0).min().unwrap_or(0);
            let hi = runs.iter().map(|r| r.0 + r.1 as i64).max().unwrap_or(0);
            if !runs.is_empty()
                && (addr.checked_add(lo).is_none_or(|a| a < 0)
                    || addr.checked_add(hi).is_none_or(|z| z > target.size))
            {
                return Err(MpiError::new(
                    MPI_ERR_RMA_RANGE,
                    format!(
                        "{bytes} bytes at offset {addr} fall outside the window of rank {} \
                         ({} bytes)",
                        self.rank, target.size
                    ),
                ));
            }
        }
        Ok(Span {
            rank: self.rank,
            target,
            addr,
            runs,
            bytes,
        })
    }

    /// Store packed `data` into the span.
    pub(crate) fn store(&self, s: &Span, data: &[u8]) -> MpiResult<()> {
        debug_assert_eq!(data.len(), s.bytes);
        if self.is_far(s.rank) {
            return self.far_put(s, data);
        }
        let mut at = 0;
        for &(off, len) in &s.runs {
            let piece = &data[at..at + len];
            at += len;
            match s.target.place {
                Place::Mapped(base) => {
                    let dst = (base as i64 + s.addr + off) as usize as *mut u8;
                    // SAFETY: the span was checked against the window (or,
                    // for dynamic windows, names memory the target attached
                    // here); `copy` allows the origin buffer to overlap.
                    unsafe { std::ptr::copy(piece.as_ptr(), dst, len) };
                }
                Place::Remote { addr, key } => {
                    let to = (addr as i64 + s.addr + off) as u64;
                    self.remote(s, to, key, Io::Write(piece))?;
                }
                Place::Far => unreachable!("served by the target"),
            }
        }
        Ok(())
    }

    /// The span's bytes, packed.
    pub(crate) fn load(&self, s: &Span) -> MpiResult<Vec<u8>> {
        let mut out = vec![0u8; s.bytes];
        self.load_into(s, &mut out)?;
        Ok(out)
    }

    /// The span's bytes, packed into `out` (`s.bytes` long).
    pub(crate) fn load_into(&self, s: &Span, out: &mut [u8]) -> MpiResult<()> {
        debug_assert_eq!(out.len(), s.bytes);
        if self.is_far(s.rank) {
            return self.far_get(s, out);
        }
        let mut at = 0;
        for &(off, len) in &s.runs {
            let piece = &mut out[at..at + len];
            at += len;
            match s.target.place {
                Place::Mapped(base) => {
                    let src = (base as i64 + s.addr + off) as usize as *const u8;
                    // SAFETY: as in `store`.
                    unsafe { std::ptr::copy(src, piece.as_mut_ptr(), len) };
                }
                Place::Remote { addr, key } => {
                    let from = (addr as i64 + s.addr + off) as u64;
                    self.remote(s, from, key, Io::Read(piece))?;
                }
                Place::Far => unreachable!("served by the target"),
            }
        }
        Ok(())
    }

    /// Get: the span's bytes into an origin buffer, straight into it when
    /// the buffer is contiguous.
    pub(crate) fn load_to(&self, s: &Span, origin: &MsgBuf) -> MpiResult<()> {
        match contiguous(origin) {
            // SAFETY: a checked contiguous message buffer holds its bytes,
            // and the user gave it to this call to be written.
            Some(addr) => self.load_into(s, unsafe {
                std::slice::from_raw_parts_mut(addr as *mut u8, origin.bytes)
            }),
            None => {
                origin.unpack_from(&self.load(s)?);
                Ok(())
            }
        }
    }

    /// Put: an origin buffer's bytes into the span, without a staging copy
    /// when the buffer is contiguous.
    pub(crate) fn store_from(&self, s: &Span, origin: &MsgBuf) -> MpiResult<()> {
        match contiguous(origin) {
            // SAFETY: a checked contiguous message buffer holds its bytes.
            Some(addr) => self.store(s, unsafe {
                std::slice::from_raw_parts(addr as *const u8, origin.bytes)
            }),
            None => self.store(s, &origin.packed()),
        }
    }

    /// Bytes at `addr` of the span's member in another process: by
    /// single-copy access, or where that is off through its agent.
    fn remote(&self, s: &Span, addr: u64, key: u64, io: Io<'_>) -> MpiResult<()> {
        let world = s.target.world;
        match self.reach(world) {
            Ok(t) => match io {
                Io::Write(d) => t.write_remote(world, addr, key, d),
                Io::Read(o) => t.read_remote(world, addr, key, o),
            }
            .map_err(|e| remote_error(world, e)),
            Err(_) if self.agent_area.is_some() => self.through_agent(s.rank, addr, io),
            Err(e) => Err(e),
        }
    }

    fn reach(&self, world: usize) -> MpiResult<crate::core::p2p::Route<'static>> {
        engine()
            .transport_to(world)
            .filter(|t| t.single_copy())
            .ok_or_else(|| {
                MpiError::new(
                    MPI_ERR_UNSUPPORTED_OPERATION,
                    "this window's memory was brought by its owner (MPI_Win_create or a \
                     dynamic window) and single-copy access to it was possible when the \
                     window was made (so no agent serves it), but is off now",
                )
            })
    }
}

fn remote_error(world: usize, e: std::io::Error) -> MpiError {
    let class = if e.raw_os_error() == Some(libc::EFAULT) {
        MPI_ERR_RMA_RANGE
    } else {
        MPI_ERR_OTHER
    };
    MpiError::new(
        class,
        format!("cannot reach the window memory of world rank {world}: {e}"),
    )
}

/// The address of a contiguous, non-empty message buffer's bytes.
fn contiguous(m: &MsgBuf) -> Option<usize> {
    (m.layout.is_none() && m.bytes > 0).then_some(m.addr)
}

/// An origin buffer's data, packed.
pub(crate) fn packed(buf: usize, count: i64, dt: MPI_Datatype) -> MpiResult<(MsgBuf, Vec<u8>)> {
    let m = MsgBuf::new(buf, count, dt)?;
    let data = m.packed().to_vec();
    Ok((m, data))
}

/// The one predefined type every basic element of `dt` is (accumulates
/// combine elements of it).
pub(crate) fn element_type(dt: MPI_Datatype) -> MpiResult<MPI_Datatype> {
    let t = datatype::get(dt)?;
    match element_of(&t) {
        Some(Some(e)) => Ok(e),
        _ => Err(mixed(dt)),
    }
}

/// `Some(None)`: no element at all (bound markers); `None`: mixed.
fn element_of(t: &datatype::Datatype) -> Option<Option<MPI_Datatype>> {
    if let Some(h) = t.named {
        return Some((h != MPI_LB && h != MPI_UB).then_some(h));
    }
    let mut found = None;
    for child in &t.contents.types {
        if let Some(e) = element_of(child)?
            && *found.get_or_insert(e) != e
        {
            return None;
        }
    }
    Some(found)
}

fn mixed(dt: MPI_Datatype) -> MpiError {
    MpiError::new(
        MPI_ERR_TYPE,
        format!(
            "datatype 0x{dt:x} is not made of one predefined type, as accumulate operations need"
        ),
    )
}

/// `target = origin op target` over packed elements of `elem`. Elements
/// with padding (the value-index pairs) are spread into their C layout
/// for the operation and packed again.
pub(crate) fn combine(
    op: MPI_Op,
    elem: MPI_Datatype,
    origin: &[u8],
    target: &mut [u8],
) -> MpiResult<()> {
    let size = datatype::get(elem)?.size() as usize;
    if size == 0 || target.is_empty() {
        return Ok(());
    }
    let n = target.len() / size;
    let stride = datatype::element_size(elem)?;
    let apply = |a: &[u8], b: &mut [u8]| -> MpiResult<()> {
        // SAFETY: both hold `n` elements of `elem` in its C layout.
        unsafe { crate::core::op::apply(op, elem, n, a.as_ptr(), b.as_mut_ptr()) }
    };
    if stride == size {
        return apply(&origin[..n * size], target);
    }
    let mut a = vec![0u8; n * stride];
    let mut b = vec![0u8; n * stride];
    MsgBuf::new(a.as_mut_ptr() as usize, n as i64, elem)?.unpack_from(origin);
    MsgBuf::new(b.as_mut_ptr() as usize, n as i64, elem)?.unpack_from(target);
    apply(&a, &mut b)?;
    let packed = MsgBuf::new(b.as_ptr() as usize, n as i64, elem)?.packed();
    target.copy_from_slice(&packed);
    Ok(())
}
