//! Noticing that another process has ended. Processes of our own job are
//! the launcher's business (it ends the job when one fails); processes of
//! other jobs, reached through links, are not, so a link watches its far
//! members itself: a pidfd per process, which the kernel makes readable
//! when the process exits. Kernels without pidfds (before 5.3) fall back
//! to asking whether the pid still exists.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One watched process.
pub struct Watch {
    pid: libc::pid_t,
    fd: Option<OwnedFd>,
    /// Found gone already (reported once).
    gone: bool,
}

impl Watch {
    /// Watch process `pid`; one that no longer exists is gone at once.
    pub fn new(pid: libc::pid_t) -> Watch {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let (fd, gone) = if fd >= 0 {
            // SAFETY: the kernel just gave us this descriptor; we own it.
            (Some(unsafe { OwnedFd::from_raw_fd(fd as i32) }), false)
        } else {
            let e = std::io::Error::last_os_error().raw_os_error();
            (None, e == Some(libc::ESRCH))
        };
        Watch { pid, fd, gone }
    }

    /// Whether the process has ended; true once, on the first call that
    /// finds it so (later calls: false).
    pub fn newly_gone(&mut self) -> bool {
        if self.gone {
            return false;
        }
        self.gone = match &self.fd {
            Some(fd) => {
                let mut p = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, no wait.
                unsafe { libc::poll(&mut p, 1, 0) == 1 }
            }
            // SAFETY: signal 0 only checks that the process exists.
            None => unsafe {
                libc::kill(self.pid, 0) != 0
                    && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
            },
        };
        self.gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_gone_once_it_exits() {
        let mut child = std::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        let mut w = Watch::new(child.id() as libc::pid_t);
        assert!(!w.newly_gone());
        child.wait().unwrap();
        assert!(w.newly_gone());
        assert!(!w.newly_gone(), "reported once");
    }

    #[test]
    fn a_live_process_is_not_gone() {
        let mut w = Watch::new(std::process::id() as libc::pid_t);
        assert!(!w.newly_gone());
    }
}
