//! Datatypes: every predefined type of the MPICH ABI and the derived types
//! built from them (`build`), each compiled into a `layout::Node` that
//! packing, unpacking, point-to-point and collectives share.
//!
//! Predefined handles encode their size (bits 8-15), so a message of a
//! contiguous predefined type never looks anything up. Derived types live
//! in a handle table; a handle may be held several times (a type returned
//! by `MPI_Type_get_contents` is the constituent itself, as in MPICH) and
//! leaves the table when its last holder frees it. Communication and
//! enclosing types hold the object itself, so freeing a handle while it is
//! in use is safe.

pub mod bindings;
pub mod build;
pub mod calls;
pub mod external32;
pub mod f90;
pub mod layout;
mod predefined;

use super::attr::Attrs;
use super::error::{MpiError, MpiResult};
use crate::core::consts::*;
use crate::core::types::MPI_Datatype;
use crate::handles::{Kind, Table};
use layout::Node;
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

pub use predefined::{Class, basic_info, match_size, predefined_name};

/// A constructor's arguments, as `MPI_Type_get_contents` returns them.
#[derive(Default)]
pub struct Contents {
    pub ints: Vec<i64>,
    pub aints: Vec<i64>,
    /// Large counts (`_c` constructors).
    pub counts: Vec<i64>,
    pub types: Vec<Arc<Datatype>>,
}

pub struct Datatype {
    pub combiner: c_int,
    pub contents: Contents,
    /// One element's typemap, compiled.
    pub node: Arc<Node>,
    pub lb: i64,
    pub ub: i64,
    pub true_lb: i64,
    pub true_ub: i64,
    /// Bounds set explicitly (`MPI_LB`/`MPI_UB` markers, `resized`): they
    /// win over the data's bounds in enclosing types.
    pub sticky_lb: bool,
    pub sticky_ub: bool,
    /// Alignment of the strictest basic type inside (struct padding).
    pub align: i64,
    /// Basic elements in one element (`MPI_Get_elements`).
    pub elements: i64,
    /// The predefined handle, for predefined types (they cannot be freed).
    pub named: Option<MPI_Datatype>,
    /// Made by `MPI_Type_create_f90_*`: predefined for freeing purposes.
    pub fixed: bool,
    pub committed: AtomicBool,
    pub name: Mutex<String>,
    pub attrs: Attrs,
    /// The handle this object is registered under and how many holders it
    /// has (0: not registered).
    reg: Mutex<(MPI_Datatype, usize)>,
}

impl Datatype {
    pub fn size(&self) -> i64 {
        self.node.size
    }

    pub fn extent(&self) -> i64 {
        self.ub - self.lb
    }

    /// The data of `count` elements is one run starting this many bytes
    /// from the buffer address.
    pub fn contiguous_offset(&self, count: i64) -> Option<i64> {
        let o = self.node.dense?;
        (count <= 1 || self.extent() == self.size()).then_some(o)
    }

    pub fn is_committed(&self) -> bool {
        self.named.is_some() || self.committed.load(Ordering::Relaxed)
    }

    /// The handle a user sees for this object; a derived type gains one
    /// more holder (the caller hands the handle out).
    pub fn handle(self: &Arc<Self>) -> MPI_Datatype {
        if let Some(h) = self.named {
            return h;
        }
        let mut reg = self.reg.lock();
        if reg.1 == 0 {
            reg.0 = DERIVED.insert(self.clone());
        }
        reg.1 += 1;
        reg.0
    }

    /// Basic elements in the first `bytes` bytes of a message of this type;
    /// `None` when they end inside one.
    pub fn elements_in(&self, bytes: i64) -> Option<i64> {
        if self.size() == 0 {
            return Some(0);
        }
        let whole = bytes / self.size();
        let mut rem = bytes % self.size();
        let mut n = whole * self.elements;
        if rem == 0 {
            return Some(n);
        }
        self.node.leaves(0, &mut |_, b, k| {
            let s = basic_info(b).map_or(1, |i| i.size);
            let take = (rem / s).min(k);
            n += take;
            rem -= take * s;
            // On to the next leaf only past the whole of this one.
            take == k && rem > 0
        });
        (rem == 0).then_some(n)
    }
}

