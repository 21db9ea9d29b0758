//! Datatypes, the C face: read the array arguments, call
//! `core::datatype::calls` (constructors, queries, contents, pack/unpack)
//! and write back handles and values. The classic and large-count (`_c`)
//! forms widen to the same 64-bit calls.

// The C signatures are the standard's.
#![allow(clippy::too_many_arguments)]

use super::types::*;
use super::util::{cstr, out, put, write_cstr};
use crate::abi::callbacks::{MPI_Type_copy_attr_function, MPI_Type_delete_attr_function};
use crate::abi::consts::*;
use crate::core::attr;
use crate::core::comm;
use crate::core::datatype::calls::{self, Rep, count_arg, ndims_arg};
use crate::core::datatype::{self, f90};
use crate::core::error::{MpiError, MpiResult};
use std::ffi::{c_char, c_int, c_void};

/// Store a new type's handle: `MPI_DATATYPE_NULL` first, so a failure
/// leaves no stale handle behind.
fn create(
    slot: &mut MPI_Datatype,
    make: impl FnOnce() -> MpiResult<MPI_Datatype>,
) -> MpiResult<()> {
    *slot = MPI_DATATYPE_NULL;
    *slot = make()?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Constructors: the large-count forms; `scripts/gen-abi` has the classic
// ones widen their arguments and call these with `large` false.

pub(crate) fn type_contiguous_c(
    count: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    create(newtype, || calls::contiguous(count, oldtype, large))
}

pub(crate) fn type_vector_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    stride: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    create(newtype, || {
        calls::vector(count, blocklength, stride, oldtype, false, large)
    })
}

pub(crate) fn type_create_hvector_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    stride: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    create(newtype, || {
        calls::vector(count, blocklength, stride, oldtype, true, large)
    })
}

pub(crate) fn type_indexed_c(
    count: MPI_Count,
    array_of_blocklengths: &[MPI_Count],
    array_of_displacements: &[MPI_Count],
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    create(newtype, || {
        calls::indexed(
            array_of_blocklengths,
            array_of_displacements,
            oldtype,
            false,
            large,
        )
    })
}

pub(crate) fn type_create_hindexed_c(
    count: MPI_Count,
    array_of_blocklengths: &[MPI_Count],
    array_of_displacements: &[MPI_Count],
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    create(newtype, || {
        calls::indexed(
            array_of_blocklengths,
            array_of_displacements,
            oldtype,
            true,
            large,
        )
    })
}

pub(crate) fn type_create_indexed_block_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    array_of_displacements: &[MPI_Count],
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    create(newtype, || {
        calls::indexed_block(blocklength, array_of_displacements, oldtype, false, large)
    })
}

pub(crate) fn type_create_hindexed_block_c(
    count: MPI_Count,
    blocklength: MPI_Count,
    array_of_displacements: &[MPI_Count],
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    create(newtype, || {
        calls::indexed_block(blocklength, array_of_displacements, oldtype, true, large)
    })
}

pub(crate) fn type_create_struct_c(
    count: MPI_Count,
    array_of_blocklengths: &[MPI_Count],
    array_of_displacements: &[MPI_Count],
    array_of_types: &[MPI_Datatype],
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    create(newtype, || {
        calls::structure(
            array_of_blocklengths,
            array_of_displacements,
            array_of_types,
            large,
        )
    })
}

pub(crate) fn type_create_subarray_c(
    ndims: c_int,
    array_of_sizes: &[MPI_Count],
    array_of_subsizes: &[MPI_Count],
    array_of_starts: &[MPI_Count],
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    ndims_arg(ndims)?;
    create(newtype, || {
        calls::subarray(
            array_of_sizes,
            array_of_subsizes,
            array_of_starts,
            order,
            oldtype,
            large,
        )
    })
}

pub(crate) fn type_create_darray_c(
    size: c_int,
    rank: c_int,
    ndims: c_int,
    array_of_gsizes: &[MPI_Count],
    array_of_distribs: &[c_int],
    array_of_dargs: &[c_int],
    array_of_psizes: &[c_int],
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    ndims_arg(ndims)?;
    let psizes: Vec<i64> = array_of_psizes.iter().map(|&x| x.into()).collect();
    create(newtype, || {
        calls::darray(
            size,
            rank,
            array_of_gsizes,
            array_of_distribs,
            array_of_dargs,
            &psizes,
            order,
            oldtype,
            large,
        )
    })
}

