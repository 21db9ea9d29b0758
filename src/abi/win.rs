//! Keyvals for window attributes (the windows themselves live in
//! `core::rma`).

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

use super::callbacks::*;
use super::util::{out, put};
use crate::abi::consts::*;
use crate::core::attr;
use crate::core::error::MpiResult;
use std::ffi::{c_int, c_void};

pub(crate) unsafe fn win_create_keyval(
    win_copy_attr_fn: *mut MPI_Win_copy_attr_function,
    win_delete_attr_fn: *mut MPI_Win_delete_attr_function,
    win_keyval: *mut c_int,
    extra_state: *mut c_void,
) -> MpiResult<()> {
    let k = attr::create_keyval(
        win_copy_attr_fn as usize,
        win_delete_attr_fn as usize,
        extra_state as usize,
    );
    unsafe { put(win_keyval, "win_keyval", k) }
}

pub(crate) unsafe fn win_free_keyval(win_keyval: *mut c_int) -> MpiResult<()> {
    let k = unsafe { out(win_keyval, "win_keyval") }?;
    attr::free_keyval(*k)?;
    *k = MPI_KEYVAL_INVALID;
    Ok(())
}
