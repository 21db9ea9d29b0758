//! The point-to-point engine at its boundaries: N engines, one per rank,
//! over the in-process loopback transport (`transport::loopback`).
//!
//! Most tests drive every engine in turn from one thread, so they are
//! deterministic; the `threads_*` tests run each rank on its own thread,
//! waiting as MPI calls do (spin, yield, sleep on the bell), which checks
//! the wake-ups. Every test is bounded: a stuck run fails, it never hangs.
//!
//! Message sizes are run through each protocol: `zero` and `small` (eager),
//! `inline` (the largest eager record), `rndv` (a single-copy read under a
//! memory key), `stream` (single-copy off: clear-to-send and fragments
//! through a small channel) and `refused` (single-copy offered but the read
//! fails, so the receiver falls back to streaming).

use super::{Engine, SendBuf, Unexpected};
use crate::core::consts::*;
use crate::core::request::{ReqKind, Request, SendMode, Status};
use crate::transport::Transport;
use crate::transport::loopback::{self, Loopback, Options};
use std::ffi::c_int;
use std::sync::Arc;
use std::time::Duration;

const CTX: u32 = 40;

struct Net {
    engines: Vec<Engine>,
    links: Vec<Arc<Loopback>>,
}

fn net(n: usize, opts: Options) -> Net {
    let links = loopback::fabric(n, opts);
    let engines = links
        .iter()
        .enumerate()
        .map(|(me, l)| Engine::new(me, n, vec![l.clone() as Arc<dyn Transport>], || false))
        .collect();
    Net { engines, links }
}

/// How a size class is set up: message length and fabric options.
fn class(name: &str) -> (usize, Options) {
    let d = Options::default();
    let small = Options {
        capacity: 4,
        max_inline: 1024,
        ..d
    };
    match name {
        "zero" => (0, d),
        "small" => (24, d),
        "inline" => (d.max_inline, d),
        "rndv" => (100_003, d),
        "stream" => (
            50_001,
            Options {
                single_copy: false,
                ..small
            },
        ),
        "refused" => (
            50_001,
            Options {
                refuse_reads: true,
                ..small
            },
        ),
        _ => unreachable!("size class {name}"),
    }
}

/// Bytes that differ between messages and positions.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A receive in flight: its request and the buffer it fills.
struct Recv {
    req: Arc<Request>,
    buf: Vec<u8>,
}

impl Recv {
    fn status(&self) -> Status {
        assert!(self.req.is_done(), "receive not complete");
        self.req.status()
    }
}

impl Net {
    fn e(&self, r: usize) -> &Engine {
        &self.engines[r]
    }

    /// Rank `from` sends `data` to `to` (sender rank in the communicator is
    /// the world rank). The data must outlive the send: callers keep it.
    fn send(
        &self,
        from: usize,
        to: usize,
        tag: c_int,
        data: &[u8],
        mode: SendMode,
    ) -> Arc<Request> {
        self.send_ctx(CTX, from, to, tag, data, mode)
    }

    fn send_ctx(
        &self,
        ctx: u32,
        from: usize,
        to: usize,
        tag: c_int,
        data: &[u8],
        mode: SendMode,
    ) -> Arc<Request> {
        let req = Request::new(ReqKind::Send, 0);
        let env = super::Envelope {
            ctx,
            src: from as c_int,
            tag,
        };
        let buf = SendBuf::user(data.as_ptr() as usize, data.len());
        self.e(from)
            .isend(env, to, buf, mode, req.clone())
            .expect("send starts");
        req
    }

    fn recv(&self, at: usize, src: c_int, tag: c_int, cap: usize) -> Recv {
        self.recv_ctx(CTX, at, src, tag, cap)
    }

    fn recv_ctx(&self, ctx: u32, at: usize, src: c_int, tag: c_int, cap: usize) -> Recv {
        let mut buf = vec![0xEEu8; cap];
        let req = Request::new(ReqKind::Recv, 0);
        self.e(at)
            .irecv(ctx, src, tag, buf.as_mut_ptr() as usize, cap, req.clone());
        Recv { req, buf }
    }

    /// One pass of progress on every rank.
    fn step(&self) {
        for e in &self.engines {
            e.progress();
        }
    }

