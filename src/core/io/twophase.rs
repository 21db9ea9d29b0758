//! Two-phase collective access: in a collective read or write the
//! members' byte ranges go to a few aggregator processes, each owning a
//! contiguous domain of the file, which move their domain in windows of
//! `cb_buffer_size` bytes with few large calls instead of every member
//! making its own small, interleaved ones.
//!
//! Per window, phase one exchanges each member's pieces (and for a write
//! their bytes) with the window's aggregator; phase two is the
//! aggregator's file access (and for a read the bytes going back). A
//! write never touches a byte no member wrote: holes between pieces are
//! skipped, not read back and rewritten, so a collective write cannot
//! undo another process's write to bytes outside it.
//!
//! The hints decide, as ROMIO's do: `romio_cb_write`/`romio_cb_read`
//! (`enable`, `disable`, `automatic`: aggregate when the members'
//! ranges interleave), `cb_buffer_size`, `cb_nodes` (aggregators). In
//! atomic mode every member accesses its own ranges under the file lock.

use super::File;
use super::access::{read_spans, valid_prefix};
use super::io_error;
use crate::core::coll::{self, Block};
use crate::core::comm::Comm;
use crate::core::error::MpiResult;
use crate::core::sched;
use std::ffi::c_int;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

/// A byte range of the file: offset, length.
pub type Run = (i64, i64);

/// Whether collective accesses aggregate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Choice {
    Automatic = 0,
    Enable = 1,
    Disable = 2,
}

/// The collective-buffering hints in effect for one direction.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub choice: Choice,
    /// Bytes an aggregator moves per window.
    pub buffer: i64,
    /// How many aggregators.
    pub nodes: usize,
    /// Whether reads may read through small gaps (`romio_ds_read`).
    pub sieve: bool,
}

impl Settings {
    /// From the file's hints (unparsable values keep the defaults).
    pub fn from_hints(hints: &[(String, String)], write: bool) -> Settings {
        let get = |k: &str| {
            hints
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim())
        };
        let key = if write {
            "romio_cb_write"
        } else {
            "romio_cb_read"
        };
        let choice = match get(key) {
            Some("enable") => Choice::Enable,
            Some("disable") => Choice::Disable,
            _ => Choice::Automatic,
        };
        let positive = |k: &str, d: i64| {
            get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|&v| v > 0)
                .unwrap_or(d)
        };
        Settings {
            choice,
            buffer: positive("cb_buffer_size", 16 << 20),
            nodes: positive("cb_nodes", 1) as usize,
            sieve: get("romio_ds_read") != Some("disable"),
        }
    }
}

/// How one collective access is carried out, the same at every member.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// The aggregators' ranks; aggregator j owns bytes
    /// `[lo + j*domain, lo + (j+1)*domain)` of the accessed span.
    aggs: Vec<c_int>,
    lo: i64,
    hi: i64,
    domain: i64,
    window: i64,
}

impl Plan {
    fn rounds(&self) -> i64 {
        (self.domain + self.window - 1) / self.window
    }

    /// Aggregator j's window in round `r` (possibly empty).
    fn window(&self, j: usize, r: i64) -> (i64, i64) {
        let dom_end = (self.lo + (j as i64 + 1) * self.domain).min(self.hi);
        let start = (self.lo + j as i64 * self.domain + r * self.window).min(dom_end);
        (start, (start + self.window).min(dom_end))
    }
}

/// Decide from every member's extent and the settings (rank 0's choice
/// counts); `None`: each member accesses its own ranges.
pub fn decide(extents: &[(i64, i64)], s: &Settings, atomic: bool) -> Option<Plan> {
    let used: Vec<(i64, i64)> = extents.iter().copied().filter(|e| e.0 < e.1).collect();
    let lo = used.iter().map(|e| e.0).min()?;
    let hi = used.iter().map(|e| e.1).max()?;
    let wanted = match s.choice {
        Choice::Enable => true,
        Choice::Disable => false,
        Choice::Automatic => {
            let mut sorted = used.clone();
            sorted.sort_unstable();
            sorted.windows(2).any(|w| w[1].0 < w[0].1)
        }
    };
    if atomic || !wanted {
        return None;
    }
    let n = extents.len();
    let a = s.nodes.clamp(1, n);
    let aggs = (0..a).map(|j| (j * n / a) as c_int).collect();
    let domain = (hi - lo + a as i64 - 1) / a as i64;
    Some(Plan {
        aggs,
        lo,
        hi,
        domain,
        window: s.buffer.max(1),
    })
}

