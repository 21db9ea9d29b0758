//! Datatypes, the C face: constructors, queries, names, attributes,
//! pack/unpack (native and external32) and addresses. Each constructor
//! checks its arguments and calls `core::datatype::build`; the classic and
//! large-count (`_c`) forms share one implementation on 64-bit values.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::types::*;
use super::util::{c_array, cstr, out, put, write_cstr};
use crate::abi::callbacks::{MPI_Type_copy_attr_function, MPI_Type_delete_attr_function};
use crate::abi::consts::*;
use crate::core::attr;
use crate::core::comm;
use crate::core::datatype::{self, Datatype, build, external32};
use crate::core::error::{MpiError, MpiResult};
use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::Ordering;

type T = Arc<Datatype>;

/// `n` values of a C array argument, widened.
fn arr<X: Copy + Into<i64>>(p: *const X, n: i64, what: &str) -> MpiResult<Vec<i64>> {
    Ok(c_array(p, n as usize, what)?
        .iter()
        .map(|&x| x.into())
        .collect())
}

fn count_arg(n: i64, what: &str) -> MpiResult<i64> {
    if n < 0 {
        return Err(MpiError::new(MPI_ERR_COUNT, format!("negative {what} {n}")));
    }
    Ok(n)
}

/// Blocklengths may not be negative (`MPI_ERR_COUNT`, as in MPICH).
fn nonneg(v: &[i64], what: &str) -> MpiResult<()> {
    match v.iter().find(|&&x| x < 0) {
        Some(x) => Err(MpiError::new(MPI_ERR_COUNT, format!("negative {what} {x}"))),
        None => Ok(()),
    }
}

/// Store a new type's handle (MPI_DATATYPE_NULL first, so a failure leaves
/// no stale handle behind).
fn create(newtype: *mut MPI_Datatype, make: impl FnOnce() -> MpiResult<Datatype>) -> MpiResult<()> {
    let slot = out(newtype, "newtype")?;
    *slot = MPI_DATATYPE_NULL;
    *slot = datatype::register(make()?);
    Ok(())
}

fn old(dt: MPI_Datatype) -> MpiResult<T> {
    datatype::get(dt)
}

// ---------------------------------------------------------------------------
// Constructors

fn contiguous_impl(
    count: i64,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    let count = count_arg(count, "count")?;
    let o = old(oldtype)?;
    create(newtype, || build::contiguous(count, &o, large))
}

pub(crate) fn type_contiguous(
    count: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    contiguous_impl(count.into(), oldtype, newtype, false)
}

pub(crate) fn type_contiguous_c(
    count: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    contiguous_impl(count, oldtype, newtype, true)
}

fn vector_impl(
    count: i64,
    blocklength: i64,
    stride: i64,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    bytes: bool,
    large: bool,
) -> MpiResult<()> {
    let count = count_arg(count, "count")?;
    nonneg(&[blocklength], "blocklength")?;
    let bl = blocklength;
    let o = old(oldtype)?;
    create(newtype, || {
        if bytes {
            build::hvector(count, bl, stride, &o, large)
        } else {
            build::vector(count, bl, stride, &o, large)
        }
    })
}

pub(crate) fn type_vector(
    count: c_int,
    blocklength: c_int,
    stride: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    vector_impl(
        count.into(),
        blocklength.into(),
        stride.into(),
        oldtype,
        newtype,
        false,
        false,
    )
}

pub(crate) fn type_vector_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    stride: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    vector_impl(count, blocklength, stride, oldtype, newtype, false, true)
}

pub(crate) fn type_create_hvector(
    count: c_int,
    blocklength: c_int,
    stride: MPI_Aint,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    vector_impl(
        count.into(),
        blocklength.into(),
        stride,
        oldtype,
        newtype,
        true,
        false,
    )
}

pub(crate) fn type_hvector(
    count: c_int,
    blocklength: c_int,
    stride: MPI_Aint,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    type_create_hvector(count, blocklength, stride, oldtype, newtype)
}

pub(crate) fn type_create_hvector_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    stride: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    vector_impl(count, blocklength, stride, oldtype, newtype, true, true)
}

/// Which indexed constructor.
#[derive(Clone, Copy, PartialEq)]
enum Idx {
    Indexed,
    Hindexed,
}

fn indexed_impl(
    count: i64,
    blocklens: Vec<i64>,
    displs: Vec<i64>,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    form: Idx,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    nonneg(&blocklens, "blocklength")?;
    let o = old(oldtype)?;
    create(newtype, || match form {
        Idx::Indexed => build::indexed(&blocklens, &displs, &o, large),
        Idx::Hindexed => build::hindexed(&blocklens, &displs, &o, large),
    })
}

pub(crate) fn type_indexed(
    count: c_int,
    array_of_blocklengths: *const c_int,
    array_of_displacements: *const c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count.into(), "count")?;
    let bl = arr(array_of_blocklengths, n, "array_of_blocklengths")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    indexed_impl(n, bl, d, oldtype, newtype, Idx::Indexed, false)
}

