//! PMI clients: how a process learns its rank, its job and its peers.
//!
//! `Pmi` speaks the PMI-1 wire protocol (newline-terminated
//! `cmd=... key=value` lines) or PMI-2's (length-prefixed
//! `cmd=...;key=value;` messages, see [`v2`]) over the socket a launcher
//! hands us, either as an inherited descriptor (`PMI_FD`) or as a TCP
//! address (`PMI_PORT` with `PMI_ID`). Our own `mpiexec` and MPICH's Hydra
//! serve PMI-1, Slurm's `--mpi=pmi2` serves PMI-2 (Hydra serves both).
//! Without any of those variables the process is a singleton: a job of one.

mod v2;

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
    /// Which command of the launch this process runs; -1: not known.
    pub appnum: i32,
    /// How many processes the launcher says can usefully run; 0: it does
    /// not say (no limit), and `MPI_UNIVERSE_SIZE` is not set.
    pub universe_size: i32,
    /// PMI-1's key-value space name, or PMI-2's job id.
    pub kvsname: String,
    pub spawned: bool,
}

/// The bootstrap connection; `None` for a singleton.
pub enum Bootstrap {
    Singleton,
    Pmi(Pmi),
}

trait Wire: io::Read + io::Write + Send {}
impl<T: io::Read + io::Write + Send> Wire for T {}

/// The PMI wire protocol a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    One,
    Two,
}

impl Version {
    fn init_line(self) -> &'static str {
        match self {
            Version::One => "cmd=init pmi_version=1 pmi_subversion=1",
            Version::Two => "cmd=init pmi_version=2 pmi_subversion=0",
        }
    }

    fn number(self) -> &'static str {
        match self {
            Version::One => "1",
            Version::Two => "2",
        }
    }

    fn other(self) -> Version {
        match self {
            Version::One => Version::Two,
            Version::Two => Version::One,
        }
    }

    /// The version to ask for first: `OXMPI_PMI_VERSION` if 1 or 2; else
    /// PMI-2 where the launcher announces a PMI-2 job id (`PMI_JOBID`,
    /// Slurm's `--mpi=pmi2`), PMI-1 otherwise (our `mpiexec`, Hydra).
    fn preferred() -> Version {
        match crate::core::config::PMI_VERSION.choice() {
            "1" => Version::One,
            "2" => Version::Two,
            _ if env::var_os("PMI_JOBID").is_some() => Version::Two,
            _ => Version::One,
        }
    }
}

/// A PMI client connection.
pub struct Pmi {
    reader: BufReader<Box<dyn Wire>>,
    version: Version,
    /// PMI-1's key-value space name, or PMI-2's job id.
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
        let (mut pmi, info) = Pmi::handshake(
            stream,
            env_int("PMI_RANK")?,
            env_int("PMI_SIZE")?,
            Version::preferred(),
        )?;
        pmi.local_ip = local_ip;
        Ok((Bootstrap::Pmi(pmi), info))
    }
}

