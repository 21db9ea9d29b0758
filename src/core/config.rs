//! The configuration registry: every `OXMPI_*` setting, declared once.
//!
//! Each [`Setting`] carries its name, type, default, who reads it, when it
//! may change and a one-line description. Everything that lists settings
//! is made from [`ALL`]: the README's list (checked by `tests/config.rs`),
//! `mpiexec --help`, `oxmpi-info`, and the MPI tool interface's control
//! variables (`core::tool`). A setting's value comes from the environment
//! the first time it is read, or from its default; settings that may change
//! while the program runs can also be written through `MPI_T_cvar_write`.
//!
//! This file uses only `std`: the launcher includes it by path.

use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};

/// The type of a setting's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// On or off: `1`/`0` (also `on`/`off`, `yes`/`no`, `true`/`false`).
    Bool,
    /// A size in bytes, with an optional `K`, `M` or `G` suffix (powers of
    /// 1024); `0` may mean "chosen automatically" where the description says so.
    Bytes,
    /// One of a fixed list of names; the value is its index.
    Choice(&'static [&'static str]),
    /// A whole number of seconds.
    Seconds,
    /// Free text (read by the compiler wrappers, not by the library).
    Text,
}

/// Which program reads a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// The library, in every MPI process.
    Library,
    /// The library and `mpiexec`.
    LibraryAndLauncher,
    /// The compiler wrappers (`mpicc`, `mpicxx`, `mpifort`).
    Wrappers,
}

/// When a setting may change, and where it must be equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read by each process whenever it is used; may change at any time,
    /// also through `MPI_T_cvar_write` (MPI_T scope `LOCAL`).
    Anytime,
    /// Read once when a process joins its job; must be equal on every rank
    /// of a node (MPI_T reports it read-only).
    StartupSameOnNode,
    /// Read once; each communicator's members agree on it when it is made
    /// (`core::algorithms`), so processes that differ still agree, the
    /// most conservative value winning (MPI_T reports it read-only).
    StartupAgreed,
    /// Read when a compiler wrapper runs.
    Wrapper,
}

/// How much a user needs to know to use a setting (the MPI_T verbosity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    User,
    Tuner,
}

/// Where a setting's current value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    Environment,
    /// The environment held a value that does not parse; the default holds.
    InvalidEnvironment,
    /// Written through `MPI_T_cvar_write`.
    ToolInterface,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::Environment => "environment",
            Source::InvalidEnvironment => "default (the environment's value is invalid)",
            Source::ToolInterface => "MPI_T_cvar_write",
        }
    }
}

/// Groups of settings (and of the tool interface's variables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Debugging,
    Transport,
    Matching,
    Collectives,
    Compilers,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Debugging,
        Category::Transport,
        Category::Matching,
        Category::Collectives,
        Category::Compilers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Debugging => "debugging",
            Category::Transport => "transport",
            Category::Matching => "matching",
            Category::Collectives => "collectives",
            Category::Compilers => "compilers",
        }
    }

    pub fn doc(self) -> &'static str {
        match self {
            Category::Debugging => "Error reports and diagnostics",
            Category::Transport => "Moving messages between processes on a node",
            Category::Matching => "Matching messages to receives, and waiting for them",
            Category::Collectives => "Algorithms of collective operations",
            Category::Compilers => "The compiler wrappers",
        }
    }
}

const UNREAD: u8 = 0;

/// One setting. Declared as a `static` below and listed in [`ALL`].
pub struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    /// The default value (an index for [`Kind::Choice`]; unused for text).
    pub default: i64,
    /// The default as the documentation shows it.
    pub default_text: &'static str,
    pub reader: Reader,
    pub scope: Scope,
    pub audience: Audience,
    pub category: Category,
    /// One line: what the setting does.
    pub doc: &'static str,
    /// Other programs' names for the same setting, read when this one is
    /// not set (MPICH's, so environments written for MPICH still apply).
    pub aliases: &'static [&'static str],
    /// 0 until first read, then `Source as u8 + 1`.
    state: AtomicU8,
    value: AtomicI64,
}

/// Why a write was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    /// The setting is read once at start-up.
    NotNow,
    /// The value is out of the setting's range.
    OutOfRange,
}

impl Setting {
    #[allow(clippy::too_many_arguments)]
    const fn new(
        name: &'static str,
        kind: Kind,
        default: i64,
        default_text: &'static str,
        reader: Reader,
        scope: Scope,
        audience: Audience,
        category: Category,
        doc: &'static str,
    ) -> Setting {
        Setting {
            name,
            kind,
            default,
            default_text,
            reader,
            scope,
            audience,
            category,
            doc,
            aliases: &[],
            state: AtomicU8::new(UNREAD),
            value: AtomicI64::new(0),
        }
    }

