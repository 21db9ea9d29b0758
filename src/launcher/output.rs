//! Forwarding the ranks' standard streams through mpiexec.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::process::ChildStdin;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Counts live forwarding threads so mpiexec can wait, boundedly, for the
/// ranks' last output before exiting.
#[derive(Default)]
pub struct Tracker {
    live: Mutex<usize>,
    idle: Condvar,
}

impl Tracker {
    /// Wait until every forwarder has hit EOF, or `timeout` passes (a
    /// process that escaped the job may still hold a pipe open).
    pub fn wait_all(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        while *live > 0 {
            let now = Instant::now();
            if now >= deadline {
                debug!("{} output stream(s) still open, not waiting", *live);
                return;
            }
            live = self
                .idle
                .wait_timeout(live, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn enter(&self) {
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }

    fn leave(&self) {
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.idle.notify_all();
    }
}

#[derive(Clone, Copy)]
pub enum Stream {
    Out,
    Err,
}

/// Write to mpiexec's own stream; false once it is a broken pipe (say,
/// `| head`): the forwarder then stops reading so the rank gets SIGPIPE, as it
/// would writing to the pipe directly. Other errors are ignored and the
/// output dropped, so the ranks never block on a full pipe.
fn emit(stream: Stream, bytes: &[u8]) -> bool {
    let result = match stream {
        Stream::Out => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Stream::Err => std::io::stderr().lock().write_all(bytes),
    };
    !matches!(result, Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// How long a partial line waits for its end before it is shown as it is
/// (a prompt, say).
const PARTIAL_LINE_WAIT_MS: i32 = 50;

/// Whether `fd` has data (or EOF) within `ms` milliseconds.
fn readable_within(fd: RawFd, ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, ms) != 0 }
}

/// Copy `src` to mpiexec's `stream` on a new thread, a whole line at a time
/// so that ranks writing at once never mix within a line. With a `label`,
/// each line is written behind it and a partial line waits for its end;
/// without, a partial line is shown after a short wait.
pub fn forward(
    tracker: &Arc<Tracker>,
    mut src: impl Read + AsRawFd + Send + 'static,
    stream: Stream,
    label: Option<String>,
) {
    let tracker = tracker.clone();
    tracker.enter();
    let spawned = thread::Builder::new().name("output".into()).spawn({
        let tracker = tracker.clone();
        move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut pending: Vec<u8> = Vec::new();
            let fd = src.as_raw_fd();
            loop {
                if label.is_none()
                    && !pending.is_empty()
                    && !readable_within(fd, PARTIAL_LINE_WAIT_MS)
                {
                    if !emit(stream, &pending) {
                        break;
                    }
                    pending.clear();
                }
                let n = match src.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                pending.extend_from_slice(&buf[..n]);
                let Some(last_nl) = pending.iter().rposition(|&b| b == b'\n') else {
                    continue;
                };
                let Some(label) = &label else {
                    if !emit(stream, &pending[..=last_nl]) {
                        pending.clear();
                        break;
                    }
                    pending.drain(..=last_nl);
                    continue;
                };
                let mut text = Vec::with_capacity(last_nl + 1 + label.len() * 4);
                for line in pending[..=last_nl].split_inclusive(|&b| b == b'\n') {
                    text.extend_from_slice(label.as_bytes());
                    text.extend_from_slice(line);
                }
                if !emit(stream, &text) {
                    pending.clear();
                    break;
                }
                pending.drain(..=last_nl);
            }
            if !pending.is_empty() {
                match &label {
                    // Finish an unterminated last line so the next label
                    // starts on a line of its own.
                    Some(label) => {
                        pending.push(b'\n');
                        emit(stream, &[label.as_bytes(), &pending].concat());
                    }
                    None => {
                        emit(stream, &pending);
                    }
                }
            }
            tracker.leave();
        }
    });
    if spawned.is_err() {
        tracker.leave();
    }
}

/// Copy mpiexec's stdin to rank 0 until EOF, then close the pipe so the rank
/// sees EOF too.
pub fn forward_stdin(mut dst: ChildStdin) {
    let spawned = thread::Builder::new().name("stdin".into()).spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let stdin = std::io::stdin();
        loop {
            let n = match stdin.lock().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            if dst.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    if let Err(e) = spawned {
        debug!("cannot start the stdin forwarder: {e}");
    }
}
