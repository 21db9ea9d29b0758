"""Object allreduce through mpi4py: microseconds per comm.allreduce of a small
Python object, validated every iteration.  Run as
`mpiexec -n N python -m mpi4py bench/pyallreduce.py [SECONDS]`; rank 0 prints
py_allreduce_obj_us,N,0,VALUE (the slowest rank's time).
"""
import sys
import time

from mpi4py import MPI


def run(comm, iters):
    """Each rank contributes a list; MPI.SUM on Python objects concatenates."""
    rank, size = comm.Get_rank(), comm.Get_size()
    comm.Barrier()
    t0 = time.perf_counter()
    for i in range(iters):
        got = comm.allreduce([rank + i, f"rank{rank}"], op=MPI.SUM)
        want = sorted(r + i for r in range(size))
        if sorted(got[0::2]) != want or sorted(got[1::2]) != sorted(f"rank{r}" for r in range(size)):
            print(f"pyallreduce: wrong result {got} at iteration {i}", file=sys.stderr)
            comm.Abort(3)
    return time.perf_counter() - t0


def main():
    comm = MPI.COMM_WORLD
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 0.02
    iters = 1
    while True:
        slowest = comm.allreduce(run(comm, iters), op=MPI.MAX)
        done = comm.bcast(slowest >= budget / 2 or iters >= 1 << 20, root=0)
        if done:
            break
        iters *= 2
    if comm.Get_rank() == 0:
        print(f"py_allreduce_obj_us,{comm.Get_size()},0,{slowest / iters * 1e6:.6g}", flush=True)


main()
