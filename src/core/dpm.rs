//! Connecting jobs (MPI-4.1 chapter 11): ports, `MPI_Comm_accept` and
//! `MPI_Comm_connect`, `MPI_Comm_join`, and the links they leave behind,
//! which `MPI_Comm_disconnect` takes down.
//!
//! A port is a TCP socket listening on the address processes on other
//! hosts reach this one at, named `oxmpi-port:<address>:<secret>`: a connecting process must present the
//! port's 128-bit random secret, so only those the name was given to get
//! in. Connecting two groups (the acceptor's and the connector's) goes:
//!
//! 1. The roots meet on the socket. The connector sends the secret, its
//!    job, where its group runs (`Where`) and its group by global name
//!    (`procs::Gpid`); the acceptor turns a wrong secret away (and goes on
//!    waiting) and chooses a *link*: when both groups are on its host, a
//!    shared segment of rings between every member of both groups (mode
//!    0600), else the network (`NET`). It answers with its own group and
//!    the link's name.
//! 2. Each root broadcasts the outcome to its group. Every member maps the
//!    link (or, for the network, the groups swap their members' endpoint
//!    addresses: `reach_over_network`) and routes through it the
//!    processes no transport reached yet (members of the same job keep
//!    their node segment).
//! 3. Each group checks that all its members mapped it; the roots swap the
//!    answers, and the acceptor's root removes the link's name, so nothing
//!    is left in `/dev/shm` whatever happens next.
//! 4. The intercommunicator is made as `MPI_Intercomm_create` makes one,
//!    the two roots talking over the socket.
//!
//! A failure in steps 1 to 3 reaches every member of both groups, so none
//! waits forever. `MPI_Comm_join` is the same with a socket the user
//! connected: both ends say who they are and the lower name accepts.

use super::args::{CArgvs, CStrs, OutInts, RootArr, StrOut, new_handle};
use super::coll::{self, Red};
use super::comm::{self, Comm, Link, Swap};
use super::consts::*;
use super::error::{MpiError, MpiResult};
use super::p2p::engine;
use super::procs::{self, Gpid};
use super::runtime;
use super::types::{MPI_Comm, MPI_Info};
use crate::pmi::SpawnCmd;
use crate::transport::Transport;
use crate::transport::ofi;
use crate::transport::shm::{Shm, unlink_shared};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::ffi::c_int;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

const PREFIX: &str = "oxmpi-port:";

/// How long a connecting root waits for an accept, and a root for its
/// peer's next word once they met (`OXMPI_CONNECT_TIMEOUT`).
fn timeout() -> Duration {
    Duration::from_secs(super::config::CONNECT_TIMEOUT.get().max(1) as u64)
}

struct Port {
    listener: TcpListener,
    secret: String,
}

static PORTS: Mutex<Option<FxHashMap<String, Arc<Port>>>> = Mutex::new(None);

/// A link in use: the engine's id for it and the processes it carries.
struct LinkUse {
    id: u64,
    procs: Vec<usize>,
    /// Its connection is still being made: no communicator names its
    /// processes yet, but it must stay.
    making: bool,
}

static LINKS: Mutex<Vec<LinkUse>> = Mutex::new(Vec::new());

fn port_err(msg: impl Into<String>) -> MpiError {
    MpiError::new(MPI_ERR_PORT, msg.into())
}

fn io_err(what: &str, e: io::Error) -> MpiError {
    MpiError::new(MPI_ERR_OTHER, format!("{what}: {e}"))
}

