//! MPI-IO handle conversions. `MPI_File` is a pointer in the MPICH ABI and
//! Fortran sees an integer; until files can be opened the only valid handle
//! is `MPI_FILE_NULL`, whose Fortran value is 0.

use super::types::*;

pub(crate) fn file_c2f(file: MPI_File) -> MPI_Fint {
    if !file.is_null() {
        crate::core::runtime::report(&format!("MPI_File_c2f: invalid file handle {file:p}"));
    }
    0
}

pub(crate) fn file_f2c(file: MPI_Fint) -> MPI_File {
    if file != 0 {
        crate::core::runtime::report(&format!("MPI_File_f2c: invalid Fortran file handle {file}"));
    }
    std::ptr::null_mut()
}
