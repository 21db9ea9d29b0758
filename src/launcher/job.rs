//! Starting the ranks, watching them, and tearing the job down.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cli::{App, EnvMode, Options};
use super::hosts;
use super::output::{self, Stream, Tracker};
use super::placement::{self, CpuSet};
use super::pmi_server::{self, Server, SpawnPart, SpawnRequest};
use super::proxy::{self, Proxy};
use super::sys::{self, Exit};

/// Polling period of the monitor loop.
const TICK: Duration = Duration::from_millis(20);
/// Time the ranks get between the polite signal and SIGKILL.
const GRACE: Duration = Duration::from_secs(1);
/// How long a proxy may take to start and call back (ssh may be slow).
const PROXY_START: Duration = Duration::from_secs(30);
/// How long to wait for an exited rank's last PMI messages (an abort).
const PMI_DRAIN: Duration = Duration::from_millis(250);

/// How long a spawn request may wait for room in the universe.
const ROOM_WAIT: Duration = Duration::from_secs(5);

/// Exit status when the wall-time limit expires (as coreutils `timeout`).
pub const TIMEOUT_STATUS: i32 = 124;

/// Variables the launcher sets itself, or which would point a rank at a
/// different PMI server if inherited from an enclosing job.
const MANAGED: &[&str] = &[
    "PMI_FD",
    "PMI_PORT",
    "PMI_ID",
    "PMI_RANK",
    "PMI_SIZE",
    "PMI_SPAWNED",
    "PMI_APPNUM",
    "PMI_KVSNAME",
    "MPI_LOCALNRANKS",
    "MPI_LOCALRANKID",
];

/// Why the job is being torn down; decides mpiexec's exit status.
#[derive(Clone, Copy, Debug)]
enum Reason {
    /// mpiexec received this signal.
    Signal(i32),
    Timeout,
    Abort(i32),
    /// A rank died or exited before finalizing; status from the ranks.
    RankFailed,
    /// A rank could not be started; status given.
    LaunchFailed(i32),
}

struct Rank {
    pid: libc::pid_t,
    exit: Option<Exit>,
    /// Its id at the PMI server.
    proc: usize,
    /// How messages name it ("rank 3", "rank 0 of spawned job 1").
    name: String,
    /// Not our child (a singleton we serve): it has ended when its PMI
    /// connection closes.
    external: bool,
    /// Its zombie is collected already.
    reaped: bool,
    /// Which job it belongs to: 0 for the one started from the command
    /// line (or the singleton), `n` for the `n`th spawned.
    job: usize,
    /// On another host: the proxy that started it (`pid` is 0).
    proxy: Option<usize>,
}

/// What one process to start runs, and as whom.
struct Launch<'a> {
    program: &'a std::ffi::OsStr,
    args: &'a [OsString],
    env: &'a [(OsString, OsString)],
    wdir: Option<&'a std::path::Path>,
    rank: u32,
    size: u32,
    proc: usize,
    /// As `Rank::job`.
    job: usize,
    name: String,
    label: Option<String>,
    stdin: bool,
    /// Where the rank runs (`None`: wherever the scheduler puts it).
    cpus: Option<CpuSet>,
}

/// The hosts of a job launched across hosts, kept for spawned jobs.
struct Spread {
    hosts: Vec<hosts::Host>,
    /// The PMI server's TCP port.
    port: u16,
    /// How proxies start (`Options::launcher`).
    launcher: String,
    /// Processes placed so far: spawned jobs continue the round.
    placed: usize,
    /// How the first job's ranks are bound on each host (`-bind-to`), and
    /// whether to say where they went.
    bind: placement::Bind,
    report: bool,
}

/// One rank to start on one of the hosts (`start_spread`).
struct Placed {
    host: usize,
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    wdir: Option<PathBuf>,
    rank: u32,
    proc: usize,
    label: Option<String>,
    stdin: bool,
}

/// What the launcher needs to start processes for `MPI_Comm_spawn`.
pub struct SpawnConfig {
    /// The environment spawned processes start from (the launcher's own,
    /// with the command line's `-genv` settings).
    pub env: Vec<(OsString, OsString)>,
    /// The universe size the user set (`-usize`, `MPIEXEC_UNIVERSE_SIZE`):
    /// the limit on processes alive at once, reported to spawned jobs too;
    /// `None`: no limit.
    pub universe: Option<u32>,
}

struct Teardown {
    started: Instant,
    killed: bool,
}

pub struct Job {
    server: Arc<Server>,
    tracker: Arc<Tracker>,
    /// Server id of rank 0; ranks have consecutive ids.
    first_proc: usize,
    /// Process group of the ranks: rank 0's pid (0 before it exists).
    pgid: libc::pid_t,
    ranks: Vec<Rank>,
    reason: Option<Reason>,
    teardown: Option<Teardown>,
    /// Worst status of ranks that ended on their own.
    worst: i32,
    spawn: Option<SpawnConfig>,
    /// Jobs spawned so far.
    spawned_jobs: usize,
    /// Spawned jobs ended because a member failed (`end_spawned_job`).
    failed_jobs: Vec<usize>,
    /// Spawn requests waiting for room in the universe, since when.
    waiting: Vec<(Instant, SpawnRequest)>,
    /// One per other host the job runs on, and per spawned job and host.
    proxies: Vec<Proxy>,
    /// Launched across hosts: where spawned jobs go too.
    spread: Option<Spread>,
}

