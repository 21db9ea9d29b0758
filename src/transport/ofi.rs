//! The network transport: ranks on other nodes, through libfabric.
//!
//! One reliable-datagram endpoint per process carries the engine's
//! records: each message on the wire is `[sender: u64][sequence number:
//! u32][flags: u32][Header][payload]`, so one posted receive buffer serves
//! every peer and the sender is known without asking the provider. The
//! sender is its world rank, or, with `FAR` set, its global name (job id
//! and rank) for a process of another job that it met later
//! (`MPI_Comm_connect`, spawn; see `add_far`).
//! Providers match messages in order but may complete them out of order
//! (a large one finishes after a small one behind it), so the receiver
//! puts each peer's records back in sequence before the engine sees them.
//! Peers' addresses go through PMI; the address table is filled in
//! world-rank order, so a peer's libfabric address is its rank. Processes
//! of other jobs are appended as they are met, each with the address the
//! table gave it, and stay (so sequence numbers carry on should the two
//! meet again).
//!
//! Progress: a helper thread waits on the completion queue (so the
//! provider progresses while the ranks compute or sleep), queues arrived
//! buffers for `poll` and rings the process's bell. Waiting ranks thus
//! sleep on the same bell as for same-node messages: nobody spins.
//!
//! Ownership of a receive buffer, the invariant that makes the raw
//! pointers below sound: a buffer is either posted (the provider may write
//! it) or queued in `inbox` (only `poll` reads it, then posts it again);
//! it moves between the two only through a completion and a repost.
//!
//! libfabric is reached through `ofi_shim.c` (build.rs), opened at run
//! time; a build or a machine without it has no network transport, and a
//! job spread over several nodes says so at `MPI_Init`.

use super::bell::Bell;
use super::{Exchange, HEADER_SIZE, Header, Transport};
use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes before the header in every message.
const PREFIX: usize = 16;
/// In a message's flags: the sender field is a global name.
const FAR: u32 = 1;
/// Size of each posted receive buffer, hence of the largest message.
const RECV_SIZE: usize = 64 << 10;
/// Receive buffers posted at once.
const NRECV: usize = 64;
/// A rank that polled within this many microseconds is taken to be
/// polling still (the helper thread then leaves progress to it).
const ACTIVE_US: u64 = 200;
/// Small messages are injected (no completion to wait for) up to this.
const INJECT_MAX: usize = 1024;

/// Bytes this process sent and received through the network (the
/// `MPI_T` performance variables `ofi_bytes_sent`/`_received`).
pub static BYTES_SENT: AtomicU64 = AtomicU64::new(0);
pub static BYTES_RECEIVED: AtomicU64 = AtomicU64::new(0);

/// Whom the network transport carries: `auto` (ranks on other nodes),
/// `all` (every other rank, for testing it on one node) or `off`.
pub fn mode() -> &'static str {
    crate::core::config::NETMOD.choice()
}

#[cfg(oxmpi_ofi)]
mod ffi {
    use std::ffi::{c_char, c_int, c_long, c_void};

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct Comp {
        pub ctx: u64,
        pub flags: u64,
        pub len: u64,
    }

    pub const FI_RECV: u64 = 1 << 10;
    pub const FI_SEND: u64 = 1 << 11;
    pub const EAGAIN: c_long = -(libc::EAGAIN as c_long);

    unsafe extern "C" {
        pub fn oxf_open(
            prov: *const c_char,
            src: *const c_void,
            srclen: usize,
            skip: *const c_char,
            out: *mut *mut c_void,
            provname: *mut c_char,
            provlen: usize,
            inject: *mut usize,
            err: *mut c_char,
            errlen: usize,
        ) -> c_int;
        pub fn oxf_close(f: *mut c_void);
        pub fn oxf_getname(f: *mut c_void, buf: *mut c_void, len: *mut usize) -> c_int;
        pub fn oxf_insert(f: *mut c_void, addrs: *const c_void, each: usize, count: usize)
        -> c_int;
        pub fn oxf_insert_one(f: *mut c_void, addr: *const c_void, out: *mut u64) -> c_int;
        pub fn oxf_send(
            f: *mut c_void,
            buf: *const c_void,
            len: usize,
            dest: u64,
            ctx: u64,
        ) -> c_long;
        pub fn oxf_inject(f: *mut c_void, buf: *const c_void, len: usize, dest: u64) -> c_long;
        pub fn oxf_recv(f: *mut c_void, buf: *mut c_void, len: usize, ctx: u64) -> c_long;
        pub fn oxf_read(
            f: *mut c_void,
            out: *mut Comp,
            n: usize,
            timeout_ms: c_int,
            err: *mut c_char,
            errlen: usize,
        ) -> c_long;
    }
}

