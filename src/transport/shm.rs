//! The same-node transport: one shared-memory segment per node per job.
//!
//! Layout of the segment (every part 64-byte aligned):
//!
//! ```text
//! [SegHeader] [Bell; nlocal] [RingCtl + ring bytes; nlocal * nlocal]
//! [CollSlot; nlocal * COLL_CHANNELS]
//! ```
//!
//! Ring `s * nlocal + r` carries records from local rank `s` to local rank
//! `r`: a single-producer single-consumer byte ring of variable-length
//! records (64-byte header + payload, rounded up to 64 bytes). A record that
//! would cross the end of the ring is preceded by a skip record, so records
//! are always contiguous and can be read in place.
//!
//! A record is published by its first word (the header's `kind`, never 0),
//! stored last with release ordering; the reader polls that word at its
//! head, so a small message costs the reader one cache-line transfer (no
//! separate tail counter to fetch first). Before handing space back, the
//! reader zeroes the first word of every 64-byte line the record covered, so
//! wherever the next record starts, its word reads 0 until it is written.
//! The writer keeps its own tail and a cached copy of the reader's head,
//! reloading the shared head only when the cached one shows no room.
//!
//! Each rank owns a [`Bell`]: a futex word its threads sleep on when there is
//! nothing to do. A writer rings the receiver's bell after publishing a
//! record if anyone sleeps there; a reader rings the writer's bell after
//! draining a ring the writer is waiting to write into.
//!
//! Each rank also owns `COLL_CHANNELS` collective slots, which the
//! node-local collectives (`core::shmcoll`) write and the other ranks read.
//!
//! The node's lowest world rank creates the segment (mode 0600, a random
//! name, space reserved up front so a small `/dev/shm` is an error at
//! `MPI_Init`, not a SIGBUS later) and unlinks it once every local rank has
//! attached, so a crash leaks nothing.

use super::bell::Bell;
use super::cells::Slot;
use super::watch::Watch;
use super::{Exchange, HEADER_SIZE, Header, Transport};
use memmap2::MmapMut;
use parking_lot::Mutex;
use std::cell::UnsafeCell;
use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering, fence};

const MAGIC: u64 = 0x4f78_4d50_4953_484d; // "OxMPISHM"
const ALIGN: usize = 64;
/// Ring sizes shrink with the number of ranks to stay within this budget.
const RING_BUDGET: usize = 32 << 20;
const RING_MAX: usize = 256 << 10;
const RING_MIN: usize = 16 << 10;
const LINK_BUDGET: usize = 8 << 20;
/// Record kind of the filler before a wrap-around (0 means "not written").
const SKIP: u32 = u32::MAX;

#[repr(C)]
struct SegHeader {
    magic: AtomicU64,
    nlocal: AtomicU64,
    ring_cap: AtomicU64,
    _pad: [u64; 5],
}

#[repr(C)]
struct RingCtl {
    /// Bytes consumed (written by the reader only).
    head: AtomicU64,
    _p0: [u64; 7],
    /// The writer has records waiting for space: ring its bell on drain.
    want_space: AtomicU32,
    _p1: [u32; 15],
}

const CTL_SIZE: usize = std::mem::size_of::<RingCtl>();
const _: () = assert!(CTL_SIZE == 128 && std::mem::size_of::<Bell>() == 64);

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

fn segment_size(nlocal: usize, cap: usize, channels: usize) -> usize {
    coll_area(nlocal, cap) + nlocal * channels * size_of::<CollSlot>()
}

/// Offset of the collective slots.
fn coll_area(nlocal: usize, cap: usize) -> usize {
    ALIGN + nlocal * ALIGN + nlocal * nlocal * (CTL_SIZE + cap)
}

/// Collective slots per rank: communicators whose context pair is below
/// this have node-local collectives.
pub const COLL_CHANNELS: usize = 16;
/// Cells per slot, used in turn: a broadcast root can run this many
/// collectives ahead of the slowest reader.
pub const COLL_CELLS: usize = 16;
/// Payload bytes of a collective cell.
pub const COLL_CELL_DATA: usize = 1024;

/// One rank's slot of one collective channel, in the segment (see
/// `transport::cells`).
pub type CollSlot = Slot<AtomicU64, UnsafeCell<[u8; COLL_CELL_DATA]>, COLL_CELLS>;

