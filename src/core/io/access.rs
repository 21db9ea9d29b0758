//! Data access (MPI-4.1 section 14.4): explicit offsets, the individual
//! file pointer and the shared one, in blocking, nonblocking, collective
//! and split-collective forms. Each form positions the access, then one
//! transfer (`transfer`) moves the bytes between memory and the file's
//! byte ranges the view selects.

use super::datarep::Rep;
use super::{File, agree, barrier, get, io_error};
use crate::core::coll::{self, Red};
use crate::core::consts::*;
use crate::core::datatype::{self, MsgBuf};
use crate::core::error::{MpiError, MpiResult};
use crate::core::request::{REQUESTS, ReqKind, Request, Status};
use crate::core::types::{MPI_Datatype, MPI_File, MPI_Request, MPI_Status};
use std::ffi::c_int;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

/// Which way the bytes go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// Move `count` elements of `dt` at `buf` to or from the view's data at
/// etype `pos`; returns the bytes moved (a read stops at the end of the
/// file).
fn transfer(
    f: &File,
    pos: i64,
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    dir: Dir,
) -> MpiResult<usize> {
    let mut m = MsgBuf::new(buf, count, dt)?;
    match dir {
        Dir::Read => f.readable()?,
        Dir::Write => f.writable()?,
    }
    let v = f.view.read();
    if m.bytes as i64 % v.etype_size != 0 {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            format!(
                "{} bytes are not a whole number of etypes ({} bytes each)",
                m.bytes, v.etype_size
            ),
        ));
    }
    if m.bytes == 0 {
        return Ok(0);
    }
    let runs = v.runs(pos * v.etype_size, m.bytes as i64);
    if !matches!(v.rep, Rep::Native) {
        let t = datatype::get_committed(dt)?;
        v.rep.same_size(&t, &v.datarep)?;
        let _locked = f.lock(dir == Dir::Write);
        return match dir {
            Dir::Write => {
                let data = v.rep.encode((&t, dt), buf, count, m.bytes)?;
                write_runs(f, &runs, &data)?;
                Ok(m.bytes)
            }
            Dir::Read => {
                let mut data = vec![0u8; m.bytes];
                let got = read_runs(f, &runs, &mut data)?;
                let whole = got - got % (t.size().max(1) as usize);
                v.rep.decode((&t, dt), &mut data[..whole], buf)?;
                Ok(got)
            }
        };
    }
    let _locked = f.lock(dir == Dir::Write);
    match dir {
        Dir::Write => {
            let packed;
            let data: &[u8] = match m.contiguous() {
                Some(d) => d,
                None => {
                    packed = m.packed();
                    &packed
                }
            };
            write_runs(f, &runs, data)?;
            Ok(m.bytes)
        }
        Dir::Read => {
            let in_place = m.layout.is_none();
            let mut staged = vec![0u8; if in_place { 0 } else { m.bytes }];
            let data: &mut [u8] = match m.contiguous_mut() {
                Some(d) => d,
                None => &mut staged,
            };
            let got = read_runs(f, &runs, data)?;
            if !in_place {
                m.unpack_from(&staged[..got]);
            }
            Ok(got)
        }
    }
}

/// Write `data` to the file's byte ranges `runs`, in order.
fn write_runs(f: &File, runs: &[(i64, i64)], data: &[u8]) -> MpiResult<()> {
    let mut at = 0;
    for &(off, n) in runs {
        let n = n as usize;
        f.fd.write_all_at(&data[at..at + n], off as u64)
            .map_err(|e| io_error("cannot write the file", &e))?;
        at += n;
    }
    Ok(())
}

/// Fill `data` from the file's byte ranges `runs`, in order; the bytes
/// read (fewer at the end of the file).
fn read_runs(f: &File, runs: &[(i64, i64)], data: &mut [u8]) -> MpiResult<usize> {
    let mut got = 0;
    for &(off, n) in runs {
        let n = n as usize;
        let k = read_at(f, &mut data[got..got + n], off as u64)?;
        got += k;
        if k < n {
            break;
        }
    }
    Ok(got)
}

/// Read as much of `buf` as the file holds from `off` on.
fn read_at(f: &File, buf: &mut [u8], off: u64) -> MpiResult<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.fd.read_at(&mut buf[got..], off + got as u64) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("cannot read the file", &e)),
        }
    }
    Ok(got)
}

