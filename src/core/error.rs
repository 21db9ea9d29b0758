//! MPI errors: the error value every core function returns, the predefined
//! error classes with their messages, and user-added classes, codes and
//! strings (`MPI_Add_error_class` and friends).

use crate::core::consts::*;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::ffi::c_int;

/// An error on its way to an error handler: an MPI error code and a message
/// naming what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiError {
    pub code: c_int,
    pub msg: String,
    /// The communicator whose error handler gets the error when the call
    /// itself names none (request completion: the request's communicator).
    pub comm: Option<c_int>,
}

impl MpiError {
    pub fn new(code: c_int, msg: impl Into<String>) -> Self {
        MpiError {
            code,
            msg: msg.into(),
            comm: None,
        }
    }

    /// Route this error to `comm`'s handler when the call has no object.
    pub fn on_comm(mut self, comm: c_int) -> Self {
        self.comm.get_or_insert(comm);
        self
    }

    /// A feature that is not built yet (DESIGN.md decision 2).
    pub fn unsupported(function: &str) -> Self {
        MpiError::new(
            MPI_ERR_UNSUPPORTED_OPERATION,
            format!("{function} is not supported by this version of OxMPI"),
        )
    }

    pub fn arg(msg: impl Into<String>) -> Self {
        MpiError::new(MPI_ERR_ARG, msg)
    }
}

pub type MpiResult<T> = Result<T, MpiError>;

/// User-defined classes and codes carry this bit, which puts them above
/// `MPI_ERR_LASTCODE` as the standard requires.
const DYNAMIC: c_int = 0x4000_0000;
/// Low bits of a dynamic code that hold its class index.
const CLASS_BITS: c_int = 0x7f;
const MAX_DYNAMIC_CLASSES: c_int = CLASS_BITS;
const MAX_DYNAMIC_CODES: c_int = (DYNAMIC >> 7) - 1;

#[derive(Default)]
struct Dynamic {
    next_class: c_int,
    next_code: c_int,
    /// Class and code serial numbers given back by the remove calls, reused
    /// first so that adding and removing in a loop never runs out.
    free_classes: std::collections::BTreeSet<c_int>,
    free_codes: std::collections::BTreeSet<c_int>,
    /// Live dynamic classes and codes (code -> its class).
    codes: BTreeMap<c_int, c_int>,
    strings: BTreeMap<c_int, String>,
    last_used: c_int,
}

static DYN: Mutex<Option<Dynamic>> = Mutex::new(None);

fn with_dyn<T>(f: impl FnOnce(&mut Dynamic) -> T) -> T {
    let mut guard = DYN.lock();
    f(guard.get_or_insert_with(|| Dynamic {
        next_class: 1,
        next_code: 1,
        last_used: MPI_ERR_LASTCODE,
        ..Default::default()
    }))
}

/// The value of the `MPI_LASTUSEDCODE` attribute.
pub fn last_used_code() -> c_int {
    with_dyn(|d| d.last_used)
}

/// A serial number for a new class or code: a removed one if any, else the
/// next unused one up to `max`.
fn take_serial(
    free: &mut std::collections::BTreeSet<c_int>,
    next: &mut c_int,
    max: c_int,
    what: &str,
) -> MpiResult<c_int> {
    if let Some(s) = free.pop_first() {
        return Ok(s);
    }
    if *next > max {
        return Err(MpiError::new(
            MPI_ERR_OTHER,
            format!("no more user error {what} can be added"),
        ));
    }
    *next += 1;
    Ok(*next - 1)
}

pub fn add_error_class() -> MpiResult<c_int> {
    with_dyn(|d| {
        let serial = take_serial(
            &mut d.free_classes,
            &mut d.next_class,
            MAX_DYNAMIC_CLASSES,
            "classes",
        )?;
        let class = DYNAMIC | serial;
        d.codes.insert(class, class);
        d.last_used = d.last_used.max(class);
        Ok(class)
    })
}

