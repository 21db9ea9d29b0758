//! Fortran procedures the generator cannot write as one C call: those
//! taking callbacks written in Fortran (attribute keyvals, generalized
//! requests), arrays of Fortran strings (spawn), `MPI_INFO_GET_STRING`'s
//! Fortran lengths, the MPI-1 calls with default-INTEGER addresses, and
//! the predefined Fortran attribute callbacks (`MPI_COMM_DUP_FN`, ...).
//!
//! A Fortran callback takes every argument by reference and returns its
//! error in a last IERROR argument; the C core calls C callbacks. So each
//! Fortran callback is registered behind a C trampoline here, with a small
//! record (the Fortran procedures and the user's extra state) as the C
//! extra state.

use super::callbacks::*;
use super::fortran as fx;
use super::types::*;
use crate::abi::consts::*;
use crate::core::error::MpiError;
use std::ffi::{CString, c_char, c_int, c_void};

/// `COPY_FN(OLD, KEYVAL, EXTRA_STATE, VAL_IN, VAL_OUT, FLAG, IERROR)`: the
/// values are INTEGER(KIND=MPI_ADDRESS_KIND), or INTEGER for MPI-1 keyvals.
type FCopy = unsafe extern "C" fn(
    *const MPI_Fint,
    *const MPI_Fint,
    *const c_void,
    *const c_void,
    *mut c_void,
    *mut MPI_Fint,
    *mut MPI_Fint,
);
/// `DELETE_FN(OBJ, KEYVAL, VAL, EXTRA_STATE, IERROR)`.
type FDelete = unsafe extern "C" fn(
    *const MPI_Fint,
    *const MPI_Fint,
    *const c_void,
    *const c_void,
    *mut MPI_Fint,
);

/// A keyval's Fortran callbacks. It lives as long as the process: the
/// callbacks may run until the keyval's last attribute is gone, after the
/// program freed the keyval (one small record per keyval created).
struct FKeyval {
    copy: FCopy,
    delete: FDelete,
    extra: MPI_Aint,
    /// MPI-1 (`MPI_KEYVAL_CREATE`): default INTEGER values and state.
    mpi1: bool,
}

/// # Safety
/// Called by the core with the extra state `keyval_create` registered.
unsafe extern "C" fn copy_trampoline(
    old: c_int,
    keyval: c_int,
    extra: *mut c_void,
    val_in: *mut c_void,
    val_out: *mut c_void,
    flag: *mut c_int,
) -> c_int {
    let k = unsafe { &*extra.cast::<FKeyval>() };
    let (mut f, mut ierr): (MPI_Fint, MPI_Fint) = (0, MPI_SUCCESS);
    if k.mpi1 {
        let (ex, vin, mut vout) = (
            k.extra as MPI_Fint,
            val_in as MPI_Aint as MPI_Fint,
            0 as MPI_Fint,
        );
        unsafe {
            (k.copy)(
                &old,
                &keyval,
                (&raw const ex).cast(),
                (&raw const vin).cast(),
                (&raw mut vout).cast(),
                &mut f,
                &mut ierr,
            );
            *val_out.cast::<*mut c_void>() = vout as MPI_Aint as *mut c_void;
        }
    } else {
        let (vin, mut vout) = (val_in as MPI_Aint, 0 as MPI_Aint);
        unsafe {
            (k.copy)(
                &old,
                &keyval,
                (&raw const k.extra).cast(),
                (&raw const vin).cast(),
                (&raw mut vout).cast(),
                &mut f,
                &mut ierr,
            );
            *val_out.cast::<*mut c_void>() = vout as *mut c_void;
        }
    }
    unsafe { *flag = c_int::from(f != 0) };
    ierr
}

