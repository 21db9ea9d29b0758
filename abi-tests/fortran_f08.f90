! Fortran 2008 with `use mpi_f08`: handle types and their comparison,
! MPI_Status components, optional IERROR, sentinels, a user reduction with
! the f08 interface, nonblocking exchanges, the large-count forms, strings,
! and errors returned through MPI_ERRORS_RETURN. Rank 0 prints "No Errors"
! when every rank passed.
program f08test
  use mpi_f08
  use, intrinsic :: iso_c_binding, only: c_ptr, c_f_pointer
  implicit none
  type(MPI_Comm) :: dup
  type(MPI_Status) :: status
  type(MPI_Request) :: reqs(2)
  type(MPI_Op) :: sumop
  type(MPI_Datatype) :: vtype
  integer :: rank, nprocs, left, right, i, errs, total, count, ierr, eclass, rlen
  integer :: x(3), y(3)
  integer(kind=MPI_COUNT_KIND) :: bigcount
  real(8) :: a(20), b(10)
  character(len=MPI_MAX_OBJECT_NAME) :: cname
  logical :: flag
  procedure(MPI_User_function) :: mysum

  errs = 0
  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs)
  right = mod(rank + 1, nprocs)
  left = mod(rank + nprocs - 1, nprocs)

  ! Handles compare; a duplicate is another communicator.
  call MPI_Comm_dup(MPI_COMM_WORLD, dup)
  if (dup == MPI_COMM_WORLD .or. .not. (dup /= MPI_COMM_NULL)) errs = errs + 1

  ! A strided send into a contiguous receive, with a status.
  do i = 1, 20
     a(i) = rank * 1000 + i
  end do
  b = -1
  call MPI_Type_vector(10, 1, 2, MPI_DOUBLE_PRECISION, vtype)
  call MPI_Type_commit(vtype)
  call MPI_Irecv(b, 10, MPI_DOUBLE_PRECISION, left, 3, dup, reqs(1))
  call MPI_Isend(a, 1, vtype, right, 3, dup, reqs(2))
  call MPI_Wait(reqs(1), status)
  call MPI_Wait(reqs(2), MPI_STATUS_IGNORE)
  call MPI_Get_count(status, MPI_DOUBLE_PRECISION, count)
  if (count /= 10 .or. status%MPI_SOURCE /= left .or. status%MPI_TAG /= 3) then
     print *, 'status', count, status%MPI_SOURCE, status%MPI_TAG
     errs = errs + 1
  end if
  do i = 1, 10
     if (b(i) /= left * 1000 + 2 * i - 1) errs = errs + 1
  end do
  call MPI_Type_free(vtype)
  call MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE)

  ! The large-count forms: the count's kind picks them.
  x = (/ rank, rank + 1, rank + 2 /)
  y = -1
  bigcount = 3
  call MPI_Sendrecv(x, bigcount, MPI_INTEGER, right, 4, y, bigcount, MPI_INTEGER, left, 4, &
       dup, status)
  bigcount = -1
  call MPI_Get_count(status, MPI_INTEGER, bigcount)
  if (bigcount /= 3 .or. any(y /= (/ left, left + 1, left + 2 /))) then
     print *, 'large count', bigcount, y
     errs = errs + 1
  end if

  ! Reductions: MPI_IN_PLACE, and an operation written in Fortran.
  x = (/ 1, rank, 2 /)
  call MPI_Allreduce(MPI_IN_PLACE, x, 3, MPI_INTEGER, MPI_SUM, dup)
  if (x(1) /= nprocs .or. x(2) /= nprocs * (nprocs - 1) / 2) errs = errs + 1
  call MPI_Op_create(mysum, .true., sumop)
  x = (/ 1, rank, 2 /)
  call MPI_Allreduce(x, y, 3, MPI_INTEGER, sumop, dup)
  if (y(1) /= nprocs .or. y(3) /= 2 * nprocs) errs = errs + 1
  call MPI_Op_free(sumop)
  if (sumop /= MPI_OP_NULL) errs = errs + 1

  ! Strings.
  call MPI_Comm_set_name(dup, 'f08 dup')
  call MPI_Comm_get_name(dup, cname, rlen)
  if (cname /= 'f08 dup' .or. rlen /= 7) errs = errs + 1

  ! Errors: a code in IERROR, the class from it.
  call MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN)
  call MPI_Send(x, -1, MPI_INTEGER, right, 0, dup, ierr)
  call MPI_Error_class(ierr, eclass)
  if (eclass /= MPI_ERR_COUNT) errs = errs + 1
  call MPI_Send(x, 1, MPI_INTEGER, nprocs + 3, 0, dup, ierr)
  call MPI_Error_class(ierr, eclass)
  if (eclass /= MPI_ERR_RANK) errs = errs + 1
  call MPI_Initialized(flag)
  if (.not. flag) errs = errs + 1
  call MPI_Comm_free(dup)
  if (dup /= MPI_COMM_NULL) errs = errs + 1

  call MPI_Allreduce(errs, total, 1, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD)
  if (rank == 0 .and. total == 0) print *, 'No Errors'
  if (rank == 0 .and. total /= 0) print *, total, ' errors'
  call MPI_Finalize()
end program f08test

subroutine mysum(invec, inoutvec, len, datatype)
  use mpi_f08
  use, intrinsic :: iso_c_binding, only: c_ptr, c_f_pointer
  implicit none
  type(c_ptr), value :: invec, inoutvec
  integer :: len
  type(MPI_Datatype) :: datatype
  integer, pointer :: a(:), b(:)
  call c_f_pointer(invec, a, (/ len /))
  call c_f_pointer(inoutvec, b, (/ len /))
  b = a + b
end subroutine mysum