pub(crate) fn type_indexed_c(
    count: MPI_Count,
    array_of_blocklengths: *const MPI_Count,
    array_of_displacements: *const MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count, "count")?;
    let bl = arr(array_of_blocklengths, n, "array_of_blocklengths")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    indexed_impl(n, bl, d, oldtype, newtype, Idx::Indexed, true)
}

pub(crate) fn type_create_hindexed(
    count: c_int,
    array_of_blocklengths: *const c_int,
    array_of_displacements: *const MPI_Aint,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count.into(), "count")?;
    let bl = arr(array_of_blocklengths, n, "array_of_blocklengths")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    indexed_impl(n, bl, d, oldtype, newtype, Idx::Hindexed, false)
}

pub(crate) fn type_hindexed(
    count: c_int,
    array_of_blocklengths: *mut c_int,
    array_of_displacements: *mut MPI_Aint,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    type_create_hindexed(
        count,
        array_of_blocklengths,
        array_of_displacements,
        oldtype,
        newtype,
    )
}

pub(crate) fn type_create_hindexed_c(
    count: MPI_Count,
    array_of_blocklengths: *const MPI_Count,
    array_of_displacements: *const MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count, "count")?;
    let bl = arr(array_of_blocklengths, n, "array_of_blocklengths")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    indexed_impl(n, bl, d, oldtype, newtype, Idx::Hindexed, true)
}

fn block_impl(
    count: i64,
    blocklength: i64,
    displs: Vec<i64>,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    form: Idx,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    nonneg(&[blocklength], "blocklength")?;
    let bl = blocklength;
    let o = old(oldtype)?;
    create(newtype, || match form {
        Idx::Indexed => build::indexed_block(bl, &displs, &o, large),
        Idx::Hindexed => build::hindexed_block(bl, &displs, &o, large),
    })
}

pub(crate) fn type_create_indexed_block(
    count: c_int,
    blocklength: c_int,
    array_of_displacements: *const c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count.into(), "count")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    block_impl(
        n,
        blocklength.into(),
        d,
        oldtype,
        newtype,
        Idx::Indexed,
        false,
    )
}

pub(crate) fn type_create_indexed_block_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    array_of_displacements: *const MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count, "count")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    block_impl(n, blocklength, d, oldtype, newtype, Idx::Indexed, true)
}

pub(crate) fn type_create_hindexed_block(
    count: c_int,
    blocklength: c_int,
    array_of_displacements: *const MPI_Aint,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count.into(), "count")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    block_impl(
        n,
        blocklength.into(),
        d,
        oldtype,
        newtype,
        Idx::Hindexed,
        false,
    )
}

pub(crate) fn type_create_hindexed_block_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    array_of_displacements: *const MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count, "count")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    block_impl(n, blocklength, d, oldtype, newtype, Idx::Hindexed, true)
}

fn struct_impl(
    n: i64,
    blocklens: Vec<i64>,
    displs: Vec<i64>,
    types: *const MPI_Datatype,
    newtype: *mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    nonneg(&blocklens, "blocklength")?;
    let handles: Vec<i64> = arr(types, n, "array_of_types")?;
    let types = handles
        .iter()
        .map(|&h| old(h as MPI_Datatype))
        .collect::<MpiResult<Vec<_>>>()?;
    create(newtype, || {
        build::structure(&blocklens, &displs, &types, large)
    })
}

pub(crate) fn type_create_struct(
    count: c_int,
    array_of_blocklengths: *const c_int,
    array_of_displacements: *const MPI_Aint,
    array_of_types: *const MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count.into(), "count")?;
    let bl = arr(array_of_blocklengths, n, "array_of_blocklengths")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    struct_impl(n, bl, d, array_of_types, newtype, false)
}

pub(crate) fn type_struct(
    count: c_int,
    array_of_blocklengths: *mut c_int,
    array_of_displacements: *mut MPI_Aint,
    array_of_types: *mut MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    type_create_struct(
        count,
        array_of_blocklengths,
        array_of_displacements,
        array_of_types,
        newtype,
    )
}

pub(crate) fn type_create_struct_c(
    count: MPI_Count,
    array_of_blocklengths: *const MPI_Count,
    array_of_displacements: *const MPI_Count,
    array_of_types: *const MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = count_arg(count, "count")?;
    let bl = arr(array_of_blocklengths, n, "array_of_blocklengths")?;
    let d = arr(array_of_displacements, n, "array_of_displacements")?;
    struct_impl(n, bl, d, array_of_types, newtype, true)
}

fn order_arg(order: c_int) -> MpiResult<()> {
    if order == MPI_ORDER_C || order == MPI_ORDER_FORTRAN {
        Ok(())
    } else {
        Err(MpiError::arg(format!("invalid array order {order}")))
    }
}

fn ndims_arg(ndims: c_int) -> MpiResult<i64> {
    if ndims <= 0 {
        return Err(MpiError::arg(format!(
            "invalid number of dimensions {ndims}"
        )));
    }
    Ok(ndims.into())
}