    /// Progress every rank until `done()`, failing after a bound.
    fn drive(&self, done: impl Fn() -> bool) {
        for _ in 0..200_000 {
            if done() {
                return;
            }
            self.step();
        }
        panic!("no progress: the engines are stuck");
    }

    fn drive_all(&self, reqs: &[&Arc<Request>]) {
        self.drive(|| reqs.iter().all(|r| r.is_done()));
    }

    /// Let every queued record arrive and be handled.
    fn settle(&self) {
        for _ in 0..50 {
            self.step();
        }
    }
}

fn ok_status(st: &Status, src: usize, tag: c_int, bytes: usize) {
    assert_eq!(
        (st.source, st.tag, st.error, st.bytes, st.cancelled),
        (src as c_int, tag, MPI_SUCCESS, bytes, false)
    );
}

/// Run `f` on a thread and fail if it takes longer than `limit` (a hung
/// engine fails the test instead of hanging `cargo test`).
fn within(limit: Duration, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(limit) {
        Ok(()) => h.join().expect("test thread"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The thread panicked: pass its panic on.
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(_) => panic!("timed out after {limit:?}: an engine hangs"),
    }
}

// ---------------------------------------------------------------------------
// Per protocol: delivery, truncation, synchronous mode, cancellation.

/// The receive is posted before the message arrives.
fn posted_first(class_name: &str) {
    let (len, opts) = class(class_name);
    let n = net(2, opts);
    let data = pattern(1, len);
    let r = n.recv(1, 0, 5, len);
    let s = n.send(0, 1, 5, &data, SendMode::Standard);
    n.drive_all(&[&r.req, &s]);
    ok_status(&r.status(), 0, 5, len);
    assert!(r.buf == data, "payload differs");
    assert_eq!(n.links[0].exposed(), 0, "send buffer still exposed");
}

/// The message arrives before its receive (unexpected).
fn unexpected_first(class_name: &str) {
    let (len, opts) = class(class_name);
    let n = net(2, opts);
    let data = pattern(2, len);
    let s = n.send(0, 1, 6, &data, SendMode::Standard);
    n.settle();
    assert_eq!(n.e(1).stats().unexpected_len, 1);
    let r = n.recv(1, MPI_ANY_SOURCE, MPI_ANY_TAG, len + 10);
    n.drive_all(&[&r.req, &s]);
    ok_status(&r.status(), 0, 6, len);
    assert!(r.buf[..len] == data[..], "payload differs");
    assert!(
        r.buf[len..].iter().all(|&b| b == 0xEE),
        "wrote past the message"
    );
    assert_eq!(n.e(1).stats().unexpected_len, 0);
}

/// A receive buffer shorter than the message: `MPI_ERR_TRUNCATE`, the
/// buffer filled and nothing written beyond it.
fn truncated(class_name: &str, posted: bool) {
    let (len, opts) = class(class_name);
    if len == 0 {
        return;
    }
    let n = net(2, opts);
    let data = pattern(3, len);
    let cap = len / 2;
    let mut r = None;
    if posted {
        r = Some(n.recv(1, 0, 1, cap));
    }
    let s = n.send(0, 1, 1, &data, SendMode::Standard);
    n.settle();
    let r = r.unwrap_or_else(|| n.recv(1, 0, 1, cap));
    n.drive_all(&[&r.req, &s]);
    let st = r.status();
    assert_eq!((st.error, st.bytes, st.source), (MPI_ERR_TRUNCATE, cap, 0));
    assert!(r.buf == data[..cap], "truncated payload differs");
    assert!(s.status().error == MPI_SUCCESS, "the send itself succeeds");
}

/// `MPI_Ssend` completes only once the receive has matched.
fn sync_send(class_name: &str) {
    let (len, opts) = class(class_name);
    let n = net(2, opts);
    let data = pattern(4, len);
    let s = n.send(0, 1, 2, &data, SendMode::Sync);
    n.settle();
    assert!(
        !s.is_done(),
        "synchronous send completed before its receive"
    );
    let r = n.recv(1, 0, 2, len);
    n.drive_all(&[&r.req, &s]);
    ok_status(&r.status(), 0, 2, len);
    assert!(r.buf == data);
}

/// Cancelling a send the receiver has not matched withdraws it; the
/// receiver never sees it, and a later message still arrives.
fn cancel_unmatched_send(class_name: &str) {
    let (len, opts) = class(class_name);
    let n = net(2, opts);
    let data = pattern(5, len);
    let s = n.send(0, 1, 3, &data, SendMode::Standard);
    n.settle();
    n.e(0).cancel_send(&s);
    n.drive_all(&[&s]);
    assert!(s.status().cancelled, "unmatched send was not cancelled");
    assert!(
        n.e(1).iprobe(CTX, 0, 3, false).is_none(),
        "withdrawn message still queued"
    );
    assert_eq!(n.e(1).stats().unexpected_len, 0);
    assert_eq!(n.links[0].exposed(), 0, "cancelled send still exposed");
    let next = pattern(6, 8);
    let s2 = n.send(0, 1, 3, &next, SendMode::Standard);
    let r = n.recv(1, 0, 3, len.max(8));
    n.drive_all(&[&r.req, &s2]);
    ok_status(&r.status(), 0, 3, 8);
    assert!(r.buf[..8] == next[..]);
}

/// Cancelling a send after its receive matched: the send completes
/// normally, not cancelled, and the data arrived.
fn cancel_matched_send(class_name: &str) {
    let (len, opts) = class(class_name);
    let n = net(2, opts);
    let data = pattern(7, len);
    let r = n.recv(1, 0, 4, len);
    let s = n.send(0, 1, 4, &data, SendMode::Standard);
    n.drive_all(&[&r.req]);
    n.e(0).cancel_send(&s);
    n.drive_all(&[&s]);
    assert!(!s.status().cancelled, "a matched send reported cancelled");
    ok_status(&r.status(), 0, 4, len);
    assert!(r.buf == data);
}

/// Cancelling a send whose record never left this process (the channel
/// is full): dropped here, the receiver never hears of it.
fn cancel_queued_send(class_name: &str) {
    let (len, mut opts) = class(class_name);
    opts.capacity = 1;
    let n = net(2, opts);
    let first = pattern(8, 1);
    let data = pattern(9, len);
    let s1 = n.send(0, 1, 7, &first, SendMode::Standard);
    let s2 = n.send(0, 1, 7, &data, SendMode::Standard);
    n.e(0).cancel_send(&s2);
    n.drive_all(&[&s1, &s2]);
    assert!(s2.status().cancelled);
    n.settle();
    let r = n.recv(1, 0, 7, len.max(1));
    n.drive_all(&[&r.req]);
    ok_status(&r.status(), 0, 7, 1);
    assert!(
        n.e(1).iprobe(CTX, 0, 7, false).is_none(),
        "cancelled message arrived"
    );
}

/// A message to oneself, posted first and unexpected.
fn self_send(class_name: &str) {
    let (len, opts) = class(class_name);
    let n = net(1, opts);
    let data = pattern(10, len);
    let s = n.send(0, 0, 9, &data, SendMode::Standard);
    let r = n.recv(0, 0, 9, len);
    n.drive_all(&[&r.req, &s]);
    ok_status(&r.status(), 0, 9, len);
    assert!(r.buf == data);
    let r = n.recv(0, MPI_ANY_SOURCE, 9, len);
    let s = n.send(0, 0, 9, &data, SendMode::Sync);
    n.drive_all(&[&r.req, &s]);
    assert!(r.buf == data);
}

/// `MPI_Improbe` takes the message off the queue; `MPI_Mrecv` gets it, and
/// a receive posted in between does not.
fn mprobe_then_mrecv(class_name: &str) {
    let (len, opts) = class(class_name);
    let n = net(2, opts);
    let a = pattern(11, len);
    let b = pattern(12, len);
    let sa = n.send(0, 1, 8, &a, SendMode::Standard);
    let sb = n.send(0, 1, 8, &b, SendMode::Standard);
    n.settle();
    let (st, msg) = n.e(1).iprobe(CTX, 0, 8, true).expect("message queued");
    ok_status(&st, 0, 8, len);
    let msg: Unexpected = msg.expect("taken");
    let other = n.recv(1, 0, 8, len);
    n.drive_all(&[&other.req]);
    assert!(other.buf == b, "the receive got the probed message");
    let mut buf = vec![0u8; len];
    let req = Request::new(ReqKind::Recv, 0);
    n.e(1)
        .mrecv(msg, buf.as_mut_ptr() as usize, len, req.clone());
    n.drive_all(&[&req, &sa, &sb]);
    ok_status(&req.status(), 0, 8, len);
    assert!(buf == a, "the matched receive got the wrong message");
}

macro_rules! per_protocol {
    ($($class:ident),*) => {$(
        mod $class {
            #[test]
            fn posted_first() {
                super::posted_first(stringify!($class));
            }
            #[test]
            fn unexpected_first() {
                super::unexpected_first(stringify!($class));
            }
            #[test]
            fn truncated_posted() {
                super::truncated(stringify!($class), true);
            }
            #[test]
            fn truncated_unexpected() {
                super::truncated(stringify!($class), false);
            }
            #[test]
            fn sync_send() {
                super::sync_send(stringify!($class));
            }
            #[test]
            fn cancel_unmatched_send() {
                super::cancel_unmatched_send(stringify!($class));
            }
            #[test]
            fn cancel_matched_send() {
                super::cancel_matched_send(stringify!($class));
            }
            #[test]
            fn cancel_queued_send() {
                super::cancel_queued_send(stringify!($class));
            }
            #[test]
            fn self_send() {
                super::self_send(stringify!($class));
            }
            #[test]
            fn mprobe_then_mrecv() {
                super::mprobe_then_mrecv(stringify!($class));
            }
        }
    )*};
}

per_protocol!(zero, small, inline, rndv, stream, refused);

// ---------------------------------------------------------------------------
// Matching.

/// Messages between one pair with one tag arrive in the order sent, across
/// protocols (non-overtaking), whether receives are posted early or late.
#[test]
fn non_overtaking_mixed_sizes() {
    for posted in [true, false] {
        let n = net(
            2,
            Options {
                capacity: 3,
                max_inline: 512,
                ..Options::default()
            },
        );
        let sizes = [0, 7, 512, 513, 20_000, 3, 0, 70_000, 1, 511];
        let datas: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &l)| pattern(100 + i as u64, l))
            .collect();
        let mut recvs = Vec::new();
        if posted {
            recvs = sizes.iter().map(|_| n.recv(1, 0, 1, 70_000)).collect();
        }
        let sends: Vec<_> = datas
            .iter()
            .map(|d| n.send(0, 1, 1, d, SendMode::Standard))
            .collect();
        if !posted {
            n.settle();
            recvs = sizes.iter().map(|_| n.recv(1, 0, 1, 70_000)).collect();
        }
        let all: Vec<&Arc<Request>> = sends.iter().chain(recvs.iter().map(|r| &r.req)).collect();
        n.drive_all(&all);
        for (i, r) in recvs.iter().enumerate() {
            ok_status(&r.status(), 0, 1, sizes[i]);
            assert!(
                r.buf[..sizes[i]] == datas[i][..],
                "message {i} out of order"
            );
        }
    }
}

