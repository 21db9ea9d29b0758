//! Data access (MPI-4.1 section 14.4): explicit offsets, the individual
//! file pointer and the shared one, in blocking, nonblocking, collective
//! and split-collective forms. Each form positions the access, then one
//! transfer (`transfer`) moves the bytes between memory and the file's
//! byte ranges the view selects.

use super::datarep::Rep;
use super::twophase::{self, Run};
use super::view::View;
use super::{File, agree, barrier, get, io_error, worker};
use crate::core::coll::{self, Red};
use crate::core::consts::*;
use crate::core::datatype::{self, MsgBuf};
use crate::core::error::{MpiError, MpiResult};
use crate::core::p2p::engine;
use crate::core::request::{REQUESTS, ReqKind, Request, Status};
use crate::core::types::{MPI_Datatype, MPI_File, MPI_Request, MPI_Status};
use std::ffi::c_int;
use std::os::unix::fs::FileExt;

/// Which way the bytes go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// A user buffer: address, count, datatype.
type Buf = (usize, i64, MPI_Datatype);

/// Move `count` elements of `dt` at `buf` to or from the view's data at
/// etype `pos`; returns the bytes moved (a read stops at the end of the
/// file). `coll`: every member of the file's group makes this call
/// together (a member whose arguments fail still joins, moving nothing).
fn transfer(f: &File, pos: i64, (buf, count, dt): Buf, dir: Dir, coll: bool) -> MpiResult<usize> {
    let v = f.view.read();
    let m = joined(f, check(f, &v, (buf, count, dt), dir), dir, coll)?;
    if !matches!(v.rep, Rep::Native) {
        let runs = v.runs(pos * v.etype_size, m.bytes as i64);
        let t = datatype::get_committed(dt)?;
        return match dir {
            Dir::Write => {
                let data = v.rep.encode((&t, dt), buf, count, m.bytes)?;
                move_bytes(f, &runs, Bytes::Out(&data), coll)
            }
            Dir::Read => {
                let mut data = vec![0u8; m.bytes];
                let got = move_bytes(f, &runs, Bytes::In(&mut data), coll)?;
                let whole = got - got % (t.size().max(1) as usize);
                v.rep.decode((&t, dt), &mut data[..whole], buf)?;
                Ok(got)
            }
        };
    }
    native(f, &v, pos, m, dir, coll)
}

/// The rest of `transfer` on a `native` view, memory checked (`m`).
fn native(f: &File, v: &View, pos: i64, mut m: MsgBuf, dir: Dir, coll: bool) -> MpiResult<usize> {
    let runs = v.runs(pos * v.etype_size, m.bytes as i64);
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
            move_bytes(f, &runs, Bytes::Out(data), coll)
        }
        Dir::Read => {
            let in_place = m.layout.is_none();
            let mut staged = vec![0u8; if in_place { 0 } else { m.bytes }];
            let data: &mut [u8] = match m.contiguous_mut() {
                Some(d) => d,
                None => &mut staged,
            };
            let got = move_bytes(f, &runs, Bytes::In(data), coll)?;
            if !in_place {
                m.unpack_from(&staged[..got]);
            }
            Ok(got)
        }
    }
}

/// The checks of one access; the memory side of it.
fn check(f: &File, v: &View, (buf, count, dt): Buf, dir: Dir) -> MpiResult<MsgBuf> {
    let m = MsgBuf::new(buf, count, dt)?;
    match dir {
        Dir::Read => f.readable()?,
        Dir::Write => f.writable()?,
    }
    if m.bytes as i64 % v.etype_size != 0 {
        return Err(MpiError::new(
            MPI_ERR_TYPE,
            format!(
                "{} bytes are not a whole number of etypes ({} bytes each)",
                m.bytes, v.etype_size
            ),
        ));
    }
    if !matches!(v.rep, Rep::Native) && m.bytes > 0 {
        let t = datatype::get_committed(dt)?;
        v.rep.same_size(&t, &v.datarep)?;
    }
    Ok(m)
}

