//! The mpiexec command line: a Hydra-compatible subset.
//!
//! `mpiexec [global opts] [local opts] prog args [: [local opts] prog args]...`
//! Global options may appear in any segment and apply to the whole job;
//! local options apply to the segment (the "app") they appear in.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use super::placement::Bind;
use super::sys;

pub const HELP: &str = "\
Usage: mpiexec [global options] [local options] program [args]
               [: [local options] program [args]]...

Runs an MPI job on this node. Colon-separated segments start different
programs (MPMD); each segment is one app (appnum 0, 1, ...) and ranks are
numbered consecutively across segments. `mpirun` is the same program.

Local options (apply to their segment):
  -n, -np N               number of processes (default 1)
  -env NAME VALUE         set NAME=VALUE for this segment's processes
  -envall                 forward the whole environment (the default)
  -envnone                forward no environment variables (PATH is kept)
  -envlist A,B,...        forward only the listed variables (and PATH)
  -wdir, -dir DIR         working directory (in the first segment it is
                          also the default for the other segments)

Global options:
  -genv NAME VALUE        set NAME=VALUE for all processes
  -genvall                forward the whole environment (the default)
  -genvnone               forward no environment variables (PATH is kept)
  -genvlist A,B,...       forward only the listed variables (and PATH)
  -l, -prepend-rank       prefix each line of output with \"[rank] \"
  -hosts, -host H1,H2     hosts to run on (H or H:N slots); ranks fill each
                          host's slots in turn, round and round the list
  -f, -machinefile FILE   file listing hosts, one \"host[:n]\" per line
  -ppn N                  processes per host (every host's slot count)
  -launcher-exec CMD      start a proxy on another host as `CMD HOST
                          COMMAND` (default: ssh, or srun inside a Slurm
                          allocation; also -bootstrap-exec)
  -bind-to none|core|hwthread
                          bind each rank to a core (every hardware thread
                          of it) or to one hardware thread; by default, in
                          a job of two or more ranks, each rank gets a core
                          of its own (OMP_NUM_THREADS cores if set) when
                          they fit, and none is bound otherwise
  -report-bindings        say where each rank is bound
  -timeout, --timeout S   kill the job after S seconds (also MPIEXEC_TIMEOUT)
  -nameserver HOST[:PORT] publish and look up names (MPI_Publish_name) at
                          this oxmpi-nameserver, shared with other mpiexec
                          runs (default: mpiexec's own table, for this run)
  -usize N                universe size: reported to the job as
                          MPI_UNIVERSE_SIZE, and the most processes
                          MPI_Comm_spawn may have alive at once (also
                          MPIEXEC_UNIVERSE_SIZE; default: not set, no limit)
  -h, --help              show this help
  --version               show the version

Exit status: the largest exit code of the ranks, 128+S for a rank killed by
signal S, the code given to MPI_Abort if a rank aborted, 124 when the
timeout expired, 128+S when mpiexec itself got signal S (SIGINT, SIGTERM,
SIGHUP; it is forwarded to the job), 127 when a program was not found, 126
when it could not be executed, 2 for usage errors and 1 for other errors.
";

/// Which of mpiexec's own environment variables the ranks inherit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvMode {
    /// Everything (minus variables the launcher sets itself).
    All,
    /// Nothing but PATH, so the program can still be found.
    None,
    /// PATH and the names given with -genvlist / -envlist.
    List,
}

/// One colon-separated segment of the command line.
#[derive(Debug)]
pub struct App {
    pub nprocs: u32,
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub env_mode: Option<EnvMode>,
    pub env_list: Vec<OsString>,
    pub wdir: Option<PathBuf>,
}

/// Everything the command line asks for.
#[derive(Debug)]
pub struct Options {
    pub apps: Vec<App>,
    pub genv: Vec<(OsString, OsString)>,
    pub genv_mode: EnvMode,
    pub genv_list: Vec<OsString>,
    pub prepend_rank: bool,
    pub timeout: Option<Duration>,
    pub universe_size: Option<u32>,
    /// `-nameserver HOST[:PORT]`: where names are published.
    pub nameserver: Option<String>,
    pub bind: Bind,
    pub report_bindings: bool,
    /// `-hosts`/`-f` entries (`host[:n]`); empty: this node only.
    pub hosts: Vec<String>,
    pub ppn: Option<u32>,
    /// How a proxy is started on another host (`-launcher-exec`).
    pub launcher: String,
}

impl Options {
    pub fn size(&self) -> u32 {
        self.apps.iter().map(|a| a.nprocs).sum()
    }
}

pub enum Command {
    Run(Options),
    Help,
    Version,
}

/// A message for the user (printed after "mpiexec: ") and the exit status.
#[derive(Debug)]
pub struct CliError {
    pub msg: String,
    pub code: i32,
}

fn usage(msg: impl Into<String>) -> CliError {
    CliError {
        msg: msg.into(),
        code: 2,
    }
}

fn failure(msg: impl Into<String>) -> CliError {
    CliError {
        msg: msg.into(),
        code: 1,
    }
}

/// Parse the arguments after argv[0].
pub fn parse(args: &[OsString]) -> Result<Command, CliError> {
    let mut opts = Options {
        apps: Vec::new(),
        genv: Vec::new(),
        genv_mode: EnvMode::All,
        genv_list: Vec::new(),
        prepend_rank: false,
        timeout: None,
        universe_size: None,
        nameserver: None,
        bind: Bind::Auto,
        report_bindings: false,
        hosts: Vec::new(),
        ppn: None,
        launcher: "ssh".into(),
    };
    let mut hosts: Vec<String> = Vec::new();
    let mut timeout: Option<u64> = None;
    let mut launcher_given = false;
    let mut n_given = Vec::new();
    let mut i = 0;
    loop {
        let mut nprocs = None;
        let mut env = Vec::new();
        let mut env_mode = None;
        let mut env_list = Vec::new();
        let mut wdir = None;
        let program = loop {
            let Some(arg) = args.get(i) else {
                return Err(usage("no program to run (see mpiexec --help)"));
            };
            i += 1;
            let Some(s) = arg.to_str() else {
                break arg.clone();
            };
            if s == ":" {
                return Err(usage("missing program before ':' (see mpiexec --help)"));
            }
            if s == "--" {
                match args.get(i) {
                    Some(p) => {
                        i += 1;
                        break p.clone();
                    }
                    None => return Err(usage("no program to run (see mpiexec --help)")),
                }
            }
            if !s.starts_with('-') || s == "-" {
                break arg.clone();
            }
            // Hydra accepts every option with one or two dashes.
            let name = s.strip_prefix('-').unwrap_or(s);
            let name = name.strip_prefix('-').unwrap_or(name);
            match name {
                "h" | "help" => return Ok(Command::Help),
                "version" => return Ok(Command::Version),
                "n" | "np" => nprocs = Some(number(s, value(args, &mut i, s)?, 1)?),
                "env" => env.push(pair(args, &mut i, s)?),
                "envall" => env_mode = Some(EnvMode::All),
                "envnone" => env_mode = Some(EnvMode::None),
                "envlist" => {
                    env_mode = Some(EnvMode::List);
                    env_list.extend(names(value(args, &mut i, s)?));
                }
                "genv" => opts.genv.push(pair(args, &mut i, s)?),
                "genvall" => opts.genv_mode = EnvMode::All,
                "genvnone" => opts.genv_mode = EnvMode::None,
                "genvlist" => {
                    opts.genv_mode = EnvMode::List;
                    opts.genv_list.extend(names(value(args, &mut i, s)?));
                }
                "wdir" | "dir" => wdir = Some(PathBuf::from(value(args, &mut i, s)?)),
                "l" | "prepend-rank" | "prepend_rank" => opts.prepend_rank = true,
                "hosts" | "host" => {
                    let list = text(s, value(args, &mut i, s)?)?;
                    hosts.extend(list.split(',').filter(|h| !h.is_empty()).map(String::from));
                }
                "f" | "machinefile" | "hostfile" => {
                    hosts.extend(read_host_file(value(args, &mut i, s)?)?);
                }
                "ppn" => opts.ppn = Some(number(s, value(args, &mut i, s)?, 1)?),
                "launcher-exec" | "bootstrap-exec" => {
                    opts.launcher = text(s, value(args, &mut i, s)?)?.to_string();
                    launcher_given = true;
                }
                "launcher" | "bootstrap" => {
                    opts.launcher = match text(s, value(args, &mut i, s)?)? {
                        "ssh" => "ssh".into(),
                        "rsh" => "rsh".into(),
                        "slurm" => super::slurm::LAUNCHER.into(),
                        v => {
                            return Err(usage(format!(
                                "launcher '{v}' is not supported (ssh, rsh, slurm, or -launcher-exec CMD)"
                            )));
                        }
                    };
                    launcher_given = true;
                }
                "timeout" => timeout = Some(number(s, value(args, &mut i, s)?, 0)?.into()),
                "usize" => opts.universe_size = Some(number(s, value(args, &mut i, s)?, 1)?),
                "bind-to" | "binding" => {
                    let v = text(s, value(args, &mut i, s)?)?;
                    opts.bind = Bind::parse(v).ok_or_else(|| {
                        usage(format!(
                            "invalid value '{v}' for '{s}' (none, core or hwthread)"
                        ))
                    })?;
                }
                "report-bindings" => opts.report_bindings = true,
                "nameserver" => {
                    opts.nameserver = Some(text(s, value(args, &mut i, s)?)?.to_string())
                }
                _ => return Err(usage(format!("unknown option '{s}' (see mpiexec --help)"))),
            }
        };
        let mut prog_args = Vec::new();
        while let Some(a) = args.get(i) {
            i += 1;
            if a == ":" {
                break;
            }
            prog_args.push(a.clone());
        }
        // A -wdir in the first segment doubles as Hydra's global -wdir.
        let wdir = wdir.or_else(|| opts.apps.first().and_then(|a: &App| a.wdir.clone()));
        n_given.push(nprocs.is_some());
        opts.apps.push(App {
            nprocs: nprocs.unwrap_or(1),
            program,
            args: prog_args,
            env,
            env_mode,
            env_list,
            wdir,
        });
        if i >= args.len() {
            if args.last().is_some_and(|a| a == ":") {
                return Err(usage("missing program after ':' (see mpiexec --help)"));
            }
            break;
        }
    }
    // Inside a Slurm allocation with no host list given: its nodes, its
    // task counts (all of them when no -n says otherwise), and srun to
    // reach the other nodes.
    if hosts.is_empty()
        && let Some(alloc) = super::slurm::allocation().map_err(failure)?
    {
        hosts = alloc;
        if !launcher_given {
            opts.launcher = super::slurm::LAUNCHER.into();
        }
        if let ([app], [false]) = (&mut opts.apps[..], &n_given[..]) {
            app.nprocs = hosts
                .iter()
                .filter_map(|h| super::hosts::parse_entry(h).ok()?.1)
                .sum::<u32>()
                .max(1);
        }
    }
    for host in &hosts {
        super::hosts::parse_entry(host).map_err(usage)?;
    }
    opts.hosts = hosts;
    if timeout.is_none()
        && let Some(v) = std::env::var_os("MPIEXEC_TIMEOUT")
    {
        timeout = Some(number("MPIEXEC_TIMEOUT", &v, 0)?.into());
    }
    opts.timeout = timeout.filter(|&t| t > 0).map(Duration::from_secs);
    Ok(Command::Run(opts))
}

fn value<'a>(args: &'a [OsString], i: &mut usize, opt: &str) -> Result<&'a OsStr, CliError> {
    let v = args
        .get(*i)
        .ok_or_else(|| usage(format!("option '{opt}' needs a value")))?;
    *i += 1;
    Ok(v)
}

