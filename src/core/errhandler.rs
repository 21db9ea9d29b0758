//! Error handlers: the predefined ones, user handlers created for
//! communicators, windows, files and sessions, and what happens when an
//! error reaches one.

use super::error::{MpiError, MpiResult};
use super::runtime;
use super::types::{MPI_Comm, MPI_Errhandler};
use crate::core::consts::*;
use crate::handles::{Kind, Table};
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What kind of object a user error handler is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjKind {
    Comm,
    Win,
    File,
    Session,
}

impl ObjKind {
    pub fn name(self) -> &'static str {
        match self {
            ObjKind::Comm => "communicator",
            ObjKind::Win => "window",
            ObjKind::File => "file",
            ObjKind::Session => "session",
        }
    }
}

/// A user error handler: the C function (kept as an address, called
/// through the ABI layer) and a reference count, because the handle stays
/// valid while an object uses it even after `MPI_Errhandler_free`.
pub struct UserErrhandler {
    pub kind: ObjKind,
    pub func: usize,
    refs: AtomicUsize,
}

static TABLE: Table<UserErrhandler> = Table::new(Kind::Errhandler);

pub fn is_predefined(h: c_int) -> bool {
    matches!(
        h,
        MPI_ERRORS_ARE_FATAL | MPI_ERRORS_RETURN | MPI_ERRORS_ABORT | MPIR_ERRORS_THROW_EXCEPTIONS
    )
}

pub fn create(kind: ObjKind, func: usize) -> c_int {
    TABLE.insert(UserErrhandler {
        kind,
        func,
        refs: AtomicUsize::new(1),
    })
}

pub fn lookup(h: c_int) -> Option<std::sync::Arc<UserErrhandler>> {
    TABLE.get(h)
}

/// Checks that `h` may be attached to an object of `kind`.
pub fn check(h: c_int, kind: ObjKind) -> MpiResult<()> {
    if is_predefined(h) {
        return Ok(());
    }
    match TABLE.get(h) {
        Some(e) if e.kind == kind => Ok(()),
        Some(e) => Err(MpiError::arg(format!(
            "error handler was created for a {}, not a {}",
            e.kind.name(),
            kind.name()
        ))),
        None => Err(MpiError::new(
            MPI_ERR_ERRHANDLER,
            format!("invalid error handler 0x{h:x}"),
        )),
    }
}

/// Take one more reference (an object now uses `h`, or `get` returned it).
pub fn retain(h: c_int) {
    if let Some(e) = TABLE.get(h) {
        e.refs.fetch_add(1, Ordering::AcqRel);
    }
}

/// Drop one reference; the handler goes away with the last one.
pub fn release(h: c_int) {
    if let Some(e) = TABLE.get(h)
        && e.refs.fetch_sub(1, Ordering::AcqRel) == 1
    {
        TABLE.remove(h);
    }
}

/// `MPI_Errhandler_free`.
pub fn free(h: c_int) -> MpiResult<()> {
    if is_predefined(h) {
        return Ok(());
    }
    if TABLE.get(h).is_none() {
        return Err(MpiError::new(
            MPI_ERR_ERRHANDLER,
            format!("invalid error handler 0x{h:x}"),
        ));
    }
    release(h);
    Ok(())
}

/// A slot holding the error handler attached to one object.
pub struct Slot(Mutex<c_int>);

impl Slot {
    pub const fn new(h: c_int) -> Self {
        Slot(Mutex::new(h))
    }

    pub fn get(&self) -> c_int {
        *self.0.lock()
    }

    /// The handler for `MPI_*_get_errhandler`: a new reference.
    pub fn get_retained(&self) -> c_int {
        let h = self.0.lock();
        retain(*h);
        *h
    }

    pub fn set(&self, h: c_int) {
        retain(h);
        let old = std::mem::replace(&mut *self.0.lock(), h);
        release(old);
    }
}

/// The default handler for files not yet opened (`MPI_FILE_NULL`'s).
pub static FILE_DEFAULT: Slot = Slot::new(MPI_ERRORS_RETURN);

/// How a fatal error is reported before the job ends.
pub fn fatal(function: &str, err: &MpiError) -> ! {
    let class = super::error::error_class(err.code).unwrap_or(err.code);
    let who = match runtime::phase() {
        runtime::Phase::Initialized => format!("rank {}", runtime::job().rank),
        _ => format!("pid {}", std::process::id()),
    };
    runtime::report(&format!(
        "{who}: fatal error in {function}: {} (error class {class}): {}",
        super::error::class_message(class),
        err.msg
    ));
    runtime::abort_job(class.clamp(1, 255), &format!("fatal error in {function}"));
}

// ---------------------------------------------------------------------------
// The error calls with typed arguments (`scripts/gen-abi` binds them by
// their `doc(alias)`).

#[doc(alias = "MPI_Error_class")]
pub fn error_class(errorcode: c_int, errorclass: &mut c_int) -> MpiResult<()> {
    *errorclass = super::error::error_class(errorcode)
        .ok_or_else(|| MpiError::arg(format!("invalid error code {errorcode}")))?;
    Ok(())
}

#[doc(alias = "MPI_Add_error_class")]
pub fn add_error_class(errorclass: &mut c_int) -> MpiResult<()> {
    *errorclass = super::error::add_error_class()?;
    Ok(())
}

#[doc(alias = "MPI_Add_error_code")]
pub fn add_error_code(errorclass: c_int, errorcode: &mut c_int) -> MpiResult<()> {
    *errorcode = super::error::add_error_code(errorclass)?;
    Ok(())
}

#[doc(alias = "MPI_Add_error_string")]
pub fn add_error_string(errorcode: c_int, string: &str) -> MpiResult<()> {
    super::error::add_error_string(errorcode, string)
}

#[doc(alias = "MPI_Errhandler_free")]
pub fn errhandler_free(errhandler: &mut MPI_Errhandler) -> MpiResult<()> {
    free(*errhandler)?;
    *errhandler = MPI_ERRHANDLER_NULL;
    Ok(())
}

#[doc(alias = "MPI_Comm_set_errhandler")]
pub fn comm_set_errhandler(comm: MPI_Comm, errhandler: MPI_Errhandler) -> MpiResult<()> {
    let comm = super::comm::get(comm)?;
    check(errhandler, ObjKind::Comm)?;
    comm.errhandler.set(errhandler);
    Ok(())
}

#[doc(alias = "MPI_Comm_get_errhandler")]
pub fn comm_get_errhandler(comm: MPI_Comm, errhandler: &mut MPI_Errhandler) -> MpiResult<()> {
    *errhandler = super::comm::get(comm)?.errhandler.get_retained();
    Ok(())
}