impl Job {
    pub fn new(server: Arc<Server>, first_proc: usize) -> Job {
        Job {
            server,
            tracker: Arc::new(Tracker::default()),
            first_proc,
            pgid: 0,
            ranks: Vec::new(),
            reason: None,
            teardown: None,
            worst: 0,
            spawn: None,
            spawned_jobs: 0,
            failed_jobs: Vec::new(),
            waiting: Vec::new(),
            proxies: Vec::new(),
            spread: None,
        }
    }

    /// Serve `MPI_Comm_spawn` requests of the job as `cfg` says.
    pub fn allow_spawn(&mut self, cfg: SpawnConfig) {
        self.spawn = Some(cfg);
    }

    /// Watch a process we did not start (a singleton that started us to
    /// serve it), PMI id `proc`.
    pub fn adopt(&mut self, pid: libc::pid_t, proc: usize) {
        self.ranks.push(Rank {
            pid,
            exit: None,
            proc,
            name: "the singleton".into(),
            external: true,
            reaped: true,
            job: 0,
            proxy: None,
        });
    }

    /// Start every rank of every app; stops at the first failure, which
    /// begins the teardown of the ranks already running.
    pub fn launch(&mut self, opts: &Options) {
        let size = opts.size();
        let hosts = match hosts::hosts(&opts.hosts, opts.ppn) {
            Ok(h) => h,
            Err(e) => {
                say!("{e}");
                self.begin_teardown(libc::SIGTERM, Reason::LaunchFailed(2));
                return;
            }
        };
        if hosts.iter().any(|h| !h.local) {
            return self.launch_hosts(opts, &hosts);
        }
        let forward_stdin = !sys::stdin_is_background_tty();
        let places = placement::plan(opts.bind, size, placement::threads_per_rank());
        for app in &opts.apps {
            let env = app_env(opts, app);
            for _ in 0..app.nprocs {
                let rank = self.ranks.len() as u32;
                let launch = Launch {
                    program: &app.program,
                    args: &app.args,
                    env: &env,
                    wdir: app.wdir.as_deref(),
                    rank,
                    size,
                    proc: self.first_proc + rank as usize,
                    job: 0,
                    name: format!("rank {rank}"),
                    label: opts.prepend_rank.then(|| format!("[{rank}] ")),
                    stdin: forward_stdin && rank == 0,
                    cpus: places[rank as usize],
                };
                if opts.report_bindings {
                    match places[rank as usize] {
                        Some(set) => say!("rank {rank} bound to CPU {}", set.describe()),
                        None => say!("rank {rank} not bound"),
                    }
                }
                if let Err(e) = self.start(launch) {
                    self.launch_failed(&app.program.to_string_lossy(), &e);
                    return;
                }
            }
        }
    }

    fn launch_failed(&mut self, what: &str, e: &io::Error) {
        say!("cannot execute '{what}': {}", sys::describe(e));
        let status = match e.kind() {
            io::ErrorKind::NotFound => 127,
            io::ErrorKind::PermissionDenied => 126,
            _ => 1,
        };
        self.begin_teardown(libc::SIGTERM, Reason::LaunchFailed(status));
    }

    /// Start a job spread over `hosts`: the ranks placed on this node
    /// directly, the others through a proxy per host. Every rank reaches
    /// the PMI server over TCP or its socket, and learns the address its
    /// peers reach it at. Ranks are not bound. Spawned jobs are placed on
    /// the same hosts (`spawn_job`).
    fn launch_hosts(&mut self, opts: &Options, hosts: &[hosts::Host]) {
        let size = opts.size() as usize;
        let at = hosts::place(hosts, size);
        self.server
            .set_mapping(self.first_proc, hosts::process_mapping(&at));
        let port = match self.server.listen() {
            Ok(p) => p,
            Err(e) => {
                say!(
                    "cannot listen for ranks on other hosts: {}",
                    sys::describe(&e)
                );
                self.begin_teardown(libc::SIGTERM, Reason::LaunchFailed(1));
                return;
            }
        };
        self.spread = Some(Spread {
            hosts: hosts.to_vec(),
            port,
            launcher: opts.launcher.clone(),
            placed: size,
            bind: opts.bind,
            report: opts.report_bindings,
        });
        let forward_stdin = !sys::stdin_is_background_tty();
        let mut placed = Vec::new();
        let mut rank = 0usize;
        for app in &opts.apps {
            for _ in 0..app.nprocs {
                placed.push(Placed {
                    host: at[rank],
                    program: app.program.clone(),
                    args: app.args.clone(),
                    env: app_env(opts, app),
                    wdir: app.wdir.clone(),
                    rank: rank as u32,
                    proc: self.first_proc + rank,
                    label: opts.prepend_rank.then(|| format!("[{rank}] ")),
                    stdin: forward_stdin && rank == 0,
                });
                rank += 1;
            }
        }
        if let Err((what, e)) = self.start_spread(placed, 0, opts.prepend_rank) {
            self.launch_failed(&what, &e);
        }
    }

