//! PMI clients: how a process learns its rank, its job and its peers.
//!
//! `Pmi1` speaks the PMI-1 wire protocol (newline-terminated
//! `cmd=... key=value` lines) over the socket a launcher hands us, either as
//! an inherited descriptor (`PMI_FD`) or as a TCP address (`PMI_PORT` with
//! `PMI_ID`). Our own `mpiexec`, MPICH's Hydra and Slurm all offer it.
//! Without any of those variables the process is a singleton: a job of one.

use std::collections::HashMap;
use std::env;
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;

/// What a process knows about its job after bootstrap.
#[derive(Clone, Debug)]
pub struct JobInfo {
    pub rank: i32,
    pub size: i32,
    pub appnum: i32,
    /// How many processes the launcher says can usefully run; 0: it does
    /// not say (no limit), and `MPI_UNIVERSE_SIZE` is not set.
    pub universe_size: i32,
    pub kvsname: String,
    pub spawned: bool,
}

/// The bootstrap connection; `None` for a singleton.
pub enum Bootstrap {
    Singleton,
    Pmi1(Pmi1),
}

trait Wire: io::Read + io::Write + Send {}
impl<T: io::Read + io::Write + Send> Wire for T {}

/// A PMI-1 client connection.
pub struct Pmi1 {
    reader: BufReader<Box<dyn Wire>>,
    kvsname: String,
    /// Our end's address, when the launcher is reached over TCP.
    local_ip: Option<std::net::IpAddr>,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn env_int(name: &str) -> io::Result<Option<i32>> {
    match env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("{name}={v} is not a number"))),
        Err(_) => Ok(None),
    }
}

