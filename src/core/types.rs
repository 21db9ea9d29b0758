//! C types of the MPICH ABI: handle typedefs, status layouts and the
//! opaque pointer types. cbindgen turns this file into the type section of
//! `mpi.h`; every layout here is fixed by the MPICH ABI.
#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::c_int;

/// Address-sized integer (`long` on LP64).
pub type MPI_Aint = std::ffi::c_long;
/// Large counts (`long`).
pub type MPI_Count = std::ffi::c_long;
/// File offsets (`long`).
pub type MPI_Offset = std::ffi::c_long;
/// Fortran INTEGER as seen from C.
pub type MPI_Fint = c_int;

pub type MPI_Comm = c_int;
pub type MPI_Group = c_int;
pub type MPI_Datatype = c_int;
pub type MPI_Op = c_int;
pub type MPI_Errhandler = c_int;
pub type MPI_Request = c_int;
pub type MPI_Message = c_int;
pub type MPI_Info = c_int;
pub type MPI_Win = c_int;
pub type MPI_Session = c_int;
pub type MPIX_Grequest_class = c_int;

/// Opaque file object; `MPI_File` is a pointer in the MPICH ABI. (No
/// `repr(C)`: cbindgen then declares it as an incomplete C type.)
pub struct ADIOI_FileD {
    _private: [u8; 0],
}
pub type MPI_File = *mut ADIOI_FileD;

/// `MPI_Status` in MPICH's field order. The element count is split in two
/// 32-bit halves; the low bit of `count_hi_and_cancelled` is the cancel flag.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MPI_Status {
    pub count_lo: c_int,
    pub count_hi_and_cancelled: c_int,
    pub MPI_SOURCE: c_int,
    pub MPI_TAG: c_int,
    pub MPI_ERROR: c_int,
}

/// The Fortran 2008 status as a C struct (same layout as `MPI_Status`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MPI_F08_status {
    pub count_lo: MPI_Fint,
    pub count_hi_and_cancelled: MPI_Fint,
    pub MPI_SOURCE: MPI_Fint,
    pub MPI_TAG: MPI_Fint,
    pub MPI_ERROR: MPI_Fint,
}

/// Storage stack of the QMPI tool interface (kept for layout compatibility).
#[repr(C)]
pub struct QMPI_Context {
    pub storage_stack: *mut *mut std::ffi::c_void,
}

// Tool-interface handles are pointers to opaque structs.
pub struct MPIR_T_enum_s {
    _private: [u8; 0],
}
pub struct MPIR_T_cvar_handle_s {
    _private: [u8; 0],
}
pub struct MPIR_T_pvar_handle_s {
    _private: [u8; 0],
}
pub struct MPIR_T_pvar_session_s {
    _private: [u8; 0],
}
pub struct MPIR_T_event_registration_s {
    _private: [u8; 0],
}
pub struct MPIR_T_event_instance_s {
    _private: [u8; 0],
}
pub type MPI_T_enum = *mut MPIR_T_enum_s;
pub type MPI_T_cvar_handle = *mut MPIR_T_cvar_handle_s;
pub type MPI_T_pvar_handle = *mut MPIR_T_pvar_handle_s;
pub type MPI_T_pvar_session = *mut MPIR_T_pvar_session_s;
pub type MPI_T_event_registration = *mut MPIR_T_event_registration_s;
pub type MPI_T_event_instance = *mut MPIR_T_event_instance_s;
/// An enum in C; passed as `int`.
pub type MPI_T_cb_safety = c_int;
/// An enum in C; passed as `int`.
pub type MPI_T_source_order = c_int;