    /// The same setting, also read from the environment as `aliases`.
    const fn also(self, aliases: &'static [&'static str]) -> Setting {
        Setting { aliases, ..self }
    }

    /// Whether the library reads this setting (it is then a control
    /// variable of the tool interface).
    pub fn in_library(&self) -> bool {
        matches!(self.reader, Reader::Library | Reader::LibraryAndLauncher)
    }

    /// The current value (see [`Kind`] for its meaning).
    pub fn get(&self) -> i64 {
        if self.state.load(Ordering::Acquire) == UNREAD {
            self.load_environment();
        }
        self.value.load(Ordering::Relaxed)
    }

    pub fn on(&self) -> bool {
        self.get() != 0
    }

    pub fn bytes(&self) -> usize {
        usize::try_from(self.get()).unwrap_or(0)
    }

    /// The chosen name of a [`Kind::Choice`] setting.
    pub fn choice(&self) -> &'static str {
        match self.kind {
            Kind::Choice(names) => names[usize::try_from(self.get()).unwrap_or(0)],
            _ => "",
        }
    }

    pub fn source(&self) -> Source {
        self.get();
        match self.state.load(Ordering::Acquire) {
            2 => Source::Environment,
            3 => Source::InvalidEnvironment,
            4 => Source::ToolInterface,
            _ => Source::Default,
        }
    }

    /// The current value as text (the environment's value for text settings).
    pub fn display(&self) -> String {
        match self.kind {
            Kind::Bool => u8::from(self.on()).to_string(),
            Kind::Bytes | Kind::Seconds => self.get().to_string(),
            Kind::Choice(_) => self.choice().to_string(),
            Kind::Text => std::env::var(self.name).unwrap_or_else(|_| self.default_text.into()),
        }
    }

    /// Change the value while the program runs (`MPI_T_cvar_write`). A
    /// boolean keeps the integer written (any non-zero value is on), so a
    /// tool reads back what it wrote.
    pub fn set(&self, v: i64) -> Result<(), SetError> {
        if self.scope != Scope::Anytime || !self.in_library() {
            return Err(SetError::NotNow);
        }
        let ok = match self.kind {
            Kind::Bool => true,
            Kind::Bytes | Kind::Seconds => v >= 0,
            Kind::Choice(names) => usize::try_from(v).is_ok_and(|i| i < names.len()),
            Kind::Text => false,
        };
        if !ok {
            return Err(SetError::OutOfRange);
        }
        self.get();
        self.value.store(v, Ordering::Relaxed);
        self.state
            .store(Source::ToolInterface as u8 + 1, Ordering::Release);
        Ok(())
    }

    /// First read: the environment's value if it parses, else the default
    /// (with a warning on stderr, once). Racing first readers compute the
    /// same value.
    fn load_environment(&self) {
        let set = std::iter::once(self.name)
            .chain(self.aliases.iter().copied())
            .find_map(|n| std::env::var(n).ok());
        let (value, source) = match set.ok_or(()) {
            Err(_) => (self.default, Source::Default),
            Ok(text) => match parse(self.kind, &text) {
                Some(v) => (v, Source::Environment),
                None => {
                    if self.kind != Kind::Text {
                        eprintln!(
                            "OxMPI: {}={text:?} is not {}; using the default, {}",
                            self.name,
                            expected(self.kind),
                            self.default_text
                        );
                    }
                    (self.default, Source::InvalidEnvironment)
                }
            },
        };
        self.value.store(value, Ordering::Relaxed);
        let _ = self.state.compare_exchange(
            UNREAD,
            source as u8 + 1,
            Ordering::Release,
            Ordering::Relaxed,
        );
    }
}

fn expected(kind: Kind) -> String {
    match kind {
        Kind::Bool => "0 or 1".into(),
        Kind::Bytes => "a size in bytes (a K, M or G suffix allowed)".into(),
        Kind::Seconds => "a number of seconds".into(),
        Kind::Choice(names) => format!("one of {}", names.join(", ")),
        Kind::Text => "text".into(),
    }
}

/// Parse a setting's text as the environment gives it.
pub fn parse(kind: Kind, text: &str) -> Option<i64> {
    let t = text.trim();
    match kind {
        Kind::Bool => match t.to_ascii_lowercase().as_str() {
            "1" | "on" | "yes" | "true" | "" => Some(1),
            "0" | "off" | "no" | "false" => Some(0),
            _ => None,
        },
        Kind::Bytes => {
            let (digits, shift) = match t.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
                s if s.ends_with('K') => (s[..s.len() - 1].to_string(), 10),
                s if s.ends_with('M') => (s[..s.len() - 1].to_string(), 20),
                s if s.ends_with('G') => (s[..s.len() - 1].to_string(), 30),
                s => (s.to_string(), 0),
            };
            let n: i64 = digits.trim().parse().ok()?;
            (n >= 0).then(|| n.checked_mul(1 << shift)).flatten()
        }
        Kind::Seconds => t.parse().ok().filter(|&n: &i64| n >= 0),
        Kind::Choice(names) => names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(t))
            .map(|i| i as i64),
        Kind::Text => Some(0),
    }
}

