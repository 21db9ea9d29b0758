//! Status objects: the calls that read and write their fields and counts
//! (`scripts/gen-abi` binds them by their `doc(alias)`).

use super::error::MpiResult;
use super::pt2pt;
use super::request::{CANCELLED_BIT, c_status_bytes, set_c_status_bytes};
use super::types::{MPI_Count, MPI_Datatype, MPI_Status};
use crate::core::consts::MPI_UNDEFINED;
use std::ffi::c_int;

#[doc(alias = "MPI_Status_set_cancelled")]
pub fn status_set_cancelled(status: &mut MPI_Status, flag: c_int) -> MpiResult<()> {
    if flag != 0 {
        status.count_hi_and_cancelled |= CANCELLED_BIT;
    } else {
        status.count_hi_and_cancelled &= !CANCELLED_BIT;
    }
    Ok(())
}

#[doc(alias = "MPI_Test_cancelled")]
pub fn test_cancelled(status: &MPI_Status, flag: &mut c_int) -> MpiResult<()> {
    *flag = c_int::from(status.count_hi_and_cancelled & CANCELLED_BIT != 0);
    Ok(())
}

#[doc(alias = "MPI_Status_set_source")]
pub fn status_set_source(status: &mut MPI_Status, source: c_int) -> MpiResult<()> {
    status.MPI_SOURCE = source;
    Ok(())
}

#[doc(alias = "MPI_Status_set_tag")]
pub fn status_set_tag(status: &mut MPI_Status, tag: c_int) -> MpiResult<()> {
    status.MPI_TAG = tag;
    Ok(())
}

#[doc(alias = "MPI_Status_set_error")]
pub fn status_set_error(status: &mut MPI_Status, err: c_int) -> MpiResult<()> {
    status.MPI_ERROR = err;
    Ok(())
}

#[doc(alias = "MPI_Status_get_source")]
pub fn status_get_source(status: &MPI_Status, source: &mut c_int) -> MpiResult<()> {
    *source = status.MPI_SOURCE;
    Ok(())
}

#[doc(alias = "MPI_Status_get_tag")]
pub fn status_get_tag(status: &MPI_Status, tag: &mut c_int) -> MpiResult<()> {
    *tag = status.MPI_TAG;
    Ok(())
}

#[doc(alias = "MPI_Status_get_error")]
pub fn status_get_error(status: &MPI_Status, err: &mut c_int) -> MpiResult<()> {
    *err = status.MPI_ERROR;
    Ok(())
}

/// `MPI_UNDEFINED` for a count that is not whole (the classic forms narrow
/// it, and too large a count, to `MPI_UNDEFINED` as well).
fn or_undefined(n: Option<i64>) -> MPI_Count {
    n.unwrap_or(MPI_UNDEFINED.into())
}

#[doc(alias = "MPI_Get_count")]
pub fn get_count(
    status: &MPI_Status,
    datatype: MPI_Datatype,
    count: &mut MPI_Count,
) -> MpiResult<()> {
    *count = or_undefined(pt2pt::count_of(c_status_bytes(status), datatype)?);
    Ok(())
}

#[doc(alias = "MPI_Get_elements")]
#[doc(alias = "MPI_Get_elements_x")]
pub fn get_elements(
    status: &MPI_Status,
    datatype: MPI_Datatype,
    count: &mut MPI_Count,
) -> MpiResult<()> {
    *count = or_undefined(pt2pt::elements_of(c_status_bytes(status), datatype)?);
    Ok(())
}

#[doc(alias = "MPI_Status_set_elements")]
#[doc(alias = "MPI_Status_set_elements_x")]
pub fn status_set_elements(
    status: &mut MPI_Status,
    datatype: MPI_Datatype,
    count: MPI_Count,
) -> MpiResult<()> {
    set_c_status_bytes(status, pt2pt::bytes_of_elements(datatype, count)?);
    Ok(())
}