/// # Safety
/// Called by the core with the extra state `keyval_create` registered.
unsafe extern "C" fn delete_trampoline(
    obj: c_int,
    keyval: c_int,
    val: *mut c_void,
    extra: *mut c_void,
) -> c_int {
    let k = unsafe { &*extra.cast::<FKeyval>() };
    let mut ierr = MPI_SUCCESS;
    if k.mpi1 {
        let (v, ex) = (val as MPI_Aint as MPI_Fint, k.extra as MPI_Fint);
        unsafe {
            (k.delete)(
                &obj,
                &keyval,
                (&raw const v).cast(),
                (&raw const ex).cast(),
                &mut ierr,
            )
        };
    } else {
        let v = val as MPI_Aint;
        unsafe {
            (k.delete)(
                &obj,
                &keyval,
                (&raw const v).cast(),
                (&raw const k.extra).cast(),
                &mut ierr,
            )
        };
    }
    ierr
}

type CreateKeyval =
    unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_int, *mut c_void) -> c_int;

/// Registers Fortran callbacks through `create` (the C call for the kind).
unsafe fn keyval_create(
    create: CreateKeyval,
    copy: *mut c_void,
    delete: *mut c_void,
    keyval: *mut c_int,
    extra: MPI_Aint,
    mpi1: bool,
    ierror: *mut MPI_Fint,
) {
    // SAFETY: Fortran passes a procedure of the documented interface.
    let rec = Box::new(FKeyval {
        copy: unsafe { std::mem::transmute::<*mut c_void, FCopy>(copy) },
        delete: unsafe { std::mem::transmute::<*mut c_void, FDelete>(delete) },
        extra,
        mpi1,
    });
    let rec = Box::into_raw(rec);
    let tc = copy_trampoline as Fn_MPI_Comm_copy_attr_function as *mut c_void;
    let td = delete_trampoline as Fn_MPI_Comm_delete_attr_function as *mut c_void;
    let rc = unsafe { create(tc, td, keyval, rec.cast()) };
    if rc != MPI_SUCCESS {
        // Not registered: nothing refers to the record.
        drop(unsafe { Box::from_raw(rec) });
    }
    unsafe { fx::set(ierror, rc) };
}

/// The C calls creating keyvals, under one signature (their callback
/// parameters are pointers to distinct marker types).
macro_rules! creator {
    ($c:path) => {{
        // SAFETY: the same C signature with the callback pointers untyped.
        unsafe { std::mem::transmute::<*const (), CreateKeyval>($c as *const ()) }
    }};
}

fortran! { f_comm_create_keyval [mpi_comm_create_keyval_, mpi_comm_create_keyval__, mpi_comm_create_keyval,
    MPI_COMM_CREATE_KEYVAL, pmpi_comm_create_keyval_, pmpi_comm_create_keyval__, pmpi_comm_create_keyval,
    PMPI_COMM_CREATE_KEYVAL]
    (copy: *mut c_void, delete: *mut c_void, keyval: *mut c_int, extra: *const MPI_Aint, ierror: *mut MPI_Fint)
    (copy, delete, keyval, extra, ierror) -> () {
    keyval_create(creator!(super::generated::MPI_Comm_create_keyval), copy, delete, keyval, *extra, false, ierror)
} }

fortran! { f_type_create_keyval [mpi_type_create_keyval_, mpi_type_create_keyval__, mpi_type_create_keyval,
    MPI_TYPE_CREATE_KEYVAL, pmpi_type_create_keyval_, pmpi_type_create_keyval__, pmpi_type_create_keyval,
    PMPI_TYPE_CREATE_KEYVAL]
    (copy: *mut c_void, delete: *mut c_void, keyval: *mut c_int, extra: *const MPI_Aint, ierror: *mut MPI_Fint)
    (copy, delete, keyval, extra, ierror) -> () {
    keyval_create(creator!(super::generated::MPI_Type_create_keyval), copy, delete, keyval, *extra, false, ierror)
} }

fortran! { f_win_create_keyval [mpi_win_create_keyval_, mpi_win_create_keyval__, mpi_win_create_keyval,
    MPI_WIN_CREATE_KEYVAL, pmpi_win_create_keyval_, pmpi_win_create_keyval__, pmpi_win_create_keyval,
    PMPI_WIN_CREATE_KEYVAL]
    (copy: *mut c_void, delete: *mut c_void, keyval: *mut c_int, extra: *const MPI_Aint, ierror: *mut MPI_Fint)
    (copy, delete, keyval, extra, ierror) -> () {
    keyval_create(creator!(super::generated::MPI_Win_create_keyval), copy, delete, keyval, *extra, false, ierror)
} }

