//! Attributes. The predefined attributes of `MPI_COMM_WORLD` live here as
//! integers with stable addresses, because the C interface hands out a
//! pointer to the value.

use super::error;
use super::runtime;
use crate::core::consts::*;
use crate::core::types::MPI_Aint;
use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, Ordering};

/// Largest tag value a program may use.
pub const TAG_UB_VALUE: c_int = 0x7fff_ffff;

static TAG_UB: AtomicI32 = AtomicI32::new(TAG_UB_VALUE);
static HOST: AtomicI32 = AtomicI32::new(MPI_PROC_NULL);
static IO: AtomicI32 = AtomicI32::new(MPI_ANY_SOURCE);
static WTIME_IS_GLOBAL: AtomicI32 = AtomicI32::new(0);
static UNIVERSE_SIZE: AtomicI32 = AtomicI32::new(0);
static LASTUSEDCODE: AtomicI32 = AtomicI32::new(0);
static APPNUM: AtomicI32 = AtomicI32::new(0);

/// The value of a predefined communicator attribute, as the C binding
/// returns it: `Some(pointer to int)` for the C keyvals, and the integer
/// itself (cast to a pointer-sized value) for the Fortran keyvals, which
/// are the C keyval plus one in the MPICH ABI. `None` if the key is not
/// predefined or the attribute is not set.
pub fn predefined_comm_attr(keyval: c_int) -> Option<Option<usize>> {
    let fortran = keyval & 1 == 0;
    let base = if fortran { keyval - 1 } else { keyval };
    let cell: &AtomicI32 = match base {
        MPI_TAG_UB => &TAG_UB,
        MPI_HOST => &HOST,
        MPI_IO => &IO,
        MPI_WTIME_IS_GLOBAL => &WTIME_IS_GLOBAL,
        MPI_UNIVERSE_SIZE => {
            // Not set when the launcher sets no limit.
            let n = runtime::job().universe_size;
            if n <= 0 {
                return Some(None);
            }
            UNIVERSE_SIZE.store(n, Ordering::Relaxed);
            &UNIVERSE_SIZE
        }
        MPI_LASTUSEDCODE => {
            LASTUSEDCODE.store(error::last_used_code(), Ordering::Relaxed);
            &LASTUSEDCODE
        }
        MPI_APPNUM => {
            // Not set when the launcher does not number its commands.
            let n = runtime::job().appnum;
            if n < 0 {
                return Some(None);
            }
            APPNUM.store(n, Ordering::Relaxed);
            &APPNUM
        }
        _ => return None,
    };
    Some(Some(if fortran {
        cell.load(Ordering::Relaxed) as usize
    } else {
        cell.as_ptr() as usize
    }))
}

/// Is this one of the predefined (read-only) communicator keyvals?
pub fn is_predefined_comm_keyval(keyval: c_int) -> bool {
    let base = if keyval & 1 == 0 { keyval - 1 } else { keyval };
    matches!(
        base,
        MPI_TAG_UB
            | MPI_HOST
            | MPI_IO
            | MPI_WTIME_IS_GLOBAL
            | MPI_UNIVERSE_SIZE
            | MPI_LASTUSEDCODE
            | MPI_APPNUM
    )
}

// ---------------------------------------------------------------------------
// User keyvals and attributes cached on communicators

use super::error::{MpiError, MpiResult};
use crate::core::callbacks::{Fn_MPI_Comm_copy_attr_function, Fn_MPI_Comm_delete_attr_function};
use crate::handles::{Kind, Table};
use parking_lot::Mutex;
use std::sync::Arc;

/// What a keyval's attributes are cached on: a keyval made for one kind of
/// object is not valid on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    Comm,
    Type,
    Win,
}

/// A user keyval: the copy and delete callbacks (addresses; 0 for none)
/// and the extra state handed to them.
pub struct Keyval {
    pub object: Object,
    pub copy: usize,
    pub delete: usize,
    pub extra: usize,
    /// `MPI_Comm_free_keyval` was called; the keyval lives on while
    /// attributes still use it.
    freed: std::sync::atomic::AtomicBool,
}

