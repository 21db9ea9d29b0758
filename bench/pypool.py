"""mpi4py.futures process pools: seconds from MPIPoolExecutor(4) to the
first result, checked, and the CPU seconds 8 idle workers use in 5 s with
mpi4py's own polling interval set long (MPI4PY_FUTURES_BACKOFF=1, set by
the caller), from /proc. Run as `mpiexec -n 1 python bench/pypool.py`;
prints py_pool_first_result_s,1,4,VALUE and py_pool_idle_cpu_s,1,8,VALUE.
"""
import os
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def square(x):
    return x * x


def pid(_):
    return os.getpid()


def cpu_seconds(pids):
    total = 0
    for p in pids:
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main():
    t0 = time.perf_counter()
    with MPIPoolExecutor(4) as ex:
        got = ex.submit(square, 7).result()
        first = time.perf_counter() - t0
    if got != 49:
        print(f"pypool: wrong result {got}", file=sys.stderr)
        sys.exit(3)
    print(f"py_pool_first_result_s,1,4,{first:.6g}")
    with MPIPoolExecutor(8) as ex:
        pids = set()
        while len(pids) < 8:
            pids |= set(ex.map(pid, range(64)))
        c0 = cpu_seconds(pids)
        time.sleep(5)
        c1 = cpu_seconds(pids)
    print(f"py_pool_idle_cpu_s,1,8,{c1 - c0:.6g}")


if __name__ == "__main__":
    main()
