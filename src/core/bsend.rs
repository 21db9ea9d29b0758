//! Buffers for buffered sends (MPI-4.1 section 3.6): the process's
//! (`MPI_Buffer_attach`), a session's and a communicator's. A buffered
//! send draws on its communicator's buffer, else on the buffer of the
//! session the communicator came from, else on the process's.
//!
//! The message is copied when the send starts; the buffer accounts the
//! space the standard says the copy takes (data plus
//! `MPI_BSEND_OVERHEAD`) until the copy has gone out. A buffer attached
//! as `MPI_BUFFER_AUTOMATIC` has no limit.

use super::comm::Comm;
use super::consts::*;
use super::error::{MpiError, MpiResult};
use super::p2p::engine;
use super::request::Request;
use super::sched::Sched;
use parking_lot::Mutex;
use std::sync::Arc;

/// An attached buffer and the sends drawing on it.
struct Attached {
    addr: usize,
    size: usize,
    automatic: bool,
    used: usize,
    pending: Vec<(Arc<Request>, usize)>,
}

impl Attached {
    fn reclaim(&mut self) {
        let mut freed = 0;
        self.pending.retain(|(r, n)| {
            let done = r.is_done();
            if done {
                freed += n;
            }
            !done
        });
        self.used -= freed;
    }
}

/// A place a buffer can be attached to.
#[derive(Default)]
pub struct Buffer(Mutex<Option<Attached>>);

/// The process's buffer.
pub static PROCESS: Buffer = Buffer(Mutex::new(None));

impl Buffer {
    pub fn is_attached(&self) -> bool {
        self.0.lock().is_some()
    }

    /// Attach `size` bytes at `addr` (or `MPI_BUFFER_AUTOMATIC`).
    pub fn attach(&self, addr: usize, size: i64) -> MpiResult<()> {
        let automatic = addr == MPI_BUFFER_AUTOMATIC as usize;
        if size < 0 {
            return Err(MpiError::new(
                MPI_ERR_ARG,
                format!("negative buffer size {size}"),
            ));
        }
        if !automatic && size > 0 && addr == 0 {
            return Err(MpiError::new(MPI_ERR_BUFFER, "null buffer"));
        }
        let mut b = self.0.lock();
        if b.is_some() {
            return Err(MpiError::new(
                MPI_ERR_BUFFER,
                "a buffer is already attached here (detach it first)",
            ));
        }
        *b = Some(Attached {
            addr,
            size: if automatic { 0 } else { size as usize },
            automatic,
            used: 0,
            pending: Vec::new(),
        });
        Ok(())
    }

    /// The buffered sends still going out.
    fn pending(&self) -> Vec<Arc<Request>> {
        self.0
            .lock()
            .as_ref()
            .map(|a| a.pending.iter().map(|(r, _)| r.clone()).collect())
            .unwrap_or_default()
    }

    /// Wait until every buffered send drawing on this buffer has gone out.
    pub fn flush(&self) {
        let pending = self.pending();
        engine().wait_until(|| pending.iter().all(|r| r.is_done()));
        if let Some(a) = self.0.lock().as_mut() {
            a.reclaim();
        }
    }

    /// Start a flush: `req` completes once the buffered sends started so
    /// far have gone out (progressed with the collectives, on `comm`, a
    /// communicator of this process alone).
    pub fn iflush(&self, comm: Arc<Comm>, req: Arc<Request>) {
        let mut s = Sched::new(&comm);
        for r in self.pending() {
            s.wait_for(r);
        }
        s.start(comm, req);
    }

    /// Detach after the buffered sends have gone out: the buffer's address
    /// and size (`MPI_BUFFER_AUTOMATIC` and 0 for an automatic one; 0 and
    /// 0 when none was attached, as `MPI_Buffer_detach` always did).
    pub fn detach(&self) -> MpiResult<(usize, usize)> {
        self.flush();
        Ok(self.0.lock().take().map_or((0, 0), |a| (a.addr, a.size)))
    }

    /// Account `bytes` of message data, then start the send `start` makes
    /// of its copy; `None` when no buffer is attached here.
    fn draw(
        &self,
        bytes: usize,
        start: impl FnOnce() -> MpiResult<Arc<Request>>,
    ) -> Option<MpiResult<Arc<Request>>> {
        let need = bytes + MPI_BSEND_OVERHEAD as usize;
        let mut guard = self.0.lock();
        let att = guard.as_mut()?;
        att.reclaim();
        // Completions of earlier buffered sends may still wait unread in
        // the rings: take them in before saying there is no room.
        while !att.automatic && att.used + need > att.size && engine().progress() {
            att.reclaim();
        }
        if !att.automatic && att.used + need > att.size {
            return Some(Err(MpiError::new(
                MPI_ERR_BUFFER,
                format!(
                    "the attached buffer has {} of {} bytes free; this buffered send needs {need}",
                    att.size - att.used,
                    att.size
                ),
            )));
        }
        Some(start().inspect(|r| {
            att.used += need;
            att.pending.push((r.clone(), need));
        }))
    }
}

/// Start a buffered send of `bytes` on `comm` from the buffer that serves
/// it; `start` sends the copy.
pub fn draw(
    comm: &Comm,
    bytes: usize,
    start: impl FnOnce() -> MpiResult<Arc<Request>>,
) -> MpiResult<Arc<Request>> {
    let mut start = Some(start);
    let mut take = |b: &Buffer| b.draw(bytes, || (start.take().expect("called once"))());
    if let Some(r) = take(&comm.bsend) {
        return r;
    }
    if let Some(s) = comm.session.and_then(|s| super::session::get(s).ok())
        && let Some(r) = take(&s.bsend)
    {
        return r;
    }
    take(&PROCESS).unwrap_or_else(|| {
        Err(MpiError::new(
            MPI_ERR_BUFFER,
            "buffered send without an attached buffer (MPI_Buffer_attach, \
             MPI_Comm_attach_buffer or MPI_Session_attach_buffer)",
        ))
    })
}
