//! Ranks on other hosts: a proxy per host, started by `ssh` or the
//! `-launcher-exec` command as `CMD HOST 'mpiexec --proxy'`.
//!
//! The head (the `mpiexec` the user ran) writes the proxy what to start on
//! its standard input: one `key value` line per item, values escaped
//! (`%` and newlines), ending with `go`. The proxy starts those ranks,
//! which reach the head's PMI server over TCP (`PMI_PORT`, `PMI_ID`); it
//! connects there too and reports how each rank ended (`cmd=exited`).
//! The ranks' output goes to the proxy's own standard streams, which the
//! launcher command carries back to the head.
//!
//! Lifetime: the head keeps the proxy's standard input open for the whole
//! job and writes a line to it every `BEAT`; the proxy reports `cmd=alive`
//! to the head as often. End of input, `SILENCE` without a line from the
//! head, or SIGTERM/SIGINT/SIGHUP make the proxy end its ranks (SIGTERM,
//! SIGKILL a second later); a rank whose proxy is killed outright gets
//! SIGKILL from the kernel (`PR_SET_PDEATHSIG`). The head in turn ends the
//! job when a proxy exits with ranks running or falls silent (a host or
//! its network gone). So nothing outlives the job on any host.

use super::output::{self, Stream, Tracker};
use super::placement::{self, Bind};
use super::sys::{self, Exit};
use std::ffi::OsString;
use std::io::{self, BufRead, Write};
use std::net::TcpStream;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the head and each proxy tell each other they are there.
pub const BEAT: Duration = Duration::from_millis(250);
/// Without a word for this long, the other side is taken for gone.
pub const SILENCE: Duration = Duration::from_millis(1500);

/// One rank for a proxy to start.
#[derive(Default)]
pub struct RankSpec {
    /// Its id at the head's PMI server.
    pub id: usize,
    pub rank: u32,
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub wdir: Option<OsString>,
}

/// What a proxy is told.
#[derive(Default)]
pub struct Spec {
    /// Which proxy of the job this is (how it names itself to the head).
    pub id: usize,
    /// The head's PMI server, `address:port`.
    pub pmi_port: String,
    pub label: bool,
    /// How to bind the ranks on that host (`None`: not at all), with how
    /// many threads each runs, and whether to say where they went.
    pub bind: Option<Bind>,
    pub threads: usize,
    pub report: bool,
    pub ranks: Vec<RankSpec>,
}

fn esc(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        if c == b'%' || !(0x20..0x7f).contains(&c) {
            s.push_str(&format!("%{c:02X}"));
        } else {
            s.push(c as char);
        }
    }
    s
}

fn unesc(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let h: String = chars.by_ref().take(2).collect();
            out.push(u8::from_str_radix(&h, 16).unwrap_or(b'?'));
        } else {
            out.push(c as u8);
        }
    }
    out
}

impl Spec {
    /// The lines the head writes to the proxy.
    pub fn encode(&self) -> String {
        let mut t = format!(
            "proxy {}\npmi_port {}\nlabel {}\nthreads {}\nreport {}\n",
            self.id,
            self.pmi_port,
            u8::from(self.label),
            self.threads,
            u8::from(self.report)
        );
        if let Some(b) = self.bind {
            t += &format!("bind {}\n", b.name());
        }
        for r in &self.ranks {
            t += &format!("rank {} {}\n", r.id, r.rank);
            t += &format!("program {}\n", esc(r.program.as_bytes()));
            for a in &r.args {
                t += &format!("arg {}\n", esc(a.as_bytes()));
            }
            for (k, v) in &r.env {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                t += &format!("env {}\n", esc(&kv));
            }
            if let Some(d) = &r.wdir {
                t += &format!("wdir {}\n", esc(d.as_bytes()));
            }
        }
        t + "go\n"
    }

    fn decode(input: &mut impl BufRead) -> io::Result<Spec> {
        let mut spec = Spec::default();
        let mut line = String::new();
        loop {
            line.clear();
            if input.read_line(&mut line)? == 0 {
                return Err(io::Error::other("the head closed the connection"));
            }
            let l = line.trim_end_matches(['\n', '\r']);
            let (k, v) = l.split_once(' ').unwrap_or((l, ""));
            let os = || OsString::from_vec(unesc(v));
            let cur = spec.ranks.last_mut();
            match (k, cur) {
                ("go", _) => return Ok(spec),
                ("proxy", _) => spec.id = v.parse().unwrap_or(0),
                ("pmi_port", _) => spec.pmi_port = v.to_string(),
                ("label", _) => spec.label = v == "1",
                ("threads", _) => spec.threads = v.parse().unwrap_or(1),
                ("report", _) => spec.report = v == "1",
                ("bind", _) => spec.bind = Bind::parse(v),
                ("rank", _) => {
                    let mut it = v.split(' ').map(|x| x.parse::<usize>().unwrap_or(0));
                    spec.ranks.push(RankSpec {
                        id: it.next().unwrap_or(0),
                        rank: it.next().unwrap_or(0) as u32,
                        ..RankSpec::default()
                    });
                }
                ("program", Some(r)) => r.program = os(),
                ("arg", Some(r)) => r.args.push(os()),
                ("wdir", Some(r)) => r.wdir = Some(os()),
                ("env", Some(r)) => {
                    let kv = unesc(v);
                    let at = kv.iter().position(|&c| c == b'=').unwrap_or(kv.len());
                    r.env.push((
                        OsString::from_vec(kv[..at].to_vec()),
                        OsString::from_vec(kv.get(at + 1..).unwrap_or(&[]).to_vec()),
                    ));
                }
                _ => return Err(io::Error::other(format!("bad proxy line {l:?}"))),
            }
        }
    }
}

