//! Hosts: which of `-hosts`/`-f` is this node, how ranks are spread over
//! the list, and the addresses ranks on each host reach the launcher and
//! each other at.
//!
//! Placement follows Hydra: a host's slots (`host:n`, or `-ppn n` for
//! every host; 1 when neither says) are filled with consecutive ranks,
//! host after host, and the list is walked again until every rank has a
//! place. `-hosts a,b -n 4` alternates; `-hosts a:2,b:2 -n 4` gives a
//! block to each.

use super::ifaddrs::resolve;
use std::net::{IpAddr, SocketAddr, UdpSocket};

#[derive(Clone, Debug)]
pub struct Host {
    /// As the user wrote it (what the launcher command is given).
    pub name: String,
    pub slots: u32,
    /// This node: its ranks are started by mpiexec itself.
    pub local: bool,
}

/// Split a `host[:n]` entry; a second ':' means an IPv6 literal.
pub fn parse_entry(entry: &str) -> Result<(String, Option<u32>), String> {
    match entry.split_once(':') {
        Some((h, n)) if !n.contains(':') => match n.parse::<u32>() {
            Ok(k) if k > 0 && !h.is_empty() => Ok((h.to_string(), Some(k))),
            _ => Err(format!("invalid host entry '{entry}'")),
        },
        _ if entry.is_empty() => Err("empty host name".into()),
        _ => Ok((entry.to_string(), None)),
    }
}

/// The hosts of `entries` (merged when one is named twice), with `ppn`
/// overriding every slot count.
pub fn hosts(entries: &[String], ppn: Option<u32>) -> Result<Vec<Host>, String> {
    let mut out: Vec<Host> = Vec::new();
    for e in entries {
        let (name, slots) = parse_entry(e)?;
        let slots = ppn.or(slots).unwrap_or(1);
        if let Some(h) = out.iter_mut().find(|h| h.name == name) {
            if ppn.is_none() {
                h.slots += slots;
            }
            continue;
        }
        let local = is_local(&name);
        out.push(Host { name, slots, local });
    }
    Ok(out)
}

/// The host (index into `hosts`) of each of `size` ranks.
pub fn place(hosts: &[Host], size: usize) -> Vec<usize> {
    let mut at = Vec::with_capacity(size);
    while at.len() < size {
        for (i, h) in hosts.iter().enumerate() {
            for _ in 0..h.slots {
                if at.len() < size {
                    at.push(i);
                }
            }
        }
    }
    at
}

/// Hydra's `PMI_process_mapping` for placement `at`: `(vector,(n,k,p),...)`,
/// each triple saying `k` hosts from host `n` on take `p` consecutive ranks
/// each. MPICH-built programs read it to learn which ranks share a node.
pub fn process_mapping(at: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &h in at {
        match runs.last_mut() {
            Some((host, n)) if *host == h => *n += 1,
            _ => runs.push((h, 1)),
        }
    }
    let mut triples: Vec<(usize, usize, usize)> = Vec::new();
    for (h, n) in runs {
        match triples.last_mut() {
            Some((first, k, p)) if *p == n && *first + *k == h => *k += 1,
            _ => triples.push((h, 1, n)),
        }
    }
    let body: Vec<String> = triples
        .iter()
        .map(|(n, k, p)| format!("({n},{k},{p})"))
        .collect();
    format!("(vector,{})", body.join(","))
}

/// Whether `host` names this node: a loopback name, our host name (full
/// or short), or an address of one of our interfaces.
pub fn is_local(host: &str) -> bool {
    let loopback = ["localhost", "localhost.localdomain", "127.0.0.1", "::1"];
    if loopback.iter().any(|l| host.eq_ignore_ascii_case(l)) {
        return true;
    }
    if let Some(me) = super::sys::hostname() {
        let short = |h: &str| h.split('.').next().unwrap_or("").to_ascii_lowercase();
        if host.eq_ignore_ascii_case(&me) || short(host) == short(&me) {
            return true;
        }
    }
    let Some(ip) = resolve(host) else {
        return false;
    };
    ip.is_loopback() || super::ifaddrs::local_addresses().contains(&ip)
}

/// Our address on the way to `host`: what ranks there use to reach us.
pub fn route_to(host: &str) -> Option<IpAddr> {
    let ip = resolve(host)?;
    let any: IpAddr = if ip.is_ipv4() {
        [0, 0, 0, 0].into()
    } else {
        [0u16; 8].into()
    };
    let s = UdpSocket::bind(SocketAddr::new(any, 0)).ok()?;
    // Connecting a datagram socket sends nothing; it only picks the route.
    s.connect(SocketAddr::new(ip, 9)).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, slots: u32) -> Host {
        Host {
            name: name.into(),
            slots,
            local: false,
        }
    }

    #[test]
    fn placement_like_hydra() {
        assert_eq!(place(&[h("a", 1), h("b", 1)], 4), vec![0, 1, 0, 1]);
        assert_eq!(place(&[h("a", 2), h("b", 2)], 4), vec![0, 0, 1, 1]);
        assert_eq!(place(&[h("a", 2), h("b", 1)], 5), vec![0, 0, 1, 0, 0]);
    }

    #[test]
    fn mapping_strings() {
        assert_eq!(process_mapping(&[0, 0, 0, 0]), "(vector,(0,1,4))");
        assert_eq!(process_mapping(&[0, 0, 1, 1]), "(vector,(0,2,2))");
        assert_eq!(process_mapping(&[0, 1, 0, 1]), "(vector,(0,2,1),(0,2,1))");
        assert_eq!(process_mapping(&[0, 0, 1]), "(vector,(0,1,2),(1,1,1))");
    }

    #[test]
    fn entries() {
        assert_eq!(parse_entry("a:3").unwrap(), ("a".into(), Some(3)));
        assert_eq!(parse_entry("fe80::1").unwrap(), ("fe80::1".into(), None));
        assert!(parse_entry("a:x").is_err());
        assert!(is_local("localhost") && is_local("127.0.0.1"));
        let hs = hosts(&["a:2".into(), "b".into()], Some(3)).unwrap();
        assert_eq!((hs[0].slots, hs[1].slots), (3, 3));
    }
}
