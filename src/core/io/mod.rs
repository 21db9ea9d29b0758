//! MPI-IO (MPI-4.1 chapter 14): files a group of processes opens together,
//! their views, and data access through explicit offsets, individual file
//! pointers and the shared file pointer.
//!
//! Every member opens the file itself (the lowest rank creates it first)
//! and reads and writes it with positioned POSIX calls: a view turns an
//! access into the file's byte ranges (`view::View::runs`), memory is
//! packed or unpacked by the datatype engine. The shared file pointer is
//! a counter in a small shared segment of the members. Collective calls
//! may go through aggregators (`twophase`). Independent nonblocking
//! calls are moved by the I/O thread (`worker`); collective ones, and
//! split collectives (which keep the status for their `_end`), move
//! their bytes when started.
//!
//! `MPI_File` is a pointer in the MPICH ABI; ours carry the file's table
//! handle (a nonzero integer), which is also its Fortran handle.

pub mod access;
pub mod datarep;
pub mod twophase;
pub mod view;
pub mod worker;

use super::args::StrOut;
use super::coll::{self, Red};
use super::comm::{self, Comm};
use super::consts::*;
use super::errhandler::{self, Slot};
use super::error::{MpiError, MpiResult};
use super::group;
use super::info;
use super::request::Status;
use super::sched;
use super::types::{
    ADIOI_FileD, MPI_Comm, MPI_Datatype, MPI_Errhandler, MPI_File, MPI_Fint, MPI_Group, MPI_Info,
};
use crate::handles::{Kind, Table};
use parking_lot::{Mutex, RwLock};
use std::ffi::c_int;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use twophase::Settings;
use view::View;

/// One open file, as a member sees it.
pub struct File {
    handle: c_int,
    /// A private copy of the communicator it was opened on.
    comm: Arc<Comm>,
    path: PathBuf,
    amode: c_int,
    fd: std::fs::File,
    view: RwLock<View>,
    /// The individual file pointer, in etypes of the view.
    pos: Mutex<i64>,
    /// The shared file pointer: a counter (etypes of the view).
    shared: SharedPtr,
    atomic: AtomicBool,
    pub errhandler: Slot,
    hints: Mutex<Vec<(String, String)>>,
    /// What the hints choose for reads and for writes (collective
    /// buffering, sieving), worked out when they change.
    settings: Mutex<[Settings; 2]>,
    /// The status a split collective's `_begin` left for its `_end`.
    split: Mutex<Option<Status>>,
    /// Buffers two-phase access keeps between calls.
    scratch: twophase::Pool,
}

static FILES: Table<File> = Table::new(Kind::File);

fn to_ptr(h: c_int) -> MPI_File {
    h as u32 as usize as *mut ADIOI_FileD
}

fn from_ptr(f: MPI_File) -> c_int {
    f as usize as u32 as c_int
}

/// The file behind a handle.
pub fn get(fh: MPI_File) -> MpiResult<Arc<File>> {
    if fh.is_null() {
        return Err(MpiError::new(
            MPI_ERR_FILE,
            "MPI_FILE_NULL is not a valid file here",
        ));
    }
    FILES
        .get(from_ptr(fh))
        .filter(|_| (fh as usize) >> 32 == 0)
        .ok_or_else(|| MpiError::new(MPI_ERR_FILE, format!("invalid file handle {fh:p}")))
}

/// The error handler of file `fh` (`None`: no such file).
pub fn errhandler_of(fh: MPI_File) -> Option<c_int> {
    get(fh).ok().map(|f| f.errhandler.get())
}

/// Run `f` on the error-handler slot of `fh`: the file's own, or for
/// `MPI_FILE_NULL` the default that files opened later start with.
pub fn with_errhandler<R>(fh: MPI_File, f: impl FnOnce(&Slot) -> R) -> MpiResult<R> {
    if fh.is_null() {
        return Ok(f(&errhandler::FILE_DEFAULT));
    }
    Ok(f(&get(fh)?.errhandler))
}

