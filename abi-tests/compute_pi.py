"""The dynamic-process example of mpi4py's manual, in our own words: a
parent spawns 5 workers from COMM_SELF, broadcasts the number of
intervals, and the workers' midpoint-rule sums of 4/(1+x^2) reduce to
MPI.ROOT. Run from mpiexec or as a plain python process; prints
"compute_pi ok" when pi is right."""

import math
import sys

from mpi4py import MPI

WORKERS = 5


def parent():
    comm = MPI.COMM_SELF.Spawn(
        sys.executable, args=[__file__, "worker"], maxprocs=WORKERS
    )
    n = 100_000
    comm.bcast(n, root=MPI.ROOT)
    pi = comm.reduce(None, op=MPI.SUM, root=MPI.ROOT)
    comm.Disconnect()
    assert abs(pi - math.pi) < 1e-8, pi
    print("compute_pi ok", pi)


def worker():
    comm = MPI.Comm.Get_parent()
    size, rank = comm.Get_size(), comm.Get_rank()
    n = comm.bcast(None, root=0)
    h = 1.0 / n
    s = sum(4.0 / (1.0 + (h * (i + 0.5)) ** 2) for i in range(rank, n, size))
    comm.reduce(s * h, op=MPI.SUM, root=0)
    comm.Disconnect()


if __name__ == "__main__":
    worker() if sys.argv[1:] == ["worker"] else parent()