fortran! { f_keyval_create [mpi_keyval_create_, mpi_keyval_create__, mpi_keyval_create, MPI_KEYVAL_CREATE,
    pmpi_keyval_create_, pmpi_keyval_create__, pmpi_keyval_create, PMPI_KEYVAL_CREATE]
    (copy: *mut c_void, delete: *mut c_void, keyval: *mut c_int, extra: *const MPI_Fint, ierror: *mut MPI_Fint)
    (copy, delete, keyval, extra, ierror) -> () {
    keyval_create(creator!(super::generated::MPI_Keyval_create), copy, delete, keyval, MPI_Aint::from(*extra), true, ierror)
} }

// The predefined Fortran callbacks: programs pass them by name.
fortran! { f_null_copy [mpi_comm_null_copy_fn_, mpi_comm_null_copy_fn__, mpi_comm_null_copy_fn,
    MPI_COMM_NULL_COPY_FN, pmpi_comm_null_copy_fn_, pmpi_comm_null_copy_fn__, pmpi_comm_null_copy_fn,
    PMPI_COMM_NULL_COPY_FN, mpi_type_null_copy_fn_, mpi_type_null_copy_fn__, mpi_type_null_copy_fn,
    MPI_TYPE_NULL_COPY_FN, pmpi_type_null_copy_fn_, pmpi_type_null_copy_fn__, pmpi_type_null_copy_fn,
    PMPI_TYPE_NULL_COPY_FN, mpi_win_null_copy_fn_, mpi_win_null_copy_fn__, mpi_win_null_copy_fn,
    MPI_WIN_NULL_COPY_FN, pmpi_win_null_copy_fn_, pmpi_win_null_copy_fn__, pmpi_win_null_copy_fn,
    PMPI_WIN_NULL_COPY_FN, mpi_null_copy_fn_, mpi_null_copy_fn__, mpi_null_copy_fn, MPI_NULL_COPY_FN,
    pmpi_null_copy_fn_, pmpi_null_copy_fn__, pmpi_null_copy_fn, PMPI_NULL_COPY_FN]
    (_old: *const MPI_Fint, _keyval: *const MPI_Fint, _extra: *const c_void, _vin: *const c_void,
     _vout: *mut c_void, flag: *mut MPI_Fint, ierror: *mut MPI_Fint)
    (_old, _keyval, _extra, _vin, _vout, flag, ierror) -> () {
    *flag = 0;
    *ierror = MPI_SUCCESS;
} }

fortran! { f_dup [mpi_comm_dup_fn_, mpi_comm_dup_fn__, mpi_comm_dup_fn, MPI_COMM_DUP_FN, pmpi_comm_dup_fn_,
    pmpi_comm_dup_fn__, pmpi_comm_dup_fn, PMPI_COMM_DUP_FN, mpi_type_dup_fn_, mpi_type_dup_fn__,
    mpi_type_dup_fn, MPI_TYPE_DUP_FN, pmpi_type_dup_fn_, pmpi_type_dup_fn__, pmpi_type_dup_fn,
    PMPI_TYPE_DUP_FN, mpi_win_dup_fn_, mpi_win_dup_fn__, mpi_win_dup_fn, MPI_WIN_DUP_FN, pmpi_win_dup_fn_,
    pmpi_win_dup_fn__, pmpi_win_dup_fn, PMPI_WIN_DUP_FN]
    (_old: *const MPI_Fint, _keyval: *const MPI_Fint, _extra: *const c_void, vin: *const c_void,
     vout: *mut c_void, flag: *mut MPI_Fint, ierror: *mut MPI_Fint)
    (_old, _keyval, _extra, vin, vout, flag, ierror) -> () {
    *vout.cast::<MPI_Aint>() = *vin.cast::<MPI_Aint>();
    *flag = 1;
    *ierror = MPI_SUCCESS;
} }

