//! Transports: how bytes reach another process. The point-to-point engine
//! (`crate::core::p2p`) speaks to every transport through [`Transport`]:
//! ordered channels of small records (a [`Header`] and an inline payload) to
//! each peer, plus a single-copy read of a peer's memory for rendezvous.
//!
//! `shm` serves the ranks on this node. The libfabric transport for other
//! nodes will implement the same trait.

pub mod cells;
pub mod shm;

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
    /// Rendezvous: address of the data in the sender's memory.
    pub addr: u64,
    /// Stream fragments: offset of this piece in the message.
    pub offset: u64,
}

pub const HEADER_SIZE: usize = std::mem::size_of::<Header>();
const _: () = assert!(HEADER_SIZE == 64);

/// A set of ordered channels to peers, indexed by world rank.
pub trait Transport: Send + Sync {
    /// Largest payload one record can carry.
    fn max_inline(&self) -> usize;
    /// Append a record to the channel to `peer`; `false` when the channel is
    /// full right now (nothing was written).
    fn try_send(&self, peer: usize, hdr: &Header, payload: &[u8]) -> bool;
    /// Ask `peer` to tell us when it has drained our channel to it.
    fn want_space(&self, peer: usize, on: bool);
    /// Hand every record that has arrived to `f(peer, header, payload)`,
    /// in channel order; returns how many were handled.
    fn poll(&self, f: &mut dyn FnMut(usize, &Header, &[u8])) -> usize;
    /// Copy `dst.len()` bytes at `addr` in `peer`'s memory into `dst`.
    fn read_remote(&self, peer: usize, addr: u64, dst: &mut [u8]) -> std::io::Result<()>;
    /// Whether this transport reaches `peer` at all.
    fn reaches(&self, peer: usize) -> bool;
}
