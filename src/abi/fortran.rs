//! The Fortran face's shared parts: the `fortran!` shell that exports one
//! procedure under MPICH's names, the COMMON blocks behind the Fortran
//! sentinels, and the argument helpers the generated shells
//! (`generated_fortran.rs`) use.
//!
//! A Fortran program passes every argument by reference, and each
//! CHARACTER argument's length after all the others. In the MPICH ABI a
//! Fortran handle is the C handle's integer, and a Fortran status the C
//! status's five integers, so both pass unchanged; what needs translating
//! is sentinels (addresses in COMMON blocks), strings (blank-padded, no
//! NUL) and indices (counted from 1).
#![allow(non_upper_case_globals)]

use super::data;
use super::entry::{ErrObj, guard};
use super::types::*;
use crate::abi::consts::*;
use crate::core::attr::Lang;
use crate::core::comm_calls;
use crate::core::datatype::bindings;
use crate::core::error::{MpiError, MpiResult};
use crate::core::rma::calls as rma_calls;
use std::cell::UnsafeCell;
use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::OnceLock;

/// One procedure exported under each given symbol: an inner function with
/// the body, and one exported shell per name calling it with `$args` (the
/// parameters' names).
macro_rules! fortran {
    ($inner:ident [$($sym:ident),+] $params:tt $args:tt -> $ret:ty $body:block) => {
        #[inline(never)]
        #[allow(unused_unsafe)]
        unsafe fn $inner $params -> $ret { unsafe { $body } }
        $(
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $sym $params -> $ret { unsafe { $inner $args } }
        )+
    };
}

/// `MPI_SIZEOF`'s specific procedures (the `mpi` module's generic picks
/// one by the argument's type): each answers its element size in bytes.
macro_rules! sizeof_procedures {
    ($($sym:ident = $n:expr),+) => {
        $(
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $sym(_x: *const c_void, size: *mut MPI_Fint, ierror: *mut MPI_Fint) {
                unsafe {
                    *size = $n;
                    fx::set(ierror, MPI_SUCCESS);
                }
            }
        )+
    };
}

/// The mpi_f08 module's `==` and `/=` on handles (one per handle type, all
/// comparing the handles' one INTEGER), answering a Fortran LOGICAL.
macro_rules! handle_comparisons {
    ($($sym:ident = $op:ident),+) => {
        $(
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $sym(a: *const MPI_Fint, b: *const MPI_Fint) -> c_int {
                let same = unsafe { *a == *b };
                c_int::from(handle_comparisons!(@ $op same))
            }
        )+
    };
    (@ eq $same:ident) => { $same };
    (@ ne $same:ident) => { !$same };
}

/// A COMMON block: Fortran code may write it, so the library holds it in
/// an `UnsafeCell` and only ever takes its address. Sized exactly as
/// MPICH's (the linker warns when a program's COMMON block differs in size).
#[repr(transparent)]
pub struct Common<T>(UnsafeCell<T>);
// SAFETY: the library never reads or writes the contents; it compares
// addresses only.
unsafe impl<T> Sync for Common<T> {}

/// `COMMON /MPIPRIV1/ MPI_BOTTOM, MPI_IN_PLACE, MPI_STATUS_IGNORE(5)`.
#[unsafe(no_mangle)]
pub static mpipriv1_: Common<[c_int; 7]> = Common(UnsafeCell::new([0; 7]));
/// `COMMON /MPIPRIV2/ MPI_STATUSES_IGNORE(5,1), MPI_ERRCODES_IGNORE(1)`.
#[unsafe(no_mangle)]
pub static mpipriv2_: Common<[c_int; 6]> = Common(UnsafeCell::new([0; 6]));
/// `COMMON /MPIPRIVC/ MPI_ARGVS_NULL(1,1), MPI_ARGV_NULL(1)` (CHARACTER*1).
#[unsafe(no_mangle)]
pub static mpiprivc_: Common<[u8; 2]> = Common(UnsafeCell::new([b' '; 2]));
/// `COMMON /MPIFCMB5/ MPI_UNWEIGHTED`.
#[unsafe(no_mangle)]
pub static mpifcmb5_: Common<c_int> = Common(UnsafeCell::new(0));
/// `COMMON /MPIFCMB9/ MPI_WEIGHTS_EMPTY`.
#[unsafe(no_mangle)]
pub static mpifcmb9_: Common<c_int> = Common(UnsafeCell::new(0));