fortran! { f_dup1 [mpi_dup_fn_, mpi_dup_fn__, mpi_dup_fn, MPI_DUP_FN, pmpi_dup_fn_, pmpi_dup_fn__,
    pmpi_dup_fn, PMPI_DUP_FN]
    (_old: *const MPI_Fint, _keyval: *const MPI_Fint, _extra: *const c_void, vin: *const c_void,
     vout: *mut c_void, flag: *mut MPI_Fint, ierror: *mut MPI_Fint)
    (_old, _keyval, _extra, vin, vout, flag, ierror) -> () {
    // MPI-1: default INTEGER values.
    *vout.cast::<MPI_Fint>() = *vin.cast::<MPI_Fint>();
    *flag = 1;
    *ierror = MPI_SUCCESS;
} }

fortran! { f_null_delete [mpi_comm_null_delete_fn_, mpi_comm_null_delete_fn__, mpi_comm_null_delete_fn,
    MPI_COMM_NULL_DELETE_FN, pmpi_comm_null_delete_fn_, pmpi_comm_null_delete_fn__, pmpi_comm_null_delete_fn,
    PMPI_COMM_NULL_DELETE_FN, mpi_type_null_delete_fn_, mpi_type_null_delete_fn__, mpi_type_null_delete_fn,
    MPI_TYPE_NULL_DELETE_FN, pmpi_type_null_delete_fn_, pmpi_type_null_delete_fn__, pmpi_type_null_delete_fn,
    PMPI_TYPE_NULL_DELETE_FN, mpi_win_null_delete_fn_, mpi_win_null_delete_fn__, mpi_win_null_delete_fn,
    MPI_WIN_NULL_DELETE_FN, pmpi_win_null_delete_fn_, pmpi_win_null_delete_fn__, pmpi_win_null_delete_fn,
    PMPI_WIN_NULL_DELETE_FN, mpi_null_delete_fn_, mpi_null_delete_fn__, mpi_null_delete_fn,
    MPI_NULL_DELETE_FN, pmpi_null_delete_fn_, pmpi_null_delete_fn__, pmpi_null_delete_fn,
    PMPI_NULL_DELETE_FN]
    (_obj: *const MPI_Fint, _keyval: *const MPI_Fint, _val: *const c_void, _extra: *const c_void,
     ierror: *mut MPI_Fint)
    (_obj, _keyval, _val, _extra, ierror) -> () {
    *ierror = MPI_SUCCESS;
} }

/// A generalized request's Fortran callbacks; freed after its free callback.
/// They get the program's own EXTRA_STATE variable, as MPICH passes it:
/// a callback may update it for the program to see.
struct FGrequest {
    query: unsafe extern "C" fn(*mut MPI_Aint, *mut MPI_Fint, *mut MPI_Fint),
    free: unsafe extern "C" fn(*mut MPI_Aint, *mut MPI_Fint),
    cancel: unsafe extern "C" fn(*mut MPI_Aint, *const MPI_Fint, *mut MPI_Fint),
    extra: *mut MPI_Aint,
}

unsafe extern "C" fn query_trampoline(extra: *mut c_void, status: *mut MPI_Status) -> c_int {
    let g = unsafe { &*extra.cast::<FGrequest>() };
    let mut ierr = MPI_SUCCESS;
    let mut scratch = [0 as MPI_Fint; 5];
    let st = if status.is_null() || status == MPI_STATUS_IGNORE {
        scratch.as_mut_ptr()
    } else {
        status.cast()
    };
    unsafe { (g.query)(g.extra, st, &mut ierr) };
    ierr
}

unsafe extern "C" fn free_trampoline(extra: *mut c_void) -> c_int {
    let g = unsafe { Box::from_raw(extra.cast::<FGrequest>()) };
    let mut ierr = MPI_SUCCESS;
    unsafe { (g.free)(g.extra, &mut ierr) };
    ierr
}