/// The shell-quoted form of `s` (for the remote command line).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A started proxy, seen from the head.
pub struct Proxy {
    pub host: String,
    pub pid: libc::pid_t,
    pub exit: Option<Exit>,
    /// Its standard input: closing it ends the proxy's ranks.
    input: Option<std::process::ChildStdin>,
    pub started: Instant,
    last_beat: Instant,
}

impl Proxy {
    /// Start a proxy on `host` through `launcher` and hand it `spec`.
    pub fn start(
        launcher: &str,
        host: &str,
        spec: &Spec,
        tracker: &Arc<Tracker>,
    ) -> io::Result<Proxy> {
        let exe = std::env::current_exe()?;
        let mut cmd = if launcher == super::slurm::LAUNCHER {
            let mut c = Command::new("srun");
            c.args(super::slurm::step(
                host,
                &exe.to_string_lossy(),
                &["--proxy"],
            ));
            c
        } else {
            // ssh-like: the remote command is one shell line.
            let remote = format!("{} --proxy", quote(&exe.to_string_lossy()));
            let mut words = launcher.split_whitespace();
            let prog = words
                .next()
                .ok_or_else(|| io::Error::other("empty -launcher-exec"))?;
            let mut c = Command::new(prog);
            c.args(words).arg(host).arg(remote);
            c
        };
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        let mut input = child.stdin.take();
        if let Some(i) = &mut input {
            i.write_all(spec.encode().as_bytes())?;
            i.flush()?;
        }
        if let Some(out) = child.stdout.take() {
            output::forward(tracker, out, Stream::Out, None);
        }
        if let Some(err) = child.stderr.take() {
            output::forward(tracker, err, Stream::Err, None);
        }
        Ok(Proxy {
            host: host.to_string(),
            pid: child.id() as libc::pid_t,
            exit: None,
            input,
            started: Instant::now(),
            last_beat: Instant::now(),
        })
    }

    /// Tell the proxy we are still here (every `BEAT`).
    pub fn beat(&mut self) {
        if self.last_beat.elapsed() < BEAT {
            return;
        }
        self.last_beat = Instant::now();
        if let Some(i) = &mut self.input
            && i.write_all(b"alive\n").and_then(|_| i.flush()).is_err()
        {
            self.input = None;
        }
    }

    /// Ask the proxy to end its ranks.
    pub fn stop(&mut self, sig: i32) {
        self.input = None;
        if self.exit.is_none() {
            sys::kill_pid(self.pid, sig);
        }
    }
}