static KEYVALS: Table<Keyval> = Table::new(Kind::Keyval);

pub fn create_keyval(object: Object, copy: usize, delete: usize, extra: usize) -> c_int {
    KEYVALS.insert(Keyval {
        object,
        copy,
        delete,
        extra,
        freed: std::sync::atomic::AtomicBool::new(false),
    })
}

fn keyval(object: Object, k: c_int) -> MpiResult<Arc<Keyval>> {
    let kv = KEYVALS
        .get(k)
        .filter(|kv| !kv.freed.load(Ordering::Acquire))
        .ok_or_else(|| {
            if is_predefined_comm_keyval(k) {
                MpiError::new(
                    MPI_ERR_KEYVAL,
                    "predefined keyvals cannot be changed or freed",
                )
            } else {
                MpiError::new(MPI_ERR_KEYVAL, format!("invalid keyval 0x{k:x}"))
            }
        })?;
    if kv.object != object {
        return Err(MpiError::new(
            MPI_ERR_KEYVAL,
            format!(
                "keyval 0x{k:x} was made for {:?} attributes, not {object:?} ones",
                kv.object
            ),
        ));
    }
    Ok(kv)
}

/// Drop a freed keyval from the table once no attribute uses it (`held`
/// counts the caller's own reference).
fn retire_keyval(k: c_int, kv: &Arc<Keyval>, held: usize) {
    if kv.freed.load(Ordering::Acquire) && Arc::strong_count(kv) <= held + 1 {
        KEYVALS.remove(k);
    }
}

/// `MPI_Comm_free_keyval`: attributes already set keep their callbacks, and
/// the keyval stays until the last of them is deleted. Freeing it again
/// meanwhile is harmless, as in MPICH.
pub fn free_keyval(object: Object, k: c_int) -> MpiResult<()> {
    let Some(kv) = KEYVALS.get(k).filter(|kv| kv.object == object) else {
        return keyval(object, k).map(|_| ());
    };
    kv.freed.store(true, Ordering::Release);
    retire_keyval(k, &kv, 1);
    Ok(())
}

/// The binding that set an attribute (MPI-4.1 section 19.3.7): C caches a
/// pointer-sized value, Fortran an INTEGER(KIND=MPI_ADDRESS_KIND), or with
/// the MPI-1 calls a default INTEGER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    C,
    Fortran,
    Fortran1,
}

/// An attribute's value and the binding that set it.
#[derive(Clone)]
pub struct AttrValue {
    raw: usize,
    lang: Lang,
    /// For a value set from Fortran: where C readers find it (they get a
    /// pointer to it, valid while the attribute is set).
    cell: Option<Arc<MPI_Aint>>,
}

impl AttrValue {
    pub fn new(raw: usize, lang: Lang) -> Self {
        let cell = (lang != Lang::C).then(|| Arc::new(raw as MPI_Aint));
        AttrValue { raw, lang, cell }
    }

    /// What a program reading through `reader` gets: C's value itself, as
    /// an address in Fortran; Fortran's value in Fortran, and in C a
    /// pointer to it.
    pub fn read(&self, reader: Lang) -> usize {
        match (&self.cell, reader) {
            (Some(cell), Lang::C) => Arc::as_ptr(cell) as usize,
            _ => self.raw,
        }
    }
}

/// The attributes cached on one object, in the order they were set.
#[derive(Default)]
pub struct Attrs(Mutex<Vec<(c_int, Arc<Keyval>, AttrValue)>>);