fn subarray_impl(
    ndims: c_int,
    sizes: Vec<i64>,
    subsizes: Vec<i64>,
    starts: Vec<i64>,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    ndims_arg(ndims)?;
    order_arg(order)?;
    let o = old(oldtype)?;
    create(newtype, || {
        build::subarray(&sizes, &subsizes, &starts, order, &o, large)
    })
}

pub(crate) fn type_create_subarray(
    ndims: c_int,
    array_of_sizes: *const c_int,
    array_of_subsizes: *const c_int,
    array_of_starts: *const c_int,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = ndims_arg(ndims)?;
    let (a, b, c) = (
        arr(array_of_sizes, n, "array_of_sizes")?,
        arr(array_of_subsizes, n, "array_of_subsizes")?,
        arr(array_of_starts, n, "array_of_starts")?,
    );
    subarray_impl(ndims, a, b, c, order, oldtype, newtype, false)
}

pub(crate) fn type_create_subarray_c(
    ndims: c_int,
    array_of_sizes: *const MPI_Count,
    array_of_subsizes: *const MPI_Count,
    array_of_starts: *const MPI_Count,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let n = ndims_arg(ndims)?;
    let (a, b, c) = (
        arr(array_of_sizes, n, "array_of_sizes")?,
        arr(array_of_subsizes, n, "array_of_subsizes")?,
        arr(array_of_starts, n, "array_of_starts")?,
    );
    subarray_impl(ndims, a, b, c, order, oldtype, newtype, true)
}

fn darray_impl(
    size: c_int,
    rank: c_int,
    ndims: c_int,
    gsizes: Vec<i64>,
    distribs: *const c_int,
    dargs: *const c_int,
    psizes: *const c_int,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    let n = ndims_arg(ndims)?;
    order_arg(order)?;
    let distribs: Vec<c_int> = arr(distribs, n, "array_of_distribs")?
        .into_iter()
        .map(|x| x as c_int)
        .collect();
    let dargs: Vec<c_int> = arr(dargs, n, "array_of_dargs")?
        .into_iter()
        .map(|x| x as c_int)
        .collect();
    let psizes = arr(psizes, n, "array_of_psizes")?;
    if size <= 0 || !(0..size).contains(&rank) {
        return Err(MpiError::new(
            MPI_ERR_RANK,
            format!("invalid rank {rank} of {size} processes"),
        ));
    }
    if psizes.iter().any(|&p| p <= 0) || psizes.iter().product::<i64>() != size.into() {
        return Err(MpiError::arg(format!(
            "process grid {psizes:?} does not have {size} processes"
        )));
    }
    if gsizes.iter().any(|&g| g <= 0) {
        return Err(MpiError::arg(format!("invalid global sizes {gsizes:?}")));
    }
    let o = old(oldtype)?;
    create(newtype, || {
        build::darray(
            size.into(),
            rank.into(),
            &gsizes,
            &distribs,
            &dargs,
            &psizes,
            order,
            &o,
            large,
        )
    })
}

pub(crate) fn type_create_darray(
    size: c_int,
    rank: c_int,
    ndims: c_int,
    array_of_gsizes: *const c_int,
    array_of_distribs: *const c_int,
    array_of_dargs: *const c_int,
    array_of_psizes: *const c_int,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let g = arr(array_of_gsizes, ndims_arg(ndims)?, "array_of_gsizes")?;
    darray_impl(
        size,
        rank,
        ndims,
        g,
        array_of_distribs,
        array_of_dargs,
        array_of_psizes,
        order,
        oldtype,
        newtype,
        false,
    )
}

pub(crate) fn type_create_darray_c(
    size: c_int,
    rank: c_int,
    ndims: c_int,
    array_of_gsizes: *const MPI_Count,
    array_of_distribs: *const c_int,
    array_of_dargs: *const c_int,
    array_of_psizes: *const c_int,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let g = arr(array_of_gsizes, ndims_arg(ndims)?, "array_of_gsizes")?;
    darray_impl(
        size,
        rank,
        ndims,
        g,
        array_of_distribs,
        array_of_dargs,
        array_of_psizes,
        order,
        oldtype,
        newtype,
        true,
    )
}

pub(crate) fn type_create_resized(
    oldtype: MPI_Datatype,
    lb: MPI_Aint,
    extent: MPI_Aint,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let o = old(oldtype)?;
    create(newtype, || build::resized(&o, lb, extent, false))
}

pub(crate) fn type_create_resized_c(
    oldtype: MPI_Datatype,
    lb: MPI_Count,
    extent: MPI_Count,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let o = old(oldtype)?;
    create(newtype, || build::resized(&o, lb, extent, true))
}

