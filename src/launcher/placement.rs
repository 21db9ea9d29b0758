//! Where ranks run. With two or more ranks and no more ranks than cores,
//! mpiexec binds each rank to a core of its own (rank order, cores in
//! package order), as Open MPI does: a rank that stays on one core keeps
//! its caches and its shared-memory partner's, and is never migrated
//! onto a busy core. A job of one rank is left free, so many one-rank
//! jobs started side by side do not all land on the first core.
//! With more ranks than cores nothing is bound (the scheduler shares the
//! cores best) unless the user asks. A hybrid job (`OMP_NUM_THREADS=t`
//! in mpiexec's environment) gets `t` cores a rank when they fit, and no
//! binding otherwise, so its threads are never squeezed onto one core.
//! `-bind-to none|core|hwthread|socket|numa|l3cache|...` overrides: each
//! rank gets the object of that kind holding the core it would have had
//! (ranks fill a package before the next, as Open MPI maps by core); a
//! binding asked for with more ranks than cores wraps round.
//!
//! The hardware comes from `topology` (sysfs); only the CPUs mpiexec
//! itself may run on are used, so a job started inside a cpuset or under
//! `taskset` stays inside it. Every host plans its own ranks (the head
//! for its own, each proxy for its host's).

use super::topology::{self, Kind};
use std::mem::MaybeUninit;

/// What `-bind-to` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bind {
    /// A core each when there are enough, else nothing (the default).
    Auto,
    None,
    /// The object of this kind holding the rank's core.
    To(Kind),
}

impl Bind {
    pub fn parse(s: &str) -> Option<Bind> {
        match s {
            "auto" => Some(Bind::Auto),
            "none" | "no" => Some(Bind::None),
            other => Kind::parse(other).map(Bind::To),
        }
    }

    /// As `parse` reads it (handed to proxies).
    pub fn name(self) -> String {
        match self {
            Bind::Auto => "auto".into(),
            Bind::None => "none".into(),
            Bind::To(k) => k.name(),
        }
    }
}

/// A set of CPUs a rank is bound to.
#[derive(Clone, Copy)]
pub struct CpuSet(libc::cpu_set_t);

impl CpuSet {
    fn of(cpus: &[usize]) -> CpuSet {
        // SAFETY: an all-zero cpu_set_t is the empty set.
        let mut set: libc::cpu_set_t = unsafe { MaybeUninit::zeroed().assume_init() };
        for &c in cpus {
            // SAFETY: CPU_SET on a set we own; c is below CPU_SETSIZE
            // (it came from sched_getaffinity).
            unsafe { libc::CPU_SET(c, &mut set) };
        }
        CpuSet(set)
    }

    fn cpus(&self) -> Vec<usize> {
        // SAFETY: CPU_ISSET reads a set we own.
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &self.0) })
            .collect()
    }

    /// Bind the calling process (in the child, before exec: one system
    /// call, no allocation).
    pub fn apply(&self) -> std::io::Result<()> {
        // SAFETY: sched_setaffinity with a set of the size it is given.
        let rc =
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.0) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// The CPUs as a list: "3" or "0,4".
    pub fn describe(&self) -> String {
        let cpus: Vec<String> = self.cpus().iter().map(|c| c.to_string()).collect();
        cpus.join(",")
    }
}

fn allowed() -> Vec<usize> {
    topology::allowed()
}

/// The allowed CPUs grouped by core, cores in (package, core) order.
fn cores(cpus: &[usize]) -> Vec<Vec<usize>> {
    topology::groups(Kind::Core, cpus)
}

/// Threads each rank will run, as OpenMP is told (1 when unset).
pub fn threads_per_rank() -> usize {
    std::env::var("OMP_NUM_THREADS")
        .ok()
        .and_then(|v| v.split(',').next()?.trim().parse::<usize>().ok())
        .filter(|&t| t > 0)
        .unwrap_or(1)
}

/// The binding of each of `size` ranks of `threads` threads each (`None`:
/// not bound).
pub fn plan(bind: Bind, size: u32, threads: usize) -> Vec<Option<CpuSet>> {
    let size = size as usize;
    let cpus = allowed();
    let cores = cores(&cpus);
    let places: Vec<Vec<usize>> = match bind {
        Bind::None => Vec::new(),
        Bind::Auto if size < 2 || size * threads > cores.len() => Vec::new(),
        Bind::Auto => cores.chunks(threads).map(|c| c.concat()).collect(),
        Bind::To(Kind::Core) => cores,
        Bind::To(Kind::Pu) => cpus.iter().map(|&c| vec![c]).collect(),
        Bind::To(k) => {
            // Each core's object of kind k, in core order.
            let objects = topology::groups(k, &cpus);
            cores
                .iter()
                .filter_map(|core| objects.iter().find(|o| o.contains(&core[0])).cloned())
                .collect()
        }
    };
    if places.is_empty() {
        return vec![None; size];
    }
    (0..size)
        .map(|r| Some(CpuSet::of(&places[r % places.len()])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_binding_names() {
        assert_eq!(Bind::parse("none"), Some(Bind::None));
        assert_eq!(Bind::parse("core"), Some(Bind::To(Kind::Core)));
        assert_eq!(Bind::parse("hwthread"), Some(Bind::To(Kind::Pu)));
        assert_eq!(Bind::parse("socket"), Some(Bind::To(Kind::Package)));
        assert_eq!(Bind::parse("numa"), Some(Bind::To(Kind::Numa)));
        assert_eq!(Bind::parse("bogus"), None);
        for b in [Bind::Auto, Bind::None, Bind::To(Kind::Cache(3))] {
            assert_eq!(Bind::parse(&b.name()), Some(b));
        }
    }

    #[test]
    fn sets_round_trip() {
        assert_eq!(CpuSet::of(&[0, 3, 17]).describe(), "0,3,17");
    }

    #[test]
    fn bindings_follow_the_allowed_cpus() {
        let n = allowed().len() as u32;
        assert!(n >= 1);
        // Enough cores: one each, all different (cores may hold several
        // hardware threads, so compare whole sets).
        let ncores = cores(&allowed()).len() as u32;
        if ncores >= 2 {
            let each = plan(Bind::Auto, ncores, 1);
            let named: Vec<String> = each.iter().map(|s| s.unwrap().describe()).collect();
            let mut distinct = named.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), named.len());
        }
        // One rank alone is left free.
        assert!(plan(Bind::Auto, 1, 1)[0].is_none());
        // One rank too many: nothing bound unless asked.
        assert!(plan(Bind::Auto, ncores + 1, 1).iter().all(Option::is_none));
        assert!(
            plan(Bind::To(Kind::Core), ncores + 1, 1)
                .iter()
                .all(Option::is_some)
        );
        assert!(plan(Bind::None, 1, 1).iter().all(Option::is_none));
        assert_eq!(plan(Bind::To(Kind::Pu), n, 1)[0].unwrap().cpus().len(), 1);
        // A package each: all the CPUs of the first core's package.
        let package = plan(Bind::To(Kind::Package), 1, 1)[0].unwrap().cpus();
        let first = topology::object_of(Kind::Package, package[0]);
        assert!(
            package
                .iter()
                .all(|&c| topology::object_of(Kind::Package, c) == first)
        );
        // Threaded ranks: all their cores when they fit, else unbound.
        let two = cores(&allowed())[..].iter().take(2).flatten().count();
        if ncores >= 4 {
            assert_eq!(
                plan(Bind::Auto, ncores / 2, 2)[0].unwrap().cpus().len(),
                two
            );
        }
        assert!(plan(Bind::Auto, ncores, 2).iter().all(Option::is_none));
    }
}