/// `MPI_ANY_SOURCE` takes messages from every sender, each sender's in
/// order, and reports the true source.
fn any_source(ranks: usize) {
    let n = net(ranks, Options::default());
    let per = 5;
    let datas: Vec<Vec<Vec<u8>>> = (0..ranks)
        .map(|s| {
            (0..per)
                .map(|k| pattern((s * 100 + k) as u64, 16))
                .collect()
        })
        .collect();
    let mut sends = Vec::new();
    for (s, msgs) in datas.iter().enumerate().skip(1) {
        for m in msgs {
            sends.push(n.send(s, 0, 0, m, SendMode::Standard));
        }
    }
    let recvs: Vec<Recv> = (0..(ranks - 1) * per)
        .map(|_| n.recv(0, MPI_ANY_SOURCE, 0, 16))
        .collect();
    let all: Vec<&Arc<Request>> = sends.iter().chain(recvs.iter().map(|r| &r.req)).collect();
    n.drive_all(&all);
    let mut next = vec![0usize; ranks];
    for r in &recvs {
        let src = r.status().source as usize;
        assert!((1..ranks).contains(&src), "bad source {src}");
        assert!(r.buf == datas[src][next[src]], "source {src} out of order");
        next[src] += 1;
    }
    assert!(next[1..].iter().all(|&k| k == per));
}