pub(crate) fn type_dup(oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> MpiResult<()> {
    let o = old(oldtype)?;
    let slot = out(newtype, "newtype")?;
    *slot = MPI_DATATYPE_NULL;
    let mut t = build::dup(&o);
    t.attrs = o.attrs.copy_for_dup(oldtype)?;
    *slot = datatype::register(t);
    Ok(())
}

pub(crate) fn type_create_f90_integer(r: c_int, newtype: *mut MPI_Datatype) -> MpiResult<()> {
    put(newtype, "newtype", datatype::f90::integer(r)?)
}

pub(crate) fn type_create_f90_real(
    p: c_int,
    r: c_int,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    put(newtype, "newtype", datatype::f90::real(p, r)?)
}

pub(crate) fn type_create_f90_complex(
    p: c_int,
    r: c_int,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    put(newtype, "newtype", datatype::f90::complex(p, r)?)
}

pub(crate) fn type_match_size(
    typeclass: c_int,
    size: c_int,
    datatype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let t = datatype::match_size(typeclass, size.into()).ok_or_else(|| {
        MpiError::arg(format!(
            "no predefined type has type class {typeclass} and size {size}"
        ))
    })?;
    put(datatype, "datatype", t)
}

pub(crate) fn type_get_value_index(
    value_type: MPI_Datatype,
    index_type: MPI_Datatype,
    pair_type: *mut MPI_Datatype,
) -> MpiResult<()> {
    old(value_type)?;
    old(index_type)?;
    let t = match (value_type, index_type) {
        (MPI_FLOAT, MPI_INT) => MPI_FLOAT_INT,
        (MPI_DOUBLE, MPI_INT) => MPI_DOUBLE_INT,
        (MPI_LONG, MPI_INT) => MPI_LONG_INT,
        (MPI_SHORT, MPI_INT) => MPI_SHORT_INT,
        (MPI_INT, MPI_INT) => MPI_2INT,
        (MPI_LONG_DOUBLE, MPI_INT) => MPI_LONG_DOUBLE_INT,
        (MPI_REAL, MPI_REAL) => MPI_2REAL,
        (MPI_DOUBLE_PRECISION, MPI_DOUBLE_PRECISION) => MPI_2DOUBLE_PRECISION,
        (MPI_INTEGER, MPI_INTEGER) => MPI_2INTEGER,
        _ => MPI_DATATYPE_NULL,
    };
    put(pair_type, "pair_type", t)
}

// ---------------------------------------------------------------------------
// Commit, free, names

pub(crate) fn type_commit(datatype: *mut MPI_Datatype) -> MpiResult<()> {
    let t = datatype::get(*out(datatype, "datatype")?)?;
    t.committed.store(true, Ordering::Relaxed);
    Ok(())
}

pub(crate) fn type_free(datatype: *mut MPI_Datatype) -> MpiResult<()> {
    let slot = out(datatype, "datatype")?;
    datatype::free(*slot)?;
    *slot = MPI_DATATYPE_NULL;
    Ok(())
}

pub(crate) unsafe fn type_set_name(
    datatype: MPI_Datatype,
    type_name: *const c_char,
) -> MpiResult<()> {
    let t = datatype::get(datatype)?;
    // SAFETY: the caller passes a NUL-terminated string.
    let name = unsafe { cstr(type_name, "type_name") }?;
    let max = MPI_MAX_OBJECT_NAME as usize - 1;
    let end = (0..=name.len().min(max))
        .rev()
        .find(|&i| name.is_char_boundary(i))
        .unwrap_or(0);
    *t.name.lock() = name[..end].to_string();
    Ok(())
}

pub(crate) unsafe fn type_get_name(
    datatype: MPI_Datatype,
    type_name: *mut c_char,
    resultlen: *mut c_int,
) -> MpiResult<()> {
    let name = if datatype == MPI_DATATYPE_NULL {
        "MPI_DATATYPE_NULL".to_string()
    } else {
        let t = datatype::get(datatype)?;
        let set = t.name.lock().clone();
        match t.named {
            Some(h) if set.is_empty() => datatype::predefined_name(h).unwrap_or("").to_string(),
            _ => set,
        }
    };
    if type_name.is_null() {
        return Err(MpiError::arg("type_name is a null pointer"));
    }
    // SAFETY: the caller provides MPI_MAX_OBJECT_NAME bytes.
    let n = unsafe { write_cstr(type_name, MPI_MAX_OBJECT_NAME as usize, &name) };
    put(resultlen, "resultlen", n as c_int)
}

// ---------------------------------------------------------------------------
// Sizes and bounds

/// Store a value in an `int` output, `MPI_UNDEFINED` if it does not fit.
fn put_int(p: *mut c_int, what: &str, v: i64) -> MpiResult<()> {
    put(p, what, c_int::try_from(v).unwrap_or(MPI_UNDEFINED))
}

pub(crate) fn type_size(datatype: MPI_Datatype, size: *mut c_int) -> MpiResult<()> {
    put_int(size, "size", datatype::get(datatype)?.size())
}

pub(crate) fn type_size_x(datatype: MPI_Datatype, size: *mut MPI_Count) -> MpiResult<()> {
    put(size, "size", datatype::get(datatype)?.size())
}

pub(crate) fn type_size_c(datatype: MPI_Datatype, size: *mut MPI_Count) -> MpiResult<()> {
    type_size_x(datatype, size)
}

fn two(a: *mut i64, an: &str, b: *mut i64, bn: &str, (x, y): (i64, i64)) -> MpiResult<()> {
    let a = out(a, an)?;
    let b = out(b, bn)?;
    (*a, *b) = (x, y);
    Ok(())
}

fn extent_of(dt: MPI_Datatype) -> MpiResult<(i64, i64)> {
    let t = datatype::get(dt)?;
    Ok((t.lb, t.extent()))
}

fn true_extent_of(dt: MPI_Datatype) -> MpiResult<(i64, i64)> {
    let t = datatype::get(dt)?;
    Ok((t.true_lb, t.true_ub - t.true_lb))
}

pub(crate) fn type_get_extent(
    datatype: MPI_Datatype,
    lb: *mut MPI_Aint,
    extent: *mut MPI_Aint,
) -> MpiResult<()> {
    two(lb, "lb", extent, "extent", extent_of(datatype)?)
}

pub(crate) fn type_get_extent_x(
    datatype: MPI_Datatype,
    lb: *mut MPI_Count,
    extent: *mut MPI_Count,
) -> MpiResult<()> {
    two(lb, "lb", extent, "extent", extent_of(datatype)?)
}

pub(crate) fn type_get_extent_c(
    datatype: MPI_Datatype,
    lb: *mut MPI_Count,
    extent: *mut MPI_Count,
) -> MpiResult<()> {
    two(lb, "lb", extent, "extent", extent_of(datatype)?)
}

pub(crate) fn type_get_true_extent(
    datatype: MPI_Datatype,
    true_lb: *mut MPI_Aint,
    true_extent: *mut MPI_Aint,
) -> MpiResult<()> {
    two(
        true_lb,
        "true_lb",
        true_extent,
        "true_extent",
        true_extent_of(datatype)?,
    )
}

pub(crate) fn type_get_true_extent_x(
    datatype: MPI_Datatype,
    true_lb: *mut MPI_Count,
    true_extent: *mut MPI_Count,
) -> MpiResult<()> {
    two(
        true_lb,
        "true_lb",
        true_extent,
        "true_extent",
        true_extent_of(datatype)?,
    )
}

pub(crate) fn type_get_true_extent_c(
    datatype: MPI_Datatype,
    true_lb: *mut MPI_Count,
    true_extent: *mut MPI_Count,
) -> MpiResult<()> {
    two(
        true_lb,
        "true_lb",
        true_extent,
        "true_extent",
        true_extent_of(datatype)?,
    )
}

pub(crate) fn type_extent(datatype: MPI_Datatype, extent: *mut MPI_Aint) -> MpiResult<()> {
    put(extent, "extent", extent_of(datatype)?.1)
}

pub(crate) fn type_lb(datatype: MPI_Datatype, displacement: *mut MPI_Aint) -> MpiResult<()> {
    put(displacement, "displacement", datatype::get(datatype)?.lb)
}

pub(crate) fn type_ub(datatype: MPI_Datatype, displacement: *mut MPI_Aint) -> MpiResult<()> {
    put(displacement, "displacement", datatype::get(datatype)?.ub)
}

// ---------------------------------------------------------------------------
// Envelope and contents

/// (integers, addresses, large counts, datatypes, combiner)
fn envelope(dt: MPI_Datatype) -> MpiResult<(i64, i64, i64, i64, c_int)> {
    let t = datatype::get(dt)?;
    let c = &t.contents;
    Ok((
        c.ints.len() as i64,
        c.aints.len() as i64,
        c.counts.len() as i64,
        c.types.len() as i64,
        t.combiner,
    ))
}

fn large_only(dt: MPI_Datatype) -> MpiError {
    MpiError::new(
        MPI_ERR_TYPE,
        format!("datatype 0x{dt:x} was built with large counts; use the _c function"),
    )
}

pub(crate) fn type_get_envelope(
    datatype: MPI_Datatype,
    num_integers: *mut c_int,
    num_addresses: *mut c_int,
    num_datatypes: *mut c_int,
    combiner: *mut c_int,
) -> MpiResult<()> {
    let (i, a, l, d, c) = envelope(datatype)?;
    if l > 0 {
        return Err(large_only(datatype));
    }
    put(num_integers, "num_integers", i as c_int)?;
    put(num_addresses, "num_addresses", a as c_int)?;
    put(num_datatypes, "num_datatypes", d as c_int)?;
    put(combiner, "combiner", c)
}

pub(crate) fn type_get_envelope_c(
    datatype: MPI_Datatype,
    num_integers: *mut MPI_Count,
    num_addresses: *mut MPI_Count,
    num_large_counts: *mut MPI_Count,
    num_datatypes: *mut MPI_Count,
    combiner: *mut c_int,
) -> MpiResult<()> {
    let (i, a, l, d, c) = envelope(datatype)?;
    put(num_integers, "num_integers", i)?;
    put(num_addresses, "num_addresses", a)?;
    put(num_large_counts, "num_large_counts", l)?;
    put(num_datatypes, "num_datatypes", d)?;
    put(combiner, "combiner", c)
}

/// Copy `v` into the user's array of `max` entries.
fn fill<X>(p: *mut X, max: i64, v: impl ExactSizeIterator<Item = X>, what: &str) -> MpiResult<()> {
    if (v.len() as i64) > max {
        return Err(MpiError::arg(format!(
            "{what} has room for {max} entries; {} needed",
            v.len()
        )));
    }
    if v.len() == 0 {
        return Ok(());
    }
    if p.is_null() {
        return Err(MpiError::arg(format!("{what} is a null pointer")));
    }
    for (i, x) in v.enumerate() {
        // SAFETY: the user's array holds `max` >= len entries.
        unsafe { p.add(i).write(x) };
    }
    Ok(())
}

fn contents_impl(
    datatype: MPI_Datatype,
    max: [i64; 4],
    ints: *mut c_int,
    addrs: *mut MPI_Aint,
    counts: Option<*mut MPI_Count>,
    types: *mut MPI_Datatype,
) -> MpiResult<()> {
    let t = datatype::get(datatype)?;
    if t.combiner == MPI_COMBINER_NAMED {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            "MPI_Type_get_contents is not defined for predefined datatypes",
        ));
    }
    let c = &t.contents;
    match counts {
        Some(p) => fill(p, max[2], c.counts.iter().copied(), "array_of_large_counts")?,
        None if !c.counts.is_empty() => return Err(large_only(datatype)),
        None => {}
    }
    fill(
        ints,
        max[0],
        c.ints.iter().map(|&x| x as c_int),
        "array_of_integers",
    )?;
    fill(addrs, max[1], c.aints.iter().copied(), "array_of_addresses")?;
    if (c.types.len() as i64) > max[3] {
        return Err(MpiError::arg("array_of_datatypes is too small"));
    }
    fill(
        types,
        max[3],
        c.types.iter().map(|x| x.handle()),
        "array_of_datatypes",
    )
}