/// Derived types. Direct indices 0-4 are MPICH's pair types
/// (`MPI_FLOAT_INT` = 0x8c000000, ...), so user types start above them.
static DERIVED: Table<Datatype> = Table::starting_at(Kind::Datatype, 8);

static PREDEFINED: LazyLock<rustc_hash::FxHashMap<MPI_Datatype, Arc<Datatype>>> =
    LazyLock::new(predefined::all);

/// Register a newly built type; its first handle.
pub fn register(t: Datatype) -> MPI_Datatype {
    Arc::new(t).handle()
}

/// The object behind any valid datatype handle.
pub fn get(dt: MPI_Datatype) -> MpiResult<Arc<Datatype>> {
    if dt == MPI_DATATYPE_NULL {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            "MPI_DATATYPE_NULL is not a valid datatype here",
        ));
    }
    PREDEFINED
        .get(&dt)
        .cloned()
        .or_else(|| DERIVED.get(dt))
        .ok_or_else(|| MpiError::new(MPI_ERR_TYPE, format!("invalid datatype 0x{dt:x}")))
}

/// A type usable in communication and packing: valid and committed.
pub fn get_committed(dt: MPI_Datatype) -> MpiResult<Arc<Datatype>> {
    let t = get(dt)?;
    if !t.is_committed() {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            format!("datatype 0x{dt:x} is not committed (MPI_Type_commit)"),
        ));
    }
    Ok(t)
}

/// `MPI_Type_free`: drop one holder of `dt`.
pub fn free(dt: MPI_Datatype) -> MpiResult<()> {
    let t = get(dt)?;
    if t.named.is_some() || t.fixed {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            "predefined datatypes cannot be freed",
        ));
    }
    let last = {
        let mut reg = t.reg.lock();
        reg.1 -= 1;
        reg.1 == 0
    };
    if last {
        t.attrs.delete_all(dt)?;
        DERIVED.remove(dt);
    }
    Ok(())
}

/// A message buffer described by count and datatype.
pub struct Msg {
    /// Bytes of data (packed).
    pub bytes: usize,
    /// `None`: the data is `bytes` contiguous bytes at buffer + `offset`.
    /// `Some`: the type to pack and unpack with.
    pub layout: Option<Arc<Datatype>>,
    pub offset: i64,
}

/// Check `count` elements of `dt` for communication.
pub fn message(count: i64, dt: MPI_Datatype) -> MpiResult<Msg> {
    if count < 0 {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            format!("negative count {count}"),
        ));
    }
    let contig = |size: i64, offset: i64| -> MpiResult<Msg> {
        let bytes = count
            .checked_mul(size)
            .filter(|&b| b <= isize::MAX as i64)
            .ok_or_else(|| MpiError::new(MPI_ERR_COUNT, format!("count {count} is too large")))?;
        Ok(Msg {
            bytes: bytes as usize,
            layout: None,
            offset,
        })
    };
    if let Some(size) = predefined::contiguous_size(dt) {
        return contig(size, 0);
    }
    if count == 0 {
        // No element is touched, so (as in MPICH) the datatype is not checked.
        return contig(0, 0);
    }
    let t = get_committed(dt)?;
    match t.contiguous_offset(count) {
        Some(off) => contig(t.size(), off),
        None => {
            let mut m = contig(t.size(), 0)?;
            m.layout = Some(t);
            Ok(m)
        }
    }
}

/// A message buffer: `bytes` contiguous bytes at `addr`, or `count`
/// elements of a non-contiguous type whose buffer address is `addr`.
#[derive(Clone)]
pub struct MsgBuf {
    pub addr: usize,
    /// Bytes of data (packed).
    pub bytes: usize,
    pub layout: Option<Arc<Datatype>>,
    pub count: i64,
}

impl MsgBuf {
    /// Check `count` elements of `dt` at `buf` for communication.
    pub fn new(buf: usize, count: i64, dt: MPI_Datatype) -> MpiResult<MsgBuf> {
        let m = message(count, dt)?;
        let addr = buf.wrapping_add_signed(m.offset as isize);
        if m.layout.is_none() && m.bytes > 0 && addr == 0 {
            return Err(MpiError::new(
                MPI_ERR_BUFFER,
                "null buffer with a nonzero count",
            ));
        }
        Ok(MsgBuf {
            addr,
            bytes: m.bytes,
            layout: m.layout,
            count,
        })
    }