/// The data stream of an access: bytes going to the file, or room for
/// bytes coming from it.
enum Bytes<'a> {
    Out(&'a [u8]),
    In(&'a mut [u8]),
}

/// Move the stream to or from the file's byte ranges `runs` (in stream
/// order, so by offset); the bytes moved. A collective access may go
/// through aggregators (`twophase`); otherwise this member makes its own
/// calls, under the file lock in atomic mode.
fn move_bytes(f: &File, runs: &[Run], bytes: Bytes, coll: bool) -> MpiResult<usize> {
    let write = matches!(bytes, Bytes::Out(_));
    let s = f.settings(write);
    if coll && let Some(plan) = twophase::plan(f, runs, &s)? {
        return match bytes {
            Bytes::Out(d) => twophase::write(f, &plan, runs, d).map(|_| d.len()),
            Bytes::In(d) => twophase::read(f, &plan, runs, d, s.sieve),
        };
    }
    let _locked = f.lock(write);
    match bytes {
        Bytes::Out(d) => write_runs(f, runs, d).map(|_| d.len()),
        Bytes::In(d) => read_runs(f, runs, d, s.sieve),
    }
}

/// Write `data` to the file's byte ranges `runs`, in order.
fn write_runs(f: &File, runs: &[Run], data: &[u8]) -> MpiResult<()> {
    let mut at = 0;
    for &(off, n) in runs {
        let n = n as usize;
        f.fd.write_all_at(&data[at..at + n], off as u64)
            .map_err(|e| io_error("cannot write the file", &e))?;
        at += n;
    }
    Ok(())
}

/// The longest gap a sieving read reads through, and its longest read
/// (ROMIO's `ind_rd_buffer_size`).
const SIEVE_GAP: i64 = 64 << 10;
const SIEVE_SPAN: i64 = 4 << 20;

/// Consecutive runs (sorted by offset) one read covers: first run, end
/// of the group (exclusive), and the file span. Without sieving only
/// touching runs share a read.
fn groups(runs: &[Run], sieve: bool) -> Vec<(usize, usize, i64, i64)> {
    let gap = if sieve { SIEVE_GAP } else { 0 };
    let mut out = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let start = runs[i].0;
        let mut end = start + runs[i].1;
        let mut k = i + 1;
        while k < runs.len() {
            let (o, n) = runs[k];
            if o - end > gap || (o + n).max(end) - start > SIEVE_SPAN.max(end - start) {
                break;
            }
            end = end.max(o + n);
            k += 1;
        }
        out.push((i, k, start, end));
        i = k;
    }
    out
}

/// Fill `data` from the file's byte ranges `runs`, in order; the bytes
/// read (fewer at the end of the file). Runs close together are read
/// by one call when `sieve` (data sieving).
fn read_runs(f: &File, runs: &[Run], data: &mut [u8], sieve: bool) -> MpiResult<usize> {
    let mut got = 0;
    let mut span = Vec::new();
    for (first, last, start, end) in groups(runs, sieve) {
        if last - first == 1 {
            let n = runs[first].1 as usize;
            let k = read_at(f, &mut data[got..got + n], start as u64)?;
            got += k;
            if k < n {
                break;
            }
            continue;
        }
        span.clear();
        span.resize((end - start) as usize, 0u8);
        let have = read_at(f, &mut span, start as u64)? as i64;
        for &(o, n) in &runs[first..last] {
            let rel = o - start;
            let k = (have - rel).clamp(0, n) as usize;
            data[got..got + k].copy_from_slice(&span[rel as usize..rel as usize + k]);
            got += k;
            if k < n as usize {
                return Ok(got);
            }
        }
    }
    Ok(got)
}

/// Read the file's `spans` (sorted, disjoint) into `buf`, which stands
/// for the file's bytes from `base` on (bytes past the end of the file
/// are left as they are); with `sieve`, spans close together are read
/// by one call, the gap with them.
pub(super) fn read_spans(
    f: &File,
    spans: &[Run],
    base: i64,
    buf: &mut [u8],
    sieve: bool,
) -> MpiResult<()> {
    for (_, _, start, end) in groups(spans, sieve) {
        let at = (start - base) as usize;
        read_at(f, &mut buf[at..at + (end - start) as usize], start as u64)?;
    }
    Ok(())
}