pub(crate) fn type_get_contents(
    datatype: MPI_Datatype,
    max_integers: c_int,
    max_addresses: c_int,
    max_datatypes: c_int,
    array_of_integers: *mut c_int,
    array_of_addresses: *mut MPI_Aint,
    array_of_datatypes: *mut MPI_Datatype,
) -> MpiResult<()> {
    let max = [
        max_integers.into(),
        max_addresses.into(),
        0,
        max_datatypes.into(),
    ];
    contents_impl(
        datatype,
        max,
        array_of_integers,
        array_of_addresses,
        None,
        array_of_datatypes,
    )
}

pub(crate) fn type_get_contents_c(
    datatype: MPI_Datatype,
    max_integers: MPI_Count,
    max_addresses: MPI_Count,
    max_large_counts: MPI_Count,
    max_datatypes: MPI_Count,
    array_of_integers: *mut c_int,
    array_of_addresses: *mut MPI_Aint,
    array_of_large_counts: *mut MPI_Count,
    array_of_datatypes: *mut MPI_Datatype,
) -> MpiResult<()> {
    let max = [max_integers, max_addresses, max_large_counts, max_datatypes];
    contents_impl(
        datatype,
        max,
        array_of_integers,
        array_of_addresses,
        Some(array_of_large_counts),
        array_of_datatypes,
    )
}