    /// Start the ranks of job `job` (0: the first; `n`: the `n`th
    /// spawned) on the hosts `placed` names: on this node directly, on
    /// another through a new proxy there (`label`: it tags output lines).
    /// Each host binds the first job's ranks it runs as `-bind-to` says
    /// (spawned ranks are not bound, as on one host).
    /// On failure, what could not be started and why; the ranks started
    /// already are left to the caller.
    fn start_spread(
        &mut self,
        placed: Vec<Placed>,
        job: usize,
        label: bool,
    ) -> Result<(), (String, io::Error)> {
        let Some(spread) = &self.spread else {
            return Err(("ranks".into(), io::Error::other("no hosts")));
        };
        let hosts = spread.hosts.clone();
        let (port, launcher) = (spread.port, spread.launcher.clone());
        let bind = (job == 0).then_some(spread.bind);
        let report = spread.report && job == 0;
        let threads = placement::threads_per_rank();
        let size = placed.len();
        // This host's ranks are bound here; each proxy binds its own.
        let nlocal = placed.iter().filter(|p| hosts[p.host].local).count();
        let mut local_places = match bind {
            Some(b) => placement::plan(b, nlocal as u32, threads),
            None => vec![None; nlocal],
        }
        .into_iter();
        // Each host's address as the others see it, and ours towards it.
        let addr_of = |h: &hosts::Host| {
            if h.local {
                hosts
                    .iter()
                    .find(|o| !o.local)
                    .and_then(|o| hosts::route_to(&o.name))
            } else {
                super::ifaddrs::resolve(&h.name)
            }
        };
        let mut specs: Vec<proxy::Spec> = hosts.iter().map(|_| proxy::Spec::default()).collect();
        let name_of = |rank: u32, host: &str| match job {
            0 => format!("rank {rank} (on {host})"),
            j => format!("rank {rank} of spawned job {j} (on {host})"),
        };
        let mut failed = None;
        for p in &placed {
            let host = &hosts[p.host];
            let mut env = p.env.clone();
            let on_host: Vec<&Placed> = placed.iter().filter(|o| o.host == p.host).collect();
            env.push(("MPI_LOCALNRANKS".into(), on_host.len().to_string().into()));
            let local_id = on_host.iter().position(|o| o.rank == p.rank).unwrap_or(0);
            env.push(("MPI_LOCALRANKID".into(), local_id.to_string().into()));
            // The address peers reach the rank at, under MPICH's name for
            // it (which Hydra's proxies set too).
            if let Some(ip) = addr_of(host) {
                env.push((
                    "MPIR_CVAR_CH3_INTERFACE_HOSTNAME".into(),
                    ip.to_string().into(),
                ));
            }
            if host.local {
                let cpus = local_places.next().flatten();
                if report {
                    match cpus {
                        Some(set) => say!("rank {} bound to CPU {}", p.rank, set.describe()),
                        None => say!("rank {} not bound", p.rank),
                    }
                }
                let launch = Launch {
                    program: &p.program,
                    args: &p.args,
                    env: &env,
                    wdir: p.wdir.as_deref(),
                    rank: p.rank,
                    size: size as u32,
                    proc: p.proc,
                    job,
                    name: match job {
                        0 => format!("rank {}", p.rank),
                        j => format!("rank {} of spawned job {j}", p.rank),
                    },
                    label: p.label.clone(),
                    stdin: p.stdin,
                    cpus,
                };
                if let Err(e) = self.start(launch) {
                    failed = Some((p.program.to_string_lossy().into_owned(), e));
                    break;
                }
                continue;
            }
            let Some(me) = hosts::route_to(&host.name) else {
                let why = format!(
                    "cannot find host '{}' (no address, or no route to it)",
                    host.name
                );
                failed = Some((host.name.clone(), io::Error::other(why)));
                break;
            };
            if job > 0 {
                env.push(("PMI_SPAWNED".into(), "1".into()));
            }
            let spec = &mut specs[p.host];
            spec.pmi_port = std::net::SocketAddr::new(me, port).to_string();
            spec.label = label;
            spec.bind = bind;
            spec.threads = threads;
            spec.report = report;
            spec.ranks.push(proxy::RankSpec {
                id: p.proc,
                rank: p.rank,
                program: p.program.clone(),
                args: p.args.clone(),
                env,
                wdir: p.wdir.as_ref().map(|d| d.clone().into_os_string()),
            });
            self.ranks.push(Rank {
                pid: 0,
                exit: None,
                proc: p.proc,
                name: name_of(p.rank, &host.name),
                external: false,
                reaped: true,
                job,
                proxy: None,
            });
        }
        for (h, spec) in specs.into_iter().enumerate() {
            if spec.ranks.is_empty() || failed.is_some() {
                continue;
            }
            let name = &hosts[h].name;
            let spec = &proxy::Spec {
                id: self.proxies.len(),
                ..spec
            };
            match Proxy::start(&launcher, name, spec, &self.tracker) {
                Ok(p) => {
                    let n = self.proxies.len();
                    debug!("proxy for {name}: pid {}", p.pid);
                    self.proxies.push(p);
                    for r in self.ranks.iter_mut() {
                        if spec.ranks.iter().any(|s| s.id == r.proc) {
                            r.proxy = Some(n);
                        }
                    }
                }
                Err(e) => failed = Some((format!("{launcher} {name}"), e)),
            }
        }
        // Ranks of a host whose proxy never started count as lost.
        for r in self
            .ranks
            .iter_mut()
            .filter(|r| r.job == job && r.pid == 0 && r.proxy.is_none() && !r.external)
        {
            r.exit = Some(Exit::Code(1));
        }
        failed.map_or(Ok(()), Err)
    }