#[doc(alias = "MPI_File_set_errhandler")]
pub fn file_set_errhandler(file: MPI_File, errhandler: MPI_Errhandler) -> MpiResult<()> {
    errhandler::check(errhandler, errhandler::ObjKind::File)?;
    with_errhandler(file, |s| s.set(errhandler))
}

#[doc(alias = "MPI_File_get_errhandler")]
pub fn file_get_errhandler(file: MPI_File, errhandler: &mut MPI_Errhandler) -> MpiResult<()> {
    *errhandler = with_errhandler(file, Slot::get_retained)?;
    Ok(())
}

/// `MPI_File_c2f`: the Fortran handle (0 for `MPI_FILE_NULL` and for
/// anything that is not an open file).
pub fn to_fint(fh: MPI_File) -> MPI_Fint {
    get(fh).map_or(0, |f| f.handle)
}

/// `MPI_File_f2c`.
pub fn from_fint(f: MPI_Fint) -> MPI_File {
    FILES
        .get(f)
        .map_or(MPI_FILE_NULL, |file| to_ptr(file.handle))
}

/// The shared file pointer's counter: in memory the members map, when they
/// are on one host; otherwise an atomic counter on the first member that
/// the others reach through its window server (`rma::Counter`).
enum SharedPtr {
    Node(memmap2::MmapMut),
    Hosts(crate::core::rma::Counter),
}

impl SharedPtr {
    /// Make it (zero) for the members of `c`: collective.
    fn new(c: &Comm) -> MpiResult<SharedPtr> {
        if coll::spans_hosts(c) {
            crate::core::rma::Counter::new(c).map(SharedPtr::Hosts)
        } else {
            coll::shared_segment(c, 8).map(SharedPtr::Node)
        }
    }

    fn cell(seg: &memmap2::MmapMut) -> &AtomicI64 {
        // SAFETY: the segment is at least 8 bytes, page-aligned, mapped for
        // the file's life, and only accessed through this atomic.
        unsafe { &*(seg.as_ptr() as *const AtomicI64) }
    }

    /// Add `n` etypes; the position before.
    fn fetch_add(&self, n: i64) -> MpiResult<i64> {
        match self {
            SharedPtr::Node(seg) => Ok(Self::cell(seg).fetch_add(n, Ordering::AcqRel)),
            SharedPtr::Hosts(c) => c.fetch_add(n),
        }
    }

    fn load(&self) -> MpiResult<i64> {
        match self {
            SharedPtr::Node(seg) => Ok(Self::cell(seg).load(Ordering::Acquire)),
            SharedPtr::Hosts(c) => c.load(),
        }
    }

    fn store(&self, v: i64) -> MpiResult<()> {
        match self {
            SharedPtr::Node(seg) => {
                Self::cell(seg).store(v, Ordering::Release);
                Ok(())
            }
            SharedPtr::Hosts(c) => c.store(v),
        }
    }

    /// At `MPI_File_close`: collective.
    fn free(&self) -> MpiResult<()> {
        match self {
            SharedPtr::Node(_) => Ok(()),
            SharedPtr::Hosts(c) => c.free(),
        }
    }
}

impl File {
    pub(crate) fn comm(&self) -> &Comm {
        &self.comm
    }

    fn shared_ptr(&self) -> &SharedPtr {
        &self.shared
    }

    fn readable(&self) -> MpiResult<()> {
        if self.amode & MPI_MODE_WRONLY != 0 {
            return Err(MpiError::new(
                MPI_ERR_ACCESS,
                "the file was opened write-only (MPI_MODE_WRONLY)",
            ));
        }
        Ok(())
    }

    fn writable(&self) -> MpiResult<()> {
        if self.amode & MPI_MODE_RDONLY != 0 {
            return Err(MpiError::new(
                MPI_ERR_READ_ONLY,
                "the file was opened read-only (MPI_MODE_RDONLY)",
            ));
        }
        Ok(())
    }

    /// Apply the hints of `info`.
    fn set_hints(&self, info: MPI_Info) -> MpiResult<()> {
        let mut hints = self.hints.lock();
        apply_hints(&mut hints, info)?;
        *self.settings.lock() = settings_of(&hints);
        Ok(())
    }

    /// What the hints choose for a read or a write.
    fn settings(&self, write: bool) -> Settings {
        self.settings.lock()[usize::from(write)]
    }