/// Where the sentinels live in this process. A program built with our
/// `mpif.h` or MPICH's holds its own copy of each COMMON block (the
/// dynamic linker then binds every reference to the program's), so the
/// addresses are looked up by name once, ours being the fallback.
struct Sentinels {
    bottom: usize,
    in_place: usize,
    status_ignore: usize,
    statuses_ignore: usize,
    errcodes_ignore: usize,
    argvs_null: usize,
    argv_null: usize,
    unweighted: usize,
    weights_empty: usize,
}

fn lookup<T>(name: &std::ffi::CStr, ours: &Common<T>) -> usize {
    // SAFETY: dlsym with a NUL-terminated name only reads it.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if p.is_null() {
        ours.0.get() as usize
    } else {
        p as usize
    }
}

fn sentinels() -> &'static Sentinels {
    static S: OnceLock<Sentinels> = OnceLock::new();
    S.get_or_init(|| {
        let int = std::mem::size_of::<c_int>();
        let p1 = lookup(c"mpipriv1_", &mpipriv1_);
        let p2 = lookup(c"mpipriv2_", &mpipriv2_);
        let pc = lookup(c"mpiprivc_", &mpiprivc_);
        Sentinels {
            bottom: p1,
            in_place: p1 + int,
            status_ignore: p1 + 2 * int,
            statuses_ignore: p2,
            errcodes_ignore: p2 + 5 * int,
            argvs_null: pc,
            argv_null: pc + 1,
            unweighted: lookup(c"mpifcmb5_", &mpifcmb5_),
            weights_empty: lookup(c"mpifcmb9_", &mpifcmb9_),
        }
    })
}

/// A choice buffer: `MPI_BOTTOM` and `MPI_IN_PLACE` (mpif.h's or
/// mpi_f08's) become C's.
pub fn choice(p: *mut c_void) -> *mut c_void {
    let s = sentinels();
    match p as usize {
        a if a == s.bottom || a == (&raw const data::MPIR_F08_MPI_BOTTOM) as usize => {
            std::ptr::null_mut()
        }
        a if a == s.in_place || a == (&raw const data::MPIR_F08_MPI_IN_PLACE) as usize => {
            usize::MAX as *mut c_void
        }
        _ => p,
    }
}

/// A status (or an array of them: `many`): the ignore sentinels (mpif.h's
/// or mpi_f08's) become C's.
pub fn status(p: *mut MPI_Fint, many: bool) -> *mut MPI_Status {
    let s = sentinels();
    let a = p as usize;
    let f08 = (&raw const data::MPIR_F08_MPI_STATUS_IGNORE_OBJ) as usize;
    let f08_many = (&raw const data::MPIR_F08_MPI_STATUSES_IGNORE_OBJ) as usize;
    if a == s.status_ignore || a == f08 || (many && (a == s.statuses_ignore || a == f08_many)) {
        // MPI_STATUSES_IGNORE is the same value in C.
        MPI_STATUS_IGNORE
    } else {
        p.cast()
    }
}

/// A weights array: `MPI_UNWEIGHTED` and `MPI_WEIGHTS_EMPTY` become C's.
pub fn weights(p: *mut c_int) -> *mut c_int {
    let s = sentinels();
    match p as usize {
        a if a == s.unweighted => super::data::MPI_UNWEIGHTED.0,
        a if a == s.weights_empty => super::data::MPI_WEIGHTS_EMPTY.0,
        _ => p,
    }
}

/// An error-code array: `MPI_ERRCODES_IGNORE` becomes C's (null).
pub fn errcodes(p: *mut c_int) -> *mut c_int {
    if p as usize == sentinels().errcodes_ignore {
        std::ptr::null_mut()
    } else {
        p
    }
}

/// Whether a spawn argument list is `MPI_ARGV_NULL`.
pub fn is_argv_null(p: *const c_char) -> bool {
    p as usize == sentinels().argv_null
}

/// Whether spawn_multiple's argument lists are `MPI_ARGVS_NULL`.
pub fn is_argvs_null(p: *const c_char) -> bool {
    p as usize == sentinels().argvs_null
}

/// Stores an error code in IERROR.
///
/// # Safety
/// `ierror` is null or a Fortran INTEGER.
pub unsafe fn set(ierror: *mut MPI_Fint, rc: c_int) {
    if !ierror.is_null() {
        unsafe { *ierror = rc };
    }
}

/// Turns C's 0-based indices (`n` of them at `p`, `MPI_UNDEFINED` left
/// alone) into Fortran's 1-based ones.
///
/// # Safety
/// `p` holds `n` integers when `n` is positive.
pub unsafe fn one_based(p: *mut c_int, n: c_int) {
    if n == MPI_UNDEFINED || n <= 0 {
        return;
    }
    for i in 0..n as usize {
        let x = unsafe { &mut *p.add(i) };
        if *x >= 0 {
            *x += 1;
        }
    }
}

