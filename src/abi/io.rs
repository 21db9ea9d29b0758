//! MPI-IO handle conversions: `MPI_File` is a pointer in the MPICH ABI and
//! Fortran sees an integer (see `core::io`).

use super::types::*;

pub(crate) fn file_c2f(file: MPI_File) -> MPI_Fint {
    crate::core::io::to_fint(file)
}

pub(crate) fn file_f2c(file: MPI_Fint) -> MPI_File {
    crate::core::io::from_fint(file)
}
