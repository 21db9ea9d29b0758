//! Transports: how bytes reach another process. The point-to-point engine
//! (`crate::core::p2p`) holds a set of transports, routes each peer to the
//! first one that reaches it, and speaks to all of them through
//! [`Transport`]: ordered channels of small records (a [`Header`] and an
//! inline payload) to each peer, plus what a transport can do beyond that
//! (single-copy access to a peer's memory by address and key, a bell that
//! wakes a sleeping rank). Matching, protocols and requests live in the
//! engine; a transport only moves records and bytes.
//!
//! - `shm`: the ranks on this node, through one shared segment.
//! - `ofi`: ranks on other nodes, through libfabric (`OXMPI_NETMOD=all`
//!   sends every rank's messages this way, to test it on one node).
//! - `loopback` (tests only): ranks that are threads of one process, so
//!   `cargo test` runs the engine over N ranks.
//!
//! Adding a transport: a new module here implementing [`Transport`], and
//! one line in [`start`] (order is preference: the first transport that
//! reaches a peer carries its messages).

pub mod bell;
pub mod cells;
pub mod ifaddrs;
#[cfg(test)]
pub mod loopback;
pub mod ofi;
pub mod shm;
pub mod watch;

use bell::Bell;
use parking_lot::Mutex;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;

/// The job's key-value exchange at startup (PMI under a launcher): how
/// transports publish their addresses and find their peers'.
pub trait Exchange {
    fn put(&mut self, key: &str, value: &str) -> io::Result<()>;
    fn get(&mut self, key: &str) -> io::Result<String>;
    /// Every process of the job reaches this point.
    fn barrier(&mut self) -> io::Result<()>;
    /// The local address of a network connection to the launcher, if
    /// that is how we reached it: an address our peers can reach too.
    fn local_ip(&self) -> Option<std::net::IpAddr> {
        None
    }
    /// The node of each of `size` ranks, if the launcher says how it
    /// placed them (PMI-2's `PMI_process_mapping`).
    fn node_map(&mut self, _size: usize) -> Option<Vec<u32>> {
        None
    }
}

/// What `start` set up for this process.
pub struct Started {
    /// Every transport, in order of preference.
    pub transports: Vec<Arc<dyn Transport>>,
    /// The node's shared segment, when other ranks share this node (the
    /// node-local collectives use its cells too).
    pub node: Option<Arc<shm::Shm>>,
}

/// Start every transport for world rank `rank` of `size`. Collective over
/// the job: every process calls it between the same exchange barriers.
/// Ranks on our node share the node segment; the others are
/// reached through the network (`ofi`), which is opened only when some
/// rank of the job is on another node (the same answer everywhere, so the
/// barriers match).
pub fn start(ex: &mut dyn Exchange, rank: usize, size: usize) -> io::Result<Started> {
    let hosts = nodes(ex, rank, size)?;
    let host = hosts[rank].clone();
    let mut first = std::collections::HashMap::new();
    let _ = HOSTS.set(
        hosts
            .iter()
            .enumerate()
            .map(|(r, h)| *first.entry(h).or_insert(r as u32))
            .collect(),
    );
    let local: Vec<usize> = (0..size).filter(|&r| hosts[r] == host).collect();
    let node = shm::Shm::setup(ex, rank, local.clone())?.map(Arc::new);
    let mode = ofi::mode();
    let spread = hosts.iter().any(|h| *h != hosts[0]);
    let mut transports: Vec<Arc<dyn Transport>> = Vec::new();
    if let Some(n) = &node
        && mode != "all"
    {
        transports.push(n.clone());
    }
    if size > 1 && (mode == "all" || (spread && mode != "off")) {
        let reach = (0..size)
            .map(|r| r != rank && (mode == "all" || hosts[r] != host))
            .collect();
        let wake = match &node {
            Some(n) => ofi::Wake::Node(n.clone()),
            None => ofi::Wake::Own(Box::default()),
        };
        let nlocal = local.len();
        let ep = ofi::Ofi::setup(ex, rank, size, reach, wake, nlocal)?;
        *NETWORK.lock() = Some(Network::Open(ep.clone()));
        transports.push(ep);
    } else {
        *NETWORK.lock() = Some(Network::Later {
            node: node.clone(),
            rank,
            size,
            nlocal: local.len(),
            pmi: ex.local_ip(),
        });
    }
    if let Some(n) = &node
        && mode == "all"
    {
        transports.push(n.clone());
    }
    Ok(Started { transports, node })
}

