! Free-form Fortran with `use mpi`: a Cartesian topology (LOGICAL arrays),
! a strided datatype, nonblocking exchanges, MPI_BOTTOM with absolute
! addresses, a user reduction, error classes through MPI_ERRORS_RETURN.
! Rank 0 prints "No Errors" when every rank passed.
program f90test
  use mpi
  implicit none
  integer :: ierr, rank, nprocs, cart, dims(1), coords(1), left, right
  integer :: vtype, i, errs, total, reqs(2), statuses(MPI_STATUS_SIZE, 2)
  integer :: sumop, eclass, count
  logical :: periods(1)
  real(8) :: a(20), b(10)
  integer :: x(3), y(3)
  integer(kind=MPI_ADDRESS_KIND) :: addr
  external :: mysum

  errs = 0
  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs, ierr)

  ! A periodic ring as a Cartesian communicator.
  dims(1) = nprocs
  periods(1) = .true.
  call MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, .false., cart, ierr)
  call MPI_Cart_coords(cart, rank, 1, coords, ierr)
  if (coords(1) /= rank) errs = errs + 1
  call MPI_Cart_shift(cart, 0, 1, left, right, ierr)
  if (right /= mod(rank + 1, nprocs) .or. left /= mod(rank + nprocs - 1, nprocs)) errs = errs + 1

  ! Every other element of a, into b contiguous: a vector type.
  do i = 1, 20
     a(i) = rank * 1000 + i
  end do
  b = -1
  call MPI_Type_vector(10, 1, 2, MPI_DOUBLE_PRECISION, vtype, ierr)
  call MPI_Type_commit(vtype, ierr)
  call MPI_Irecv(b, 10, MPI_DOUBLE_PRECISION, left, 1, cart, reqs(1), ierr)
  call MPI_Isend(a, 1, vtype, right, 1, cart, reqs(2), ierr)
  call MPI_Waitall(2, reqs, statuses, ierr)
  call MPI_Get_count(statuses(:, 1), MPI_DOUBLE_PRECISION, count, ierr)
  if (count /= 10 .or. statuses(MPI_SOURCE, 1) /= left) errs = errs + 1
  do i = 1, 10
     if (b(i) /= left * 1000 + 2 * i - 1) errs = errs + 1
  end do
  call MPI_Type_free(vtype, ierr)

  ! MPI_BOTTOM with an absolute address.
  x = (/ rank, rank + 1, rank + 2 /)
  y = -1
  call MPI_Get_address(x, addr, ierr)
  call MPI_Type_create_hindexed(1, (/ 3 /), (/ addr /), MPI_INTEGER, vtype, ierr)
  call MPI_Type_commit(vtype, ierr)
  call MPI_Sendrecv(MPI_BOTTOM, 1, vtype, right, 2, y, 3, MPI_INTEGER, left, 2, &
       cart, MPI_STATUS_IGNORE, ierr)
  if (any(y /= (/ left, left + 1, left + 2 /))) errs = errs + 1
  call MPI_Type_free(vtype, ierr)

  ! A user reduction written in Fortran.
  call MPI_Op_create(mysum, .true., sumop, ierr)
  x = (/ 1, rank, 2 /)
  call MPI_Allreduce(x, y, 3, MPI_INTEGER, sumop, MPI_COMM_WORLD, ierr)
  if (y(1) /= nprocs .or. y(2) /= nprocs * (nprocs - 1) / 2 .or. y(3) /= 2 * nprocs) then
     print *, 'user op', y
     errs = errs + 1
  end if
  call MPI_Op_free(sumop, ierr)

  ! Bad input: an error class, not a crash.
  call MPI_Comm_set_errhandler(cart, MPI_ERRORS_RETURN, ierr)
  call MPI_Send(x, 1, 77777, right, 0, cart, ierr)
  call MPI_Error_class(ierr, eclass, i)
  if (eclass /= MPI_ERR_TYPE) then
     print *, 'bad datatype gave class', eclass
     errs = errs + 1
  end if
  call MPI_Recv(y, 1, MPI_INTEGER, nprocs + 5, 0, cart, MPI_STATUS_IGNORE, ierr)
  call MPI_Error_class(ierr, eclass, i)
  if (eclass /= MPI_ERR_RANK) errs = errs + 1
  call MPI_Comm_free(cart, ierr)

  call MPI_Allreduce(errs, total, 1, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD, ierr)
  if (rank == 0 .and. total == 0) print *, 'No Errors'
  if (rank == 0 .and. total /= 0) print *, total, ' errors'
  call MPI_Finalize(ierr)
end program f90test

subroutine mysum(invec, inoutvec, len, datatype)
  implicit none
  integer :: len, datatype, i
  integer :: invec(len), inoutvec(len)
  do i = 1, len
     inoutvec(i) = inoutvec(i) + invec(i)
  end do
end subroutine mysum
