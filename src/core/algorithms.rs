//! Each communicator's table of collective algorithms, agreed by its
//! members when it is created.
//!
//! Every process offers a word of bits, each one something it allows (the
//! node's shared cells, a broadcast algorithm, ...) from its own settings
//! and its node; the communicator's table is the AND of its members'
//! offers. The AND rides on the exchange that agrees on the context id
//! (`core::comm`), so it costs nothing extra; `MPI_COMM_WORLD`'s is agreed
//! through the launcher at `MPI_Init`.
//!
//! A collective then chooses from its communicator's table by values every
//! member of a correct program has equal: the table, the communicator's
//! size, the root, and the size of the type signature. Never by a
//! process's own settings or layout, so processes started with different
//! settings still go the same way (the most conservative one wins).

use super::config;
use crate::transport::Exchange;
use std::io;
use std::sync::OnceLock;

/// Node-local collectives through the node's shared cells are allowed
/// (`OXMPI_SHM_COLL`).
const NODE_CELLS: u32 = 1 << 0;
/// The member's node has a core for each of its ranks.
const SPARE_CORES: u32 = 1 << 1;
/// The member's broadcast setting (`OXMPI_BCAST`): exactly one of these.
/// Members that differ AND to none of them, which means `auto`.
const BCAST_AUTO: u32 = 1 << 2;
const BCAST_SPLIT: u32 = 1 << 3;
const BCAST_BINOMIAL: u32 = 1 << 4;
/// The member does not ask for the count check (`OXMPI_COLL_CHECK`):
/// one member asking turns it on for the communicator.
const NO_CHECK: u32 = 1 << 5;
/// Collectives on communicators spanning hosts may go node-local first
/// (`OXMPI_COLL_HOSTS`, `coll_hier`).
const HOSTS_FIRST: u32 = 1 << 6;

/// From this many bytes, on at least `SPLIT_BCAST_RANKS` ranks with a core
/// each, a broadcast by messages scatters the buffer and gathers it back
/// round a ring; otherwise it goes whole down a binomial tree.
const SPLIT_BCAST: usize = 512 * 1024;
const SPLIT_BCAST_RANKS: i32 = 8;

/// A communicator's collective algorithms (the AND of its members'
/// offers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Algorithms(u32);

/// Which of its two algorithms a collective by messages takes: the whole
/// buffer down a tree or between pairs (a broadcast's binomial tree, a
/// reduction's tree or recursive doubling), or the buffer split among the
/// ranks (scatter then ring allgather; reduce-scatter then gather). The
/// choice goes by sizes; on a node channel the decider announces its own
/// (`shmcoll`), so members whose counts differ still go the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    Whole = 0,
    Split = 1,
}

impl Way {
    pub fn from_u32(v: u32) -> Way {
        if v == Way::Split as u32 {
            Way::Split
        } else {
            Way::Whole
        }
    }
}

impl Algorithms {
    /// What this process offers, from its settings and its node.
    pub fn offer() -> u32 {
        let mut w = 0;
        if config::SHM_COLL.on() {
            w |= NODE_CELLS;
        }
        if cores_to_spare() {
            w |= SPARE_CORES;
        }
        w |= match config::BCAST.choice() {
            "split" => BCAST_SPLIT,
            "binomial" => BCAST_BINOMIAL,
            _ => BCAST_AUTO,
        };
        if !config::COLL_CHECK.on() {
            w |= NO_CHECK;
        }
        if config::COLL_HOSTS.on() {
            w |= HOSTS_FIRST;
        }
        w
    }

    /// The table of a communicator whose members' offers AND to `word`.
    pub fn agreed(word: u32) -> Algorithms {
        Algorithms(word)
    }

    /// The table of a communicator of this process alone.
    pub fn alone() -> Algorithms {
        Algorithms(Self::offer())
    }

    /// The word behind the table (for diagnostics).
    pub fn word(self) -> u32 {
        self.0
    }

    /// Small blocking collectives may go through the node's shared cells.
    pub fn node_cells(self) -> bool {
        self.0 & NODE_CELLS != 0
    }

    /// Collectives on a communicator spanning hosts may go node-local
    /// first.
    pub fn hosts_first(self) -> bool {
        self.0 & HOSTS_FIRST != 0
    }

    /// Blocking collectives first check that every member moves the same
    /// number of bytes.
    pub fn check(self) -> bool {
        self.0 & NO_CHECK == 0
    }

