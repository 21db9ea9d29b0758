//! The datatype chapter's calls (MPI-4.1 chapter 5): constructors with
//! their argument rules, commit and free, names, bounds, envelope and
//! contents, and pack/unpack in the native and `external32`
//! representations. Each constructor returns the new type's handle; array
//! arguments arrive as 64-bit values (the C face widens and reads them).

use super::{Datatype, build, external32, get, get_committed, register};
use crate::core::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::types::MPI_Datatype;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A count argument: `MPI_ERR_COUNT` when negative.
pub fn count_arg(n: i64, what: &str) -> MpiResult<i64> {
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

fn made(t: MpiResult<Datatype>) -> MpiResult<MPI_Datatype> {
    t.map(register)
}

pub fn contiguous(count: i64, old: MPI_Datatype, large: bool) -> MpiResult<MPI_Datatype> {
    let count = count_arg(count, "count")?;
    made(build::contiguous(count, &get(old)?, large))
}

/// `MPI_Type_vector`, or `MPI_Type_create_hvector` when the stride is in
/// `bytes`.
pub fn vector(
    count: i64,
    blocklength: i64,
    stride: i64,
    old: MPI_Datatype,
    bytes: bool,
    large: bool,
) -> MpiResult<MPI_Datatype> {
    let count = count_arg(count, "count")?;
    nonneg(&[blocklength], "blocklength")?;
    let o = get(old)?;
    made(if bytes {
        build::hvector(count, blocklength, stride, &o, large)
    } else {
        build::vector(count, blocklength, stride, &o, large)
    })
}

/// `MPI_Type_indexed`, or `MPI_Type_create_hindexed` when the
/// displacements are in `bytes`.
pub fn indexed(
    blocklens: &[i64],
    displs: &[i64],
    old: MPI_Datatype,
    bytes: bool,
    large: bool,
) -> MpiResult<MPI_Datatype> {
    nonneg(blocklens, "blocklength")?;
    let o = get(old)?;
    made(if bytes {
        build::hindexed(blocklens, displs, &o, large)
    } else {
        build::indexed(blocklens, displs, &o, large)
    })
}

/// `MPI_Type_create_indexed_block` (`bytes`: the `hindexed` form).
pub fn indexed_block(
    blocklength: i64,
    displs: &[i64],
    old: MPI_Datatype,
    bytes: bool,
    large: bool,
) -> MpiResult<MPI_Datatype> {
    nonneg(&[blocklength], "blocklength")?;
    let o = get(old)?;
    made(if bytes {
        build::hindexed_block(blocklength, displs, &o, large)
    } else {
        build::indexed_block(blocklength, displs, &o, large)
    })
}

pub fn structure(
    blocklens: &[i64],
    displs: &[i64],
    types: &[MPI_Datatype],
    large: bool,
) -> MpiResult<MPI_Datatype> {
    nonneg(blocklens, "blocklength")?;
    let types = types
        .iter()
        .map(|&h| get(h))
        .collect::<MpiResult<Vec<_>>>()?;
    made(build::structure(blocklens, displs, &types, large))
}

/// The number of dimensions of a subarray or distributed array.
pub fn ndims_arg(ndims: c_int) -> MpiResult<i64> {
    if ndims <= 0 {
        return Err(MpiError::arg(format!(
            "invalid number of dimensions {ndims}"
        )));
    }
    Ok(ndims.into())
}

fn order_arg(order: c_int) -> MpiResult<()> {
    if order == MPI_ORDER_C || order == MPI_ORDER_FORTRAN {
        Ok(())
    } else {
        Err(MpiError::arg(format!("invalid array order {order}")))
    }
}

pub fn subarray(
    sizes: &[i64],
    subsizes: &[i64],
    starts: &[i64],
    order: c_int,
    old: MPI_Datatype,
    large: bool,
) -> MpiResult<MPI_Datatype> {
    order_arg(order)?;
    let o = get(old)?;
    made(build::subarray(sizes, subsizes, starts, order, &o, large))
}

/// `MPI_Type_create_darray`: process `rank` of `size` in a grid `psizes`.
#[allow(clippy::too_many_arguments)] // the standard's arguments
pub fn darray(
    size: c_int,
    rank: c_int,
    gsizes: &[i64],
    distribs: &[c_int],
    dargs: &[c_int],
    psizes: &[i64],
    order: c_int,
    old: MPI_Datatype,
    large: bool,
) -> MpiResult<MPI_Datatype> {
    order_arg(order)?;
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
    let o = get(old)?;
    made(build::darray(
        size.into(),
        rank.into(),
        gsizes,
        distribs,
        dargs,
        psizes,
        order,
        &o,
        large,
    ))
}

pub fn resized(old: MPI_Datatype, lb: i64, extent: i64, large: bool) -> MpiResult<MPI_Datatype> {
    made(build::resized(&get(old)?, lb, extent, large))
}

/// `MPI_Type_dup`: the same type, with its attributes copied.
pub fn dup(old: MPI_Datatype) -> MpiResult<MPI_Datatype> {
    let o = get(old)?;
    let mut t = build::dup(&o);
    t.attrs = o.attrs.copy_for_dup(old)?;
    Ok(register(t))
}

/// `MPI_Type_get_value_index`: the predefined pair type, or
/// `MPI_DATATYPE_NULL` when there is none.
pub fn value_index(value: MPI_Datatype, index: MPI_Datatype) -> MpiResult<MPI_Datatype> {
    get(value)?;
    get(index)?;
    Ok(match (value, index) {
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
    })
}

pub fn commit(dt: MPI_Datatype) -> MpiResult<()> {
    get(dt)?.committed.store(true, Ordering::Relaxed);
    Ok(())
}

/// `MPI_Type_set_name`: cut to `MPI_MAX_OBJECT_NAME - 1` bytes on a
/// character boundary.
pub fn set_name(dt: MPI_Datatype, name: &str) -> MpiResult<()> {
    let t = get(dt)?;
    let max = MPI_MAX_OBJECT_NAME as usize - 1;
    let end = (0..=name.len().min(max))
        .rev()
        .find(|&i| name.is_char_boundary(i))
        .unwrap_or(0);
    *t.name.lock() = name[..end].to_string();
    Ok(())
}

/// `MPI_Type_get_name`: the name set, or a predefined type's own.
pub fn name(dt: MPI_Datatype) -> MpiResult<String> {
    if dt == MPI_DATATYPE_NULL {
        return Ok("MPI_DATATYPE_NULL".to_string());
    }
    let t = get(dt)?;
    let set = t.name.lock().clone();
    Ok(match t.named {
        Some(h) if set.is_empty() => super::predefined_name(h).unwrap_or("").to_string(),
        _ => set,
    })
}

/// (lower bound, extent).
pub fn extent(dt: MPI_Datatype) -> MpiResult<(i64, i64)> {
    let t = get(dt)?;
    Ok((t.lb, t.extent()))
}

/// (true lower bound, true extent).
pub fn true_extent(dt: MPI_Datatype) -> MpiResult<(i64, i64)> {
    let t = get(dt)?;
    Ok((t.true_lb, t.true_ub - t.true_lb))
}

/// What `MPI_Type_get_envelope` reports: numbers of integers, addresses,
/// large counts and datatypes, and the combiner. `large` is false for the
/// `int` form, which cannot describe a type built with large counts.
pub fn envelope(dt: MPI_Datatype, large: bool) -> MpiResult<([i64; 4], c_int)> {
    let t = get(dt)?;
    let c = &t.contents;
    if !large && !c.counts.is_empty() {
        return Err(large_only(dt));
    }
    Ok((
        [
            c.ints.len() as i64,
            c.aints.len() as i64,
            c.counts.len() as i64,
            c.types.len() as i64,
        ],
        t.combiner,
    ))
}

fn large_only(dt: MPI_Datatype) -> MpiError {
    MpiError::new(
        MPI_ERR_TYPE,
        format!("datatype 0x{dt:x} was built with large counts; use the _c function"),
    )
}

/// What `MPI_Type_get_contents` reports.
pub struct Contents {
    pub ints: Vec<c_int>,
    pub aints: Vec<i64>,
    pub counts: Vec<i64>,
    pub types: Vec<MPI_Datatype>,
}

/// `MPI_Type_get_contents` (`large`: the `_c` form).
pub fn contents(dt: MPI_Datatype, large: bool) -> MpiResult<Contents> {
    let t = get(dt)?;
    if t.combiner == MPI_COMBINER_NAMED {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            "MPI_Type_get_contents is not defined for predefined datatypes",
        ));
    }
    let c = &t.contents;
    if !large && !c.counts.is_empty() {
        return Err(large_only(dt));
    }
    Ok(Contents {
        ints: c.ints.iter().map(|&x| x as c_int).collect(),
        aints: c.aints.clone(),
        counts: c.counts.clone(),
        types: c.types.iter().map(|x| x.handle()).collect(),
    })
}