fn pair(args: &[OsString], i: &mut usize, opt: &str) -> Result<(OsString, OsString), CliError> {
    let name = value(args, i, opt)?.to_os_string();
    let val = value(args, i, opt)
        .map_err(|_| usage(format!("option '{opt}' needs a name and a value")))?;
    if name.is_empty() || name.as_encoded_bytes().contains(&b'=') {
        return Err(usage(format!(
            "invalid variable name '{}' for '{opt}'",
            name.to_string_lossy()
        )));
    }
    Ok((name, val.to_os_string()))
}

fn text<'a>(opt: &str, v: &'a OsStr) -> Result<&'a str, CliError> {
    v.to_str()
        .ok_or_else(|| usage(format!("invalid value for '{opt}'")))
}

fn number(opt: &str, v: &OsStr, min: u32) -> Result<u32, CliError> {
    let s = text(opt, v)?;
    match s.trim().parse::<u32>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(usage(format!("invalid value '{s}' for '{opt}'"))),
    }
}

fn names(v: &OsStr) -> Vec<OsString> {
    v.to_string_lossy()
        .split(',')
        .filter(|n| !n.is_empty())
        .map(OsString::from)
        .collect()
}

/// Host names from a machine file: one `host[:n]` (or `host n`) per line,
/// `#` starts a comment.
fn read_host_file(path: &OsStr) -> Result<Vec<String>, CliError> {
    let shown = path.to_string_lossy();
    let content = std::fs::read_to_string(path).map_err(|e| {
        failure(format!(
            "cannot read host file '{shown}': {}",
            sys::describe(&e)
        ))
    })?;
    Ok(content
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, CliError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        match parse(&args)? {
            Command::Run(o) => Ok(o),
            _ => panic!("not a run"),
        }
    }

    #[test]
    fn mpmd_segments() {
        let o = run(&[
            "-l", "-n", "2", "-wdir", "/tmp", "a", "x", ":", "--np", "3", "b",
        ])
        .unwrap();
        assert!(o.prepend_rank);
        assert_eq!(o.apps.len(), 2);
        assert_eq!(o.apps[0].nprocs, 2);
        assert_eq!(o.apps[0].args, vec![OsString::from("x")]);
        assert_eq!(o.apps[1].nprocs, 3);
        assert_eq!(o.apps[1].wdir, Some(PathBuf::from("/tmp")));
        assert_eq!(o.size(), 5);
    }

    #[test]
    fn errors() {
        assert_eq!(run(&["-xyz", "a"]).unwrap_err().code, 2);
        assert_eq!(run(&[]).unwrap_err().code, 2);
        assert_eq!(run(&["-n", "2", "a", ":"]).unwrap_err().code, 2);
        assert_eq!(run(&["-hosts", "a:x", "a"]).unwrap_err().code, 2);
        assert!(run(&["-hosts", "localhost:4,127.0.0.1", "a"]).is_ok());
        let o = run(&["-hosts", "far.away.example", "-ppn", "2", "a"]).unwrap();
        assert_eq!((o.hosts.len(), o.ppn), (1, Some(2)));
    }
}
