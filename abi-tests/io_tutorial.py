"""The two MPI-IO examples of mpi4py's tutorial, with Python arrays
instead of NumPy (`np.int` is a C long): a collective write of each
rank's ten values at its own offset, then a non-contiguous collective
write through a vector file view. Rank 0 checks both files byte for
byte. Prints "io_tutorial ok" on rank 0.

    io_tutorial.py DIR"""
import os
import struct
import sys
from array import array

from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
here = sys.argv[1]

# Collective I/O with arrays.
amode = MPI.MODE_WRONLY | MPI.MODE_CREATE
contig = os.path.join(here, "datafile.contig")
fh = MPI.File.Open(comm, contig, amode)
buffer = array("l", [rank] * 10)
offset = rank * len(buffer) * buffer.itemsize
fh.Write_at_all(offset, buffer)
fh.Close()

# Non-contiguous collective I/O with arrays and datatypes.
noncontig = os.path.join(here, "datafile.noncontig")
fh = MPI.File.Open(comm, noncontig, amode)
item_count = 10
buffer = array("i", [rank] * item_count)
filetype = MPI.INT.Create_vector(item_count, 1, size)
filetype.Commit()
displacement = MPI.INT.Get_size() * rank
fh.Set_view(displacement, filetype=filetype)
fh.Write_all(buffer)
filetype.Free()
fh.Close()

comm.Barrier()
if rank == 0:
    with open(contig, "rb") as f:
        got = f.read()
    want = b"".join(struct.pack("@10l", *([r] * 10)) for r in range(size))
    assert got == want, (len(got), len(want))
    with open(noncontig, "rb") as f:
        got = f.read()
    want = struct.pack(f"={item_count * size}i", *[i % size for i in range(item_count * size)])
    assert got == want, (len(got), len(want))
    os.remove(contig)
    os.remove(noncontig)
    print("io_tutorial ok")