/// Call a delete callback; its error code fails the call that caused it.
fn call_delete(comm: c_int, k: c_int, kv: &Keyval, val: usize) -> MpiResult<()> {
    if kv.delete == 0 {
        return Ok(());
    }
    // SAFETY: the user registered this callback with the keyval.
    let rc = unsafe {
        let f: Fn_MPI_Comm_delete_attr_function = std::mem::transmute(kv.delete);
        f(comm, k, val as *mut _, kv.extra as *mut _)
    };
    if rc == MPI_SUCCESS {
        Ok(())
    } else {
        Err(MpiError::new(rc, "an attribute delete callback failed"))
    }
}

impl Attrs {
    /// The value of `k` as a `reader` program sees it.
    pub fn get(&self, object: Object, k: c_int, reader: Lang) -> MpiResult<Option<usize>> {
        let list = self.0.lock();
        if let Some((_, _, v)) = list.iter().find(|(key, _, _)| *key == k) {
            return Ok(Some(v.read(reader)));
        }
        drop(list);
        keyval(object, k).map(|_| None)
    }

    /// Set `k` on the object `comm`, deleting (with its callback) any value
    /// it had.
    pub fn set(&self, object: Object, comm: c_int, k: c_int, val: AttrValue) -> MpiResult<()> {
        let kv = keyval(object, k)?;
        let old = {
            let list = self.0.lock();
            list.iter()
                .find(|(key, _, _)| *key == k)
                .map(|(_, kv, v)| (kv.clone(), v.raw))
        };
        if let Some((okv, ov)) = old {
            call_delete(comm, k, &okv, ov)?;
        }
        let mut list = self.0.lock();
        match list.iter_mut().find(|(key, _, _)| *key == k) {
            Some(slot) => slot.2 = val,
            None => list.push((k, kv, val)),
        }
        Ok(())
    }

    /// Delete `k` from the object `comm`, calling its delete callback.
    pub fn delete(&self, object: Object, comm: c_int, k: c_int) -> MpiResult<()> {
        let found = {
            let list = self.0.lock();
            list.iter()
                .find(|(key, _, _)| *key == k)
                .map(|(_, kv, v)| (kv.clone(), v.raw))
        };
        let Some((kv, v)) = found else {
            return keyval(object, k).and_then(|_| {
                Err(MpiError::new(
                    MPI_ERR_KEYVAL,
                    "no attribute is set for this keyval",
                ))
            });
        };
        call_delete(comm, k, &kv, v)?;
        self.0.lock().retain(|(key, _, _)| *key != k);
        retire_keyval(k, &kv, 1);
        Ok(())
    }

    /// Delete every attribute (object being freed), last set first.
    pub fn delete_all(&self, comm: c_int) -> MpiResult<()> {
        let list = std::mem::take(&mut *self.0.lock());
        let mut first_err = None;
        for (k, kv, v) in list.into_iter().rev() {
            if let Err(e) = call_delete(comm, k, &kv, v.raw) {
                first_err.get_or_insert(e);
            }
            retire_keyval(k, &kv, 1);
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The attributes a duplicate of object `old` gets, through each
    /// keyval's copy callback.
    pub fn copy_for_dup(&self, old: c_int) -> MpiResult<Attrs> {
        let list = self.0.lock().clone();
        let mut out = Vec::new();
        for (k, kv, v) in list {
            if kv.copy == 0 {
                continue;
            }
            let mut new_val: usize = 0;
            let mut flag: c_int = 0;
            // SAFETY: the user registered this callback with the keyval;
            // the output pointers are ours.
            let rc = unsafe {
                let f: Fn_MPI_Comm_copy_attr_function = std::mem::transmute(kv.copy);
                f(
                    old,
                    k,
                    kv.extra as *mut _,
                    v.raw as *mut _,
                    (&mut new_val as *mut usize).cast(),
                    &mut flag,
                )
            };
            if rc != MPI_SUCCESS {
                return Err(MpiError::new(rc, "an attribute copy callback failed"));
            }
            if flag != 0 {
                out.push((k, kv, AttrValue::new(new_val, v.lang)));
            }
        }
        Ok(Attrs(Mutex::new(out)))
    }
}