const _: () = assert!(size_of::<CollSlot>().is_multiple_of(ALIGN));

fn ring_capacity(nlocal: usize) -> usize {
    ring_size(nlocal, RING_BUDGET)
}

/// Ring size of a link between jobs: a smaller budget than the node
/// segment's, since a process may hold several links.
fn link_capacity(n: usize) -> usize {
    ring_size(n, LINK_BUDGET)
}

/// `OXMPI_SHM_RING_SIZE`, or `budget` shared by the rings between `n`
/// members.
fn ring_size(n: usize, budget: usize) -> usize {
    let v = crate::core::config::SHM_RING_SIZE.bytes();
    if v > 0 {
        return round_up(v.max(4 * ALIGN));
    }
    let pairs = (n * n.saturating_sub(1)).max(1);
    round_up((budget / pairs).clamp(RING_MIN, RING_MAX))
}

/// Writer-private state of one outgoing ring.
#[derive(Default)]
struct Writer {
    /// Bytes produced.
    tail: u64,
    /// The reader's head as last seen; it only grows, so space computed
    /// from it is never overestimated.
    head: u64,
}

/// The first word of the 64-byte line at `p`: a record's kind once written.
///
/// # Safety
/// `p` must be a 64-byte aligned position inside a ring.
unsafe fn mark<'a>(p: *mut u8) -> &'a AtomicU32 {
    // SAFETY: aligned and in bounds (the caller's promise); the word is
    // only accessed atomically while the line may be published.
    unsafe { AtomicU32::from_ptr(p.cast::<u32>()) }
}

/// Write one record at `at`: everything but the first word, then the
/// first word (the header's kind) with Release, which publishes it.
///
/// # Safety
/// `at` must be a 64-byte aligned ring position owned by the writer, with
/// room for the header and `payload` before the end of the ring.
unsafe fn write_record(at: *mut u8, hdr: &Header, payload: &[u8]) {
    const WORD: usize = std::mem::size_of::<u32>();
    // SAFETY: in bounds and owned by the writer (the caller's promise); the
    // reader does not look past the first word until it is nonzero.
    unsafe {
        let src = (hdr as *const Header).cast::<u8>();
        std::ptr::copy_nonoverlapping(src.add(WORD), at.add(WORD), HEADER_SIZE - WORD);
        std::ptr::copy_nonoverlapping(payload.as_ptr(), at.add(HEADER_SIZE), payload.len());
        mark(at).store(hdr.kind, Ordering::Release);
    }
}

/// The node's shared segment as this rank sees it.
pub struct Shm {
    _map: MmapMut,
    base: *mut u8,
    nlocal: usize,
    /// Collective channels per member (none in a link).
    channels: usize,
    /// This rank's local index.
    me: usize,
    cap: usize,
    /// World rank -> local index, for ranks on this node.
    local_of: Vec<Option<usize>>,
    /// Local index -> world rank.
    world_of: Vec<usize>,
    /// The writer's side of each outgoing ring, one writer at a time.
    writers: Vec<Mutex<Writer>>,
    /// Single-copy reads work (cleared the first time the kernel refuses).
    cma: AtomicBool,
    /// A link: the other members, watched for their exit (made on the
    /// first look, once every member has mapped the segment and published
    /// its pid). `None`: the node segment, whose members the launcher
    /// watches.
    watches: Option<Mutex<Vec<(usize, Watch)>>>,
}

// SAFETY: the raw base pointer refers to the mapping owned by `_map`, which
// lives as long as the Shm; all shared state in it is accessed through
// atomics or under the ring protocol (single writer, single reader).
unsafe impl Send for Shm {}
unsafe impl Sync for Shm {}

