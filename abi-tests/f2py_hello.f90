! The mpi4py manual's f2py example, checked: rank and size from Fortran
! (`use mpi`, a communicator handed over by mpi4py's py2f()) agree with
! mpi4py's, and MPI_COMM_NULL is recognized.
subroutine sayhello(comm, rank, size)
  use mpi
  implicit none
  integer, intent(in) :: comm
  integer, intent(out) :: rank, size
  integer :: ierr
  rank = -1
  size = -1
  if (comm == MPI_COMM_NULL) return
  call MPI_Comm_size(comm, size, ierr)
  call MPI_Comm_rank(comm, rank, ierr)
  print *, 'Hello, World! I am process ', rank, ' of ', size, '.'
end subroutine sayhello
