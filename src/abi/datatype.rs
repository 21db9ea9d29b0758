//! Datatypes, the C face: read the array arguments, call
//! `core::datatype::calls` (constructors, queries, contents, pack/unpack)
//! and write back handles and values. The classic and large-count (`_c`)
//! forms widen to the same 64-bit calls.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::types::*;
use super::util::{c_array, cstr, out, put, write_cstr};
use crate::abi::callbacks::{MPI_Type_copy_attr_function, MPI_Type_delete_attr_function};
use crate::abi::consts::*;
use crate::core::attr;
use crate::core::comm;
use crate::core::datatype::calls::{self, Rep, count_arg, ndims_arg};
use crate::core::datatype::{self, f90};
use crate::core::error::{MpiError, MpiResult};
use std::ffi::{c_char, c_int, c_void};

/// `n` values of a C array argument, widened.
fn arr<X: Copy + Into<i64>>(p: *const X, n: i64, what: &str) -> MpiResult<Vec<i64>> {
    Ok(c_array(p, n as usize, what)?
        .iter()
        .map(|&x| x.into())
        .collect())
}

/// The arrays of an indexed constructor: `count` (checked) entries each.
fn two_arrays<X: Copy + Into<i64>, Y: Copy + Into<i64>>(
    count: i64,
    a: *const X,
    b: *const Y,
    what: [&str; 2],
) -> MpiResult<(Vec<i64>, Vec<i64>)> {
    let n = count_arg(count, "count")?;
    Ok((arr(a, n, what[0])?, arr(b, n, what[1])?))
}

/// Store a new type's handle: `MPI_DATATYPE_NULL` first, so a failure
/// leaves no stale handle behind.
fn create(
    newtype: *mut MPI_Datatype,
    make: impl FnOnce() -> MpiResult<MPI_Datatype>,
) -> MpiResult<()> {
    let slot = out(newtype, "newtype")?;
    *slot = MPI_DATATYPE_NULL;
    *slot = make()?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Constructors

pub(crate) fn type_contiguous(
    count: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    create(newtype, || calls::contiguous(count.into(), oldtype, false))
}

pub(crate) fn type_contiguous_c(
    count: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    create(newtype, || calls::contiguous(count, oldtype, true))
}

pub(crate) fn type_vector(
    count: c_int,
    blocklength: c_int,
    stride: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    create(newtype, || {
        calls::vector(
            count.into(),
            blocklength.into(),
            stride.into(),
            oldtype,
            false,
            false,
        )
    })
}

pub(crate) fn type_vector_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    stride: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    create(newtype, || {
        calls::vector(count, blocklength, stride, oldtype, false, true)
    })
}

pub(crate) fn type_create_hvector(
    count: c_int,
    blocklength: c_int,
    stride: MPI_Aint,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    create(newtype, || {
        calls::vector(
            count.into(),
            blocklength.into(),
            stride,
            oldtype,
            true,
            false,
        )
    })
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
    create(newtype, || {
        calls::vector(count, blocklength, stride, oldtype, true, true)
    })
}

const BL_DISPLS: [&str; 2] = ["array_of_blocklengths", "array_of_displacements"];

pub(crate) fn type_indexed(
    count: c_int,
    array_of_blocklengths: *const c_int,
    array_of_displacements: *const c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let (bl, d) = two_arrays(
        count.into(),
        array_of_blocklengths,
        array_of_displacements,
        BL_DISPLS,
    )?;
    create(newtype, || calls::indexed(&bl, &d, oldtype, false, false))
}

pub(crate) fn type_indexed_c(
    count: MPI_Count,
    array_of_blocklengths: *const MPI_Count,
    array_of_displacements: *const MPI_Count,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let (bl, d) = two_arrays(
        count,
        array_of_blocklengths,
        array_of_displacements,
        BL_DISPLS,
    )?;
    create(newtype, || calls::indexed(&bl, &d, oldtype, false, true))
}

pub(crate) fn type_create_hindexed(
    count: c_int,
    array_of_blocklengths: *const c_int,
    array_of_displacements: *const MPI_Aint,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    let (bl, d) = two_arrays(
        count.into(),
        array_of_blocklengths,
        array_of_displacements,
        BL_DISPLS,
    )?;
    create(newtype, || calls::indexed(&bl, &d, oldtype, true, false))
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
    let (bl, d) = two_arrays(
        count,
        array_of_blocklengths,
        array_of_displacements,
        BL_DISPLS,
    )?;
    create(newtype, || calls::indexed(&bl, &d, oldtype, true, true))
}

