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
//! (`enable`, `disable`, `automatic`), `cb_buffer_size`, `cb_nodes`
//! (aggregators). `automatic` aggregates when the members' ranges
//! interleave and their pieces are small (under a page on average):
//! pieces of a page or more already reach the file system as whole
//! pages, and moving them through an aggregator only adds copies.
//! Without `cb_nodes` every member may aggregate (on one node the page
//! cache is shared, so more aggregators only share the copying), but no
//! aggregator gets less than `MIN_DOMAIN` bytes. In
//! atomic mode every member accesses its own ranges under the file lock.

use super::File;
use super::access::{read_spans, valid_prefix};
use super::io_error;
use crate::core::coll::{self, Block};
use crate::core::comm::Comm;
use crate::core::error::MpiResult;
use crate::core::sched;
use parking_lot::Mutex;
use std::ffi::c_int;
use std::ops::{Deref, DerefMut};
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
    /// How many aggregators (`None`: as many as the access is large,
    /// up to every member).
    pub nodes: Option<usize>,
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
            nodes: get("cb_nodes")
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&v| v > 0),
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

/// `automatic` leaves pieces of this many bytes or more (on average)
/// to their members.
const LARGE_PIECE: i64 = 4096;
/// The least span an aggregator is given (fewer aggregators for small
/// accesses: fewer messages).
const MIN_DOMAIN: i64 = 256 << 10;