/// The C error of a procedure whose Fortran form is not built yet, through
/// the error handler as in C.
pub fn unsupported(name: &'static str) -> c_int {
    super::entry::guard(name, false, super::entry::ErrObj::None, || {
        Err(MpiError::unsupported(name))
    })
}

/// A Fortran CHARACTER argument as a C string: blanks at both ends are not
/// part of it (and a NUL ends it early).
///
/// # Safety
/// `p` points to `len` bytes, or is null.
pub unsafe fn fstr_in(p: *const c_char, len: usize) -> CString {
    let bytes: &[u8] = if p.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(p.cast(), len) }
    };
    let bytes = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |e| e + 1);
    // No NUL inside after the split above.
    CString::new(&bytes[start..end]).unwrap_or_default()
}

/// The longest string a C call writes without being told a capacity
/// (`MPI_MAX_LIBRARY_VERSION_STRING` is the largest of those).
const C_STRING_MAX: usize = 8192;

/// A zeroed buffer for a C call to write a string into: room for the
/// Fortran variable, for any fixed-capacity string, and for `cap` (a
/// length argument, when the call has one).
///
/// # Safety
/// `cap` is null or a Fortran INTEGER.
pub unsafe fn fstr_buffer(len: usize, cap: *const c_int) -> Vec<u8> {
    let asked = if cap.is_null() {
        0
    } else {
        usize::try_from(unsafe { *cap }).unwrap_or(0)
    };
    vec![0u8; len.max(C_STRING_MAX).max(asked) + 1]
}

/// Copies the NUL-terminated string in `src` into a Fortran CHARACTER
/// variable of `len` bytes, padded with blanks.
///
/// # Safety
/// `dst` points to `len` writable bytes.
pub unsafe fn fstr_out(dst: *mut c_char, len: usize, src: &[u8]) {
    let n = src
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(src.len())
        .min(len);
    let out = unsafe { std::slice::from_raw_parts_mut(dst.cast::<u8>(), len) };
    out[..n].copy_from_slice(&src[..n]);
    out[n..].fill(b' ');
}

/// What an attribute call from Fortran is about.
#[derive(Clone, Copy)]
enum On {
    Comm,
    Type,
    Win,
}

impl On {
    fn read(self, obj: c_int, keyval: c_int, lang: Lang) -> MpiResult<Option<usize>> {
        match self {
            On::Comm => comm_calls::comm_attr(obj, keyval, lang),
            On::Type => bindings::type_attr(obj, keyval, lang),
            On::Win => rma_calls::win_attr(obj, keyval, lang),
        }
    }

    fn write(self, obj: c_int, keyval: c_int, val: usize, lang: Lang) -> MpiResult<()> {
        match self {
            On::Comm => comm_calls::comm_set_attr_from(obj, keyval, val, lang),
            On::Type => bindings::type_set_attr_from(obj, keyval, val, lang),
            On::Win => rma_calls::win_set_attr_from(obj, keyval, val, lang),
        }
    }

    fn err_obj(self, obj: c_int) -> ErrObj {
        match self {
            On::Comm => ErrObj::Comm(obj),
            On::Type => ErrObj::None,
            On::Win => ErrObj::Win(obj),
        }
    }
}

/// An attribute query from Fortran: the value goes to an
/// INTEGER(KIND=MPI_ADDRESS_KIND), or a default INTEGER (MPI-1, `Fortran1`).
///
/// # Safety
/// Fortran arguments by reference.
#[allow(clippy::too_many_arguments)]
unsafe fn get_attr(
    func: &'static str,
    on: On,
    lang: Lang,
    obj: *const MPI_Fint,
    keyval: *const MPI_Fint,
    val: *mut c_void,
    flag: *mut c_int,
    ierror: *mut MPI_Fint,
) {
    let (obj, keyval) = unsafe { (*obj, *keyval) };
    let rc = guard(func, false, on.err_obj(obj), || {
        let found = on.read(obj, keyval, lang)?;
        // SAFETY: Fortran variables of the documented types.
        unsafe {
            *flag = c_int::from(found.is_some());
            match found {
                Some(v) if lang == Lang::Fortran1 => *val.cast::<MPI_Fint>() = v as MPI_Fint,
                Some(v) => *val.cast::<MPI_Aint>() = v as MPI_Aint,
                None => {}
            }
        }
        Ok(())
    });
    unsafe { set(ierror, rc) };
}