/// The indexed-block constructors (`bytes`: the hindexed form).
fn block<X: Copy + Into<i64>>(
    count: i64,
    blocklength: i64,
    displs: *const X,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    bytes: bool,
    large: bool,
) -> MpiResult<()> {
    let n = count_arg(count, "count")?;
    let d = arr(displs, n, "array_of_displacements")?;
    create(newtype, || {
        calls::indexed_block(blocklength, &d, oldtype, bytes, large)
    })
}

pub(crate) fn type_create_indexed_block(
    count: c_int,
    blocklength: c_int,
    array_of_displacements: *const c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    block(
        count.into(),
        blocklength.into(),
        array_of_displacements,
        oldtype,
        newtype,
        false,
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
    block(
        count,
        blocklength,
        array_of_displacements,
        oldtype,
        newtype,
        false,
        true,
    )
}

pub(crate) fn type_create_hindexed_block(
    count: c_int,
    blocklength: c_int,
    array_of_displacements: *const MPI_Aint,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    block(
        count.into(),
        blocklength.into(),
        array_of_displacements,
        oldtype,
        newtype,
        true,
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
    block(
        count,
        blocklength,
        array_of_displacements,
        oldtype,
        newtype,
        true,
        true,
    )
}

fn structure<X: Copy + Into<i64>, Y: Copy + Into<i64>>(
    count: i64,
    bl: *const X,
    displs: *const Y,
    types: *const MPI_Datatype,
    newtype: *mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    let (bl, d) = two_arrays(count, bl, displs, BL_DISPLS)?;
    let types = c_array(types, bl.len(), "array_of_types")?;
    create(newtype, || calls::structure(&bl, &d, types, large))
}

pub(crate) fn type_create_struct(
    count: c_int,
    array_of_blocklengths: *const c_int,
    array_of_displacements: *const MPI_Aint,
    array_of_types: *const MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    structure(
        count.into(),
        array_of_blocklengths,
        array_of_displacements,
        array_of_types,
        newtype,
        false,
    )
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
    structure(
        count,
        array_of_blocklengths,
        array_of_displacements,
        array_of_types,
        newtype,
        true,
    )
}

fn subarray<X: Copy + Into<i64>>(
    ndims: c_int,
    sizes: *const X,
    subsizes: *const X,
    starts: *const X,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    let n = ndims_arg(ndims)?;
    let (a, b, c) = (
        arr(sizes, n, "array_of_sizes")?,
        arr(subsizes, n, "array_of_subsizes")?,
        arr(starts, n, "array_of_starts")?,
    );
    create(newtype, || {
        calls::subarray(&a, &b, &c, order, oldtype, large)
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
    subarray(
        ndims,
        array_of_sizes,
        array_of_subsizes,
        array_of_starts,
        order,
        oldtype,
        newtype,
        false,
    )
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
    subarray(
        ndims,
        array_of_sizes,
        array_of_subsizes,
        array_of_starts,
        order,
        oldtype,
        newtype,
        true,
    )
}

fn darray<X: Copy + Into<i64>>(
    size: c_int,
    rank: c_int,
    ndims: c_int,
    gsizes: *const X,
    distribs: *const c_int,
    dargs: *const c_int,
    psizes: *const c_int,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    let n = ndims_arg(ndims)?;
    let g = arr(gsizes, n, "array_of_gsizes")?;
    let distribs = c_array(distribs, n as usize, "array_of_distribs")?;
    let dargs = c_array(dargs, n as usize, "array_of_dargs")?;
    let p = arr(psizes, n, "array_of_psizes")?;
    create(newtype, || {
        calls::darray(size, rank, &g, distribs, dargs, &p, order, oldtype, large)
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
    darray(
        size,
        rank,
        ndims,
        array_of_gsizes,
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
    darray(
        size,
        rank,
        ndims,
        array_of_gsizes,
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
    create(newtype, || calls::resized(oldtype, lb, extent, false))
}

pub(crate) fn type_create_resized_c(
    oldtype: MPI_Datatype,
    lb: MPI_Count,
    extent: MPI_Count,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    create(newtype, || calls::resized(oldtype, lb, extent, true))
}

pub(crate) fn type_dup(oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> MpiResult<()> {
    create(newtype, || calls::dup(oldtype))
}

pub(crate) fn type_create_f90_integer(r: c_int, newtype: *mut MPI_Datatype) -> MpiResult<()> {
    put(newtype, "newtype", f90::integer(r)?)
}

pub(crate) fn type_create_f90_real(
    p: c_int,
    r: c_int,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    put(newtype, "newtype", f90::real(p, r)?)
}

pub(crate) fn type_create_f90_complex(
    p: c_int,
    r: c_int,
    newtype: *mut MPI_Datatype,
) -> MpiResult<()> {
    put(newtype, "newtype", f90::complex(p, r)?)
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
    put(
        pair_type,
        "pair_type",
        calls::value_index(value_type, index_type)?,
    )
}

// ---------------------------------------------------------------------------
// Commit, free, names

pub(crate) fn type_commit(datatype: *mut MPI_Datatype) -> MpiResult<()> {
    calls::commit(*out(datatype, "datatype")?)
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
    datatype::get(datatype)?;
    // SAFETY: the caller passes a NUL-terminated string.
    calls::set_name(datatype, unsafe { cstr(type_name, "type_name") }?)
}

pub(crate) unsafe fn type_get_name(
    datatype: MPI_Datatype,
    type_name: *mut c_char,
    resultlen: *mut c_int,
) -> MpiResult<()> {
    let name = calls::name(datatype)?;
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

/// Two 64-bit outputs (bounds and extents; `MPI_Aint` and `MPI_Count`
/// are both `long` in this ABI).
fn two(a: *mut i64, an: &str, b: *mut i64, bn: &str, (x, y): (i64, i64)) -> MpiResult<()> {
    let a = out(a, an)?;
    let b = out(b, bn)?;
    (*a, *b) = (x, y);
    Ok(())
}

pub(crate) fn type_get_extent(
    datatype: MPI_Datatype,
    lb: *mut MPI_Aint,
    extent: *mut MPI_Aint,
) -> MpiResult<()> {
    two(lb, "lb", extent, "extent", calls::extent(datatype)?)
}

pub(crate) fn type_get_extent_x(
    datatype: MPI_Datatype,
    lb: *mut MPI_Count,
    extent: *mut MPI_Count,
) -> MpiResult<()> {
    two(lb, "lb", extent, "extent", calls::extent(datatype)?)
}

pub(crate) fn type_get_extent_c(
    datatype: MPI_Datatype,
    lb: *mut MPI_Count,
    extent: *mut MPI_Count,
) -> MpiResult<()> {
    two(lb, "lb", extent, "extent", calls::extent(datatype)?)
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
        calls::true_extent(datatype)?,
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
        calls::true_extent(datatype)?,
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
        calls::true_extent(datatype)?,
    )
}

pub(crate) fn type_extent(datatype: MPI_Datatype, extent: *mut MPI_Aint) -> MpiResult<()> {
    put(extent, "extent", calls::extent(datatype)?.1)
}

pub(crate) fn type_lb(datatype: MPI_Datatype, displacement: *mut MPI_Aint) -> MpiResult<()> {
    put(displacement, "displacement", calls::extent(datatype)?.0)
}

pub(crate) fn type_ub(datatype: MPI_Datatype, displacement: *mut MPI_Aint) -> MpiResult<()> {
    let (lb, extent) = calls::extent(datatype)?;
    put(displacement, "displacement", lb + extent)
}

// ---------------------------------------------------------------------------
// Envelope and contents

pub(crate) fn type_get_envelope(
    datatype: MPI_Datatype,
    num_integers: *mut c_int,
    num_addresses: *mut c_int,
    num_datatypes: *mut c_int,
    combiner: *mut c_int,
) -> MpiResult<()> {
    let ([i, a, _, d], c) = calls::envelope(datatype, false)?;
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
    let ([i, a, l, d], c) = calls::envelope(datatype, true)?;
    put(num_integers, "num_integers", i)?;
    put(num_addresses, "num_addresses", a)?;
    put(num_large_counts, "num_large_counts", l)?;
    put(num_datatypes, "num_datatypes", d)?;
    put(combiner, "combiner", c)
}

/// Copy `v` into the user's array of `max` entries.
fn fill<X: Copy>(p: *mut X, max: i64, v: &[X], what: &str) -> MpiResult<()> {
    if (v.len() as i64) > max {
        return Err(MpiError::arg(format!(
            "{what} has room for {max} entries; {} needed",
            v.len()
        )));
    }
    if v.is_empty() {
        return Ok(());
    }
    if p.is_null() {
        return Err(MpiError::arg(format!("{what} is a null pointer")));
    }
    // SAFETY: the user's array holds `max` >= len entries.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), p, v.len()) };
    Ok(())
}

fn contents(
    datatype: MPI_Datatype,
    max: [i64; 4],
    ints: *mut c_int,
    addrs: *mut MPI_Aint,
    counts: Option<*mut MPI_Count>,
    types: *mut MPI_Datatype,
) -> MpiResult<()> {
    let c = calls::contents(datatype, counts.is_some())?;
    if let Some(p) = counts {
        fill(p, max[2], &c.counts, "array_of_large_counts")?;
    }
    fill(ints, max[0], &c.ints, "array_of_integers")?;
    fill(addrs, max[1], &c.aints, "array_of_addresses")?;
    fill(types, max[3], &c.types, "array_of_datatypes")
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
    contents(
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
    contents(
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

/// `MPI_Pack` and its `_c` form.
fn pack_native<P: Copy + Into<i64> + TryFrom<i64>>(
    inbuf: *const c_void,
    incount: i64,
    datatype: MPI_Datatype,
    outbuf: *mut c_void,
    outsize: i64,
    position: *mut P,
    comm: MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm)?;
    with_position(position, |p| {
        calls::pack(
            inbuf as usize,
            incount,
            datatype,
            outbuf as usize,
            outsize,
            p,
            Rep::Native,
        )
    })
}

fn unpack_native<P: Copy + Into<i64> + TryFrom<i64>>(
    inbuf: *const c_void,
    insize: i64,
    position: *mut P,
    outbuf: *mut c_void,
    outcount: i64,
    datatype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm)?;
    with_position(position, |p| {
        calls::unpack(
            inbuf as usize,
            insize,
            p,
            outbuf as usize,
            outcount,
            datatype,
            Rep::Native,
        )
    })
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
    pack_native(
        inbuf,
        incount.into(),
        datatype,
        outbuf,
        outsize.into(),
        position,
        comm,
    )
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
    pack_native(inbuf, incount, datatype, outbuf, outsize, position, comm)
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
    unpack_native(
        inbuf,
        insize.into(),
        position,
        outbuf,
        outcount.into(),
        datatype,
        comm,
    )
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
    unpack_native(inbuf, insize, position, outbuf, outcount, datatype, comm)
}

pub(crate) fn pack_size(
    incount: c_int,
    datatype: MPI_Datatype,
    comm: MPI_Comm,
    size: *mut c_int,
) -> MpiResult<()> {
    comm::get(comm)?;
    let n = calls::pack_size(incount.into(), datatype, Rep::Native)?;
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
    put(
        size,
        "size",
        calls::pack_size(incount, datatype, Rep::Native)?,
    )
}

/// The representation a `datarep` argument names.
///
/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn datarep(p: *const c_char) -> MpiResult<Rep> {
    // SAFETY: passed on from the caller.
    calls::datarep(unsafe { cstr(p, "datarep") }?)
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
    unsafe {
        pack_external_c(
            datarep,
            inbuf,
            incount.into(),
            datatype,
            outbuf,
            outsize,
            position,
        )
    }
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
    let rep = unsafe { self::datarep(datarep) }?;
    with_position(position, |p| {
        calls::pack(
            inbuf as usize,
            incount,
            datatype,
            outbuf as usize,
            outsize,
            p,
            rep,
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
    unsafe {
        unpack_external_c(
            datarep,
            inbuf,
            insize,
            position,
            outbuf,
            outcount.into(),
            datatype,
        )
    }
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
    let rep = unsafe { self::datarep(datarep) }?;
    with_position(position, |p| {
        calls::unpack(
            inbuf as usize,
            insize,
            p,
            outbuf as usize,
            outcount,
            datatype,
            rep,
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
    unsafe { pack_external_size_c(datarep, incount.into(), datatype, size) }
}

pub(crate) unsafe fn pack_external_size_c(
    datarep: *const c_char,
    incount: MPI_Count,
    datatype: MPI_Datatype,
    size: *mut MPI_Count,
) -> MpiResult<()> {
    // SAFETY: the user passes a C string.
    let rep = unsafe { self::datarep(datarep) }?;
    put(size, "size", calls::pack_size(incount, datatype, rep)?)
}
