//! `mpiexec`: starts an MPI job on this node and serves PMI-1 to its ranks.
//!
//! Compiled only into the `mpiexec` binary (src/bin/mpiexec.rs includes this
//! module by path), so none of it ends up in libmpi.so.

/// Print "mpiexec: ..." to stderr. Unlike eprintln!, never panics: a closed
/// stderr must not kill mpiexec and orphan the job.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "mpiexec: {}", format_args!($($arg)*));
    }};
}

/// Log to stderr when OXMPI_DEBUG is set.
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::launcher::debug_enabled() {
            say!("debug: {}", format_args!($($arg)*));
        }
    };
}

mod cli;
mod hosts;
#[path = "../transport/ifaddrs.rs"]
mod ifaddrs;
mod job;
pub mod nameserver;
mod output;
mod placement;
mod pmi_server;
mod proxy;
mod slurm;
mod sys;
#[allow(dead_code)] // the library uses the rest
#[path = "../topology.rs"]
mod topology;

use std::ffi::OsString;
use std::io::Write;

pub(crate) fn debug_enabled() -> bool {
    crate::config::DEBUG.on()
}

/// Run mpiexec with `args` (argv without argv[0]); returns the exit status.
pub fn main(args: &[OsString]) -> i32 {
    if args.first().is_some_and(|a| a == "--singleton") {
        return serve_singleton(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "--proxy") {
        return proxy::serve();
    }
    let opts = match cli::parse(args) {
        Ok(cli::Command::Run(opts)) => opts,
        Ok(cli::Command::Help) => {
            let _ = std::io::stdout().write_all(cli::HELP.as_bytes());
            let settings = format!(
                "\nSettings (environment variables, passed on to the ranks; see also oxmpi-info):\n{}",
                crate::config::plain_text()
            );
            let _ = std::io::stdout().write_all(settings.as_bytes());
            return 0;
        }
        Ok(cli::Command::Version) => {
            let _ = writeln!(
                std::io::stdout(),
                "mpiexec (OxMPI) {}",
                env!("CARGO_PKG_VERSION")
            );
            return 0;
        }
        Err(e) => {
            say!("{}", e.msg);
            return e.code;
        }
    };
    // Check the directories up front: a bad one would otherwise surface as
    // a misleading "cannot execute" error.
    for app in &opts.apps {
        if let Some(dir) = &app.wdir
            && let Err(e) = std::fs::read_dir(dir)
        {
            say!(
                "cannot use working directory '{}': {}",
                dir.display(),
                sys::describe(&e)
            );
            return 1;
        }
    }

    let appnums: Vec<u32> = opts
        .apps
        .iter()
        .enumerate()
        .flat_map(|(n, app)| std::iter::repeat_n(n as u32, app.nprocs as usize))
        .collect();
    let server = pmi_server::Server::new();
    let kvsname = format!("kvs_{}_0", std::process::id());
    // Without a universe size from the user there is no limit, and none
    // is reported (spawning oversubscribes as readily as mpiexec -n).
    let universe = opts.universe_size.or_else(universe_from_env);
    let first = server.add_group(kvsname, &appnums, universe, &[]);
    server.set_nameserver(opts.nameserver.clone());

    // Catch signals before the first fork so no rank can be orphaned.
    sys::catch_job_signals();
    let mut job = job::Job::new(server, first);
    job.allow_spawn(job::SpawnConfig {
        env: job::global_env(&opts),
        universe,
    });
    job.launch(&opts);
    let status = job.run(opts.timeout);
    job.finish();
    debug!("exit status {status}");
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    status
}

/// `MPIEXEC_UNIVERSE_SIZE`, when set to a positive number.
fn universe_from_env() -> Option<u32> {
    std::env::var("MPIEXEC_UNIVERSE_SIZE")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

/// `mpiexec --singleton FD PID`: started by a process that runs without a
/// launcher (a singleton) when it first needs one (to spawn, or to publish
/// a name). It serves that process PMI over the inherited socket `FD` as
/// rank 0 of a job of one, starts what it spawns, and ends once the
/// singleton has closed the connection and everything it started has
/// ended (or tears that down if the singleton died without finalizing).
fn serve_singleton(args: &[OsString]) -> i32 {
    use std::os::fd::FromRawFd;
    let num = |i: usize| args.get(i).and_then(|a| a.to_str()?.parse::<i32>().ok());
    let (Some(fd), Some(pid)) = (num(0), num(1)) else {
        say!("usage: mpiexec --singleton FD PID (started by the library, not by hand)");
        return 2;
    };
    // SAFETY: the singleton handed us this socket for our exclusive use.
    let sock = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
    let server = pmi_server::Server::new();
    let universe = universe_from_env();
    let kvsname = format!("kvs_{}_0", std::process::id());
    let first = server.add_group(kvsname, &[0], universe, &[]);
    if let Err(e) = server.serve(first, pmi_server::Conn::Unix(sock)) {
        say!("cannot serve the singleton: {e}");
        return 1;
    }
    sys::catch_job_signals();
    let mut job = job::Job::new(server, first);
    job.adopt(pid, first);
    let opts = cli::Options {
        apps: Vec::new(),
        genv: Vec::new(),
        genv_mode: cli::EnvMode::All,
        genv_list: Vec::new(),
        prepend_rank: false,
        timeout: None,
        universe_size: universe,
        nameserver: None,
        bind: placement::Bind::None,
        report_bindings: false,
        hosts: Vec::new(),
        ppn: None,
        launcher: String::new(),
    };
    job.allow_spawn(job::SpawnConfig {
        env: job::global_env(&opts),
        universe,
    });
    let status = job.run(None);
    job.finish();
    debug!("singleton server: exit status {status}");
    status
}