    /// The broadcast of `len` bytes among `n` ranks by messages.
    pub fn bcast(self, n: i32, len: usize) -> Way {
        let split = if self.0 & BCAST_SPLIT != 0 {
            len >= n as usize
        } else if self.0 & BCAST_BINOMIAL != 0 {
            false
        } else {
            len >= SPLIT_BCAST && n >= SPLIT_BCAST_RANKS && self.0 & SPARE_CORES != 0
        };
        if split && n > 2 {
            Way::Split
        } else {
            Way::Whole
        }
    }
}

/// `MPI_COMM_WORLD`'s table, agreed at `MPI_Init`.
static WORLD: OnceLock<Algorithms> = OnceLock::new();

/// Agree on `MPI_COMM_WORLD`'s table at `MPI_Init` (after the transports
/// started), through the launcher's key-value space: every process
/// publishes its offer, rank 0 ANDs them and publishes the table, everyone
/// reads it (two barriers; `2 size` lookups in all).
pub fn agree_world(ex: &mut dyn Exchange, rank: usize, size: usize) -> io::Result<()> {
    let mine = Algorithms::offer();
    let table = if size == 1 {
        mine
    } else {
        ex.put(&format!("oxmpi-algorithms-{rank}"), &mine.to_string())?;
        ex.barrier()?;
        if rank == 0 {
            let mut and = mine;
            for r in 1..size {
                and &= parse(&ex.get(&format!("oxmpi-algorithms-{r}"))?)?;
            }
            ex.put("oxmpi-algorithms", &and.to_string())?;
        }
        ex.barrier()?;
        parse(&ex.get("oxmpi-algorithms")?)?
    };
    let _ = WORLD.set(Algorithms(table));
    Ok(())
}

fn parse(v: &str) -> io::Result<u32> {
    v.parse()
        .map_err(|_| io::Error::other(format!("bad algorithm table {v:?} from the launcher")))
}

/// `MPI_COMM_WORLD`'s table.
pub fn world() -> Algorithms {
    *WORLD.get_or_init(Algorithms::alone)
}

/// Whether this node has a core for each of its ranks. Then a large
/// broadcast takes as long as its longest chain of copies, which the
/// scatter and ring shorten from `log2 n` whole buffers to about two; with
/// more ranks than cores the total copied counts instead, and the
/// binomial tree (each rank reads the buffer once) copies least. Every
/// rank of a node gets the same answer (both counts are the node's, not
/// the process's affinity), and the table ANDs the nodes' answers.
fn cores_to_spare() -> bool {
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let ranks = super::shmcoll::node().map_or(1, |s| s.local_ranks().len());
    cpus > 0 && ranks as i64 <= cpus
}

#[cfg(test)]
mod tests {
    use super::*;

    fn and(words: &[u32]) -> Algorithms {
        Algorithms::agreed(words.iter().fold(u32::MAX, |a, w| a & w))
    }

    #[test]
    fn differing_members_take_the_conservative_way() {
        let all = NODE_CELLS | SPARE_CORES | BCAST_AUTO | NO_CHECK;
        let no_cells = SPARE_CORES | BCAST_AUTO | NO_CHECK;
        let checks = NODE_CELLS | SPARE_CORES | BCAST_AUTO;
        assert!(and(&[all, all]).node_cells());
        assert!(!and(&[all, no_cells, all]).node_cells());
        assert!(!and(&[all, all]).check());
        assert!(and(&[all, checks]).check());
    }

    #[test]
    fn broadcast_choice() {
        let base = NODE_CELLS | NO_CHECK;
        let auto = and(&[base | BCAST_AUTO | SPARE_CORES]);
        assert_eq!(auto.bcast(8, SPLIT_BCAST), Way::Split);
        assert_eq!(auto.bcast(7, SPLIT_BCAST), Way::Whole);
        assert_eq!(auto.bcast(8, SPLIT_BCAST - 1), Way::Whole);
        // One node without a core per rank: binomial for everyone.
        let crowded = and(&[base | BCAST_AUTO | SPARE_CORES, base | BCAST_AUTO]);
        assert_eq!(crowded.bcast(8, SPLIT_BCAST), Way::Whole);
        let split = and(&[base | BCAST_SPLIT]);
        assert_eq!(split.bcast(3, 3), Way::Split);
        assert_eq!(split.bcast(3, 2), Way::Whole);
        assert_eq!(split.bcast(2, 1000), Way::Whole);
        assert_eq!(and(&[base | BCAST_BINOMIAL]).bcast(8, 1 << 30), Way::Whole);
        // Members asking for different algorithms get auto, all alike.
        let mixed = and(&[
            base | BCAST_SPLIT | SPARE_CORES,
            base | BCAST_BINOMIAL | SPARE_CORES,
        ]);
        assert_eq!(mixed.bcast(8, SPLIT_BCAST), Way::Split);
        assert_eq!(mixed.bcast(8, 100), Way::Whole);
    }
}