/// Every member's extent of `runs` (sorted by offset) and rank 0's
/// choice, then the plan. Collective over the file's group.
pub fn plan(f: &File, runs: &[Run], s: &Settings) -> MpiResult<Option<Plan>> {
    let c = f.comm();
    let n = c.size as usize;
    let lo = runs.first().map_or(i64::MAX, |r| r.0);
    let hi = runs.iter().map(|r| r.0 + r.1).max().unwrap_or(i64::MIN);
    let mine = [lo, hi, s.choice as i64];
    let mut all = vec![0i64; 3 * n];
    let blocks: Vec<Block> = (0..n).map(|i| (i * 24, 24)).collect();
    coll::allgatherv_blocking(
        c,
        Some((mine.as_ptr() as usize, 24)),
        all.as_mut_ptr() as usize,
        &blocks,
    )?;
    let extents: Vec<(i64, i64)> = all.chunks(3).map(|e| (e[0], e[1])).collect();
    let choice = match all[2] {
        1 => Choice::Enable,
        2 => Choice::Disable,
        _ => Choice::Automatic,
    };
    let s = Settings { choice, ..*s };
    Ok(decide(&extents, &s, f.atomic.load(Ordering::Relaxed)))
}

/// One member's piece of a window: file offset, length, and where its
/// bytes are in the member's data stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    off: i64,
    len: i64,
    at: usize,
}

/// The member's runs, with the stream position of each and a running
/// maximum of their ends (runs of a read-only view may overlap).
struct Runs<'a> {
    runs: &'a [Run],
    at: Vec<usize>,
    max_end: Vec<i64>,
}