// ---------------------------------------------------------------------------
// Attributes

pub(crate) fn type_create_keyval(
    type_copy_attr_fn: *mut MPI_Type_copy_attr_function,
    type_delete_attr_fn: *mut MPI_Type_delete_attr_function,
    type_keyval: *mut c_int,
    extra_state: *mut c_void,
) -> MpiResult<()> {
    let k = attr::create_keyval(
        type_copy_attr_fn as usize,
        type_delete_attr_fn as usize,
        extra_state as usize,
    );
    put(type_keyval, "type_keyval", k)
}

pub(crate) fn type_free_keyval(type_keyval: *mut c_int) -> MpiResult<()> {
    let k = out(type_keyval, "type_keyval")?;
    attr::free_keyval(*k)?;
    *k = MPI_KEYVAL_INVALID;
    Ok(())
}

pub(crate) fn type_set_attr(
    datatype: MPI_Datatype,
    type_keyval: c_int,
    attribute_val: *mut c_void,
) -> MpiResult<()> {
    datatype::get(datatype)?
        .attrs
        .set(datatype, type_keyval, attribute_val as usize)
}

pub(crate) fn type_get_attr(
    datatype: MPI_Datatype,
    type_keyval: c_int,
    attribute_val: *mut c_void,
    flag: *mut c_int,
) -> MpiResult<()> {
    let t = datatype::get(datatype)?;
    let flag = out(flag, "flag")?;
    let val = out(attribute_val.cast::<usize>(), "attribute_val")?;
    match t.attrs.get(type_keyval)? {
        Some(v) => {
            *val = v;
            *flag = 1;
        }
        None => *flag = 0,
    }
    Ok(())
}

pub(crate) fn type_delete_attr(datatype: MPI_Datatype, type_keyval: c_int) -> MpiResult<()> {
    datatype::get(datatype)?.attrs.delete(datatype, type_keyval)
}

// ---------------------------------------------------------------------------
// Pack and unpack