impl Pmi {
    /// The start over `stream`: agree on a wire version (`wanted` first,
    /// the other if the launcher refuses it), then learn rank and size
    /// (from the environment, or told by a `PMI_PORT` server), appnum,
    /// key-value space and universe.
    fn handshake(
        stream: Box<dyn Wire>,
        mut rank: Option<i32>,
        mut size: Option<i32>,
        wanted: Version,
    ) -> io::Result<(Pmi, JobInfo)> {
        let mut pmi = Pmi {
            reader: BufReader::new(stream),
            version: Version::One,
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
        pmi.version = if pmi.init(wanted)? {
            wanted
        } else if pmi.init(wanted.other())? {
            wanted.other()
        } else {
            return Err(bad("the launcher speaks neither PMI-1 nor PMI-2"));
        };
        let spawned = env_int("PMI_SPAWNED")?.unwrap_or(0) != 0;
        match pmi.version {
            Version::One => pmi.start_v1(rank, size, spawned),
            Version::Two => pmi.start_v2(rank, spawned),
        }
    }

    /// Offer wire version `v`: whether the launcher accepted it.
    fn init(&mut self, v: Version) -> io::Result<bool> {
        self.send(v.init_line())?;
        let r = self.expect_any("response_to_init")?;
        Ok(r.get("rc").is_none_or(|rc| rc == "0")
            && r.get("pmi_version").map(String::as_str) == Some(v.number()))
    }

    fn start_v1(
        mut self,
        rank: Option<i32>,
        size: Option<i32>,
        spawned: bool,
    ) -> io::Result<(Pmi, JobInfo)> {
        let appnum = self
            .call("cmd=get_appnum", "appnum")?
            .get("appnum")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        self.kvsname = self
            .call("cmd=get_my_kvsname", "my_kvsname")?
            .remove("kvsname")
            .unwrap_or_default();
        let size = size.ok_or_else(|| bad("PMI_SIZE is not set"))?;
        let rank = rank.ok_or_else(|| bad("PMI_RANK is not set"))?;
        let universe = self
            .call("cmd=get_universe_size", "universe_size")?
            .remove("size");
        let info = self.job_info(rank, size, appnum, universe, spawned);
        Ok((self, info))
    }

    /// What the start learnt; `universe` as the launcher wrote it (a
    /// positive number, or no limit).
    fn job_info(
        &self,
        rank: i32,
        size: i32,
        appnum: i32,
        universe: Option<String>,
        spawned: bool,
    ) -> JobInfo {
        let universe_size = universe
            .and_then(|v| v.trim().parse().ok())
            .filter(|&n: &i32| n > 0)
            .unwrap_or(0);
        JobInfo {
            rank,
            size,
            appnum,
            universe_size,
            kvsname: self.kvsname.clone(),
            spawned,
        }
    }

    /// PMI-2's `fullinit` tells rank, size, appnum and whether a job
    /// spawned us; the job id names our key-value space.
    fn start_v2(mut self, rank: Option<i32>, spawned: bool) -> io::Result<(Pmi, JobInfo)> {
        let rank = rank.ok_or_else(|| bad("PMI_RANK is not set"))?.to_string();
        let jobid = env::var("PMI_JOBID").ok();
        let mut fields = Vec::new();
        if let Some(j) = &jobid {
            fields.push(("pmijobid", j.as_str()));
        }
        fields.extend([("pmirank", rank.as_str()), ("threaded", "FALSE")]);
        let r = self.call2("fullinit", &fields, "fullinit-response")?;
        let int = |k: &str| -> io::Result<i32> {
            r.get(k)
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| bad(format!("PMI-2 fullinit: no {k} in {r:?}")))
        };
        let (rank, size) = (int("rank")?, int("size")?);
        // Slurm answers -1: it does not number applications, and
        // `MPI_APPNUM` is then not set.
        let appnum = int("appnum").unwrap_or(-1).max(-1);
        let spawned = spawned || r.get("spawner-jobid").is_some_and(|j| !j.is_empty());
        self.kvsname = self
            .call2("job-getid", &[], "job-getid-response")?
            .remove("jobid")
            .or(jobid)
            .unwrap_or_default();
        let universe = self.job_attr("universeSize")?;
        let info = self.job_info(rank, size, appnum, universe, spawned);
        Ok((self, info))
    }

    /// A PMI-2 job attribute, if the launcher has it.
    fn job_attr(&mut self, key: &str) -> io::Result<Option<String>> {
        let mut r = self.ask2(
            "info-getjobattr",
            &[("key", key)],
            "info-getjobattr-response",
        )?;
        Ok(found(&r).then(|| r.remove("value")).flatten())
    }

    /// The node of every rank as the launcher placed them
    /// (`PMI_process_mapping`), when it says.
    pub fn node_map(&mut self, size: usize) -> Option<Vec<u32>> {
        match self.version {
            Version::One => None,
            Version::Two => v2::node_map(&self.job_attr("PMI_process_mapping").ok()??, size),
        }
    }
}

/// `found=TRUE` in a PMI-2 reply.
fn found(r: &HashMap<String, String>) -> bool {
    r.get("found")
        .is_some_and(|f| f.eq_ignore_ascii_case("true"))
}

/// A failing `rc` in a reply, as an error naming `cmd`.
fn check_rc(cmd: &str, r: HashMap<String, String>) -> io::Result<HashMap<String, String>> {
    match r.get("rc").filter(|rc| rc.as_str() != "0") {
        None => Ok(r),
        Some(rc) => {
            let msg = r
                .get("msg")
                .or(r.get("errmsg"))
                .cloned()
                .unwrap_or_default();
            Err(bad(format!("PMI {cmd} failed (rc={rc}): {msg}")))
        }
    }
}

/// The two wires: PMI-1 lines, PMI-2 messages.
impl Pmi {
    /// Send one PMI-1 line (also PMI-2's opening `init`), in one write:
    /// Slurm reads the `init` line with a single `read`.
    fn send(&mut self, line: &str) -> io::Result<()> {
        let w = self.reader.get_mut();
        w.write_all(format!("{line}\n").as_bytes())?;
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
        let r = self.expect_any(cmd)?;
        check_rc(cmd, r)
    }

    /// Like `expect`, leaving the reply's `rc` to the caller.
    fn expect_any(&mut self, cmd: &str) -> io::Result<HashMap<String, String>> {
        // (`init` and its reply are lines in both versions: the version
        // is set once they are done.)
        let r = match self.version {
            Version::One => self.recv()?,
            Version::Two => v2::recv(&mut self.reader)?,
        };
        if r.get("cmd").map(String::as_str) != Some(cmd) {
            return Err(bad(format!("PMI: expected {cmd}, got {r:?}")));
        }
        Ok(r)
    }