/// How much of the stream `runs` describe a file of `eof` bytes holds:
/// up to the first run the end of the file cuts.
pub(super) fn valid_prefix(runs: &[Run], eof: i64) -> usize {
    let mut got = 0;
    for &(o, n) in runs {
        let k = (eof - o).clamp(0, n);
        got += k as usize;
        if k < n {
            break;
        }
    }
    got
}

/// Read as much of `buf` as the file holds from `off` on.
pub(super) fn read_at(f: &File, buf: &mut [u8], off: u64) -> MpiResult<usize> {
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

/// One access at `at`; its status. `coll`: a collective call, which a
/// member whose arguments fail still joins (moving nothing), so the
/// others do not wait for it.
fn access(f: &File, at: At, buf: Buf, dir: Dir, coll: bool) -> MpiResult<Status> {
    joined(f, check_at(f, at), dir, coll)?;
    let bytes = match at {
        At::Offset(o) => transfer(f, o, buf, dir, coll)?,
        At::Own => {
            let mut pos = f.pos.lock();
            let n = transfer(f, *pos, buf, dir, coll)?;
            *pos += n as i64 / f.view.read().etype_size;
            n
        }
        At::Shared => {
            let want = joined(f, etypes_of(f, buf.1, buf.2), dir, coll)?;
            let pos = f.shared_ptr().fetch_add(want)?;
            transfer(f, pos, buf, dir, coll)?
        }
    };
    Ok(done(bytes))
}

/// The checks of where an access starts.
fn check_at(f: &File, at: At) -> MpiResult<()> {
    match at {
        At::Offset(o) => f
            .not_sequential("access at an explicit offset")
            .and_then(|_| check_offset(o)),
        At::Own => f.not_sequential("access through the individual file pointer"),
        At::Shared => Ok(()),
    }
}

/// `checked`, after a failing member of a collective access has joined
/// the others with nothing to move.
fn joined<T>(f: &File, checked: MpiResult<T>, dir: Dir, coll: bool) -> MpiResult<T> {
    if checked.is_err() && coll {
        let bytes = match dir {
            Dir::Write => Bytes::Out(&[]),
            Dir::Read => Bytes::In(&mut []),
        };
        move_bytes(f, &[], bytes, coll)?;
    }
    checked
}

/// How many etypes `count` elements of `dt` are.
fn etypes_of(f: &File, count: i64, dt: MPI_Datatype) -> MpiResult<i64> {
    let bytes = MsgBuf::new(1, count, dt)?.bytes as i64;
    Ok(bytes / f.view.read().etype_size)
}

/// Which way a call moves the bytes: `write` is given by the C function
/// called (`scripts/gen-abi`: the `MPI_File_write*` and `MPI_File_iwrite*`
/// forms), so a read and its write share one implementation; so is
/// `coll` (the `_all` forms).
fn dir(write: bool) -> Dir {
    if write { Dir::Write } else { Dir::Read }
}

/// A blocking access at `at` of `fh`; its status goes to `status`.
fn blocking(
    fh: MPI_File,
    at: At,
    buf: Buf,
    status: Option<&mut MPI_Status>,
    (write, coll): (bool, bool),
) -> MpiResult<()> {
    let f = get(fh)?;
    let st = access(&f, at, buf, dir(write), coll)?;
    fill(status, &st);
    Ok(())
}

/// A nonblocking access. An independent one on a `native` view is
/// positioned and checked now and moved by the I/O thread (`worker`),
/// which completes the request; a collective one (its exchanges are
/// ordered with the members' other collective calls) and one converting
/// data are done now, the request complete.
fn started(
    fh: MPI_File,
    at: At,
    buf: Buf,
    request: &mut MPI_Request,
    (write, coll): (bool, bool),
) -> MpiResult<()> {
    *request = MPI_REQUEST_NULL;
    let f = get(fh)?;
    let dir = dir(write);
    if coll || !matches!(f.view.read().rep, Rep::Native) {
        let st = access(&f, at, buf, dir, coll)?;
        completed(request, st);
        return Ok(());
    }
    let m = check(&f, &f.view.read(), buf, dir)?;
    let want = m.bytes as i64 / f.view.read().etype_size;
    // The pointers move by the data asked for, now (MPI-4.1 14.4.3).
    check_at(&f, at)?;
    let pos = match at {
        At::Offset(o) => o,
        At::Own => {
            let mut p = f.pos.lock();
            *p += want;
            *p - want
        }
        At::Shared => f.shared_ptr().fetch_add(want)?,
    };
    let r = Request::new(ReqKind::Coll, MPI_COMM_SELF);
    *request = REQUESTS.insert(r.clone());
    let job = Box::new(move || {
        let moved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            native(&f, &f.view.read(), pos, m, dir, false)
        }));
        let st = match moved {
            Ok(Ok(n)) => done(n),
            Ok(Err(e)) => failed(e.code),
            Err(_) => failed(MPI_ERR_INTERN),
        };
        r.complete(st);
        engine().wake();
    });
    if let Err(job) = worker::submit(job) {
        job();
    }
    Ok(())
}

