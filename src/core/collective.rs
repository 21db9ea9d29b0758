//! Collective operations (MPI-4.1 chapters 6 and 8): argument rules
//! (root, counts, datatypes, `MPI_IN_PLACE`), staging of non-contiguous
//! buffers, the choice between the node's shared cells (`core::shmcoll`)
//! and a schedule by messages (`core::coll`), and how the call runs:
//! blocking, nonblocking (`MPI_I...`) or persistent (`MPI_..._init`).
//! Each collective is one function taking 64-bit counts and the mode; the
//! C face makes its six C functions from it. Buffer arguments are the
//! user's pointers; per-rank arrays (counts, displacements, types) are
//! read here, once the communicator says how many there are.

// The arguments are the standard's.
#![allow(clippy::too_many_arguments)]

use super::algorithms::Way;
use super::args::{c_array, info_arg};
use super::coll::{self, Block, Red, Root};
use super::coll_hier;
use super::comm::{self, Comm};
use super::consts::*;
use super::datatype::{self, MsgBuf};
use super::error::{MpiError, MpiResult};
use super::op::{self, USER_OPS};
pub use super::request::Mode;
use super::request::{Persistent, REQUESTS, ReqKind, Request};
use super::sched::{self, Sched};
use super::shmcoll;
use super::topo::Hood;
use super::types::*;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

fn in_place(p: *const c_void) -> bool {
    p == MPI_IN_PLACE.cast_const()
}

/// The communicator of a collective the standard defines only for
/// intracommunicators (the scans).
fn intra(c: MPI_Comm) -> MpiResult<Arc<Comm>> {
    let comm = comm::get(c)?;
    if comm.is_inter() {
        return Err(MpiError::new(
            MPI_ERR_COMM,
            "this collective is not defined on intercommunicators",
        ));
    }
    Ok(comm)
}

/// The root argument on an intercommunicator: `MPI_ROOT` or
/// `MPI_PROC_NULL` in the root's group, the root's rank in the other.
fn inter_root(comm: &Comm, root: c_int) -> MpiResult<Root> {
    match root {
        MPI_ROOT => Ok(Root::Me),
        MPI_PROC_NULL => Ok(Root::Idle),
        r if (0..comm.peer_size()).contains(&r) => Ok(Root::Remote(r)),
        r => Err(MpiError::new(
            MPI_ERR_ROOT,
            format!(
                "invalid root {r} on an intercommunicator (remote size {}; \
                 MPI_ROOT or MPI_PROC_NULL in the root's group)",
                comm.peer_size()
            ),
        )),
    }
}

/// `MPI_IN_PLACE` has no meaning on intercommunicators.
fn not_in_place(p: *const c_void) -> MpiResult<()> {
    if in_place(p) {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "MPI_IN_PLACE is not valid on an intercommunicator",
        ));
    }
    Ok(())
}

fn root_of(comm: &Comm, root: c_int) -> MpiResult<c_int> {
    if (0..comm.size).contains(&root) {
        Ok(root)
    } else {
        Err(MpiError::new(
            MPI_ERR_ROOT,
            format!("invalid root {root} (communicator size {})", comm.size),
        ))
    }
}

/// A per-rank array argument: `int` in the classic functions, `MPI_Count`
/// or `MPI_Aint` in the large-count ones.
#[derive(Clone, Copy)]
pub enum Arr {
    Int(*const c_int),
    Big(*const i64),
}

impl Arr {
    /// The first `n` values; `what` names the argument if it is null.
    fn values(self, n: usize, what: &str) -> MpiResult<Vec<i64>> {
        Ok(match self {
            Arr::Int(p) => unsafe { c_array(p, n, what) }?
                .iter()
                .map(|&x| x.into())
                .collect(),
            Arr::Big(p) => unsafe { c_array(p, n, what) }?.to_vec(),
        })
    }
}

pub const NO_ARR: Arr = Arr::Int(std::ptr::null());

/// Which way data flows through a buffer argument of a collective.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Read by the collective (send buffers).
    In,
    /// Written by it (receive buffers).
    Out,
    /// Both (`MPI_IN_PLACE`).
    InOut,
}

/// The buffers of one collective call as the algorithms see them:
/// contiguous bytes. A buffer of a non-contiguous datatype is replaced by a
/// packed copy: `fill` packs the inputs into their copies when the
/// collective starts, `finish` unpacks the copies it wrote when it ends.
#[derive(Default)]
struct Staging {
    /// The copies, only ever accessed through the addresses below.
    temps: Vec<Box<[u8]>>,
    /// Address in a copy, and the user's buffer.
    inputs: Vec<(usize, MsgBuf)>,
    outputs: Vec<(usize, MsgBuf)>,
    /// Memory images (a copy laid out as the user's buffer, holes and
    /// all), and the user's buffer.
    image_inputs: Vec<(MsgBuf, MsgBuf)>,
    image_outputs: Vec<(MsgBuf, MsgBuf)>,
}

impl Staging {
    /// One packed copy of `blocks`, laid end to end: its address.
    fn stage(&mut self, blocks: &[MsgBuf], dir: Dir) -> usize {
        let total = blocks.iter().map(|b| b.bytes).sum::<usize>();
        let mut temp = vec![0u8; total].into_boxed_slice();
        let base = temp.as_mut_ptr() as usize;
        let mut at = base;
        for b in blocks {
            if dir != Dir::Out {
                self.inputs.push((at, b.clone()));
            }
            if dir != Dir::In {
                self.outputs.push((at, b.clone()));
            }
            at += b.bytes;
        }
        self.temps.push(temp);
        base
    }

