//! Info objects: ordered string key/value lists, and `MPI_INFO_ENV`.

use super::error::{MpiError, MpiResult};
use super::runtime;
use super::types::MPI_Info;
use crate::core::consts::*;
use crate::handles::{Kind, Table};
use parking_lot::Mutex;
use std::ffi::c_int;
use std::sync::{Arc, OnceLock};

#[derive(Default)]
pub struct Info {
    entries: Mutex<Vec<(String, String)>>,
}

static TABLE: Table<Info> = Table::new(Kind::Info);
static ENV: OnceLock<Arc<Info>> = OnceLock::new();

impl Info {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Info {
            entries: Mutex::new(pairs),
        }
    }

    pub fn set(&self, key: &str, value: &str) -> MpiResult<()> {
        check_key(key)?;
        if value.is_empty() || value.len() > MPI_MAX_INFO_VAL as usize {
            return Err(MpiError::new(
                MPI_ERR_INFO_VALUE,
                format!(
                    "info value must have 1 to MPI_MAX_INFO_VAL ({MPI_MAX_INFO_VAL}) characters"
                ),
            ));
        }
        let mut e = self.entries.lock();
        match e.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => e.push((key.to_string(), value.to_string())),
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> MpiResult<Option<String>> {
        check_key(key)?;
        Ok(self
            .entries
            .lock()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone()))
    }

    pub fn delete(&self, key: &str) -> MpiResult<()> {
        check_key(key)?;
        let mut e = self.entries.lock();
        let pos = e.iter().position(|(k, _)| k == key).ok_or_else(|| {
            MpiError::new(MPI_ERR_INFO_NOKEY, format!("info key '{key}' is not set"))
        })?;
        e.remove(pos);
        Ok(())
    }

    pub fn nkeys(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn nth_key(&self, n: c_int) -> MpiResult<String> {
        let e = self.entries.lock();
        usize::try_from(n)
            .ok()
            .and_then(|n| e.get(n))
            .map(|(k, _)| k.clone())
            .ok_or_else(|| {
                MpiError::arg(format!(
                    "info key index {n} is out of range (the object has {} keys)",
                    e.len()
                ))
            })
    }

    pub fn pairs(&self) -> Vec<(String, String)> {
        self.entries.lock().clone()
    }
}

fn check_key(key: &str) -> MpiResult<()> {
    if key.is_empty() || key.len() > MPI_MAX_INFO_KEY as usize {
        return Err(MpiError::new(
            MPI_ERR_INFO_KEY,
            format!(
                "info key must have 1 to MPI_MAX_INFO_KEY ({MPI_MAX_INFO_KEY}) characters, got {}",
                key.len()
            ),
        ));
    }
    Ok(())
}

pub fn create(info: Info) -> c_int {
    TABLE.insert(info)
}

/// The info object behind a handle (`MPI_INFO_ENV` included).
pub fn get(handle: c_int) -> MpiResult<Arc<Info>> {
    if handle == MPI_INFO_ENV {
        return Ok(ENV
            .get_or_init(|| Arc::new(Info::from_pairs(env_pairs(None))))
            .clone());
    }
    TABLE.get(handle).ok_or_else(|| {
        if handle == MPI_INFO_NULL {
            MpiError::new(
                MPI_ERR_INFO,
                "MPI_INFO_NULL is not a valid info object here",
            )
        } else {
            MpiError::new(MPI_ERR_INFO, format!("invalid info object 0x{handle:x}"))
        }
    })
}

pub fn free(handle: c_int) -> MpiResult<()> {
    if handle == MPI_INFO_ENV {
        return Err(MpiError::new(MPI_ERR_INFO, "MPI_INFO_ENV cannot be freed"));
    }
    TABLE
        .remove(handle)
        .map(|_| ())
        .ok_or_else(|| MpiError::new(MPI_ERR_INFO, format!("invalid info object 0x{handle:x}")))
}

/// The keys of `MPI_INFO_ENV` (MPI-4.1 section 11.4): how this process was
/// started, identical whatever the library state (`thread_level`, which
/// would change with `MPI_Init_thread`, is left out). `argv` overrides the
/// command line read from the OS.
pub fn env_pairs(argv: Option<Vec<String>>) -> Vec<(String, String)> {
    let args = argv.unwrap_or_else(|| std::env::args().collect());
    let mut out = Vec::new();
    if let Some(cmd) = args.first() {
        out.push(("command".into(), cmd.clone()));
    }
    if args.len() > 1 {
        out.push(("argv".into(), args[1..].join(" ")));
    }
    // The same answer before, during and after MPI_Init: the launcher's
    // process count, or 1 for a singleton.
    let maxprocs = std::env::var("PMI_SIZE")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1);
    out.push(("maxprocs".into(), maxprocs.to_string()));
    out.push(("host".into(), runtime::processor_name()));
    out.push(("arch".into(), std::env::consts::ARCH.into()));
    if let Ok(dir) = std::env::current_dir() {
        out.push(("wdir".into(), dir.display().to_string()));
    }
    out
}

// ---------------------------------------------------------------------------
// The info calls with typed arguments (`scripts/gen-abi` binds them by their
// `doc(alias)`).

/// `MPI_INFO_ENV` is read-only.
fn writable(info: MPI_Info) -> MpiResult<Arc<Info>> {
    let obj = get(info)?;
    if info == MPI_INFO_ENV {
        return Err(MpiError::new(
            MPI_ERR_INFO,
            "MPI_INFO_ENV cannot be modified",
        ));
    }
    Ok(obj)
}

#[doc(alias = "MPI_Info_create")]
pub fn info_create(info: &mut MPI_Info) -> MpiResult<()> {
    *info = create(Info::default());
    Ok(())
}

#[doc(alias = "MPI_Info_set")]
pub fn info_set(info: MPI_Info, key: &str, value: &str) -> MpiResult<()> {
    writable(info)?.set(key, value)
}

#[doc(alias = "MPI_Info_delete")]
pub fn info_delete(info: MPI_Info, key: &str) -> MpiResult<()> {
    writable(info)?.delete(key)
}

#[doc(alias = "MPI_Info_get_valuelen")]
pub fn info_get_valuelen(
    info: MPI_Info,
    key: &str,
    valuelen: &mut c_int,
    flag: &mut c_int,
) -> MpiResult<()> {
    let found = get(info)?.get(key)?;
    *flag = c_int::from(found.is_some());
    if let Some(v) = found {
        *valuelen = v.len() as c_int;
    }
    Ok(())
}

#[doc(alias = "MPI_Info_get_nkeys")]
pub fn info_get_nkeys(info: MPI_Info, nkeys: &mut c_int) -> MpiResult<()> {
    *nkeys = get(info)?.nkeys() as c_int;
    Ok(())
}

#[doc(alias = "MPI_Info_dup")]
pub fn info_dup(info: MPI_Info, newinfo: &mut MPI_Info) -> MpiResult<()> {
    *newinfo = create(Info::from_pairs(get(info)?.pairs()));
    Ok(())
}

#[doc(alias = "MPI_Info_free")]
pub fn info_free(info: &mut MPI_Info) -> MpiResult<()> {
    free(*info)?;
    *info = MPI_INFO_NULL;
    Ok(())
}