/// The host of each world rank, as the number of the lowest world rank on
/// it (the same on every process of the job; set by `start`).
static HOSTS: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();

/// The host of world rank `rank`, as `HOSTS` numbers it; `None` outside
/// the job (or before `start`, or without a launcher).
pub fn host_of(rank: usize) -> Option<u32> {
    HOSTS.get()?.get(rank).copied()
}

/// This process's network endpoint, open or to be opened when first
/// needed (see `network`).
enum Network {
    Open(Arc<ofi::Ofi>),
    Later {
        node: Option<Arc<shm::Shm>>,
        rank: usize,
        size: usize,
        nlocal: usize,
        pmi: Option<IpAddr>,
    },
}

static NETWORK: Mutex<Option<Network>> = Mutex::new(None);

/// This process's network endpoint, for processes of other jobs on other
/// hosts (connected later): the job's own when the job spans hosts, else
/// one opened now (and kept). `rank` of `size`: this process in its job,
/// for a process that never ran `start` (a singleton).
pub fn network(rank: usize, size: usize) -> io::Result<Arc<ofi::Ofi>> {
    if ofi::mode() == "off" {
        return Err(io::Error::other(
            "the network transport is off (OXMPI_NETMOD=off)",
        ));
    }
    let mut n = NETWORK.lock();
    let later = n.take().unwrap_or(Network::Later {
        node: None,
        rank,
        size,
        nlocal: 1,
        pmi: None,
    });
    let opened = match &later {
        Network::Open(ep) => Ok(ep.clone()),
        &Network::Later {
            ref node,
            rank,
            size,
            nlocal,
            pmi,
        } => {
            let wake = match node {
                Some(n) => ofi::Wake::Node(n.clone()),
                None => ofi::Wake::Own(Box::default()),
            };
            ofi::Ofi::setup_alone(rank, size, wake, nlocal, pmi)
        }
    };
    *n = Some(match &opened {
        Ok(ep) => Network::Open(ep.clone()),
        Err(_) => later,
    });
    opened
}

/// Which node each rank is on, as names equal exactly for ranks that share
/// a node: the launcher's process map when it gives one, else every
/// rank's host name through the exchange.
fn nodes(ex: &mut dyn Exchange, rank: usize, size: usize) -> io::Result<Vec<String>> {
    if let Some(map) = ex.node_map(size) {
        return Ok(map.iter().map(|n| format!("node {n}")).collect());
    }
    let host = crate::core::runtime::processor_name();
    ex.put(&format!("oxmpi-host-{rank}"), &host)?;
    ex.barrier()?;
    (0..size)
        .map(|r| {
            if r == rank {
                Ok(host.clone())
            } else {
                ex.get(&format!("oxmpi-host-{r}"))
            }
        })
        .collect()
}

/// Fill `buf` with random bytes from the kernel (secrets, segment names,
/// job ids); should the kernel refuse, with the time and process id
/// mixed, so names still differ (creation is exclusive anyway).
pub fn random_bytes(buf: &mut [u8]) {
    // SAFETY: getrandom writes at most buf.len() bytes into our buffer.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n != buf.len() as isize {
        let t = crate::core::runtime::wtime().to_bits() ^ u64::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (t >> (8 * (i % 8))) as u8 ^ i as u8;
        }
    }
}

/// What a record is. Every record carries a [`Header`]; eager data and
/// stream fragments carry payload bytes after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RecordKind {
    /// A whole message inline (`Header::len == Header::size`).
    Eager = 1,
    /// Ready-to-send: a large message waits at `Header::addr` in the
    /// sender's memory.
    Rts = 2,
    /// Clear-to-send: the receiver cannot read the sender's memory, so the
    /// sender streams the message as `Frag` records to `Header::cookie2`.
    Cts = 3,
    /// One piece of a streamed message.
    Frag = 4,
    /// The receiver has the message (rendezvous done, or a synchronous send
    /// matched): the sender's operation `Header::cookie` completes.
    Ack = 5,
    /// The sender asks to withdraw an unmatched message (`MPI_Cancel`).
    CancelReq = 6,
    /// The receiver's answer: `FLAG_CANCELLED` if the message was withdrawn.
    CancelAck = 7,
}

