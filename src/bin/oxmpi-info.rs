//! `oxmpi-info`: what this OxMPI is and what it finds on this node: its
//! version and ABI, the transports, whether single-copy transfers work,
//! the room in `/dev/shm`, and every setting with its value and where the
//! value came from. Problems are named with their fix.

use mpi::core::config::{self, Source};
use mpi::core::consts::{MPI_SUBVERSION, MPI_VERSION};
use mpi::transport::shm;

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
}

fn main() {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!(
            "Usage: oxmpi-info\nPrints OxMPI's version, what it finds on this node, and its settings."
        );
        return;
    }
    // Stop quietly when the reader goes away (`oxmpi-info | head`).
    // SAFETY: restoring the default action of a signal.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let mut problems = 0;
    println!("OxMPI {}", env!("CARGO_PKG_VERSION"));
    println!("  MPI standard:  {MPI_VERSION}.{MPI_SUBVERSION}");
    println!("  ABI:           MPICH (libmpi.so.12, libmpich.so.12)");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("  cores:         {cores}");

    println!("\nTransports");
    println!("  shm:           ranks on this node, through a shared segment in /dev/shm");
    match mpi::transport::ofi::probe() {
        Ok(p) => {
            println!("  ofi:           ranks on other hosts, through libfabric (provider {p})")
        }
        Err(e) => println!("  ofi:           unavailable: {e} (jobs stay on one host)"),
    }

    println!("\nSingle-copy transfers (large messages read from the sender's memory)");
    let yama = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .map(|s| s.trim().to_string());
    match shm::probe_single_copy() {
        Ok(()) if config::SHM_CMA.on() => println!("  usable"),
        Ok(()) => println!("  usable, but off: OXMPI_SHM_CMA=0"),
        Err(e) => {
            problems += 1;
            println!("  NOT usable: the kernel refuses process_vm_readv between processes ({e}).");
            if let Some(y) = yama.as_deref().filter(|y| *y != "0") {
                println!(
                    "  kernel.yama.ptrace_scope is {y}; 0 allows it (sysctl kernel.yama.ptrace_scope=0)."
                );
            }
            println!(
                "  In a container, allow it with `--cap-add=SYS_PTRACE` (or a seccomp profile that\n  \
                 permits process_vm_readv). Until then OxMPI streams large messages through\n  \
                 shared memory: correct, but each byte is copied twice."
            );
        }
    }

    println!("\nShared memory (/dev/shm)");
    let need = shm::segment_bytes(cores.max(2)) as u64;
    match shm::shm_space() {
        Some((size, free)) => {
            println!("  size {}, free {}", mib(size), mib(free));
            println!(
                "  a job of {} ranks on this node needs {}",
                cores.max(2),
                mib(need)
            );
            if free < need {
                problems += 1;
                println!(
                    "  TOO SMALL: jobs of that size stop at MPI_Init. Enlarge it\n  \
                     (`mount -o remount,size=1G /dev/shm`, or `docker run --shm-size=1g`),\n  \
                     or set OXMPI_SHM_RING_SIZE to a smaller ring size in bytes."
                );
            }
        }
        None => {
            problems += 1;
            println!(
                "  MISSING: /dev/shm is not mounted; mount a tmpfs there (`mount -t tmpfs tmpfs /dev/shm`)."
            );
        }
    }

    println!("\nSettings (name = value (source))");
    for s in config::ALL {
        let src = s.source();
        let note = if src == Source::InvalidEnvironment {
            format!(
                " [OXMPI ignores {:?}]",
                std::env::var(s.name).unwrap_or_default()
            )
        } else {
            String::new()
        };
        println!("  {} = {} ({}){note}", s.name, s.display(), src.describe());
        print!("{}", config::wrap(s.doc, 6, 78));
    }
    if problems > 0 {
        println!("\n{problems} problem(s) found; see above.");
        std::process::exit(1);
    }
}