/// Parse a `cmd=x a=b c=d` line into its fields.
pub fn parse_line(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|tok| {
            tok.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

impl Bootstrap {
    /// Connect to the launcher named by the environment, or become a
    /// singleton, and learn rank, size and the job's key-value space.
    pub fn connect() -> io::Result<(Bootstrap, JobInfo)> {
        let mut local_ip = None;
        let stream: Box<dyn Wire> = if let Some(fd) = env_int("PMI_FD")? {
            // SAFETY: the launcher passed us this open socket for our exclusive use.
            Box::new(unsafe { UnixStream::from_raw_fd(fd) })
        } else if let Ok(port) = env::var("PMI_PORT") {
            let s = TcpStream::connect(port.as_str())
                .map_err(|e| bad(format!("cannot connect to PMI_PORT={port}: {e}")))?;
            local_ip = s.local_addr().ok().map(|a| a.ip());
            Box::new(s)
        } else {
            // A launcher started later (to spawn) keeps to the universe
            // size the user gave the way mpiexec takes it.
            let universe_size = env_int("MPIEXEC_UNIVERSE_SIZE")
                .ok()
                .flatten()
                .unwrap_or(0)
                .max(0);
            let info = JobInfo {
                rank: 0,
                size: 1,
                appnum: 0,
                universe_size,
                kvsname: format!("singleton-{}", std::process::id()),
                spawned: false,
            };
            return Ok((Bootstrap::Singleton, info));
        };
        let (mut pmi, info) = Pmi1::handshake(stream, env_int("PMI_RANK")?, env_int("PMI_SIZE")?)?;
        pmi.local_ip = local_ip;
        Ok((Bootstrap::Pmi1(pmi), info))
    }
}

impl Pmi1 {
    /// The PMI-1 start over `stream`: rank and size (from the environment,
    /// or told by a `PMI_PORT` server), appnum, key-value space, universe.
    fn handshake(
        stream: Box<dyn Wire>,
        mut rank: Option<i32>,
        mut size: Option<i32>,
    ) -> io::Result<(Pmi1, JobInfo)> {
        let mut pmi = Pmi1 {
            reader: BufReader::new(stream),
            kvsname: String::new(),
            local_ip: None,
        };
        if env::var("PMI_PORT").is_ok() && env::var("PMI_FD").is_err() {
            // PMI_PORT handshake: identify ourselves, then the server tells
            // us size and rank.
            let id = env_int("PMI_ID")?.unwrap_or(0);
            pmi.send(&format!("cmd=initack pmiid={id}"))?;
            pmi.expect("initack")?;
            for _ in 0..3 {
                let r = pmi.recv()?;
                match r.get("cmd").map(String::as_str) {
                    Some("set") if r.contains_key("size") => size = r["size"].parse().ok(),
                    Some("set") if r.contains_key("rank") => rank = r["rank"].parse().ok(),
                    _ => {}
                }
            }
        }
        let r = pmi.call(
            "cmd=init pmi_version=1 pmi_subversion=1",
            "response_to_init",
        )?;
        if r.get("pmi_version").map(String::as_str) != Some("1") {
            return Err(bad("the launcher does not speak PMI version 1"));
        }
        let appnum = pmi
            .call("cmd=get_appnum", "appnum")?
            .get("appnum")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        pmi.kvsname = pmi
            .call("cmd=get_my_kvsname", "my_kvsname")?
            .remove("kvsname")
            .unwrap_or_default();
        let size = size.ok_or_else(|| bad("PMI_SIZE is not set"))?;
        let rank = rank.ok_or_else(|| bad("PMI_RANK is not set"))?;
        let universe_size = pmi
            .call("cmd=get_universe_size", "universe_size")?
            .get("size")
            .and_then(|v| v.parse().ok())
            .filter(|&n: &i32| n > 0)
            .unwrap_or(0);
        let spawned = env_int("PMI_SPAWNED")?.unwrap_or(0) != 0;
        let info = JobInfo {
            rank,
            size,
            appnum,
            universe_size,
            kvsname: pmi.kvsname.clone(),
            spawned,
        };
        Ok((pmi, info))
    }
}

impl Pmi1 {
    fn send(&mut self, line: &str) -> io::Result<()> {
        let w = self.reader.get_mut();
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")?;
        w.flush()
    }

    fn recv(&mut self) -> io::Result<HashMap<String, String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the launcher closed the PMI connection",
            ));
        }
        Ok(parse_line(&line))
    }

    fn expect(&mut self, cmd: &str) -> io::Result<HashMap<String, String>> {
        let r = self.recv()?;
        if r.get("cmd").map(String::as_str) != Some(cmd) {
            return Err(bad(format!("PMI: expected {cmd}, got {r:?}")));
        }
        if let Some(rc) = r.get("rc").filter(|rc| rc.as_str() != "0") {
            let msg = r.get("msg").cloned().unwrap_or_default();
            return Err(bad(format!("PMI {cmd} failed (rc={rc}): {msg}")));
        }
        Ok(r)
    }

    fn call(&mut self, line: &str, reply: &str) -> io::Result<HashMap<String, String>> {
        self.send(line)?;
        self.expect(reply)
    }

    pub fn put(&mut self, key: &str, value: &str) -> io::Result<()> {
        let line = format!("cmd=put kvsname={} key={key} value={value}", self.kvsname);
        self.call(&line, "put_result").map(|_| ())
    }

    pub fn get(&mut self, key: &str) -> io::Result<String> {
        let line = format!("cmd=get kvsname={} key={key}", self.kvsname);
        let mut r = self.call(&line, "get_result")?;
        r.remove("value")
            .ok_or_else(|| bad(format!("PMI get {key}: no value")))
    }

    pub fn barrier(&mut self) -> io::Result<()> {
        self.call("cmd=barrier_in", "barrier_out").map(|_| ())
    }

    pub fn finalize(&mut self) -> io::Result<()> {
        self.call("cmd=finalize", "finalize_ack").map(|_| ())
    }

    /// Ask the launcher to end the whole job with `code`. There is no reply.
    pub fn abort(&mut self, code: i32, msg: &str) -> io::Result<()> {
        let msg: String = msg
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == '=' {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        self.send(&format!("cmd=abort exitcode={code} msg={msg}"))
    }
}

/// One command of a spawn request (`MPI_Comm_spawn_multiple` has several).
#[derive(Clone, Debug, Default)]
pub struct SpawnCmd {
    pub command: String,
    pub args: Vec<String>,
    pub nprocs: u32,
    /// Info keys and values for the launcher (`wdir`, `path`, `host`, ...).
    pub info: Vec<(String, String)>,
}

impl Pmi1 {
    /// Publish `port` under `service` in the launcher's name service; the
    /// launcher's reason if it refused.
    pub fn publish_name(&mut self, service: &str, port: &str) -> io::Result<Result<(), String>> {
        self.send(&format!("cmd=publish_name service={service} port={port}"))?;
        let r = self.expect_any("publish_result")?;
        Ok(Self::info_ok(&r))
    }

    pub fn unpublish_name(&mut self, service: &str) -> io::Result<Result<(), String>> {
        self.send(&format!("cmd=unpublish_name service={service}"))?;
        let r = self.expect_any("unpublish_result")?;
        Ok(Self::info_ok(&r))
    }

    /// The port published under `service`, if any.
    pub fn lookup_name(&mut self, service: &str) -> io::Result<Option<String>> {
        self.send(&format!("cmd=lookup_name service={service}"))?;
        let mut r = self.expect_any("lookup_result")?;
        Ok(Self::info_ok(&r).ok().and_then(|()| r.remove("port")))
    }