    /// Address and byte length of `count` elements of `dt` at `buf`.
    fn span(
        &mut self,
        buf: *const c_void,
        count: i64,
        dt: MPI_Datatype,
        dir: Dir,
    ) -> MpiResult<(usize, usize)> {
        let m = MsgBuf::new(buf as usize, count, dt)?;
        if m.layout.is_none() {
            return Ok((m.addr, m.bytes));
        }
        let len = m.bytes;
        Ok((self.stage(&[m], dir), len))
    }

    /// The blocks of a collective's buffer, from counts and displacements
    /// (in extents of `dt`) for the v-forms, or `count` elements per rank:
    /// the base address and each block's offset from it and length.
    fn blocks(
        &mut self,
        buf: *const c_void,
        n: c_int,
        counts: Arr,
        displs: Option<Arr>,
        count: i64,
        dt: MPI_Datatype,
        what: &str,
        dir: Dir,
    ) -> MpiResult<(usize, Vec<Block>)> {
        let n = n as usize;
        let (counts, displs) = match displs {
            Some(d) => (
                counts.values(n, &format!("{what}counts"))?,
                d.values(n, "displs")?,
            ),
            None => (vec![count; n], (0..n as i64).map(|i| i * count).collect()),
        };
        check_counts(&counts)?;
        let extent = if counts.iter().all(|&c| c == 0) {
            0
        } else {
            datatype::get(dt)?.extent()
        };
        // Displacements may be negative (relative to the buffer).
        let bufs = counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| MsgBuf::new((buf as usize).wrapping_add((d * extent) as usize), c, dt))
            .collect::<MpiResult<Vec<_>>>()?;
        if buf.is_null() && bufs.iter().any(|b| b.bytes > 0) && datatype::get(dt)?.named.is_some() {
            // MPI_BOTTOM only makes sense with a derived type's absolute addresses.
            return Err(MpiError::new(MPI_ERR_BUFFER, format!("null {what} buffer")));
        }
        Ok(self.place(buf as usize, &bufs, dir))
    }

    /// `bufs` as blocks relative to `base`: in place when all are
    /// contiguous, else packed into one copy.
    fn place(&mut self, base: usize, bufs: &[MsgBuf], dir: Dir) -> (usize, Vec<Block>) {
        if bufs.iter().all(|b| b.layout.is_none()) {
            let list = bufs
                .iter()
                .map(|b| (b.addr.wrapping_sub(base), b.bytes))
                .collect();
            return (base, list);
        }
        let base = self.stage(bufs, dir);
        let mut at = 0;
        let list = bufs
            .iter()
            .map(|b| {
                at += b.bytes;
                (at - b.bytes, b.bytes)
            })
            .collect();
        (base, list)
    }

    /// A copy of `count` elements of `dt` at `buf` laid out as they are
    /// there, holes included: a user operation reads its operands that
    /// way. Only the data is copied in and out; holes stay as they are.
    /// Needs the data of each element within its extent, `[0, extent)`.
    fn image(&mut self, buf: usize, count: i64, dt: MPI_Datatype, dir: Dir) -> MpiResult<usize> {
        let t = datatype::get(dt)?;
        let extent = t.extent();
        if t.true_lb < 0 || t.true_ub > extent {
            return Err(MpiError::new(
                MPI_ERR_UNSUPPORTED_OPERATION,
                "user-defined operations on datatypes whose data lies outside [0, extent) are not supported",
            ));
        }
        let user = MsgBuf::new(buf, count, dt)?;
        let mut temp = vec![0u8; count as usize * extent as usize].into_boxed_slice();
        let base = temp.as_mut_ptr() as usize;
        let copy = MsgBuf::new(base, count, dt)?;
        if dir != Dir::Out {
            self.image_inputs.push((copy.clone(), user.clone()));
        }
        if dir != Dir::In {
            self.image_outputs.push((copy, user));
        }
        self.temps.push(temp);
        Ok(base)
    }

    /// Pack the inputs into their copies.
    fn fill(&self) {
        for (at, b) in &self.inputs {
            // SAFETY: `at` starts `b.bytes` bytes of a copy this owns.
            let to = unsafe { std::slice::from_raw_parts_mut(*at as *mut u8, b.bytes) };
            to.copy_from_slice(&b.packed());
        }
        for (copy, user) in &self.image_inputs {
            copy.unpack_from(&user.packed());
        }
    }

    /// Unpack what the collective wrote into the user's buffers.
    fn finish(&self) {
        for (at, b) in &self.outputs {
            // SAFETY: as in `fill`.
            b.unpack_from(unsafe { std::slice::from_raw_parts(*at as *const u8, b.bytes) });
        }
        for (copy, user) in &self.image_outputs {
            user.unpack_from(&copy.packed());
        }
    }
}

// SAFETY: the addresses point into the copies the staging owns, which are
// only touched while the one schedule using them runs.
unsafe impl Send for Staging {}
unsafe impl Sync for Staging {}

fn check_counts(counts: &[i64]) -> MpiResult<()> {
    match counts.iter().find(|&&c| c < 0) {
        Some(&c) => Err(MpiError::new(MPI_ERR_COUNT, format!("negative count {c}"))),
        None => Ok(()),
    }
}

/// The send buffer may not be the receive buffer (or this rank's block of
/// it): that is what `MPI_IN_PLACE` is for.
fn no_alias(send: usize, recv: usize, len: usize) -> MpiResult<()> {
    if len > 0 && send == recv {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "send and receive buffers are the same (use MPI_IN_PLACE)",
        ));
    }
    Ok(())
}