#[doc(alias = "MPI_Open_port")]
pub fn open_port(info: MPI_Info, mut port_name: StrOut<'_>) -> MpiResult<()> {
    let _ = info; // no port hints yet
    // Where processes on other hosts reach us, else loopback.
    let ip = ofi::public_addr(None).unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
    let listener = TcpListener::bind((ip, 0))
        .or_else(|_| TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| io_err("cannot open a port", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| io_err("cannot open a port", e))?;
    let mut bytes = [0u8; 16];
    crate::transport::random_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("{PREFIX}{addr}:{secret}");
    if port_name.0.len() <= name.len() {
        return Err(MpiError::arg("the port name buffer is too small"));
    }
    port_name.write(&name);
    PORTS
        .lock()
        .get_or_insert_with(Default::default)
        .insert(name, Arc::new(Port { listener, secret }));
    Ok(())
}

#[doc(alias = "MPI_Close_port")]
pub fn close_port(port_name: &str) -> MpiResult<()> {
    PORTS
        .lock()
        .get_or_insert_with(Default::default)
        .remove(port_name)
        .map(drop)
        .ok_or_else(|| port_err(format!("{port_name:?} is not a port this process opened")))
}

#[doc(alias = "MPI_Comm_accept")]
pub fn comm_accept(
    port_name: Option<&str>,
    info: MPI_Info,
    root: c_int,
    comm: MPI_Comm,
    newcomm: &mut MPI_Comm,
) -> MpiResult<()> {
    let _ = info; // no hints yet
    meet_over(comm, root, newcomm, How::Accept(port_name))
}

#[doc(alias = "MPI_Comm_connect")]
pub fn comm_connect(
    port_name: Option<&str>,
    info: MPI_Info,
    root: c_int,
    comm: MPI_Comm,
    newcomm: &mut MPI_Comm,
) -> MpiResult<()> {
    let _ = info; // no hints yet
    meet_over(comm, root, newcomm, How::Connect(port_name))
}

/// Accept or connect over `comm`, the new intercommunicator in `newcomm`.
fn meet_over(comm: MPI_Comm, root: c_int, newcomm: &mut MPI_Comm, how: How<'_>) -> MpiResult<()> {
    let c = comm::get(comm)?;
    let root = checked_root(&c, root)?;
    new_handle(newcomm, MPI_COMM_NULL, || connect_groups(&c, root, how))
}

#[doc(alias = "MPI_Comm_join")]
pub fn comm_join(fd: c_int, intercomm: &mut MPI_Comm) -> MpiResult<()> {
    // Our own descriptor for the user's socket: closing ours leaves theirs.
    // SAFETY: dup of any descriptor is harmless; a bad one fails.
    let mine = unsafe { libc::dup(fd) };
    if mine < 0 {
        return Err(MpiError::arg(format!(
            "{fd} is not an open socket: {}",
            io::Error::last_os_error()
        )));
    }
    // SAFETY: `mine` is a fresh descriptor we own; only read and written.
    let stream = unsafe { TcpStream::from_raw_fd(mine) };
    let c = comm::get(MPI_COMM_SELF)?;
    new_handle(intercomm, MPI_COMM_NULL, || {
        connect_groups(&c, 0, How::Join(stream))
    })
}

#[doc(alias = "MPI_Publish_name")]
pub fn publish_name(service_name: &str, info: MPI_Info, port_name: &str) -> MpiResult<()> {
    let _ = info; // no hints yet
    let service = wire_name(service_name);
    runtime::with_launcher("MPI_Publish_name", |p| p.publish_name(&service, port_name))?.map_err(
        |why| {
            MpiError::new(
                MPI_ERR_SERVICE,
                format!("cannot publish service {service_name:?}: {why}"),
            )
        },
    )
}

#[doc(alias = "MPI_Unpublish_name")]
pub fn unpublish_name(service_name: &str, info: MPI_Info, port_name: &str) -> MpiResult<()> {
    let _ = (info, port_name); // the service alone names the entry
    let service = wire_name(service_name);
    runtime::with_launcher("MPI_Unpublish_name", |p| p.unpublish_name(&service))?.map_err(|why| {
        MpiError::new(
            MPI_ERR_SERVICE,
            format!("cannot unpublish service {service_name:?}: {why}"),
        )
    })
}

#[doc(alias = "MPI_Lookup_name")]
pub fn lookup_name(service_name: &str, info: MPI_Info, mut port_name: StrOut<'_>) -> MpiResult<()> {
    let _ = info; // no hints yet
    let service = wire_name(service_name);
    match runtime::with_launcher("MPI_Lookup_name", |p| p.lookup_name(&service))? {
        Some(port) => {
            port_name.write(&port);
            Ok(())
        }
        None => Err(MpiError::new(
            MPI_ERR_NAME,
            format!("no port is published under service {service_name:?}"),
        )),
    }
}

/// A service name as it travels in a PMI line: no spaces, `=` or line
/// breaks (escaped as in URLs).
fn wire_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            ' ' | '=' | '%' | '\n' | '\r' | '\t' => out += &format!("%{:02X}", ch as u32),
            c => out.push(c),
        }
    }
    out
}

#[doc(alias = "MPI_Comm_spawn")]
#[allow(clippy::too_many_arguments)]
pub fn comm_spawn(
    command: Option<&str>,
    argv: CStrs,
    maxprocs: c_int,
    info: MPI_Info,
    root: c_int,
    comm: MPI_Comm,
    intercomm: &mut MPI_Comm,
    array_of_errcodes: OutInts,
) -> MpiResult<()> {
    let c = comm::get(comm)?;
    let root = checked_root(&c, root)?;
    let plan = (c.rank == root).then(|| {
        let command = command.ok_or_else(|| MpiError::arg("the root's command is NULL"))?;
        // SAFETY: at the root, argv is MPI_ARGV_NULL or a null-terminated
        // array of strings (the standard's contract).
        let args = unsafe { argv.until_null("argv") }?;
        Ok(vec![spawn_cmd(command, args, maxprocs, info)?])
    });
    new_handle(intercomm, MPI_COMM_NULL, || {
        spawn(&c, root, plan, array_of_errcodes)
    })
}

#[doc(alias = "MPI_Comm_spawn_multiple")]
#[allow(clippy::too_many_arguments)]
pub fn comm_spawn_multiple(
    count: c_int,
    array_of_commands: CStrs,
    array_of_argv: CArgvs,
    array_of_maxprocs: RootArr<c_int>,
    array_of_info: RootArr<MPI_Info>,
    root: c_int,
    comm: MPI_Comm,
    intercomm: &mut MPI_Comm,
    array_of_errcodes: OutInts,
) -> MpiResult<()> {
    let c = comm::get(comm)?;
    let root = checked_root(&c, root)?;
    let plan = (c.rank == root).then(|| {
        let n = usize::try_from(count)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| MpiError::arg(format!("invalid count {count}")))?;
        // SAFETY: at the root, each array holds `count` entries (the
        // standard's contract).
        let (cmds, argvs, maxprocs, infos) = unsafe {
            (
                array_of_commands.first(n, "array_of_commands")?,
                array_of_argv.read(n, "array_of_argv")?,
                array_of_maxprocs.read(n, "array_of_maxprocs")?,
                array_of_info.read(n, "array_of_info")?,
            )
        };
        cmds.into_iter()
            .zip(argvs)
            .zip(maxprocs.into_iter().zip(infos))
            .map(|((cmd, args), (np, info))| spawn_cmd(&cmd, args, np, info))
            .collect()
    });
    new_handle(intercomm, MPI_COMM_NULL, || {
        spawn(&c, root, plan, array_of_errcodes)
    })
}