    /// `info=ok` (and no failing `rc`), or the reason given.
    fn info_ok(r: &HashMap<String, String>) -> Result<(), String> {
        let rc_ok = r.get("rc").is_none_or(|rc| rc == "0");
        match r.get("info") {
            Some(i) if i == "ok" && rc_ok => Ok(()),
            Some(i) => Err(i.clone()),
            None if rc_ok => Ok(()),
            None => Err(r.get("msg").cloned().unwrap_or_default()),
        }
    }

    /// Like `expect`, leaving the reply's `rc` to the caller.
    fn expect_any(&mut self, cmd: &str) -> io::Result<HashMap<String, String>> {
        let r = self.recv()?;
        if r.get("cmd").map(String::as_str) != Some(cmd) {
            return Err(bad(format!("PMI: expected {cmd}, got {r:?}")));
        }
        Ok(r)
    }

    /// Ask the launcher to start a new job of `cmds`, whose key-value
    /// space holds `preput` from the start. Returns one code per process
    /// (0: started) and the launcher's message, or its reason for refusing
    /// the whole.
    pub fn spawn(
        &mut self,
        cmds: &[SpawnCmd],
        preput: &[(String, String)],
    ) -> io::Result<Result<(Vec<i32>, String), String>> {
        for (i, c) in cmds.iter().enumerate() {
            let mut m = format!(
                "mcmd=spawn\nnprocs={}\nexecname={}\ntotspawns={}\nspawnssofar={}\n",
                c.nprocs,
                c.command,
                cmds.len(),
                i + 1
            );
            for (j, a) in c.args.iter().enumerate() {
                m += &format!("arg{}={a}\n", j + 1);
            }
            m += &format!("argcnt={}\npreput_num={}\n", c.args.len(), preput.len());
            for (j, (k, v)) in preput.iter().enumerate() {
                m += &format!("preput_key_{j}={k}\npreput_val_{j}={v}\n");
            }
            m += &format!("info_num={}\n", c.info.len());
            for (j, (k, v)) in c.info.iter().enumerate() {
                m += &format!("info_key_{j}={k}\ninfo_val_{j}={v}\n");
            }
            m += "endcmd";
            self.send(&m)?;
        }
        let r = self.expect_any("spawn_result")?;
        if r.get("rc").is_some_and(|rc| rc != "0") {
            return Ok(Err(r
                .get("msg")
                .cloned()
                .unwrap_or_else(|| "spawn failed".into())));
        }
        let total: u32 = cmds.iter().map(|c| c.nprocs).sum();
        let codes = match r.get("errcodes") {
            Some(e) => e
                .split(',')
                .map(|c| c.trim().parse().unwrap_or(-1))
                .collect(),
            None => vec![0; total as usize],
        };
        let msg = r
            .get("msg")
            .map(|m| m.replace('_', " "))
            .unwrap_or_default();
        Ok(Ok((codes, msg)))
    }

    /// Start our own launcher for a singleton: `mpiexec` (the program at
    /// `mpiexec`) serves this process as a job of one over a socket pair,
    /// and can then spawn and publish for it. It leaves when this process
    /// closes the connection (exits), once what it started has ended.
    pub fn start_server(mpiexec: &std::path::Path, pid: u32) -> io::Result<(Pmi1, JobInfo)> {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let (ours, theirs) = UnixStream::pair()?;
        let fd = theirs.as_raw_fd();
        let mut cmd = std::process::Command::new(mpiexec);
        cmd.arg("--singleton")
            .arg(fd.to_string())
            .arg(pid.to_string())
            .stdin(std::process::Stdio::null());
        // SAFETY: fcntl is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| bad(format!("cannot start {}: {e}", mpiexec.display())))?;
        drop(theirs);
        // Reap it when it ends, so no zombie stays behind.
        std::thread::Builder::new()
            .name("oxmpi-launcher".into())
            .spawn(move || child.wait())?;
        Pmi1::handshake(Box::new(ours), Some(0), Some(1))
    }
}

/// Transports publish and find addresses through PMI's key-value space.
impl crate::transport::Exchange for Pmi1 {
    fn put(&mut self, key: &str, value: &str) -> io::Result<()> {
        Pmi1::put(self, key, value)
    }

    fn get(&mut self, key: &str) -> io::Result<String> {
        Pmi1::get(self, key)
    }

    fn barrier(&mut self) -> io::Result<()> {
        Pmi1::barrier(self)
    }

    fn local_ip(&self) -> Option<std::net::IpAddr> {
        self.local_ip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wire_lines() {
        let r = parse_line("cmd=get_result rc=0 msg=success value=a=b\n");
        assert_eq!(r["cmd"], "get_result");
        assert_eq!(r["value"], "a=b");
        assert_eq!(r["rc"], "0");
    }
}