    /// Host `n` is gone (`why`): its ranks not reported ended are lost,
    /// and the job ends.
    fn host_lost(&mut self, n: usize, why: &str) {
        if self.teardown.is_none() {
            say!("{why}; ending the job");
            self.worst = self.worst.max(1);
            self.begin_teardown(libc::SIGTERM, Reason::RankFailed);
        }
        for r in self
            .ranks
            .iter_mut()
            .filter(|r| r.proxy == Some(n) && r.exit.is_none())
        {
            if self.server.exit_of(r.proc).is_none() {
                r.exit = Some(Exit::Signal(libc::SIGKILL));
            }
        }
    }

    /// Proxies that ended: any of their ranks not reported ended is lost,
    /// which ends the job (a host, or the link to it, went away).
    fn check_proxies(&mut self) {
        for n in 0..self.proxies.len() {
            if self.proxies[n].exit.is_some() {
                continue;
            }
            self.proxies[n].beat();
            let silent = match self.server.proxy_silence(n) {
                Some(t) => t > proxy::SILENCE,
                None => self.proxies[n].started.elapsed() > PROXY_START,
            };
            if silent && self.teardown.is_none() {
                let host = self.proxies[n].host.clone();
                self.host_lost(
                    n,
                    &format!("lost contact with host {host} (its proxy is silent)"),
                );
                self.proxies[n].stop(libc::SIGKILL);
            }
            let Some(e) = sys::peek_exit(self.proxies[n].pid) else {
                continue;
            };
            sys::reap(self.proxies[n].pid);
            self.proxies[n].exit = Some(e);
            // Its last reports may still be on their way.
            let deadline = Instant::now() + PMI_DRAIN;
            let open = |job: &Job| {
                job.ranks.iter().any(|r| {
                    r.proxy == Some(n) && r.exit.is_none() && job.server.exit_of(r.proc).is_none()
                })
            };
            while open(self) && Instant::now() < deadline {
                self.server.wait(TICK);
            }
            // Ranks of a spawned job ended on purpose (`end_spawned_job`)
            // are not lost: the job goes on.
            let failed = &self.failed_jobs;
            for r in self
                .ranks
                .iter_mut()
                .filter(|r| r.proxy == Some(n) && r.exit.is_none() && failed.contains(&r.job))
            {
                r.exit = Some(Exit::Signal(libc::SIGKILL));
            }
            if open(self) {
                let why = match e {
                    Exit::Code(c) => format!("exit code {c}"),
                    Exit::Signal(s) => format!("signal {s}, {}", sys::signal_name(s)),
                };
                let host = self.proxies[n].host.clone();
                self.host_lost(
                    n,
                    &format!("the proxy on host {host} ended ({why}) with ranks still running"),
                );
            }
        }
    }

