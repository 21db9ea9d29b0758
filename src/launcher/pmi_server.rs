//! The PMI-1 ("simple" wire protocol) server.
//!
//! Every process gets one end of a socket pair; a thread per process reads
//! newline-terminated `cmd=name key=value ...` lines and answers through a
//! shared job state. Processes are grouped: a group shares a key-value space
//! and a barrier. The launched job is group 0; `spawn` will add groups, and
//! name publishing will add a table next to the KVS, both dispatched from
//! `Server::handle`.

use super::nameserver;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

const KVSNAME_MAX: usize = 256;
const KEYLEN_MAX: usize = 256;
const VALLEN_MAX: usize = 1024;

type Writer = Arc<Mutex<Conn>>;

/// A connection to a process: the socket it inherited (`PMI_FD`) or one
/// it opened to our port (`PMI_PORT`, ranks on other hosts).
pub enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn try_clone(&self) -> std::io::Result<Conn> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
        })
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Unix(s) => s.flush(),
            Conn::Tcp(s) => s.flush(),
        }
    }
}

/// One launched process.
struct Proc {
    group: usize,
    rank: u32,
    appnum: u32,
    writer: Option<Writer>,
    initialized: bool,
    finalized: bool,
    /// The connection reached EOF: everything the process sent is handled.
    closed: bool,
    in_barrier: bool,
    /// How it ended, as its host's proxy reported (ranks on other hosts):
    /// (killed by a signal, code or signal number).
    exit: Option<(bool, i32)>,
    /// A connection claimed this id already (`PMI_PORT`).
    claimed: bool,
}

/// Processes that share a KVS and a barrier.
struct Group {
    kvsname: String,
    members: Vec<usize>,
    /// -1: not known (no limit).
    universe_size: i64,
    barrier_count: usize,
}

#[derive(Default)]
struct State {
    procs: Vec<Proc>,
    groups: Vec<Group>,
    kvs: HashMap<String, HashMap<String, String>>,
    /// The name service: service -> port (`MPI_Publish_name`).
    names: HashMap<String, String>,
    /// An `oxmpi-nameserver` that keeps the names instead (`-nameserver`).
    nameserver: Option<String>,
    /// Commands of a spawn still arriving, per process.
    spawning: HashMap<usize, Vec<SpawnPart>>,
    /// Complete spawn requests the main loop has not taken yet.
    spawns: Vec<SpawnRequest>,
    abort: Option<Abort>,
    /// When each host's proxy (by its id) last said it is alive.
    proxy_seen: HashMap<usize, Instant>,
}

/// One command of a spawn request (`mcmd=spawn` ... `endcmd`).
#[derive(Clone, Debug, Default)]
pub struct SpawnPart {
    pub nprocs: u32,
    pub execname: String,
    pub args: Vec<String>,
    pub preput: Vec<(String, String)>,
    pub info: Vec<(String, String)>,
}

/// A whole spawn request (every command of one `MPI_Comm_spawn_multiple`),
/// for the launcher's main loop to carry out and answer.
pub struct SpawnRequest {
    pub parts: Vec<SpawnPart>,
    writer: Writer,
}

impl SpawnRequest {
    /// Answer the requesting process.
    pub fn reply(&self, line: &str) {
        send(&self.writer, line);
    }
}

/// A process asked for the whole job to end.
#[derive(Clone, Copy, Debug)]
pub struct Abort {
    pub rank: u32,
    pub code: i32,
}

/// What the launcher needs to know about a process's PMI life.
#[derive(Clone, Copy, Debug)]
pub struct ProcStatus {
    pub initialized: bool,
    pub finalized: bool,
}

pub struct Server {
    state: Mutex<State>,
    /// Signalled on abort and on a connection closing, so the monitor loop
    /// reacts immediately instead of at its next tick.
    changed: Condvar,
}