impl<'a> Runs<'a> {
    fn new(runs: &'a [Run]) -> Runs<'a> {
        let mut at = Vec::with_capacity(runs.len());
        let mut max_end = Vec::with_capacity(runs.len());
        let (mut pos, mut end) = (0usize, i64::MIN);
        for &(o, n) in runs {
            at.push(pos);
            pos += n as usize;
            end = end.max(o + n);
            max_end.push(end);
        }
        Runs { runs, at, max_end }
    }

    /// The parts of the runs inside `[lo, hi)`, in stream order.
    fn pieces(&self, (lo, hi): (i64, i64)) -> Vec<Piece> {
        let mut out = Vec::new();
        if lo >= hi {
            return out;
        }
        let first = self.max_end.partition_point(|&e| e <= lo);
        for (i, &(o, n)) in self.runs.iter().enumerate().skip(first) {
            if o >= hi {
                break;
            }
            let s = o.max(lo);
            let e = (o + n).min(hi);
            if s < e {
                out.push(Piece {
                    off: s,
                    len: e - s,
                    at: self.at[i] + (s - o) as usize,
                });
            }
        }
        out
    }
}

/// A member's message to an aggregator: the piece count, the pieces
/// (offset, length), then (for a write) their bytes.
fn encode(pieces: &[Piece], data: Option<&[u8]>, out: &mut Vec<u8>) {
    out.extend_from_slice(&(pieces.len() as i64).to_ne_bytes());
    for p in pieces {
        out.extend_from_slice(&p.off.to_ne_bytes());
        out.extend_from_slice(&p.len.to_ne_bytes());
    }
    if let Some(d) = data {
        for p in pieces {
            out.extend_from_slice(&d[p.at..p.at + p.len as usize]);
        }
    }
}

/// The pieces of one member's message, with where each one's bytes
/// start in the message (`at`; only meaningful when the bytes follow).
fn decode(msg: &[u8]) -> Vec<Piece> {
    let word = |i: usize| i64::from_ne_bytes(msg[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    if msg.is_empty() {
        return Vec::new();
    }
    let n = word(0) as usize;
    let mut at = 8 + 16 * n;
    (0..n)
        .map(|k| {
            let p = Piece {
                off: word(1 + 2 * k),
                len: word(2 + 2 * k),
                at,
            };
            at += p.len as usize;
            p
        })
        .collect()
}

/// `send` (blocks by destination) to every member; what each member sent
/// here arrives in `recv`, whose blocks the caller sized.
fn exchange(
    c: &Comm,
    send: &[u8],
    sblocks: &[Block],
    recv: &mut [u8],
    rblocks: &[Block],
) -> MpiResult<()> {
    sched::run(c, |s| {
        coll::alltoallv(
            s,
            Some(send.as_ptr() as usize),
            sblocks,
            recv.as_mut_ptr() as usize,
            rblocks,
            true,
        )
    })
}

/// What every member sent this one: their messages end to end.
struct Received {
    buf: Vec<u8>,
    blocks: Vec<Block>,
}

impl Received {
    /// Member `i`'s message.
    fn from(&self, i: usize) -> &[u8] {
        let (o, l) = self.blocks[i];
        &self.buf[o..o + l]
    }

    fn each(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.blocks.len()).map(|i| self.from(i))
    }
}

/// Send each member its message of `msgs` and receive theirs, sizes
/// exchanged first.
fn all_to_all(c: &Comm, msgs: &[Vec<u8>]) -> MpiResult<Received> {
    let n = msgs.len();
    let sizes: Vec<i64> = msgs.iter().map(|m| m.len() as i64).collect();
    let mut theirs = vec![0i64; n];
    let eight: Vec<Block> = (0..n).map(|i| (i * 8, 8)).collect();
    exchange(
        c,
        bytes_of(&sizes),
        &eight,
        bytes_of_mut(&mut theirs),
        &eight,
    )?;
    let (send, sblocks) = layout(msgs.iter().map(|m| m.len()));
    let (rlen, blocks) = layout(theirs.iter().map(|&s| s as usize));
    let mut sendbuf = Vec::with_capacity(send);
    for m in msgs {
        sendbuf.extend_from_slice(m);
    }
    let mut buf = vec![0u8; rlen];
    exchange(c, &sendbuf, &sblocks, &mut buf, &blocks)?;
    Ok(Received { buf, blocks })
}

/// Blocks laid end to end: total length and (offset, length) of each.
fn layout(lens: impl Iterator<Item = usize>) -> (usize, Vec<Block>) {
    let mut at = 0;
    let blocks = lens
        .map(|l| {
            let b = (at, l);
            at += l;
            b
        })
        .collect();
    (at, blocks)
}

fn bytes_of(v: &[i64]) -> &[u8] {
    // SAFETY: any i64 is 8 plain bytes.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 8) }
}

fn bytes_of_mut(v: &mut [i64]) -> &mut [u8] {
    // SAFETY: any 8 bytes are an i64.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, v.len() * 8) }
}

/// Which aggregator (index into `plan.aggs`) this member is, if any.
fn my_agg(plan: &Plan, rank: c_int) -> Option<usize> {
    plan.aggs.iter().position(|&a| a == rank)
}

/// The messages of one round: for each member, this member's pieces in
/// the window of the aggregator it is (empty for the others).
fn round_msgs(
    plan: &Plan,
    runs: &Runs,
    r: i64,
    n: usize,
    data: Option<&[u8]>,
) -> (Vec<Vec<u8>>, Vec<Vec<Piece>>) {
    let mut msgs = vec![Vec::new(); n];
    let mut pieces = vec![Vec::new(); n];
    for (j, &a) in plan.aggs.iter().enumerate() {
        let p = runs.pieces(plan.window(j, r));
        encode(&p, data, &mut msgs[a as usize]);
        pieces[a as usize] = p;
    }
    (msgs, pieces)
}

/// The file spans covering sorted pieces, touching pieces merged.
fn spans(sorted: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &(o, n) in sorted {
        match out.last_mut() {
            Some(last) if o <= last.0 + last.1 => last.1 = last.1.max(o + n - last.0),
            _ => out.push((o, n)),
        }
    }
    out
}

/// A collective write of `data` (this member's stream) to `runs`.
pub fn write(f: &File, plan: &Plan, runs: &[Run], data: &[u8]) -> MpiResult<()> {
    let c = f.comm();
    let n = c.size as usize;
    let runs = Runs::new(runs);
    let me = my_agg(plan, c.rank);
    let mut failed = Ok(());
    for r in 0..plan.rounds() {
        let (msgs, _) = round_msgs(plan, &runs, r, n, Some(data));
        let got = all_to_all(c, &msgs)?;
        let Some(j) = me else { continue };
        let (wlo, whi) = plan.window(j, r);
        if wlo >= whi || failed.is_err() {
            continue;
        }
        // Every member's pieces in rank order, then by offset (a later
        // member's bytes win where pieces overlap, as if in rank order).
        let mut all: Vec<(i64, i64, &[u8])> = Vec::new();
        for msg in got.each() {
            for p in decode(msg) {
                all.push((p.off, p.len, &msg[p.at..p.at + p.len as usize]));
            }
        }
        if all.is_empty() {
            continue;
        }
        all.sort_by_key(|p| p.0);
        let covered = spans(&all.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>());
        let base = covered[0].0;
        let end = covered.last().map_or(base, |s| s.0 + s.1);
        let mut buf = vec![0u8; (end - base) as usize];
        for (off, len, bytes) in &all {
            let at = (off - base) as usize;
            buf[at..at + *len as usize].copy_from_slice(bytes);
        }
        for (o, l) in covered {
            let at = (o - base) as usize;
            if let Err(e) = f.fd.write_all_at(&buf[at..at + l as usize], o as u64) {
                failed = Err(io_error("cannot write the file", &e));
                break;
            }
        }
    }
    super::agree(c, failed)
}

/// A collective read into `data` (this member's stream) from `runs`;
/// the bytes read (fewer where the file ends).
pub fn read(f: &File, plan: &Plan, runs: &[Run], data: &mut [u8], sieve: bool) -> MpiResult<usize> {
    let c = f.comm();
    let n = c.size as usize;
    // Nothing writes the file during a collective read: its size now is
    // its size when the aggregators read.
    let eof = f.fd.metadata().map(|m| m.len() as i64);
    let valid = valid_prefix(runs, *eof.as_ref().unwrap_or(&0));
    let the_runs = Runs::new(runs);
    let me = my_agg(plan, c.rank);
    let mut failed = eof
        .map(|_| ())
        .map_err(|e| io_error("cannot read the file's size", &e));
    for r in 0..plan.rounds() {
        let (msgs, mine) = round_msgs(plan, &the_runs, r, n, None);
        let asked = all_to_all(c, &msgs)?;
        let mut replies = vec![Vec::new(); n];
        if let Some(j) = me {
            let (wlo, whi) = plan.window(j, r);
            if wlo < whi
                && let Err(e) = serve(f, &asked, &mut replies, sieve)
            {
                failed = Err(e);
            }
        }
        let back = all_to_all(c, &replies)?;
        for (src, pieces) in mine.iter().enumerate() {
            let mut at = 0usize;
            for p in pieces {
                let take = (p.len as usize).min(valid.saturating_sub(p.at));
                let bytes = back.from(src);
                if at + take <= bytes.len() {
                    data[p.at..p.at + take].copy_from_slice(&bytes[at..at + take]);
                }
                at += p.len as usize;
            }
        }
    }
    super::agree(c, failed)?;
    Ok(valid)
}

/// An aggregator's part of a read round: read what the members asked for
/// and put each member's bytes, piece by piece, in its reply.
fn serve(f: &File, asked: &Received, replies: &mut [Vec<u8>], sieve: bool) -> MpiResult<()> {
    let each: Vec<Vec<Piece>> = asked.each().map(decode).collect();
    let mut all: Vec<(i64, i64)> = each.iter().flatten().map(|p| (p.off, p.len)).collect();
    if all.is_empty() {
        return Ok(());
    }
    all.sort_unstable();
    let covered = spans(&all);
    let base = covered[0].0;
    let end = covered.last().map_or(base, |s| s.0 + s.1);
    let mut buf = vec![0u8; (end - base) as usize];
    read_spans(f, &covered, base, &mut buf, sieve)?;
    for (pieces, reply) in each.iter().zip(replies.iter_mut()) {
        for p in pieces {
            let at = (p.off - base) as usize;
            reply.extend_from_slice(&buf[at..at + p.len as usize]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(choice: Choice, buffer: i64, nodes: usize) -> Settings {
        Settings {
            choice,
            buffer,
            nodes,
            sieve: true,
        }
    }

    #[test]
    fn automatic_aggregates_only_interleaved_ranges() {
        let s = settings(Choice::Automatic, 100, 1);
        assert!(decide(&[(0, 10), (10, 20)], &s, false).is_none());
        assert!(decide(&[(0, 10), (5, 20)], &s, false).is_some());
        assert!(decide(&[(i64::MAX, i64::MIN), (5, 20)], &s, false).is_none());
        assert!(decide(&[(0, 10), (5, 20)], &s, true).is_none());
        let s = settings(Choice::Enable, 100, 1);
        assert!(decide(&[(0, 10), (10, 20)], &s, false).is_some());
    }

    #[test]
    fn domains_and_windows_cover_the_span_once() {
        let s = settings(Choice::Enable, 7, 3);
        let p = decide(&[(3, 40), (10, 50), (0, 0), (20, 21)], &s, false).unwrap();
        assert_eq!(p.aggs, vec![0, 1, 2]);
        let mut seen = Vec::new();
        for j in 0..3 {
            for r in 0..p.rounds() {
                let (a, b) = p.window(j, r);
                seen.extend(a..b);
            }
        }
        assert_eq!(seen, (3..50).collect::<Vec<_>>());
    }

    #[test]
    fn pieces_cut_runs_at_the_window_and_keep_stream_positions() {
        let runs = [(0, 4), (8, 4), (16, 4)];
        let r = Runs::new(&runs);
        assert_eq!(
            r.pieces((2, 10)),
            vec![
                Piece {
                    off: 2,
                    len: 2,
                    at: 2
                },
                Piece {
                    off: 8,
                    len: 2,
                    at: 4
                }
            ]
        );
        assert_eq!(r.pieces((12, 16)), vec![]);
        // Overlapping runs (a read-only view) are all found.
        let runs = [(0, 10), (0, 2), (4, 2)];
        let r = Runs::new(&runs);
        assert_eq!(r.pieces((5, 6)).len(), 2);
    }

    #[test]
    fn messages_round_trip() {
        let data: Vec<u8> = (0..20).collect();
        let pieces = [
            Piece {
                off: 100,
                len: 3,
                at: 5,
            },
            Piece {
                off: 200,
                len: 2,
                at: 0,
            },
        ];
        let mut msg = Vec::new();
        encode(&pieces, Some(&data), &mut msg);
        let back = decode(&msg);
        assert_eq!((back[0].off, back[0].len), (100, 3));
        assert_eq!(&msg[back[0].at..back[0].at + 3], &[5, 6, 7]);
        assert_eq!(&msg[back[1].at..back[1].at + 2], &[0, 1]);
    }

    #[test]
    fn spans_merge_touching_and_overlapping() {
        assert_eq!(
            spans(&[(0, 2), (2, 2), (3, 5), (10, 1)]),
            vec![(0, 8), (10, 1)]
        );
    }
}