unsafe extern "C" fn cancel_trampoline(extra: *mut c_void, complete: c_int) -> c_int {
    let g = unsafe { &*extra.cast::<FGrequest>() };
    let mut ierr = MPI_SUCCESS;
    unsafe { (g.cancel)(g.extra, &complete, &mut ierr) };
    ierr
}

/// `MPI_GREQUEST_START`.
///
/// # Safety
/// Fortran arguments by reference.
pub unsafe fn grequest_start(
    query: *mut c_void,
    free: *mut c_void,
    cancel: *mut c_void,
    extra: *const MPI_Aint,
    request: *mut MPI_Request,
    ierror: *mut MPI_Fint,
) {
    // SAFETY: Fortran passes procedures of the documented interfaces.
    let g = Box::into_raw(Box::new(unsafe {
        FGrequest {
            query: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(*mut MPI_Aint, *mut MPI_Fint, *mut MPI_Fint),
            >(query),
            free: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(*mut MPI_Aint, *mut MPI_Fint),
            >(free),
            cancel: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(*mut MPI_Aint, *const MPI_Fint, *mut MPI_Fint),
            >(cancel),
            extra: extra.cast_mut(),
        }
    }));
    let rc = unsafe {
        super::generated::MPI_Grequest_start(
            (query_trampoline as Fn_MPI_Grequest_query_function as *mut c_void).cast(),
            (free_trampoline as Fn_MPI_Grequest_free_function as *mut c_void).cast(),
            (cancel_trampoline as Fn_MPI_Grequest_cancel_function as *mut c_void).cast(),
            g.cast(),
            request,
        )
    };
    if rc != MPI_SUCCESS {
        drop(unsafe { Box::from_raw(g) });
    }
    unsafe { fx::set(ierror, rc) };
}

/// Fortran strings `first, first+len, ...` up to the first blank one (or
/// `max` of them), as C strings without their blanks at either end (as
/// MPICH's mpif.h binding passes a spawned program's arguments).
///
/// # Safety
/// The strings are readable up to and including the blank one.
unsafe fn fortran_strings(
    first: *const c_char,
    len: usize,
    stride: usize,
    max: usize,
) -> Vec<CString> {
    let mut out = Vec::new();
    for k in 0..max {
        let s = unsafe { fx::fstr_in(first.add(k * stride * len), len) };
        if s.is_empty() {
            break;
        }
        out.push(s);
    }
    out
}

/// Null-terminated pointers to `strs`, as C's `argv`.
fn argv_of(strs: &[CString]) -> Vec<*mut c_char> {
    strs.iter()
        .map(|s| s.as_ptr().cast_mut())
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect()
}

/// Whether this process is `root` of `comm` (where spawn reads its strings).
unsafe fn is_root(comm: MPI_Comm, root: c_int) -> bool {
    let mut rank = -1;
    unsafe { super::generated::MPI_Comm_rank(comm, &mut rank) == MPI_SUCCESS && rank == root }
}

/// `MPI_COMM_SPAWN`: ARGV is a blank-terminated array of strings.
///
/// # Safety
/// Fortran arguments by reference; the strings are significant at root only.
#[allow(clippy::too_many_arguments)]
pub unsafe fn comm_spawn(
    command: *const c_char,
    argv: *const c_char,
    maxprocs: *const MPI_Fint,
    info: *const MPI_Fint,
    root: *const MPI_Fint,
    comm: *const MPI_Fint,
    intercomm: *mut MPI_Comm,
    errcodes: *mut c_int,
    ierror: *mut MPI_Fint,
    command_len: usize,
    argv_len: usize,
) {
    let here = unsafe { is_root(*comm, *root) };
    let cmd = if here {
        unsafe { fx::fstr_in(command, command_len) }
    } else {
        CString::default()
    };
    let args = if here && !fx::is_argv_null(argv) {
        unsafe { fortran_strings(argv, argv_len, 1, usize::MAX) }
    } else {
        Vec::new()
    };
    let mut ptrs = argv_of(&args);
    let cargv = if here && !fx::is_argv_null(argv) {
        ptrs.as_mut_ptr()
    } else {
        std::ptr::null_mut()
    };
    let rc = unsafe {
        super::generated::MPI_Comm_spawn(
            cmd.as_ptr(),
            cargv,
            *maxprocs,
            *info,
            *root,
            *comm,
            intercomm,
            fx::errcodes(errcodes),
        )
    };
    unsafe { fx::set(ierror, rc) };
}