#[test]
fn any_source_2() {
    any_source(2);
}
#[test]
fn any_source_3() {
    any_source(3);
}
#[test]
fn any_source_5() {
    any_source(5);
}
#[test]
fn any_source_8() {
    any_source(8);
}

/// A receive for one tag passes over an earlier message with another tag;
/// `MPI_ANY_TAG` then takes the earlier one.
#[test]
fn tag_selects_and_any_tag_takes_oldest() {
    let n = net(2, Options::default());
    let a = pattern(1, 4);
    let b = pattern(2, 4);
    let c = pattern(3, 4);
    let sends = [
        n.send(0, 1, 5, &a, SendMode::Standard),
        n.send(0, 1, 7, &b, SendMode::Standard),
        n.send(0, 1, 5, &c, SendMode::Standard),
    ];
    n.settle();
    let r7 = n.recv(1, 0, 7, 4);
    let rany = n.recv(1, 0, MPI_ANY_TAG, 4);
    let r5 = n.recv(1, MPI_ANY_SOURCE, 5, 4);
    n.drive_all(&[&r7.req, &rany.req, &r5.req, &sends[0], &sends[1], &sends[2]]);
    assert!(r7.buf == b && r7.status().tag == 7);
    assert!(rany.buf == a && rany.status().tag == 5);
    assert!(r5.buf == c);
}