/// The schedule of one run: inputs packed, the algorithm's steps, outputs
/// unpacked once it succeeds.
fn schedule(comm: &Comm, tag: c_int, st: &Arc<Staging>, build: &dyn Fn(&mut Sched)) -> Sched {
    st.fill();
    let mut s = Sched::tagged(comm, tag);
    build(&mut s);
    if !st.temps.is_empty() {
        let st = st.clone();
        s.on_success(move || st.finish());
    }
    s
}

/// The node-local channel (`core::shmcoll`) of a blocking collective of
/// `len` bytes on `comm`, if the communicator has one: the collective goes
/// by its cells, or by messages the way its decider announces there.
/// Depends only on the communicator, so all members go the same way even
/// when their counts differ; with `OXMPI_COLL_CHECK` they first check
/// that they do not.
fn node_channel(
    comm: &Comm,
    mode: &Mode<'_>,
    len: usize,
) -> MpiResult<Option<Arc<shmcoll::Channel>>> {
    match mode {
        Mode::Blocking => {
            if comm.algorithms.check() && !comm.is_inter() {
                agree_on_size(comm, len)?;
            }
            shmcoll::channel(comm)
        }
        _ => Ok(None),
    }
}

/// The opt-in check of `OXMPI_COLL_CHECK`: the members exchange the byte
/// count of this blocking collective (by messages, a fixed-size exchange
/// every member can make), so a count or datatype mismatch, which could
/// send members down different algorithms and leave them waiting for each
/// other, fails the call on every member instead.
fn agree_on_size(comm: &Comm, len: usize) -> MpiResult<()> {
    let (least, most) = coll::least_and_most(comm, len as i64)?;
    if most == least {
        return Ok(());
    }
    Err(MpiError::new(
        MPI_ERR_TRUNCATE,
        format!(
            "the processes' counts or datatypes do not match: this collective moves {least} to \
             {most} bytes depending on the process (found by OXMPI_COLL_CHECK)"
        ),
    )
    .on_comm(comm.handle))
}

/// Run `f` on a staged collective: inputs packed first, outputs unpacked
/// after it succeeds.
fn staged(
    st: &Staging,
    len: usize,
    f: impl FnOnce() -> MpiResult<Option<Way>>,
) -> MpiResult<Option<Way>> {
    // Only data that fits a cell is read from the copies here.
    if len <= shmcoll::MAX_BYTES {
        st.fill();
    }
    let way = f()?;
    if way.is_none() {
        st.finish();
    }
    Ok(way)
}

/// Equal blocks of a buffer, end to end: in place when they are so
/// already, else in a copy.
struct Joined<'a> {
    base: usize,
    blocks: &'a [Block],
    copy: Option<Vec<u8>>,
}

impl<'a> Joined<'a> {
    fn new(base: usize, blocks: &'a [Block], block: usize) -> Joined<'a> {
        let apart = blocks
            .iter()
            .enumerate()
            .any(|(i, &(off, len))| off != i * block || len != block);
        Joined {
            base,
            blocks,
            copy: apart.then(|| vec![0; block * blocks.len()]),
        }
    }

    fn at(&self) -> usize {
        self.copy
            .as_ref()
            .map_or(self.base, |c| c.as_ptr() as usize)
    }

    /// Fill the copy from the blocks.
    fn gather(&self) {
        if let Some(c) = &self.copy {
            let mut at = c.as_ptr() as *mut u8;
            for &(off, len) in self.blocks {
                // SAFETY: each block lies in the caller's buffer; the copy
                // holds them all.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        self.base.wrapping_add(off) as *const u8,
                        at,
                        len,
                    );
                    at = at.add(len);
                }
            }
        }
    }

    /// Copy the copy out to the blocks.
    fn scatter(&self) {
        if let Some(c) = &self.copy {
            let mut at = c.as_ptr();
            for &(off, len) in self.blocks {
                // SAFETY: as in `gather`.
                unsafe {
                    std::ptr::copy_nonoverlapping(at, self.base.wrapping_add(off) as *mut u8, len);
                    at = at.add(len);
                }
            }
        }
    }
}

/// Run the collective `build` describes on `comm`, as `mode` says.
fn launch(
    comm: Arc<Comm>,
    mode: Mode<'_>,
    st: Staging,
    build: impl Fn(&mut Sched) + Send + Sync + 'static,
) -> MpiResult<()> {
    match mode {
        Mode::Blocking => {
            st.fill();
            let mut s = Sched::blocking(&comm);
            build(&mut s);
            s.run()?;
            st.finish();
        }
        Mode::Start(slot) => {
            let s = schedule(&comm, sched::next_tag(&comm), &Arc::new(st), &build);
            let req = Request::new(ReqKind::Coll, comm.handle);
            *slot = REQUESTS.insert(req.clone());
            s.start(comm, req);
        }
        Mode::Init(info, slot) => {
            info_arg(info)?;
            let st = Arc::new(st);
            let tag = sched::next_tag(&comm);
            let op = Persistent::Coll(Arc::new(move |c: &Comm| schedule(c, tag, &st, &build)));
            *slot = REQUESTS.insert(Request::persistent(ReqKind::Coll, comm.handle, op));
        }
    }
    Ok(())
}

#[doc(alias = "MPI_Barrier")]
pub fn barrier(comm: MPI_Comm, mode: Mode<'_>) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    let n = comm.size;
    if comm.is_inter() {
        return launch(comm, mode, Staging::default(), move |s| {
            coll::inter_barrier(s, n)
        });
    }
    if let Some(ch) = node_channel(&comm, &mode, 0)? {
        return ch.barrier();
    }
    if let Some(h) = comm.hosts().cloned() {
        return launch(comm, mode, Staging::default(), move |s| {
            coll_hier::barrier(s, &h)
        });
    }
    launch(comm, mode, Staging::default(), move |s| coll::barrier(s, n))
}