/// Records that arrived ahead of their turn: sequence number -> buffer
/// index, length.
type Held = BTreeMap<u32, (u32, u32)>;

/// Per peer: the sequence number expected next, and the records held.
#[derive(Default)]
struct Order {
    /// World ranks.
    job: Vec<(u32, Held)>,
    /// Processes of other jobs, by index.
    far: FxHashMap<usize, (u32, Held)>,
}

impl Order {
    fn lane(&mut self, peer: usize) -> &mut (u32, Held) {
        match self.job.get_mut(peer) {
            Some(l) => l,
            None => self.far.entry(peer).or_default(),
        }
    }
}

/// A process of another job: its address in our table, and the sequence
/// number of our next message to it (its lock orders our sends to it).
struct FarPeer {
    addr: u64,
    seq: Mutex<u32>,
}

/// The processes of other jobs this endpoint reaches.
#[derive(Default)]
struct FarPeers {
    /// Process index -> the peer.
    by_index: FxHashMap<usize, FarPeer>,
    /// Global name -> process index, for arriving messages.
    by_name: FxHashMap<u64, usize>,
}

/// The endpoint and what hangs off it (the shim's handle).
struct Endpoint(*mut std::ffi::c_void);
// SAFETY: the domain is opened with FI_THREAD_SAFE, so any thread may use
// the endpoint and its completion queue at any time.
unsafe impl Send for Endpoint {}
unsafe impl Sync for Endpoint {}

/// An endpoint just opened: its provider, inject size and address.
struct Opened(Endpoint, String, usize, Vec<u8>);

/// A receive buffer (see the module's ownership invariant).
struct RecvBuf(std::cell::UnsafeCell<Box<[u8]>>);
// SAFETY: one owner at a time, as the module's invariant says.
unsafe impl Sync for RecvBuf {}

impl RecvBuf {
    fn ptr(&self) -> *mut u8 {
        // SAFETY: only the pointer is taken; its owner uses it.
        unsafe { (*self.0.get()).as_mut_ptr() }
    }
}

/// Who is woken when messages arrive: the bell this process sleeps on.
pub enum Wake {
    /// Our bell in the node segment (shared with same-node peers).
    Node(Arc<super::shm::Shm>),
    Own(Box<Bell>),
}

impl Wake {
    fn bell(&self) -> &Bell {
        match self {
            Wake::Node(s) => s.my_bell(),
            Wake::Own(b) => b,
        }
    }
}

pub struct Ofi {
    ep: Endpoint,
    /// Our world rank, which every message to our job carries.
    me: u32,
    /// Our global name, which messages to other jobs carry (`add_far`).
    name: AtomicU64,
    /// Our address, for processes met later.
    addr: Vec<u8>,
    provider: String,
    /// World ranks this endpoint reaches.
    reach: Vec<bool>,
    far: RwLock<FarPeers>,
    inject: usize,
    bufs: Box<[RecvBuf]>,
    /// Completed receives (buffer index, length), in arrival order.
    inbox: Mutex<VecDeque<(u32, u32)>>,
    /// `inbox` may hold something (checked before taking its lock).
    pending: AtomicBool,
    /// Serializes `poll`, which hands each peer's records over in order.
    polling: Mutex<Order>,
    /// Sequence number of the next message to each peer; its lock also
    /// orders the sends to that peer.
    next_seq: Box<[Mutex<u32>]>,
    wake: Wake,
    /// Some sender waits for room (`want_space`): ring on send completions.
    want: AtomicBool,
    /// The first network failure, reported once.
    failed: AtomicBool,
    /// When a rank last polled (microseconds since `born`).
    polled: AtomicU64,
    /// Leave progress to a polling rank (no more ranks than cores here).
    defer: bool,
    born: std::time::Instant,
}