impl Server {
    pub fn new() -> Arc<Server> {
        Arc::new(Server {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not take the launcher down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register a group of processes, one per entry of `appnums` (rank i
    /// runs app `appnums[i]`); returns the id of its first process, ids
    /// being consecutive.
    pub fn add_group(
        &self,
        kvsname: String,
        appnums: &[u32],
        universe_size: Option<u32>,
        preput: &[(String, String)],
    ) -> usize {
        let mut st = self.lock();
        let first = st.procs.len();
        let group = st.groups.len();
        for (rank, &appnum) in appnums.iter().enumerate() {
            st.procs.push(Proc {
                group,
                rank: rank as u32,
                appnum,
                writer: None,
                initialized: false,
                finalized: false,
                closed: false,
                in_barrier: false,
                exit: None,
                claimed: false,
            });
        }
        // Everything runs on this node; MPICH reads this Hydra-style map to
        // learn that (and to use shared memory) without a hostname exchange.
        let mut kvs = HashMap::new();
        kvs.insert(
            "PMI_process_mapping".to_string(),
            format!("(vector,(0,1,{}))", appnums.len()),
        );
        kvs.extend(preput.iter().cloned());
        st.kvs.insert(kvsname.clone(), kvs);
        st.groups.push(Group {
            kvsname,
            members: (first..first + appnums.len()).collect(),
            universe_size: universe_size.map_or(-1, i64::from),
            barrier_count: 0,
        });
        first
    }

    /// Serve process `proc` over `sock` on a new thread.
    pub fn serve(self: &Arc<Self>, proc: usize, sock: Conn) -> std::io::Result<()> {
        let writer = Arc::new(Mutex::new(sock.try_clone()?));
        self.lock().procs[proc].writer = Some(writer.clone());
        let server = self.clone();
        thread::Builder::new()
            .name(format!("pmi-{proc}"))
            .spawn(move || {
                let mut reader = BufReader::new(sock);
                let mut line = Vec::new();
                // The lines of a multi-line command (`mcmd=spawn`) so far.
                let mut mcmd: Option<Vec<String>> = None;
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = String::from_utf8_lossy(&line);
                            let text = text.trim_end_matches(['\n', '\r']);
                            if let Some(lines) = &mut mcmd {
                                if text == "endcmd" {
                                    server.spawn_part(proc, &writer, &std::mem::take(lines));
                                    mcmd = None;
                                } else {
                                    lines.push(text.to_string());
                                }
                            } else if text.starts_with("mcmd=") {
                                mcmd = Some(vec![text.to_string()]);
                            } else {
                                server.handle(proc, &writer, text);
                            }
                        }
                    }
                }
                let mut st = server.lock();
                st.procs[proc].closed = true;
                // Drop our write handle so the socket is really closed.
                st.procs[proc].writer = None;
                drop(st);
                server.changed.notify_all();
            })?;
        Ok(())
    }

    /// Accept `PMI_PORT` connections (ranks and proxies on other hosts) on
    /// every address; returns the port.
    pub fn listen(self: &Arc<Self>) -> std::io::Result<u16> {
        let l = TcpListener::bind(("0.0.0.0", 0))?;
        let port = l.local_addr()?.port();
        let server = self.clone();
        thread::Builder::new()
            .name("pmi-listen".into())
            .spawn(move || {
                for s in l.incoming().flatten() {
                    let server = server.clone();
                    let _ = thread::Builder::new()
                        .name("pmi-greet".into())
                        .spawn(move || server.greet(s));
                }
            })?;
        Ok(port)
    }

    /// The first line of a `PMI_PORT` connection says who it is: a rank
    /// (`cmd=initack pmiid=N`: told its rank and size, then served) or a
    /// host's proxy (`cmd=proxy`: reports how ranks ended).
    fn greet(self: &Arc<Self>, mut s: TcpStream) {
        let _ = s.set_nodelay(true);
        // Read byte by byte: what follows the line belongs to `serve`.
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while line.len() < 4096 {
            match s.read(&mut b) {
                Ok(1) if b[0] == b'\n' => break,
                Ok(1) => line.push(b[0]),
                _ => return,
            }
        }
        let f = fields_of(&String::from_utf8_lossy(&line));
        match f.get("cmd").map(String::as_str) {
            Some("initack") => {
                let Some(proc) = f.get("pmiid").and_then(|v| v.parse::<usize>().ok()) else {
                    return;
                };
                let reply = {
                    let mut st = self.lock();
                    let Some(p) = st.procs.get(proc).filter(|p| !p.claimed) else {
                        debug!("pmi: refusing a connection claiming id {proc}");
                        return;
                    };
                    let (rank, group) = (p.rank, p.group);
                    let size = st.groups[group].members.len();
                    st.procs[proc].claimed = true;
                    format!(
                        "cmd=initack\ncmd=set size={size}\ncmd=set rank={rank}\ncmd=set debug=0\n"
                    )
                };
                if s.write_all(reply.as_bytes()).is_ok() {
                    let _ = self.serve(proc, Conn::Tcp(s));
                }
            }
            Some("proxy") => {
                let id = f
                    .get("id")
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                self.lock().proxy_seen.insert(id, Instant::now());
                let mut r = BufReader::new(s);
                let mut l = String::new();
                while matches!(r.read_line(&mut l), Ok(n) if n > 0) {
                    self.lock().proxy_seen.insert(id, Instant::now());
                    let f = fields_of(&l);
                    let num = |k: &str| f.get(k).and_then(|v| v.parse::<i64>().ok());
                    if let (Some("exited"), Some(proc)) =
                        (f.get("cmd").map(String::as_str), num("pmiid"))
                    {
                        let exit = match (num("code"), num("signal")) {
                            (_, Some(sig)) => (true, sig as i32),
                            (code, None) => (false, code.unwrap_or(1) as i32),
                        };
                        if let Some(p) = self.lock().procs.get_mut(proc as usize) {
                            p.exit = Some(exit);
                        }
                        self.changed.notify_all();
                    }
                    l.clear();
                }
            }
            _ => debug!("pmi: unknown greeting {:?}", String::from_utf8_lossy(&line)),
        }
    }

    /// How long since proxy `id` last said it is alive (`None`: never).
    pub fn proxy_silence(&self, id: usize) -> Option<Duration> {
        self.lock().proxy_seen.get(&id).map(|t| t.elapsed())
    }

    /// How `proc` (a rank on another host) ended, once its proxy said.
    pub fn exit_of(&self, proc: usize) -> Option<(bool, i32)> {
        self.lock().procs[proc].exit
    }

    /// Replace the group's `PMI_process_mapping` (ranks over several hosts).
    pub fn set_mapping(&self, first_proc: usize, mapping: String) {
        let mut st = self.lock();
        let group = st.procs[first_proc].group;
        let name = st.groups[group].kvsname.clone();
        if let Some(kvs) = st.kvs.get_mut(&name) {
            kvs.insert("PMI_process_mapping".into(), mapping);
        }
    }

    pub fn status(&self, proc: usize) -> ProcStatus {
        let st = self.lock();
        let p = &st.procs[proc];
        ProcStatus {
            initialized: p.initialized,
            finalized: p.finalized,
        }
    }

    /// Wait (bounded) until everything `proc` sent has been handled, i.e.
    /// its connection is closed. Used when it exits, so an abort it sent
    /// just before exiting is seen before judging the exit.
    pub fn wait_closed(&self, proc: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        while !st.procs[proc].closed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// One command of a spawn request arrived (its lines, `key=value`
    /// each, the value running to the end of the line); the last one makes
    /// the request complete.
    fn spawn_part(&self, proc: usize, writer: &Writer, lines: &[String]) {
        let field = |k: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .unwrap_or("")
        };
        debug!("pmi <- proc {proc}: spawn {lines:?}");
        let num = |k: &str| field(k).trim().parse::<usize>().unwrap_or(0);
        let mut part = SpawnPart {
            nprocs: num("nprocs") as u32,
            execname: field("execname").to_string(),
            ..SpawnPart::default()
        };
        for i in 1..=num("argcnt") {
            part.args.push(field(&format!("arg{i}")).to_string());
        }
        for i in 0..num("preput_num") {
            let k = field(&format!("preput_key_{i}")).to_string();
            part.preput
                .push((k, field(&format!("preput_val_{i}")).to_string()));
        }
        for i in 0..num("info_num") {
            let k = field(&format!("info_key_{i}")).to_string();
            part.info
                .push((k, field(&format!("info_val_{i}")).to_string()));
        }
        let (total, sofar) = (num("totspawns").max(1), num("spawnssofar"));
        let mut st = self.lock();
        let parts = st.spawning.entry(proc).or_default();
        parts.push(part);
        if sofar >= total || parts.len() >= total {
            let parts = st.spawning.remove(&proc).unwrap_or_default();
            st.spawns.push(SpawnRequest {
                parts,
                writer: writer.clone(),
            });
            drop(st);
            self.changed.notify_all();
        }
    }

    /// The spawn requests that arrived since the last call.
    pub fn take_spawns(&self) -> Vec<SpawnRequest> {
        std::mem::take(&mut self.lock().spawns)
    }

    /// Whether `proc`'s connection is closed (it exited, or left PMI).
    pub fn closed(&self, proc: usize) -> bool {
        self.lock().procs[proc].closed
    }

    pub fn abort(&self) -> Option<Abort> {
        self.lock().abort
    }

    /// Sleep until something happens or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let st = self.lock();
        drop(
            self.changed
                .wait_timeout(st, timeout)
                .unwrap_or_else(|e| e.into_inner()),
        );
    }