    /// A copy of the data, packed.
    pub fn packed(&self) -> Arc<[u8]> {
        match &self.layout {
            // SAFETY: a checked message buffer holds its bytes.
            None if self.bytes > 0 => {
                Arc::from(unsafe { std::slice::from_raw_parts(self.addr as *const u8, self.bytes) })
            }
            None => Arc::from(Vec::new()),
            Some(t) => {
                // Packed straight into the shared buffer (no second copy).
                // SAFETY: zeroed bytes are valid u8 values.
                let mut v = unsafe { Arc::<[u8]>::new_zeroed_slice(self.bytes).assume_init() };
                let out = Arc::get_mut(&mut v).expect("fresh buffer");
                // SAFETY: the user's buffer holds `count` elements of the type.
                unsafe { pack(t, self.addr, self.count, out) };
                v
            }
        }
    }

    /// The data in place, when it is contiguous in memory.
    pub fn contiguous(&self) -> Option<&[u8]> {
        match self.layout {
            None if self.bytes > 0 => {
                // SAFETY: a checked message buffer holds its bytes.
                Some(unsafe { std::slice::from_raw_parts(self.addr as *const u8, self.bytes) })
            }
            None => Some(&[]),
            Some(_) => None,
        }
    }

    /// The buffer in place, when it is contiguous in memory (to receive
    /// into).
    pub fn contiguous_mut(&mut self) -> Option<&mut [u8]> {
        match self.layout {
            None if self.bytes > 0 => {
                // SAFETY: a checked message buffer holds its bytes, and the
                // caller of a receive lends it to us until it completes.
                Some(unsafe { std::slice::from_raw_parts_mut(self.addr as *mut u8, self.bytes) })
            }
            None => Some(&mut []),
            Some(_) => None,
        }
    }

    /// Store received packed bytes (at most `bytes`) into the buffer.
    pub fn unpack_from(&self, data: &[u8]) {
        let data = &data[..data.len().min(self.bytes)];
        match &self.layout {
            // SAFETY: a checked message buffer holds its bytes.
            None => unsafe {
                std::ptr::copy_nonoverlapping(data.as_ptr(), self.addr as *mut u8, data.len())
            },
            // SAFETY: the user's buffer holds `count` elements of the type.
            Some(t) => unsafe { unpack(t, data, self.addr, self.count) },
        }
    }
}

/// Size in bytes of one element of a predefined type reductions work on.
pub fn element_size(dt: MPI_Datatype) -> MpiResult<usize> {
    if let Some(size) = predefined::contiguous_size(dt) {
        return Ok(size as usize);
    }
    let t = get(dt)?;
    if t.named.is_some() {
        // The value-index pairs, in their C layout (padding included).
        return Ok(t.extent() as usize);
    }
    if t.contiguous_offset(2) == Some(0) {
        return Ok(t.size() as usize);
    }
    Err(MpiError::new(
        MPI_ERR_UNSUPPORTED_OPERATION,
        format!(
            "datatype 0x{dt:x} is not contiguous; collectives on non-contiguous datatypes are not supported yet"
        ),
    ))
}

/// Pack `count` elements at `base` into `out` (whose length is what is
/// packed).
///
/// # Safety
/// The typemap's bytes at `base` must be readable.
pub unsafe fn pack(t: &Datatype, base: usize, count: i64, out: &mut [u8]) {
    // SAFETY: passed on from the caller.
    unsafe { layout::pack(&t.node, base, count, out) }
}

/// Unpack `data` into up to `count` elements at `base`.
///
/// # Safety
/// The typemap's bytes at `base` must be writable.
pub unsafe fn unpack(t: &Datatype, data: &[u8], base: usize, count: i64) {
    // SAFETY: passed on from the caller.
    unsafe { layout::unpack(&t.node, data, base, count) }
}

#[cfg(test)]
mod tests;