fn err(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

fn random_name() -> String {
    let mut bytes = [0u8; 12];
    super::random_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("/oxmpi-{}-{hex}", std::process::id())
}

fn shm_open(name: &str, create: bool) -> io::Result<File> {
    let cname = std::ffi::CString::new(name).map_err(|_| err("bad segment name"))?;
    let flags = if create {
        libc::O_RDWR | libc::O_CREAT | libc::O_EXCL
    } else {
        libc::O_RDWR
    };
    // SAFETY: valid C string; the returned fd is owned by the File below.
    let fd = unsafe { libc::shm_open(cname.as_ptr(), flags, 0o600) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn shm_unlink(name: &str) {
    if let Ok(cname) = std::ffi::CString::new(name) {
        // SAFETY: valid C string.
        unsafe { libc::shm_unlink(cname.as_ptr()) };
    }
}

fn free_shm_bytes() -> Option<u64> {
    // SAFETY: statvfs fills the struct we own from a valid path.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c"/dev/shm".as_ptr(), &mut s) == 0).then(|| s.f_bavail * s.f_frsize)
    }
}

/// Reserve the pages of the new segment `name` now, so a too small
/// `/dev/shm` is reported at creation; on failure the segment is removed
/// and the reason says how much is free.
fn reserve(file: &File, name: &str, size: usize) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    // SAFETY: fd is valid for the life of `file`.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, size as libc::off_t) };
    if rc == 0 {
        return Ok(());
    }
    shm_unlink(name);
    let free = free_shm_bytes().map_or("unknown".into(), |b| format!("{} MiB", b >> 20));
    Err(format!(
        "{}; free: {free}",
        io::Error::from_raw_os_error(rc)
    ))
}

/// Create and size the node segment, with the fix for a too small
/// `/dev/shm` in the error.
fn create_segment(name: &str, size: usize, nlocal: usize) -> io::Result<File> {
    let file = shm_open(name, true)
        .map_err(|e| err(format!("cannot create shared memory segment {name}: {e}")))?;
    reserve(&file, name, size).map_err(|why| {
        err(format!(
            "OxMPI needs {} MiB of shared memory in /dev/shm for {nlocal} ranks on this \
             node, but cannot reserve it ({why}). Enlarge /dev/shm (for example \
             `mount -o remount,size=1G /dev/shm`, or `docker run --shm-size=1g`), or set \
             OXMPI_SHM_RING_SIZE to a smaller ring size in bytes.",
            size.div_ceil(1 << 20),
        ))
    })?;
    Ok(file)
}

impl Shm {
    /// Join the node's segment. Collective over the whole job: every rank
    /// calls it between the same PMI barriers. `world_of`: the ranks on
    /// this node, this one among them. Returns `None` when this rank is
    /// alone on its node.
    pub fn setup(
        pmi: &mut dyn Exchange,
        rank: usize,
        world_of: Vec<usize>,
    ) -> io::Result<Option<Shm>> {
        let nlocal = world_of.len();
        let me = world_of.iter().position(|&r| r == rank).unwrap_or(0);
        let leader = world_of[0];
        let cap = ring_capacity(nlocal);
        let seg_size = segment_size(nlocal, cap, COLL_CHANNELS);
        let key = format!("oxmpi-shm-{leader}");

        // Phase 1: the leader creates the segment and publishes its name.
        let mut name = String::new();
        let mut created: io::Result<Option<File>> = Ok(None);
        if nlocal > 1 && rank == leader {
            name = random_name();
            created = create_segment(&name, seg_size, nlocal).map(Some);
            let published = if created.is_ok() { name.as_str() } else { "!" };
            pmi.put(&key, published)?;
        }
        pmi.barrier()?;
        if nlocal == 1 {
            // Keep the barrier count the same on every rank.
            pmi.barrier()?;
            return Ok(None);
        }
        // Phase 2: everyone attaches, then the name is unlinked.
        let attached = (|| {
            let file = match created? {
                Some(f) => f,
                None => {
                    name = pmi.get(&key)?;
                    if name == "!" {
                        return Err(err(format!(
                            "the first rank on this node (world rank {leader}) could not \
                             create the shared memory segment; see its error"
                        )));
                    }
                    shm_open(&name, false).map_err(|e| {
                        err(format!("cannot open shared memory segment {name}: {e}"))
                    })?
                }
            };
            // SAFETY: a shared file mapping of a segment sized by its creator;
            // other processes modify it, which is why every access to it goes
            // through atomics or the ring protocol.
            let map = unsafe { memmap2::MmapOptions::new().len(seg_size).map_mut(&file) }?;
            Ok(map)
        })();
        // Every rank unlinks (all but the first find it gone): the name is
        // gone before any rank returns from MPI_Init, even if one aborts at
        // once and the job is torn down before the leader gets this far.
        let barrier = pmi.barrier();
        if !name.is_empty() {
            shm_unlink(&name);
        }
        let map = attached?;
        barrier?;
        let shm = Shm::from_map(map, world_of, me, cap, COLL_CHANNELS);
        if rank == leader {
            shm.publish_header();
        }
        Ok(Some(shm))
    }

    /// This process's view of a mapped segment whose members are the
    /// processes `members` (by index), this one being member `me`.
    fn from_map(
        mut map: MmapMut,
        members: Vec<usize>,
        me: usize,
        cap: usize,
        channels: usize,
    ) -> Shm {
        let base = map.as_mut_ptr();
        let nlocal = members.len();
        let mut local_of = vec![None; members.iter().max().map_or(0, |m| m + 1)];
        for (i, &r) in members.iter().enumerate() {
            local_of[r] = Some(i);
        }
        let shm = Shm {
            _map: map,
            base,
            nlocal,
            channels,
            me,
            cap,
            local_of,
            world_of: members,
            writers: (0..nlocal).map(|_| Mutex::new(Writer::default())).collect(),
            cma: AtomicBool::new(true),
            watches: None,
        };
        shm.bell(me)
            .pid
            .store(std::process::id() as i32, Ordering::Release);
        shm
    }

    /// The creator describes the segment before anyone else looks.
    fn publish_header(&self) {
        let hdr = self.header();
        hdr.nlocal.store(self.nlocal as u64, Ordering::Relaxed);
        hdr.ring_cap.store(self.cap as u64, Ordering::Relaxed);
        hdr.magic.store(MAGIC, Ordering::Release);
    }

    /// Create a link: a segment of rings between `members` (process
    /// indices, the same processes in the same order for every member,
    /// though each names them by its own indices), of which this process
    /// is member `me`. Returns the segment's name, which the other members
    /// open with [`Shm::open_link`]; the caller unlinks it once all have.
    pub fn create_link(members: Vec<usize>, me: usize) -> io::Result<(String, Shm)> {
        let n = members.len();
        let cap = link_capacity(n);
        let name = random_name();
        let file = shm_open(&name, true)?;
        let size = segment_size(n, cap, 0);
        reserve(&file, &name, size).map_err(|why| {
            err(format!(
                "cannot reserve {} KiB of shared memory in /dev/shm for a connection \
                 between {n} processes ({why})",
                size.div_ceil(1024)
            ))
        })?;
        // SAFETY: as in `setup`: a shared mapping whose every access goes
        // through atomics or the ring protocol.
        let map = unsafe { memmap2::MmapOptions::new().len(size).map_mut(&file) }
            .inspect_err(|_| shm_unlink(&name))?;
        let mut shm = Shm::from_map(map, members, me, cap, 0);
        shm.publish_header();
        shm.watches = Some(Mutex::new(Vec::new()));
        Ok((name, shm))
    }

    /// Open the link `name` another member created (see `create_link`).
    pub fn open_link(name: &str, members: Vec<usize>, me: usize) -> io::Result<Shm> {
        let file = shm_open(name, false)?;
        let size = file.metadata()?.len() as usize;
        if size < ALIGN {
            return Err(err(format!("link segment {name} is empty")));
        }
        // SAFETY: as in `create_link`.
        let map = unsafe { memmap2::MmapOptions::new().len(size).map_mut(&file) }?;
        // SAFETY: the segment starts with a SegHeader, only read atomically.
        let hdr = unsafe { &*(map.as_ptr() as *const SegHeader) };
        let magic = hdr.magic.load(Ordering::Acquire);
        let n = hdr.nlocal.load(Ordering::Relaxed) as usize;
        let cap = hdr.ring_cap.load(Ordering::Relaxed) as usize;
        if magic != MAGIC || n != members.len() || me >= n || segment_size(n, cap, 0) != size {
            return Err(err(format!(
                "link segment {name} does not match the connection"
            )));
        }
        let mut shm = Shm::from_map(map, members, me, cap, 0);
        shm.watches = Some(Mutex::new(Vec::new()));
        Ok(shm)
    }

    fn header(&self) -> &SegHeader {
        // SAFETY: the segment starts with a SegHeader; it is only accessed
        // through atomics.
        unsafe { &*(self.base as *const SegHeader) }
    }

    fn bell(&self, local: usize) -> &Bell {
        debug_assert!(local < self.nlocal);
        // SAFETY: bells follow the header, one per local rank, in bounds of
        // the mapping (segment_size), and are only accessed through atomics.
        unsafe { &*(self.base.add(ALIGN + local * ALIGN) as *const Bell) }
    }

    /// This rank's own bell.
    pub fn my_bell(&self) -> &Bell {
        self.bell(self.me)
    }

    fn ring(&self, from: usize, to: usize) -> (&RingCtl, *mut u8) {
        let off = ALIGN + self.nlocal * ALIGN + (from * self.nlocal + to) * (CTL_SIZE + self.cap);
        // SAFETY: ring (from, to) lies within the mapping by construction of
        // segment_size; the control block is only accessed through atomics.
        unsafe {
            let p = self.base.add(off);
            (&*(p as *const RingCtl), p.add(CTL_SIZE))
        }
    }

    /// This rank's index among the node's ranks.
    pub fn me(&self) -> usize {
        self.me
    }

    /// The node-local index of world rank `world`, if it is on this node.
    pub fn local(&self, world: usize) -> Option<usize> {
        self.local_of.get(world).copied().flatten()
    }

    /// Local rank `local`'s slot of collective channel `channel`.
    pub fn coll_slot(&self, local: usize, channel: usize) -> &CollSlot {
        assert!(local < self.nlocal && channel < self.channels);
        let off = coll_area(self.nlocal, self.cap)
            + (local * self.channels + channel) * size_of::<CollSlot>();
        // SAFETY: within the mapping by construction of segment_size, 64-byte
        // aligned; the tags are atomics and the payload is only written by
        // its owner while nobody reads it.
        unsafe { &*(self.base.add(off) as *const CollSlot) }
    }

    /// Wake local rank `local` if it sleeps.
    pub fn ring_bell(&self, local: usize) {
        self.bell(local).ring();
    }

    /// World ranks that share this node.
    pub fn local_ranks(&self) -> &[usize] {
        &self.world_of
    }

    fn pid_of(&self, local: usize) -> i32 {
        self.bell(local).pid.load(Ordering::Acquire)
    }

    /// Move bytes between our memory and local rank `peer`'s with
    /// `process_vm_readv` (`write` false) or `process_vm_writev`; the first
    /// refusal turns single-copy off for this process.
    fn cross_memory(
        &self,
        peer: usize,
        addr: u64,
        local: (*mut u8, usize),
        write: bool,
    ) -> io::Result<()> {
        let l = self
            .local(peer)
            .ok_or_else(|| err("peer is not on this node"))?;
        let pid = self.pid_of(l);
        let (ptr, len) = local;
        let mut done = 0;
        while done < len {
            let liov = libc::iovec {
                // SAFETY: `done < len`, within the caller's buffer.
                iov_base: unsafe { ptr.add(done) }.cast(),
                iov_len: len - done,
            };
            let riov = libc::iovec {
                iov_base: (addr as usize + done) as *mut libc::c_void,
                iov_len: len - done,
            };
            // SAFETY: the local iovec covers the caller's buffer (writable
            // for reads); the kernel checks the remote range against the
            // peer's mappings.
            let n = unsafe {
                if write {
                    libc::process_vm_writev(pid, &liov, 1, &riov, 1, 0)
                } else {
                    libc::process_vm_readv(pid, &liov, 1, &riov, 1, 0)
                }
            };
            if n <= 0 {
                let e = io::Error::last_os_error();
                // Refused (ptrace rules, no such call): never try again. A
                // bad address is the caller's alone.
                if e.raw_os_error() != Some(libc::EFAULT) {
                    self.cma.store(false, Ordering::Relaxed);
                }
                return Err(e);
            }
            done += n as usize;
        }
        Ok(())
    }
}

impl Transport for Shm {
    fn name(&self) -> &'static str {
        "shm"
    }

    fn max_inline(&self) -> usize {
        self.cap / 2 - HEADER_SIZE
    }

    fn reaches(&self, peer: usize) -> bool {
        self.local(peer).is_some_and(|l| l != self.me)
    }

    fn try_send(&self, peer: usize, hdr: &Header, payload: &[u8]) -> bool {
        let Some(to) = self.local(peer) else {
            return false;
        };
        debug_assert!(payload.len() <= self.max_inline() && hdr.len as usize == payload.len());
        debug_assert!(hdr.kind != 0);
        let (ctl, data) = self.ring(self.me, to);
        let mut w = self.writers[to].lock();
        let need = round_up(HEADER_SIZE + payload.len());
        let pos = (w.tail % self.cap as u64) as usize;
        let to_end = self.cap - pos;
        let skip = if to_end < need { to_end } else { 0 };
        if skip + need > self.cap - (w.tail - w.head) as usize {
            w.head = ctl.head.load(Ordering::Acquire);
            if skip + need > self.cap - (w.tail - w.head) as usize {
                return false;
            }
        }
        // SAFETY: the bytes from tail up to head + cap belong to the writer
        // (the reader handed them back, first words zeroed, before the
        // Acquire load of head); positions are 64-byte aligned and a record
        // never crosses the end of the ring, so every access is in bounds.
        // Each record's first word is stored last, with Release, after its
        // other bytes.
        unsafe {
            if skip > 0 {
                let filler = Header {
                    kind: SKIP,
                    len: (skip - HEADER_SIZE) as u32,
                    ..Header::default()
                };
                write_record(data.add(pos), &filler, &[]);
            }
            write_record(data.add((pos + skip) % self.cap), hdr, payload);
        }
        w.tail += (skip + need) as u64;
        drop(w);
        self.bell(to).ring();
        true
    }

    fn want_space(&self, peer: usize, on: bool) {
        if let Some(to) = self.local(peer) {
            let (ctl, _) = self.ring(self.me, to);
            ctl.want_space.store(u32::from(on), Ordering::SeqCst);
        }
    }

    fn poll(&self, f: &mut dyn FnMut(usize, &Header, &[u8])) -> usize {
        let mut handled = 0;
        for from in 0..self.nlocal {
            if from == self.me {
                continue;
            }
            let (ctl, data) = self.ring(from, self.me);
            let mut head = ctl.head.load(Ordering::Relaxed);
            let start = head;
            loop {
                let pos = (head % self.cap as u64) as usize;
                // SAFETY: positions are 64-byte aligned and in bounds; a
                // nonzero first word (Acquire) means the writer published the
                // whole record, which stays untouched until we advance head.
                let (hdr, payload, size) = unsafe {
                    let at = data.add(pos);
                    if mark(at).load(Ordering::Acquire) == 0 {
                        break;
                    }
                    let hdr = std::ptr::read(at.cast::<Header>());
                    let len = (hdr.len as usize).min(self.cap - pos - HEADER_SIZE);
                    let payload = std::slice::from_raw_parts(at.add(HEADER_SIZE), len);
                    (hdr, payload, round_up(HEADER_SIZE + len))
                };
                if hdr.kind != SKIP {
                    f(self.world_of[from], &hdr, payload);
                    handled += 1;
                }
                // SAFETY: as above; the record's lines are still ours.
                unsafe {
                    for line in (pos..pos + size).step_by(ALIGN) {
                        mark(data.add(line)).store(0, Ordering::Relaxed);
                    }
                }
                head += size as u64;
                ctl.head.store(head, Ordering::Release);
            }
            if head != start {
                fence(Ordering::SeqCst);
                if ctl.want_space.load(Ordering::SeqCst) != 0 {
                    self.bell(from).ring();
                }
            }
        }
        handled
    }

    /// Allowed by `config::SHM_CMA` (which may change at any time: each
    /// message decides on its own) and not yet refused by the kernel.
    fn single_copy(&self) -> bool {
        crate::core::config::SHM_CMA.on() && self.cma.load(Ordering::Relaxed)
    }

    fn read_remote(&self, peer: usize, addr: u64, _key: u64, dst: &mut [u8]) -> io::Result<()> {
        self.cross_memory(peer, addr, (dst.as_mut_ptr(), dst.len()), false)
    }

    fn write_remote(&self, peer: usize, addr: u64, _key: u64, src: &[u8]) -> io::Result<()> {
        // The kernel only reads the local side of a write.
        self.cross_memory(peer, addr, (src.as_ptr().cast_mut(), src.len()), true)
    }

    fn bell(&self) -> Option<&Bell> {
        Some(self.my_bell())
    }

    fn departed(&self) -> Vec<usize> {
        let Some(w) = &self.watches else {
            return Vec::new();
        };
        let mut w = w.lock();
        if w.is_empty() {
            *w = (0..self.nlocal)
                .filter(|&l| l != self.me)
                .map(|l| (self.world_of[l], Watch::new(self.pid_of(l))))
                .collect();
        }
        w.iter_mut()
            .filter_map(|(p, w)| w.newly_gone().then_some(*p))
            .collect()
    }

    fn pid(&self, peer: usize) -> Option<i32> {
        self.local(peer).map(|l| self.pid_of(l))
    }
}