    fn handle(&self, proc: usize, writer: &Writer, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let rank = self.lock().procs[proc].rank;
        debug!("pmi <- {rank}: {line}");
        // Tokens are space separated; a value runs to the token's end and
        // may itself contain '='.
        let fields: Vec<(&str, &str)> = line
            .split_whitespace()
            .map(|t| t.split_once('=').unwrap_or((t, "")))
            .collect();
        let field = |k: &str| fields.iter().find(|(key, _)| *key == k).map(|&(_, v)| v);
        let Some(cmd) = field("cmd") else {
            debug!("pmi: ignoring a line without cmd= from rank {rank}");
            return;
        };
        let reply = match cmd {
            "init" => Some(self.init(proc, field("pmi_version"))),
            "initack" => Some(self.initack(proc)),
            "get_maxes" => Some(format!(
                "cmd=maxes kvsname_max={KVSNAME_MAX} keylen_max={KEYLEN_MAX} vallen_max={VALLEN_MAX} rc=0"
            )),
            "get_appnum" => Some(format!(
                "cmd=appnum appnum={} rc=0",
                self.lock().procs[proc].appnum
            )),
            "get_my_kvsname" => {
                let st = self.lock();
                Some(format!(
                    "cmd=my_kvsname kvsname={} rc=0",
                    st.groups[st.procs[proc].group].kvsname
                ))
            }
            "get_universe_size" => {
                let st = self.lock();
                Some(format!(
                    "cmd=universe_size size={} rc=0",
                    st.groups[st.procs[proc].group].universe_size
                ))
            }
            "put" => Some(self.put(proc, field("kvsname"), field("key"), field("value"))),
            "get" => Some(self.get(proc, field("kvsname"), field("key"))),
            "barrier_in" => {
                self.barrier_in(proc);
                None
            }
            "finalize" => {
                self.lock().procs[proc].finalized = true;
                Some("cmd=finalize_ack rc=0".to_string())
            }
            "publish_name" | "unpublish_name" | "lookup_name" => {
                Some(self.name_service(cmd, field("service"), field("port")))
            }
            "abort" => {
                // No reply: the client exits right after sending this.
                let code = field("exitcode").and_then(|c| c.parse().ok()).unwrap_or(1);
                let mut st = self.lock();
                st.abort.get_or_insert(Abort { rank, code });
                drop(st);
                self.changed.notify_all();
                None
            }
            _ => {
                debug!("pmi: unknown command '{cmd}' from rank {rank}");
                Some(format!("cmd={cmd}_result rc=-1 msg=unknown_command"))
            }
        };
        if let Some(reply) = reply {
            send(writer, &reply);
            debug!("pmi -> {rank}: {}", reply.trim_end());
        }
    }