/// One command of a spawn, checked at the root.
fn spawn_cmd(
    command: &str,
    args: Vec<String>,
    maxprocs: c_int,
    info: MPI_Info,
) -> MpiResult<SpawnCmd> {
    let nprocs = u32::try_from(maxprocs)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| MpiError::arg(format!("invalid maxprocs {maxprocs}")))?;
    if command.is_empty() || command.contains(['\n', '\r']) {
        return Err(MpiError::arg(format!("invalid command {command:?}")));
    }
    if let Some(a) = args.iter().find(|a| a.contains(['\n', '\r'])) {
        return Err(MpiError::arg(format!("argument {a:?} holds a line break")));
    }
    let mut pairs = Vec::new();
    if info != MPI_INFO_NULL {
        for (k, v) in super::info::get(info)?.pairs() {
            if k == "env" {
                // One variable per line; each travels as its own entry.
                for line in v.lines().filter(|l| !l.trim().is_empty()) {
                    pairs.push((k.clone(), line.trim().to_string()));
                }
            } else {
                pairs.push((k, v.replace(['\n', '\r'], " ")));
            }
        }
    }
    Ok(SpawnCmd {
        command: command.to_string(),
        args,
        nprocs,
        info: pairs,
    })
}

/// Spawning over `c`: the root (whose `plan` is known there alone) asks
/// the launcher for the new job, telling it a port of ours; every member
/// learns the outcome and the per-process codes; then `c` accepts the
/// children, who connect from their `MPI_Init`.
fn spawn(
    c: &Comm,
    root: c_int,
    plan: Option<MpiResult<Vec<SpawnCmd>>>,
    errcodes: OutInts,
) -> MpiResult<c_int> {
    let mut port = String::new();
    let mut cmds_soft = false;
    let mut text = match plan {
        None => String::new(),
        Some(plan) => match plan.and_then(|cmds| {
            cmds_soft = cmds.iter().any(|c| c.info.iter().any(|(k, _)| k == "soft"));
            launch(&cmds, &mut port)
        }) {
            Ok((codes, why)) => {
                // Under `soft`, fewer processes than asked for is success.
                let soft = cmds_soft && codes.contains(&MPI_SUCCESS);
                let mut t = format!("ok {port} {}", u8::from(soft));
                for code in codes {
                    t += &format!(" {code}");
                }
                format!("{t}\n{why}")
            }
            Err(e) => encode_err(&e),
        },
    };
    bcast_text(c, &mut text, root)?;
    let (head, why) = text.split_once('\n').unwrap_or((&text, ""));
    let mut w = head.split(' ');
    let mut started = 0;
    let result = match w.next() {
        Some("ok") => {
            port = w.next().unwrap_or_default().to_string();
            let soft = w.next() == Some("1");
            let codes: Vec<c_int> = w.map(|x| x.parse().unwrap_or(MPI_ERR_SPAWN)).collect();
            started = codes.iter().filter(|&&x| x == MPI_SUCCESS).count();
            // SAFETY: the caller passes room for one code per process
            // (the standard's contract), or MPI_ERRCODES_IGNORE.
            unsafe { errcodes.store(&codes) };
            if soft || codes.iter().all(|&x| x == MPI_SUCCESS) {
                Ok(())
            } else {
                Err(MpiError::new(
                    MPI_ERR_SPAWN,
                    format!(
                        "{} of {} processes could not be started: {why}",
                        codes.iter().filter(|&&x| x != MPI_SUCCESS).count(),
                        codes.len()
                    ),
                ))
            }
        }
        _ => Err(Meeting::decode(&text)
            .err()
            .unwrap_or_else(|| MpiError::new(MPI_ERR_INTERN, "garbled spawn outcome"))),
    };
    let made = result.and_then(|()| connect_groups(c, root, How::AcceptSpawned(&port)));
    if let Err(e) = &made
        && e.code == MPI_ERR_SPAWN
        && started > 0
    {
        // The launcher said they started, but they never connected.
        // SAFETY: as above.
        unsafe { errcodes.store(&vec![MPI_ERR_SPAWN; started]) };
    }
    if c.rank == root && !port.is_empty() {
        let _ = close_port(&port);
    }
    made
}

/// At the spawning root: open the port the children will connect to and
/// have the launcher start them. One code per process: `MPI_SUCCESS` or
/// `MPI_ERR_SPAWN`, and why some could not start; an error if the
/// launcher refused outright.
fn launch(cmds: &[SpawnCmd], port: &mut String) -> MpiResult<(Vec<c_int>, String)> {
    let mut buf = [0u8; MPI_MAX_PORT_NAME as usize];
    open_port(MPI_INFO_NULL, StrOut(&mut buf))?;
    *port =
        String::from_utf8_lossy(&buf[..buf.iter().position(|&b| b == 0).unwrap_or(0)]).into_owned();
    let preput = [(runtime::PARENT_PORT_KEY.to_string(), port.clone())];
    let answer = runtime::with_launcher("MPI_Comm_spawn", |p| p.spawn(cmds, &preput));
    let answer = answer.and_then(|a| {
        a.map_err(|why| MpiError::new(MPI_ERR_SPAWN, format!("the launcher refused: {why}")))
    });
    match answer {
        Ok((codes, why)) => Ok((
            codes
                .into_iter()
                .map(|x| if x == 0 { MPI_SUCCESS } else { MPI_ERR_SPAWN })
                .collect(),
            why,
        )),
        Err(e) => {
            let _ = close_port(port);
            port.clear();
            Err(e)
        }
    }
}

