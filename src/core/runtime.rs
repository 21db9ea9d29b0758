//! Library state: initialization and finalization of the world model and
//! of sessions (MPI-4), the job this process belongs to, the thread level,
//! and abort.
//!
//! The first of `MPI_Init` and `MPI_Session_init` joins the job and starts
//! the transport; it stays up while the world model or any session is
//! active. `MPI_Finalize` with no session left leaves the job at once (a
//! PMI barrier makes that collective); otherwise the process leaves it
//! when it exits.

use super::args::StrOut;
use super::error::{MpiError, MpiResult};
use super::p2p;
use crate::core::consts::*;
use crate::pmi::{Bootstrap, JobInfo};
use parking_lot::Mutex;
use std::ffi::c_int;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicUsize, Ordering};
use std::thread::ThreadId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Uninitialized = 0,
    Initialized = 1,
    Finalized = 2,
}

static PHASE: AtomicU8 = AtomicU8::new(Phase::Uninitialized as u8);
static THREAD_LEVEL: AtomicI32 = AtomicI32::new(MPI_THREAD_SINGLE);
static MAIN_THREAD: OnceLock<ThreadId> = OnceLock::new();
static JOB: OnceLock<JobInfo> = OnceLock::new();
/// Serializes init and finalize, and owns the bootstrap connection.
static BOOT: Mutex<Option<Bootstrap>> = Mutex::new(None);
/// Sessions initialized and not yet finalized.
static SESSIONS: AtomicUsize = AtomicUsize::new(0);
/// The port the processes that spawned this job accept on.
static PARENT_PORT: OnceLock<String> = OnceLock::new();
/// Its key in the key-value space (MPICH's name, so Hydra jobs agree).
pub const PARENT_PORT_KEY: &str = "PARENT_ROOT_PORT_NAME";
/// The process has left the job (no restart is possible).
static LEFT: AtomicBool = AtomicBool::new(false);

pub fn phase() -> Phase {
    match PHASE.load(Ordering::Acquire) {
        0 => Phase::Uninitialized,
        1 => Phase::Initialized,
        _ => Phase::Finalized,
    }
}

/// The world model or a session is active: communication works.
pub fn active() -> bool {
    phase() == Phase::Initialized || SESSIONS.load(Ordering::Acquire) > 0
}

/// Fails unless the world model or a session is active.
pub fn require_initialized(function: &str) -> MpiResult<()> {
    if active() {
        return Ok(());
    }
    match phase() {
        Phase::Initialized => Ok(()),
        Phase::Uninitialized => Err(MpiError::new(
            MPI_ERR_OTHER,
            format!("{function} was called before MPI_Init, MPI_Init_thread or MPI_Session_init"),
        )),
        Phase::Finalized => Err(MpiError::new(
            MPI_ERR_OTHER,
            format!("{function} was called after MPI_Finalize"),
        )),
    }
}

/// The job this process belongs to (valid once initialized).
pub fn job() -> &'static JobInfo {
    JOB.get().expect("job info read before MPI_Init")
}

pub fn thread_level() -> c_int {
    THREAD_LEVEL.load(Ordering::Relaxed)
}

pub fn is_main_thread() -> bool {
    MAIN_THREAD.get() == Some(&std::thread::current().id())
}

/// `MPI_Init_thread`: bootstrap into the job and return the provided level.
/// Every level up to `MPI_THREAD_MULTIPLE` is provided as asked.
pub fn init(required: c_int) -> MpiResult<c_int> {
    let mut boot = BOOT.lock();
    match phase() {
        Phase::Initialized => {
            return Err(MpiError::new(MPI_ERR_OTHER, "MPI is already initialized"));
        }
        Phase::Finalized => {
            return Err(MpiError::new(
                MPI_ERR_OTHER,
                "MPI cannot be initialized again after MPI_Finalize",
            ));
        }
        Phase::Uninitialized => {}
    }
    if !(MPI_THREAD_SINGLE..=MPI_THREAD_MULTIPLE).contains(&required) {
        return Err(MpiError::arg(format!("invalid thread level {required}")));
    }
    join(&mut boot)?;
    let _ = MAIN_THREAD.set(std::thread::current().id());
    THREAD_LEVEL.store(required, Ordering::Relaxed);
    PHASE.store(Phase::Initialized as u8, Ordering::Release);
    drop(boot);
    // A spawned job connects to its parents before MPI_Init returns.
    if let Some(port) = PARENT_PORT.get() {
        super::dpm::connect_parent(port).map_err(|e| {
            MpiError::new(
                e.code,
                format!(
                    "cannot connect to the processes that spawned this job: {}",
                    e.msg
                ),
            )
        })?;
    }
    Ok(required)
}

