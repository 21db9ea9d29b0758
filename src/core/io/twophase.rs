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

/// Pieces as they travel: `count` pieces of `len` bytes, `stride`
/// apart from `off` (a view's regular pattern is one group per window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Group {
    off: i64,
    len: i64,
    stride: i64,
    count: i64,
}

impl Group {
    fn pieces(self) -> impl Iterator<Item = (i64, i64)> {
        (0..self.count).map(move |k| (self.off + k * self.stride, self.len))
    }

    /// The pieces touch: one span.
    fn dense(&self) -> bool {
        self.count == 1 || self.stride == self.len
    }

    fn bytes(&self) -> usize {
        (self.len * self.count) as usize
    }

    fn end(&self) -> i64 {
        self.off + (self.count - 1) * self.stride + self.len
    }
}

/// Consecutive pieces (sorted by offset) of one length and one stride,
/// grouped.
fn group(pieces: &[Piece]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for p in pieces {
        if let Some(g) = out.last_mut()
            && g.len == p.len
        {
            if g.count == 1 {
                g.stride = p.off - g.off;
                g.count = 2;
                continue;
            }
            if p.off == g.off + g.count * g.stride {
                g.count += 1;
                continue;
            }
        }
        out.push(Group {
            off: p.off,
            len: p.len,
            stride: 0,
            count: 1,
        });
    }
    out
}

/// A member's message to an aggregator: the group count, the groups,
/// then (for a write) the pieces' bytes in order.
fn encode(pieces: &[Piece], data: Option<&[u8]>, out: &mut Vec<u8>) {
    let groups = group(pieces);
    out.extend_from_slice(&(groups.len() as i64).to_ne_bytes());
    for g in &groups {
        for w in [g.off, g.len, g.stride, g.count] {
            out.extend_from_slice(&w.to_ne_bytes());
        }
    }
    if let Some(d) = data {
        // Pieces next to each other in the stream go in one copy.
        let mut span: Option<(usize, usize)> = None;
        for p in pieces {
            span = match span {
                Some((a, b)) if b == p.at => Some((a, b + p.len as usize)),
                Some((a, b)) => {
                    out.extend_from_slice(&d[a..b]);
                    Some((p.at, p.at + p.len as usize))
                }
                None => Some((p.at, p.at + p.len as usize)),
            };
        }
        if let Some((a, b)) = span {
            out.extend_from_slice(&d[a..b]);
        }
    }
}

/// One member's message, read: its groups, and (for a write) their
/// bytes.
struct Msg<'a> {
    groups: Vec<Group>,
    bytes: &'a [u8],
}

