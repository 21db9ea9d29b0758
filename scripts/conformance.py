"""What OxMPI's conformance runners share (`mpich-testsuite/run`,
`scripts/mpi4py-tests`): reading expected-failure lists, sweeping the
shared-memory segments and processes a run left behind, JUnit XML and
Markdown summary tables, and jobs spread over namespace hosts. Tested by
`scripts/test_conformance.py`.
"""

import os
import signal
import subprocess
import xml.etree.ElementTree as ET


class ListError(ValueError):
    """A malformed line of an expected-failure list: `path:line: what`."""


def read_list(path):
    """The entries of a list file as (line number, text): blank lines and
    lines starting with '#' are skipped, surrounding blanks stripped."""
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if line and not line.startswith("#"):
                yield lineno, line


def oxmpi_segments(shm_dir="/dev/shm"):
    """Names of the shared-memory segments OxMPI jobs create."""
    try:
        return {n for n in os.listdir(shm_dir) if "oxmpi" in n.lower()}
    except OSError:
        return set()


def sweep_segments(keep=frozenset(), shm_dir="/dev/shm"):
    """Remove OxMPI segments not in `keep` (a crashed job's); the names
    removed."""
    removed = []
    for name in sorted(oxmpi_segments(shm_dir) - set(keep)):
        try:
            os.unlink(os.path.join(shm_dir, name))
            removed.append(name)
        except OSError:
            pass
    return removed


def kill_under(directory):
    """SIGKILL every process (but this one) whose working directory is
    `directory` or below it: test programs a run started and left behind.
    Returns how many were killed."""
    directory = os.path.realpath(directory)
    me, killed = os.getpid(), 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == directory or cwd.startswith(directory + "/"):
            try:
                os.kill(int(pid), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def markdown_table(headers, rows):
    """A Markdown table: one header row, then `rows` (sequences of cells)."""
    out = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


class Case:
    """One test case for JUnit: `status` is pass, fail, error, timeout,
    skip or xfail; `message` a one-line summary, `detail` the output."""

    def __init__(self, classname, name, status, time=0.0, message="", detail=""):
        self.classname, self.name, self.status = classname, name, status
        self.time, self.message, self.detail = time, message, detail


def write_junit(path, name, suites):
    """Write JUnit XML: `suites` is a list of (suite name, [Case]). Expected
    failures are reported as skipped with their reason, timeouts as errors."""
    root = ET.Element("testsuites", name=name)
    for suite_name, cases in suites:
        suite = ET.SubElement(root, "testsuite", name=suite_name)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for c in cases:
            tc = ET.SubElement(suite, "testcase", classname=c.classname, name=c.name, time=f"{c.time:.3f}")
            counts["tests"] += 1
            message = c.message[:300]
            if c.status == "fail":
                ET.SubElement(tc, "failure", message=message).text = c.detail
                counts["failures"] += 1
            elif c.status in ("error", "timeout"):
                ET.SubElement(tc, "error", type=c.status, message=message).text = c.detail
                counts["errors"] += 1
            elif c.status in ("skip", "xfail"):
                ET.SubElement(tc, "skipped", message=message).text = c.detail or None
                counts["skipped"] += 1
        for k, v in counts.items():
            suite.set(k, str(v))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


NETNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netns-hosts")


def hosts_up(n, mpiexec, work, hydra=False):
    """Make `n` namespace hosts (`scripts/netns-hosts`, needs root) and a
    wrapper in `work` that runs `mpiexec` on the first with its job spread
    over all of them; the wrapper's path. `hosts_down` removes them.
    `hydra`: `mpiexec` is Hydra's, told to start its proxies as rsh would
    (its ssh launcher holds back more than a few connections to a host,
    which spawning many jobs runs into)."""
    if os.geteuid() != 0:
        raise SystemExit("--hosts needs root (it makes network namespaces)")
    subprocess.run([NETNS, "up", str(n)], check=True)
    hosts = ",".join(f"10.213.0.{i}" for i in range(1, n + 1))
    wrapper = os.path.join(work, "mpiexec-hosts")
    with open(wrapper, "w") as f:
        f.write("#!/bin/bash\n"
                "# mpiexec on namespace host 1, its job spread over all of them.\n"
                'args=""; for a in "$@"; do args+=" $(printf %q "$a")"; done\n'
                f"exec {NETNS} run 1 \"{mpiexec} -hosts {hosts} "
                + ("-launcher rsh " if hydra else "") +
                f"-launcher-exec {NETNS}$args\"\n")
    os.chmod(wrapper, 0o755)
    return wrapper


def hosts_down():
    subprocess.run([NETNS, "down"])