/// Join the job and start the transport, unless done already.
fn join(boot: &mut Option<Bootstrap>) -> MpiResult<()> {
    if boot.is_some() {
        return Ok(());
    }
    if LEFT.load(Ordering::Acquire) {
        return Err(MpiError::new(
            MPI_ERR_OTHER,
            "this process has left the job (MPI_Finalize): MPI cannot start again",
        ));
    }
    let (mut bootstrap, info) = Bootstrap::connect().map_err(|e| {
        MpiError::new(
            MPI_ERR_OTHER,
            format!("cannot join the job through PMI: {e}"),
        )
    })?;
    let (started, job_id) = match &mut bootstrap {
        // Starting the transports is collective (PMI barriers), so everyone
        // is connected before anyone starts communicating. The job's id
        // rides on the same barriers: rank 0 draws it before them.
        Bootstrap::Pmi(pmi) => {
            let start_err =
                |e| MpiError::new(MPI_ERR_OTHER, format!("cannot start the transports: {e}"));
            if info.rank == 0 {
                pmi.put("oxmpi-job", &super::procs::new_job_id().to_string())
                    .map_err(start_err)?;
            }
            let started = crate::transport::start(pmi, info.rank as usize, info.size as usize)
                .map_err(start_err)?;
            let job = pmi.get("oxmpi-job").map_err(start_err)?;
            (started, job.parse().unwrap_or(1))
        }
        Bootstrap::Singleton => (
            crate::transport::Started {
                transports: Vec::new(),
                node: None,
            },
            super::procs::new_job_id(),
        ),
    };
    super::procs::start(job_id, info.size as usize);
    // Spawned by MPI_Comm_spawn: the launcher put the parents' port in our
    // key-value space.
    if let Bootstrap::Pmi(pmi) = &mut bootstrap
        && info.spawned
        && let Ok(port) = pmi.get(PARENT_PORT_KEY)
    {
        let _ = PARENT_PORT.set(port);
    }
    super::shmcoll::attach(started.node);
    p2p::start(info.rank as usize, info.size as usize, started.transports);
    // MPI_COMM_WORLD's collective algorithms (every other communicator
    // agrees on its own when it is made).
    if let Bootstrap::Pmi(pmi) = &mut bootstrap {
        super::algorithms::agree_world(pmi, info.rank as usize, info.size as usize).map_err(
            |e| {
                MpiError::new(
                    MPI_ERR_OTHER,
                    format!("cannot agree on collective algorithms: {e}"),
                )
            },
        )?;
    }
    let _ = JOB.set(info);
    *boot = Some(bootstrap);
    // A process that ends with sessions still open (or that used only
    // sessions) leaves the job when it exits.
    // SAFETY: registering a plain function with no captured state.
    unsafe { libc::atexit(leave_at_exit) };
    Ok(())
}

/// Run `f` over the launcher's PMI connection (spawning, the name
/// service). A singleton first starts a launcher of its own, the `mpiexec`
/// installed beside this library, which from then on serves it as a job
/// of one.
pub fn with_launcher<T>(
    what: &str,
    f: impl FnOnce(&mut crate::pmi::Pmi) -> std::io::Result<T>,
) -> MpiResult<T> {
    let mut boot = BOOT.lock();
    if matches!(*boot, Some(Bootstrap::Singleton)) {
        let exe = own_mpiexec()?;
        let (pmi, _) = crate::pmi::Pmi::start_server(&exe, std::process::id()).map_err(|e| {
            MpiError::new(
                MPI_ERR_OTHER,
                format!("{what} needs a launcher, and this singleton cannot start one: {e}"),
            )
        })?;
        *boot = Some(Bootstrap::Pmi(pmi));
    }
    match boot.as_mut() {
        Some(Bootstrap::Pmi(pmi)) => f(pmi)
            .map_err(|e| MpiError::new(MPI_ERR_OTHER, format!("{what}: the launcher failed: {e}"))),
        _ => Err(MpiError::new(
            MPI_ERR_OTHER,
            format!("{what}: this process has left the job"),
        )),
    }
}