impl Ofi {
    /// Open this process's endpoint and connect it to every rank `reach`
    /// marks (world ranks; `reach[rank]` is false). Collective over the
    /// job, like [`super::start`]: every process calls it, between the same
    /// barriers, whether or not it opens an endpoint (`open`). `nlocal`:
    /// the ranks on this node.
    pub fn setup(
        ex: &mut dyn Exchange,
        rank: usize,
        size: usize,
        reach: Vec<bool>,
        wake: Wake,
        nlocal: usize,
    ) -> io::Result<Arc<Ofi>> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let defer = nlocal <= cores;
        let key = |r: usize| format!("oxmpi-ofi-{r}");
        let opened = open(ex.local_ip());
        let published = match &opened {
            Ok((_, _, _, addr)) => hex(addr),
            Err(e) => format!("!{e}"),
        };
        ex.put(&key(rank), &published)?;
        ex.barrier()?;
        let (ep, provider, inject, mine) = opened
            .map_err(|e| io::Error::other(format!("cannot open the network transport: {e}")))?;
        let mut table = Vec::with_capacity(size * mine.len());
        for r in 0..size {
            let a = if r == rank {
                hex(&mine)
            } else {
                ex.get(&key(r))?
            };
            if let Some(why) = a.strip_prefix('!') {
                return Err(io::Error::other(format!(
                    "world rank {r} cannot open the network transport: {why}"
                )));
            }
            let bytes = unhex(&a)
                .filter(|b| b.len() == mine.len())
                .ok_or_else(|| io::Error::other(format!("world rank {r}: bad address {a:?}")))?;
            table.extend_from_slice(&bytes);
        }
        insert(&ep, &table, mine.len(), size)?;
        Ofi::start(Opened(ep, provider, inject, mine), rank, reach, wake, defer)
    }

    /// Open an endpoint for this process alone (world rank `rank` of
    /// `size`, reaching none of them), for processes of other jobs met
    /// later (`add_far`); `nlocal` as for `setup`, `pmi` the address that
    /// reaches the launcher, if any.
    pub fn setup_alone(
        rank: usize,
        size: usize,
        wake: Wake,
        nlocal: usize,
        pmi: Option<IpAddr>,
    ) -> io::Result<Arc<Ofi>> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (ep, provider, inject, mine) = open(pmi)
            .map_err(|e| io::Error::other(format!("cannot open the network transport: {e}")))?;
        let opened = Opened(ep, provider, inject, mine);
        Ofi::start(opened, rank, vec![false; size], wake, nlocal <= cores)
    }

    /// Post the receive buffers and start the helper thread.
    fn start(
        Opened(ep, provider, inject, addr): Opened,
        rank: usize,
        reach: Vec<bool>,
        wake: Wake,
        defer: bool,
    ) -> io::Result<Arc<Ofi>> {
        let size = reach.len();
        let ofi = Arc::new(Ofi {
            ep,
            me: rank as u32,
            name: AtomicU64::new(0),
            addr,
            provider,
            reach,
            far: RwLock::new(FarPeers::default()),
            inject: inject.min(INJECT_MAX),
            bufs: (0..NRECV)
                .map(|_| RecvBuf(vec![0u8; RECV_SIZE].into_boxed_slice().into()))
                .collect(),
            inbox: Mutex::new(VecDeque::new()),
            pending: AtomicBool::new(false),
            polling: Mutex::new(Order {
                job: vec![Default::default(); size],
                far: FxHashMap::default(),
            }),
            next_seq: (0..size).map(|_| Mutex::new(0)).collect(),
            wake,
            want: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            polled: AtomicU64::new(0),
            defer,
            born: std::time::Instant::now(),
        });
        for i in 0..NRECV {
            ofi.post(i)?;
        }
        let helper = ofi.clone();
        std::thread::Builder::new()
            .name("oxmpi-ofi".into())
            .spawn(move || helper.serve())?;
        Ok(ofi)
    }

    /// The provider in use (`oxmpi-info`, diagnostics).
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// This endpoint's address, as processes of other jobs must be told it.
    pub fn address(&self) -> &[u8] {
        &self.addr
    }

    /// Reach processes of other jobs: each `(index, global name,
    /// address)` not reached yet gets a place in the address table. `me`
    /// is our own global name, which our messages to them carry. Must
    /// happen before any of them sends to us (the connection protocol
    /// agrees on that), since a message from a process not added here
    /// cannot be placed.
    pub fn add_far(&self, me: u64, peers: &[(usize, u64, Vec<u8>)]) -> io::Result<()> {
        self.name.store(me, Ordering::Relaxed);
        let mut far = self.far.write();
        for (index, name, addr) in peers {
            if far.by_index.contains_key(index) {
                continue;
            }
            let at = insert_one(&self.ep, addr)?;
            far.by_index.insert(
                *index,
                FarPeer {
                    addr: at,
                    seq: Mutex::new(0),
                },
            );
            far.by_name.insert(*name, *index);
        }
        Ok(())
    }

    /// Hand receive buffer `i` to the provider.
    fn post(&self, i: usize) -> io::Result<()> {
        loop {
            let rc = recv(&self.ep, self.bufs[i].ptr(), RECV_SIZE, i as u64);
            match rc {
                0 => return Ok(()),
                r if r == EAGAIN => std::thread::yield_now(),
                r => return Err(io::Error::other(format!("fi_recv failed ({r})"))),
            }
        }
    }

    /// The helper thread: wait for completions, forever.
    fn serve(&self) {
        let mut comps = [Comp::default(); 16];
        loop {
            // While a rank of ours polls, it progresses the endpoint
            // itself: stay out of its way (a wake-up per message would cost
            // more than the message). Block on the queue once it stops.
            // Oversubscribed, a polling rank may lose its core at any time,
            // so the helper keeps watching.
            let since = self.born.elapsed().as_micros() as u64;
            if self.defer && since.saturating_sub(self.polled.load(Ordering::Relaxed)) < ACTIVE_US {
                std::thread::sleep(std::time::Duration::from_micros(ACTIVE_US));
                continue;
            }
            match read(&self.ep, &mut comps, 500) {
                Ok(0) => {}
                Ok(n) => self.completed(&comps[..n]),
                Err((c, why)) => self.failed_op(c, &why),
            }
        }
    }

    fn failed_op(&self, c: Comp, why: &str) {
        if c.flags & FI_SEND != 0 && c.ctx != 0 {
            // SAFETY: a failed send gives its buffer back too.
            drop(unsafe { Box::from_raw(c.ctx as *mut Vec<u8>) });
        }
        self.fail(why);
    }

    fn completed(&self, comps: &[Comp]) {
        let mut arrived = false;
        let mut sent = false;
        for c in comps {
            if c.flags & FI_RECV != 0 {
                BYTES_RECEIVED.fetch_add(c.len, Ordering::Relaxed);
                self.inbox.lock().push_back((c.ctx as u32, c.len as u32));
                arrived = true;
            } else if c.flags & FI_SEND != 0 && c.ctx != 0 {
                // SAFETY: `try_send` leaked this box as the send's context;
                // the completion returns it.
                drop(unsafe { Box::from_raw(c.ctx as *mut Vec<u8>) });
                sent = true;
            }
        }
        if arrived {
            self.pending.store(true, Ordering::Release);
        }
        if arrived || (sent && self.want.load(Ordering::Relaxed)) {
            self.wake.bell().ring();
        }
    }

    /// The sender (its index) and sequence number of completed buffer
    /// `i`, if it holds a whole record from a process we know.
    fn sender(&self, i: usize, len: usize) -> Option<(usize, u32)> {
        if len < PREFIX + HEADER_SIZE {
            return None;
        }
        // SAFETY: buffer `i` completed and is ours until reposted (module
        // invariant); at least PREFIX bytes of it were written.
        let b = unsafe { std::slice::from_raw_parts(self.bufs[i].ptr(), PREFIX) };
        let from = u64::from_ne_bytes(b[..8].try_into().unwrap());
        let seq = u32::from_ne_bytes(b[8..12].try_into().unwrap());
        let flags = u32::from_ne_bytes(b[12..16].try_into().unwrap());
        if flags & FAR == 0 {
            let from = from as usize;
            return (from < self.reach.len()).then_some((from, seq));
        }
        let found = self.far.read().by_name.get(&from).copied();
        if found.is_none() {
            self.fail(&format!(
                "a message from process {from:#x} of another job, which this process has not met"
            ));
        }
        found.map(|i| (i, seq))
    }

    /// Hand the record in completed buffer `i`, from `from`, to `f`, then
    /// post the buffer again.
    fn deliver(&self, i: usize, len: usize, from: usize, f: &mut dyn FnMut(usize, &Header, &[u8])) {
        // SAFETY: as in `sender`; `len` bytes were written.
        let bytes = unsafe { std::slice::from_raw_parts(self.bufs[i].ptr(), len) };
        // SAFETY: HEADER_SIZE bytes of a Header, possibly unaligned.
        let hdr = unsafe { std::ptr::read_unaligned(bytes[PREFIX..].as_ptr().cast::<Header>()) };
        let payload = &bytes[PREFIX + HEADER_SIZE..];
        f(
            from,
            &hdr,
            &payload[..(hdr.len as usize).min(payload.len())],
        );
        self.repost(i);
    }

    /// Send one record to table address `dest` as sender `from` (id and
    /// flags), sequence number `seq` (advanced when the send is taken).
    fn transmit(
        &self,
        dest: u64,
        from: (u64, u32),
        seq: &mut u32,
        hdr: &Header,
        payload: &[u8],
    ) -> bool {
        let total = PREFIX + HEADER_SIZE + payload.len();
        debug_assert!(total <= RECV_SIZE);
        let fill = |buf: &mut [u8]| {
            buf[..8].copy_from_slice(&from.0.to_ne_bytes());
            buf[8..12].copy_from_slice(&seq.to_ne_bytes());
            buf[12..PREFIX].copy_from_slice(&from.1.to_ne_bytes());
            // SAFETY: Header is plain old data of HEADER_SIZE bytes.
            let h = unsafe {
                std::slice::from_raw_parts((hdr as *const Header).cast::<u8>(), HEADER_SIZE)
            };
            buf[PREFIX..PREFIX + HEADER_SIZE].copy_from_slice(h);
            buf[PREFIX + HEADER_SIZE..].copy_from_slice(payload);
        };
        let rc = if total <= self.inject {
            let mut small = [0u8; INJECT_MAX];
            fill(&mut small[..total]);
            inject(&self.ep, &small[..total], dest)
        } else {
            let mut v = vec![0u8; total];
            fill(&mut v);
            let boxed = Box::into_raw(Box::new(v));
            // SAFETY: the box stays alive until the send's completion
            // (`completed`) or its failure here.
            let rc = send(&self.ep, unsafe { &*boxed }, dest, boxed as u64);
            if rc != 0 {
                // SAFETY: not handed to the provider after all.
                drop(unsafe { Box::from_raw(boxed) });
            }
            rc
        };
        match rc {
            0 => {
                *seq = seq.wrapping_add(1);
                BYTES_SENT.fetch_add(total as u64, Ordering::Relaxed);
                true
            }
            r if r == EAGAIN => false,
            r => {
                self.fail(&format!("sending to address {dest} failed ({r})"));
                false
            }
        }
    }

    fn repost(&self, i: usize) {
        if let Err(e) = self.post(i) {
            self.fail(&e.to_string());
        }
    }

    fn fail(&self, why: &str) {
        if !self.failed.swap(true, Ordering::Relaxed) {
            eprintln!("oxmpi: network transport ({}): {why}", self.provider);
        }
    }
}