    fn start(&mut self, l: Launch<'_>) -> io::Result<()> {
        let (ours, theirs) = UnixStream::pair()?;
        let child_fd = theirs.as_raw_fd();
        let mut cmd = Command::new(l.program);
        cmd.args(l.args)
            .env_clear()
            .envs(l.env.iter().map(|(k, v)| (k, v)))
            .env("PMI_FD", child_fd.to_string())
            .env("PMI_RANK", l.rank.to_string())
            .env("PMI_SIZE", l.size.to_string())
            .env("PMI_SPAWNED", if l.job > 0 { "1" } else { "0" })
            .env("MPI_LOCALNRANKS", l.size.to_string())
            .env("MPI_LOCALRANKID", l.rank.to_string())
            .stdin(if l.stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // One group for the whole job (led by rank 0), apart from
            // mpiexec's, so killpg reaches the ranks' own children too and
            // terminal signals go to mpiexec only.
            .process_group(self.pgid);
        if let Some(dir) = l.wdir {
            cmd.current_dir(dir);
        }
        let parent = std::process::id() as libc::pid_t;
        let cpus = l.cpus;
        // SAFETY: fcntl, prctl and getppid are async-signal-safe, and the
        // closure allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                // The socket is close-on-exec everywhere else; only this
                // rank inherits it.
                if libc::fcntl(child_fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // Should mpiexec itself be SIGKILLed, take the rank with it
                // (this thread, the forking one, lives as long as mpiexec).
                // If mpiexec is already gone, do not start at all.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1
                    || libc::getppid() != parent
                {
                    return Err(io::Error::last_os_error());
                }
                // A binding the kernel refuses leaves the rank unbound.
                if let Some(set) = cpus {
                    let _ = set.apply();
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        drop(theirs);
        let pid = child.id() as libc::pid_t;
        if self.pgid == 0 {
            self.pgid = pid;
        }
        debug!("{}: pid {pid}, PMI_FD={child_fd}", l.name);
        self.ranks.push(Rank {
            pid,
            exit: None,
            proc: l.proc,
            name: l.name,
            external: false,
            reaped: false,
            job: l.job,
            proxy: None,
        });
        if let Err(e) = self.server.serve(l.proc, pmi_server::Conn::Unix(ours)) {
            debug!("proc {}: cannot start its PMI thread: {e}", l.proc);
        }
        if let Some(out) = child.stdout.take() {
            output::forward(&self.tracker, out, Stream::Out, l.label.clone());
        }
        if let Some(err) = child.stderr.take() {
            output::forward(&self.tracker, err, Stream::Err, l.label);
        }
        if let Some(input) = child.stdin.take() {
            output::forward_stdin(input);
        }
        Ok(())
    }

    /// Carry out the spawn requests that arrived: each starts a new job of
    /// its own (key-value space, barrier) in the same process group, so it
    /// is watched, counted and torn down like the first.
    fn serve_spawns(&mut self) {
        let mut requests = std::mem::take(&mut self.waiting);
        requests.extend(
            self.server
                .take_spawns()
                .into_iter()
                .map(|r| (Instant::now(), r)),
        );
        for (since, req) in requests {
            // A request the universe has no room for yet waits a while for
            // processes to end (a pool that was just shut down).
            if self.over_limit(&req.parts)
                && since.elapsed() < ROOM_WAIT
                && self.ranks.iter().any(|r| r.exit.is_none() && r.job > 0)
            {
                self.waiting.push((since, req));
                continue;
            }
            let reply = match self.spawn_job(&req.parts) {
                Ok((started, asked)) => {
                    let mut codes = vec!["0"; started];
                    codes.resize(asked, "1");
                    format!("cmd=spawn_result rc=0 errcodes={}", codes.join(","))
                }
                Err((n, why)) => {
                    debug!("cannot spawn: {why}");
                    format!(
                        "cmd=spawn_result rc=0 errcodes={} msg={}",
                        vec!["1"; n.max(1)].join(","),
                        why.replace(['_', '=', '\n'], " ")
                            .replace(char::is_whitespace, "_")
                    )
                }
            };
            debug!("pmi -> spawner: {reply}");
            req.reply(&reply);
        }
    }

    /// Whether `parts` would take more processes than the universe size
    /// leaves room for.
    fn over_limit(&self, parts: &[SpawnPart]) -> bool {
        let Some(limit) = self.spawn.as_ref().and_then(|c| c.universe) else {
            return false;
        };
        let total: u32 = parts.iter().map(|p| p.nprocs).sum();
        let alive = self.ranks.iter().filter(|r| r.exit.is_none()).count() as u32;
        alive + total > limit
    }

    /// Start the processes of one spawn request; how many were started
    /// (fewer than asked for under `soft`) of how many asked for, or how
    /// many were asked for and why none was.
    fn spawn_job(&mut self, parts: &[SpawnPart]) -> Result<(usize, usize), (usize, String)> {
        let total: u32 = parts.iter().map(|p| p.nprocs).sum();
        let n = total as usize;
        if self.teardown.is_some() {
            return Err((n, "the job is ending".into()));
        }
        let Some(cfg) = &self.spawn else {
            return Err((n, "this launcher does not spawn".into()));
        };
        let mut parts = parts.to_vec();
        if let Some(limit) = cfg.universe {
            let alive = self.ranks.iter().filter(|r| r.exit.is_none()).count() as u32;
            if alive + total > limit {
                // A single command with the `soft` key starts as many as
                // it allows and the universe has room for.
                let room = limit.saturating_sub(alive);
                let soft = match parts.as_slice() {
                    [p] => p.info.iter().find(|(k, _)| k == "soft").map(|(_, v)| v),
                    _ => None,
                };
                let fits = soft.and_then(|v| {
                    soft_counts(v)
                        .into_iter()
                        .filter(|&c| c > 0 && c <= room)
                        .max()
                });
                match fits {
                    Some(c) => parts[0].nprocs = c,
                    None => {
                        return Err((
                            n,
                            format!(
                                "{total} more processes would exceed the universe size \
                                 {limit} ({alive} running)"
                            ),
                        ));
                    }
                }
            }
        }
        let parts = parts.as_slice();
        let total: u32 = parts.iter().map(|p| p.nprocs).sum();
        // Check every command before starting anything, so a bad one
        // leaves nothing running.
        let mut programs = Vec::new();
        let mut on = Vec::new();
        for p in parts {
            programs.push(resolve(p).map_err(|why| (n, why))?);
            on.push(self.host_for(p).map_err(|why| (n, why))?);
        }
        self.spawned_jobs += 1;
        let job = self.spawned_jobs;
        let appnums: Vec<u32> = parts
            .iter()
            .enumerate()
            .flat_map(|(i, p)| std::iter::repeat_n(i as u32, p.nprocs as usize))
            .collect();
        let preput = parts.first().map(|p| p.preput.clone()).unwrap_or_default();
        let kvsname = format!("kvs_{}_{job}", std::process::id());
        let first = self
            .server
            .add_group(kvsname, &appnums, cfg.universe, &preput);
        let started = self.ranks.len();
        if self.spread.is_some() {
            return self
                .spawn_spread(parts, &programs, &on, job, first)
                .map(|()| (total as usize, n))
                .map_err(|why| {
                    self.undo_spawn(started);
                    (n, why)
                });
        }
        let mut rank = 0u32;
        for (p, (program, wdir)) in parts.iter().zip(&programs) {
            let env = self.spawn_env(p);
            let args: Vec<OsString> = p.args.iter().map(OsString::from).collect();
            for _ in 0..p.nprocs {
                let launch = Launch {
                    program: program.as_os_str(),
                    args: &args,
                    env: &env,
                    wdir: wdir.as_deref(),
                    rank,
                    size: total,
                    proc: first + rank as usize,
                    job,
                    name: format!("rank {rank} of spawned job {job}"),
                    label: None,
                    stdin: false,
                    cpus: None,
                };
                if let Err(e) = self.start(launch) {
                    self.undo_spawn(started);
                    let prog = program.display();
                    return Err((n, format!("cannot execute '{prog}': {}", sys::describe(&e))));
                }
                rank += 1;
            }
        }
        Ok((total as usize, n))
    }

    /// The environment a spawn command's processes start with: the
    /// launcher's, with the command's `env` info settings.
    fn spawn_env(&self, p: &SpawnPart) -> Vec<(OsString, OsString)> {
        let mut env = self
            .spawn
            .as_ref()
            .map(|c| c.env.clone())
            .unwrap_or_default();
        for (_, v) in p.info.iter().filter(|(k, _)| k == "env") {
            let (name, value) = v.split_once('=').unwrap_or((v, ""));
            env.retain(|(k2, _)| k2 != name);
            env.push((name.into(), value.into()));
        }
        env
    }

    /// The host a spawn command's `host` info names: an index into the
    /// job's hosts (`None`: anywhere, or this host when the job has no
    /// other).
    fn host_for(&self, p: &SpawnPart) -> Result<Option<usize>, String> {
        let Some((_, host)) = p.info.iter().find(|(k, _)| k == "host") else {
            return Ok(None);
        };
        let local = hosts::is_local(host) || host == "localhost";
        // The same host by name, by address, or as this one.
        let ip = super::ifaddrs::resolve(host);
        let same = |h: &hosts::Host| {
            h.name == *host
                || (local && h.local)
                || ip.is_some() && super::ifaddrs::resolve(&h.name) == ip
        };
        match &self.spread {
            Some(s) => s
                .hosts
                .iter()
                .position(same)
                .map(Some)
                .ok_or_else(|| format!("host {host:?} is not one of the job's hosts")),
            None if local => Ok(None),
            None => Err(format!(
                "host {host:?}: this job runs on this host alone (start it with -hosts \
                 to spawn on others)"
            )),
        }
    }

    /// Start spawned job `job` (PMI ids from `first`) on the job's hosts:
    /// commands that name a host there, the others continuing the round
    /// of the hosts' slots where the last job left it.
    fn spawn_spread(
        &mut self,
        parts: &[SpawnPart],
        programs: &[(PathBuf, Option<PathBuf>)],
        on: &[Option<usize>],
        job: usize,
        first: usize,
    ) -> Result<(), String> {
        let spread = self.spread.as_mut().expect("spread");
        let total: usize = parts.iter().map(|p| p.nprocs as usize).sum();
        let round = hosts::place(&spread.hosts, spread.placed + total);
        let mut next = spread.placed;
        spread.placed += total;
        let mut placed = Vec::new();
        let mut at = Vec::new();
        for ((p, (program, wdir)), host) in parts.iter().zip(programs).zip(on) {
            let env = self.spawn_env(p);
            let args: Vec<OsString> = p.args.iter().map(OsString::from).collect();
            for _ in 0..p.nprocs {
                let rank = placed.len();
                let h = host.unwrap_or(round[next]);
                next += 1;
                at.push(h);
                placed.push(Placed {
                    host: h,
                    program: program.clone().into_os_string(),
                    args: args.clone(),
                    env: env.clone(),
                    wdir: wdir.clone(),
                    rank: rank as u32,
                    proc: first + rank,
                    label: None,
                    stdin: false,
                });
            }
        }
        self.server.set_mapping(first, hosts::process_mapping(&at));
        self.start_spread(placed, job, false)
            .map_err(|(what, e)| format!("cannot execute '{what}': {}", sys::describe(&e)))
    }

    /// A spawn failed part way: end the processes it started (from
    /// `self.ranks[started]` on), since they would wait for the missing
    /// ones forever.
    fn undo_spawn(&mut self, started: usize) {
        let mut proxies = Vec::new();
        for r in &mut self.ranks[started..] {
            match r.proxy {
                Some(n) => proxies.push(n),
                None => {
                    sys::kill_pid(r.pid, libc::SIGKILL);
                    sys::reap(r.pid);
                    r.reaped = true;
                }
            }
            r.exit = Some(Exit::Code(0));
        }
        for n in proxies {
            self.proxies[n].stop(libc::SIGKILL);
        }
    }

    /// Watch the job until every rank has exited; returns mpiexec's status.
    pub fn run(&mut self, timeout: Option<Duration>) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(sig) = sys::take_signal() {
                if self.teardown.is_some() {
                    // Asked twice: stop being polite.
                    self.kill_all(libc::SIGKILL);
                } else {
                    debug!("got signal {sig}, forwarding it to the job");
                    self.begin_teardown(sig, Reason::Signal(sig));
                }
            }
            if let (None, Some(limit)) = (&self.teardown, timeout)
                && start.elapsed() >= limit
            {
                say!("job timed out after {} s, killing it", limit.as_secs());
                self.begin_teardown(libc::SIGTERM, Reason::Timeout);
            }
            self.check_abort();

            self.serve_spawns();
            self.check_proxies();
            // Collect all exits first, so ranks ending together do not see
            // each other as still running.
            let mut ended = Vec::new();
            for (i, r) in self.ranks.iter_mut().enumerate() {
                if r.exit.is_none() {
                    r.exit = if r.proxy.is_some() {
                        self.server
                            .exit_of(r.proc)
                            .map(|(sig, v)| if sig { Exit::Signal(v) } else { Exit::Code(v) })
                    } else if r.external {
                        self.server.closed(r.proc).then(|| {
                            let finalized = self.server.status(r.proc).finalized;
                            Exit::Code(if finalized { 0 } else { 1 })
                        })
                    } else {
                        sys::peek_exit(r.pid)
                    };
                    if r.exit.is_some() {
                        ended.push(i);
                    }
                }
            }
            for i in ended {
                self.judge(i);
                // A process that does not hold the group id needs no
                // zombie: collect it now (spawning jobs may start many).
                let r = &mut self.ranks[i];
                if r.pid != 0 && r.pid != self.pgid && !r.reaped {
                    sys::reap(r.pid);
                    r.reaped = true;
                }
            }

            if let Some(t) = &self.teardown
                && !t.killed
                && t.started.elapsed() >= GRACE
            {
                debug!("ranks still alive after {GRACE:?}, sending SIGKILL");
                self.kill_all(libc::SIGKILL);
            }
            if self.ranks.iter().all(|r| r.exit.is_some())
                && self.proxies.iter().all(|p| p.exit.is_some())
            {
                break;
            }
            self.server.wait(TICK);
        }
        match self.reason {
            Some(Reason::Signal(sig)) => 128 + sig,
            Some(Reason::Timeout) => TIMEOUT_STATUS,
            Some(Reason::Abort(code)) => code,
            Some(Reason::LaunchFailed(status)) => status,
            Some(Reason::RankFailed) | None => self.worst,
        }
    }

    fn check_abort(&mut self) {
        if self.teardown.is_some() {
            return;
        }
        if let Some(a) = self.server.abort() {
            say!("rank {} aborted the job with code {}", a.rank, a.code);
            self.begin_teardown(libc::SIGTERM, Reason::Abort(a.code));
        }
    }

    /// Decide what rank `i`'s exit means for the rest of the job.
    fn judge(&mut self, i: usize) {
        let Rank {
            pid, exit, proc, ..
        } = self.ranks[i];
        let name = self.ranks[i].name.clone();
        let Some(exit) = exit else { return };
        let mut status = self.server.status(proc);
        if !status.finalized {
            // Handle whatever it sent last first: an abort sent just before
            // exiting must win over "exited early".
            self.server.wait_closed(proc, PMI_DRAIN);
            status = self.server.status(proc);
            self.check_abort();
        }
        // Ranks on other hosts are named by host; their pids are not ours.
        let name = if pid > 0 {
            format!("{name} (pid {pid})")
        } else {
            name
        };
        debug!("{name} ended: {exit:?}, {status:?}");
        let job = self.ranks[i].job;
        if self.teardown.is_some() || self.failed_jobs.contains(&job) {
            // Deaths by our own signals are not news; codes still count.
            if let Exit::Code(code) = exit {
                self.worst = self.worst.max(code);
            }
            return;
        }
        let others_running = self.ranks.iter().any(|r| r.exit.is_none());
        match exit {
            Exit::Signal(sig) => {
                say!("{name} killed by signal {sig} ({})", sys::signal_name(sig));
                self.worst = self.worst.max(128 + sig);
                if job > 0 && self.spread.is_none() {
                    self.end_spawned_job(job);
                } else if others_running {
                    self.say_why_the_run_ends(job);
                    self.begin_teardown(libc::SIGTERM, Reason::RankFailed);
                }
            }
            Exit::Code(code) => {
                self.worst = self.worst.max(code);
                // A program that never spoke PMI (`mpiexec -n 4 hostname`)
                // may end whenever it likes with status 0; an MPI process
                // that quits before finalizing would hang its peers.
                let broken = !status.finalized && (code != 0 || status.initialized);
                if broken && others_running {
                    let what = if job > 0 { "its job" } else { "the job" };
                    if code == 0 {
                        say!("{name} exited without finalizing MPI; ending {what}");
                        self.worst = self.worst.max(1);
                    } else {
                        say!("{name} exited with code {code}; ending {what}");
                    }
                    if job > 0 && self.spread.is_none() {
                        self.end_spawned_job(job);
                    } else {
                        self.say_why_the_run_ends(job);
                        self.begin_teardown(libc::SIGTERM, Reason::RankFailed);
                    }
                }
            }
        }
    }

    /// Say why a failed rank of spawned job `job` ends the whole run across
    /// hosts (the caller ends it): the jobs connected to it could not tell
    /// (a process on another host is not watched) and would wait for ever.
    fn say_why_the_run_ends(&self, job: usize) {
        if job > 0 {
            say!(
                "spawned job {job} lost a member; across hosts the jobs connected to it \
                 cannot notice, so the whole run ends"
            );
        }
    }

    /// A rank of spawned job `job` failed: the rest of that job cannot go
    /// on (its world has lost a member), so it ends now. The jobs it is
    /// connected to go on: their operations with it fail with
    /// `MPI_ERR_PROC_ABORTED` (the library watches processes of other
    /// jobs), and their error handlers decide.
    fn end_spawned_job(&mut self, job: usize) {
        self.failed_jobs.push(job);
        let mut proxies = Vec::new();
        for r in self
            .ranks
            .iter()
            .filter(|r| r.job == job && r.exit.is_none() && !r.external)
        {
            match r.proxy {
                Some(n) => proxies.push(n),
                None => sys::kill_pid(r.pid, libc::SIGKILL),
            }
        }
        // A spawned job's proxies serve that job alone.
        for n in proxies {
            self.proxies[n].stop(libc::SIGKILL);
        }
    }

    fn begin_teardown(&mut self, sig: i32, reason: Reason) {
        self.reason.get_or_insert(reason);
        if self.teardown.is_none() {
            self.teardown = Some(Teardown {
                started: Instant::now(),
                killed: false,
            });
            self.kill_all(sig);
        }
    }

    /// Signal the job's group and, in case one left it, every running rank.
    fn kill_all(&mut self, sig: i32) {
        sys::kill_group(self.pgid, sig);
        for r in self
            .ranks
            .iter()
            .filter(|r| r.exit.is_none() && !r.external && r.pid != 0)
        {
            sys::kill_pid(r.pid, sig);
        }
        for p in &mut self.proxies {
            p.stop(sig);
        }
        if sig == libc::SIGKILL
            && let Some(t) = &mut self.teardown
        {
            t.killed = true;
        }
    }

    /// After every rank has exited: kill whatever the ranks left behind in
    /// the job's group, reap the ranks, and let their output drain.
    pub fn finish(&mut self) {
        sys::kill_group(self.pgid, libc::SIGKILL);
        for p in &mut self.proxies {
            p.stop(libc::SIGKILL);
        }
        for r in self.ranks.iter().filter(|r| !r.reaped) {
            sys::reap(r.pid);
        }
        self.tracker.wait_all(Duration::from_secs(2));
    }
}

/// The process counts a `soft` info value allows: a comma-separated list
/// of counts `a`, ranges `a:b` and strided ranges `a:b:s`.
fn soft_counts(spec: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for item in spec.split(',') {
        let nums: Vec<u32> = item
            .split(':')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        match nums.as_slice() {
            [a] => out.push(*a),
            [a, b] => out.extend(*a..=*b),
            [a, b, s] if *s > 0 => out.extend((*a..=*b).step_by(*s as usize)),
            _ => {}
        }
    }
    out
}

/// The program a spawn command runs (searched in the `path` info
/// directories, then `PATH`) and its working directory (`wdir`), checked
/// before anything starts (on this host: hosts share the file system).
fn resolve(p: &SpawnPart) -> Result<(PathBuf, Option<PathBuf>), String> {
    let info = |k: &str| {
        p.info
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let wdir = info("wdir").map(PathBuf::from);
    if let Some(d) = &wdir
        && !d.is_dir()
    {
        return Err(format!("working directory {} does not exist", d.display()));
    }
    let exe = &p.execname;
    let executable = |f: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        f.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if exe.contains('/') {
        let f = match &wdir {
            Some(d) if !exe.starts_with('/') => d.join(exe),
            _ => PathBuf::from(exe),
        };
        return if executable(&f) {
            Ok((PathBuf::from(exe), wdir))
        } else {
            Err(format!("command '{exe}' is not an executable file"))
        };
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = info("path")
        .into_iter()
        .flat_map(|p| p.split(':'))
        .chain(path.split(':'))
        .filter(|d| !d.is_empty());
    for d in dirs {
        let f = PathBuf::from(d).join(exe);
        if executable(&f) {
            return Ok((f, wdir));
        }
    }
    Err(format!("command '{exe}' not found"))
}

/// The environment of spawned processes: the launcher's own, with the
/// command line's global settings.
pub fn global_env(opts: &Options) -> Vec<(OsString, OsString)> {
    env_of(opts, None)
}

/// The environment of an app's ranks, before the PMI variables.
fn app_env(opts: &Options, app: &App) -> Vec<(OsString, OsString)> {
    env_of(opts, Some(app))
}

fn env_of(opts: &Options, app: Option<&App>) -> Vec<(OsString, OsString)> {
    let mode = app.and_then(|a| a.env_mode).unwrap_or(opts.genv_mode);
    let listed = |name: &OsString| {
        name == "PATH"
            || opts.genv_list.contains(name)
            || app.is_some_and(|a| a.env_list.contains(name))
    };
    let mut env: BTreeMap<OsString, OsString> = std::env::vars_os()
        .filter(|(k, _)| !MANAGED.iter().any(|m| k == m))
        .filter(|(k, _)| mode == EnvMode::All || listed(k))
        .collect();
    // Explicit settings win, local over global.
    env.extend(opts.genv.iter().cloned());
    if let Some(app) = app {
        env.extend(app.env.iter().cloned());
    }
    env.into_iter().collect()
}