fn done(bytes: usize) -> Status {
    Status {
        bytes,
        ..Status::empty()
    }
}

fn fill(status: Option<&mut MPI_Status>, st: &Status) {
    if let Some(s) = status {
        st.to_c(s, false);
    }
}

fn completed(request: &mut MPI_Request, st: Status) {
    *request = REQUESTS.insert(Request::completed(ReqKind::Recv, MPI_COMM_SELF, st));
}

fn check_offset(offset: i64) -> MpiResult<()> {
    if offset < 0 {
        return Err(MpiError::new(
            MPI_ERR_ARG,
            format!("negative file offset {offset}"),
        ));
    }
    Ok(())
}

/// Where an access starts.
#[derive(Clone, Copy)]
enum At {
    /// An explicit offset, in etypes.
    Offset(i64),
    /// The individual file pointer (advanced past the data moved).
    Own,
    /// The shared file pointer (advanced past the data asked for).
    Shared,
}

/// One access at `at`; its status.
fn access(
    f: &File,
    at: At,
    buf: usize,
    count: i64,
    dt: MPI_Datatype,
    dir: Dir,
) -> MpiResult<Status> {
    let bytes = match at {
        At::Offset(o) => {
            f.not_sequential("access at an explicit offset")?;
            check_offset(o)?;
            transfer(f, o, buf, count, dt, dir)?
        }
        At::Own => {
            f.not_sequential("access through the individual file pointer")?;
            let mut pos = f.pos.lock();
            let n = transfer(f, *pos, buf, count, dt, dir)?;
            *pos += n as i64 / f.view.read().etype_size;
            n
        }
        At::Shared => {
            let want = etypes_of(f, count, dt)?;
            let pos = f.shared_ptr().fetch_add(want, Ordering::AcqRel);
            transfer(f, pos, buf, count, dt, dir)?
        }
    };
    Ok(done(bytes))
}

/// How many etypes `count` elements of `dt` are.
fn etypes_of(f: &File, count: i64, dt: MPI_Datatype) -> MpiResult<i64> {
    let bytes = MsgBuf::new(1, count, dt)?.bytes as i64;
    Ok(bytes / f.view.read().etype_size)
}

/// Which way a call moves the bytes: `write` is given by the C function
/// called (`scripts/gen-abi`: the `MPI_File_write*` and `MPI_File_iwrite*`
/// forms), so a read and its write share one implementation.
fn dir(write: bool) -> Dir {
    if write { Dir::Write } else { Dir::Read }
}

/// A blocking access at `at` of `fh`; its status goes to `status`.
fn blocking(
    fh: MPI_File,
    at: At,
    (buf, count, dt): (usize, i64, MPI_Datatype),
    status: Option<&mut MPI_Status>,
    write: bool,
) -> MpiResult<()> {
    let f = get(fh)?;
    let st = access(&f, at, buf, count, dt, dir(write))?;
    fill(status, &st);
    Ok(())
}

/// A nonblocking access: the transfer happens now, the request is
/// complete.
fn started(
    fh: MPI_File,
    at: At,
    (buf, count, dt): (usize, i64, MPI_Datatype),
    request: &mut MPI_Request,
    write: bool,
) -> MpiResult<()> {
    *request = MPI_REQUEST_NULL;
    let f = get(fh)?;
    let st = access(&f, at, buf, count, dt, dir(write))?;
    completed(request, st);
    Ok(())
}

// --- explicit offsets ------------------------------------------------------

#[doc(alias = "MPI_File_read_at")]
#[doc(alias = "MPI_File_read_at_all")]
#[doc(alias = "MPI_File_write_at")]
#[doc(alias = "MPI_File_write_at_all")]
pub fn file_access_at(
    fh: MPI_File,
    offset: i64,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    status: Option<&mut MPI_Status>,
    write: bool,
) -> MpiResult<()> {
    blocking(
        fh,
        At::Offset(offset),
        (buf, count, datatype),
        status,
        write,
    )
}

#[doc(alias = "MPI_File_iread_at")]
#[doc(alias = "MPI_File_iread_at_all")]
#[doc(alias = "MPI_File_iwrite_at")]
#[doc(alias = "MPI_File_iwrite_at_all")]
pub fn file_iaccess_at(
    fh: MPI_File,
    offset: i64,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    request: &mut MPI_Request,
    write: bool,
) -> MpiResult<()> {
    started(
        fh,
        At::Offset(offset),
        (buf, count, datatype),
        request,
        write,
    )
}