/// The status of an access that failed with class `code`.
fn failed(code: c_int) -> Status {
    Status {
        error: code,
        ..Status::empty()
    }
}

// --- explicit offsets ------------------------------------------------------

#[doc(alias = "MPI_File_read_at")]
#[doc(alias = "MPI_File_read_at_all")]
#[doc(alias = "MPI_File_write_at")]
#[doc(alias = "MPI_File_write_at_all")]
#[allow(clippy::too_many_arguments)] // the C arguments, and which form was called
pub fn file_access_at(
    fh: MPI_File,
    offset: i64,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    status: Option<&mut MPI_Status>,
    write: bool,
    coll: bool,
) -> MpiResult<()> {
    blocking(
        fh,
        At::Offset(offset),
        (buf, count, datatype),
        status,
        (write, coll),
    )
}

#[doc(alias = "MPI_File_iread_at")]
#[doc(alias = "MPI_File_iread_at_all")]
#[doc(alias = "MPI_File_iwrite_at")]
#[doc(alias = "MPI_File_iwrite_at_all")]
#[allow(clippy::too_many_arguments)] // the C arguments, and which form was called
pub fn file_iaccess_at(
    fh: MPI_File,
    offset: i64,
    buf: usize,
    count: i64,
    datatype: MPI_Datatype,
    request: &mut MPI_Request,
    write: bool,
    coll: bool,
) -> MpiResult<()> {
    started(
        fh,
        At::Offset(offset),
        (buf, count, datatype),
        request,
        (write, coll),
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
    coll: bool,
) -> MpiResult<()> {
    blocking(fh, At::Own, (buf, count, datatype), status, (write, coll))
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
    coll: bool,
) -> MpiResult<()> {
    started(fh, At::Own, (buf, count, datatype), request, (write, coll))
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
    blocking(
        fh,
        At::Shared,
        (buf, count, datatype),
        status,
        (write, false),
    )
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
    started(
        fh,
        At::Shared,
        (buf, count, datatype),
        request,
        (write, false),
    )
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
        base[0] = f.shared_ptr().fetch_add(all.iter().sum())?;
    }
    coll::bcast_blocking(c, base.as_mut_ptr() as usize, 8, 0)?;
    joined(&f, mine, dir, true)?;
    let pos = base[0] + all[..c.rank as usize].iter().sum::<i64>();
    Ok(done(transfer(&f, pos, (buf, count, dt), dir, true)?))
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
    let cur = f.shared_ptr().load()?;
    let to = agree(f.comm(), seek_target(&f, cur, offset, whence))?;
    barrier(f.comm())?;
    let stored = if f.comm().rank == 0 {
        f.shared_ptr().store(to)
    } else {
        Ok(())
    };
    agree(f.comm(), stored)
}

#[doc(alias = "MPI_File_get_position_shared")]
pub fn file_get_position_shared(fh: MPI_File, offset: &mut i64) -> MpiResult<()> {
    *offset = get(fh)?.shared_ptr().load()?;
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
        access(
            &f,
            At::Offset(offset),
            (buf, count, datatype),
            dir(write),
            true,
        )
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
    begin(&f, || {
        access(&f, At::Own, (buf, count, datatype), dir(write), true)
    })
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