/// Decide from every member's extent, the mean length of the members'
/// pieces and the settings (rank 0's choice counts); `None`: each member
/// accesses its own ranges.
pub fn decide(extents: &[(i64, i64)], mean: i64, s: &Settings, atomic: bool) -> Option<Plan> {
    let used: Vec<(i64, i64)> = extents.iter().copied().filter(|e| e.0 < e.1).collect();
    let lo = used.iter().map(|e| e.0).min()?;
    let hi = used.iter().map(|e| e.1).max()?;
    let wanted = match s.choice {
        Choice::Enable => true,
        Choice::Disable => false,
        Choice::Automatic => {
            let mut sorted = used.clone();
            sorted.sort_unstable();
            mean < LARGE_PIECE && sorted.windows(2).any(|w| w[1].0 < w[0].1)
        }
    };
    if atomic || !wanted {
        return None;
    }
    let n = extents.len();
    let a = match s.nodes {
        Some(k) => k.clamp(1, n),
        None => ((hi - lo) / MIN_DOMAIN).clamp(1, n as i64) as usize,
    };
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

/// Every member's extent of `runs` (sorted by offset), run count and
/// bytes, and rank 0's choice, then the plan. Collective over the file's
/// group.
pub fn plan(f: &File, runs: &[Run], s: &Settings) -> MpiResult<Option<Plan>> {
    const W: usize = 5;
    let c = f.comm();
    let n = c.size as usize;
    let lo = runs.first().map_or(i64::MAX, |r| r.0);
    let hi = runs.iter().map(|r| r.0 + r.1).max().unwrap_or(i64::MIN);
    let bytes = runs.iter().map(|r| r.1).sum::<i64>();
    let mine = [lo, hi, runs.len() as i64, bytes, s.choice as i64];
    let mut all = vec![0i64; W * n];
    let blocks: Vec<Block> = (0..n).map(|i| (i * W * 8, W * 8)).collect();
    coll::allgatherv_blocking(
        c,
        Some((mine.as_ptr() as usize, W * 8)),
        all.as_mut_ptr() as usize,
        &blocks,
    )?;
    let extents: Vec<(i64, i64)> = all.chunks(W).map(|e| (e[0], e[1])).collect();
    let pieces = all.chunks(W).map(|e| e[2]).sum::<i64>().max(1);
    let mean = all.chunks(W).map(|e| e[3]).sum::<i64>() / pieces;
    let choice = match all[W - 1] {
        1 => Choice::Enable,
        2 => Choice::Disable,
        _ => Choice::Automatic,
    };
    let s = Settings { choice, ..*s };
    Ok(decide(&extents, mean, &s, f.atomic.load(Ordering::Relaxed)))
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

/// Buffers a file lends its collective calls, kept between calls: a
/// window's pages are faulted in once, not on every call.
#[derive(Default)]
pub struct Pool(Mutex<Vec<Vec<u8>>>);

/// How many buffers a pool keeps (a call uses at most four at once), and
/// the largest it keeps.
const POOL_KEEPS: usize = 4;
const POOL_LARGEST: usize = 64 << 20;

/// A buffer from the file's pool, empty when lent, back in the pool when
/// dropped.
struct Scratch<'a> {
    pool: &'a Pool,
    buf: Vec<u8>,
}

impl<'a> Scratch<'a> {
    fn new(f: &'a File) -> Scratch<'a> {
        let mut buf = f.scratch.0.lock().pop().unwrap_or_default();
        buf.clear();
        Scratch {
            pool: &f.scratch,
            buf,
        }
    }

    /// Lent and `len` zero bytes long.
    fn zeroed(f: &'a File, len: usize) -> Scratch<'a> {
        let mut s = Scratch::new(f);
        s.buf.resize(len, 0);
        s
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let mut pool = self.pool.0.lock();
        if pool.len() < POOL_KEEPS && self.buf.capacity() <= POOL_LARGEST {
            pool.push(std::mem::take(&mut self.buf));
        }
    }
}

impl Deref for Scratch<'_> {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl DerefMut for Scratch<'_> {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

/// Messages to every member laid end to end in one buffer.
struct Outgoing<'a> {
    buf: Scratch<'a>,
    blocks: Vec<Block>,
}

impl<'a> Outgoing<'a> {
    fn new(f: &'a File, n: usize) -> Outgoing<'a> {
        Outgoing {
            buf: Scratch::new(f),
            blocks: vec![(0, 0); n],
        }
    }

    /// Append the message to `dest` (each member at most once).
    fn to(&mut self, dest: usize, fill: impl FnOnce(&mut Vec<u8>)) {
        let start = self.buf.len();
        fill(&mut self.buf);
        self.blocks[dest] = (start, self.buf.len() - start);
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
struct Received<'a> {
    buf: Scratch<'a>,
    blocks: Vec<Block>,
}

impl Received<'_> {
    /// Member `i`'s message.
    fn from(&self, i: usize) -> &[u8] {
        let (o, l) = self.blocks[i];
        &self.buf[o..o + l]
    }

    fn each(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.blocks.len()).map(|i| self.from(i))
    }
}

/// Send each member its message and receive theirs, sizes exchanged
/// first.
fn all_to_all<'a>(f: &'a File, out: &Outgoing) -> MpiResult<Received<'a>> {
    let c = f.comm();
    let n = out.blocks.len();
    let sizes: Vec<i64> = out.blocks.iter().map(|b| b.1 as i64).collect();
    let mut theirs = vec![0i64; n];
    let eight: Vec<Block> = (0..n).map(|i| (i * 8, 8)).collect();
    exchange(
        c,
        bytes_of(&sizes),
        &eight,
        bytes_of_mut(&mut theirs),
        &eight,
    )?;
    let (rlen, blocks) = layout(theirs.iter().map(|&s| s as usize));
    let mut buf = Scratch::zeroed(f, rlen);
    exchange(c, &out.buf, &out.blocks, &mut buf, &blocks)?;
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
fn round_msgs<'a>(
    f: &'a File,
    plan: &Plan,
    runs: &Runs,
    r: i64,
    data: Option<&[u8]>,
) -> (Outgoing<'a>, Vec<Vec<Piece>>) {
    let n = f.comm().size as usize;
    let mut out = Outgoing::new(f, n);
    let mut pieces = vec![Vec::new(); n];
    for (j, &a) in plan.aggs.iter().enumerate() {
        let p = runs.pieces(plan.window(j, r));
        out.to(a as usize, |buf| encode(&p, data, buf));
        pieces[a as usize] = p;
    }
    (out, pieces)
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
    let runs = Runs::new(runs);
    let me = my_agg(plan, c.rank);
    let mut failed = Ok(());
    for r in 0..plan.rounds() {
        let (out, _) = round_msgs(f, plan, &runs, r, Some(data));
        let got = all_to_all(f, &out)?;
        drop(out);
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
        let mut buf = Scratch::zeroed(f, cover.len);
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
        let (out, mine) = round_msgs(f, plan, &the_runs, r, None);
        let asked = all_to_all(f, &out)?;
        drop(out);
        let mut replies = Outgoing::new(f, n);
        if let Some(j) = me {
            let (wlo, whi) = plan.window(j, r);
            if wlo < whi
                && let Err(e) = serve(f, &asked, &mut replies, sieve)
            {
                failed = Err(e);
            }
        }
        drop(asked);
        let back = all_to_all(f, &replies)?;
        drop(replies);
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
fn serve(f: &File, asked: &Received, replies: &mut Outgoing, sieve: bool) -> MpiResult<()> {
    let each: Vec<Vec<Group>> = asked.each().map(|m| decode(m).groups).collect();
    let Some(cover) = Coverage::of(each.iter().flatten()) else {
        return Ok(());
    };
    let base = cover.base;
    let mut buf = Scratch::zeroed(f, cover.len);
    read_spans(f, &cover.spans(), base, &mut buf, sieve)?;
    for (member, groups) in each.iter().enumerate() {
        replies.to(member, |reply| {
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
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(choice: Choice, buffer: i64, nodes: Option<usize>) -> Settings {
        Settings {
            choice,
            buffer,
            nodes,
            sieve: true,
        }
    }

    #[test]
    fn automatic_aggregates_only_interleaved_ranges() {
        let s = settings(Choice::Automatic, 100, Some(1));
        assert!(decide(&[(0, 10), (10, 20)], 8, &s, false).is_none());
        assert!(decide(&[(0, 10), (5, 20)], 8, &s, false).is_some());
        assert!(decide(&[(i64::MAX, i64::MIN), (5, 20)], 8, &s, false).is_none());
        assert!(decide(&[(0, 10), (5, 20)], 8, &s, true).is_none());
        // Pieces of a page or more stay with their members.
        let big = [(0, 1 << 20), (4096, 1 << 20)];
        assert!(decide(&big, LARGE_PIECE - 1, &s, false).is_some());
        assert!(decide(&big, LARGE_PIECE, &s, false).is_none());
        let s = settings(Choice::Enable, 100, Some(1));
        assert!(decide(&[(0, 10), (10, 20)], 1 << 20, &s, false).is_some());
    }

    #[test]
    fn aggregators_get_at_least_the_least_domain() {
        let s = settings(Choice::Enable, 1 << 20, None);
        let p = decide(&[(0, 100), (50, 200), (0, 0)], 8, &s, false).unwrap();
        assert_eq!(p.aggs, vec![0]);
        let p = decide(&[(0, MIN_DOMAIN * 2), (0, 0), (5, 9)], 8, &s, false).unwrap();
        assert_eq!(p.aggs, vec![0, 1]);
        let p = decide(&[(0, MIN_DOMAIN * 9), (0, 0), (5, 9)], 8, &s, false).unwrap();
        assert_eq!(p.aggs, vec![0, 1, 2]);
    }

    #[test]
    fn domains_and_windows_cover_the_span_once() {
        let s = settings(Choice::Enable, 7, Some(3));
        let p = decide(&[(3, 40), (10, 50), (0, 0), (20, 21)], 8, &s, false).unwrap();
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
