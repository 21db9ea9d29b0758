//! The name server that jobs of separate `mpiexec` runs share
//! (`oxmpi-nameserver`): `mpiexec -nameserver HOST[:PORT]` sends the
//! `MPI_Publish_name`, `MPI_Lookup_name` and `MPI_Unpublish_name` requests
//! of its processes here instead of answering them from its own table.
//!
//! One request a connection, one line each way:
//! `publish SERVICE PORT` / `lookup SERVICE` / `unpublish SERVICE`,
//! answered by `ok [PORT]` or `err REASON`. Service names and ports
//! travel as the PMI lines carry them (no spaces).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 6392;

/// `oxmpi-nameserver [--port N] [--bind ADDRESS]`: serve until killed.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let mut port = DEFAULT_PORT;
    let mut bind = "127.0.0.1".to_string();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.to_str());
        match (args[i].to_str(), value) {
            (Some("--port"), Some(v)) if v.parse::<u16>().is_ok() => port = v.parse().unwrap_or(0),
            (Some("--bind"), Some(v)) => bind = v.to_string(),
            (Some("-h" | "--help"), _) => {
                println!(
                    "Usage: oxmpi-nameserver [--port N] [--bind ADDRESS]\n\n\
                     Keeps the names MPI_Publish_name publishes for jobs started by \
                     `mpiexec -nameserver HOST[:PORT]`\n(default port {DEFAULT_PORT}, \
                     address 127.0.0.1)."
                );
                return 0;
            }
            _ => {
                say!("oxmpi-nameserver: bad argument {:?} (see --help)", args[i]);
                return 2;
            }
        }
        i += 2;
    }
    let listener = match TcpListener::bind((bind.as_str(), port)) {
        Ok(l) => l,
        Err(e) => {
            say!("oxmpi-nameserver: cannot listen on {bind}:{port}: {e}");
            return 1;
        }
    };
    if let Ok(a) = listener.local_addr() {
        println!("oxmpi-nameserver: listening on {a}");
    }
    let names: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    for conn in listener.incoming().flatten() {
        let names = names.clone();
        std::thread::spawn(move || {
            let _ = answer(conn, &names);
        });
    }
    0
}

fn answer(conn: TcpStream, names: &Mutex<HashMap<String, String>>) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line)?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut names = names.lock().unwrap_or_else(|e| e.into_inner());
    let reply = match words.as_slice() {
        ["publish", service, port] => {
            if names.contains_key(*service) {
                "err service_already_published".to_string()
            } else {
                names.insert(service.to_string(), port.to_string());
                "ok".to_string()
            }
        }
        ["lookup", service] => match names.get(*service) {
            Some(port) => format!("ok {port}"),
            None => "err unknown_service".to_string(),
        },
        ["unpublish", service] => match names.remove(*service) {
            Some(_) => "ok".to_string(),
            None => "err service_not_published".to_string(),
        },
        _ => "err bad_request".to_string(),
    };
    drop(names);
    (&conn).write_all(format!("{reply}\n").as_bytes())
}

/// Send one request to the server at `addr` (`HOST[:PORT]`); its answer:
/// `Ok(value after "ok")` or `Err(reason)`.
pub fn ask(addr: &str, request: &str) -> Result<String, String> {
    let addr = if addr.contains(':') {
        addr.to_string()
    } else {
        format!("{addr}:{DEFAULT_PORT}")
    };
    let talk = || -> io::Result<String> {
        let mut conn = TcpStream::connect(&addr)?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        conn.write_all(format!("{request}\n").as_bytes())?;
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line)?;
        Ok(line.trim().to_string())
    };
    match talk() {
        Ok(reply) => match reply.split_once(' ').unwrap_or((&reply, "")) {
            ("ok", rest) => Ok(rest.to_string()),
            (_, why) => Err(why.to_string()),
        },
        Err(e) => Err(format!("name_server_{addr}_unreachable:_{e}").replace(' ', "_")),
    }
}
