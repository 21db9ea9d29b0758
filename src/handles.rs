//! MPICH-ABI handle encoding and the per-kind tables of user objects.
//!
//! A handle is a 32-bit int: bits 30-31 say how it is stored (1 builtin,
//! 2 direct), bits 26-29 name the object kind, the low bits index the
//! object. Predefined handles (`MPI_COMM_WORLD` = 0x44000000, ...) keep
//! MPICH's values; objects we create get the "direct" kind bits so a handle
//! of one kind can never be mistaken for another.

use parking_lot::RwLock;
use std::ffi::c_int;
use std::sync::Arc;

/// Object kinds, as encoded in bits 26-29.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Kind {
    Comm = 0x1,
    Group = 0x2,
    Datatype = 0x3,
    File = 0x4,
    Errhandler = 0x5,
    Op = 0x6,
    Info = 0x7,
    Win = 0x8,
    Keyval = 0x9,
    Attr = 0xa,
    Request = 0xb,
    Session = 0xe,
}

const KIND_SHIFT: u32 = 26;
const KIND_MASK: u32 = 0xf << KIND_SHIFT;
const STORAGE_SHIFT: u32 = 30;
const STORAGE_BUILTIN: u32 = 0x1;
const STORAGE_DIRECT: u32 = 0x2;
const INDEX_MASK: u32 = (1 << KIND_SHIFT) - 1;

pub fn kind_of(handle: c_int) -> u32 {
    ((handle as u32) & KIND_MASK) >> KIND_SHIFT
}

pub fn is_builtin(handle: c_int) -> bool {
    (handle as u32) >> STORAGE_SHIFT == STORAGE_BUILTIN
}

fn direct(kind: Kind, index: usize) -> c_int {
    ((STORAGE_DIRECT << STORAGE_SHIFT) | ((kind as u32) << KIND_SHIFT) | index as u32) as c_int
}

/// A table of user-created objects of one kind, addressed by handle.
/// Freed slots are reused (most recently freed first, found in constant
/// time); a stale handle to a reused slot is the user's error, as in every
/// MPI implementation.
pub struct Table<T> {
    kind: Kind,
    /// Indices below this are reserved for predefined objects.
    first: usize,
    slots: RwLock<Slots<T>>,
}

struct Slots<T> {
    objs: Vec<Option<Arc<T>>>,
    /// Indices of empty entries of `objs`.
    free: Vec<usize>,
}

impl<T> Table<T> {
    pub const fn new(kind: Kind) -> Self {
        Table::starting_at(kind, 0)
    }

    /// A table whose handles start at index `first`.
    pub const fn starting_at(kind: Kind, first: usize) -> Self {
        Table {
            kind,
            first,
            slots: RwLock::new(Slots {
                objs: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    pub fn insert(&self, obj: impl Into<Arc<T>>) -> c_int {
        let obj = obj.into();
        self.insert_with(|_| obj)
    }

    /// Insert an object that needs to know its own handle.
    pub fn insert_with<A: Into<Arc<T>>>(&self, make: impl FnOnce(c_int) -> A) -> c_int {
        let mut slots = self.slots.write();
        let index = slots.free.pop().unwrap_or(slots.objs.len());
        assert!(index as u32 <= INDEX_MASK, "handle table full");
        let handle = direct(self.kind, index + self.first);
        let obj = Some(make(handle).into());
        if index == slots.objs.len() {
            slots.objs.push(obj);
        } else {
            slots.objs[index] = obj;
        }
        handle
    }

    fn index(&self, handle: c_int) -> Option<usize> {
        let h = handle as u32;
        (h >> STORAGE_SHIFT == STORAGE_DIRECT && kind_of(handle) == self.kind as u32)
            .then_some(((h & INDEX_MASK) as usize).wrapping_sub(self.first))
    }

    pub fn get(&self, handle: c_int) -> Option<Arc<T>> {
        let i = self.index(handle)?;
        self.slots.read().objs.get(i).and_then(|s| s.clone())
    }

    pub fn remove(&self, handle: c_int) -> Option<Arc<T>> {
        let i = self.index(handle)?;
        let mut slots = self.slots.write();
        let obj = slots.objs.get_mut(i).and_then(Option::take);
        if obj.is_some() {
            slots.free.push(i);
        }
        obj
    }

    /// Whether some live object satisfies `f`.
    pub fn any(&self, f: impl Fn(&T) -> bool) -> bool {
        self.slots.read().objs.iter().flatten().any(|o| f(o))
    }

    /// Call `f` on every live object.
    pub fn each(&self, mut f: impl FnMut(&T)) {
        self.slots.read().objs.iter().flatten().for_each(|o| f(o));
    }

    pub fn len(&self) -> usize {
        let slots = self.slots.read();
        slots.objs.len() - slots.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::consts::*;

    #[test]
    fn predefined_handles_decode() {
        assert_eq!(kind_of(MPI_COMM_WORLD), Kind::Comm as u32);
        assert!(is_builtin(MPI_COMM_WORLD));
        assert!(!is_builtin(MPI_COMM_NULL));
        assert_eq!(kind_of(MPI_INFO_ENV), Kind::Info as u32);
        assert_eq!(kind_of(MPI_ERRORS_RETURN), Kind::Errhandler as u32);
        assert_eq!(kind_of(MPI_TAG_UB), Kind::Keyval as u32);
    }

    #[test]
    fn table_reuses_slots_and_rejects_other_kinds() {
        let t: Table<u32> = Table::new(Kind::Info);
        let a = t.insert(1);
        let b = t.insert(2);
        assert_ne!(a, b);
        assert_eq!(*t.get(a).unwrap(), 1);
        assert!(t.get(MPI_INFO_NULL).is_none());
        assert!(t.get(MPI_COMM_WORLD).is_none());
        assert_eq!(*t.remove(a).unwrap(), 1);
        assert!(t.get(a).is_none());
        let c = t.insert(3);
        assert_eq!(c, a, "slot reused");
        assert_eq!(t.len(), 2);
    }
}