use Audience::*;
use Category::*;
use Kind::*;
use Reader::*;
use Scope::*;

pub static DEBUG: Setting = Setting::new(
    "OXMPI_DEBUG",
    Bool,
    0,
    "0",
    LibraryAndLauncher,
    Anytime,
    User,
    Debugging,
    "Report every MPI error raised (also those returned quietly) and transport fallbacks on \
     stderr; in mpiexec, log the PMI traffic and launch decisions.",
);

pub static EAGER_MAX: Setting = Setting::new(
    "OXMPI_EAGER_MAX",
    Bytes,
    32 << 10,
    "32768",
    Library,
    Anytime,
    Tuner,
    Transport,
    "Largest message copied through the shared-memory rings (at most half a ring); larger \
     ones go by rendezvous.",
);

pub static SHM_CMA: Setting = Setting::new(
    "OXMPI_SHM_CMA",
    Bool,
    1,
    "1",
    Library,
    Anytime,
    Tuner,
    Transport,
    "Read large messages straight from the sender's memory (single copy); 0 streams them \
     through shared memory instead.",
);

pub static SHM_RING_SIZE: Setting = Setting::new(
    "OXMPI_SHM_RING_SIZE",
    Bytes,
    0,
    "0 (auto)",
    Library,
    StartupSameOnNode,
    Tuner,
    Transport,
    "Size of each shared-memory ring between two ranks of a node; 0 chooses 256 KiB, less \
     with many ranks per node.",
);

pub static NETMOD: Setting = Setting::new(
    "OXMPI_NETMOD",
    Choice(&["auto", "all", "off"]),
    0,
    "auto",
    Library,
    StartupSameOnNode,
    Tuner,
    Transport,
    "Which peers the network transport (libfabric) carries: auto (ranks on other nodes), all \
     (every other rank, also on this node: for testing it) or off. Must be the same on every \
     rank of the job.",
);

pub static SHM_COLL: Setting = Setting::new(
    "OXMPI_SHM_COLL",
    Bool,
    1,
    "1",
    Library,
    StartupAgreed,
    Tuner,
    Collectives,
    "Run small blocking collectives through the node's shared segment; 0 sends them as \
     messages.",
);

pub static COLL_HOSTS: Setting = Setting::new(
    "OXMPI_COLL_HOSTS",
    Bool,
    1,
    "1",
    Library,
    StartupAgreed,
    Tuner,
    Collectives,
    "Run barriers, broadcasts and exact reductions (integers; minimum and maximum) on \
     communicators that span hosts node-local first, then between one rank per host; 0 runs \
     them over all members alike.",
);

pub static BCAST: Setting = Setting::new(
    "OXMPI_BCAST",
    Choice(&["auto", "split", "binomial"]),
    0,
    "auto",
    Library,
    StartupAgreed,
    Tuner,
    Collectives,
    "Broadcast algorithm by messages: split (scatter, then ring allgather), binomial (tree), \
     or auto (split from 512 KiB on 8 or more ranks when the node has a core per rank).",
);

pub static COLL_CHECK: Setting = Setting::new(
    "OXMPI_COLL_CHECK",
    Bool,
    0,
    "0",
    Library,
    StartupAgreed,
    User,
    Collectives,
    "Check before each blocking collective that every process moves the same number of bytes, \
     so a count mismatch is reported on every process, not only where it is detected (costs \
     one small exchange per collective).",
);

pub static PMI_VERSION: Setting = Setting::new(
    "OXMPI_PMI_VERSION",
    Choice(&["auto", "1", "2"]),
    0,
    "auto",
    Library,
    StartupSameOnNode,
    User,
    Transport,
    "Which PMI wire protocol a process speaks to its launcher: auto (PMI-2 where the launcher \
     sets PMI_JOBID, as Slurm's srun --mpi=pmi2 does; PMI-1 otherwise, as for our mpiexec and \
     Hydra), 1 or 2. A launcher that refuses the version asked for first is offered the other.",
);