    fn call(&mut self, line: &str, reply: &str) -> io::Result<HashMap<String, String>> {
        self.send(line)?;
        self.expect(reply)
    }

    /// Send PMI-2 command `cmd` and read its `reply`, leaving `rc` to the
    /// caller.
    fn ask2(
        &mut self,
        cmd: &str,
        fields: &[(&str, &str)],
        reply: &str,
    ) -> io::Result<HashMap<String, String>> {
        v2::send(self.reader.get_mut(), cmd, fields)?;
        self.expect_any(reply)
    }

    /// `ask2`, failing on a failing `rc`.
    fn call2(
        &mut self,
        cmd: &str,
        fields: &[(&str, &str)],
        reply: &str,
    ) -> io::Result<HashMap<String, String>> {
        let r = self.ask2(cmd, fields, reply)?;
        check_rc(cmd, r)
    }
}

/// What every process asks of its launcher.
impl Pmi {
    pub fn put(&mut self, key: &str, value: &str) -> io::Result<()> {
        match self.version {
            Version::One => {
                let line = format!("cmd=put kvsname={} key={key} value={value}", self.kvsname);
                self.call(&line, "put_result").map(|_| ())
            }
            Version::Two => self
                .call2(
                    "kvs-put",
                    &[("key", key), ("value", value)],
                    "kvs-put-response",
                )
                .map(|_| ()),
        }
    }

    pub fn get(&mut self, key: &str) -> io::Result<String> {
        let value = match self.version {
            Version::One => {
                let line = format!("cmd=get kvsname={} key={key}", self.kvsname);
                self.call(&line, "get_result")?.remove("value")
            }
            Version::Two => {
                let jobid = self.kvsname.clone();
                let fields = [("jobid", jobid.as_str()), ("srcid", "-1"), ("key", key)];
                let mut r = self.call2("kvs-get", &fields, "kvs-get-response")?;
                found(&r).then(|| r.remove("value")).flatten()
            }
        };
        value.ok_or_else(|| bad(format!("PMI get {key}: no value")))
    }

    /// Every process of the job gets here; what each put before is then
    /// visible to all.
    pub fn barrier(&mut self) -> io::Result<()> {
        match self.version {
            Version::One => self.call("cmd=barrier_in", "barrier_out").map(|_| ()),
            Version::Two => {
                self.call2("kvs-fence", &[], "kvs-fence-response")?;
                // Hydra answers a fence at once; a get of a key nobody put
                // is held until every process has fenced as often (Slurm's
                // fence waits itself, and the get then answers at once).
                let jobid = self.kvsname.clone();
                let fields = [
                    ("jobid", jobid.as_str()),
                    ("srcid", "-1"),
                    ("key", "oxmpi-no-such-key"),
                ];
                self.call2("kvs-get", &fields, "kvs-get-response")
                    .map(|_| ())
            }
        }
    }

    pub fn finalize(&mut self) -> io::Result<()> {
        match self.version {
            Version::One => self.call("cmd=finalize", "finalize_ack").map(|_| ()),
            Version::Two => self.call2("finalize", &[], "finalize-response").map(|_| ()),
        }
    }

