//! The datatype chapter's calls as the C functions take them (typed
//! arguments, 64-bit counts; the classic forms are widened, and `large`
//! says which form created a type). `scripts/gen-abi` binds each by its
//! `doc(alias)`; the semantics are `calls`'.

// The standard's parameter lists.
#![allow(clippy::too_many_arguments)]

use super::calls::{self, Rep, count_arg, ndims_arg};
use super::{f90, get};
use crate::core::args::{StrOut, new_handle};
use crate::core::attr::{self, AttrValue, Lang, Object};
use crate::core::comm;
use crate::core::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::types::{MPI_Aint, MPI_Comm, MPI_Count, MPI_Datatype};
use std::ffi::c_int;

/// Store a new type's handle (`MPI_DATATYPE_NULL` if making it fails).
fn create(
    slot: &mut MPI_Datatype,
    make: impl FnOnce() -> MpiResult<MPI_Datatype>,
) -> MpiResult<()> {
    new_handle(slot, MPI_DATATYPE_NULL, make)
}

#[doc(alias = "MPI_Type_contiguous")]
pub fn type_contiguous(
    count: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    create(newtype, || calls::contiguous(count, oldtype, large))
}

#[doc(alias = "MPI_Type_vector")]
#[doc(alias = "MPI_Type_create_hvector")]
pub fn type_vector(
    count: MPI_Count,
    blocklength: MPI_Count,
    stride: MPI_Count,
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    bytes: bool,
    large: bool,
) -> MpiResult<()> {
    create(newtype, || {
        calls::vector(count, blocklength, stride, oldtype, bytes, large)
    })
}

#[doc(alias = "MPI_Type_indexed")]
#[doc(alias = "MPI_Type_create_hindexed")]
pub fn type_indexed(
    count: MPI_Count,
    array_of_blocklengths: &[MPI_Count],
    array_of_displacements: &[MPI_Count],
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    bytes: bool,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    create(newtype, || {
        calls::indexed(
            array_of_blocklengths,
            array_of_displacements,
            oldtype,
            bytes,
            large,
        )
    })
}

#[doc(alias = "MPI_Type_create_indexed_block")]
#[doc(alias = "MPI_Type_create_hindexed_block")]
pub fn type_create_indexed_block(
    count: MPI_Count,
    blocklength: MPI_Count,
    array_of_displacements: &[MPI_Count],
    oldtype: MPI_Datatype,
    newtype: &mut MPI_Datatype,
    bytes: bool,
    large: bool,
) -> MpiResult<()> {
    count_arg(count, "count")?;
    create(newtype, || {
        calls::indexed_block(blocklength, array_of_displacements, oldtype, bytes, large)
    })
}

