//! Process topologies, the C face. Today: `MPI_Dims_create`, which needs no
//! communicator; Cartesian and graph communicators come with the
//! communicators issue.

use super::util::out;
use crate::abi::consts::*;
use crate::core::error::{MpiError, MpiResult};
use std::ffi::c_int;

/// Fill the zero entries of `dims` so that the product is `nnodes`, as
/// evenly as possible and in non-increasing order: the prime factors left,
/// largest first, each go to the free dimension that is smallest so far.
pub fn balance(nnodes: i64, dims: &mut [i64]) -> MpiResult<()> {
    if dims.iter().any(|&d| d < 0) {
        return Err(MpiError::new(
            MPI_ERR_DIMS,
            format!("negative dimension in {dims:?}"),
        ));
    }
    let fixed: i64 = dims.iter().filter(|&&d| d > 0).product();
    if nnodes % fixed != 0 {
        return Err(MpiError::new(
            MPI_ERR_DIMS,
            format!("{nnodes} processes cannot fill the given dimensions {dims:?}"),
        ));
    }
    let free: Vec<usize> = (0..dims.len()).filter(|&i| dims[i] == 0).collect();
    let mut rest = nnodes / fixed;
    if free.is_empty() {
        return if rest == 1 {
            Ok(())
        } else {
            Err(MpiError::new(
                MPI_ERR_DIMS,
                format!("the dimensions {dims:?} do not multiply to {nnodes}"),
            ))
        };
    }
    let mut primes = Vec::new();
    let mut p = 2;
    while p * p <= rest {
        while rest % p == 0 {
            primes.push(p);
            rest /= p;
        }
        p += 1;
    }
    if rest > 1 {
        primes.push(rest);
    }
    let mut vals = vec![1i64; free.len()];
    for &p in primes.iter().rev() {
        let smallest = (0..vals.len()).min_by_key(|&i| vals[i]).expect("free dims");
        vals[smallest] *= p;
    }
    vals.sort_unstable_by(|a, b| b.cmp(a));
    for (i, v) in free.into_iter().zip(vals) {
        dims[i] = v;
    }
    Ok(())
}

pub(crate) fn dims_create(nnodes: c_int, ndims: c_int, dims: *mut c_int) -> MpiResult<()> {
    if nnodes <= 0 {
        return Err(MpiError::arg(format!("invalid number of nodes {nnodes}")));
    }
    if ndims < 0 {
        return Err(MpiError::new(
            MPI_ERR_DIMS,
            format!("invalid number of dimensions {ndims}"),
        ));
    }
    if ndims == 0 {
        return Ok(());
    }
    out(dims, "dims")?;
    // SAFETY: the user passes `ndims` entries.
    let d = unsafe { std::slice::from_raw_parts_mut(dims, ndims as usize) };
    let mut v: Vec<i64> = d.iter().map(|&x| x.into()).collect();
    balance(nnodes.into(), &mut v)?;
    for (x, y) in d.iter_mut().zip(v) {
        *x = y as c_int;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::balance;

    fn dims(n: i64, mut d: Vec<i64>) -> Vec<i64> {
        balance(n, &mut d).unwrap();
        d
    }

    #[test]
    fn balanced_and_non_increasing() {
        assert_eq!(dims(6, vec![0, 0]), [3, 2]);
        assert_eq!(dims(12, vec![0, 0]), [4, 3]);
        assert_eq!(dims(12, vec![0, 0, 0]), [3, 2, 2]);
        assert_eq!(dims(16, vec![0, 0]), [4, 4]);
        assert_eq!(dims(7, vec![0, 0]), [7, 1]);
        assert_eq!(dims(12, vec![0, 3, 0]), [2, 3, 2]);
        assert_eq!(dims(1, vec![0, 0, 0]), [1, 1, 1]);
        assert!(balance(10, &mut [3, 0]).is_err());
        assert!(balance(6, &mut [2, 3]).is_ok());
    }
}