    /// Where names are kept: an `oxmpi-nameserver` shared with other
    /// mpiexec runs, or (`None`) this launcher's own table.
    pub fn set_nameserver(&self, addr: Option<String>) {
        self.lock().nameserver = addr;
    }

    /// `publish_name`, `unpublish_name` and `lookup_name`, answered from
    /// our table or the name server's.
    fn name_service(&self, cmd: &str, service: Option<&str>, port: Option<&str>) -> String {
        let reply = cmd.replace("_name", "_result");
        let Some(service) = service.filter(|s| !s.is_empty()) else {
            return format!("cmd={reply} rc=1 info=missing_service");
        };
        let server = self.lock().nameserver.clone();
        let answer: Result<String, String> = match (cmd, server) {
            ("publish_name", _) if port.is_none_or(str::is_empty) => Err("missing_port".into()),
            ("publish_name", Some(ns)) => {
                nameserver::ask(&ns, &format!("publish {service} {}", port.unwrap_or("")))
            }
            ("unpublish_name", Some(ns)) => nameserver::ask(&ns, &format!("unpublish {service}")),
            ("lookup_name", Some(ns)) => nameserver::ask(&ns, &format!("lookup {service}")),
            ("publish_name", None) => {
                let mut st = self.lock();
                if st.names.contains_key(service) {
                    Err("service_already_published".into())
                } else {
                    st.names
                        .insert(service.to_string(), port.unwrap_or("").to_string());
                    Ok(String::new())
                }
            }
            ("unpublish_name", None) => self
                .lock()
                .names
                .remove(service)
                .map(|_| String::new())
                .ok_or_else(|| "service_not_published".into()),
            _ => self
                .lock()
                .names
                .get(service)
                .cloned()
                .ok_or_else(|| "unknown_service".into()),
        };
        match answer {
            Ok(found) if cmd == "lookup_name" => {
                format!("cmd={reply} rc=0 info=ok port={found}")
            }
            Ok(_) => format!("cmd={reply} rc=0 info=ok"),
            Err(why) => format!("cmd={reply} rc=1 info={why}"),
        }
    }