pub(crate) fn type_create_resized_c(
    oldtype: MPI_Datatype,
    lb: MPI_Count,
    extent: MPI_Count,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    create(newtype, || calls::resized(oldtype, lb, extent, large))
}

pub(crate) fn type_dup(oldtype: MPI_Datatype, newtype: &mut MPI_Datatype) -> MpiResult<()> {
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

pub(crate) fn type_size_c(datatype: MPI_Datatype, size: &mut MPI_Count) -> MpiResult<()> {
    *size = datatype::get(datatype)?.size();
    Ok(())
}

pub(crate) fn type_get_extent_c(
    datatype: MPI_Datatype,
    lb: &mut MPI_Count,
    extent: &mut MPI_Count,
) -> MpiResult<()> {
    (*lb, *extent) = calls::extent(datatype)?;
    Ok(())
}

pub(crate) fn type_get_true_extent_c(
    datatype: MPI_Datatype,
    true_lb: &mut MPI_Count,
    true_extent: &mut MPI_Count,
) -> MpiResult<()> {
    (*true_lb, *true_extent) = calls::true_extent(datatype)?;
    Ok(())
}

pub(crate) fn type_extent(datatype: MPI_Datatype, extent: &mut MPI_Aint) -> MpiResult<()> {
    *extent = calls::extent(datatype)?.1;
    Ok(())
}

pub(crate) fn type_lb(datatype: MPI_Datatype, displacement: &mut MPI_Aint) -> MpiResult<()> {
    *displacement = calls::extent(datatype)?.0;
    Ok(())
}

pub(crate) fn type_ub(datatype: MPI_Datatype, displacement: &mut MPI_Aint) -> MpiResult<()> {
    let (lb, extent) = calls::extent(datatype)?;
    *displacement = lb + extent;
    Ok(())
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

pub(crate) fn pack_c(
    inbuf: usize,
    incount: MPI_Count,
    datatype: MPI_Datatype,
    outbuf: usize,
    outsize: MPI_Count,
    position: &mut MPI_Count,
    comm: MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm)?;
    calls::pack(
        inbuf,
        incount,
        datatype,
        outbuf,
        outsize,
        position,
        Rep::Native,
    )
}

pub(crate) fn unpack_c(
    inbuf: usize,
    insize: MPI_Count,
    position: &mut MPI_Count,
    outbuf: usize,
    outcount: MPI_Count,
    datatype: MPI_Datatype,
    comm: MPI_Comm,
) -> MpiResult<()> {
    comm::get(comm)?;
    calls::unpack(
        inbuf,
        insize,
        position,
        outbuf,
        outcount,
        datatype,
        Rep::Native,
    )
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

pub(crate) fn pack_external_c(
    datarep: &str,
    inbuf: usize,
    incount: MPI_Count,
    datatype: MPI_Datatype,
    outbuf: usize,
    outsize: MPI_Count,
    position: &mut MPI_Count,
) -> MpiResult<()> {
    let rep = calls::datarep(datarep)?;
    calls::pack(inbuf, incount, datatype, outbuf, outsize, position, rep)
}

pub(crate) fn unpack_external_c(
    datarep: &str,
    inbuf: usize,
    insize: MPI_Count,
    position: &mut MPI_Count,
    outbuf: usize,
    outcount: MPI_Count,
    datatype: MPI_Datatype,
) -> MpiResult<()> {
    let rep = calls::datarep(datarep)?;
    calls::unpack(inbuf, insize, position, outbuf, outcount, datatype, rep)
}

pub(crate) fn pack_external_size_c(
    datarep: &str,
    incount: MPI_Count,
    datatype: MPI_Datatype,
    size: &mut MPI_Count,
) -> MpiResult<()> {
    *size = calls::pack_size(incount, datatype, calls::datarep(datarep)?)?;
    Ok(())
}
