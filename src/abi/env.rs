//! Environment chapter (MPI-4.1 chapter 11): init and finalize, versions,
//! processor name, timers, memory allocation, abort and addresses.

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

use super::types::*;
use super::util::{out, put};
use crate::abi::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::{info, runtime};
use std::ffi::{c_char, c_int, c_void};

pub(crate) unsafe fn init(_argc: *mut c_int, _argv: *mut *mut *mut c_char) -> MpiResult<()> {
    runtime::init(MPI_THREAD_SINGLE).map(|_| ())
}

pub(crate) unsafe fn init_thread(
    _argc: *mut c_int,
    _argv: *mut *mut *mut c_char,
    required: c_int,
    provided: *mut c_int,
) -> MpiResult<()> {
    let provided = unsafe { out(provided, "provided") }?;
    *provided = runtime::init(required)?;
    Ok(())
}

pub(crate) fn finalize() -> MpiResult<()> {
    runtime::finalize()
}

pub(crate) fn abort(comm: MPI_Comm, errorcode: c_int) -> MpiResult<()> {
    runtime::abort(comm, errorcode)
}

/// Alignment of `MPI_Alloc_mem` memory: a cache line, which also suits
/// every type and later RMA registration.
const ALLOC_ALIGN: usize = 64;

pub(crate) unsafe fn alloc_mem(
    size: MPI_Aint,
    info: MPI_Info,
    baseptr: *mut c_void,
) -> MpiResult<()> {
    if size < 0 {
        return Err(MpiError::new(MPI_ERR_SIZE, format!("negative size {size}")));
    }
    if info != MPI_INFO_NULL {
        info::get(info)?;
    }
    let slot = unsafe { out(baseptr.cast::<*mut c_void>(), "baseptr") }?;
    let mut p: *mut c_void = std::ptr::null_mut();
    // SAFETY: posix_memalign writes p on success; size 0 still yields a
    // pointer that MPI_Free_mem can release.
    let rc = unsafe { libc::posix_memalign(&mut p, ALLOC_ALIGN, (size as usize).max(1)) };
    if rc != 0 {
        return Err(MpiError::new(
            MPI_ERR_NO_MEM,
            format!("cannot allocate {size} bytes"),
        ));
    }
    *slot = p;
    Ok(())
}

pub(crate) unsafe fn free_mem(base: *mut c_void) -> MpiResult<()> {
    // SAFETY: base came from MPI_Alloc_mem (posix_memalign) or is null.
    unsafe { libc::free(base) };
    Ok(())
}

/// Profiling control: OxMPI has no built-in profiler, so every level is
/// accepted and has no effect, which is the standard's defined behaviour
/// when no profiling library is interposed.
pub(crate) fn pcontrol(_level: c_int) -> MpiResult<()> {
    Ok(())
}

pub(crate) unsafe fn get_address(location: *const c_void, address: *mut MPI_Aint) -> MpiResult<()> {
    unsafe { put(address, "address", location as MPI_Aint) }
}

pub(crate) unsafe fn address(location: *mut c_void, address: *mut MPI_Aint) -> MpiResult<()> {
    unsafe { get_address(location, address) }
}

pub(crate) fn aint_add(base: MPI_Aint, disp: MPI_Aint) -> MPI_Aint {
    base.wrapping_add(disp)
}

pub(crate) fn aint_diff(addr1: MPI_Aint, addr2: MPI_Aint) -> MPI_Aint {
    addr1.wrapping_sub(addr2)
}

/// `MPI_Get_hw_resource_info` (MPI-4.1): the hardware resources this
/// process is restricted to, by the names `MPI_Comm_split_type` accepts in
/// `mpi_hw_resource_type`. Processes are not bound to cores, so the only
/// resource that holds one is the node's shared memory.
pub(crate) unsafe fn get_hw_resource_info(hw_info: *mut MPI_Info) -> MpiResult<()> {
    let slot = unsafe { out(hw_info, "hw_info") }?;
    *slot = info::create(info::Info::from_pairs(vec![(
        "mpi_hw_resource_type".to_string(),
        "mpi_shared_memory".to_string(),
    )]));
    Ok(())
}