// --- the individual file pointer ---------------------------------------------

#[doc(alias = "MPI_File_read")]
#[doc(alias = "MPI_File_read_all")]
#[doc(alias = "MPI_File_write")]
#[doc(alias = "MPI_File_write_all")]
pub fn file_access(
    fh: MPI_File,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    status: Option<&mut MPI_Status>,
    write: bool,
) -> MpiResult<()> {
    blocking(fh, At::Own, (buf, count, datatype), status, write)
}

#[doc(alias = "MPI_File_iread")]
#[doc(alias = "MPI_File_iread_all")]
#[doc(alias = "MPI_File_iwrite")]
#[doc(alias = "MPI_File_iwrite_all")]
pub fn file_iaccess(
    fh: MPI_File,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    request: &mut MPI_Request,
    write: bool,
) -> MpiResult<()> {
    started(fh, At::Own, (buf, count, datatype), request, write)
}

/// The position `offset` from `whence` names, in etypes of the view.
fn seek_target(f: &File, cur: i64, offset: i64, whence: c_int) -> MpiResult<i64> {
    let base = match whence {
        MPI_SEEK_SET => 0,
        MPI_SEEK_CUR => cur,
        MPI_SEEK_END => {
            let size =
                f.fd.metadata()
                    .map_err(|e| io_error("cannot read the file's size", &e))?
                    .len() as i64;
            f.view.read().etypes_before(size)
        }
        _ => {
            return Err(MpiError::new(
                MPI_ERR_ARG,
                format!("invalid whence {whence} (MPI_SEEK_SET, MPI_SEEK_CUR or MPI_SEEK_END)"),
            ));
        }
    };
    let to = base + offset;
    check_offset(to)?;
    Ok(to)
}

#[doc(alias = "MPI_File_seek")]
pub fn file_seek(fh: MPI_File, offset: i64, whence: c_int) -> MpiResult<()> {
    let f = get(fh)?;
    f.not_sequential("MPI_File_seek")?;
    let mut pos = f.pos.lock();
    *pos = seek_target(&f, *pos, offset, whence)?;
    Ok(())
}

#[doc(alias = "MPI_File_get_position")]
pub fn file_get_position(fh: MPI_File, offset: &mut i64) -> MpiResult<()> {
    let f = get(fh)?;
    f.not_sequential("MPI_File_get_position")?;
    *offset = *f.pos.lock();
    Ok(())
}

#[doc(alias = "MPI_File_get_byte_offset")]
pub fn file_get_byte_offset(fh: MPI_File, offset: i64, disp: &mut i64) -> MpiResult<()> {
    let f = get(fh)?;
    f.not_sequential("MPI_File_get_byte_offset")?;
    check_offset(offset)?;
    *disp = f.view.read().byte_offset(offset);
    Ok(())
}

// --- the shared file pointer -------------------------------------------------

#[doc(alias = "MPI_File_read_shared")]
#[doc(alias = "MPI_File_write_shared")]
pub fn file_access_shared(
    fh: MPI_File,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    status: Option<&mut MPI_Status>,
    write: bool,
) -> MpiResult<()> {
    blocking(fh, At::Shared, (buf, count, datatype), status, write)
}

#[doc(alias = "MPI_File_iread_shared")]
#[doc(alias = "MPI_File_iwrite_shared")]
pub fn file_iaccess_shared(
    fh: MPI_File,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    request: &mut MPI_Request,
    write: bool,
) -> MpiResult<()> {
    started(fh, At::Shared, (buf, count, datatype), request, write)
}

/// A collective access through the shared file pointer in rank order:
/// each member's data follows the data of the ranks below it.
fn ordered(fh: MPI_File, buf: usize, count: i64, dt: MPI_Datatype, dir: Dir) -> MpiResult<Status> {
    let f = get(fh)?;
    let c = f.comm();
    let n = c.size as usize;
    let mine = etypes_of(&f, count, dt);
    let mut each = vec![0i64; n];
    each[c.rank as usize] = *mine.as_ref().unwrap_or(&0);
    let mut all = vec![0i64; n];
    let r = Red {
        count: n,
        dt: MPI_INT64_T,
        size: 8,
        op: MPI_SUM,
    };
    coll::allreduce_blocking(c, each.as_ptr() as usize, all.as_mut_ptr() as usize, r)?;
    let mut base = [0i64];
    if c.rank == 0 {
        base[0] = f.shared_ptr().fetch_add(all.iter().sum(), Ordering::AcqRel);
    }
    coll::bcast_blocking(c, base.as_mut_ptr() as usize, 8, 0)?;
    mine?;
    let pos = base[0] + all[..c.rank as usize].iter().sum::<i64>();
    Ok(done(transfer(&f, pos, buf, count, dt, dir)?))
}