    fn init(&self, proc: usize, version: Option<&str>) -> String {
        // Only PMI-1 is served on this socket.
        if version != Some("1") {
            return "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=-1".to_string();
        }
        self.lock().procs[proc].initialized = true;
        "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0".to_string()
    }

    /// The PMI_PORT-style handshake; harmless to answer over PMI_FD too.
    fn initack(&self, proc: usize) -> String {
        let st = self.lock();
        let p = &st.procs[proc];
        let size = st.groups[p.group].members.len();
        format!(
            "cmd=initack rc=0\ncmd=set size={size}\ncmd=set rank={}\ncmd=set debug=0",
            p.rank
        )
    }

    /// Check a client-named KVS: it must be the one of the caller's group.
    fn own_kvs(st: &State, proc: usize, kvsname: Option<&str>) -> Result<String, &'static str> {
        let mine = &st.groups[st.procs[proc].group].kvsname;
        match kvsname {
            Some(k) if k == mine => Ok(k.to_string()),
            Some(_) => Err("kvs_not_found"),
            None => Err("missing_kvsname"),
        }
    }

    fn put(
        &self,
        proc: usize,
        kvsname: Option<&str>,
        key: Option<&str>,
        value: Option<&str>,
    ) -> String {
        let mut st = self.lock();
        let name = match Self::own_kvs(&st, proc, kvsname) {
            Ok(n) => n,
            Err(msg) => return format!("cmd=put_result rc=-1 msg={msg}"),
        };
        let (Some(key), Some(value)) = (key, value) else {
            return "cmd=put_result rc=-1 msg=missing_key_or_value".to_string();
        };
        if key.is_empty() || key.len() > KEYLEN_MAX || value.len() > VALLEN_MAX {
            return "cmd=put_result rc=-1 msg=key_or_value_too_long".to_string();
        }
        let kvs = st.kvs.entry(name).or_default();
        if kvs.contains_key(key) {
            return format!("cmd=put_result rc=-1 msg=duplicate_key_{key}");
        }
        kvs.insert(key.to_string(), value.to_string());
        "cmd=put_result rc=0 msg=success".to_string()
    }

    fn get(&self, proc: usize, kvsname: Option<&str>, key: Option<&str>) -> String {
        let st = self.lock();
        let name = match Self::own_kvs(&st, proc, kvsname) {
            Ok(n) => n,
            Err(msg) => return format!("cmd=get_result rc=-1 msg={msg}"),
        };
        let key = key.unwrap_or("");
        match st.kvs.get(&name).and_then(|kvs| kvs.get(key)) {
            Some(v) => format!("cmd=get_result rc=0 msg=success value={v}"),
            None => format!("cmd=get_result rc=-1 msg=key_{key}_not_found"),
        }
    }

    /// Count the caller in; the last member of the group to arrive releases
    /// everyone. Replies are sent outside the lock.
    fn barrier_in(&self, proc: usize) {
        let mut st = self.lock();
        if st.procs[proc].in_barrier {
            return;
        }
        st.procs[proc].in_barrier = true;
        let g = st.procs[proc].group;
        st.groups[g].barrier_count += 1;
        if st.groups[g].barrier_count < st.groups[g].members.len() {
            return;
        }
        st.groups[g].barrier_count = 0;
        let members = st.groups[g].members.clone();
        let mut writers = Vec::with_capacity(members.len());
        for m in members {
            st.procs[m].in_barrier = false;
            writers.extend(st.procs[m].writer.clone());
        }
        drop(st);
        debug!("pmi: barrier of group {g} complete");
        for w in &writers {
            send(w, "cmd=barrier_out rc=0");
        }
    }
}

/// The `key=value` fields of a line (a value may itself contain '=').
fn fields_of(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn send(writer: &Writer, reply: &str) {
    let mut sock = writer.lock().unwrap_or_else(|e| e.into_inner());
    // The process may already be gone; its exit is handled elsewhere.
    let _ = sock.write_all(format!("{reply}\n").as_bytes());
}