/// `MPI_COMM_SPAWN_MULTIPLE`: ARRAY_OF_ARGV(COUNT, *) holds command i's
/// arguments in row i, each list ending with a blank string.
///
/// # Safety
/// Fortran arguments by reference; the strings are significant at root only.
#[allow(clippy::too_many_arguments)]
pub unsafe fn comm_spawn_multiple(
    count: *const MPI_Fint,
    commands: *const c_char,
    argvs: *const c_char,
    maxprocs: *const c_int,
    infos: *const MPI_Info,
    root: *const MPI_Fint,
    comm: *const MPI_Fint,
    intercomm: *mut MPI_Comm,
    errcodes: *mut c_int,
    ierror: *mut MPI_Fint,
    commands_len: usize,
    argvs_len: usize,
) {
    let here = unsafe { is_root(*comm, *root) };
    let n = usize::try_from(unsafe { *count }).unwrap_or(0);
    let (mut cmds, mut lists) = (Vec::new(), Vec::new());
    if here {
        for i in 0..n {
            cmds.push(unsafe { fx::fstr_in(commands.add(i * commands_len), commands_len) });
            if !fx::is_argvs_null(argvs) {
                lists.push(unsafe {
                    fortran_strings(argvs.add(i * argvs_len), argvs_len, n, usize::MAX)
                });
            }
        }
    }
    let mut cmd_ptrs: Vec<*mut c_char> = cmds.iter().map(|c| c.as_ptr().cast_mut()).collect();
    let mut argv_vecs: Vec<Vec<*mut c_char>> = lists.iter().map(|l| argv_of(l)).collect();
    let mut argv_ptrs: Vec<*mut *mut c_char> =
        argv_vecs.iter_mut().map(|v| v.as_mut_ptr()).collect();
    let cargvs = if here && !fx::is_argvs_null(argvs) {
        argv_ptrs.as_mut_ptr()
    } else {
        std::ptr::null_mut()
    };
    let rc = unsafe {
        super::generated::MPI_Comm_spawn_multiple(
            *count,
            if here {
                cmd_ptrs.as_mut_ptr()
            } else {
                std::ptr::null_mut()
            },
            cargvs,
            maxprocs,
            infos,
            *root,
            *comm,
            intercomm,
            fx::errcodes(errcodes),
        )
    };
    unsafe { fx::set(ierror, rc) };
}

/// `MPI_INFO_GET_STRING`: BUFLEN is the Fortran variable's length, and
/// comes back as the value's length (no NUL in Fortran).
///
/// # Safety
/// Fortran arguments by reference.
#[allow(clippy::too_many_arguments)]
pub unsafe fn info_get_string(
    info: *const MPI_Fint,
    key: *const c_char,
    buflen: *mut c_int,
    value: *mut c_char,
    flag: *mut c_int,
    ierror: *mut MPI_Fint,
    key_len: usize,
    value_len: usize,
) {
    let key = unsafe { fx::fstr_in(key, key_len) };
    let room = usize::try_from(unsafe { *buflen })
        .unwrap_or(0)
        .min(value_len);
    let mut buf = vec![0u8; room + 1];
    let mut clen = c_int::try_from(buf.len()).unwrap_or(c_int::MAX);
    let rc = unsafe {
        super::generated::MPI_Info_get_string(
            *info,
            key.as_ptr(),
            &mut clen,
            buf.as_mut_ptr().cast(),
            flag,
        )
    };
    if rc == MPI_SUCCESS && unsafe { *flag } != 0 {
        if room > 0 {
            // At most BUFLEN characters, then blanks to the variable's end.
            unsafe { fx::fstr_out(value, value_len, &buf) };
        }
        unsafe { *buflen = clen - 1 };
    }
    unsafe { fx::set(ierror, rc) };
}

