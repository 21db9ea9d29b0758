//! Data objects and callbacks that programs built against the MPICH ABI
//! reference by symbol name: the Fortran status sentinels, the weights
//! sentinels and `MPIR_Dup_fn` (behind `MPI_COMM_DUP_FN` and friends).
#![allow(non_upper_case_globals)]

use super::types::*;
use crate::abi::consts::*;
use std::ffi::{c_int, c_void};

/// A pointer that may live in a static: every one here points at another
/// static of this module and is never written through by the library.
#[repr(transparent)]
pub struct SyncPtr<T>(pub *mut T);
// SAFETY: the pointee addresses are fixed for the life of the process and
// the library only compares them.
unsafe impl<T> Sync for SyncPtr<T> {}

/// The storage behind the Fortran 2008 "ignore" status sentinels.
const F08_STATUS_ZERO: MPI_F08_status = MPI_F08_status {
    count_lo: 0,
    count_hi_and_cancelled: 0,
    MPI_SOURCE: 0,
    MPI_TAG: 0,
    MPI_ERROR: 0,
};

#[unsafe(no_mangle)]
pub static mut MPIR_F08_MPI_STATUS_IGNORE_OBJ: MPI_F08_status = F08_STATUS_ZERO;
#[unsafe(no_mangle)]
pub static mut MPIR_F08_MPI_STATUSES_IGNORE_OBJ: [MPI_F08_status; 1] = [F08_STATUS_ZERO];
#[unsafe(no_mangle)]
pub static mut MPIR_F08_MPI_IN_PLACE: c_int = 0;
#[unsafe(no_mangle)]
pub static mut MPIR_F08_MPI_BOTTOM: c_int = 0;

#[unsafe(no_mangle)]
pub static MPI_F08_STATUS_IGNORE: SyncPtr<MPI_F08_status> =
    SyncPtr(&raw mut MPIR_F08_MPI_STATUS_IGNORE_OBJ);
#[unsafe(no_mangle)]
pub static MPI_F08_STATUSES_IGNORE: SyncPtr<MPI_F08_status> =
    SyncPtr((&raw mut MPIR_F08_MPI_STATUSES_IGNORE_OBJ).cast::<MPI_F08_status>());

static mut F_STATUS_IGNORE_OBJ: [MPI_Fint; 5] = [0; 5];
static mut F_STATUSES_IGNORE_OBJ: [MPI_Fint; 5] = [0; 5];
#[unsafe(no_mangle)]
pub static MPI_F_STATUS_IGNORE: SyncPtr<MPI_Fint> =
    SyncPtr((&raw mut F_STATUS_IGNORE_OBJ).cast::<MPI_Fint>());
#[unsafe(no_mangle)]
pub static MPI_F_STATUSES_IGNORE: SyncPtr<MPI_Fint> =
    SyncPtr((&raw mut F_STATUSES_IGNORE_OBJ).cast::<MPI_Fint>());

static mut UNWEIGHTED_OBJ: c_int = 0;
static mut WEIGHTS_EMPTY_OBJ: c_int = 0;
#[unsafe(no_mangle)]
pub static MPI_UNWEIGHTED: SyncPtr<c_int> = SyncPtr(&raw mut UNWEIGHTED_OBJ);
#[unsafe(no_mangle)]
pub static MPI_WEIGHTS_EMPTY: SyncPtr<c_int> = SyncPtr(&raw mut WEIGHTS_EMPTY_OBJ);

static mut PVAR_ALL_HANDLES_OBJ: u8 = 0;
#[unsafe(no_mangle)]
pub static MPI_T_PVAR_ALL_HANDLES: SyncPtr<MPIR_T_pvar_handle_s> =
    SyncPtr((&raw mut PVAR_ALL_HANDLES_OBJ).cast::<MPIR_T_pvar_handle_s>());

/// The predefined "duplicate" attribute copy callback: the new object gets
/// the same attribute value.
///
/// # Safety
/// Called by C code with the attribute-copy callback's arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn MPIR_Dup_fn(
    _oldcomm: MPI_Comm,
    _keyval: c_int,
    _extra_state: *mut c_void,
    attribute_val_in: *mut c_void,
    attribute_val_out: *mut c_void,
    flag: *mut c_int,
) -> c_int {
    if attribute_val_out.is_null() || flag.is_null() {
        return MPI_ERR_ARG;
    }
    // SAFETY: the pointers come from the attribute machinery (or a user
    // calling the callback directly with valid arguments).
    unsafe {
        *attribute_val_out.cast::<*mut c_void>() = attribute_val_in;
        *flag = 1;
    }
    MPI_SUCCESS
}
