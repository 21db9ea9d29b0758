//! The I/O thread: nonblocking independent accesses move their bytes
//! here, one after another in the order they were started, so they
//! progress while the program computes and calls no MPI function. The
//! thread starts with the first such access and sleeps on its queue when
//! there is nothing to do; it only touches files, user buffers the
//! standard lends to the access until it completes, and the request it
//! completes.

use std::sync::OnceLock;
use std::sync::mpsc::{self, Sender};

type Job = Box<dyn FnOnce() + Send>;

static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();

/// Run `job` on the I/O thread; the job back if the thread could not be
/// started (the caller then runs it itself).
pub fn submit(job: Job) -> Result<(), Job> {
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        // If the thread cannot start, the receiver goes with the closure
        // and every send fails.
        let _ = std::thread::Builder::new()
            .name("oxmpi-io".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            });
        tx
    });
    queue.send(job).map_err(|e| e.0)
}