    fn not_sequential(&self, what: &str) -> MpiResult<()> {
        if self.amode & MPI_MODE_SEQUENTIAL != 0 {
            return Err(MpiError::new(
                MPI_ERR_UNSUPPORTED_OPERATION,
                format!("{what} on a file opened with MPI_MODE_SEQUENTIAL"),
            ));
        }
        Ok(())
    }

    /// Hold the file's lock (whole file, shared for reads) across one
    /// access when atomic mode is on, so accesses of different processes
    /// do not interleave.
    fn lock(&self, write: bool) -> Option<FileLock<'_>> {
        if !self.atomic.load(Ordering::Relaxed) {
            return None;
        }
        let op = if write { libc::LOCK_EX } else { libc::LOCK_SH };
        // SAFETY: flock on a descriptor we own.
        unsafe { libc::flock(self.fd.as_raw_fd(), op) };
        Some(FileLock(&self.fd))
    }
}

impl Drop for File {
    fn drop(&mut self) {
        errhandler::release(self.errhandler.get());
    }
}

struct FileLock<'a>(&'a std::fs::File);

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        // SAFETY: flock on a descriptor the file owns.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// The error of a failed file system call.
pub(crate) fn io_error(what: &str, e: &std::io::Error) -> MpiError {
    let class = match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => MPI_ERR_NO_SUCH_FILE,
        Some(libc::EEXIST) => MPI_ERR_FILE_EXISTS,
        Some(libc::EACCES) | Some(libc::EPERM) => MPI_ERR_ACCESS,
        Some(libc::EROFS) => MPI_ERR_READ_ONLY,
        Some(libc::ENOSPC) => MPI_ERR_NO_SPACE,
        Some(libc::EDQUOT) => MPI_ERR_QUOTA,
        Some(libc::EISDIR) | Some(libc::ENAMETOOLONG) | Some(libc::ELOOP) => MPI_ERR_BAD_FILE,
        _ => MPI_ERR_IO,
    };
    MpiError::new(class, format!("{what}: {e}"))
}

/// Make a collective call's outcome the same everywhere: the first
/// failing member's error class (others learn that one failed).
fn agree<T>(c: &Comm, mine: MpiResult<T>) -> MpiResult<T> {
    let code = [mine.as_ref().err().map_or(0, |e| e.code) as i64];
    let mut worst = [0i64];
    let r = Red {
        count: 1,
        dt: MPI_INT64_T,
        size: 8,
        op: MPI_MAX,
    };
    coll::allreduce_blocking(c, code.as_ptr() as usize, worst.as_mut_ptr() as usize, r)?;
    match mine {
        Ok(_) if worst[0] != 0 => Err(MpiError::new(
            worst[0] as c_int,
            "the call failed at another process of the file's group",
        )),
        other => other,
    }
}

fn barrier(c: &Comm) -> MpiResult<()> {
    let n = c.size;
    sched::run(c, |s| coll::barrier(s, n))
}

/// The path a file name names: ROMIO's file-system prefixes (`ufs:`,
/// `nfs:`, ...) are accepted and dropped.
fn path_of(name: &str) -> PathBuf {
    const PREFIXES: [&str; 8] = [
        "ufs:", "nfs:", "pvfs2:", "lustre:", "gpfs:", "testfs:", "xfs:", "panfs:",
    ];
    let bare = PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    PathBuf::from(bare)
}

fn check_amode(amode: c_int) -> MpiResult<()> {
    let access = [MPI_MODE_RDONLY, MPI_MODE_WRONLY, MPI_MODE_RDWR]
        .iter()
        .filter(|&&m| amode & m != 0)
        .count();
    let bad = if access != 1 {
        Some("exactly one of MPI_MODE_RDONLY, MPI_MODE_WRONLY and MPI_MODE_RDWR is required")
    } else if amode & MPI_MODE_RDONLY != 0 && amode & (MPI_MODE_CREATE | MPI_MODE_EXCL) != 0 {
        Some("MPI_MODE_CREATE and MPI_MODE_EXCL need write access")
    } else if amode & MPI_MODE_RDWR != 0 && amode & MPI_MODE_SEQUENTIAL != 0 {
        Some("MPI_MODE_SEQUENTIAL cannot be combined with MPI_MODE_RDWR")
    } else {
        None
    };
    match bad {
        Some(why) => Err(MpiError::new(
            MPI_ERR_AMODE,
            format!("invalid access mode {amode}: {why}"),
        )),
        None => Ok(()),
    }
}