/// The same source and tag on two contexts (communicators) never match
/// each other's receives.
#[test]
fn contexts_are_separate() {
    let n = net(2, Options::default());
    let a = pattern(1, 32);
    let b = pattern(2, 32);
    let ra = n.recv_ctx(CTX + 2, 1, 0, 0, 32);
    let sa = n.send_ctx(CTX, 0, 1, 0, &a, SendMode::Standard);
    let sb = n.send_ctx(CTX + 2, 0, 1, 0, &b, SendMode::Standard);
    n.drive_all(&[&ra.req, &sa, &sb]);
    assert!(ra.buf == b, "a receive matched another context's message");
    assert!(n.e(1).iprobe(CTX, 0, 0, false).is_some());
    assert!(n.e(1).iprobe(CTX + 1, 0, 0, false).is_none());
}

/// A posted receive is matched by the first message that fits, and a
/// receive posted later for the same envelope by the next.
#[test]
fn posted_receives_match_in_post_order() {
    let n = net(3, Options::default());
    let r_any = n.recv(0, MPI_ANY_SOURCE, MPI_ANY_TAG, 8);
    let r_from2 = n.recv(0, 2, 1, 8);
    let r_any2 = n.recv(0, MPI_ANY_SOURCE, 1, 8);
    let a = pattern(1, 8);
    let b = pattern(2, 8);
    let sa = n.send(2, 0, 1, &a, SendMode::Standard);
    n.drive_all(&[&r_any.req, &sa]);
    assert!(r_any.buf == a, "the oldest matching receive must take it");
    assert!(!r_from2.req.is_done());
    let sb = n.send(2, 0, 1, &b, SendMode::Standard);
    n.drive_all(&[&r_from2.req, &sb]);
    assert!(r_from2.buf == b);
    assert!(!r_any2.req.is_done());
    assert!(n.e(0).cancel_recv(&r_any2.req));
    assert!(r_any2.req.is_done() && r_any2.status().cancelled);
}

// ---------------------------------------------------------------------------
// Cancelling receives.

#[test]
fn cancel_posted_receive() {
    let n = net(2, Options::default());
    let r = n.recv(1, 0, 3, 8);
    assert!(n.e(1).cancel_recv(&r.req));
    assert!(r.req.is_done());
    let st = r.status();
    assert!(st.cancelled && st.bytes == 0);
    // The message that comes later is not lost: it waits for a receive.
    let d = pattern(1, 8);
    let s = n.send(0, 1, 3, &d, SendMode::Standard);
    n.settle();
    let r2 = n.recv(1, 0, 3, 8);
    n.drive_all(&[&r2.req, &s]);
    assert!(r2.buf == d);
    assert!(
        r.buf.iter().all(|&b| b == 0xEE),
        "a cancelled receive was written"
    );
}

#[test]
fn cancel_matched_receive_fails() {
    let n = net(2, Options::default());
    let r = n.recv(1, 0, 3, 8);
    let d = pattern(1, 8);
    let s = n.send(0, 1, 3, &d, SendMode::Standard);
    n.drive_all(&[&r.req, &s]);
    assert!(!n.e(1).cancel_recv(&r.req));
    assert!(!r.status().cancelled);
}

