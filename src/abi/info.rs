//! Info objects (MPI-4.1 section 10): creation, keys and values, and the
//! environment info `MPI_INFO_ENV`.

// SAFETY, for the `unsafe` blocks of this module that decode arguments:
// every pointer is the C caller's argument, null, an MPI sentinel or valid
// for the use the standard describes for its parameter; the helpers check
// for null and the sentinels.

use super::types::*;
use super::util::{cstr, out, put, write_cstr};
use crate::abi::consts::*;
use crate::core::error::{MpiError, MpiResult};
use crate::core::info::{self, Info};
use std::ffi::{c_char, c_int};

pub(crate) unsafe fn info_get(
    info: MPI_Info,
    key: *const c_char,
    valuelen: c_int,
    value: *mut c_char,
    flag: *mut c_int,
) -> MpiResult<()> {
    let obj = info::get(info)?;
    // SAFETY: C string argument.
    let key = unsafe { cstr(key, "key") }?;
    if valuelen < 0 {
        return Err(MpiError::arg(format!("negative valuelen {valuelen}")));
    }
    let flag = unsafe { out(flag, "flag") }?;
    match obj.get(key)? {
        Some(v) => {
            if value.is_null() {
                return Err(MpiError::arg("value is a null pointer"));
            }
            // valuelen excludes the terminating NUL (MPI-4.1 10.1).
            // SAFETY: the caller provides valuelen + 1 bytes.
            unsafe { write_cstr(value, valuelen as usize + 1, &v) };
            *flag = 1;
        }
        None => *flag = 0,
    }
    Ok(())
}

pub(crate) unsafe fn info_get_string(
    info: MPI_Info,
    key: *const c_char,
    buflen: *mut c_int,
    value: *mut c_char,
    flag: *mut c_int,
) -> MpiResult<()> {
    let obj = info::get(info)?;
    // SAFETY: C string argument.
    let key = unsafe { cstr(key, "key") }?;
    let buflen = unsafe { out(buflen, "buflen") }?;
    let flag = unsafe { out(flag, "flag") }?;
    match obj.get(key)? {
        Some(v) => {
            if *buflen > 0 {
                if value.is_null() {
                    return Err(MpiError::arg("value is a null pointer"));
                }
                // SAFETY: the caller provides *buflen bytes.
                unsafe { write_cstr(value, *buflen as usize, &v) };
            }
            *buflen = v.len() as c_int + 1;
            *flag = 1;
        }
        None => *flag = 0,
    }
    Ok(())
}

pub(crate) unsafe fn info_get_nthkey(info: MPI_Info, n: c_int, key: *mut c_char) -> MpiResult<()> {
    let obj = info::get(info)?;
    let k = obj.nth_key(n)?;
    if key.is_null() {
        return Err(MpiError::arg("key is a null pointer"));
    }
    // SAFETY: the caller provides MPI_MAX_INFO_KEY + 1 bytes.
    unsafe { write_cstr(key, MPI_MAX_INFO_KEY as usize + 1, &k) };
    Ok(())
}

pub(crate) unsafe fn info_create_env(
    argc: c_int,
    argv: *mut *mut c_char,
    info: *mut MPI_Info,
) -> MpiResult<()> {
    let args = if argv.is_null() || argc <= 0 {
        None
    } else {
        let mut v = Vec::with_capacity(argc as usize);
        for i in 0..argc as usize {
            // SAFETY: argv holds argc C strings.
            v.push(unsafe { cstr(*argv.add(i), "argv element") }?.to_string());
        }
        Some(v)
    };
    unsafe {
        put(
            info,
            "info",
            info::create(Info::from_pairs(info::env_pairs(args))),
        )
    }
}
