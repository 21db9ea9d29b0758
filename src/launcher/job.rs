//! Starting the ranks, watching them, and tearing the job down.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cli::{App, EnvMode, Options};
use super::output::{self, Stream, Tracker};
use super::pmi_server::Server;
use super::sys::{self, Exit};

/// Polling period of the monitor loop.
const TICK: Duration = Duration::from_millis(20);
/// Time the ranks get between the polite signal and SIGKILL.
const GRACE: Duration = Duration::from_secs(1);
/// How long to wait for an exited rank's last PMI messages (an abort).
const PMI_DRAIN: Duration = Duration::from_millis(250);

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
        }
    }

    /// Start every rank of every app; stops at the first failure, which
    /// begins the teardown of the ranks already running.
    pub fn launch(&mut self, opts: &Options) {
        let size = opts.size();
        let forward_stdin = !sys::stdin_is_background_tty();
        for app in &opts.apps {
            let env = app_env(opts, app);
            for _ in 0..app.nprocs {
                let rank = self.ranks.len() as u32;
                if let Err(e) = self.spawn(
                    app,
                    &env,
                    rank,
                    size,
                    opts.prepend_rank,
                    forward_stdin && rank == 0,
                ) {
                    let prog = app.program.to_string_lossy();
                    say!("cannot execute '{prog}': {}", sys::describe(&e));
                    let status = match e.kind() {
                        io::ErrorKind::NotFound => 127,
                        io::ErrorKind::PermissionDenied => 126,
                        _ => 1,
                    };
                    self.begin_teardown(libc::SIGTERM, Reason::LaunchFailed(status));
                    return;
                }
            }
        }
    }

    fn spawn(
        &mut self,
        app: &App,
        env: &[(OsString, OsString)],
        rank: u32,
        size: u32,
        label: bool,
        stdin: bool,
    ) -> io::Result<()> {
        let (ours, theirs) = UnixStream::pair()?;
        let child_fd = theirs.as_raw_fd();
        let mut cmd = Command::new(&app.program);
        cmd.args(&app.args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PMI_FD", child_fd.to_string())
            .env("PMI_RANK", rank.to_string())
            .env("PMI_SIZE", size.to_string())
            .env("PMI_SPAWNED", "0")
            .env("MPI_LOCALNRANKS", size.to_string())
            .env("MPI_LOCALRANKID", rank.to_string())
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // One group for the whole job (led by rank 0), apart from
            // mpiexec's, so killpg reaches the ranks' own children too and
            // terminal signals go to mpiexec only.
            .process_group(self.pgid);
        if let Some(dir) = &app.wdir {
            cmd.current_dir(dir);
        }
        let parent = std::process::id() as libc::pid_t;
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
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        drop(theirs);
        let pid = child.id() as libc::pid_t;
        if self.pgid == 0 {
            self.pgid = pid;
        }
        self.ranks.push(Rank { pid, exit: None });
        debug!("rank {rank}: pid {pid}, PMI_FD={child_fd}");
        let proc = self.first_proc + rank as usize;
        if let Err(e) = self.server.serve(proc, ours) {
            debug!("rank {rank}: cannot start its PMI thread: {e}");
        }
        let label = label.then(|| format!("[{rank}] "));
        if let Some(out) = child.stdout.take() {
            output::forward(&self.tracker, out, Stream::Out, label.clone());
        }
        if let Some(err) = child.stderr.take() {
            output::forward(&self.tracker, err, Stream::Err, label);
        }
        if let Some(input) = child.stdin.take() {
            output::forward_stdin(input);
        }
        Ok(())
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

            // Collect all exits first, so ranks ending together do not see
            // each other as still running.
            let mut ended = Vec::new();
            for (i, r) in self.ranks.iter_mut().enumerate() {
                if r.exit.is_none() {
                    r.exit = sys::peek_exit(r.pid);
                    if r.exit.is_some() {
                        ended.push(i);
                    }
                }
            }
            for i in ended {
                self.judge(i);
            }

            if let Some(t) = &self.teardown
                && !t.killed
                && t.started.elapsed() >= GRACE
            {
                debug!("ranks still alive after {GRACE:?}, sending SIGKILL");
                self.kill_all(libc::SIGKILL);
            }
            if self.ranks.iter().all(|r| r.exit.is_some()) {
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
        let proc = self.first_proc + i;
        let Rank { pid, exit } = self.ranks[i];
        let Some(exit) = exit else { return };
        let mut status = self.server.status(proc);
        if !status.finalized {
            // Handle whatever it sent last first: an abort sent just before
            // exiting must win over "exited early".
            self.server.wait_closed(proc, PMI_DRAIN);
            status = self.server.status(proc);
            self.check_abort();
        }
        debug!("rank {i} (pid {pid}) ended: {exit:?}, {status:?}");
        if self.teardown.is_some() {
            // Deaths by our own signals are not news; codes still count.
            if let Exit::Code(code) = exit {
                self.worst = self.worst.max(code);
            }
            return;
        }
        let others_running = self.ranks.iter().any(|r| r.exit.is_none());
        match exit {
            Exit::Signal(sig) => {
                say!(
                    "rank {i} (pid {pid}) killed by signal {sig} ({})",
                    sys::signal_name(sig)
                );
                self.worst = self.worst.max(128 + sig);
                if others_running {
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
                    if code == 0 {
                        say!("rank {i} (pid {pid}) exited without finalizing MPI; killing the job");
                        self.worst = self.worst.max(1);
                    } else {
                        say!("rank {i} (pid {pid}) exited with code {code}; killing the job");
                    }
                    self.begin_teardown(libc::SIGTERM, Reason::RankFailed);
                }
            }
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
        for r in self.ranks.iter().filter(|r| r.exit.is_none()) {
            sys::kill_pid(r.pid, sig);
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
        for r in &self.ranks {
            sys::reap(r.pid);
        }
        self.tracker.wait_all(Duration::from_secs(2));
    }
}

/// The environment of an app's ranks, before the PMI variables.
fn app_env(opts: &Options, app: &App) -> Vec<(OsString, OsString)> {
    let mode = app.env_mode.unwrap_or(opts.genv_mode);
    let listed = |name: &OsString| {
        name == "PATH" || opts.genv_list.contains(name) || app.env_list.contains(name)
    };
    let mut env: BTreeMap<OsString, OsString> = std::env::vars_os()
        .filter(|(k, _)| !MANAGED.iter().any(|m| k == m))
        .filter(|(k, _)| mode == EnvMode::All || listed(k))
        .collect();
    // Explicit settings win, local over global.
    env.extend(opts.genv.iter().cloned());
    env.extend(app.env.iter().cloned());
    env.into_iter().collect()
}