/// `mpiexec --proxy`: read the spec from standard input, start the ranks,
/// report how they end, and end them when told. Returns the exit status
/// (the worst of the ranks').
pub fn serve() -> i32 {
    let mut input = io::BufReader::new(io::stdin());
    let spec = match Spec::decode(&mut input) {
        Ok(s) => s,
        Err(e) => {
            say!("proxy: {e}");
            return 1;
        }
    };
    let mut report = match TcpStream::connect(spec.pmi_port.as_str()) {
        Ok(s) => s,
        Err(e) => {
            say!(
                "proxy on {}: cannot reach mpiexec at {}: {e}",
                host(),
                spec.pmi_port
            );
            return 1;
        }
    };
    let _ = writeln!(report, "cmd=proxy id={}", spec.id);
    sys::catch_job_signals();
    // End of input: the head is gone or done with us. Each line it sends
    // is a sign of life.
    let born = Instant::now();
    let orphaned = Arc::new(AtomicBool::new(false));
    let heard = Arc::new(std::sync::atomic::AtomicU64::new(0));
    {
        let (orphaned, heard) = (orphaned.clone(), heard.clone());
        let _ = std::thread::Builder::new()
            .name("proxy-stdin".into())
            .spawn(move || {
                let mut line = String::new();
                while matches!(input.read_line(&mut line), Ok(n) if n > 0) {
                    heard.store(born.elapsed().as_millis() as u64, Ordering::Relaxed);
                    line.clear();
                }
                orphaned.store(true, Ordering::Relaxed);
            });
    }
    let mut last_report = Instant::now();
    let tracker = Arc::new(Tracker::default());
    let mut pgid = 0;
    let mut kids: Vec<(usize, libc::pid_t, Option<Exit>)> = Vec::new();
    let mut worst = 0;
    let places = match spec.bind {
        Some(b) => placement::plan(b, spec.ranks.len() as u32, spec.threads.max(1)),
        None => vec![None; spec.ranks.len()],
    };
    for (r, &cpus) in spec.ranks.iter().zip(&places) {
        if spec.report {
            match cpus {
                Some(set) => say!(
                    "rank {} bound to CPU {} on {}",
                    r.rank,
                    set.describe(),
                    host()
                ),
                None => say!("rank {} not bound on {}", r.rank, host()),
            }
        }
        let mut cmd = Command::new(&r.program);
        cmd.args(&r.args)
            .env_clear()
            .envs(r.env.iter().map(|(k, v)| (k, v)))
            .env("PMI_PORT", &spec.pmi_port)
            .env("PMI_ID", r.id.to_string())
            .stdin(Stdio::null())
            .process_group(pgid);
        if spec.label {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        if let Some(d) = &r.wdir {
            cmd.current_dir(d);
        }
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // A binding the kernel refuses leaves the rank unbound.
                if let Some(set) = cpus {
                    let _ = set.apply();
                }
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                let pid = child.id() as libc::pid_t;
                if pgid == 0 {
                    pgid = pid;
                }
                let label = Some(format!("[{}] ", r.rank));
                if let Some(o) = child.stdout.take() {
                    output::forward(&tracker, o, Stream::Out, label.clone());
                }
                if let Some(e) = child.stderr.take() {
                    output::forward(&tracker, e, Stream::Err, label);
                }
                kids.push((r.id, pid, None));
            }
            Err(e) => {
                say!(
                    "cannot execute '{}' on {}: {}",
                    r.program.to_string_lossy(),
                    host(),
                    sys::describe(&e)
                );
                let code = if e.kind() == io::ErrorKind::NotFound {
                    127
                } else {
                    126
                };
                let _ = writeln!(report, "cmd=exited pmiid={} code={code}", r.id);
                worst = worst.max(code);
            }
        }
    }
    let mut ending: Option<Instant> = None;
    loop {
        let silent = born
            .elapsed()
            .saturating_sub(Duration::from_millis(heard.load(Ordering::Relaxed)))
            > SILENCE;
        if last_report.elapsed() >= BEAT {
            last_report = Instant::now();
            if report.write_all(b"cmd=alive\n").is_err() {
                orphaned.store(true, Ordering::Relaxed);
            }
        }
        if (sys::take_signal().is_some() || orphaned.load(Ordering::Relaxed) || silent)
            && ending.is_none()
        {
            if silent {
                say!(
                    "proxy on {}: lost contact with mpiexec; ending the ranks here",
                    host()
                );
            }
            ending = Some(Instant::now());
            signal_all(pgid, &kids, libc::SIGTERM);
        }
        if ending.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
            signal_all(pgid, &kids, libc::SIGKILL);
        }
        for (id, pid, exit) in kids.iter_mut().filter(|k| k.2.is_none()) {
            if let Some(e) = sys::peek_exit(*pid) {
                sys::reap(*pid);
                let (what, v) = match e {
                    Exit::Code(c) => ("code", c),
                    Exit::Signal(s) => ("signal", s),
                };
                worst = worst.max(if what == "code" { v } else { 128 + v });
                let _ = writeln!(report, "cmd=exited pmiid={id} {what}={v}");
                *exit = Some(e);
            }
        }
        if kids.iter().all(|k| k.2.is_some()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    sys::kill_group(pgid, libc::SIGKILL);
    tracker.wait_all(Duration::from_secs(2));
    let _ = report.flush();
    worst
}

fn signal_all(pgid: libc::pid_t, kids: &[(usize, libc::pid_t, Option<Exit>)], sig: i32) {
    if pgid != 0 {
        sys::kill_group(pgid, sig);
    }
    for (_, pid, _) in kids.iter().filter(|k| k.2.is_none()) {
        sys::kill_pid(*pid, sig);
    }
}

fn host() -> String {
    sys::hostname().unwrap_or_else(|| "this host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trip() {
        let spec = Spec {
            id: 1,
            pmi_port: "10.0.0.1:5000".into(),
            label: true,
            bind: Some(Bind::To(super::super::topology::Kind::Numa)),
            threads: 2,
            report: true,
            ranks: vec![RankSpec {
                id: 3,
                rank: 2,
                program: "/bin/echo".into(),
                args: vec!["a b".into(), "50%\nx".into()],
                env: vec![("K".into(), "v=1".into())],
                wdir: Some("/tmp".into()),
            }],
        };
        let text = spec.encode();
        let back = Spec::decode(&mut text.as_bytes()).unwrap();
        assert_eq!((back.id, &back.pmi_port), (1, &spec.pmi_port));
        assert!(back.label && back.report);
        assert_eq!((back.bind, back.threads), (spec.bind, 2));
        let r = &back.ranks[0];
        assert_eq!((r.id, r.rank), (3, 2));
        assert_eq!(r.args, spec.ranks[0].args);
        assert_eq!(r.env, spec.ranks[0].env);
        assert_eq!(r.wdir.as_deref(), Some(std::ffi::OsStr::new("/tmp")));
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
