//! The node's hardware, as Linux describes it in sysfs (the source hwloc
//! itself reads on Linux): which package, NUMA node, caches and core hold
//! each CPU. Shared by `mpiexec` (binding ranks, `-bind-to`) and the
//! library (the hardware-guided `MPI_Comm_split_type` kinds), so both
//! name the same objects; std and libc only, so it builds into both.

use std::mem::MaybeUninit;

/// A kind of hardware object that holds CPUs, named as hwloc names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Machine,
    Package,
    Numa,
    /// A data or unified cache of this level (1 to 3).
    Cache(u8),
    Core,
    /// A hardware thread (hwloc's processing unit).
    Pu,
}

impl Kind {
    /// hwloc's type names (`Package`, `NUMANode`, `L3Cache`, `Core`,
    /// `PU`, ...) and the usual other names (`socket`, `numa`, `l3`,
    /// `hwthread`), in any case.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "machine" => Kind::Machine,
            "package" | "socket" | "board" => Kind::Package,
            "numanode" | "numa" => Kind::Numa,
            "l3cache" | "l3" | "l3ucache" => Kind::Cache(3),
            "l2cache" | "l2" | "l2ucache" => Kind::Cache(2),
            "l1cache" | "l1" | "l1dcache" => Kind::Cache(1),
            "core" | "cores" => Kind::Core,
            "pu" | "hwthread" | "hwthreads" | "thread" | "cpu" => Kind::Pu,
            _ => return None,
        })
    }

    /// hwloc's name for the kind.
    pub fn name(self) -> String {
        match self {
            Kind::Machine => "Machine".into(),
            Kind::Package => "Package".into(),
            Kind::Numa => "NUMANode".into(),
            Kind::Cache(l) => format!("L{l}Cache"),
            Kind::Core => "Core".into(),
            Kind::Pu => "PU".into(),
        }
    }
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The object of kind `k` that holds CPU `cpu`: a number naming it among
/// this node's objects of that kind (ordered as the hardware is), or
/// `None` where sysfs does not say.
pub fn object_of(k: Kind, cpu: usize) -> Option<u64> {
    let dir = format!("/sys/devices/system/cpu/cpu{cpu}");
    match k {
        Kind::Machine => Some(0),
        Kind::Package => read_u64(&format!("{dir}/topology/physical_package_id")),
        Kind::Core => {
            let package = read_u64(&format!("{dir}/topology/physical_package_id"))?;
            let core = read_u64(&format!("{dir}/topology/core_id"))?;
            Some((package << 32) | core)
        }
        Kind::Pu => Some(cpu as u64),
        Kind::Numa => std::fs::read_dir(&dir).ok()?.flatten().find_map(|e| {
            let name = e.file_name();
            name.to_str()?.strip_prefix("node")?.parse().ok()
        }),
        Kind::Cache(level) => std::fs::read_dir(format!("{dir}/cache"))
            .ok()?
            .flatten()
            .find_map(|e| {
                let p = e.path();
                let p = p.to_str()?;
                let kind = std::fs::read_to_string(format!("{p}/type")).ok()?;
                if read_u64(&format!("{p}/level"))? != u64::from(level)
                    || kind.trim() == "Instruction"
                {
                    return None;
                }
                // Cache ids are unique per level; without one, the first
                // CPU sharing the cache names it.
                read_u64(&format!("{p}/id")).or_else(|| {
                    let list = std::fs::read_to_string(format!("{p}/shared_cpu_list")).ok()?;
                    parse_list(&list).into_iter().min().map(|c| c as u64)
                })
            }),
    }
}

/// A CPU list as sysfs writes it: "0-3,8,10-11".
pub fn parse_list(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let mut ends = part.splitn(2, '-').map(|x| x.trim().parse::<usize>());
        match (ends.next(), ends.next()) {
            (Some(Ok(a)), None) => out.push(a),
            (Some(Ok(a)), Some(Ok(b))) if a <= b => out.extend(a..=b),
            _ => {}
        }
    }
    out
}

/// `cpus` grouped by the objects of kind `k` that hold them, in the
/// objects' order (cores by package, then core). A CPU sysfs says
/// nothing about is a group of its own, after the others.
pub fn groups(k: Kind, cpus: &[usize]) -> Vec<Vec<usize>> {
    let mut keyed: Vec<((u64, u64), usize)> = cpus
        .iter()
        .map(|&c| match object_of(k, c) {
            Some(id) => ((0, id), c),
            None => ((1, c as u64), c),
        })
        .collect();
    keyed.sort_unstable();
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut last = None;
    for (key, cpu) in keyed {
        match out.last_mut() {
            Some(g) if last == Some(key) => g.push(cpu),
            _ => out.push(vec![cpu]),
        }
        last = Some(key);
    }
    out
}

/// The CPUs the calling thread may run on (its binding).
pub fn allowed() -> Vec<usize> {
    // SAFETY: an all-zero cpu_set_t is valid, and sched_getaffinity fills
    // one of the size it is given.
    let mut set: libc::cpu_set_t = unsafe { MaybeUninit::zeroed().assume_init() };
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Vec::new();
    }
    // SAFETY: CPU_ISSET reads a set we own.
    (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

/// The CPUs the node has online.
pub fn online() -> Vec<usize> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| parse_list(&s))
        .unwrap_or_default()
}

/// The object of kind `k` this process is bound within (the one holding
/// every CPU it may run on, if there is one: an unbound process on a
/// machine of two packages is within no package), named by its lowest
/// CPU, so the name is the same for every process that asks.
pub fn bound_within(k: Kind) -> Option<usize> {
    let cpus = allowed();
    let first = object_of(k, *cpus.first()?)?;
    if !cpus.iter().all(|&c| object_of(k, c) == Some(first)) {
        return None;
    }
    online()
        .into_iter()
        .chain(cpus)
        .filter(|&c| object_of(k, c) == Some(first))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_lists() {
        assert_eq!(Kind::parse("NUMANode"), Some(Kind::Numa));
        assert_eq!(Kind::parse("socket"), Some(Kind::Package));
        assert_eq!(Kind::parse("L3Cache"), Some(Kind::Cache(3)));
        assert_eq!(Kind::parse("hwthread"), Some(Kind::Pu));
        assert_eq!(Kind::parse("bogus"), None);
        assert_eq!(Kind::Cache(2).name(), "L2Cache");
        assert_eq!(parse_list("0-3,8,10-11\n"), vec![0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_list(""), Vec::<usize>::new());
    }

    #[test]
    fn groups_cover_the_cpus_once() {
        let cpus = allowed();
        assert!(!cpus.is_empty());
        for k in [
            Kind::Machine,
            Kind::Package,
            Kind::Numa,
            Kind::Cache(3),
            Kind::Cache(2),
            Kind::Core,
            Kind::Pu,
        ] {
            let mut all: Vec<usize> = groups(k, &cpus).concat();
            all.sort_unstable();
            assert_eq!(all, cpus, "{k:?}");
        }
        assert_eq!(groups(Kind::Machine, &cpus).len(), 1);
        assert_eq!(groups(Kind::Pu, &cpus).len(), cpus.len());
        // A core's CPUs share its package.
        for core in groups(Kind::Core, &cpus) {
            let p = object_of(Kind::Package, core[0]);
            assert!(core.iter().all(|&c| object_of(Kind::Package, c) == p));
        }
        assert_eq!(bound_within(Kind::Machine), online().first().copied());
    }
}