pub fn add_error_code(class: c_int) -> MpiResult<c_int> {
    with_dyn(|d| {
        let known = is_predefined_class(class) || d.codes.get(&class) == Some(&class);
        if !known {
            return Err(MpiError::arg(format!("error class {class} does not exist")));
        }
        let serial = take_serial(
            &mut d.free_codes,
            &mut d.next_code,
            MAX_DYNAMIC_CODES,
            "codes",
        )?;
        // A code is its class's low bits plus a serial number above them; the
        // class of a predefined-class code is stored in the map.
        let code = DYNAMIC | (serial << 7) | (class & CLASS_BITS);
        d.codes.insert(code, class);
        d.last_used = d.last_used.max(code);
        Ok(code)
    })
}

pub fn add_error_string(code: c_int, text: &str) -> MpiResult<()> {
    if (0..=MPI_ERR_LASTCODE).contains(&code) {
        return Err(MpiError::arg(format!(
            "the string of predefined error code {code} cannot be changed"
        )));
    }
    if text.len() >= MPI_MAX_ERROR_STRING as usize {
        return Err(MpiError::arg(format!(
            "error string longer than MPI_MAX_ERROR_STRING-1 ({})",
            MPI_MAX_ERROR_STRING - 1
        )));
    }
    with_dyn(|d| {
        if !d.codes.contains_key(&code) {
            return Err(MpiError::arg(format!("error code {code} does not exist")));
        }
        d.strings.insert(code, text.to_string());
        Ok(())
    })
}

pub fn remove_error_class(class: c_int) -> MpiResult<()> {
    with_dyn(|d| {
        if d.codes.get(&class) != Some(&class) || class & DYNAMIC == 0 {
            return Err(MpiError::arg(format!(
                "error class {class} is not a user-defined class"
            )));
        }
        if d.codes
            .iter()
            .any(|(&code, &cls)| cls == class && code != class)
        {
            return Err(MpiError::arg(format!(
                "error class {class} still has error codes"
            )));
        }
        if d.strings.contains_key(&class) {
            return Err(MpiError::arg(format!(
                "error class {class} still has an error string"
            )));
        }
        d.codes.remove(&class);
        d.strings.remove(&class);
        d.free_classes.insert(class & CLASS_BITS);
        Ok(())
    })
}

pub fn remove_error_code(code: c_int) -> MpiResult<()> {
    with_dyn(|d| match d.codes.get(&code) {
        // MPI-4.1 11.5: a code's string must be removed before the code.
        Some(&class) if class != code && d.strings.contains_key(&code) => Err(MpiError::arg(
            format!("error code {code} still has an error string"),
        )),
        Some(&class) if class != code => {
            d.codes.remove(&code);
            d.strings.remove(&code);
            d.free_codes.insert((code & !DYNAMIC) >> 7);
            Ok(())
        }
        _ => Err(MpiError::arg(format!(
            "error code {code} is not a user-defined code"
        ))),
    })
}

pub fn remove_error_string(code: c_int) -> MpiResult<()> {
    with_dyn(|d| {
        if d.strings.remove(&code).is_none() {
            return Err(MpiError::arg(format!(
                "error code {code} has no user-defined string"
            )));
        }
        Ok(())
    })
}

fn is_predefined_class(class: c_int) -> bool {
    ((MPI_SUCCESS..=MPI_ERR_ERRHANDLER).contains(&class) && class != 54)
        || (MPIX_ERR_PROC_FAILED..=MPIX_ERR_NOREQ).contains(&class)
}

/// The class of an error code, or `None` if the code is not valid.
pub fn error_class(code: c_int) -> Option<c_int> {
    if is_predefined_class(code) {
        return Some(code);
    }
    with_dyn(|d| d.codes.get(&code).copied())
}

/// The message of an error code.
pub fn error_string(code: c_int) -> Option<String> {
    if let Some(s) = with_dyn(|d| d.strings.get(&code).cloned()) {
        return Some(s);
    }
    let class = error_class(code)?;
    if class & DYNAMIC != 0 {
        return Some(String::new());
    }
    Some(class_message(class).to_string())
}