#[doc(alias = "MPI_File_read_ordered")]
#[doc(alias = "MPI_File_write_ordered")]
pub fn file_access_ordered(
    fh: MPI_File,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    status: Option<&mut MPI_Status>,
    write: bool,
) -> MpiResult<()> {
    fill(status, &ordered(fh, buf, count, datatype, dir(write))?);
    Ok(())
}

#[doc(alias = "MPI_File_seek_shared")]
pub fn file_seek_shared(fh: MPI_File, offset: i64, whence: c_int) -> MpiResult<()> {
    let f = get(fh)?;
    // Everyone has finished with the pointer before it moves.
    barrier(f.comm())?;
    let cur = f.shared_ptr().load(Ordering::Acquire);
    let to = agree(f.comm(), seek_target(&f, cur, offset, whence))?;
    barrier(f.comm())?;
    if f.comm().rank == 0 {
        f.shared_ptr().store(to, Ordering::Release);
    }
    barrier(f.comm())
}

#[doc(alias = "MPI_File_get_position_shared")]
pub fn file_get_position_shared(fh: MPI_File, offset: &mut i64) -> MpiResult<()> {
    *offset = get(fh)?.shared_ptr().load(Ordering::Acquire);
    Ok(())
}

// --- split collectives ------------------------------------------------------

/// The `_begin` half: the access happens now, its status waits for `_end`.
fn begin(f: &File, run: impl FnOnce() -> MpiResult<Status>) -> MpiResult<()> {
    if f.split.lock().is_some() {
        return Err(MpiError::new(
            MPI_ERR_OTHER,
            "a split collective is already active on this file",
        ));
    }
    let st = run()?;
    *f.split.lock() = Some(st);
    Ok(())
}

fn end(fh: MPI_File, status: Option<&mut MPI_Status>) -> MpiResult<()> {
    let f = get(fh)?;
    let st = f.split.lock().take().ok_or_else(|| {
        MpiError::new(MPI_ERR_OTHER, "no split collective was begun on this file")
    })?;
    fill(status, &st);
    Ok(())
}

#[doc(alias = "MPI_File_read_at_all_begin")]
#[doc(alias = "MPI_File_write_at_all_begin")]
pub fn file_access_at_all_begin(
    fh: MPI_File,
    offset: i64,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    write: bool,
) -> MpiResult<()> {
    let f = get(fh)?;
    begin(&f, || {
        access(&f, At::Offset(offset), buf, count, datatype, dir(write))
    })
}

#[doc(alias = "MPI_File_read_all_begin")]
#[doc(alias = "MPI_File_write_all_begin")]
pub fn file_access_all_begin(
    fh: MPI_File,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    write: bool,
) -> MpiResult<()> {
    let f = get(fh)?;
    begin(&f, || access(&f, At::Own, buf, count, datatype, dir(write)))
}

#[doc(alias = "MPI_File_read_ordered_begin")]
#[doc(alias = "MPI_File_write_ordered_begin")]
pub fn file_access_ordered_begin(
    fh: MPI_File,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    write: bool,
) -> MpiResult<()> {
    let f = get(fh)?;
    begin(&f, || ordered(fh, buf, count, datatype, dir(write)))
}

#[doc(alias = "MPI_File_read_at_all_end")]
#[doc(alias = "MPI_File_write_at_all_end")]
#[doc(alias = "MPI_File_read_all_end")]
#[doc(alias = "MPI_File_write_all_end")]
#[doc(alias = "MPI_File_read_ordered_end")]
#[doc(alias = "MPI_File_write_ordered_end")]
pub fn file_split_end(fh: MPI_File, buf: usize, status: Option<&mut MPI_Status>) -> MpiResult<()> {
    let _ = buf;
    end(fh, status)
}