/// An attribute set from Fortran (`val` sign-extended to pointer size).
///
/// # Safety
/// Fortran arguments by reference.
unsafe fn set_attr(
    func: &'static str,
    on: On,
    lang: Lang,
    obj: *const MPI_Fint,
    keyval: *const MPI_Fint,
    val: isize,
    ierror: *mut MPI_Fint,
) {
    let (obj, keyval) = unsafe { (*obj, *keyval) };
    let rc = guard(func, false, on.err_obj(obj), || {
        on.write(obj, keyval, val as usize, lang)
    });
    unsafe { set(ierror, rc) };
}

// The attribute calls, as the generated shells call them (Fortran order).
// SAFETY (each): Fortran arguments by reference.

/// `MPI_COMM_GET_ATTR`.
pub unsafe fn comm_get_attr(
    c: *const MPI_Fint,
    k: *const MPI_Fint,
    v: *mut c_void,
    f: *mut c_int,
    e: *mut MPI_Fint,
) {
    unsafe { get_attr("MPI_Comm_get_attr", On::Comm, Lang::Fortran, c, k, v, f, e) }
}

/// `MPI_ATTR_GET` (MPI-1).
pub unsafe fn attr_get(
    c: *const MPI_Fint,
    k: *const MPI_Fint,
    v: *mut c_void,
    f: *mut c_int,
    e: *mut MPI_Fint,
) {
    unsafe { get_attr("MPI_Attr_get", On::Comm, Lang::Fortran1, c, k, v, f, e) }
}

/// `MPI_TYPE_GET_ATTR`.
pub unsafe fn type_get_attr(
    t: *const MPI_Fint,
    k: *const MPI_Fint,
    v: *mut c_void,
    f: *mut c_int,
    e: *mut MPI_Fint,
) {
    unsafe { get_attr("MPI_Type_get_attr", On::Type, Lang::Fortran, t, k, v, f, e) }
}

/// `MPI_WIN_GET_ATTR`.
pub unsafe fn win_get_attr(
    w: *const MPI_Fint,
    k: *const MPI_Fint,
    v: *mut c_void,
    f: *mut c_int,
    e: *mut MPI_Fint,
) {
    unsafe { get_attr("MPI_Win_get_attr", On::Win, Lang::Fortran, w, k, v, f, e) }
}

/// `MPI_COMM_SET_ATTR`.
pub unsafe fn comm_set_attr(
    c: *const MPI_Fint,
    k: *const MPI_Fint,
    v: *const MPI_Aint,
    e: *mut MPI_Fint,
) {
    unsafe {
        set_attr(
            "MPI_Comm_set_attr",
            On::Comm,
            Lang::Fortran,
            c,
            k,
            *v as isize,
            e,
        )
    }
}

/// `MPI_ATTR_PUT` (MPI-1): a default INTEGER value.
pub unsafe fn attr_put(
    c: *const MPI_Fint,
    k: *const MPI_Fint,
    v: *const MPI_Fint,
    e: *mut MPI_Fint,
) {
    unsafe {
        set_attr(
            "MPI_Attr_put",
            On::Comm,
            Lang::Fortran1,
            c,
            k,
            *v as isize,
            e,
        )
    }
}

/// `MPI_TYPE_SET_ATTR`.
pub unsafe fn type_set_attr(
    t: *const MPI_Fint,
    k: *const MPI_Fint,
    v: *const MPI_Aint,
    e: *mut MPI_Fint,
) {
    unsafe {
        set_attr(
            "MPI_Type_set_attr",
            On::Type,
            Lang::Fortran,
            t,
            k,
            *v as isize,
            e,
        )
    }
}

/// `MPI_WIN_SET_ATTR`.
pub unsafe fn win_set_attr(
    w: *const MPI_Fint,
    k: *const MPI_Fint,
    v: *const MPI_Aint,
    e: *mut MPI_Fint,
) {
    unsafe {
        set_attr(
            "MPI_Win_set_attr",
            On::Win,
            Lang::Fortran,
            w,
            k,
            *v as isize,
            e,
        )
    }
}

fortran! { f_mpi_f_sync_reg [mpi_f_sync_reg_, mpi_f_sync_reg__, mpi_f_sync_reg, MPI_F_SYNC_REG,
    pmpi_f_sync_reg_, pmpi_f_sync_reg__, pmpi_f_sync_reg, PMPI_F_SYNC_REG] (buf: *mut c_void) (buf) -> () {
    // Its point is the call itself: the compiler must assume the buffer
    // was read and written, so it keeps no copy in registers across it.
    std::hint::black_box(buf);
} }