#[doc(alias = "MPI_Bcast")]
pub fn bcast(
    buffer: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    if comm.is_inter() {
        let root = inter_root(&comm, root)?;
        let mut st = Staging::default();
        let (p, len) = match root {
            Root::Idle => (0, 0),
            Root::Me => st.span(buffer, count, datatype, Dir::In)?,
            Root::Remote(_) => st.span(buffer, count, datatype, Dir::Out)?,
        };
        let n = comm.size;
        return launch(comm, mode, st, move |s| {
            coll::inter_bcast(s, n, p, len, root)
        });
    }
    let root = root_of(&comm, root)?;
    let mut st = Staging::default();
    let dir = if comm.rank == root { Dir::In } else { Dir::Out };
    let (p, len) = st.span(buffer, count, datatype, dir)?;
    let n = comm.size;
    let mut way = comm.algorithms.bcast(n, len);
    if let Some(ch) = node_channel(&comm, &mode, len)? {
        match staged(&st, len, || ch.bcast(p, len, root, way))? {
            None => return Ok(()),
            Some(w) => way = w,
        }
    }
    if let Some(h) = comm.hosts().cloned() {
        return launch(comm, mode, st, move |s| {
            coll_hier::bcast(s, &h, p, len, root)
        });
    }
    launch(comm, mode, st, move |s| {
        coll::bcast_by(s, way, n, p, len, root)
    })
}

/// How a reduction's kernel sees a datatype: elements of `size` bytes.
/// Predefined operations apply to predefined datatypes (the value-index
/// pairs in their C layout), as in MPICH; user operations to any. The
/// elements of a derived type with holes travel as memory `image`s, one
/// extent each, so the user's function finds them laid out as it expects.
#[derive(Clone, Copy)]
struct RedElem {
    size: usize,
    image: bool,
}

fn red_elem(dt: MPI_Datatype, opr: MPI_Op) -> MpiResult<RedElem> {
    op::check(opr)?;
    let t = datatype::get_committed(dt)?;
    let mut image = false;
    if t.named.is_none() {
        if USER_OPS.get(opr).is_none() {
            return Err(MpiError::new(
                MPI_ERR_OP,
                format!("predefined operations apply to predefined datatypes only (not 0x{dt:x})"),
            ));
        }
        image = t.contiguous_offset(2) != Some(0);
    }
    op::validate(opr, dt)?;
    let size = if image {
        t.extent() as usize
    } else {
        datatype::element_size(dt)?
    };
    Ok(RedElem { size, image })
}

impl Staging {
    /// Address and length of `count` elements of a reduction at `buf`.
    fn red_span(
        &mut self,
        buf: *const c_void,
        count: i64,
        dt: MPI_Datatype,
        e: RedElem,
        dir: Dir,
    ) -> MpiResult<(usize, usize)> {
        check_counts(&[count])?;
        let len = (count as usize)
            .checked_mul(e.size)
            .ok_or_else(|| MpiError::new(MPI_ERR_COUNT, "count too large"))?;
        if len > 0 && buf.is_null() {
            return Err(MpiError::new(
                MPI_ERR_BUFFER,
                "null buffer with a nonzero count",
            ));
        }
        if e.image && len > 0 {
            return Ok((self.image(buf as usize, count, dt, dir)?, len));
        }
        Ok((buf as usize, len))
    }
}

/// A reduction's send and receive addresses and its elements; `receives`
/// says whether this rank gets a result (`MPI_IN_PLACE` is only valid
/// then); `inout`, whether the receive buffer is also an operand.
fn reduction(
    st: &mut Staging,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    dt: MPI_Datatype,
    opr: MPI_Op,
    receives: bool,
    inout: bool,
) -> MpiResult<(usize, usize, Red)> {
    let e = red_elem(dt, opr)?;
    let place = in_place(sendbuf);
    if place && !receives {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "MPI_IN_PLACE is only valid at the root here",
        ));
    }
    let (r, len) = if receives {
        let dir = if place || inout { Dir::InOut } else { Dir::Out };
        st.red_span(recvbuf, count, dt, e, dir)?
    } else {
        (recvbuf as usize, 0)
    };
    let s = if place {
        r
    } else {
        st.red_span(sendbuf, count, dt, e, Dir::In)?.0
    };
    if receives && !place {
        no_alias(sendbuf as usize, recvbuf as usize, len)?;
    }
    let red = Red {
        count: count as usize,
        dt,
        size: e.size,
        op: opr,
    };
    Ok((s, r, red))
}