impl Transport for Ofi {
    fn name(&self) -> &'static str {
        "ofi"
    }

    fn reaches(&self, peer: usize) -> bool {
        match self.reach.get(peer) {
            Some(&r) => r,
            None => self.far.read().by_index.contains_key(&peer),
        }
    }

    fn max_inline(&self) -> usize {
        RECV_SIZE - PREFIX - HEADER_SIZE
    }

    fn try_send(&self, peer: usize, hdr: &Header, payload: &[u8]) -> bool {
        if let Some(seq) = self.next_seq.get(peer) {
            let from = (u64::from(self.me), 0);
            return self.transmit(peer as u64, from, &mut seq.lock(), hdr, payload);
        }
        let far = self.far.read();
        let Some(p) = far.by_index.get(&peer) else {
            self.fail(&format!("no address for process {peer}"));
            return false;
        };
        let from = (self.name.load(Ordering::Relaxed), FAR);
        self.transmit(p.addr, from, &mut p.seq.lock(), hdr, payload)
    }

    fn want_space(&self, _peer: usize, on: bool) {
        self.want.store(on, Ordering::Relaxed);
    }

    fn poll(&self, f: &mut dyn FnMut(usize, &Header, &[u8])) -> usize {
        // Progress here too: a rank that is polling anyway need not wait
        // for the helper thread to notice.
        self.polled
            .store(self.born.elapsed().as_micros() as u64, Ordering::Relaxed);
        let mut comps = [Comp::default(); 16];
        match read(&self.ep, &mut comps, 0) {
            Ok(0) => {}
            Ok(n) => self.completed(&comps[..n]),
            Err((c, why)) => self.failed_op(c, &why),
        }
        if !self.pending.load(Ordering::Acquire) {
            return 0;
        }
        let Some(mut order) = self.polling.try_lock() else {
            return 0;
        };
        let mut handled = 0;
        loop {
            let batch: Vec<(u32, u32)> = {
                let mut q = self.inbox.lock();
                if q.is_empty() {
                    self.pending.store(false, Ordering::Release);
                    break;
                }
                q.drain(..).collect()
            };
            for (i, len) in batch {
                let Some((from, seq)) = self.sender(i as usize, len as usize) else {
                    self.repost(i as usize);
                    continue;
                };
                let (expected, held) = order.lane(from);
                if seq != *expected {
                    held.insert(seq, (i, len));
                    continue;
                }
                let mut next = Some((i, len));
                while let Some((i, len)) = next {
                    self.deliver(i as usize, len as usize, from, f);
                    handled += 1;
                    *expected = expected.wrapping_add(1);
                    next = held.remove(expected);
                }
            }
        }
        handled
    }

    fn bell(&self) -> Option<&Bell> {
        Some(self.wake.bell())
    }
}