/// The parent intercommunicator of a spawned process (`MPI_COMM_NULL`
/// otherwise, and once it is freed or disconnected).
static PARENT: AtomicI32 = AtomicI32::new(MPI_COMM_NULL);

/// At the end of `MPI_Init` in a spawned job: connect to the parents'
/// port, named in our key-value space.
pub fn connect_parent(port: &str) -> MpiResult<()> {
    let mut ic = MPI_COMM_NULL;
    meet_over(MPI_COMM_WORLD, 0, &mut ic, How::ConnectParent(port))?;
    // The standard's name for it.
    *comm::get(ic)?.name.lock() = "MPI_COMM_PARENT".into();
    PARENT.store(ic, Ordering::Release);
    Ok(())
}

/// `MPI_Comm_get_parent`.
pub fn parent() -> MPI_Comm {
    PARENT.load(Ordering::Acquire)
}

/// The communicator `h` is going away: it is no longer anyone's parent.
pub fn forget(h: MPI_Comm) {
    let _ = PARENT.compare_exchange(h, MPI_COMM_NULL, Ordering::AcqRel, Ordering::Relaxed);
}

fn checked_root(c: &Comm, root: c_int) -> MpiResult<c_int> {
    comm::intra_only(c, "connecting")?;
    if !(0..c.size).contains(&root) {
        return Err(MpiError::new(
            MPI_ERR_ROOT,
            format!("invalid root {root} (communicator size {})", c.size),
        ));
    }
    Ok(root)
}