// ---------------------------------------------------------------------------
// Pack and unpack

/// The representation of a pack call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Rep {
    Native,
    External32,
}

/// The representation a `datarep` argument names (only `external32`).
pub fn datarep(name: &str) -> MpiResult<Rep> {
    if name != "external32" {
        return Err(MpiError::arg(format!(
            "unknown data representation \"{name}\" (only \"external32\")"
        )));
    }
    Ok(Rep::External32)
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

/// `MPI_Pack_size` and `MPI_Pack_external_size`.
pub fn pack_size(count: i64, dt: MPI_Datatype, rep: Rep) -> MpiResult<i64> {
    let count = count_arg(count, "incount")?;
    packed_size(&*get(dt)?, count, rep)
}

fn position_in(pos: i64, size: i64) -> MpiResult<usize> {
    if pos < 0 || pos > size {
        return Err(MpiError::arg(format!(
            "position {pos} is outside the buffer of {size} bytes"
        )));
    }
    Ok(pos as usize)
}

fn no_room(need: i64, have: i64) -> MpiError {
    MpiError::new(
        MPI_ERR_TRUNCATE,
        format!("{need} bytes do not fit in the {have} left in the buffer"),
    )
}

/// Check a user's buffer of `len` bytes at `addr`.
fn user_buffer(addr: usize, len: i64, what: &str) -> MpiResult<usize> {
    if len != 0 && (addr == 0 || len < 0) {
        return Err(MpiError::new(MPI_ERR_BUFFER, format!("invalid {what}")));
    }
    Ok(len as usize)
}

/// A committed type and the packed size of `count` of it.
fn packing(
    count: i64,
    dt: MPI_Datatype,
    rep: Rep,
    what: &str,
) -> MpiResult<(Arc<Datatype>, i64, i64)> {
    let count = count_arg(count, what)?;
    let t = get_committed(dt)?;
    let need = packed_size(&t, count, rep)?;
    Ok((t, count, need))
}

/// Pack `count` elements of `dt` at `inbuf` into the `outsize` bytes at
/// `outbuf`, from `position`, which advances.
pub fn pack(
    inbuf: usize,
    count: i64,
    dt: MPI_Datatype,
    outbuf: usize,
    outsize: i64,
    position: &mut i64,
    rep: Rep,
) -> MpiResult<()> {
    let (t, count, need) = packing(count, dt, rep, "incount")?;
    let at = position_in(*position, outsize)?;
    if need > outsize - at as i64 {
        return Err(no_room(need, outsize - at as i64));
    }
    user_buffer(outbuf, outsize, "outbuf")?;
    if need > 0 {
        // SAFETY: the user's output buffer holds `outsize` >= at + need
        // bytes, and the input buffer `count` elements of the type.
        unsafe {
            let out = std::slice::from_raw_parts_mut((outbuf + at) as *mut u8, need as usize);
            match rep {
                Rep::Native => super::pack(&t, inbuf, count, out),
                Rep::External32 => external32::pack(&t, inbuf, count, out),
            }
        }
    }
    *position += need;
    Ok(())
}

/// Unpack `count` elements of `dt` from the `insize` bytes at `inbuf`,
/// from `position` (which advances), into `outbuf`.
pub fn unpack(
    inbuf: usize,
    insize: i64,
    position: &mut i64,
    outbuf: usize,
    count: i64,
    dt: MPI_Datatype,
    rep: Rep,
) -> MpiResult<()> {
    let (t, count, need) = packing(count, dt, rep, "outcount")?;
    let at = position_in(*position, insize)?;
    if need > insize - at as i64 {
        return Err(no_room(need, insize - at as i64));
    }
    user_buffer(inbuf, insize, "inbuf")?;
    if need > 0 {
        // SAFETY: the user's input buffer holds `insize` >= at + need
        // bytes, and the output buffer `count` elements of the type.
        unsafe {
            let data = std::slice::from_raw_parts((inbuf + at) as *const u8, need as usize);
            match rep {
                Rep::Native => super::unpack(&t, data, outbuf, count),
                Rep::External32 => external32::unpack(&t, data, outbuf, count),
            }
        }
    }
    *position += need;
    Ok(())
}
