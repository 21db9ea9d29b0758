//! The types of `MPI_Type_create_f90_integer`, `_real` and `_complex`:
//! the predefined type that meets a precision and range, wrapped once per
//! (combiner, precision, range) and returned again on every later call, as
//! the standard requires (these types are never freed).

use super::{build, get, register};
use crate::core::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::types::MPI_Datatype;
use parking_lot::Mutex;
use std::ffi::c_int;

/// (combiner, precision, range) of an F90 type.
type Key = (c_int, i64, i64);

/// Types made so far, one per key.
static MADE: Mutex<Vec<(Key, MPI_Datatype)>> = Mutex::new(Vec::new());

fn make(combiner: c_int, p: i64, r: i64, basic: MPI_Datatype) -> MpiResult<MPI_Datatype> {
    let mut made = MADE.lock();
    let key = (combiner, p, r);
    if let Some(&(_, h)) = made.iter().find(|(k, _)| *k == key) {
        return Ok(h);
    }
    let ints = if combiner == MPI_COMBINER_F90_INTEGER {
        vec![r]
    } else {
        vec![p, r]
    };
    let h = register(build::f90(combiner, ints, &get(basic)?));
    made.push((key, h));
    Ok(h)
}

fn no_such(what: &str) -> MpiError {
    MpiError::arg(format!("no predefined type has {what}"))
}

/// MPI_UNDEFINED means "no requirement".
fn req(v: c_int) -> i64 {
    if v == MPI_UNDEFINED { 0 } else { v.into() }
}

/// Which of single, double and quadruple precision meets `p` and `r`.
fn real_for(p: c_int, r: c_int) -> MpiResult<usize> {
    let (p, r) = (req(p), req(r));
    [(6, 37), (15, 307), (33, 4931)]
        .iter()
        .position(|&(mp, mr)| p <= mp && r <= mr)
        .ok_or_else(|| no_such(&format!("precision {p} and range {r}")))
}

pub fn integer(r: c_int) -> MpiResult<MPI_Datatype> {
    let t = [
        (2, MPI_INTEGER1),
        (4, MPI_INTEGER2),
        (9, MPI_INTEGER4),
        (18, MPI_INTEGER8),
    ]
    .iter()
    .find(|(mr, _)| req(r) <= *mr)
    .ok_or_else(|| no_such(&format!("range {r}")))?
    .1;
    make(MPI_COMBINER_F90_INTEGER, 0, r.into(), t)
}

pub fn real(p: c_int, r: c_int) -> MpiResult<MPI_Datatype> {
    let t = [MPI_REAL4, MPI_REAL8, MPI_REAL16][real_for(p, r)?];
    make(MPI_COMBINER_F90_REAL, p.into(), r.into(), t)
}

pub fn complex(p: c_int, r: c_int) -> MpiResult<MPI_Datatype> {
    let t = [MPI_COMPLEX8, MPI_COMPLEX16, MPI_COMPLEX32][real_for(p, r)?];
    make(MPI_COMBINER_F90_COMPLEX, p.into(), r.into(), t)
}
