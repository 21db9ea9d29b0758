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
mod job;
mod output;
mod pmi_server;
mod sys;

use std::ffi::OsString;
use std::io::Write;

pub(crate) fn debug_enabled() -> bool {
    crate::config::DEBUG.on()
}

/// Run mpiexec with `args` (argv without argv[0]); returns the exit status.
pub fn main(args: &[OsString]) -> i32 {
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

    let size = opts.size();
    let appnums: Vec<u32> = opts
        .apps
        .iter()
        .enumerate()
        .flat_map(|(n, app)| std::iter::repeat_n(n as u32, app.nprocs as usize))
        .collect();
    let server = pmi_server::Server::new();
    let kvsname = format!("kvs_{}_0", std::process::id());
    let first = server.add_group(kvsname, &appnums, opts.universe_size.unwrap_or(size));

    // Catch signals before the first fork so no rank can be orphaned.
    sys::catch_job_signals();
    let mut job = job::Job::new(server, first);
    job.launch(&opts);
    let status = job.run(opts.timeout);
    job.finish();
    debug!("exit status {status}");
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    status
}