/// Open `path` as `amode` says; `create` only at the member that creates.
fn open_path(path: &PathBuf, amode: c_int, create: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.read(amode & MPI_MODE_WRONLY == 0)
        .write(amode & MPI_MODE_RDONLY == 0)
        .mode(0o644);
    if create && amode & MPI_MODE_EXCL != 0 {
        o.create_new(true);
    } else if create && amode & MPI_MODE_CREATE != 0 {
        o.create(true);
    }
    o.open(path)
}

/// The hints this engine knows, with the values it uses (and `cb_nodes`,
/// reported as the group's size when not set).
const HINTS: [(&str, &str); 5] = [
    ("cb_buffer_size", "16777216"),
    ("romio_cb_read", "automatic"),
    ("romio_cb_write", "automatic"),
    ("romio_ds_read", "automatic"),
    ("romio_ds_write", "automatic"),
];

/// The file hints the standard reserves (MPI-4.1 section 14.2.8), kept
/// and reported back; ROMIO's `romio_*` and `cb_*`/`ind_*` ones too.
const RESERVED: [&str; 13] = [
    "access_style",
    "appendonly",
    "collective_buffering",
    "cb_block_size",
    "cb_buffer_size",
    "cb_nodes",
    "chunked",
    "file_perm",
    "io_node_list",
    "nb_proc",
    "num_io_nodes",
    "striping_factor",
    "striping_unit",
];

/// The settings `hints` make for reads and for writes.
fn settings_of(hints: &[(String, String)]) -> [Settings; 2] {
    [false, true].map(|write| Settings::from_hints(hints, write))
}

/// The hints in effect after applying `info` to `cur` (known keys only,
/// as the standard allows).
fn apply_hints(cur: &mut Vec<(String, String)>, info: MPI_Info) -> MpiResult<()> {
    if info == MPI_INFO_NULL {
        return Ok(());
    }
    for (k, v) in info::get(info)?.pairs() {
        let known = RESERVED
            .iter()
            .any(|r| k == *r || k.starts_with(&format!("{r}_")))
            || k.starts_with("romio_")
            || k.starts_with("ind_");
        if !known {
            continue;
        }
        match cur.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => cur.push((k, v)),
        }
    }
    Ok(())
}

#[doc(alias = "MPI_File_open")]
pub fn file_open(
    comm: MPI_Comm,
    filename: &str,
    amode: c_int,
    info: MPI_Info,
    fh: &mut MPI_File,
) -> MpiResult<()> {
    *fh = MPI_FILE_NULL;
    let parent = comm::get(comm)?;
    if parent.is_inter() {
        return Err(MpiError::new(
            MPI_ERR_COMM,
            "a file is opened by the group of an intracommunicator, not an intercommunicator",
        ));
    }
    check_amode(amode)?;
    let mut hints: Vec<(String, String)> = HINTS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    apply_hints(&mut hints, info)?;
    let c = comm::get(comm::dup(&parent)?)?;
    let path = path_of(filename);
    // The lowest rank creates the file; the others open it after.
    let first = if c.rank == 0 {
        open_path(&path, amode, true).map(Some)
    } else {
        Ok(None)
    };
    let first = agree(
        &c,
        first.map_err(|e| io_error(&format!("cannot open {filename}"), &e)),
    );
    let opened = first.and_then(|f| match f {
        Some(f) => Ok(f),
        None => open_path(&path, amode, false)
            .map_err(|e| io_error(&format!("cannot open {filename}"), &e)),
    });
    let opened = agree(&c, opened);
    let shared = opened.and_then(|fd| Ok((fd, SharedPtr::new(&c)?)));
    let (fd, shared) = match agree(&c, shared) {
        Ok(x) => x,
        Err(e) => {
            comm::free(c.handle)?;
            return Err(e);
        }
    };
    let start = if amode & MPI_MODE_APPEND != 0 {
        fd.metadata().map_or(0, |m| m.len() as i64)
    } else {
        0
    };
    let handle = FILES.insert_with(|handle| File {
        handle,
        comm: c,
        path,
        amode,
        fd,
        view: RwLock::new(View::bytes()),
        pos: Mutex::new(start),
        shared,
        atomic: AtomicBool::new(false),
        errhandler: Slot::new(errhandler::FILE_DEFAULT.get_retained()),
        settings: Mutex::new(settings_of(&hints)),
        hints: Mutex::new(hints),
        split: Mutex::new(None),
        scratch: twophase::Pool::default(),
    });
    let f = FILES.get(handle).expect("just inserted");
    let stored = if f.comm.rank == 0 {
        f.shared_ptr().store(start)
    } else {
        Ok(())
    };
    let mut made = to_ptr(handle);
    if let Err(e) = agree(&f.comm, stored) {
        // Every member gets here: close what was made, collectively.
        drop(f);
        let _ = file_close(&mut made);
        return Err(e);
    }
    *fh = made;
    Ok(())
}

