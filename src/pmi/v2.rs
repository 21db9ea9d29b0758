//! The PMI-2 wire format, and the process map PMI-2 launchers publish.
//!
//! A PMI-2 message is a 6-character decimal length (of the body alone,
//! padded with spaces) followed by the body `cmd=NAME;key=value;...;`.
//! Servers split on every `;` and do not unescape, so a value must not
//! contain one; a key ends at its first `=`, so values may hold `=` and
//! spaces.

use std::collections::HashMap;
use std::io::{self, Read, Write};

/// Longest body the 6-digit length field can announce.
const MAX_BODY: usize = 999_999;

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// The body of command `cmd` with `fields` in order (some servers read
/// fields by position).
pub fn encode(cmd: &str, fields: &[(&str, &str)]) -> io::Result<Vec<u8>> {
    let mut body = format!("cmd={cmd};");
    for (k, v) in fields {
        if v.contains(';') || k.contains(';') || k.contains('=') {
            return Err(bad(format!(
                "PMI-2 cannot carry {k}={v:?}: a ';' (or '=' in a key) would split the message"
            )));
        }
        body.push_str(k);
        body.push('=');
        body.push_str(v);
        body.push(';');
    }
    if body.len() > MAX_BODY {
        return Err(bad(format!(
            "a PMI-2 {cmd} message of {} bytes is too long",
            body.len()
        )));
    }
    let mut msg = format!("{:<6}", body.len()).into_bytes();
    msg.extend_from_slice(body.as_bytes());
    Ok(msg)
}

pub fn send(w: &mut dyn Write, cmd: &str, fields: &[(&str, &str)]) -> io::Result<()> {
    w.write_all(&encode(cmd, fields)?)?;
    w.flush()
}

/// Read one message: its fields, `cmd` among them.
pub fn recv(r: &mut dyn Read) -> io::Result<HashMap<String, String>> {
    let mut len = [0u8; 6];
    r.read_exact(&mut len).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(e.kind(), "the launcher closed the PMI connection")
        } else {
            e
        }
    })?;
    let text = std::str::from_utf8(&len).unwrap_or("?");
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| bad(format!("PMI-2: bad length field {text:?}")))?;
    let mut body = vec![0u8; n];
    r.read_exact(&mut body)?;
    Ok(decode(&String::from_utf8_lossy(&body)))
}

pub fn decode(body: &str) -> HashMap<String, String> {
    body.split(';')
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

/// The node of each of `size` ranks from a `PMI_process_mapping` value,
/// `(vector,(first_node,nodes,ranks_per_node),...)`: ranks are dealt in
/// order, `ranks_per_node` to each node of each block; ranks left over
/// after the last block start again from the first. `None` if the value
/// is not such a vector or covers no rank.
pub fn node_map(mapping: &str, size: usize) -> Option<Vec<u32>> {
    let inner = mapping
        .trim()
        .strip_prefix('(')?
        .strip_suffix(')')?
        .trim()
        .strip_prefix("vector")?;
    let mut blocks = Vec::new();
    for part in inner.split('(').skip(1) {
        let nums: Vec<u32> = part
            .split(')')
            .next()?
            .split(',')
            .map(|n| n.trim().parse().ok())
            .collect::<Option<_>>()?;
        let [first, nodes, per] = nums[..] else {
            return None;
        };
        blocks.push((first, nodes, per));
    }
    let per_round: u64 = blocks
        .iter()
        .map(|&(_, n, p)| u64::from(n) * u64::from(p))
        .sum();
    if per_round == 0 {
        return None;
    }
    let mut map = Vec::with_capacity(size);
    'deal: loop {
        for &(first, nodes, per) in &blocks {
            for node in first..first.checked_add(nodes)? {
                for _ in 0..per {
                    if map.len() == size {
                        break 'deal;
                    }
                    map.push(node);
                }
            }
        }
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let msg = encode("kvs-put", &[("key", "a"), ("value", "x=y z")]).unwrap();
        assert_eq!(&msg[..6], b"30    ");
        assert_eq!(&msg[6..], b"cmd=kvs-put;key=a;value=x=y z;");
        let got = recv(&mut &msg[..]).unwrap();
        assert_eq!(got["cmd"], "kvs-put");
        assert_eq!(got["value"], "x=y z");
        // Right-aligned lengths (Hydra's) read the same.
        let got = recv(&mut &b"    17cmd=x;found=TRUE;"[..]).unwrap();
        assert_eq!(got["found"], "TRUE");
        assert!(encode("kvs-put", &[("key", "a"), ("value", "1;2")]).is_err());
    }

    #[test]
    fn reads_process_maps() {
        assert_eq!(node_map("(vector,(0,1,4))", 4), Some(vec![0, 0, 0, 0]));
        assert_eq!(node_map("(vector,(0,2,2))", 4), Some(vec![0, 0, 1, 1]));
        // Round robin: one rank per node, dealt again.
        assert_eq!(node_map("(vector,(0,2,1))", 4), Some(vec![0, 1, 0, 1]));
        assert_eq!(
            node_map("(vector,(0,1,3),(1,1,2))", 5),
            Some(vec![0, 0, 0, 1, 1])
        );
        assert_eq!(node_map("", 4), None);
        assert_eq!(node_map("(vector,(0,0,0))", 4), None);
        assert_eq!(node_map("(vector,(0,x,1))", 4), None);
    }
}