/// A rendezvous receive being streamed cannot be cancelled, and still
/// completes with the whole message.
#[test]
fn cancel_streaming_receive_fails() {
    let (len, opts) = class("stream");
    let n = net(2, opts);
    let d = pattern(1, len);
    let r = n.recv(1, 0, 3, len);
    let s = n.send(0, 1, 3, &d, SendMode::Standard);
    n.step();
    n.step();
    assert!(!n.e(1).cancel_recv(&r.req));
    n.drive_all(&[&r.req, &s]);
    assert!(r.buf == d);
}

// ---------------------------------------------------------------------------
// Protocol details and counters.

#[test]
fn counters_follow_protocols() {
    let (len, opts) = class("rndv");
    let n = net(2, opts);
    let big = pattern(1, len);
    let small = pattern(2, 10);
    let s1 = n.send(0, 1, 0, &small, SendMode::Standard);
    let s2 = n.send(0, 1, 0, &big, SendMode::Standard);
    n.settle();
    let st1 = n.e(1).stats();
    assert_eq!((st1.unexpected_len, st1.unexpected_high), (2, 2));
    let r1 = n.recv(1, 0, 0, 10);
    let r2 = n.recv(1, 0, 0, len);
    n.drive_all(&[&s1, &s2, &r1.req, &r2.req]);
    let tx = n.e(0).stats();
    assert_eq!((tx.eager_msgs, tx.eager_bytes), (1, 10));
    assert_eq!((tx.rndv_msgs, tx.rndv_bytes), (1, len as u64));
    let rx = n.e(1).stats();
    assert_eq!(rx.single_copy_bytes, len as u64);
    assert_eq!(rx.streamed_bytes, 0);
    assert_eq!((rx.unexpected_len, rx.unexpected_high), (0, 2));
}

#[test]
fn streamed_bytes_counted_when_single_copy_off() {
    let (len, opts) = class("stream");
    let n = net(2, opts);
    let d = pattern(1, len);
    let r = n.recv(1, 0, 0, len);
    let s = n.send(0, 1, 0, &d, SendMode::Standard);
    n.drive_all(&[&r.req, &s]);
    let rx = n.e(1).stats();
    assert_eq!((rx.single_copy_bytes, rx.streamed_bytes), (0, len as u64));
}

/// The receiver's fallback when a single-copy read is refused streams the
/// data, and the sender's buffer is concealed once done.
#[test]
fn refused_read_falls_back_to_streaming() {
    let (len, opts) = class("refused");
    let n = net(2, opts);
    let d = pattern(1, len);
    let r = n.recv(1, 0, 0, len);
    let s = n.send(0, 1, 0, &d, SendMode::Standard);
    n.drive_all(&[&r.req, &s]);
    assert!(r.buf == d);
    assert_eq!(n.e(1).stats().streamed_bytes, len as u64);
    assert_eq!(n.links[0].exposed(), 0);
}

/// Many more records than a channel holds: the sender queues, asks for
/// space and resumes, losing and reordering nothing.
#[test]
fn flow_control_with_tiny_channels() {
    let n = net(
        2,
        Options {
            capacity: 2,
            max_inline: 64,
            ..Options::default()
        },
    );
    let datas: Vec<Vec<u8>> = (0..300).map(|i| pattern(i, (i % 130) as usize)).collect();
    let sends: Vec<_> = datas
        .iter()
        .map(|d| n.send(0, 1, 0, d, SendMode::Standard))
        .collect();
    let recvs: Vec<_> = (0..300).map(|_| n.recv(1, 0, 0, 130)).collect();
    let all: Vec<&Arc<Request>> = sends.iter().chain(recvs.iter().map(|r| &r.req)).collect();
    n.drive_all(&all);
    for (r, d) in recvs.iter().zip(&datas) {
        assert!(r.buf[..d.len()] == d[..]);
    }
}

/// A peer no transport reaches is an error at the send, not a hang.
#[test]
fn unreachable_peer_is_an_error() {
    let links = loopback::fabric(2, Options::default());
    let e = Engine::new(0, 3, vec![links[0].clone() as Arc<dyn Transport>], || false);
    assert!(e.reaches(1) && e.reaches(0) && !e.reaches(2));
    let req = Request::new(ReqKind::Send, 0);
    let env = super::Envelope {
        ctx: CTX,
        src: 0,
        tag: 0,
    };
    let err = e
        .isend(env, 2, SendBuf::user(0, 0), SendMode::Standard, req)
        .expect_err("no transport reaches rank 2");
    assert_eq!(err.code, MPI_ERR_OTHER);
}

