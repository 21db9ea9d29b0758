"""The two one-sided examples of mpi4py's tutorial, with Python arrays
instead of NumPy: rank 0 exposes N ints; under a lock on rank 0 every
other rank reads the whole window, then a part of it through an
(offset, count, datatype) target. Prints "rma_tutorial ok" on rank 0."""
from array import array

from mpi4py import MPI

N = 10
comm = MPI.COMM_WORLD
rank = comm.Get_rank()
itemsize = MPI.INT.Get_size()
win = MPI.Win.Allocate(N * itemsize if rank == 0 else 0, itemsize, comm=comm)

# Whole window under a lock.
buf = array("i", [0] * N)
if rank == 0:
    buf = array("i", [42] * N)
    win.Lock(rank=0)
    win.Put(buf, target_rank=0)
    win.Unlock(rank=0)
    comm.Barrier()
else:
    comm.Barrier()
    win.Lock(rank=0)
    win.Get(buf, target_rank=0)
    win.Unlock(rank=0)
    assert list(buf) == [42] * N, list(buf)
comm.Barrier()

# Part of it: rank 0 writes 0..N-1, the others read N//2 from offset 2.
if rank == 0:
    win.Lock(rank=0)
    win.Put(array("i", range(N)), target_rank=0)
    win.Unlock(rank=0)
comm.Barrier()
if rank != 0:
    part = array("i", [-1] * (N // 2))
    win.Lock(rank=0, lock_type=MPI.LOCK_SHARED)
    win.Get(part, target_rank=0, target=(2, N // 2, MPI.INT))
    win.Unlock(rank=0)
    assert list(part) == list(range(2, 2 + N // 2)), list(part)
win.Free()
ok = comm.allreduce(1)
if rank == 0 and ok == comm.Get_size():
    print("rma_tutorial ok")