#[doc(alias = "MPI_File_close")]
pub fn file_close(fh: &mut MPI_File) -> MpiResult<()> {
    let f = get(*fh)?;
    // Every member's accesses are done when it gets here.
    barrier(&f.comm)?;
    f.shared_ptr().free()?;
    let mut result = Ok(());
    if f.amode & MPI_MODE_DELETE_ON_CLOSE != 0 && f.comm.rank == 0 {
        result = std::fs::remove_file(&f.path)
            .map_err(|e| io_error(&format!("cannot delete {}", f.path.display()), &e));
    }
    FILES.remove(f.handle);
    comm::free(f.comm.handle)?;
    *fh = MPI_FILE_NULL;
    result
}

#[doc(alias = "MPI_File_delete")]
pub fn file_delete(filename: &str, info: MPI_Info) -> MpiResult<()> {
    if info != MPI_INFO_NULL {
        info::get(info)?;
    }
    std::fs::remove_file(path_of(filename))
        .map_err(|e| io_error(&format!("cannot delete {filename}"), &e))
}

/// A size change of the file, done once (by the lowest rank) for all.
fn resize(fh: MPI_File, size: i64, change: impl FnOnce(&File) -> MpiResult<()>) -> MpiResult<()> {
    let f = get(fh)?;
    f.writable()?;
    if size < 0 {
        return Err(MpiError::new(
            MPI_ERR_ARG,
            format!("negative file size {size}"),
        ));
    }
    let mine = if f.comm.rank == 0 { change(&f) } else { Ok(()) };
    agree(&f.comm, mine)
}

#[doc(alias = "MPI_File_set_size")]
pub fn file_set_size(fh: MPI_File, size: i64) -> MpiResult<()> {
    resize(fh, size, |f| {
        f.fd.set_len(size as u64)
            .map_err(|e| io_error("cannot set the file's size", &e))
    })
}

#[doc(alias = "MPI_File_preallocate")]
pub fn file_preallocate(fh: MPI_File, size: i64) -> MpiResult<()> {
    resize(fh, size, |f| {
        // SAFETY: posix_fallocate on a descriptor we own.
        match unsafe { libc::posix_fallocate(f.fd.as_raw_fd(), 0, size) } {
            0 => Ok(()),
            rc => Err(io_error(
                "cannot preallocate the file",
                &std::io::Error::from_raw_os_error(rc),
            )),
        }
    })
}

#[doc(alias = "MPI_File_get_size")]
pub fn file_get_size(fh: MPI_File, size: &mut i64) -> MpiResult<()> {
    let f = get(fh)?;
    *size =
        f.fd.metadata()
            .map_err(|e| io_error("cannot read the file's size", &e))?
            .len() as i64;
    Ok(())
}

#[doc(alias = "MPI_File_get_amode")]
pub fn file_get_amode(fh: MPI_File, amode: &mut c_int) -> MpiResult<()> {
    *amode = get(fh)?.amode;
    Ok(())
}