// ---------------------------------------------------------------------------
// Ranks on their own threads, waiting the way MPI calls wait.

/// Every rank sends `per` messages of mixed sizes to every other and
/// receives theirs (half with `MPI_ANY_SOURCE`), each thread waiting with
/// `wait_until`; payloads and per-pair order are checked.
fn threads_all_to_all(ranks: usize, per: usize, opts: Options) {
    within(Duration::from_secs(120), move || {
        let n = Arc::new(net(ranks, opts));
        let size_of = |from: usize, to: usize, k: usize| (from * 7 + to * 13 + k * 977) % 9000;
        std::thread::scope(|scope| {
            for me in 0..ranks {
                let n = &n;
                scope.spawn(move || {
                    let e = n.e(me);
                    let outgoing: Vec<(usize, Vec<u8>)> = (0..ranks)
                        .filter(|&p| p != me)
                        .flat_map(|p| (0..per).map(move |k| (p, k)))
                        .map(|(p, k)| {
                            (
                                p,
                                pattern((me * 1000 + p * 10 + k) as u64, size_of(me, p, k)),
                            )
                        })
                        .collect();
                    let sends: Vec<_> = outgoing
                        .iter()
                        .map(|(p, d)| n.send(me, *p, 0, d, SendMode::Standard))
                        .collect();
                    let mut got = vec![0usize; ranks];
                    for k in 0..(ranks - 1) * per {
                        let src = if k % 2 == 0 {
                            MPI_ANY_SOURCE
                        } else {
                            // A specific sender that still has messages for us.
                            (0..ranks)
                                .find(|&p| p != me && got[p] < per)
                                .expect("messages left") as c_int
                        };
                        let r = n.recv(me, src, 0, 9000);
                        e.wait(&r.req);
                        let st = r.status();
                        let from = st.source as usize;
                        let want = pattern(
                            (from * 1000 + me * 10 + got[from]) as u64,
                            size_of(from, me, got[from]),
                        );
                        assert_eq!(st.bytes, want.len());
                        assert!(
                            r.buf[..want.len()] == want[..],
                            "{from}->{me} #{} differs",
                            got[from]
                        );
                        got[from] += 1;
                    }
                    e.wait_until(|| sends.iter().all(|s| s.is_done()));
                    // Keep answering peers (acknowledgements) until all are done.
                    e.flush(Duration::from_secs(10));
                });
            }
        });
    });
}

#[test]
fn threads_all_to_all_2() {
    threads_all_to_all(2, 50, Options::default());
}
#[test]
fn threads_all_to_all_4() {
    threads_all_to_all(4, 20, Options::default());
}
#[test]
fn threads_all_to_all_7_streaming() {
    threads_all_to_all(
        7,
        6,
        Options {
            single_copy: false,
            capacity: 3,
            max_inline: 700,
            ..Options::default()
        },
    );
}
#[test]
fn threads_all_to_all_5_tiny_channels() {
    threads_all_to_all(
        5,
        10,
        Options {
            capacity: 1,
            max_inline: 256,
            ..Options::default()
        },
    );
}

/// A rank that waits for a synchronous send sleeps on its bell and is
/// woken by the acknowledgement when the receiver, which starts late,
/// matches.
#[test]
fn threads_sleeping_sender_is_woken() {
    within(Duration::from_secs(60), || {
        let n = Arc::new(net(2, Options::default()));
        let d = pattern(1, 64);
        std::thread::scope(|scope| {
            let n2 = &n;
            scope.spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                let r = n2.recv(1, 0, 0, 64);
                n2.e(1).wait(&r.req);
                assert!(r.buf[..] == pattern(1, 64)[..]);
                n2.e(1).flush(Duration::from_secs(5));
            });
            let s = n.send(0, 1, 0, &d, SendMode::Sync);
            n.e(0).wait(&s);
            assert!(n.e(0).stats().wait_ns > 0, "the wait was not counted");
        });
    });
}