fn position_in(pos: i64, size: i64, what: &str) -> MpiResult<usize> {
    if pos < 0 || pos > size {
        return Err(MpiError::arg(format!(
            "{what} {pos} is outside the buffer of {size} bytes"
        )));
    }
    Ok(pos as usize)
}

fn user_bytes<'a>(p: *const c_void, len: i64, what: &str) -> MpiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() || len < 0 {
        return Err(MpiError::new(MPI_ERR_BUFFER, format!("invalid {what}")));
    }
    // SAFETY: the user passes a buffer of `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts(p.cast(), len as usize) })
}

fn user_bytes_mut<'a>(p: *mut c_void, len: i64, what: &str) -> MpiResult<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() || len < 0 {
        return Err(MpiError::new(MPI_ERR_BUFFER, format!("invalid {what}")));
    }
    // SAFETY: the user passes a buffer of `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast(), len as usize) })
}

fn no_room(need: i64, have: i64) -> MpiError {
    MpiError::new(
        MPI_ERR_TRUNCATE,
        format!("{need} bytes do not fit in the {have} left in the buffer"),
    )
}

/// The representation of a pack call.
#[derive(Clone, Copy, PartialEq)]
enum Rep {
    Native,
    External32,
}

fn packed_size(t: &Datatype, count: i64, rep: Rep) -> MpiResult<i64> {
    let one = match rep {
        Rep::Native => t.size(),
        Rep::External32 => external32::size(t),
    };
    count
        .checked_mul(one)
        .ok_or_else(|| MpiError::new(MPI_ERR_COUNT, format!("count {count} is too large")))
}

fn pack_impl(
    inbuf: *const c_void,
    incount: i64,
    dt: MPI_Datatype,
    outbuf: *mut c_void,
    outsize: i64,
    position: &mut i64,
    rep: Rep,
) -> MpiResult<()> {
    let count = count_arg(incount, "incount")?;
    let t = datatype::get_committed(dt)?;
    let need = packed_size(&t, count, rep)?;
    let at = position_in(*position, outsize, "position")?;
    if need > outsize - at as i64 {
        return Err(no_room(need, outsize - at as i64));
    }
    let out = &mut user_bytes_mut(outbuf, outsize, "outbuf")?[at..at + need as usize];
    // SAFETY: the user's input buffer holds `count` elements of the type.
    unsafe {
        match rep {
            Rep::Native => datatype::pack(&t, inbuf as usize, count, out),
            Rep::External32 => external32::pack(&t, inbuf as usize, count, out),
        }
    }
    *position += need;
    Ok(())
}

fn unpack_impl(
    inbuf: *const c_void,
    insize: i64,
    position: &mut i64,
    outbuf: *mut c_void,
    outcount: i64,
    dt: MPI_Datatype,
    rep: Rep,
) -> MpiResult<()> {
    let count = count_arg(outcount, "outcount")?;
    let t = datatype::get_committed(dt)?;
    let need = packed_size(&t, count, rep)?;
    let at = position_in(*position, insize, "position")?;
    if need > insize - at as i64 {
        return Err(no_room(need, insize - at as i64));
    }
    let data = &user_bytes(inbuf, insize, "inbuf")?[at..at + need as usize];
    // SAFETY: the user's output buffer holds `count` elements of the type.
    unsafe {
        match rep {
            Rep::Native => datatype::unpack(&t, data, outbuf as usize, count),
            Rep::External32 => external32::unpack(&t, data, outbuf as usize, count),
        }
    }
    *position += need;
    Ok(())
}

/// Run with a 64-bit position through an output of another width.
fn with_position<P: Copy + Into<i64> + TryFrom<i64>>(
    p: *mut P,
    f: impl FnOnce(&mut i64) -> MpiResult<()>,
) -> MpiResult<()> {
    let slot = out(p, "position")?;
    let mut pos: i64 = (*slot).into();
    f(&mut pos)?;
    *slot =
        P::try_from(pos).map_err(|_| MpiError::new(MPI_ERR_ARG, "position overflows its type"))?;
    Ok(())
}

pub(crate) fn pack(
    inbuf: *const c_void,
    incount: c_int,
    datatype: MPI_Datatype,
    outbuf: *mut c_void,
    outsize: c_int,
    position: *mut c_int,
    comm: MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm)?;
    with_position(position, |p| {
        pack_impl(
            inbuf,
            incount.into(),
            datatype,
            outbuf,
            outsize.into(),
            p,
            Rep::Native,
        )
    })
}

pub(crate) fn pack_c(
    inbuf: *const c_void,
    incount: MPI_Count,
    datatype: MPI_Datatype,
    outbuf: *mut c_void,
    outsize: MPI_Count,
    position: *mut MPI_Count,
    comm: MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm)?;
    with_position(position, |p| {
        pack_impl(inbuf, incount, datatype, outbuf, outsize, p, Rep::Native)
    })
}

pub(crate) fn unpack(
    inbuf: *const c_void,
    insize: c_int,
    position: *mut c_int,
    outbuf: *mut c_void,
    outcount: c_int,
    datatype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm)?;
    with_position(position, |p| {
        unpack_impl(
            inbuf,
            insize.into(),
            p,
            outbuf,
            outcount.into(),
            datatype,
            Rep::Native,
        )
    })
}

