//! Arguments as a C caller passes them that the core reads itself: arrays
//! whose length only the communicator tells (per-rank counts and types of
//! the v-collectives), and info handles. The C face uses the same checks.

use super::consts::MPI_INFO_NULL;
use super::error::{MpiError, MpiResult};
use super::types::MPI_Info;

/// The `n` values of a C array argument (which may be null when `n` is 0).
///
/// # Safety
/// `p` is null or valid for reads of `n` values of `T` for the lifetime
/// chosen.
pub(crate) unsafe fn c_array<'a, T>(p: *const T, n: usize, what: &str) -> MpiResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(MpiError::arg(format!("{what} is a null pointer")));
    }
    // SAFETY: the C caller passes `n` values.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// An array argument significant at one process only (a root's), passed
/// as the caller gave it: elsewhere it may be null or anything, so only
/// the core, which knows who the root is, reads it.
#[derive(Clone, Copy)]
pub struct RootArr<T>(pub *const T);

impl<T: Copy> RootArr<T> {
    /// The first `n` values (at the root).
    ///
    /// # Safety
    /// As `c_array`: the C caller passes `n` values there.
    pub unsafe fn read(self, n: usize, what: &str) -> MpiResult<Vec<T>> {
        // SAFETY: the caller's promise.
        Ok(unsafe { c_array(self.0, n, what) }?.to_vec())
    }
}

/// A C array of C strings, read as `RootArr` is: `MPI_Comm_spawn`'s
/// `argv` (ended by a null pointer; null itself is `MPI_ARGV_NULL`) or
/// `MPI_Comm_spawn_multiple`'s commands.
#[derive(Clone, Copy)]
pub struct CStrs(pub *const *const std::ffi::c_char);

impl CStrs {
    /// The strings up to the terminating null; none for a null array.
    ///
    /// # Safety
    /// `self.0` is null or a null-terminated array of C strings.
    pub unsafe fn until_null(self, what: &str) -> MpiResult<Vec<String>> {
        let mut v = Vec::new();
        if self.0.is_null() {
            return Ok(v);
        }
        // SAFETY: the caller's promise: every element up to the null one
        // is a NUL-terminated string.
        unsafe {
            while let Some(s) = self.0.add(v.len()).read().as_ref() {
                v.push(cstring(s, what)?);
            }
        }
        Ok(v)
    }

    /// The first `n` strings.
    ///
    /// # Safety
    /// `self.0` points to `n` C strings.
    pub unsafe fn first(self, n: usize, what: &str) -> MpiResult<Vec<String>> {
        // SAFETY: the caller's promise.
        let ptrs = unsafe { c_array(self.0, n, what) }?;
        ptrs.iter()
            .map(|&p| {
                // SAFETY: as above; null is refused.
                unsafe { p.as_ref() }
                    .ok_or_else(|| MpiError::arg(format!("{what} holds a null pointer")))
                    .and_then(|s| unsafe { cstring(s, what) })
            })
            .collect()
    }
}

/// An array of `argv`s (`MPI_Comm_spawn_multiple`; null is
/// `MPI_ARGVS_NULL`), read as `RootArr` is.
#[derive(Clone, Copy)]
pub struct CArgvs(pub *const *const *const std::ffi::c_char);

impl CArgvs {
    /// The `n` argument lists; all empty for a null array.
    ///
    /// # Safety
    /// `self.0` is null or points to `n` arrays as `CStrs::until_null` reads.
    pub unsafe fn read(self, n: usize, what: &str) -> MpiResult<Vec<Vec<String>>> {
        if self.0.is_null() {
            return Ok(vec![Vec::new(); n]);
        }
        // SAFETY: the caller's promise.
        let lists = unsafe { c_array(self.0, n, what) }?;
        lists
            .iter()
            // SAFETY: as above.
            .map(|&l| unsafe { CStrs(l).until_null(what) })
            .collect()
    }
}

/// An optional output array (null: the caller ignores it, as
/// `MPI_ERRCODES_IGNORE`), whose length the core learns.
#[derive(Clone, Copy)]
pub struct OutInts(pub *mut std::ffi::c_int);

impl OutInts {
    /// Store `v` unless the caller ignores it.
    ///
    /// # Safety
    /// `self.0` is null or valid for writes of `v.len()` ints.
    pub unsafe fn store(self, v: &[std::ffi::c_int]) {
        if !self.0.is_null() {
            // SAFETY: the caller's promise.
            unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), self.0, v.len()) };
        }
    }
}

/// # Safety
/// `s` is the first byte of a NUL-terminated string.
unsafe fn cstring(s: &std::ffi::c_char, what: &str) -> MpiResult<String> {
    // SAFETY: the caller's promise.
    unsafe { std::ffi::CStr::from_ptr(s) }
        .to_str()
        .map(str::to_string)
        .map_err(|_| MpiError::arg(format!("{what} holds a string that is not UTF-8")))
}

/// An info argument: `MPI_INFO_NULL` or a valid info object.
pub(crate) fn info_arg(info: MPI_Info) -> MpiResult<()> {
    if info != MPI_INFO_NULL {
        super::info::get(info)?;
    }
    Ok(())
}

/// A caller's string buffer of a fixed capacity the standard names
/// (`MPI_MAX_OBJECT_NAME` and the like).
pub struct StrOut<'a>(pub &'a mut [u8]);

impl StrOut<'_> {
    /// Store `s`, truncated to fit with its terminating NUL; the number of
    /// bytes stored before the NUL.
    pub fn write(&mut self, s: &str) -> std::ffi::c_int {
        let Some(room) = self.0.len().checked_sub(1) else {
            return 0;
        };
        let n = s.len().min(room);
        self.0[..n].copy_from_slice(&s.as_bytes()[..n]);
        self.0[n] = 0;
        n as std::ffi::c_int
    }
}

/// Store a new object's handle in the caller's slot: `null` first, so a
/// failure leaves no stale handle behind.
pub fn new_handle<H>(slot: &mut H, null: H, make: impl FnOnce() -> MpiResult<H>) -> MpiResult<()> {
    *slot = null;
    *slot = make()?;
    Ok(())
}