#[doc(alias = "MPI_Reduce")]
pub fn reduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    if comm.is_inter() {
        let root = inter_root(&comm, root)?;
        // The root's group but not the root: every other argument is
        // ignored.
        let e = if root == Root::Idle {
            RedElem {
                size: 0,
                image: false,
            }
        } else {
            red_elem(datatype, op)?
        };
        let mut st = Staging::default();
        let (sb, rb) = match root {
            Root::Idle => (0, 0),
            Root::Me => (0, st.red_span(recvbuf, count, datatype, e, Dir::Out)?.0),
            Root::Remote(_) => (st.red_span(sendbuf, count, datatype, e, Dir::In)?.0, 0),
        };
        let red = Red {
            count: count as usize,
            dt: datatype,
            size: e.size,
            op,
        };
        let n = comm.size;
        return launch(comm, mode, st, move |s| {
            coll::inter_reduce(s, n, sb, rb, red, root)
        });
    }
    let root = root_of(&comm, root)?;
    let mut st = Staging::default();
    let me = comm.rank == root;
    let (sb, rb, red) = reduction(&mut st, sendbuf, recvbuf, count, datatype, op, me, false)?;
    let n = comm.size;
    let mut way = coll::reduction_way(n, &red);
    let len = red.count * red.size;
    if let Some(ch) = node_channel(&comm, &mode, len)? {
        match staged(&st, len, || ch.reduce(sb, rb, red, Some(root), way))? {
            None => return Ok(()),
            Some(w) => way = w,
        }
    }
    if let Some(h) = comm.hosts().filter(|_| coll_hier::exact(&red)).cloned() {
        return launch(comm, mode, st, move |s| {
            coll_hier::reduce(s, &h, sb, rb, red, root)
        });
    }
    launch(comm, mode, st, move |s| {
        coll::reduce_by(s, way, n, sb, rb, red, root)
    })
}

#[doc(alias = "MPI_Allreduce")]
pub fn allreduce(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    if comm.is_inter() {
        not_in_place(sendbuf)?;
    }
    let mut st = Staging::default();
    let (sb, rb, red) = reduction(&mut st, sendbuf, recvbuf, count, datatype, op, true, false)?;
    let n = comm.size;
    if comm.is_inter() {
        return launch(comm, mode, st, move |s| {
            coll::inter_allreduce(s, n, sb, rb, red)
        });
    }
    let mut way = coll::reduction_way(n, &red);
    let len = red.count * red.size;
    if let Some(ch) = node_channel(&comm, &mode, len)? {
        match staged(&st, len, || ch.reduce(sb, rb, red, None, way))? {
            None => return Ok(()),
            Some(w) => way = w,
        }
    }
    if let Some(h) = comm.hosts().filter(|_| coll_hier::exact(&red)).cloned() {
        return launch(comm, mode, st, move |s| {
            coll_hier::allreduce(s, &h, sb, rb, red)
        });
    }
    launch(comm, mode, st, move |s| {
        coll::allreduce_by(s, way, n, sb, rb, red)
    })
}

#[doc(alias = "MPI_Reduce_local")]
pub fn reduce_local(
    inbuf: *const c_void,
    inoutbuf: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    op: MPI_Op,
) -> MpiResult<()> {
    if in_place(inbuf) || in_place(inoutbuf) {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "MPI_IN_PLACE is not valid in MPI_Reduce_local",
        ));
    }
    let mut st = Staging::default();
    let (s, r, red) = reduction(&mut st, inbuf, inoutbuf, count, datatype, op, true, true)?;
    st.fill();
    // SAFETY: both buffers hold `count` elements of `datatype`.
    unsafe { op::apply(op, datatype, red.count, s as *const u8, r as *mut u8) }?;
    st.finish();
    Ok(())
}

fn reduce_scatter_any(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Option<Arr>,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    if comm.is_inter() {
        not_in_place(sendbuf)?;
    }
    let n = comm.size as usize;
    let counts: Vec<i64> = match recvcounts {
        Some(a) => a.values(n, "recvcounts")?,
        None => vec![recvcount; n],
    };
    check_counts(&counts)?;
    let total: i64 = counts.iter().sum();
    let e = red_elem(datatype, op)?;
    let mut st = Staging::default();
    let (sb, rb) = if in_place(sendbuf) {
        // In place, the whole input vector is in the receive buffer.
        let (p, _) = st.red_span(recvbuf, total, datatype, e, Dir::InOut)?;
        (p, p)
    } else {
        let mine = counts[comm.rank as usize];
        let (r, _) = st.red_span(recvbuf, mine, datatype, e, Dir::Out)?;
        let (s, len) = st.red_span(sendbuf, total, datatype, e, Dir::In)?;
        no_alias(sendbuf as usize, recvbuf as usize, len)?;
        (s, r)
    };
    let counts: Vec<usize> = counts.iter().map(|&x| x as usize).collect();
    let red = Red {
        count: 0,
        dt: datatype,
        size: e.size,
        op,
    };
    if comm.is_inter() {
        return launch(comm, mode, st, move |s| {
            coll::inter_reduce_scatter(s, sb, rb, &counts, red)
        });
    }
    launch(comm, mode, st, move |s| {
        coll::reduce_scatter(s, sb, rb, &counts, red)
    })
}

#[doc(alias = "MPI_Scan")]
#[doc(alias = "MPI_Exscan")]
#[allow(clippy::too_many_arguments)]
pub fn scan(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    exclusive: bool,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = intra(comm)?;
    let mut st = Staging::default();
    // Rank 0 of an exclusive scan gets no result: its buffer stays as it was.
    let (sb, rb, red) = reduction(
        &mut st, sendbuf, recvbuf, count, datatype, op, true, exclusive,
    )?;
    let n = comm.size;
    launch(comm, mode, st, move |s| {
        coll::scan(s, n, sb, rb, red, exclusive)
    })
}

