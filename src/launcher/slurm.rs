//! Inside a Slurm allocation: its nodes and task counts become the host
//! list (as `-hosts` would give it), and proxies on the other nodes are
//! started as job steps with `srun`, as Hydra's Slurm bootstrap does.

use std::ffi::OsString;

/// The name `Options::launcher` takes when proxies go through `srun`.
pub const LAUNCHER: &str = "slurm";

/// `host:slots` entries of the allocation we run in, if any: the nodes of
/// `SLURM_JOB_NODELIST` with the task counts of `SLURM_TASKS_PER_NODE`
/// (1 a node when the counts do not match the nodes).
pub fn allocation() -> Result<Option<Vec<String>>, String> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    if var("SLURM_JOB_ID").is_none() {
        return Ok(None);
    }
    let Some(list) = var("SLURM_JOB_NODELIST").or_else(|| var("SLURM_NODELIST")) else {
        return Ok(None);
    };
    let nodes = expand_nodes(&list)?;
    let counts = var("SLURM_TASKS_PER_NODE")
        .and_then(|t| expand_counts(&t).ok())
        .filter(|c| c.len() == nodes.len())
        .unwrap_or_else(|| vec![1; nodes.len()]);
    Ok(Some(
        nodes
            .iter()
            .zip(counts)
            .map(|(n, c)| format!("{n}:{}", c.max(1)))
            .collect(),
    ))
}

/// The arguments of the `srun` that starts `program args` on `host` as a
/// step of one task which shares the allocation's CPUs and is bound to
/// none of them (the proxy binds its ranks itself).
pub fn step(host: &str, program: &str, args: &[&str]) -> Vec<OsString> {
    let mut v: Vec<OsString> = [
        "--nodes=1",
        "--ntasks=1",
        "--overlap",
        "--cpu-bind=none",
        "--mpi=none",
        "--input=all",
        "--nodelist",
        host,
        program,
    ]
    .iter()
    .map(OsString::from)
    .collect();
    v.extend(args.iter().map(OsString::from));
    v
}

/// Expand a Slurm host list: `a,b[1-3,07],c[01-02]-x` gives `a`, `b1`,
/// `b2`, `b3`, `b07`, `c01-x`, `c02-x` (ranges keep their zero padding).
pub fn expand_nodes(list: &str) -> Result<Vec<String>, String> {
    let bad = || format!("cannot read the Slurm node list '{list}'");
    let mut out = Vec::new();
    // Split at commas outside brackets.
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, ch) in list.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(bad());
        }
    }
    parts.push(&list[start..]);
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let mut names = vec![String::new()];
        let mut rest = part;
        while !rest.is_empty() {
            let (lit, tail) = rest.split_at(rest.find('[').unwrap_or(rest.len()));
            names.iter_mut().for_each(|n| n.push_str(lit));
            if tail.is_empty() {
                break;
            }
            let close = tail.find(']').ok_or_else(bad)?;
            let mut alts = Vec::new();
            for range in tail[1..close].split(',') {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                let (a, b) = (
                    lo.trim().parse::<u64>().map_err(|_| bad())?,
                    hi.trim().parse::<u64>().map_err(|_| bad())?,
                );
                if b < a || b - a > 100_000 {
                    return Err(bad());
                }
                let width = lo.trim().len();
                alts.extend((a..=b).map(|k| format!("{k:0width$}")));
            }
            names = names
                .iter()
                .flat_map(|n| alts.iter().map(move |a| format!("{n}{a}")))
                .collect();
            rest = &tail[close + 1..];
        }
        out.extend(names);
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// Expand Slurm's per-node counts: `2(x3),1` gives 2, 2, 2, 1.
pub fn expand_counts(counts: &str) -> Result<Vec<u32>, String> {
    let bad = || format!("cannot read the Slurm task counts '{counts}'");
    let mut out = Vec::new();
    for item in counts.split(',').map(str::trim) {
        let (n, times) = match item.split_once("(x") {
            Some((n, t)) => (n, t.strip_suffix(')').ok_or_else(bad)?),
            None => (item, "1"),
        };
        let n: u32 = n.parse().map_err(|_| bad())?;
        let times: usize = times.parse().map_err(|_| bad())?;
        out.extend(std::iter::repeat_n(n, times));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lists() {
        assert_eq!(expand_nodes("vm").unwrap(), ["vm"]);
        assert_eq!(
            expand_nodes("a,b[1-3,07],c[01-02]-x").unwrap(),
            ["a", "b1", "b2", "b3", "b07", "c01-x", "c02-x"]
        );
        assert_eq!(
            expand_nodes("r[1-2]n[1-2]").unwrap(),
            ["r1n1", "r1n2", "r2n1", "r2n2"]
        );
        assert!(expand_nodes("b[1-").is_err());
        assert!(expand_nodes("b[3-1]").is_err());
        assert!(expand_nodes("").is_err());
    }

    #[test]
    fn task_counts() {
        assert_eq!(expand_counts("2(x3),1").unwrap(), [2, 2, 2, 1]);
        assert_eq!(expand_counts("4").unwrap(), [4]);
        assert!(expand_counts("2(x").is_err());
    }
}
