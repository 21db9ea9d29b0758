//! Datatype queries, the C face. Today they answer for the predefined
//! contiguous types (lower bound 0, extent = size); the datatype engine
//! brings constructors and derived types.

use super::types::*;
use super::util::{out, put, write_cstr};
use crate::abi::consts::*;
use crate::core::datatype;
use crate::core::error::{MpiError, MpiResult};
use std::ffi::{c_char, c_int};

/// Size of one element; also its extent, for contiguous predefined types.
fn size_of(dt: MPI_Datatype) -> MpiResult<i64> {
    datatype::element_size(dt).map(|s| s as i64)
}

/// Write a lower bound and extent into outputs of either width.
fn bounds<T: TryFrom<i64>>(dt: MPI_Datatype, lb: *mut T, extent: *mut T) -> MpiResult<()> {
    let size = size_of(dt)?;
    let conv = |v: i64| T::try_from(v).map_err(|_| MpiError::new(MPI_ERR_TYPE, "extent overflows"));
    *out(lb, "lb")? = conv(0)?;
    *out(extent, "extent")? = conv(size)?;
    Ok(())
}

pub(crate) fn type_size(datatype: MPI_Datatype, size: *mut c_int) -> MpiResult<()> {
    put(size, "size", size_of(datatype)? as c_int)
}

pub(crate) fn type_size_x(datatype: MPI_Datatype, size: *mut MPI_Count) -> MpiResult<()> {
    put(size, "size", size_of(datatype)?)
}

pub(crate) fn type_size_c(datatype: MPI_Datatype, size: *mut MPI_Count) -> MpiResult<()> {
    put(size, "size", size_of(datatype)?)
}

pub(crate) fn type_get_extent(
    datatype: MPI_Datatype,
    lb: *mut MPI_Aint,
    extent: *mut MPI_Aint,
) -> MpiResult<()> {
    bounds(datatype, lb, extent)
}

pub(crate) fn type_get_extent_x(
    datatype: MPI_Datatype,
    lb: *mut MPI_Count,
    extent: *mut MPI_Count,
) -> MpiResult<()> {
    bounds(datatype, lb, extent)
}

pub(crate) fn type_get_extent_c(
    datatype: MPI_Datatype,
    lb: *mut MPI_Count,
    extent: *mut MPI_Count,
) -> MpiResult<()> {
    bounds(datatype, lb, extent)
}

pub(crate) fn type_get_true_extent(
    datatype: MPI_Datatype,
    true_lb: *mut MPI_Aint,
    true_extent: *mut MPI_Aint,
) -> MpiResult<()> {
    bounds(datatype, true_lb, true_extent)
}

pub(crate) fn type_get_true_extent_x(
    datatype: MPI_Datatype,
    true_lb: *mut MPI_Count,
    true_extent: *mut MPI_Count,
) -> MpiResult<()> {
    bounds(datatype, true_lb, true_extent)
}

pub(crate) fn type_get_true_extent_c(
    datatype: MPI_Datatype,
    true_lb: *mut MPI_Count,
    true_extent: *mut MPI_Count,
) -> MpiResult<()> {
    bounds(datatype, true_lb, true_extent)
}

/// Committing a predefined type is allowed and changes nothing.
pub(crate) fn type_commit(datatype: *mut MPI_Datatype) -> MpiResult<()> {
    size_of(*out(datatype, "datatype")?).map(|_| ())
}

pub(crate) fn type_free(datatype: *mut MPI_Datatype) -> MpiResult<()> {
    let dt = *out(datatype, "datatype")?;
    size_of(dt)?;
    Err(MpiError::new(
        MPI_ERR_TYPE,
        "predefined datatypes cannot be freed",
    ))
}

pub(crate) unsafe fn type_get_name(
    datatype: MPI_Datatype,
    type_name: *mut c_char,
    resultlen: *mut c_int,
) -> MpiResult<()> {
    let name = match datatype::predefined_name(datatype) {
        Some(n) => n,
        None if datatype == MPI_DATATYPE_NULL => "MPI_DATATYPE_NULL",
        None => {
            size_of(datatype)?;
            ""
        }
    };
    if type_name.is_null() {
        return Err(MpiError::arg("type_name is a null pointer"));
    }
    // SAFETY: the caller provides MPI_MAX_OBJECT_NAME bytes.
    let n = unsafe { write_cstr(type_name, MPI_MAX_OBJECT_NAME as usize, name) };
    put(resultlen, "resultlen", n as c_int)
}