/// Short description of each predefined error class.
pub fn class_message(class: c_int) -> &'static str {
    match class {
        MPI_SUCCESS => "No MPI error",
        MPI_ERR_BUFFER => "Invalid buffer pointer",
        MPI_ERR_COUNT => "Invalid count argument",
        MPI_ERR_TYPE => "Invalid datatype argument",
        MPI_ERR_TAG => "Invalid tag argument",
        MPI_ERR_COMM => "Invalid communicator",
        MPI_ERR_RANK => "Invalid rank",
        MPI_ERR_ROOT => "Invalid root",
        MPI_ERR_GROUP => "Invalid group",
        MPI_ERR_OP => "Invalid MPI_Op",
        MPI_ERR_TOPOLOGY => "Invalid topology",
        MPI_ERR_DIMS => "Invalid dimension argument",
        MPI_ERR_ARG => "Invalid argument",
        MPI_ERR_UNKNOWN => "Unknown error",
        MPI_ERR_TRUNCATE => "Message truncated",
        MPI_ERR_OTHER => "Other MPI error",
        MPI_ERR_INTERN => "Internal MPI error",
        MPI_ERR_IN_STATUS => "See the MPI_ERROR field in MPI_Status for the error code",
        MPI_ERR_PENDING => "Pending request (no error)",
        MPI_ERR_REQUEST => "Invalid MPI_Request",
        MPI_ERR_ACCESS => "Permission denied",
        MPI_ERR_AMODE => "Invalid file access mode",
        MPI_ERR_BAD_FILE => "Invalid file name",
        MPI_ERR_CONVERSION => "An error occurred in a user-defined data conversion function",
        MPI_ERR_DUP_DATAREP => "Data representation already registered",
        MPI_ERR_FILE_EXISTS => "File exists",
        MPI_ERR_FILE_IN_USE => "File in use by some process",
        MPI_ERR_FILE => "Invalid MPI_File",
        MPI_ERR_INFO => "Invalid MPI_Info",
        MPI_ERR_INFO_KEY => "Invalid key for MPI_Info",
        MPI_ERR_INFO_VALUE => "Invalid value for key in MPI_Info",
        MPI_ERR_INFO_NOKEY => "MPI_Info key is not defined",
        MPI_ERR_IO => "Other I/O error",
        MPI_ERR_NAME => "Invalid service name",
        MPI_ERR_NO_MEM => "Out of memory",
        MPI_ERR_NOT_SAME => "Objects are not identical",
        MPI_ERR_NO_SPACE => "Not enough space for file",
        MPI_ERR_NO_SUCH_FILE => "File does not exist",
        MPI_ERR_PORT => "Invalid port",
        MPI_ERR_QUOTA => "Quota exceeded for files",
        MPI_ERR_READ_ONLY => "Read-only file or filesystem",
        MPI_ERR_SERVICE => "Invalid service name",
        MPI_ERR_SPAWN => "Error in spawn call",
        MPI_ERR_UNSUPPORTED_DATAREP => "Unsupported data representation",
        MPI_ERR_UNSUPPORTED_OPERATION => "Operation not supported",
        MPI_ERR_WIN => "Invalid MPI_Win",
        MPI_ERR_BASE => "Invalid base address",
        MPI_ERR_LOCKTYPE => "Invalid lock type",
        MPI_ERR_KEYVAL => "Invalid keyval",
        MPI_ERR_RMA_CONFLICT => "Conflicting accesses to window",
        MPI_ERR_RMA_SYNC => "Wrong synchronization of RMA calls",
        MPI_ERR_SIZE => "Invalid size argument",
        MPI_ERR_DISP => "Invalid displacement argument",
        MPI_ERR_ASSERT => "Invalid assert argument",
        MPI_ERR_RMA_RANGE => "Target memory is not part of the window",
        MPI_ERR_RMA_ATTACH => "Memory cannot be attached",
        MPI_ERR_RMA_SHARED => "Memory cannot be shared",
        MPI_ERR_RMA_FLAVOR => "Passed window has incorrect flavor for the called function",
        MPI_T_ERR_MEMORY => "Out of memory (tool interface)",
        MPI_T_ERR_NOT_INITIALIZED => "The tool information interface is not initialized",
        MPI_T_ERR_CANNOT_INIT => "The tool information interface cannot be initialized now",
        MPI_T_ERR_INVALID_INDEX => "Invalid index",
        MPI_T_ERR_INVALID_ITEM => "Item index out of range",
        MPI_T_ERR_INVALID_HANDLE => "Invalid tool handle",
        MPI_T_ERR_OUT_OF_HANDLES => "No more tool handles available",
        MPI_T_ERR_OUT_OF_SESSIONS => "No more tool sessions available",
        MPI_T_ERR_INVALID_SESSION => "Invalid tool session",
        MPI_T_ERR_CVAR_SET_NOT_NOW => "Control variable cannot be set now",
        MPI_T_ERR_CVAR_SET_NEVER => "Control variable can never be set",
        MPI_T_ERR_PVAR_NO_STARTSTOP => "Performance variable cannot be started or stopped",
        MPI_T_ERR_PVAR_NO_WRITE => "Performance variable cannot be written or reset",
        MPI_T_ERR_PVAR_NO_ATOMIC => "Performance variable cannot be read and written atomically",
        MPI_T_ERR_INVALID_NAME => "Invalid variable or category name",
        MPI_T_ERR_INVALID => "Invalid use of the tool interface",
        MPI_ERR_SESSION => "Invalid session",
        MPI_ERR_PROC_ABORTED => "Operation involves an aborted process",
        MPI_ERR_VALUE_TOO_LARGE => "Value is too large to store",
        MPI_T_ERR_NOT_SUPPORTED => "Requested functionality not supported (tool interface)",
        MPI_T_ERR_NOT_ACCESSIBLE => "Requested functionality not accessible (tool interface)",
        MPI_ERR_ERRHANDLER => "Invalid error handler",
        MPIX_ERR_PROC_FAILED => "Process failure",
        MPIX_ERR_PROC_FAILED_PENDING => "Process failure caused this request to be pending",
        MPIX_ERR_REVOKED => "Communication object revoked",
        MPIX_ERR_EAGAIN => "Operation could not be issued",
        MPIX_ERR_NOREQ => "Cannot allocate request",
        _ => "Unknown error class",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_classes_codes_and_strings() {
        let class = add_error_class().unwrap();
        assert!(class > MPI_ERR_LASTCODE);
        let code = add_error_code(class).unwrap();
        assert_eq!(error_class(code), Some(class));
        assert!(last_used_code() >= code);
        add_error_string(code, "my code").unwrap();
        assert_eq!(error_string(code).unwrap(), "my code");
        assert!(add_error_string(MPI_ERR_ARG, "nope").is_err());
        assert!(remove_error_class(class).is_err(), "class still has a code");
        assert!(remove_error_code(code).is_err(), "code still has a string");
        remove_error_string(code).unwrap();
        remove_error_code(code).unwrap();
        remove_error_class(class).unwrap();
        assert_eq!(error_class(code), None);
        let builtin = add_error_code(MPI_ERR_ARG).unwrap();
        assert_eq!(error_class(builtin), Some(MPI_ERR_ARG));
    }

    #[test]
    fn removed_classes_and_codes_are_reused() {
        for _ in 0..10_000 {
            let class = add_error_class().unwrap();
            let code = add_error_code(class).unwrap();
            remove_error_code(code).unwrap();
            remove_error_class(class).unwrap();
        }
    }

    #[test]
    fn predefined_classes_have_messages() {
        for class in 0..=MPI_ERR_ERRHANDLER {
            if class == 54 {
                continue; // unused value in the MPICH ABI
            }
            assert_ne!(class_message(class), "Unknown error class", "class {class}");
        }
    }
}
