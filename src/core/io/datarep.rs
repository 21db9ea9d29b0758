//! Data representations (MPI-4.1 section 14.5): how values look in the
//! file. `native` and `internal` are memory's bytes; `external32` is
//! big-endian at the standard's sizes (our datatype engine converts);
//! user representations (`MPI_Register_datarep`) convert through the
//! program's callbacks.
//!
//! The view keeps the file's layout in native sizes, so a representation
//! is accepted for a view only where its file sizes equal the native ones
//! (for `external32`: every type but C `long`/`unsigned long` and
//! `wchar_t`); the others give `MPI_ERR_UNSUPPORTED_DATAREP`.

use crate::core::callbacks::{
    Fn_MPI_Datarep_conversion_function, Fn_MPI_Datarep_conversion_function_c,
    Fn_MPI_Datarep_extent_function,
};
use crate::core::consts::*;
use crate::core::datatype::{self, Datatype, external32};
use crate::core::error::{MpiError, MpiResult};
use crate::core::types::{MPI_Aint, MPI_Datatype};
use parking_lot::Mutex;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// A representation registered by the program.
pub struct UserRep {
    read: usize,
    write: usize,
    extent: usize,
    extra: usize,
    /// Registered by `MPI_Register_datarep_c` (counts are `MPI_Count`).
    large: bool,
}

/// A view's representation.
#[derive(Clone)]
pub enum Rep {
    Native,
    External32,
    User(Arc<UserRep>),
}

static REGISTERED: Mutex<Vec<(String, Arc<UserRep>)>> = Mutex::new(Vec::new());

/// The representation called `name`, usable for a view of `types`.
pub fn for_view(name: &str, types: &[&Datatype]) -> MpiResult<Rep> {
    let rep = match name {
        "native" | "internal" => return Ok(Rep::Native),
        "external32" => Rep::External32,
        _ => REGISTERED
            .lock()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| Rep::User(r.clone()))
            .ok_or_else(|| {
                MpiError::new(
                    MPI_ERR_UNSUPPORTED_DATAREP,
                    format!(
                        "unknown data representation '{name}' (native, internal, external32 or \
                         one registered with MPI_Register_datarep)"
                    ),
                )
            })?,
    };
    for t in types {
        rep.same_size(t, name)?;
    }
    Ok(rep)
}

impl Rep {
    /// Refuse `t` when its file size differs from its size in memory.
    pub fn same_size(&self, t: &Datatype, name: &str) -> MpiResult<()> {
        let differs = match self {
            Rep::Native => false,
            Rep::External32 => external32::size(t) != t.size(),
            Rep::User(u) => {
                let mut differs = false;
                let mut failed = None;
                t.node.leaves(0, &mut |_, basic, _| {
                    match u.file_extent(basic) {
                        Ok(e) => differs |= datatype::get(basic).map_or(true, |b| b.size() != e),
                        Err(e) => failed = Some(e),
                    }
                    failed.is_none() && !differs
                });
                if let Some(e) = failed {
                    return Err(e);
                }
                differs
            }
        };
        if differs {
            return Err(MpiError::new(
                MPI_ERR_UNSUPPORTED_DATAREP,
                format!(
                    "data representation '{name}' stores a type of this view or buffer at another \
                     size than memory; this version of OxMPI supports such representations only \
                     for types of equal size"
                ),
            ));
        }
        Ok(())
    }

    /// The file bytes of `count` elements of `t` at `buf` (`bytes` of
    /// them).
    pub fn encode(
        &self,
        (t, dt): (&Datatype, MPI_Datatype),
        buf: usize,
        count: i64,
        bytes: usize,
    ) -> MpiResult<Vec<u8>> {
        let mut out = vec![0u8; bytes];
        match self {
            Rep::Native => unreachable!("native data is packed by the caller"),
            // SAFETY: the caller checked the buffer holds `count` elements.
            Rep::External32 => unsafe { external32::pack(t, buf, count, &mut out) },
            Rep::User(u) if u.write == 0 => {
                // SAFETY: as above.
                unsafe { datatype::pack(t, buf, count, &mut out) }
            }
            Rep::User(u) => u.convert(u.write, dt, buf, count, &mut out)?,
        }
        Ok(out)
    }