#[doc(alias = "MPI_File_get_group")]
pub fn file_get_group(fh: MPI_File, group: &mut MPI_Group) -> MpiResult<()> {
    *group = group::handle(get(fh)?.comm.group.clone());
    Ok(())
}

#[doc(alias = "MPI_File_set_info")]
pub fn file_set_info(fh: MPI_File, info: MPI_Info) -> MpiResult<()> {
    let f = get(fh)?;
    f.set_hints(info)
}

#[doc(alias = "MPI_File_get_info")]
pub fn file_get_info(fh: MPI_File, info_used: &mut MPI_Info) -> MpiResult<()> {
    let f = get(fh)?;
    let mut pairs = f.hints.lock().clone();
    if !pairs.iter().any(|(k, _)| k == "cb_nodes") {
        // Unset, every member may aggregate (twophase::decide).
        pairs.insert(1, ("cb_nodes".into(), f.comm.size.to_string()));
    }
    *info_used = info::create(info::Info::from_pairs(pairs));
    Ok(())
}

#[doc(alias = "MPI_File_sync")]
pub fn file_sync(fh: MPI_File) -> MpiResult<()> {
    let f = get(fh)?;
    let mine =
        f.fd.sync_all()
            .map_err(|e| io_error("cannot flush the file", &e));
    agree(&f.comm, mine)
}

#[doc(alias = "MPI_File_set_atomicity")]
pub fn file_set_atomicity(fh: MPI_File, flag: bool) -> MpiResult<()> {
    let f = get(fh)?;
    barrier(&f.comm)?;
    f.atomic.store(flag, Ordering::Relaxed);
    Ok(())
}

#[doc(alias = "MPI_File_get_atomicity")]
pub fn file_get_atomicity(fh: MPI_File, flag: &mut c_int) -> MpiResult<()> {
    *flag = c_int::from(get(fh)?.atomic.load(Ordering::Relaxed));
    Ok(())
}

#[doc(alias = "MPI_File_set_view")]
pub fn file_set_view(
    fh: MPI_File,
    disp: i64,
    etype: MPI_Datatype,
    filetype: MPI_Datatype,
    datarep: &str,
    info: MPI_Info,
) -> MpiResult<()> {
    let f = get(fh)?;
    let disp = if disp == MPI_DISPLACEMENT_CURRENT as i64 {
        if f.amode & MPI_MODE_SEQUENTIAL == 0 {
            return Err(MpiError::new(
                MPI_ERR_ARG,
                "MPI_DISPLACEMENT_CURRENT needs a file opened with MPI_MODE_SEQUENTIAL",
            ));
        }
        let v = f.view.read();
        v.byte_offset(f.shared_ptr().load()?)
    } else {
        disp
    };
    let writable = f.amode & MPI_MODE_RDONLY == 0;
    let view = agree(&f.comm, View::new(disp, etype, filetype, datarep, writable))?;
    f.set_hints(info)?;
    *f.view.write() = view;
    // Both file pointers go back to the view's start.
    *f.pos.lock() = 0;
    barrier(&f.comm)?;
    let stored = if f.comm.rank == 0 {
        f.shared_ptr().store(0)
    } else {
        Ok(())
    };
    agree(&f.comm, stored)
}

#[doc(alias = "MPI_File_get_view")]
pub fn file_get_view(
    fh: MPI_File,
    disp: &mut i64,
    etype: &mut MPI_Datatype,
    filetype: &mut MPI_Datatype,
    datarep: StrOut,
) -> MpiResult<()> {
    let f = get(fh)?;
    let v = f.view.read();
    *disp = v.disp;
    *etype = v.etype.handle();
    *filetype = v.filetype.handle();
    let mut datarep = datarep;
    datarep.write(&v.datarep);
    Ok(())
}

#[doc(alias = "MPI_File_get_type_extent")]
pub fn file_get_type_extent(
    fh: MPI_File,
    datatype: MPI_Datatype,
    extent: &mut i64,
) -> MpiResult<()> {
    get(fh)?;
    *extent = super::datatype::get(datatype)?.extent();
    Ok(())
}