/// Whether the network transport can open here, and through which
/// provider (`oxmpi-info`).
pub fn probe() -> Result<String, String> {
    open(None).map(|(_, provider, _, _)| provider)
}

/// Bytes as hex digits (addresses in text exchanges), and back.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where the launcher says which address peers reach this process at.
const ADDR_VAR: &str = "MPIR_CVAR_CH3_INTERFACE_HOSTNAME";

/// The address to bind to, as a `sockaddr_in`/`sockaddr_in6`.
fn sockaddr(ip: std::net::IpAddr) -> Vec<u8> {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let sa = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: plain old data.
            unsafe {
                std::slice::from_raw_parts((&sa as *const libc::sockaddr_in).cast::<u8>(), 16)
            }
            .to_vec()
        }
        std::net::IpAddr::V6(v6) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_addr.s6_addr = v6.octets();
            // SAFETY: plain old data.
            unsafe {
                std::slice::from_raw_parts(
                    (&sa as *const libc::sockaddr_in6).cast::<u8>(),
                    std::mem::size_of::<libc::sockaddr_in6>(),
                )
            }
            .to_vec()
        }
    }
}

/// The address this process's peers reach it at: the host name or
/// address in `MPIR_CVAR_CH3_INTERFACE_HOSTNAME` (set by our `mpiexec`
/// and by Hydra's proxies, MPICH's name for it) unless it is loopback,
/// else the one that reaches the launcher over TCP, else the first
/// interface's that is not loopback (under Slurm), else whatever the
/// provider picks.
fn bind_addr(pmi: Option<IpAddr>) -> Option<IpAddr> {
    if mode() == "all" {
        return pmi;
    }
    public_addr(pmi)
}