/// The `mpiexec` of this installation: `../bin/mpiexec` from the directory
/// this library was loaded from.
fn own_mpiexec() -> MpiResult<std::path::PathBuf> {
    // SAFETY: dladdr only reads the address and fills the struct we own;
    // dli_fname, when set, is a NUL-terminated path owned by the loader.
    let lib = unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let here = own_mpiexec as *const libc::c_void;
        (libc::dladdr(here, &mut info) != 0 && !info.dli_fname.is_null()).then(|| {
            std::ffi::CStr::from_ptr(info.dli_fname)
                .to_string_lossy()
                .into_owned()
        })
    };
    let lib = lib.map(|l| std::fs::canonicalize(&l).unwrap_or_else(|_| l.into()));
    let exe = lib
        .as_deref()
        .and_then(|l| l.parent()?.parent().map(|p| p.join("bin").join("mpiexec")));
    match exe {
        Some(e) if e.is_file() => Ok(e),
        _ => Err(MpiError::new(
            MPI_ERR_OTHER,
            format!(
                "cannot find the mpiexec of this installation (looked beside {})",
                lib.map_or("the library".into(), |l| l.display().to_string())
            ),
        )),
    }
}

extern "C" fn leave_at_exit() {
    // A world-model program that exits without MPI_Finalize has not left
    // the job properly, and the launcher should hear that.
    if phase() == Phase::Initialized {
        return;
    }
    if let Some(mut boot) = BOOT.try_lock_for(std::time::Duration::from_secs(1)) {
        leave(&mut boot, false);
    }
}

/// Leave the job: push out what is still queued, then tell the launcher
/// (after a barrier with every process when `together`).
fn leave(boot: &mut Option<Bootstrap>, together: bool) -> Option<MpiError> {
    if LEFT.swap(true, Ordering::AcqRel) || boot.is_none() {
        return None;
    }
    // Messages still queued (acknowledgements, buffered sends) go out first.
    p2p::engine().flush(std::time::Duration::from_secs(10));
    if let Some(Bootstrap::Pmi(pmi)) = boot.as_mut() {
        if together && let Err(e) = pmi.barrier() {
            return Some(MpiError::new(
                MPI_ERR_OTHER,
                format!("PMI barrier failed: {e}"),
            ));
        }
        if let Err(e) = pmi.finalize() {
            return Some(MpiError::new(
                MPI_ERR_OTHER,
                format!("PMI finalize failed: {e}"),
            ));
        }
    }
    None
}

/// `MPI_Session_init`: join the job if need be; the thread level provided
/// is `MPI_THREAD_MULTIPLE`.
pub fn session_init() -> MpiResult<()> {
    let mut boot = BOOT.lock();
    join(&mut boot)?;
    THREAD_LEVEL.fetch_max(MPI_THREAD_MULTIPLE, Ordering::Relaxed);
    SESSIONS.fetch_add(1, Ordering::AcqRel);
    Ok(())
}

/// `MPI_Session_finalize`: the session's messages go out before it ends.
pub fn session_finalize() {
    let _boot = BOOT.lock();
    p2p::engine().flush(std::time::Duration::from_secs(10));
    SESSIONS.fetch_sub(1, Ordering::AcqRel);
}

/// `MPI_Finalize`: leave the job. The PMI barrier makes it collective, as
/// MPI requires, so no rank tears down while a peer still talks to it.
pub fn finalize() -> MpiResult<()> {
    let mut boot = BOOT.lock();
    if phase() != Phase::Initialized {
        return require_initialized("MPI_Finalize").and(Err(MpiError::new(
            MPI_ERR_OTHER,
            "MPI_Finalize was called without MPI_Init",
        )));
    }
    super::comm::finalize_attrs()?;
    let failed = if SESSIONS.load(Ordering::Acquire) == 0 {
        leave(&mut boot, true)
    } else {
        p2p::engine().flush(std::time::Duration::from_secs(10));
        None
    };
    PHASE.store(Phase::Finalized as u8, Ordering::Release);
    failed.map_or(Ok(()), Err)
}