/// Kill the processes of other jobs among `c`'s members (both groups of
/// an intercommunicator), for `MPI_Abort`: their launchers see them die
/// and end their jobs.
pub fn kill_far(c: &Comm) {
    let groups = std::iter::once(&c.group).chain(c.remote.as_ref());
    for g in groups {
        for i in 0..g.size() {
            let p = g.world(i);
            if procs::in_my_job(p) {
                continue;
            }
            if let Some(pid) = engine().transport_to(p).and_then(|t| t.pid(p))
                && pid > 0
            {
                // SAFETY: kill takes a pid and a signal number.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// `MPI_Comm_disconnect` is done with a communicator: links no
/// communicator needs any more are taken down.
pub fn collect_links() {
    let mut links = LINKS.lock();
    links.retain(|l| {
        let used = l.making || comm::any_member(|p| l.procs.contains(&p));
        if !used {
            engine().drop_link(l.id);
        }
        used
    });
}

enum How<'a> {
    Accept(Option<&'a str>),
    /// Accept the processes just spawned: they connect from `MPI_Init`,
    /// so waiting longer than the connect timeout means they never will
    /// (a launcher that could not start them and did not say so).
    AcceptSpawned(&'a str),
    Connect(Option<&'a str>),
    /// Connect to the processes that spawned us: they answer once their
    /// launcher says every process started, which a launcher that starts
    /// them slowly (Hydra holds back ssh connections to one host) may
    /// take long to say; the launcher ends us if they end.
    ConnectParent(&'a str),
    Join(TcpStream),
}

/// The socket between the two roots: length-prefixed frames.
struct Wire(Mutex<TcpStream>);

impl Wire {
    fn new(s: TcpStream) -> Wire {
        let _ = s.set_nonblocking(false);
        let _ = s.set_read_timeout(Some(timeout()));
        let _ = s.set_nodelay(true);
        Wire(Mutex::new(s))
    }

    /// How long a read may wait (`None`: for ever).
    fn patience(&self, t: Option<Duration>) {
        let _ = self.0.lock().set_read_timeout(t);
    }

    fn send(&self, frame: &[u8]) -> io::Result<()> {
        let mut s = self.0.lock();
        s.write_all(&(frame.len() as u32).to_le_bytes())?;
        s.write_all(frame)
    }

    fn recv(&self) -> io::Result<Vec<u8>> {
        let mut s = self.0.lock();
        let mut len = [0u8; 4];
        s.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        if len > 64 << 20 {
            return Err(io::Error::other("oversized frame"));
        }
        let mut v = vec![0u8; len];
        s.read_exact(&mut v)?;
        Ok(v)
    }

    fn send_text(&self, t: &str) -> MpiResult<()> {
        self.send(t.as_bytes())
            .map_err(|e| port_err(format!("the other root left: {e}")))
    }

    fn recv_text(&self) -> MpiResult<String> {
        let v = self
            .recv()
            .map_err(|e| port_err(format!("the other root did not answer: {e}")))?;
        String::from_utf8(v).map_err(|_| port_err("garbled answer from the other root"))
    }
}

impl Swap for Wire {
    fn swap_fixed(&self, mine: &[u32], n: usize) -> MpiResult<Vec<u32>> {
        let bytes: Vec<u8> = mine.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.send(&bytes)
            .and_then(|_| self.recv())
            .map_err(|e| MpiError::new(MPI_ERR_INTERN, format!("the other root left: {e}")))
            .and_then(|v| {
                if v.len() != 4 * n {
                    return Err(MpiError::new(
                        MPI_ERR_INTERN,
                        "the other root sent a different number of words",
                    ));
                }
                Ok(v.chunks_exact(4)
                    .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .collect())
            })
    }
}

/// One side of a connection, as its root describes it: its job (id and key-value space name, which
/// tell a job connecting to itself from two jobs whose random ids met),
/// host and members by global name.
struct Side {
    job: u32,
    kvs: String,
    /// Where the group runs: its root's host, and whether every member is
    /// on it (see `Where`).
    at: Where,
    members: Vec<Gpid>,
}

impl Side {
    fn ours(c: &Comm, at: Where) -> Side {
        Side {
            job: procs::job(),
            kvs: runtime::job().kvsname.clone(),
            at,
            members: c.group.iter().map(procs::gpid).collect(),
        }
    }

    fn encode(&self) -> String {
        let mut s = format!("{} {} {}", self.job, self.kvs, self.at.encode());
        for g in &self.members {
            s += &format!(" {g}");
        }
        s
    }

    fn decode<'a>(words: &mut impl Iterator<Item = &'a str>) -> Option<Side> {
        Some(Side {
            job: words.next()?.parse().ok()?,
            kvs: words.next()?.to_string(),
            at: Where::decode(words)?,
            members: words.map(|w| w.parse().ok()).collect::<Option<_>>()?,
        })
    }

    /// Whether a group that says it is `other` can be connected to us.
    fn check(&self, other: &Side) -> Result<(), MpiError> {
        if other.job == self.job && other.kvs != self.kvs {
            return Err(MpiError::new(
                MPI_ERR_INTERN,
                "the two jobs drew the same random id; connect again",
            ));
        }
        Ok(())
    }
}

/// Where a group runs, as far as choosing its links goes: its root's
/// host name, and whether every member runs on that host.
struct Where {
    host: String,
    one_host: bool,
}

impl Where {
    /// Collective over `c`.
    fn of(c: &Comm) -> MpiResult<Where> {
        use std::hash::{Hash, Hasher};
        let host = runtime::processor_name();
        // A fixed hasher: every process must compute the same value.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        host.hash(&mut h);
        // All hash alike when the least equals the greatest.
        let (least, most) = coll::least_and_most(c, (h.finish() >> 1) as i64)?;
        // `OXMPI_NETMOD=all` sends even same-host messages through the
        // network (to test it on one host): links too.
        let net_only = super::config::NETMOD.choice() == "all";
        Ok(Where {
            host,
            one_host: least == most && !net_only,
        })
    }

    fn encode(&self) -> String {
        format!("{} {}", u8::from(self.one_host), self.host)
    }

    fn decode<'a>(words: &mut impl Iterator<Item = &'a str>) -> Option<Where> {
        let one_host = words.next()? == "1";
        Some(Where {
            one_host,
            host: words.next()?.to_string(),
        })
    }

    /// Whether two groups can share a segment: all on one host.
    fn shares_memory_with(&self, other: &Where) -> bool {
        self.one_host && other.one_host && self.host == other.host
    }
}

/// The link name that means "through the network": each member's
/// endpoint, addresses swapped between the groups (see `attach`).
const NET: &str = "net";

/// What both groups agreed in step 1: the acceptor's group, the
/// connector's, and the link's name (the link's members are the
/// acceptor's group then the connector's).
struct Meeting {
    acceptor: bool,
    a: Vec<Gpid>,
    b: Vec<Gpid>,
    link: String,
}

impl Meeting {
    fn encode(&self) -> String {
        let mut s = format!(
            "ok {} {} {}",
            u8::from(self.acceptor),
            self.link,
            self.a.len()
        );
        for g in self.a.iter().chain(&self.b) {
            s += &format!(" {g}");
        }
        s
    }

    fn decode(t: &str) -> MpiResult<Meeting> {
        let mut w = t.split(' ');
        match w.next() {
            Some("ok") => {}
            Some("err") => {
                let class = w
                    .next()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(MPI_ERR_OTHER);
                return Err(MpiError::new(class, w.collect::<Vec<_>>().join(" ")));
            }
            _ => return Err(MpiError::new(MPI_ERR_INTERN, "garbled meeting")),
        }
        let garbled = || MpiError::new(MPI_ERR_INTERN, "garbled meeting");
        let acceptor = w.next().ok_or_else(garbled)? == "1";
        let link = w.next().ok_or_else(garbled)?.to_string();
        let na: usize = w.next().and_then(|n| n.parse().ok()).ok_or_else(garbled)?;
        let all: Vec<Gpid> = w
            .map(|g| g.parse().ok())
            .collect::<Option<_>>()
            .ok_or_else(garbled)?;
        if na > all.len() {
            return Err(garbled());
        }
        let b = all[na..].to_vec();
        let mut a = all;
        a.truncate(na);
        Ok(Meeting {
            acceptor,
            a,
            b,
            link,
        })
    }
}

fn encode_err(e: &MpiError) -> String {
    format!("err {} {}", e.code, e.msg.replace('\n', " "))
}

/// What a root holds after step 1.
struct Met {
    meeting: Meeting,
    wire: Arc<Wire>,
    /// The link, when this root created it.
    created: Option<Shm>,
}

/// Steps 1 to 4 (see the module's comment) over `c`, whose `root` meets
/// the other group's root as `how` says.
fn connect_groups(c: &Comm, root: c_int, how: How<'_>) -> MpiResult<c_int> {
    let at = Where::of(c)?;
    let mut met = (c.rank == root).then(|| meet(c, at, how));
    let mut text = match &met {
        Some(Ok(m)) => m.meeting.encode(),
        Some(Err(e)) => encode_err(e),
        None => String::new(),
    };
    bcast_text(c, &mut text, root)?;
    let meeting = Meeting::decode(&text)?;
    let (wire, created) = match met.take() {
        Some(Ok(m)) => (Some(Link::Other(m.wire as Arc<dyn Swap>)), m.created),
        _ => (None, None),
    };
    let id = attach(c, root, &meeting, created, wire.as_ref())?;
    // Step 4.
    let made = comm::intercomm_over(c, root, wire.as_ref(), true);
    made_with(id);
    if made.is_err() {
        collect_links();
    }
    made
}

/// Steps 2 and 3 over `c` (one of the two groups; `root` talks to the
/// other group's root through `peer`): map the link `meeting` names (or
/// the one this root `created`) and route through it the processes of the
/// other group that nothing reaches yet; fails everywhere unless every
/// member of both groups managed. The link's id, while it is being made
/// (see `made_with`).
fn attach(
    c: &Comm,
    root: c_int,
    meeting: &Meeting,
    created: Option<Shm>,
    peer: Option<&Link>,
) -> MpiResult<Option<u64>> {
    let me_in_link = if meeting.acceptor {
        c.rank as usize
    } else {
        meeting.a.len() + c.rank as usize
    };
    let members: Vec<usize> = meeting
        .a
        .iter()
        .chain(&meeting.b)
        .map(|&g| procs::index(g))
        .collect();
    let far = if meeting.acceptor {
        &members[meeting.a.len()..]
    } else {
        &members[..meeting.a.len()]
    };
    let mut needed: Vec<usize> = far
        .iter()
        .copied()
        .filter(|&p| !engine().reaches(p))
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let net = meeting.link == NET;
    let attached: io::Result<Option<Arc<dyn Transport>>> = if net {
        let theirs = if meeting.acceptor {
            &meeting.b
        } else {
            &meeting.a
        };
        reach_over_network(c, root, peer, theirs, &needed)?
    } else if needed.is_empty() {
        Ok(None)
    } else {
        match created {
            Some(shm) => Ok(shm),
            None => Shm::open_link(&meeting.link, members.clone(), me_in_link),
        }
        .map(|shm| Some(Arc::new(shm) as Arc<dyn Transport>))
    };
    // Step 3: everyone mapped it, in both groups.
    let mut ok = all(c, attached.is_ok())?;
    if let Some(p) = peer {
        let theirs = p.swap_fixed(&[u32::from(ok)], 1).map(|v| v[0] == 1);
        ok = ok && theirs.unwrap_or(false);
        if meeting.acceptor && !net {
            unlink_shared(&meeting.link);
        }
    }
    let mut flag = [c_int::from(ok)];
    coll::bcast_blocking(c, flag.as_mut_ptr() as usize, 4, root)?;
    let what = if net {
        "reach the other group through the network"
    } else {
        "map the connection's shared segment"
    };
    let link = match attached {
        Ok(link) if flag[0] == 1 => link,
        Err(e) => return Err(io_err(&format!("cannot {what}"), e)),
        Ok(_) => {
            return Err(MpiError::new(
                MPI_ERR_OTHER,
                format!("a process of the other group could not {what}"),
            ));
        }
    };
    Ok(link.filter(|_| !needed.is_empty()).map(|link| {
        let id = engine().add_link(link, &needed);
        LINKS.lock().push(LinkUse {
            id,
            procs: needed,
            making: true,
        });
        id
    }))
}

/// Step 2 of a connection through the network (groups that do not share
/// a host): every member opens its network endpoint (or has it already),
/// the roots swap their groups' addresses, and each member adds those of
/// the other group's processes it `needs`. Collective over `c` (the other
/// group runs it too); the outer error is a collective's, the inner one
/// this member's or another's, for step 3 to agree on.
fn reach_over_network(
    c: &Comm,
    root: c_int,
    peer: Option<&Link>,
    theirs: &[Gpid],
    needed: &[usize],
) -> MpiResult<io::Result<Option<Arc<dyn Transport>>>> {
    /// Room for one address in hex (or why there is none).
    const WIDTH: usize = 512;
    let job = runtime::job();
    let ep = crate::transport::network(job.rank as usize, job.size as usize);
    let mine = match &ep {
        Ok(ep) => ofi::hex(ep.address()),
        Err(e) => format!("!{}", e.to_string().replace(' ', "_")),
    };
    let ours = coll::allgather_text(c, &mine, WIDTH)?;
    let mut text = String::new();
    if let Some(p) = peer {
        text = match p.swap(&text_words(&ours.join(" "))) {
            Ok(got) => words_text(&got),
            Err(e) => format!("!the other root: {}", e.msg.replace(' ', "_")),
        };
    }
    bcast_text(c, &mut text, root)?;
    let records: Vec<&str> = text.split(' ').collect();
    let failed = ours
        .iter()
        .map(String::as_str)
        .chain(records.iter().copied())
        .find_map(|r| r.strip_prefix('!'));
    if let Some(why) = failed {
        return Ok(Err(io::Error::other(why.replace('_', " "))));
    }
    if records.len() != theirs.len() {
        return Ok(Err(io::Error::other(
            "garbled addresses from the other group",
        )));
    }
    let ep = match ep {
        Ok(ep) => ep,
        Err(e) => return Ok(Err(e)),
    };
    let mut peers = Vec::new();
    for (&g, rec) in theirs.iter().zip(&records) {
        let i = procs::index(g);
        if !needed.contains(&i) {
            continue;
        }
        match ofi::unhex(rec) {
            Some(addr) => peers.push((i, g, addr)),
            None => return Ok(Err(io::Error::other(format!("bad address {rec:?}")))),
        }
    }
    let me = procs::gpid(job.rank as usize);
    Ok(ep
        .add_far(me, &peers)
        .map(|()| Some(ep as Arc<dyn Transport>)))
}

/// The communicator that link `id` was made for exists now (or failed):
/// from here on the link lives as long as communicators name its processes.
pub(crate) fn made_with(id: Option<u64>) {
    if let Some(id) = id {
        LINKS
            .lock()
            .iter_mut()
            .filter(|l| l.id == id)
            .for_each(|l| l.making = false);
    }
}

/// Before an intercommunicator of `local` and `remote` is made (whose
/// leaders talk through `peer`): if some member cannot reach some member
/// of the other group (groups of jobs that were connected in pieces: a
/// job spawned from `MPI_COMM_SELF` meeting the spawner's whole world),
/// the two groups make a link as `MPI_Comm_connect` does, the leader of
/// the group with the lowest global name creating it. Returns the link's
/// id for `made_with`.
pub(crate) fn link_groups(
    local: &Comm,
    leader: c_int,
    peer: Option<&Link>,
    remote: &super::group::Group,
) -> MpiResult<Option<u64>> {
    let ours: Vec<Gpid> = local.group.iter().map(procs::gpid).collect();
    let theirs: Vec<Gpid> = remote.iter().map(procs::gpid).collect();
    // Within one job the node segment reaches everyone: nothing to agree.
    let job = procs::job_of(ours[0]);
    if ours.iter().chain(&theirs).all(|&g| procs::job_of(g) == job) {
        return Ok(None);
    }
    let mut ok = all(local, remote.iter().all(|p| engine().reaches(p)))?;
    if let Some(p) = peer {
        ok = ok && p.swap_fixed(&[u32::from(ok)], 1)?[0] == 1;
    }
    let mut flag = [c_int::from(ok)];
    coll::bcast_blocking(local, flag.as_mut_ptr() as usize, 4, leader)?;
    if flag[0] == 1 {
        return Ok(None);
    }
    let first = ours.iter().min() < theirs.iter().min();
    let (a, b) = if first {
        (ours, theirs)
    } else {
        (theirs, ours)
    };
    let at = Where::of(local)?;
    let mut created = None;
    let mut text = String::new();
    if let Some(p) = peer {
        let there = words_text(&p.swap(&text_words(&at.encode()))?);
        let shared =
            Where::decode(&mut there.split(' ')).is_some_and(|w| at.shares_memory_with(&w));
        let made = (first && shared).then(|| {
            let members = a.iter().chain(&b).map(|&g| procs::index(g)).collect();
            Shm::create_link(members, local.rank as usize)
                .map_err(|e| io_err("cannot create a shared segment between the groups", e))
        });
        let mine = match made {
            Some(Ok((name, shm))) => {
                created = Some(shm);
                format!("ok {name}")
            }
            Some(Err(e)) => encode_err(&e),
            None if shared => String::new(),
            None => format!("ok {NET}"),
        };
        let got = p.swap(&text_words(&mine))?;
        text = if first || !shared {
            mine
        } else {
            words_text(&got)
        };
    }
    bcast_text(local, &mut text, leader)?;
    let link = match text.strip_prefix("ok ") {
        Some(name) => name.to_string(),
        None => {
            return Err(Meeting::decode(&text)
                .err()
                .unwrap_or_else(|| MpiError::new(MPI_ERR_INTERN, "garbled link name")));
        }
    };
    let meeting = Meeting {
        acceptor: first,
        a,
        b,
        link,
    };
    attach(local, leader, &meeting, created, peer)
}

/// A text as words for `Link::swap`, and back.
fn text_words(t: &str) -> Vec<u32> {
    t.as_bytes()
        .chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        })
        .collect()
}

fn words_text(w: &[u32]) -> String {
    let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\0')
        .to_string()
}

/// Step 1 at a root.
fn meet(c: &Comm, at: Where, how: How<'_>) -> MpiResult<Met> {
    let ours = Side::ours(c, at);
    match how {
        How::Accept(_) | How::AcceptSpawned(_) => {
            let (name, deadline) = match how {
                How::AcceptSpawned(name) => (name, Some(Instant::now() + timeout())),
                How::Accept(name) => (
                    name.ok_or_else(|| MpiError::arg("the root's port name is NULL"))?,
                    None,
                ),
                _ => unreachable!(),
            };
            let port = PORTS
                .lock()
                .get_or_insert_with(Default::default)
                .get(name)
                .cloned()
                .ok_or_else(|| port_err(format!("{name:?} is not a port this process opened")))?;
            loop {
                let wire = Arc::new(Wire::new(next_connection(&port, deadline)?));
                // A connection that fails to say the secret is turned away.
                let Ok(hello) = wire.recv_text() else {
                    continue;
                };
                let mut w = hello.split(' ');
                if w.next() != Some("hello") || w.next() != Some(port.secret.as_str()) {
                    let _ = wire.send_text("refused 0 wrong secret");
                    continue;
                }
                let Some(theirs) = Side::decode(&mut w) else {
                    continue;
                };
                return welcome(c, &ours, theirs, wire);
            }
        }
        How::Connect(_) | How::ConnectParent(_) => {
            let (name, patient) = match how {
                How::Connect(name) => (name, false),
                How::ConnectParent(name) => (Some(name), true),
                _ => unreachable!(),
            };
            let name = name.ok_or_else(|| MpiError::arg("the root's port name is NULL"))?;
            let (addr, secret) = parse_port(name)?;
            let stream = TcpStream::connect_timeout(&addr, timeout())
                .map_err(|e| port_err(format!("cannot connect to port {name:?}: {e}")))?;
            let wire = Arc::new(Wire::new(stream));
            wire.send_text(&format!("hello {secret} {}", ours.encode()))?;
            if patient {
                wire.patience(None);
            }
            let met = answer(&ours, wire.clone());
            wire.patience(Some(timeout()));
            met
        }
        How::Join(stream) => {
            let wire = Arc::new(Wire::new(stream));
            let mut nonce = [0u8; 8];
            crate::transport::random_bytes(&mut nonce);
            let nonce = u64::from_ne_bytes(nonce);
            wire.send_text(&format!("join {nonce} {}", ours.encode()))?;
            let t = wire.recv_text()?;
            let mut w = t.split(' ');
            let their_nonce: Option<u64> = (w.next() == Some("join"))
                .then(|| w.next()?.parse().ok())
                .flatten();
            let (Some(n), Some(theirs)) = (their_nonce, Side::decode(&mut w)) else {
                return Err(MpiError::arg("the other end of the socket is not joining"));
            };
            // The lower (name, nonce) accepts.
            if (ours.members[0], nonce) < (theirs.members[0], n) {
                welcome(c, &ours, theirs, wire)
            } else {
                answer(&ours, wire)
            }
        }
    }
}

/// Wait for the next connection to `port` (until `deadline`, if any),
/// keeping this process's communication moving meanwhile.
fn next_connection(port: &Port, deadline: Option<Instant>) -> MpiResult<TcpStream> {
    port.listener
        .set_nonblocking(true)
        .map_err(|e| io_err("port", e))?;
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(MpiError::new(
                MPI_ERR_SPAWN,
                format!(
                    "the spawned processes did not connect within {} s \
                     (OXMPI_CONNECT_TIMEOUT): the launcher could not start them",
                    timeout().as_secs()
                ),
            ));
        }
        match port.listener.accept() {
            Ok((s, _)) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(io_err("cannot accept on the port", e)),
        }
        engine().progress();
        let mut p = libc::pollfd {
            fd: port.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd of ours.
        unsafe { libc::poll(&mut p, 1, 20) };
    }
}

/// The accepting root's side of step 1, once it knows the other group.
fn welcome(c: &Comm, ours: &Side, theirs: Side, wire: Arc<Wire>) -> MpiResult<Met> {
    let made = ours.check(&theirs).and_then(|()| {
        if !ours.at.shares_memory_with(&theirs.at) {
            return Ok((NET.to_string(), None));
        }
        let members: Vec<usize> = ours
            .members
            .iter()
            .chain(&theirs.members)
            .map(|&g| procs::index(g))
            .collect();
        Shm::create_link(members, c.rank as usize)
            .map(|(name, shm)| (name, Some(shm)))
            .map_err(|e| io_err("cannot create the connection's shared segment", e))
    });
    let (link, shm) = match made {
        Ok(v) => v,
        Err(e) => {
            let _ = wire.send_text(&format!("refused {}", encode_err(&e)));
            return Err(e);
        }
    };
    wire.send_text(&format!("welcome {link} {}", ours.encode()))
        .inspect_err(|_| {
            if shm.is_some() {
                unlink_shared(&link)
            }
        })?;
    Ok(Met {
        meeting: Meeting {
            acceptor: true,
            a: ours.members.clone(),
            b: theirs.members,
            link,
        },
        wire,
        created: shm,
    })
}

/// The connecting root's side of step 1: the acceptor's answer.
fn answer(ours: &Side, wire: Arc<Wire>) -> MpiResult<Met> {
    let t = wire.recv_text()?;
    let mut w = t.split(' ');
    match w.next() {
        Some("welcome") => {}
        Some("refused") => {
            let rest = w.collect::<Vec<_>>().join(" ");
            return Err(match Meeting::decode(&rest) {
                Err(e) if rest.starts_with("err ") => e,
                _ => port_err("the port refused the connection: wrong secret"),
            });
        }
        _ => return Err(port_err("the other side is not an OxMPI port")),
    }
    let link = w.next().unwrap_or_default().to_string();
    let theirs = Side::decode(&mut w).ok_or_else(|| port_err("garbled answer"))?;
    ours.check(&theirs)?;
    Ok(Met {
        meeting: Meeting {
            acceptor: false,
            a: theirs.members,
            b: ours.members.clone(),
            link,
        },
        wire,
        created: None,
    })
}

/// The address and secret of a port name.
fn parse_port(name: &str) -> MpiResult<(std::net::SocketAddr, &str)> {
    let bad = || port_err(format!("{name:?} is not a port name"));
    let rest = name.strip_prefix(PREFIX).ok_or_else(bad)?;
    let (addr, secret) = rest.rsplit_once(':').ok_or_else(bad)?;
    Ok((addr.parse().map_err(|_| bad())?, secret))
}

/// Broadcast a text from `root` over `c`.
fn bcast_text(c: &Comm, t: &mut String, root: c_int) -> MpiResult<()> {
    let mut bytes = std::mem::take(t).into_bytes();
    coll::bcast_vec(c, &mut bytes, root)?;
    *t = String::from_utf8(bytes).map_err(|_| MpiError::new(MPI_ERR_INTERN, "garbled text"))?;
    Ok(())
}

/// Whether `mine` holds at every member of `c`.
fn all(c: &Comm, mine: bool) -> MpiResult<bool> {
    let (a, mut b) = (c_int::from(mine), 0 as c_int);
    let r = Red {
        count: 1,
        dt: MPI_INT,
        size: 4,
        op: MPI_MIN,
    };
    coll::allreduce_blocking(
        c,
        &a as *const c_int as usize,
        &mut b as *mut c_int as usize,
        r,
    )?;
    Ok(b == 1)
}