/// The address processes on other hosts reach this one at (see
/// `bind_addr`; also where ports listen).
pub fn public_addr(pmi: Option<IpAddr>) -> Option<IpAddr> {
    if let Ok(v) = std::env::var(ADDR_VAR)
        && let Some(ip) = super::ifaddrs::resolve(v.trim()).filter(|ip| !ip.is_loopback())
    {
        return Some(ip);
    }
    pmi.filter(|ip| !ip.is_loopback()).or_else(|| {
        let all = super::ifaddrs::local_addresses();
        let usable = |ip: &&IpAddr| match ip {
            IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local(),
            IpAddr::V6(v6) => !v6.is_loopback() && (v6.segments()[0] & 0xffc0) != 0xfe80,
        };
        // IPv4 first: IPv6 link-local addresses need a scope to be reached.
        let v4 = all.iter().filter(usable).find(|ip| ip.is_ipv4());
        v4.or_else(|| all.iter().find(usable)).copied()
    })
}

#[cfg(oxmpi_ofi)]
use ffi::{Comp, EAGAIN, FI_RECV, FI_SEND};

#[cfg(oxmpi_ofi)]
fn open(pmi: Option<std::net::IpAddr>) -> Result<(Endpoint, String, usize, Vec<u8>), String> {
    use std::ffi::{CStr, CString, c_char};
    let prov = std::env::var("FI_PROVIDER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .and_then(|p| CString::new(p).ok());
    let src = bind_addr(pmi).map(sockaddr).unwrap_or_default();
    let mut h = std::ptr::null_mut();
    let mut name = [0 as c_char; 64];
    let mut err = [0 as c_char; 512];
    let mut inject = 0usize;
    // SAFETY: every pointer is valid for the lengths given.
    let rc = unsafe {
        ffi::oxf_open(
            prov.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            if src.is_empty() {
                std::ptr::null()
            } else {
                src.as_ptr().cast()
            },
            src.len(),
            c"shm".as_ptr(),
            &mut h,
            name.as_mut_ptr(),
            name.len(),
            &mut inject,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    // SAFETY: the shim writes NUL-terminated strings into both.
    let text = |b: &[c_char]| {
        unsafe { CStr::from_ptr(b.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    if rc != 0 {
        return Err(text(&err));
    }
    let ep = Endpoint(h);
    let mut addr = vec![0u8; 256];
    let mut len = addr.len();
    // SAFETY: `addr` holds `len` bytes.
    let rc = unsafe { ffi::oxf_getname(ep.0, addr.as_mut_ptr().cast(), &mut len) };
    if rc != 0 || len > addr.len() {
        return Err(format!("fi_getname failed ({rc})"));
    }
    addr.truncate(len);
    Ok((ep, text(&name), inject, addr))
}

#[cfg(oxmpi_ofi)]
impl Drop for Endpoint {
    fn drop(&mut self) {
        // SAFETY: the handle came from oxf_open and is closed once.
        unsafe { ffi::oxf_close(self.0) }
    }
}

#[cfg(oxmpi_ofi)]
fn insert(ep: &Endpoint, table: &[u8], each: usize, count: usize) -> io::Result<()> {
    // SAFETY: `table` holds `count` addresses of `each` bytes.
    let n = unsafe { ffi::oxf_insert(ep.0, table.as_ptr().cast(), each, count) };
    if n != count as i32 {
        return Err(io::Error::other(format!(
            "cannot add the peers' network addresses ({n} of {count})"
        )));
    }
    Ok(())
}

#[cfg(oxmpi_ofi)]
fn insert_one(ep: &Endpoint, addr: &[u8]) -> io::Result<u64> {
    let mut at = 0u64;
    // SAFETY: `addr` is one address as the provider gave it; `at` is ours.
    let rc = unsafe { ffi::oxf_insert_one(ep.0, addr.as_ptr().cast(), &mut at) };
    if rc != 0 {
        return Err(io::Error::other(format!(
            "cannot add a network address ({rc})"
        )));
    }
    Ok(at)
}

#[cfg(oxmpi_ofi)]
fn send(ep: &Endpoint, buf: &[u8], dest: u64, ctx: u64) -> i64 {
    // SAFETY: the caller keeps `buf` alive until the completion for `ctx`.
    unsafe { ffi::oxf_send(ep.0, buf.as_ptr().cast(), buf.len(), dest, ctx) as i64 }
}

#[cfg(oxmpi_ofi)]
fn inject(ep: &Endpoint, buf: &[u8], dest: u64) -> i64 {
    // SAFETY: inject copies `buf` before returning.
    unsafe { ffi::oxf_inject(ep.0, buf.as_ptr().cast(), buf.len(), dest) as i64 }
}

#[cfg(oxmpi_ofi)]
fn recv(ep: &Endpoint, buf: *mut u8, len: usize, ctx: u64) -> i64 {
    // SAFETY: `buf` is a receive buffer of `len` bytes handed to the
    // provider until its completion (module invariant).
    unsafe { ffi::oxf_recv(ep.0, buf.cast(), len, ctx) as i64 }
}

#[cfg(oxmpi_ofi)]
fn read(ep: &Endpoint, out: &mut [Comp], timeout_ms: i32) -> Result<usize, (Comp, String)> {
    use std::ffi::{CStr, c_char};
    let mut err = [0 as c_char; 256];
    // SAFETY: `out` and `err` are valid for their lengths.
    let n = unsafe {
        ffi::oxf_read(
            ep.0,
            out.as_mut_ptr(),
            out.len(),
            timeout_ms,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    if n < 0 {
        // SAFETY: the shim wrote a NUL-terminated message.
        let why = unsafe { CStr::from_ptr(err.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        return Err((out[0], why));
    }
    Ok(n as usize)
}

// Without libfabric's headers at build time: no network transport.
#[cfg(not(oxmpi_ofi))]
#[derive(Clone, Copy, Default)]
struct Comp {
    ctx: u64,
    flags: u64,
    len: u64,
}
#[cfg(not(oxmpi_ofi))]
const FI_RECV: u64 = 1 << 10;
#[cfg(not(oxmpi_ofi))]
const FI_SEND: u64 = 1 << 11;
#[cfg(not(oxmpi_ofi))]
const EAGAIN: i64 = -(libc::EAGAIN as i64);

#[cfg(not(oxmpi_ofi))]
fn open(_: Option<std::net::IpAddr>) -> Result<(Endpoint, String, usize, Vec<u8>), String> {
    Err("this OxMPI was built without libfabric's headers (Debian: libfabric-dev)".into())
}
#[cfg(not(oxmpi_ofi))]
fn insert(_: &Endpoint, _: &[u8], _: usize, _: usize) -> io::Result<()> {
    Err(super::unsupported("the network transport"))
}
#[cfg(not(oxmpi_ofi))]
fn insert_one(_: &Endpoint, _: &[u8]) -> io::Result<u64> {
    Err(super::unsupported("the network transport"))
}
#[cfg(not(oxmpi_ofi))]
fn send(_: &Endpoint, _: &[u8], _: u64, _: u64) -> i64 {
    -1
}
#[cfg(not(oxmpi_ofi))]
fn inject(_: &Endpoint, _: &[u8], _: u64) -> i64 {
    -1
}
#[cfg(not(oxmpi_ofi))]
fn recv(_: &Endpoint, _: *mut u8, _: usize, _: u64) -> i64 {
    -1
}
#[cfg(not(oxmpi_ofi))]
fn read(_: &Endpoint, _: &mut [Comp], _: i32) -> Result<usize, (Comp, String)> {
    Ok(0)
}

#[cfg(all(test, oxmpi_ofi))]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Barrier;

    /// Two endpoints in one process, meeting through a shared table.
    struct Table {
        kv: std::sync::Mutex<HashMap<String, String>>,
        barrier: Barrier,
    }
    struct Ex(Arc<Table>);
    impl Exchange for Ex {
        fn put(&mut self, k: &str, v: &str) -> io::Result<()> {
            self.0.kv.lock().unwrap().insert(k.into(), v.into());
            Ok(())
        }
        fn get(&mut self, k: &str) -> io::Result<String> {
            Ok(self.0.kv.lock().unwrap()[k].clone())
        }
        fn barrier(&mut self) -> io::Result<()> {
            self.0.barrier.wait();
            Ok(())
        }
    }

    fn byte(from: usize, n: u64, i: usize) -> u8 {
        (from as u64 * 131 + n * 7 + i as u64 * 13) as u8
    }

    /// Both ranks send each other records of random sizes (inject, send,
    /// largest) as fast as the endpoint takes them; every record must
    /// arrive once, in order, intact: the reordering by sequence number
    /// against the order sent.
    #[test]
    fn records_arrive_in_order_and_intact() {
        if let Err(e) = probe() {
            eprintln!("skipped: the network transport cannot open here: {e}");
            return;
        }
        const N: u64 = 20_000;
        let table = Arc::new(Table {
            kv: Default::default(),
            barrier: Barrier::new(2),
        });
        let ranks: Vec<_> = (0..2)
            .map(|rank| {
                let table = table.clone();
                std::thread::spawn(move || {
                    let reach = vec![rank == 1, rank == 0];
                    let ofi = Ofi::setup(
                        &mut Ex(table.clone()),
                        rank,
                        2,
                        reach,
                        Wake::Own(Box::default()),
                        2,
                    )
                    .expect("setup");
                    let peer = 1 - rank;
                    let max = ofi.max_inline();
                    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ rank as u64;
                    let (mut sent, mut got) = (0u64, 0u64);
                    let mut payload = vec![0u8; max];
                    while sent < N || got < N {
                        if sent < N {
                            rng ^= rng << 13;
                            rng ^= rng >> 7;
                            rng ^= rng << 17;
                            let len = match rng % 4 {
                                0 => (rng >> 8) as usize % 64,
                                1 => (rng >> 8) as usize % 4096,
                                2 => (rng >> 8) as usize % max,
                                _ => max,
                            };
                            for (i, b) in payload[..len].iter_mut().enumerate() {
                                *b = byte(rank, sent, i);
                            }
                            let hdr = Header {
                                kind: 1,
                                len: len as u32,
                                cookie: sent,
                                ..Header::default()
                            };
                            if ofi.try_send(peer, &hdr, &payload[..len]) {
                                sent += 1;
                            }
                        }
                        ofi.poll(&mut |from, hdr, data| {
                            assert_eq!(from, peer);
                            assert_eq!(hdr.cookie, got, "record out of order");
                            assert_eq!(data.len(), hdr.len as usize);
                            for (i, &b) in data.iter().enumerate() {
                                assert_eq!(b, byte(from, got, i), "byte {i} of record {got}");
                            }
                            got += 1;
                        });
                    }
                    table.barrier.wait();
                })
            })
            .collect();
        for r in ranks {
            r.join().unwrap();
        }
    }
}