/// An MPI-1 result in a default INTEGER: an error rather than a value cut
/// to 32 bits.
unsafe fn narrow_out(func: &'static str, v: MPI_Aint, out: *mut MPI_Fint) -> c_int {
    match MPI_Fint::try_from(v) {
        Ok(x) => {
            unsafe { *out = x };
            MPI_SUCCESS
        }
        Err(_) => super::entry::guard(func, false, super::entry::ErrObj::None, || {
            Err(MpiError::new(
                MPI_ERR_ARG,
                format!("{v} does not fit in a default INTEGER (use the MPI-2 call)"),
            ))
        }),
    }
}

fortran! { f_address [mpi_address_, mpi_address__, mpi_address, MPI_ADDRESS, pmpi_address_, pmpi_address__,
    pmpi_address, PMPI_ADDRESS]
    (location: *mut c_void, address: *mut MPI_Fint, ierror: *mut MPI_Fint) (location, address, ierror) -> () {
    let mut a: MPI_Aint = 0;
    let mut rc = super::generated::MPI_Get_address(fx::choice(location), &mut a);
    if rc == MPI_SUCCESS {
        rc = narrow_out("MPI_Address", a, address);
    }
    fx::set(ierror, rc);
} }

/// `MPI_TYPE_EXTENT`, `_LB` and `_UB` (MPI-1): `which` picks the value from
/// the lower bound and extent.
unsafe fn type_bound(
    func: &'static str,
    datatype: MPI_Datatype,
    out: *mut MPI_Fint,
    which: fn(MPI_Aint, MPI_Aint) -> MPI_Aint,
) -> c_int {
    let (mut lb, mut extent) = (0, 0);
    let rc = unsafe { super::generated::MPI_Type_get_extent(datatype, &mut lb, &mut extent) };
    if rc != MPI_SUCCESS {
        return rc;
    }
    unsafe { narrow_out(func, which(lb, extent), out) }
}

fortran! { f_type_extent [mpi_type_extent_, mpi_type_extent__, mpi_type_extent, MPI_TYPE_EXTENT,
    pmpi_type_extent_, pmpi_type_extent__, pmpi_type_extent, PMPI_TYPE_EXTENT]
    (datatype: *const MPI_Fint, extent: *mut MPI_Fint, ierror: *mut MPI_Fint) (datatype, extent, ierror) -> () {
    fx::set(ierror, type_bound("MPI_Type_extent", *datatype, extent, |_, e| e));
} }

fortran! { f_type_lb [mpi_type_lb_, mpi_type_lb__, mpi_type_lb, MPI_TYPE_LB, pmpi_type_lb_, pmpi_type_lb__,
    pmpi_type_lb, PMPI_TYPE_LB]
    (datatype: *const MPI_Fint, lb: *mut MPI_Fint, ierror: *mut MPI_Fint) (datatype, lb, ierror) -> () {
    fx::set(ierror, type_bound("MPI_Type_lb", *datatype, lb, |l, _| l));
} }

fortran! { f_type_ub [mpi_type_ub_, mpi_type_ub__, mpi_type_ub, MPI_TYPE_UB, pmpi_type_ub_, pmpi_type_ub__,
    pmpi_type_ub, PMPI_TYPE_UB]
    (datatype: *const MPI_Fint, ub: *mut MPI_Fint, ierror: *mut MPI_Fint) (datatype, ub, ierror) -> () {
    fx::set(ierror, type_bound("MPI_Type_ub", *datatype, ub, |l, e| l + e));
} }

/// `n` default-INTEGER displacements widened to `MPI_Aint` (none for a
/// negative count, which the C call then reports).
unsafe fn widen(p: *const MPI_Fint, n: MPI_Fint) -> Vec<MPI_Aint> {
    let n = usize::try_from(n).unwrap_or(0);
    (0..n)
        .map(|i| MPI_Aint::from(unsafe { *p.add(i) }))
        .collect()
}

