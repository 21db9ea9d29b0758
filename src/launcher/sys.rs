//! The few raw system calls the launcher needs beyond `std`: signal
//! handling, process-group kills, and non-reaping waits.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// The last job-ending signal mpiexec received and has not yet acted on.
static PENDING_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only an atomic store: the handler must stay async-signal-safe; the
    // monitor loop picks the signal up within one tick.
    PENDING_SIGNAL.store(sig, Ordering::SeqCst);
}

/// Catch SIGINT, SIGTERM and SIGHUP so they can be forwarded to the job
/// instead of killing mpiexec and orphaning the ranks.
pub fn catch_job_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is a valid starting value; the handler
        // only touches an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The signal received since the last call, if any.
pub fn take_signal() -> Option<i32> {
    match PENDING_SIGNAL.swap(0, Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// Send `sig` to every process in group `pgid`. Refuses non-positive ids,
/// which would hit mpiexec's own group or every process we may signal.
pub fn kill_group(pgid: libc::pid_t, sig: i32) {
    if pgid > 0 {
        // SAFETY: plain syscall; errors (ESRCH once the group is gone) are expected.
        unsafe { libc::killpg(pgid, sig) };
    }
}

/// Send `sig` to one process (a rank that may have left the job's group).
pub fn kill_pid(pid: libc::pid_t, sig: i32) {
    if pid > 0 {
        // SAFETY: plain syscall on a child we have not reaped yet, so the pid
        // cannot have been reused.
        unsafe { libc::kill(pid, sig) };
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// Has child `pid` terminated? Leaves it a zombie (WNOWAIT) so its pid, and
/// with rank 0 the job's process-group id, stay reserved until `reap`.
pub fn peek_exit(pid: libc::pid_t) -> Option<Exit> {
    loop {
        // SAFETY: siginfo_t is plain data; waitid fills it in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        // SAFETY: valid pointer to a local siginfo_t.
        let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // Cannot happen for our own unreaped child; report it as gone
            // rather than waiting forever.
            debug!("waitid({pid}) failed: {err}");
            return Some(Exit::Code(255));
        }
        // SAFETY: waitid succeeded, so the SIGCHLD fields are initialised
        // (si_pid stays 0 when nothing changed).
        let (spid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if spid == 0 {
            return None;
        }
        return Some(if info.si_code == libc::CLD_EXITED {
            Exit::Code(status)
        } else {
            Exit::Signal(status)
        });
    }
}

/// Collect a terminated child's zombie.
pub fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: plain syscall on our own child; retried only on EINTR.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

/// This machine's host name, if it has one.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its full length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..len].to_vec()).ok()
}

/// True when stdin is a terminal that belongs to another (foreground)
/// process group: reading it would stop mpiexec with SIGTTIN.
pub fn stdin_is_background_tty() -> bool {
    // SAFETY: plain queries on fd 0.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) != libc::getpgrp() }
}

/// The conventional name of a signal, for messages.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => "unknown signal",
    }
}

/// An error's text without std's " (os error N)" suffix, matching the
/// usual `prog: No such file or directory` style.
pub fn describe(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(pos) => text[..pos].to_string(),
        None => text,
    }
}