impl RecordKind {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => RecordKind::Eager,
            2 => RecordKind::Rts,
            3 => RecordKind::Cts,
            4 => RecordKind::Frag,
            5 => RecordKind::Ack,
            6 => RecordKind::CancelReq,
            7 => RecordKind::CancelAck,
            _ => return None,
        })
    }
}

/// The sender wants to know when the message is matched (`MPI_Ssend`).
pub const FLAG_SYNC: u32 = 1;
/// The sender knows single-copy reads are refused here: reply `Cts` at once.
pub const FLAG_NO_CMA: u32 = 2;
/// On a `CancelAck`: the message was found unmatched and withdrawn.
pub const FLAG_CANCELLED: u32 = 4;

/// The fixed part of every record: 64 bytes, the same on both sides.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Header {
    pub kind: u32,
    /// Payload bytes following the header in this record.
    pub len: u32,
    /// Communicator context id (point-to-point or collective).
    pub ctx: u32,
    /// Sender's rank in that communicator.
    pub src: i32,
    pub tag: i32,
    pub flags: u32,
    /// Size of the whole message in bytes.
    pub size: u64,
    /// The sender's operation id (for `Ack`, `Cts`).
    pub cookie: u64,
    /// The receiver's operation id (for `Frag`).
    pub cookie2: u64,
    /// Rendezvous: address of the data in the sender's memory. Stream
    /// fragments: offset of this piece in the message.
    pub addr: u64,
    /// Rendezvous: the memory key a peer needs to read `addr` (from
    /// [`Transport::expose`]; 0 for transports that need none).
    pub key: u64,
}

pub const HEADER_SIZE: usize = std::mem::size_of::<Header>();
const _: () = assert!(HEADER_SIZE == 64);

/// Why a transport cannot do something it was asked.
pub fn unsupported(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, what.to_string())
}

/// A set of ordered channels to peers, indexed by world rank, and what the
/// transport can do besides.
pub trait Transport: Send + Sync {
    /// A short name (`oxmpi-info`, diagnostics).
    fn name(&self) -> &'static str;
    /// Whether this transport reaches world rank `peer` at all.
    fn reaches(&self, peer: usize) -> bool;
    /// Largest payload one record can carry.
    fn max_inline(&self) -> usize;
    /// Append a record to the channel to `peer`; `false` when the channel is
    /// full right now (nothing was written).
    fn try_send(&self, peer: usize, hdr: &Header, payload: &[u8]) -> bool;
    /// Ask `peer` to ring our bell when it has drained our channel to it.
    fn want_space(&self, peer: usize, on: bool);
    /// Hand every record that has arrived to `f(peer, header, payload)`,
    /// in channel order; returns how many were handled.
    fn poll(&self, f: &mut dyn FnMut(usize, &Header, &[u8])) -> usize;

    /// Capability: single-copy access to peers' memory (`read_remote`,
    /// `write_remote`) is allowed and believed to work right now. The engine
    /// asks per message; a transport may turn it off after a refusal.
    fn single_copy(&self) -> bool {
        false
    }
    /// Make `len` bytes at `addr` of our memory accessible to peers; the
    /// key they must present (0 when the transport needs none).
    fn expose(&self, _addr: u64, _len: usize) -> io::Result<u64> {
        Ok(0)
    }
    /// Undo an `expose` once peers are done with the memory.
    fn conceal(&self, _key: u64) {}
    /// Copy `dst.len()` bytes at `addr` (exposed under `key`) in `peer`'s
    /// memory into `dst`.
    fn read_remote(&self, _peer: usize, _addr: u64, _key: u64, _dst: &mut [u8]) -> io::Result<()> {
        Err(unsupported("single-copy reads"))
    }
    /// Copy `src` to `addr` (exposed under `key`) in `peer`'s memory.
    fn write_remote(&self, _peer: usize, _addr: u64, _key: u64, _src: &[u8]) -> io::Result<()> {
        Err(unsupported("single-copy writes"))
    }

    /// Capability: the bell peers ring after putting a record in our
    /// channel, so a waiting rank may sleep on it. `None`: this transport
    /// wakes nobody, and a waiting rank must keep looking (it naps briefly).
    fn bell(&self) -> Option<&Bell> {
        None
    }

    /// Capability: peers that have ended since the last call (a link
    /// watches the processes of other jobs; see `watch`). Each is reported
    /// once.
    fn departed(&self) -> Vec<usize> {
        Vec::new()
    }
    /// The process id of `peer`, when the transport knows it.
    fn pid(&self, _peer: usize) -> Option<i32> {
        None
    }
}
