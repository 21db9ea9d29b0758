//! Attributes. The predefined attributes of `MPI_COMM_WORLD` live here as
//! integers with stable addresses, because the C interface hands out a
//! pointer to the value.

use super::error;
use super::runtime;
use crate::abi::consts::*;
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
            UNIVERSE_SIZE.store(runtime::job().universe_size, Ordering::Relaxed);
            &UNIVERSE_SIZE
        }
        MPI_LASTUSEDCODE => {
            LASTUSEDCODE.store(error::last_used_code(), Ordering::Relaxed);
            &LASTUSEDCODE
        }
        MPI_APPNUM => {
            APPNUM.store(runtime::job().appnum, Ordering::Relaxed);
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
