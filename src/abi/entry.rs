//! The one path every C call takes: panics are caught, the library state is
//! checked, and an error goes to the error handler of the object the call
//! was about (MPI-4.1 section 9.3; errors without an object go to
//! `MPI_COMM_SELF`, or `MPI_COMM_WORLD`'s handler if only that was set).

use super::callbacks::*;
use super::types::*;
use crate::abi::consts::*;
use crate::core::errhandler::{self, ObjKind};
use crate::core::error::{MpiError, MpiResult};
use crate::core::{comm, runtime};
use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The object an error is raised on. Windows and sessions carry their
/// handles for the handlers those objects will get.
#[derive(Clone, Copy)]
#[allow(dead_code)]
pub enum ErrObj {
    None,
    Comm(MPI_Comm),
    Win(MPI_Win),
    File(MPI_File),
    Session(MPI_Session),
}

fn panic_error(p: Box<dyn std::any::Any + Send>) -> MpiError {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    MpiError::new(MPI_ERR_INTERN, format!("internal error: {what}"))
}

/// Run one C call with an `int` error-code result.
pub fn guard(
    func: &'static str,
    anytime: bool,
    obj: ErrObj,
    f: impl FnOnce() -> MpiResult<()>,
) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if !anytime {
            runtime::require_initialized(func)?;
        }
        f()
    }));
    let err = match result {
        Ok(Ok(())) => return MPI_SUCCESS,
        Ok(Err(e)) => e,
        Err(p) => panic_error(p),
    };
    raise(func, obj, err)
}

/// Run one call of the tool interface (`MPI_T_*`): its error code is
/// returned as it is, never handed to an error handler (MPI-4.1 section
/// 15.3.1), and a panic becomes `MPI_ERR_INTERN`.
pub fn tool_guard(func: &'static str, f: impl FnOnce() -> MpiResult<()>) -> c_int {
    let err = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return MPI_SUCCESS,
        Ok(Err(e)) => e,
        Err(p) => panic_error(p),
    };
    if debug() {
        runtime::report(&format!("{func}: {} (error code {})", err.msg, err.code));
    }
    err.code
}

/// Run one C call that returns a value instead of an error code; such calls
/// cannot fail, so a panic is reported and the default value returned.
pub fn guard_value<T: Default>(func: &'static str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        crate::core::runtime::report(&format!("{func}: {}", panic_error(p).msg));
        T::default()
    })
}

/// `OXMPI_DEBUG` set: every error raised is also reported on stderr, with
/// the call that raised it, even when the handler returns it quietly.
fn debug() -> bool {
    crate::core::config::DEBUG.on()
}

/// Deliver `err` to the handler of `obj` and return what the call returns.
pub fn raise(func: &str, obj: ErrObj, err: MpiError) -> c_int {
    if debug() {
        runtime::report(&format!("{func}: {} (error class {})", err.msg, err.code));
    }
    if !runtime::active() {
        // Before MPI_Init and after MPI_Finalize only the initial handler,
        // MPI_ERRORS_ARE_FATAL, exists; file handles are the exception.
        if let ErrObj::File(f) = obj
            && f.is_null()
        {
            return invoke(func, Target::File(f), errhandler::FILE_DEFAULT.get(), err);
        }
        errhandler::fatal(func, &err);
    }
    let obj = match (obj, err.comm) {
        (ErrObj::None, Some(c)) => ErrObj::Comm(c),
        (o, _) => o,
    };
    let (target, handler) = match obj {
        ErrObj::Comm(c) => match comm::lookup(c) {
            Some(comm) => (Target::Comm(c), comm.errhandler.get()),
            None => self_target(),
        },
        // An invalid file handle: the default file handler, as ROMIO does.
        ErrObj::File(f) => (
            Target::File(f),
            crate::core::io::errhandler_of(f).unwrap_or_else(|| errhandler::FILE_DEFAULT.get()),
        ),
        ErrObj::Session(s) => match crate::core::session::get(s) {
            Ok(session) => (Target::Session(s), session.errhandler.get()),
            Err(_) => self_target(),
        },
        ErrObj::Win(w) => match crate::core::rma::errhandler_of(w) {
            Some(h) => (Target::Win(w), h),
            None => self_target(),
        },
        ErrObj::None => self_target(),
    };
    invoke(func, target, handler, err)
}

/// Where an error with no object of its own goes: `MPI_COMM_SELF`'s
/// handler, as MPI-4.1 section 9.3 says; but while that is still the
/// initial `MPI_ERRORS_ARE_FATAL` and the program changed
/// `MPI_COMM_WORLD`'s, that one, as programs written for MPICH (which
/// raises such errors there) expect. Where neither was changed, both rules
/// agree.
fn self_target() -> (Target, c_int) {
    let handler = |h| comm::lookup(h).map_or(MPI_ERRORS_ARE_FATAL, |c| c.errhandler.get());
    let own = handler(MPI_COMM_SELF);
    let world = handler(MPI_COMM_WORLD);
    if own == MPI_ERRORS_ARE_FATAL && world != MPI_ERRORS_ARE_FATAL {
        (Target::Comm(MPI_COMM_WORLD), world)
    } else {
        (Target::Comm(MPI_COMM_SELF), own)
    }
}

/// The object handed to a user error handler.
#[derive(Clone, Copy)]
#[allow(dead_code)]
pub enum Target {
    Comm(MPI_Comm),
    Win(MPI_Win),
    File(MPI_File),
    Session(MPI_Session),
}

/// Call `handler` for `err` raised on `target`; returns the error code the
/// MPI call reports.
pub fn invoke(func: &str, target: Target, handler: c_int, err: MpiError) -> c_int {
    let mut code = err.code;
    match handler {
        MPI_ERRORS_RETURN | MPIR_ERRORS_THROW_EXCEPTIONS => code,
        MPI_ERRORS_ARE_FATAL | MPI_ERRORS_ABORT => errhandler::fatal(func, &err),
        h => {
            let Some(user) = errhandler::lookup(h) else {
                errhandler::fatal(func, &err);
            };
            // SAFETY: the address was registered by the user as a callback of
            // this kind (checked when the handler was attached), and the
            // handle and code pointers are valid for the call.
            unsafe {
                match target {
                    Target::Comm(mut c) if user.kind == ObjKind::Comm => {
                        let f: Fn_MPI_Comm_errhandler_function = std::mem::transmute(user.func);
                        f(&mut c, &mut code);
                    }
                    Target::Win(mut w) if user.kind == ObjKind::Win => {
                        let f: Fn_MPI_Win_errhandler_function = std::mem::transmute(user.func);
                        f(&mut w, &mut code);
                    }
                    Target::File(mut fh) if user.kind == ObjKind::File => {
                        let f: Fn_MPI_File_errhandler_function = std::mem::transmute(user.func);
                        f(&mut fh, &mut code);
                        // The code the handler leaves is the call's (ROMIO's rule).
                        return code;
                    }
                    Target::Session(mut s) if user.kind == ObjKind::Session => {
                        let f: Fn_MPI_Session_errhandler_function = std::mem::transmute(user.func);
                        f(&mut s, &mut code);
                    }
                    _ => errhandler::fatal(func, &err),
                }
            }
            err.code
        }
    }
}