fortran! { f_type_hvector [mpi_type_hvector_, mpi_type_hvector__, mpi_type_hvector, MPI_TYPE_HVECTOR,
    pmpi_type_hvector_, pmpi_type_hvector__, pmpi_type_hvector, PMPI_TYPE_HVECTOR]
    (count: *const MPI_Fint, blocklength: *const MPI_Fint, stride: *const MPI_Fint, oldtype: *const MPI_Fint,
     newtype: *mut MPI_Datatype, ierror: *mut MPI_Fint)
    (count, blocklength, stride, oldtype, newtype, ierror) -> () {
    let rc = super::generated::MPI_Type_create_hvector(*count, *blocklength, MPI_Aint::from(*stride), *oldtype, newtype);
    fx::set(ierror, rc);
} }

fortran! { f_type_hindexed [mpi_type_hindexed_, mpi_type_hindexed__, mpi_type_hindexed, MPI_TYPE_HINDEXED,
    pmpi_type_hindexed_, pmpi_type_hindexed__, pmpi_type_hindexed, PMPI_TYPE_HINDEXED]
    (count: *const MPI_Fint, blocklengths: *const c_int, displacements: *const MPI_Fint, oldtype: *const MPI_Fint,
     newtype: *mut MPI_Datatype, ierror: *mut MPI_Fint)
    (count, blocklengths, displacements, oldtype, newtype, ierror) -> () {
    let d = widen(displacements, *count);
    let rc = super::generated::MPI_Type_create_hindexed(*count, blocklengths, d.as_ptr(), *oldtype, newtype);
    fx::set(ierror, rc);
} }

fortran! { f_type_struct [mpi_type_struct_, mpi_type_struct__, mpi_type_struct, MPI_TYPE_STRUCT,
    pmpi_type_struct_, pmpi_type_struct__, pmpi_type_struct, PMPI_TYPE_STRUCT]
    (count: *const MPI_Fint, blocklengths: *const c_int, displacements: *const MPI_Fint,
     types: *const MPI_Datatype, newtype: *mut MPI_Datatype, ierror: *mut MPI_Fint)
    (count, blocklengths, displacements, types, newtype, ierror) -> () {
    let d = widen(displacements, *count);
    let rc = super::generated::MPI_Type_create_struct(*count, blocklengths, d.as_ptr(), types, newtype);
    fx::set(ierror, rc);
} }

fortran! { f_errhandler_create [mpi_errhandler_create_, mpi_errhandler_create__, mpi_errhandler_create,
    MPI_ERRHANDLER_CREATE, pmpi_errhandler_create_, pmpi_errhandler_create__, pmpi_errhandler_create,
    PMPI_ERRHANDLER_CREATE]
    (function: *mut MPI_Comm_errhandler_function, errhandler: *mut MPI_Errhandler, ierror: *mut MPI_Fint)
    (function, errhandler, ierror) -> () {
    fx::set(ierror, super::generated::MPI_Comm_create_errhandler(function, errhandler));
} }

fortran! { f_errhandler_set [mpi_errhandler_set_, mpi_errhandler_set__, mpi_errhandler_set, MPI_ERRHANDLER_SET,
    pmpi_errhandler_set_, pmpi_errhandler_set__, pmpi_errhandler_set, PMPI_ERRHANDLER_SET]
    (comm: *const MPI_Fint, errhandler: *const MPI_Fint, ierror: *mut MPI_Fint) (comm, errhandler, ierror) -> () {
    fx::set(ierror, super::generated::MPI_Comm_set_errhandler(*comm, *errhandler));
} }

fortran! { f_errhandler_get [mpi_errhandler_get_, mpi_errhandler_get__, mpi_errhandler_get, MPI_ERRHANDLER_GET,
    pmpi_errhandler_get_, pmpi_errhandler_get__, pmpi_errhandler_get, PMPI_ERRHANDLER_GET]
    (comm: *const MPI_Fint, errhandler: *mut MPI_Errhandler, ierror: *mut MPI_Fint) (comm, errhandler, ierror) -> () {
    fx::set(ierror, super::generated::MPI_Comm_get_errhandler(*comm, errhandler));
} }