// ---------------------------------------------------------------------------
// Checks of the node's facilities, for `oxmpi-info`.

/// Bytes of `/dev/shm` the node segment takes for `nlocal` ranks.
pub fn segment_bytes(nlocal: usize) -> usize {
    segment_size(nlocal, ring_capacity(nlocal), COLL_CHANNELS)
}

/// Size and free bytes of `/dev/shm`.
pub fn shm_space() -> Option<(u64, u64)> {
    // SAFETY: statvfs fills the struct we own from a valid path.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c"/dev/shm".as_ptr(), &mut s) == 0)
            .then(|| (s.f_blocks * s.f_frsize, s.f_bavail * s.f_frsize))
    }
}

/// Whether one process may read another's memory (`process_vm_readv`), as
/// a receiver reads a sender's large message: a child process reads this
/// one (neither is the other's descendant in the way two ranks are not).
/// `Err` holds the error the kernel gave.
pub fn probe_single_copy() -> Result<(), io::Error> {
    let word: u64 = 0x0a11_c0de;
    let addr = &word as *const u64 as usize;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the child only makes system calls and leaves with _exit.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(io::Error::last_os_error());
    }
    if child == 0 {
        let mut got: u64 = 0;
        let liov = libc::iovec {
            iov_base: (&mut got as *mut u64).cast(),
            iov_len: 8,
        };
        let riov = libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: 8,
        };
        // SAFETY: both iovecs describe 8 valid bytes; the child exits at once.
        unsafe {
            let n = libc::process_vm_readv(parent, &liov, 1, &riov, 1, 0);
            let code = if n == 8 && got == 0x0a11_c0de {
                0
            } else {
                *libc::__errno_location()
            };
            libc::_exit(code.clamp(0, 255));
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    std::hint::black_box(&word);
    match libc::WEXITSTATUS(status) {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

// ---------------------------------------------------------------------------
// Segments for groups of node ranks (window memory): the creator makes one
// under a fresh name, the others open it by that name, and every member
// unlinks it once all have it mapped, so a crash leaks nothing.

/// Create and map a new segment of `size` bytes; its name.
pub fn create_shared(size: usize) -> io::Result<(String, MmapMut)> {
    let name = random_name();
    let file = shm_open(&name, true)?;
    reserve(&file, &name, size).map_err(|why| {
        err(format!(
            "cannot reserve {} KiB of shared memory in /dev/shm ({why})",
            size.div_ceil(1024)
        ))
    })?;
    // SAFETY: a shared mapping of the segment just sized; its members
    // access it through atomics or under the protocols of its owner.
    let map = unsafe { memmap2::MmapOptions::new().len(size).map_mut(&file) };
    match map {
        Ok(m) => Ok((name, m)),
        Err(e) => {
            shm_unlink(&name);
            Err(e)
        }
    }
}

/// Map the segment `name` that another member created with `size` bytes.
pub fn open_shared(name: &str, size: usize) -> io::Result<MmapMut> {
    let file = shm_open(name, false)?;
    // SAFETY: as in `create_shared`.
    unsafe { memmap2::MmapOptions::new().len(size).map_mut(&file) }
}

/// Remove the name of a segment (its mapping stays).
pub fn unlink_shared(name: &str) {
    shm_unlink(name);
}