fn decode(msg: &[u8]) -> Msg<'_> {
    if msg.is_empty() {
        return Msg {
            groups: Vec::new(),
            bytes: msg,
        };
    }
    let word = |i: usize| i64::from_ne_bytes(msg[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let n = word(0) as usize;
    let groups = (0..n)
        .map(|k| Group {
            off: word(1 + 4 * k),
            len: word(2 + 4 * k),
            stride: word(3 + 4 * k),
            count: word(4 + 4 * k),
        })
        .collect();
    Msg {
        groups,
        bytes: &msg[8 + 32 * n..],
    }
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

/// Which bytes of a window some piece covers, a bit per byte from
/// `base`: the aggregator's view of a window, found without sorting the
/// members' pieces.
struct Coverage {
    base: i64,
    /// Bytes from `base` to the end of the last piece.
    len: usize,
    bits: Vec<u64>,
}

impl Coverage {
    /// The coverage of `groups`; `None` if there are none.
    fn of<'a>(groups: impl Iterator<Item = &'a Group> + Clone) -> Option<Coverage> {
        let base = groups.clone().map(|g| g.off).min()?;
        let end = groups.clone().map(|g| g.end()).max()?;
        let len = (end - base) as usize;
        let mut c = Coverage {
            base,
            len,
            bits: vec![0; len.div_ceil(64)],
        };
        for g in groups {
            if g.dense() {
                c.mark(g.off, g.end() - g.off);
            } else {
                g.pieces().for_each(|(o, n)| c.mark(o, n));
            }
        }
        Some(c)
    }

    fn mark(&mut self, off: i64, len: i64) {
        let (mut i, end) = ((off - self.base) as usize, (off + len - self.base) as usize);
        while i < end {
            let (w, b) = (i / 64, i % 64);
            let n = (64 - b).min(end - i);
            self.bits[w] |= if n == 64 { !0 } else { ((1u64 << n) - 1) << b };
            i += n;
        }
    }

    /// The covered spans (offset, length), in order.
    fn spans(&self) -> Vec<Run> {
        let mut out = Vec::new();
        let mut start: Option<usize> = None;
        let mut edge = |i: usize, on: bool| match (on, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((self.base + s as i64, (i - s) as i64));
                start = None;
            }
            _ => {}
        };
        for (w, &word) in self.bits.iter().enumerate() {
            match word {
                0 => edge(w * 64, false),
                u64::MAX => edge(w * 64, true),
                _ => (0..64).for_each(|b| edge(w * 64 + b, word >> b & 1 == 1)),
            }
        }
        edge(self.bits.len() * 64, false);
        out
    }
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
        // Every member's pieces, in rank order: where pieces overlap, a
        // later member's bytes win, as if the members wrote in order.
        let each: Vec<Msg> = got.each().map(decode).collect();
        let Some(cover) = Coverage::of(each.iter().flat_map(|m| m.groups.iter())) else {
            continue;
        };
        let covered = cover.spans();
        let base = cover.base;
        let mut buf = vec![0u8; cover.len];
        for m in &each {
            let (msg, mut at) = (m.bytes, 0);
            for g in &m.groups {
                if g.dense() {
                    let o = (g.off - base) as usize;
                    buf[o..o + g.bytes()].copy_from_slice(&msg[at..at + g.bytes()]);
                    at += g.bytes();
                    continue;
                }
                for (off, len) in g.pieces() {
                    let o = (off - base) as usize;
                    buf[o..o + len as usize].copy_from_slice(&msg[at..at + len as usize]);
                    at += len as usize;
                }
            }
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
    let each: Vec<Vec<Group>> = asked.each().map(|m| decode(m).groups).collect();
    let Some(cover) = Coverage::of(each.iter().flatten()) else {
        return Ok(());
    };
    let base = cover.base;
    let mut buf = vec![0u8; cover.len];
    read_spans(f, &cover.spans(), base, &mut buf, sieve)?;
    for (groups, reply) in each.iter().zip(replies.iter_mut()) {
        for g in groups {
            if g.dense() {
                let o = (g.off - base) as usize;
                reply.extend_from_slice(&buf[o..o + g.bytes()]);
                continue;
            }
            for (off, len) in g.pieces() {
                let o = (off - base) as usize;
                reply.extend_from_slice(&buf[o..o + len as usize]);
            }
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

    fn piece(off: i64, len: i64, at: usize) -> Piece {
        Piece { off, len, at }
    }

    #[test]
    fn regular_pieces_travel_as_one_group_with_their_bytes() {
        let data: Vec<u8> = (0..20).collect();
        let pieces = [
            piece(100, 2, 0),
            piece(110, 2, 2),
            piece(120, 2, 4),
            piece(125, 3, 9),
            piece(200, 3, 12),
        ];
        let mut msg = Vec::new();
        encode(&pieces, Some(&data), &mut msg);
        let Msg { groups, bytes } = decode(&msg);
        assert_eq!(
            groups,
            vec![
                Group {
                    off: 100,
                    len: 2,
                    stride: 10,
                    count: 3
                },
                Group {
                    off: 125,
                    len: 3,
                    stride: 75,
                    count: 2
                },
            ]
        );
        assert_eq!(bytes, &[0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14]);
        let all: Vec<(i64, i64)> = groups.iter().flat_map(|g| g.pieces()).collect();
        assert_eq!(all, vec![(100, 2), (110, 2), (120, 2), (125, 3), (200, 3)]);
    }

    #[test]
    fn coverage_merges_touching_and_overlapping_pieces_in_any_order() {
        let g = |off, len| Group {
            off,
            len,
            stride: 0,
            count: 1,
        };
        let groups = [g(10, 1), g(2, 2), g(0, 2), g(3, 5), g(200, 70), g(130, 70)];
        let c = Coverage::of(groups.iter()).unwrap();
        assert_eq!(c.spans(), vec![(0, 8), (10, 1), (130, 140)]);
        assert_eq!(c.len, 270);
        assert!(Coverage::of([].iter()).is_none());
        let strided = [Group {
            off: 0,
            len: 2,
            stride: 8,
            count: 3,
        }];
        assert_eq!(
            Coverage::of(strided.iter()).unwrap().spans(),
            vec![(0, 2), (8, 2), (16, 2)]
        );
    }
}