fn gather_any(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Arr,
    displs: Option<Arr>,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    if comm.is_inter() {
        let root = inter_root(&comm, root)?;
        let mut st = Staging::default();
        let (mut send, mut base, mut bl) = ((0, 0), 0, Vec::new());
        match root {
            Root::Idle => {}
            Root::Me => {
                (base, bl) = st.blocks(
                    recvbuf,
                    comm.peer_size(),
                    recvcounts,
                    displs,
                    recvcount,
                    recvtype,
                    "recv",
                    Dir::Out,
                )?
            }
            Root::Remote(_) => send = st.span(sendbuf, sendcount, sendtype, Dir::In)?,
        }
        return launch(comm, mode, st, move |s| {
            coll::inter_gatherv(s, send, base, &bl, root)
        });
    }
    let root = root_of(&comm, root)?;
    let is_root = comm.rank == root;
    let mut st = Staging::default();
    let send = if is_root && in_place(sendbuf) {
        None
    } else {
        Some(st.span(sendbuf, sendcount, sendtype, Dir::In)?)
    };
    let (base, bl) = if is_root {
        let (base, b) = st.blocks(
            recvbuf,
            comm.size,
            recvcounts,
            displs,
            recvcount,
            recvtype,
            "recv",
            Dir::Out,
        )?;
        if let Some((p, _)) = send {
            let (off, len) = b[root as usize];
            no_alias(p, base.wrapping_add(off), len)?;
        }
        (base, b)
    } else {
        (0, Vec::new())
    };
    launch(comm, mode, st, move |s| {
        coll::gatherv(s, send, base, &bl, root)
    })
}

fn scatter_any(
    sendbuf: *const c_void,
    sendcount: i64,
    sendcounts: Arr,
    displs: Option<Arr>,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    if comm.is_inter() {
        let root = inter_root(&comm, root)?;
        let mut st = Staging::default();
        let (mut recv, mut base, mut bl) = ((0, 0), 0, Vec::new());
        match root {
            Root::Idle => {}
            Root::Me => {
                (base, bl) = st.blocks(
                    sendbuf,
                    comm.peer_size(),
                    sendcounts,
                    displs,
                    sendcount,
                    sendtype,
                    "send",
                    Dir::In,
                )?
            }
            Root::Remote(_) => recv = st.span(recvbuf, recvcount, recvtype, Dir::Out)?,
        }
        return launch(comm, mode, st, move |s| {
            coll::inter_scatterv(s, base, &bl, recv, root)
        });
    }
    let root = root_of(&comm, root)?;
    let is_root = comm.rank == root;
    let mut st = Staging::default();
    let recv = if is_root && in_place(recvbuf) {
        None
    } else {
        Some(st.span(recvbuf, recvcount, recvtype, Dir::Out)?)
    };
    let (base, bl) = if is_root {
        let (base, b) = st.blocks(
            sendbuf,
            comm.size,
            sendcounts,
            displs,
            sendcount,
            sendtype,
            "send",
            Dir::In,
        )?;
        if let Some((p, _)) = recv {
            let (off, len) = b[root as usize];
            no_alias(base.wrapping_add(off), p, len)?;
        }
        (base, b)
    } else {
        (0, Vec::new())
    };
    launch(comm, mode, st, move |s| {
        coll::scatterv(s, base, &bl, recv, root)
    })
}

fn allgather_any(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Arr,
    displs: Option<Arr>,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    if comm.is_inter() {
        not_in_place(sendbuf)?;
        let mut st = Staging::default();
        let send = st.span(sendbuf, sendcount, sendtype, Dir::In)?;
        let (base, bl) = st.blocks(
            recvbuf,
            comm.peer_size(),
            recvcounts,
            displs,
            recvcount,
            recvtype,
            "recv",
            Dir::Out,
        )?;
        return launch(comm, mode, st, move |s| {
            coll::inter_allgatherv(s, send, base, &bl)
        });
    }
    let mut st = Staging::default();
    let place = in_place(sendbuf);
    let send = if place {
        None
    } else {
        Some(st.span(sendbuf, sendcount, sendtype, Dir::In)?)
    };
    // In place, this rank's block of the receive buffer is its input.
    let dir = if place { Dir::InOut } else { Dir::Out };
    let (base, bl) = st.blocks(
        recvbuf, comm.size, recvcounts, displs, recvcount, recvtype, "recv", dir,
    )?;
    if let Some((p, _)) = send {
        let (off, len) = bl[comm.rank as usize];
        no_alias(p, base.wrapping_add(off), len)?;
    }
    // Every member knows every block's length: they all decide alike.
    let largest = bl.iter().map(|b| b.1).max().unwrap_or(0);
    if let Some(ch) = node_channel(&comm, &mode, largest)?
        && staged(&st, largest, || ch.allgather(send, base, &bl, largest))?.is_none()
    {
        return Ok(());
    }
    launch(comm, mode, st, move |s| {
        coll::allgatherv(s, send, base, &bl)
    })
}

