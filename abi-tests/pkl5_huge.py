"""A pickled object above 2 GiB through mpi4py's pkl5 (out-of-band
buffers, large-count messages): rank 0 sends a bytearray of N bytes with
marks at its start, middle and end; rank 1 checks every byte and
answers. Prints "pkl5_huge ok" on rank 0.

    pkl5_huge.py N"""
import sys

from mpi4py import MPI
from mpi4py.util import pkl5

comm = pkl5.Intracomm(MPI.COMM_WORLD)
n = int(sys.argv[1])
if comm.Get_rank() == 0:
    data = bytearray(n)
    data[0], data[n // 2], data[-1] = 1, 2, 3
    comm.send(data, dest=1, tag=7)
    del data
    answer = comm.recv(source=1, tag=8)
    assert answer == "ok", answer
    print("pkl5_huge ok", n)
elif comm.Get_rank() == 1:
    data = comm.recv(source=0, tag=7)
    marks = (data[0], data[n // 2], data[-1]) if len(data) == n else None
    ok = marks == (1, 2, 3) and data.count(0) == n - 3
    comm.send("ok" if ok else f"wrong: {len(data)} bytes, marks {marks}", dest=0, tag=8)