/// Print one diagnostic line to stderr with a single write, so lines of
/// ranks sharing the launcher's output never interleave mid-line.
pub fn report(msg: &str) {
    let line = format!("[oxmpi] {msg}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `MPI_Abort`: end the processes of `comm` (an invalid communicator still
/// aborts: the user asked to stop). Those of other jobs (connected or
/// spawned) are killed first, since our launcher does not reach them all;
/// then our own job ends, as MPICH does.
#[doc(alias = "MPI_Abort")]
pub fn abort(comm: c_int, errorcode: c_int) -> ! {
    let who = match phase() {
        Phase::Initialized => {
            let c = super::comm::lookup(comm);
            if let Some(c) = &c {
                super::dpm::kill_far(c);
            }
            let name = c
                .map(|c| c.name.lock().clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("0x{comm:x}"));
            format!("rank {} called MPI_Abort({name}, {errorcode})", job().rank)
        }
        _ => format!("MPI_Abort({errorcode}) called outside of MPI_Init/MPI_Finalize"),
    };
    report(&format!("{who}: aborting the job"));
    abort_job(errorcode, &who)
}

/// End the whole job with `code`: tell the launcher, then exit. Never returns.
pub fn abort_job(code: c_int, msg: &str) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // try_lock: abort may be called from an error handler while another
    // thread sits in init or finalize.
    if let Some(mut boot) = BOOT.try_lock_for(std::time::Duration::from_millis(200))
        && let Some(Bootstrap::Pmi(pmi)) = boot.as_mut()
    {
        let _ = pmi.abort(code, msg);
        // Give the launcher a moment to kill the job with our code before
        // we exit on our own.
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // Nothing to leave properly at exit.
    LEFT.store(true, Ordering::Release);
    // The low 8 bits are all a process exit status can carry.
    std::process::exit(code & 0xff);
}

/// Seconds since an arbitrary point fixed for the life of the machine, so
/// processes on one node agree.
#[doc(alias = "MPI_Wtime")]
pub fn wtime() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[doc(alias = "MPI_Wtick")]
pub fn wtick() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_getres writes the timespec we own.
    unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9).max(1e-9)
}

/// The host name, as `MPI_Get_processor_name` reports it.
pub fn processor_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

// ---------------------------------------------------------------------------
// The environment queries with typed arguments (`scripts/gen-abi` binds
// them by their `doc(alias)`).

#[doc(alias = "MPI_Initialized")]
pub fn initialized(flag: &mut c_int) -> MpiResult<()> {
    *flag = c_int::from(phase() != Phase::Uninitialized);
    Ok(())
}

#[doc(alias = "MPI_Finalized")]
pub fn finalized(flag: &mut c_int) -> MpiResult<()> {
    *flag = c_int::from(phase() == Phase::Finalized);
    Ok(())
}

#[doc(alias = "MPI_Query_thread")]
pub fn query_thread(provided: &mut c_int) -> MpiResult<()> {
    *provided = thread_level();
    Ok(())
}

#[doc(alias = "MPI_Is_thread_main")]
pub fn is_thread_main(flag: &mut c_int) -> MpiResult<()> {
    *flag = c_int::from(is_main_thread());
    Ok(())
}

#[doc(alias = "MPI_Get_version")]
pub fn get_version(version: &mut c_int, subversion: &mut c_int) -> MpiResult<()> {
    (*version, *subversion) = (MPI_VERSION, MPI_SUBVERSION);
    Ok(())
}

/// The string `MPI_Get_library_version` reports.
pub fn library_version() -> String {
    format!(
        "OxMPI {} (MPI {}.{}, MPICH ABI compatible: libmpi.so.12)",
        env!("CARGO_PKG_VERSION"),
        MPI_VERSION,
        MPI_SUBVERSION
    )
}

#[doc(alias = "MPI_Get_library_version")]
pub fn get_library_version(mut version: StrOut<'_>, resultlen: &mut c_int) -> MpiResult<()> {
    *resultlen = version.write(&library_version());
    Ok(())
}

#[doc(alias = "MPI_Get_processor_name")]
pub fn get_processor_name(mut name: StrOut<'_>, resultlen: &mut c_int) -> MpiResult<()> {
    *resultlen = name.write(&processor_name());
    Ok(())
}