    /// Store `data` (whole elements of `t` in the file's form) into the
    /// buffer at `buf`.
    pub fn decode(
        &self,
        (t, dt): (&Datatype, MPI_Datatype),
        data: &mut [u8],
        buf: usize,
    ) -> MpiResult<()> {
        let count = if t.size() == 0 {
            0
        } else {
            data.len() as i64 / t.size()
        };
        match self {
            Rep::Native => unreachable!("native data is unpacked by the caller"),
            // SAFETY: the caller checked the buffer holds the elements.
            Rep::External32 => unsafe { external32::unpack(t, data, buf, count) },
            Rep::User(u) if u.read == 0 => {
                // SAFETY: as above.
                unsafe { datatype::unpack(t, data, buf, count) }
            }
            Rep::User(u) => u.convert(u.read, dt, buf, count, data)?,
        }
        Ok(())
    }
}

impl UserRep {
    fn file_extent(&self, basic: MPI_Datatype) -> MpiResult<i64> {
        let mut extent: MPI_Aint = 0;
        // SAFETY: the program registered this address as an
        // MPI_Datarep_extent_function.
        let rc = unsafe {
            let f: Fn_MPI_Datarep_extent_function = std::mem::transmute(self.extent);
            f(basic, &mut extent, self.extra as *mut c_void)
        };
        callback_result(rc, "the data representation's extent function")?;
        Ok(extent)
    }

    /// Call conversion function `f` on `count` elements of `t`.
    fn convert(
        &self,
        f: usize,
        dt: MPI_Datatype,
        buf: usize,
        count: i64,
        file: &mut [u8],
    ) -> MpiResult<()> {
        let user = buf as *mut c_void;
        let filebuf = file.as_mut_ptr().cast::<c_void>();
        let extra = self.extra as *mut c_void;
        // SAFETY: the program registered `f` as a conversion function of
        // the kind `large` says; the buffers hold `count` elements.
        let rc = unsafe {
            if self.large {
                let f: Fn_MPI_Datarep_conversion_function_c = std::mem::transmute(f);
                f(user, dt, count, filebuf, 0, extra)
            } else {
                let f: Fn_MPI_Datarep_conversion_function = std::mem::transmute(f);
                f(user, dt, count as c_int, filebuf, 0, extra)
            }
        };
        callback_result(rc, "the data representation's conversion function")
    }
}

fn callback_result(rc: c_int, what: &str) -> MpiResult<()> {
    if rc == MPI_SUCCESS {
        Ok(())
    } else {
        Err(MpiError::new(rc, format!("{what} returned error {rc}")))
    }
}

#[doc(alias = "MPI_Register_datarep")]
#[doc(alias = "MPI_Register_datarep_c")]
pub fn register_datarep(
    datarep: &str,
    read_conversion_fn: usize,
    write_conversion_fn: usize,
    dtype_file_extent_fn: usize,
    extra_state: usize,
    large: bool,
) -> MpiResult<()> {
    let name = datarep;
    if name.is_empty() || name.len() >= MPI_MAX_DATAREP_STRING as usize {
        return Err(MpiError::new(
            MPI_ERR_ARG,
            format!("invalid data representation name '{name}'"),
        ));
    }
    let mut reg = REGISTERED.lock();
    if ["native", "internal", "external32"].contains(&name) || reg.iter().any(|(n, _)| n == name) {
        return Err(MpiError::new(
            MPI_ERR_DUP_DATAREP,
            format!("data representation '{name}' is already defined"),
        ));
    }
    if dtype_file_extent_fn == 0 {
        return Err(MpiError::new(
            MPI_ERR_ARG,
            "a data representation needs an extent function",
        ));
    }
    reg.push((
        name.to_string(),
        Arc::new(UserRep {
            read: read_conversion_fn,
            write: write_conversion_fn,
            extent: dtype_file_extent_fn,
            extra: extra_state,
            large,
        }),
    ));
    Ok(())
}