pub static CONNECT_TIMEOUT: Setting = Setting::new(
    "OXMPI_CONNECT_TIMEOUT",
    Seconds,
    60,
    "60",
    Library,
    Anytime,
    User,
    Transport,
    "How long MPI_Comm_connect waits for the other side to accept before it fails with \
     MPI_ERR_PORT (MPICH's MPIR_CVAR_CH4_COMM_CONNECT_TIMEOUT is honoured too).",
)
.also(&[
    "MPIR_CVAR_CH4_COMM_CONNECT_TIMEOUT",
    "MPIR_CVAR_CH3_COMM_CONNECT_TIMEOUT",
]);

pub static CC: Setting = Setting::new(
    "OXMPI_CC",
    Text,
    0,
    "the C compiler found at install time",
    Wrappers,
    Wrapper,
    User,
    Compilers,
    "C compiler that mpicc runs (MPICH's MPICH_CC is honoured too).",
);

pub static CXX: Setting = Setting::new(
    "OXMPI_CXX",
    Text,
    0,
    "the C++ compiler found at install time",
    Wrappers,
    Wrapper,
    User,
    Compilers,
    "C++ compiler that mpicxx runs (MPICH_CXX is honoured too).",
);

pub static FC: Setting = Setting::new(
    "OXMPI_FC",
    Text,
    0,
    "the Fortran compiler found at install time",
    Wrappers,
    Wrapper,
    User,
    Compilers,
    "Fortran compiler that mpifort runs (MPICH_FC, MPICH_F90 and MPICH_F77 are honoured too).",
);

/// Every setting, in the order every list shows them.
pub static ALL: [&Setting; 14] = [
    &DEBUG,
    &EAGER_MAX,
    &SHM_CMA,
    &SHM_RING_SIZE,
    &NETMOD,
    &SHM_COLL,
    &COLL_HOSTS,
    &BCAST,
    &COLL_CHECK,
    &CONNECT_TIMEOUT,
    &PMI_VERSION,
    &CC,
    &CXX,
    &FC,
];

/// Where a setting may be set, in words.
pub fn scope_text(s: &Setting) -> &'static str {
    match s.scope {
        Anytime => "any time, per process",
        StartupSameOnNode => "at start-up, the same on every rank of a node",
        StartupAgreed => "at start-up; agreed per communicator",
        Wrapper => "when compiling",
    }
}

/// The settings as a Markdown list (the README's, checked by a test).
pub fn markdown() -> String {
    let mut out = String::new();
    for s in ALL {
        out += &format!(
            "- `{}` ({}; default {}; {}): {}\n",
            s.name,
            match s.kind {
                Bool => "0 or 1".to_string(),
                Bytes => "bytes".to_string(),
                Seconds => "seconds".to_string(),
                Choice(names) => names.join(" | "),
                Text => "command".to_string(),
            },
            s.default_text,
            scope_text(s),
            s.doc
        );
    }
    out
}

/// The settings as plain text, wrapped for a terminal (`mpiexec --help`).
pub fn plain_text() -> String {
    let mut out = String::new();
    for s in ALL {
        out += &format!(
            "  {} (default {}; {})\n",
            s.name,
            s.default_text,
            scope_text(s)
        );
        out += &wrap(s.doc, 6, 78);
    }
    out
}

/// Wrap `text` at `width` columns with `indent` spaces before each line.
pub fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > width {
            out += &format!("{}{}\n", " ".repeat(indent), line);
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line += word;
    }
    if !line.is_empty() {
        out += &format!("{}{}\n", " ".repeat(indent), line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse(Bytes, "4096"), Some(4096));
        assert_eq!(parse(Bytes, "64K"), Some(64 << 10));
        assert_eq!(parse(Bytes, "2MiB"), Some(2 << 20));
        assert_eq!(parse(Bytes, "1g"), Some(1 << 30));
        assert_eq!(parse(Bytes, "-1"), None);
        assert_eq!(parse(Bytes, "lots"), None);
    }

    #[test]
    fn booleans_and_choices_parse() {
        assert_eq!(parse(Bool, "off"), Some(0));
        assert_eq!(parse(Bool, "1"), Some(1));
        assert_eq!(parse(Bool, "maybe"), None);
        assert_eq!(parse(BCAST.kind, "Binomial"), Some(2));
        assert_eq!(parse(BCAST.kind, "ring"), None);
    }

    #[test]
    fn names_are_unique_and_documented() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(a.name.starts_with("OXMPI_"));
            assert!(a.doc.ends_with('.'), "{}: one sentence", a.name);
            assert!(ALL[i + 1..].iter().all(|b| b.name != a.name));
        }
    }

    #[test]
    fn startup_settings_refuse_writes() {
        assert_eq!(SHM_RING_SIZE.set(1 << 20), Err(SetError::NotNow));
        assert_eq!(CC.set(1), Err(SetError::NotNow));
    }
}