#[doc(alias = "MPI_Type_create_struct")]
pub fn type_create_struct(
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

#[doc(alias = "MPI_Type_create_subarray")]
pub fn type_create_subarray(
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

#[doc(alias = "MPI_Type_create_darray")]
pub fn type_create_darray(
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

#[doc(alias = "MPI_Type_create_resized")]
pub fn type_create_resized(
    oldtype: MPI_Datatype,
    lb: MPI_Count,
    extent: MPI_Count,
    newtype: &mut MPI_Datatype,
    large: bool,
) -> MpiResult<()> {
    create(newtype, || calls::resized(oldtype, lb, extent, large))
}

#[doc(alias = "MPI_Type_dup")]
pub fn type_dup(oldtype: MPI_Datatype, newtype: &mut MPI_Datatype) -> MpiResult<()> {
    create(newtype, || calls::dup(oldtype))
}

#[doc(alias = "MPI_Type_size")]
pub fn type_size(datatype: MPI_Datatype, size: &mut MPI_Count) -> MpiResult<()> {
    *size = get(datatype)?.size();
    Ok(())
}

#[doc(alias = "MPI_Type_get_extent")]
pub fn type_get_extent(
    datatype: MPI_Datatype,
    lb: &mut MPI_Count,
    extent: &mut MPI_Count,
) -> MpiResult<()> {
    (*lb, *extent) = calls::extent(datatype)?;
    Ok(())
}

#[doc(alias = "MPI_Type_get_true_extent")]
pub fn type_get_true_extent(
    datatype: MPI_Datatype,
    true_lb: &mut MPI_Count,
    true_extent: &mut MPI_Count,
) -> MpiResult<()> {
    (*true_lb, *true_extent) = calls::true_extent(datatype)?;
    Ok(())
}

#[doc(alias = "MPI_Type_extent")]
pub fn type_extent(datatype: MPI_Datatype, extent: &mut MPI_Aint) -> MpiResult<()> {
    *extent = calls::extent(datatype)?.1;
    Ok(())
}

#[doc(alias = "MPI_Type_lb")]
pub fn type_lb(datatype: MPI_Datatype, displacement: &mut MPI_Aint) -> MpiResult<()> {
    *displacement = calls::extent(datatype)?.0;
    Ok(())
}

#[doc(alias = "MPI_Type_ub")]
pub fn type_ub(datatype: MPI_Datatype, displacement: &mut MPI_Aint) -> MpiResult<()> {
    let (lb, extent) = calls::extent(datatype)?;
    *displacement = lb + extent;
    Ok(())
}

#[doc(alias = "MPI_Pack")]
pub fn pack(
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

#[doc(alias = "MPI_Unpack")]
pub fn unpack(
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

#[doc(alias = "MPI_Pack_external")]
pub fn pack_external(
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

#[doc(alias = "MPI_Unpack_external")]
pub fn unpack_external(
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

#[doc(alias = "MPI_Pack_external_size")]
pub fn pack_external_size(
    datarep: &str,
    incount: MPI_Count,
    datatype: MPI_Datatype,
    size: &mut MPI_Count,
) -> MpiResult<()> {
    *size = calls::pack_size(incount, datatype, calls::datarep(datarep)?)?;
    Ok(())
}

#[doc(alias = "MPI_Type_create_f90_integer")]
pub fn type_create_f90_integer(r: c_int, newtype: &mut MPI_Datatype) -> MpiResult<()> {
    *newtype = f90::integer(r)?;
    Ok(())
}

#[doc(alias = "MPI_Type_create_f90_real")]
pub fn type_create_f90_real(p: c_int, r: c_int, newtype: &mut MPI_Datatype) -> MpiResult<()> {
    *newtype = f90::real(p, r)?;
    Ok(())
}

#[doc(alias = "MPI_Type_create_f90_complex")]
pub fn type_create_f90_complex(p: c_int, r: c_int, newtype: &mut MPI_Datatype) -> MpiResult<()> {
    *newtype = f90::complex(p, r)?;
    Ok(())
}

#[doc(alias = "MPI_Type_match_size")]
pub fn type_match_size(
    typeclass: c_int,
    size: c_int,
    datatype: &mut MPI_Datatype,
) -> MpiResult<()> {
    *datatype = super::match_size(typeclass, size.into()).ok_or_else(|| {
        MpiError::arg(format!(
            "no predefined type has type class {typeclass} and size {size}"
        ))
    })?;
    Ok(())
}

#[doc(alias = "MPI_Type_get_value_index")]
pub fn type_get_value_index(
    value_type: MPI_Datatype,
    index_type: MPI_Datatype,
    pair_type: &mut MPI_Datatype,
) -> MpiResult<()> {
    *pair_type = calls::value_index(value_type, index_type)?;
    Ok(())
}

#[doc(alias = "MPI_Type_commit")]
pub fn type_commit(datatype: &mut MPI_Datatype) -> MpiResult<()> {
    calls::commit(*datatype)
}

#[doc(alias = "MPI_Type_free")]
pub fn type_free(datatype: &mut MPI_Datatype) -> MpiResult<()> {
    super::free(*datatype)?;
    *datatype = MPI_DATATYPE_NULL;
    Ok(())
}

#[doc(alias = "MPI_Type_set_name")]
pub fn type_set_name(datatype: MPI_Datatype, type_name: &str) -> MpiResult<()> {
    get(datatype)?;
    calls::set_name(datatype, type_name)
}

#[doc(alias = "MPI_Type_get_name")]
pub fn type_get_name(
    datatype: MPI_Datatype,
    mut type_name: StrOut<'_>,
    resultlen: &mut c_int,
) -> MpiResult<()> {
    *resultlen = type_name.write(&calls::name(datatype)?);
    Ok(())
}

#[doc(alias = "MPI_Type_get_envelope")]
pub fn type_get_envelope(
    datatype: MPI_Datatype,
    num_integers: &mut c_int,
    num_addresses: &mut c_int,
    num_datatypes: &mut c_int,
    combiner: &mut c_int,
) -> MpiResult<()> {
    let ([i, a, _, d], c) = calls::envelope(datatype, false)?;
    (*num_integers, *num_addresses, *num_datatypes) = (i as c_int, a as c_int, d as c_int);
    *combiner = c;
    Ok(())
}

#[doc(alias = "MPI_Type_get_envelope_c")]
pub fn type_get_envelope_c(
    datatype: MPI_Datatype,
    num_integers: &mut MPI_Count,
    num_addresses: &mut MPI_Count,
    num_large_counts: &mut MPI_Count,
    num_datatypes: &mut MPI_Count,
    combiner: &mut c_int,
) -> MpiResult<()> {
    let ([i, a, l, d], c) = calls::envelope(datatype, true)?;
    (
        *num_integers,
        *num_addresses,
        *num_large_counts,
        *num_datatypes,
    ) = (i, a, l, d);
    *combiner = c;
    Ok(())
}

/// Copy `v` into the user's array (`max` entries, as they said).
fn fill<X: Copy>(to: &mut [X], max: i64, v: &[X], what: &str) -> MpiResult<()> {
    if (v.len() as i64) > max {
        return Err(MpiError::arg(format!(
            "{what} has room for {max} entries; {} needed",
            v.len()
        )));
    }
    to[..v.len()].copy_from_slice(v);
    Ok(())
}

#[doc(alias = "MPI_Type_get_contents")]
pub fn type_get_contents(
    datatype: MPI_Datatype,
    max_integers: c_int,
    max_addresses: c_int,
    max_datatypes: c_int,
    array_of_integers: &mut [c_int],
    array_of_addresses: &mut [MPI_Aint],
    array_of_datatypes: &mut [MPI_Datatype],
) -> MpiResult<()> {
    let c = calls::contents(datatype, false)?;
    fill(
        array_of_integers,
        max_integers.into(),
        &c.ints,
        "array_of_integers",
    )?;
    fill(
        array_of_addresses,
        max_addresses.into(),
        &c.aints,
        "array_of_addresses",
    )?;
    fill(
        array_of_datatypes,
        max_datatypes.into(),
        &c.types,
        "array_of_datatypes",
    )
}

#[doc(alias = "MPI_Type_get_contents_c")]
pub fn type_get_contents_c(
    datatype: MPI_Datatype,
    max_integers: MPI_Count,
    max_addresses: MPI_Count,
    max_large_counts: MPI_Count,
    max_datatypes: MPI_Count,
    array_of_integers: &mut [c_int],
    array_of_addresses: &mut [MPI_Aint],
    array_of_large_counts: &mut [MPI_Count],
    array_of_datatypes: &mut [MPI_Datatype],
) -> MpiResult<()> {
    let c = calls::contents(datatype, true)?;
    fill(
        array_of_large_counts,
        max_large_counts,
        &c.counts,
        "array_of_large_counts",
    )?;
    fill(
        array_of_integers,
        max_integers,
        &c.ints,
        "array_of_integers",
    )?;
    fill(
        array_of_addresses,
        max_addresses,
        &c.aints,
        "array_of_addresses",
    )?;
    fill(
        array_of_datatypes,
        max_datatypes,
        &c.types,
        "array_of_datatypes",
    )
}

#[doc(alias = "MPI_Type_set_attr")]
pub fn type_set_attr(
    datatype: MPI_Datatype,
    type_keyval: c_int,
    attribute_val: usize,
) -> MpiResult<()> {
    type_set_attr_from(datatype, type_keyval, attribute_val, Lang::C)
}

/// Sets a datatype attribute from a program in `lang`'s binding.
pub fn type_set_attr_from(
    datatype: MPI_Datatype,
    type_keyval: c_int,
    val: usize,
    lang: Lang,
) -> MpiResult<()> {
    get(datatype)?.attrs.set(
        Object::Type,
        datatype,
        type_keyval,
        AttrValue::new(val, lang),
    )
}

#[doc(alias = "MPI_Type_get_attr")]
pub fn type_get_attr(
    datatype: MPI_Datatype,
    type_keyval: c_int,
    attribute_val: &mut usize,
    flag: &mut c_int,
) -> MpiResult<()> {
    let found = type_attr(datatype, type_keyval, Lang::C)?;
    *flag = found.is_some() as c_int;
    if let Some(v) = found {
        *attribute_val = v;
    }
    Ok(())
}

/// A datatype attribute as a program in `reader`'s binding sees it.
pub fn type_attr(
    datatype: MPI_Datatype,
    type_keyval: c_int,
    reader: Lang,
) -> MpiResult<Option<usize>> {
    get(datatype)?.attrs.get(Object::Type, type_keyval, reader)
}

#[doc(alias = "MPI_Type_delete_attr")]
pub fn type_delete_attr(datatype: MPI_Datatype, type_keyval: c_int) -> MpiResult<()> {
    get(datatype)?
        .attrs
        .delete(Object::Type, datatype, type_keyval)
}

#[doc(alias = "MPI_Type_create_keyval")]
pub fn type_create_keyval(
    type_copy_attr_fn: usize,
    type_delete_attr_fn: usize,
    type_keyval: &mut c_int,
    extra_state: usize,
) -> MpiResult<()> {
    *type_keyval = attr::create_keyval(
        Object::Type,
        type_copy_attr_fn,
        type_delete_attr_fn,
        extra_state,
    );
    Ok(())
}

#[doc(alias = "MPI_Type_free_keyval")]
pub fn type_free_keyval(type_keyval: &mut c_int) -> MpiResult<()> {
    attr::free_keyval(Object::Type, *type_keyval)?;
    *type_keyval = MPI_KEYVAL_INVALID;
    Ok(())
}

/// `MPI_Pack_size` (the classic form fails when the size needs more than an
/// `int`, pointing to the `_c` form).
#[doc(alias = "MPI_Pack_size")]
pub fn pack_size(
    incount: MPI_Count,
    datatype: MPI_Datatype,
    comm: MPI_Comm,
    size: &mut MPI_Count,
    large: bool,
) -> MpiResult<()> {
    comm::get(comm)?;
    let n = calls::pack_size(incount, datatype, Rep::Native)?;
    if !large && c_int::try_from(n).is_err() {
        return Err(MpiError::new(
            MPI_ERR_COUNT,
            "packed size overflows an int (use MPI_Pack_size_c)",
        ));
    }
    *size = n;
    Ok(())
}
