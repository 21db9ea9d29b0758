//! The processes this process knows, and their names.
//!
//! Groups, communicators and the point-to-point engine name a process by
//! its *index* here: the processes of our own job come first, their index
//! being their world rank; processes of jobs we connected to later
//! (`MPI_Comm_accept`/`connect`, spawn, join) are appended as they become
//! known, and keep their index for the life of the process. Indices are
//! private to a process: what crosses to another process is the global
//! name, a [`Gpid`] (the job's random id and the rank in that job), which
//! every process translates to its own index.
//!
//! Knowing a process does not mean reaching it: the engine routes an index
//! only while a transport (the node segment, a link made on connect) goes
//! there; a disconnected process stays known, unreachable.

use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// A process's global name: its job's id in the high 32 bits, its rank in
/// that job (world rank there) in the low 32.
pub type Gpid = u64;

pub fn gpid_of(job: u32, rank: usize) -> Gpid {
    (u64::from(job) << 32) | rank as u64
}

/// The job of a global name.
pub fn job_of(g: Gpid) -> u32 {
    (g >> 32) as u32
}

struct Table {
    job: u32,
    world: usize,
    /// Processes of other jobs, index `world + i`.
    others: Vec<Gpid>,
    /// Global name -> index of the other jobs' processes.
    index: FxHashMap<Gpid, usize>,
}

static TABLE: OnceLock<RwLock<Table>> = OnceLock::new();

/// Record our own job (at `MPI_Init`): its id and size.
pub fn start(job: u32, world: usize) {
    let _ = TABLE.set(RwLock::new(Table {
        job,
        world,
        others: Vec::new(),
        index: FxHashMap::default(),
    }));
}

fn table() -> &'static RwLock<Table> {
    TABLE.get().expect("process table used before MPI_Init")
}

/// Our job's id.
pub fn job() -> u32 {
    table().read().job
}

/// A new job id: 32 random bits, never 0.
pub fn new_job_id() -> u32 {
    let mut b = [0u8; 4];
    crate::transport::random_bytes(&mut b);
    u32::from_ne_bytes(b).max(1)
}

/// The global name of the process with index `i` (known by construction).
pub fn gpid(i: usize) -> Gpid {
    let t = table().read();
    if i < t.world {
        gpid_of(t.job, i)
    } else {
        t.others[i - t.world]
    }
}

/// The index of the process named `g`, making it known if it is not yet.
pub fn index(g: Gpid) -> usize {
    {
        let t = table().read();
        if job_of(g) == t.job {
            return (g & 0xffff_ffff) as usize;
        }
        if let Some(&i) = t.index.get(&g) {
            return i;
        }
    }
    let mut t = table().write();
    if let Some(&i) = t.index.get(&g) {
        return i;
    }
    let i = t.world + t.others.len();
    t.others.push(g);
    t.index.insert(g, i);
    i
}

/// Whether index `i` is a process of our own job.
pub fn in_my_job(i: usize) -> bool {
    i < table().read().world
}