fn alltoall_any(
    sendbuf: *const c_void,
    sendcount: i64,
    sendcounts: Arr,
    sdispls: Option<Arr>,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Arr,
    rdispls: Option<Arr>,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    let inter = comm.is_inter();
    if inter {
        not_in_place(sendbuf)?;
    }
    let n = comm.peer_size();
    let place = in_place(sendbuf);
    let mut st = Staging::default();
    let dir = if place { Dir::InOut } else { Dir::Out };
    let (rbase, rb) = st.blocks(
        recvbuf, n, recvcounts, rdispls, recvcount, recvtype, "recv", dir,
    )?;
    let (sbase, sb) = if place {
        (rbase, rb.clone())
    } else {
        st.blocks(
            sendbuf,
            n,
            sendcounts,
            sdispls,
            sendcount,
            sendtype,
            "send",
            Dir::In,
        )?
    };
    if !place && !sendbuf.is_null() && sendbuf == recvbuf.cast_const() {
        let any = rb.iter().map(|&(_, l)| l).sum::<usize>();
        no_alias(sbase, rbase, any)?;
    }
    if rdispls.is_none() && !inter {
        // MPI_Alltoall: one block length everywhere, blocks end to end
        // (packed, or a contiguous type).
        let block = rb.first().map_or(0, |b| b.1);
        let sblock = sb.first().map_or(0, |b| b.1);
        let total = block * n as usize;
        if let Some(ch) = node_channel(&comm, &mode, total)? {
            let cells = staged(&st, total, || {
                if total > shmcoll::MAX_BYTES {
                    // Only announced: no data read.
                    return ch.alltoall(0, sblock, 0, block);
                }
                // Blocks apart (a type whose extent exceeds its data) go
                // through a copy with the blocks end to end.
                let (s, r) = (
                    Joined::new(sbase, &sb, sblock),
                    Joined::new(rbase, &rb, block),
                );
                s.gather();
                let way = ch.alltoall(s.at(), sblock, r.at(), block)?;
                if way.is_none() {
                    r.scatter();
                }
                Ok(way)
            })?;
            if cells.is_none() {
                return Ok(());
            }
        }
    }
    launch(comm, mode, st, move |s| {
        coll::alltoallv(s, (!place).then_some(sbase), &sb, rbase, &rb, !inter)
    })
}

/// The message buffers of an `MPI_Alltoallw` argument: per rank a count,
/// a displacement in bytes and a datatype.
fn w_bufs(
    buf: *const c_void,
    n: usize,
    counts: Arr,
    displs: Arr,
    types: *const MPI_Datatype,
    what: &str,
) -> MpiResult<Vec<MsgBuf>> {
    let counts = counts.values(n, &format!("{what}counts"))?;
    let displs = displs.values(n, &format!("{what}displs"))?;
    let types = unsafe { c_array(types, n, &format!("{what}types")) }?;
    check_counts(&counts)?;
    (0..n)
        .map(|i| {
            MsgBuf::new(
                (buf as usize).wrapping_add(displs[i] as usize),
                counts[i],
                types[i],
            )
        })
        .collect()
}

#[doc(alias = "MPI_Alltoallw")]
pub fn alltoallw(
    sendbuf: *const c_void,
    sendcounts: Arr,
    sdispls: Arr,
    sendtypes: *const MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: Arr,
    rdispls: Arr,
    recvtypes: *const MPI_Datatype,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let comm = comm::get(comm)?;
    let inter = comm.is_inter();
    if inter {
        not_in_place(sendbuf)?;
    }
    let n = comm.peer_size() as usize;
    let place = in_place(sendbuf);
    let mut st = Staging::default();
    let dir = if place { Dir::InOut } else { Dir::Out };
    let rbufs = w_bufs(recvbuf, n, recvcounts, rdispls, recvtypes, "recv")?;
    let (rbase, rb) = st.place(recvbuf as usize, &rbufs, dir);
    let (sbase, sb) = if place {
        (rbase, rb.clone())
    } else {
        let sbufs = w_bufs(sendbuf, n, sendcounts, sdispls, sendtypes, "send")?;
        st.place(sendbuf as usize, &sbufs, Dir::In)
    };
    if !place && !sendbuf.is_null() && sendbuf == recvbuf.cast_const() {
        let any = rb.iter().map(|&(_, l)| l).sum::<usize>();
        no_alias(sbase, rbase, any)?;
    }
    launch(comm, mode, st, move |s| {
        coll::alltoallv(s, (!place).then_some(sbase), &sb, rbase, &rb, !inter)
    })
}

/// The communicator of a neighbourhood collective and this process's
/// neighbourhood in its topology.
fn hood_of(c: MPI_Comm, sendbuf: *const c_void) -> MpiResult<(Arc<Comm>, Arc<Hood>)> {
    let comm = comm::get(c)?;
    let Some(topo) = comm.topo.get() else {
        return Err(MpiError::new(
            MPI_ERR_TOPOLOGY,
            "neighbourhood collectives need a communicator with a process topology",
        ));
    };
    if in_place(sendbuf) {
        return Err(MpiError::new(
            MPI_ERR_BUFFER,
            "MPI_IN_PLACE is not valid in neighbourhood collectives",
        ));
    }
    let hood = Arc::new(topo.hood(comm.rank));
    Ok((comm, hood))
}

fn neighbor_allgather_any(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Arr,
    displs: Option<Arr>,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let (comm, hood) = hood_of(comm, sendbuf)?;
    let mut st = Staging::default();
    let (p, len) = st.span(sendbuf, sendcount, sendtype, Dir::In)?;
    let sb = vec![(0, len); hood.dests.len()];
    let indeg = hood.sources.len() as c_int;
    let (rbase, rb) = st.blocks(
        recvbuf,
        indeg,
        recvcounts,
        displs,
        recvcount,
        recvtype,
        "recv",
        Dir::Out,
    )?;
    launch(comm, mode, st, move |s| {
        coll::neighbor_alltoallv(s, &hood, p, &sb, rbase, &rb)
    })
}

fn neighbor_alltoall_any(
    sendbuf: *const c_void,
    sendcount: i64,
    sendcounts: Arr,
    sdispls: Option<Arr>,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvcounts: Arr,
    rdispls: Option<Arr>,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let (comm, hood) = hood_of(comm, sendbuf)?;
    let (indeg, outdeg) = (hood.sources.len() as c_int, hood.dests.len() as c_int);
    let mut st = Staging::default();
    let (sbase, sb) = st.blocks(
        sendbuf,
        outdeg,
        sendcounts,
        sdispls,
        sendcount,
        sendtype,
        "send",
        Dir::In,
    )?;
    let (rbase, rb) = st.blocks(
        recvbuf,
        indeg,
        recvcounts,
        rdispls,
        recvcount,
        recvtype,
        "recv",
        Dir::Out,
    )?;
    launch(comm, mode, st, move |s| {
        coll::neighbor_alltoallv(s, &hood, sbase, &sb, rbase, &rb)
    })
}

