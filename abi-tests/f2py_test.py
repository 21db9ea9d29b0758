"""Calls the f2py-built Fortran routine with mpi4py's communicators."""
from mpi4py import MPI

import f2py_hello

comm = MPI.COMM_WORLD
rank, size = f2py_hello.sayhello(comm.py2f())
assert (rank, size) == (comm.Get_rank(), comm.Get_size()), (rank, size)
assert f2py_hello.sayhello(MPI.COMM_NULL.py2f()) == (-1, -1)
dup = comm.Dup()
assert f2py_hello.sayhello(dup.py2f()) == (rank, size)
dup.Free()
print("No Errors", flush=True)
