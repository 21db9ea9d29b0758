//! Reduction operators, the C face. (The collectives' C functions call
//! `core::collective` directly: `scripts/gen-abi` finds each family's entry
//! point by its `doc(alias)`.)

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

use super::callbacks::{MPI_User_function, MPI_User_function_c};
use super::types::*;
use super::util::{out, put};
use crate::core::error::MpiResult;
use crate::core::op;
use std::ffi::c_int;

pub(crate) unsafe fn op_create(
    user_fn: *mut MPI_User_function,
    commute: c_int,
    op: *mut MPI_Op,
) -> MpiResult<()> {
    unsafe {
        put(
            op,
            "op",
            op::create_user(user_fn as usize, commute != 0, false)?,
        )
    }
}

pub(crate) unsafe fn op_create_c(
    user_fn: *mut MPI_User_function_c,
    commute: c_int,
    op: *mut MPI_Op,
) -> MpiResult<()> {
    unsafe {
        put(
            op,
            "op",
            op::create_user(user_fn as usize, commute != 0, true)?,
        )
    }
}

pub(crate) unsafe fn op_free(op: *mut MPI_Op) -> MpiResult<()> {
    op::free_user(unsafe { out(op, "op") }?)
}

pub(crate) unsafe fn op_commutative(op: MPI_Op, commute: *mut c_int) -> MpiResult<()> {
    unsafe { put(commute, "commute", c_int::from(op::is_commutative(op)?)) }
}