    /// Ask the launcher to end the whole job with `code`. There is no reply.
    pub fn abort(&mut self, code: i32, msg: &str) -> io::Result<()> {
        let msg: String = msg
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == '=' || c == ';' {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        match self.version {
            Version::One => self.send(&format!("cmd=abort exitcode={code} msg={msg}")),
            // PMI-2 carries no exit code: the launcher ends the job with
            // its own failing status.
            Version::Two => v2::send(
                self.reader.get_mut(),
                "abort",
                &[("isworld", "TRUE"), ("msg", &msg)],
            ),
        }
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

/// The name service and spawning.
impl Pmi {
    /// Publish `port` under `service` in the launcher's name service; the
    /// launcher's reason if it refused.
    pub fn publish_name(&mut self, service: &str, port: &str) -> io::Result<Result<(), String>> {
        let r = match self.version {
            Version::One => {
                self.send(&format!("cmd=publish_name service={service} port={port}"))?;
                self.expect_any("publish_result")?
            }
            Version::Two => self.ask2(
                "name-publish",
                &[("name", service), ("port", port)],
                "name-publish-response",
            )?,
        };
        Ok(Self::info_ok(&r))
    }

    pub fn unpublish_name(&mut self, service: &str) -> io::Result<Result<(), String>> {
        let r = match self.version {
            Version::One => {
                self.send(&format!("cmd=unpublish_name service={service}"))?;
                self.expect_any("unpublish_result")?
            }
            Version::Two => self.ask2(
                "name-unpublish",
                &[("name", service)],
                "name-unpublish-response",
            )?,
        };
        Ok(Self::info_ok(&r))
    }

    /// The port published under `service`, if any.
    pub fn lookup_name(&mut self, service: &str) -> io::Result<Option<String>> {
        let mut r = match self.version {
            Version::One => {
                self.send(&format!("cmd=lookup_name service={service}"))?;
                self.expect_any("lookup_result")?
            }
            Version::Two => {
                self.ask2("name-lookup", &[("name", service)], "name-lookup-response")?
            }
        };
        // PMI-2 servers name the answer `port` (Hydra) or `value` (Slurm).
        let port = r.remove("port").or_else(|| r.remove("value"));
        Ok(Self::info_ok(&r).ok().and(port))
    }

    /// `info=ok` (and no failing `rc`), or the reason given.
    fn info_ok(r: &HashMap<String, String>) -> Result<(), String> {
        let rc_ok = r.get("rc").is_none_or(|rc| rc == "0");
        match r.get("info") {
            Some(i) if i == "ok" && rc_ok => Ok(()),
            Some(i) => Err(i.clone()),
            None if rc_ok => Ok(()),
            None => Err(r
                .get("msg")
                .or(r.get("errmsg"))
                .cloned()
                .unwrap_or_else(|| format!("rc={}", r["rc"]))),
        }
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
        let r = match self.version {
            Version::One => {
                for (i, c) in cmds.iter().enumerate() {
                    self.send(&spawn_v1(c, i, cmds.len(), preput))?;
                }
                self.expect_any("spawn_result")?
            }
            Version::Two => {
                let fields = spawn_v2(cmds, preput);
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                self.ask2("spawn", &fields, "spawn-response")?
            }
        };
        if r.get("rc").is_some_and(|rc| rc != "0") {
            return Ok(Err(r
                .get("msg")
                .or(r.get("errmsg"))
                .cloned()
                .unwrap_or_else(|| "spawn failed".into())));
        }
        let total: u32 = cmds.iter().map(|c| c.nprocs).sum();
        let codes = match r.get("errcodes").filter(|e| !e.is_empty()) {
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
    pub fn start_server(mpiexec: &std::path::Path, pid: u32) -> io::Result<(Pmi, JobInfo)> {
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
        Pmi::handshake(Box::new(ours), Some(0), Some(1), Version::One)
    }
}

/// Command `i` of `total` of a PMI-1 spawn request: a multi-line message.
fn spawn_v1(c: &SpawnCmd, i: usize, total: usize, preput: &[(String, String)]) -> String {
    let mut m = format!(
        "mcmd=spawn\nnprocs={}\nexecname={}\ntotspawns={total}\nspawnssofar={}\n",
        c.nprocs,
        c.command,
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
    m + "endcmd"
}

/// The fields of a PMI-2 spawn request, in the order servers read them:
/// the pre-put keys, then each command from its `subcmd`.
fn spawn_v2(cmds: &[SpawnCmd], preput: &[(String, String)]) -> Vec<(String, String)> {
    let mut f = vec![
        ("ncmds".to_string(), cmds.len().to_string()),
        ("preputcount".to_string(), preput.len().to_string()),
    ];
    for (j, (k, v)) in preput.iter().enumerate() {
        f.push((format!("ppkey{j}"), k.clone()));
        f.push((format!("ppval{j}"), v.clone()));
    }
    for c in cmds {
        f.push(("subcmd".into(), c.command.clone()));
        f.push(("maxprocs".into(), c.nprocs.to_string()));
        f.push(("argc".into(), c.args.len().to_string()));
        for (j, a) in c.args.iter().enumerate() {
            f.push((format!("argv{j}"), a.clone()));
        }
        f.push(("infokeycount".into(), c.info.len().to_string()));
        for (j, (k, v)) in c.info.iter().enumerate() {
            f.push((format!("infokey{j}"), k.clone()));
            f.push((format!("infoval{j}"), v.clone()));
        }
    }
    f
}

/// Transports publish and find addresses through PMI's key-value space.
impl crate::transport::Exchange for Pmi {
    fn put(&mut self, key: &str, value: &str) -> io::Result<()> {
        Pmi::put(self, key, value)
    }

    fn get(&mut self, key: &str) -> io::Result<String> {
        Pmi::get(self, key)
    }

    fn barrier(&mut self) -> io::Result<()> {
        Pmi::barrier(self)
    }

    fn local_ip(&self) -> Option<std::net::IpAddr> {
        self.local_ip
    }

    fn node_map(&mut self, size: usize) -> Option<Vec<u32>> {
        Pmi::node_map(self, size)
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