pub(crate) fn unpack_c(
    inbuf: *const c_void,
    insize: MPI_Count,
    position: *mut MPI_Count,
    outbuf: *mut c_void,
    outcount: MPI_Count,
    datatype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm)?;
    with_position(position, |p| {
        unpack_impl(inbuf, insize, p, outbuf, outcount, datatype, Rep::Native)
    })
}

fn size_impl(incount: i64, dt: MPI_Datatype, rep: Rep) -> MpiResult<i64> {
    let count = count_arg(incount, "incount")?;
    packed_size(&*datatype::get(dt)?, count, rep)
}

pub(crate) fn pack_size(
    incount: c_int,
    datatype: MPI_Datatype,
    comm: MPI_Comm,
    size: *mut c_int,
) -> MpiResult<()> {
    comm::get(comm)?;
    let n = size_impl(incount.into(), datatype, Rep::Native)?;
    let n = c_int::try_from(n).map_err(|_| {
        MpiError::new(
            MPI_ERR_COUNT,
            "packed size overflows an int (use MPI_Pack_size_c)",
        )
    })?;
    put(size, "size", n)
}

pub(crate) fn pack_size_c(
    incount: MPI_Count,
    datatype: MPI_Datatype,
    comm: MPI_Comm,
    size: *mut MPI_Count,
) -> MpiResult<()> {
    comm::get(comm)?;
    put(size, "size", size_impl(incount, datatype, Rep::Native)?)
}

unsafe fn datarep(p: *const c_char) -> MpiResult<()> {
    // SAFETY: passed on from the caller.
    let rep = unsafe { cstr(p, "datarep") }?;
    if rep != "external32" {
        return Err(MpiError::arg(format!(
            "unknown data representation \"{rep}\" (only \"external32\")"
        )));
    }
    Ok(())
}

pub(crate) unsafe fn pack_external(
    datarep: *const c_char,
    inbuf: *const c_void,
    incount: c_int,
    datatype: MPI_Datatype,
    outbuf: *mut c_void,
    outsize: MPI_Aint,
    position: *mut MPI_Aint,
) -> MpiResult<()> {
    // SAFETY: the user passes a C string.
    unsafe { self::datarep(datarep) }?;
    with_position(position, |p| {
        pack_impl(
            inbuf,
            incount.into(),
            datatype,
            outbuf,
            outsize,
            p,
            Rep::External32,
        )
    })
}

pub(crate) unsafe fn pack_external_c(
    datarep: *const c_char,
    inbuf: *const c_void,
    incount: MPI_Count,
    datatype: MPI_Datatype,
    outbuf: *mut c_void,
    outsize: MPI_Count,
    position: *mut MPI_Count,
) -> MpiResult<()> {
    // SAFETY: the user passes a C string.
    unsafe { self::datarep(datarep) }?;
    with_position(position, |p| {
        pack_impl(
            inbuf,
            incount,
            datatype,
            outbuf,
            outsize,
            p,
            Rep::External32,
        )
    })
}

pub(crate) unsafe fn unpack_external(
    datarep: *const c_char,
    inbuf: *const c_void,
    insize: MPI_Aint,
    position: *mut MPI_Aint,
    outbuf: *mut c_void,
    outcount: c_int,
    datatype: MPI_Datatype,
) -> MpiResult<()> {
    // SAFETY: the user passes a C string.
    unsafe { self::datarep(datarep) }?;
    with_position(position, |p| {
        unpack_impl(
            inbuf,
            insize,
            p,
            outbuf,
            outcount.into(),
            datatype,
            Rep::External32,
        )
    })
}

pub(crate) unsafe fn unpack_external_c(
    datarep: *const c_char,
    inbuf: *const c_void,
    insize: MPI_Count,
    position: *mut MPI_Count,
    outbuf: *mut c_void,
    outcount: MPI_Count,
    datatype: MPI_Datatype,
) -> MpiResult<()> {
    // SAFETY: the user passes a C string.
    unsafe { self::datarep(datarep) }?;
    with_position(position, |p| {
        unpack_impl(
            inbuf,
            insize,
            p,
            outbuf,
            outcount,
            datatype,
            Rep::External32,
        )
    })
}

pub(crate) unsafe fn pack_external_size(
    datarep: *const c_char,
    incount: c_int,
    datatype: MPI_Datatype,
    size: *mut MPI_Aint,
) -> MpiResult<()> {
    // SAFETY: the user passes a C string.
    unsafe { self::datarep(datarep) }?;
    put(
        size,
        "size",
        size_impl(incount.into(), datatype, Rep::External32)?,
    )
}

pub(crate) unsafe fn pack_external_size_c(
    datarep: *const c_char,
    incount: MPI_Count,
    datatype: MPI_Datatype,
    size: *mut MPI_Count,
) -> MpiResult<()> {
    // SAFETY: the user passes a C string.
    unsafe { self::datarep(datarep) }?;
    put(size, "size", size_impl(incount, datatype, Rep::External32)?)
}