#[doc(alias = "MPI_Neighbor_alltoallw")]
pub fn neighbor_alltoallw(
    sendbuf: *const c_void,
    sendcounts: Arr,
    sdispls: Arr,
    sendtypes: *const MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: Arr,
    rdispls: Arr,
    recvtypes: *const MPI_Datatype,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let (comm, hood) = hood_of(comm, sendbuf)?;
    let (indeg, outdeg) = (hood.sources.len(), hood.dests.len());
    let mut st = Staging::default();
    let sbufs = w_bufs(sendbuf, outdeg, sendcounts, sdispls, sendtypes, "send")?;
    let (sbase, sb) = st.place(sendbuf as usize, &sbufs, Dir::In);
    let rbufs = w_bufs(recvbuf, indeg, recvcounts, rdispls, recvtypes, "recv")?;
    let (rbase, rb) = st.place(recvbuf as usize, &rbufs, Dir::Out);
    launch(comm, mode, st, move |s| {
        coll::neighbor_alltoallv(s, &hood, sbase, &sb, rbase, &rb)
    })
}

// ---------------------------------------------------------------------------
// The C functions' entry points that share one implementation above: each
// collective family (classic and large-count, blocking, `MPI_I...` and
// `..._init`) calls one of these with 64-bit counts and its mode; the
// neighbourhood forms share their entry with the plain ones
// (`neighbors`, which the C function's name gives).

#[doc(alias = "MPI_Reduce_scatter_block")]
pub fn reduce_scatter_block(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcount: i64,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    reduce_scatter_any(sendbuf, recvbuf, recvcount, None, datatype, op, comm, mode)
}

#[doc(alias = "MPI_Reduce_scatter")]
pub fn reduce_scatter(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcounts: Arr,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    reduce_scatter_any(
        sendbuf,
        recvbuf,
        0,
        Some(recvcounts),
        datatype,
        op,
        comm,
        mode,
    )
}

#[doc(alias = "MPI_Gather")]
pub fn gather(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    gather_any(
        sendbuf, sendcount, sendtype, recvbuf, recvcount, NO_ARR, None, recvtype, root, comm, mode,
    )
}

#[doc(alias = "MPI_Gatherv")]
pub fn gatherv(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: Arr,
    displs: Arr,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    gather_any(
        sendbuf,
        sendcount,
        sendtype,
        recvbuf,
        0,
        recvcounts,
        Some(displs),
        recvtype,
        root,
        comm,
        mode,
    )
}

#[doc(alias = "MPI_Scatter")]
pub fn scatter(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    scatter_any(
        sendbuf, sendcount, NO_ARR, None, sendtype, recvbuf, recvcount, recvtype, root, comm, mode,
    )
}

#[doc(alias = "MPI_Scatterv")]
pub fn scatterv(
    sendbuf: *const c_void,
    sendcounts: Arr,
    displs: Arr,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    mode: Mode<'_>,
) -> MpiResult<()> {
    scatter_any(
        sendbuf,
        0,
        sendcounts,
        Some(displs),
        sendtype,
        recvbuf,
        recvcount,
        recvtype,
        root,
        comm,
        mode,
    )
}

#[doc(alias = "MPI_Allgather")]
#[doc(alias = "MPI_Neighbor_allgather")]
pub fn allgather(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    neighbors: bool,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let any = if neighbors {
        neighbor_allgather_any
    } else {
        allgather_any
    };
    any(
        sendbuf, sendcount, sendtype, recvbuf, recvcount, NO_ARR, None, recvtype, comm, mode,
    )
}

#[doc(alias = "MPI_Allgatherv")]
#[doc(alias = "MPI_Neighbor_allgatherv")]
pub fn allgatherv(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: Arr,
    displs: Arr,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    neighbors: bool,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let any = if neighbors {
        neighbor_allgather_any
    } else {
        allgather_any
    };
    any(
        sendbuf,
        sendcount,
        sendtype,
        recvbuf,
        0,
        recvcounts,
        Some(displs),
        recvtype,
        comm,
        mode,
    )
}

#[doc(alias = "MPI_Alltoall")]
#[doc(alias = "MPI_Neighbor_alltoall")]
pub fn alltoall(
    sendbuf: *const c_void,
    sendcount: i64,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: i64,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    neighbors: bool,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let any = if neighbors {
        neighbor_alltoall_any
    } else {
        alltoall_any
    };
    any(
        sendbuf, sendcount, NO_ARR, None, sendtype, recvbuf, recvcount, NO_ARR, None, recvtype,
        comm, mode,
    )
}

#[doc(alias = "MPI_Alltoallv")]
#[doc(alias = "MPI_Neighbor_alltoallv")]
pub fn alltoallv(
    sendbuf: *const c_void,
    sendcounts: Arr,
    sdispls: Arr,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: Arr,
    rdispls: Arr,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    neighbors: bool,
    mode: Mode<'_>,
) -> MpiResult<()> {
    let any = if neighbors {
        neighbor_alltoall_any
    } else {
        alltoall_any
    };
    any(
        sendbuf,
        0,
        sendcounts,
        Some(sdispls),
        sendtype,
        recvbuf,
        0,
        recvcounts,
        Some(rdispls),
        recvtype,
        comm,
        mode,
    )
}
