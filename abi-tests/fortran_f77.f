! Fixed-form Fortran with mpif.h: point-to-point, reductions, status,
! sentinels, strings, attributes, 1-based indices, and errors returned
! through MPI_ERRORS_RETURN. Rank 0 prints "No Errors" when every rank
! passed; each failed check prints what it saw.
      PROGRAM F77TEST
      IMPLICIT NONE
      INCLUDE 'mpif.h'
      INTEGER IERR, RANK, NPROCS, NEXT, PREV, I, ERRS, TOTAL
      INTEGER STATUS(MPI_STATUS_SIZE), COUNT, ECLASS, RLEN, IDX
      INTEGER IBUF(10), JBUF(10), REQS(2)
      DOUBLE PRECISION DBUF(4), DSUM(4), T0
      CHARACTER*(MPI_MAX_OBJECT_NAME) CNAME
      CHARACTER*(MPI_MAX_ERROR_STRING) ESTR
      INTEGER(KIND=MPI_ADDRESS_KIND) TAGUB
      LOGICAL FLAG

      ERRS = 0
      CALL MPI_INIT(IERR)
      IF (IERR .NE. MPI_SUCCESS) STOP 1
      CALL MPI_COMM_RANK(MPI_COMM_WORLD, RANK, IERR)
      CALL MPI_COMM_SIZE(MPI_COMM_WORLD, NPROCS, IERR)
      NEXT = MOD(RANK + 1, NPROCS)
      PREV = MOD(RANK + NPROCS - 1, NPROCS)
      T0 = MPI_WTIME()

! A ring of integers, with a status: source, tag, count.
      DO I = 1, 10
         IBUF(I) = RANK * 100 + I
         JBUF(I) = -1
      END DO
      CALL MPI_SENDRECV(IBUF, 10, MPI_INTEGER, NEXT, 7, JBUF, 10,
     &     MPI_INTEGER, PREV, 7, MPI_COMM_WORLD, STATUS, IERR)
      CALL MPI_GET_COUNT(STATUS, MPI_INTEGER, COUNT, IERR)
      IF (STATUS(MPI_SOURCE) .NE. PREV .OR. STATUS(MPI_TAG) .NE. 7
     &     .OR. COUNT .NE. 10) THEN
         PRINT *, 'status', STATUS(MPI_SOURCE), STATUS(MPI_TAG), COUNT
         ERRS = ERRS + 1
      END IF
      DO I = 1, 10
         IF (JBUF(I) .NE. PREV * 100 + I) ERRS = ERRS + 1
      END DO

! Nonblocking, MPI_STATUS_IGNORE, and WAITANY's index counted from 1.
      CALL MPI_IRECV(JBUF, 10, MPI_INTEGER, PREV, 8, MPI_COMM_WORLD,
     &     REQS(1), IERR)
      CALL MPI_ISEND(IBUF, 10, MPI_INTEGER, NEXT, 8, MPI_COMM_WORLD,
     &     REQS(2), IERR)
      CALL MPI_WAITANY(2, REQS, IDX, STATUS, IERR)
      IF (IDX .NE. 1 .AND. IDX .NE. 2) THEN
         PRINT *, 'waitany index', IDX
         ERRS = ERRS + 1
      END IF
      CALL MPI_WAITALL(2, REQS, MPI_STATUSES_IGNORE, IERR)
      CALL MPI_WAIT(REQS(1), MPI_STATUS_IGNORE, IERR)
      IF (REQS(1) .NE. MPI_REQUEST_NULL) ERRS = ERRS + 1

! Reductions: double precision sums, MPI_IN_PLACE, a reduce to a root.
      DO I = 1, 4
         DBUF(I) = DBLE(RANK + I)
      END DO
      CALL MPI_ALLREDUCE(DBUF, DSUM, 4, MPI_DOUBLE_PRECISION, MPI_SUM,
     &     MPI_COMM_WORLD, IERR)
      DO I = 1, 4
         IF (DSUM(I) .NE. DBLE(NPROCS * (NPROCS - 1) / 2 + NPROCS * I))
     &        ERRS = ERRS + 1
      END DO
      IBUF(1) = RANK
      CALL MPI_ALLREDUCE(MPI_IN_PLACE, IBUF, 1, MPI_INTEGER, MPI_MAX,
     &     MPI_COMM_WORLD, IERR)
      IF (IBUF(1) .NE. NPROCS - 1) ERRS = ERRS + 1
      IBUF(1) = 1
      CALL MPI_REDUCE(IBUF, JBUF, 1, MPI_INTEGER, MPI_SUM, 0,
     &     MPI_COMM_WORLD, IERR)
      IF (RANK .EQ. 0 .AND. JBUF(1) .NE. NPROCS) ERRS = ERRS + 1
      FLAG = RANK .EQ. 0
      CALL MPI_BCAST(FLAG, 1, MPI_LOGICAL, 0, MPI_COMM_WORLD, IERR)
      IF (.NOT. FLAG) ERRS = ERRS + 1

! Strings and attributes.
      CALL MPI_COMM_GET_NAME(MPI_COMM_WORLD, CNAME, RLEN, IERR)
      IF (CNAME .NE. 'MPI_COMM_WORLD' .OR. RLEN .NE. 14) THEN
         PRINT *, 'name "', CNAME(1:RLEN), '"', RLEN
         ERRS = ERRS + 1
      END IF
      CALL MPI_COMM_SET_NAME(MPI_COMM_WORLD, 'world   ', IERR)
      CALL MPI_COMM_GET_NAME(MPI_COMM_WORLD, CNAME, RLEN, IERR)
      IF (CNAME .NE. 'world' .OR. RLEN .NE. 5) ERRS = ERRS + 1
      CALL MPI_COMM_GET_ATTR(MPI_COMM_WORLD, MPI_TAG_UB, TAGUB, FLAG,
     &     IERR)
      IF (.NOT. FLAG .OR. TAGUB .LT. 32767) THEN
         PRINT *, 'tag_ub', FLAG, TAGUB
         ERRS = ERRS + 1
      END IF

! Errors come back as codes under MPI_ERRORS_RETURN.
      CALL MPI_COMM_SET_ERRHANDLER(MPI_COMM_WORLD, MPI_ERRORS_RETURN,
     &     IERR)
      CALL MPI_SEND(IBUF, 1, MPI_INTEGER, NEXT, 0, 12345, IERR)
      CALL MPI_ERROR_CLASS(IERR, ECLASS, I)
      IF (ECLASS .NE. MPI_ERR_COMM) THEN
         PRINT *, 'invalid comm gave class', ECLASS
         ERRS = ERRS + 1
      END IF
      CALL MPI_SEND(IBUF, -1, MPI_INTEGER, NEXT, 0, MPI_COMM_WORLD,
     &     IERR)
      CALL MPI_ERROR_CLASS(IERR, ECLASS, I)
      IF (ECLASS .NE. MPI_ERR_COUNT) THEN
         PRINT *, 'negative count gave class', ECLASS
         ERRS = ERRS + 1
      END IF
      CALL MPI_ERROR_STRING(IERR, ESTR, RLEN, I)
      IF (RLEN .LE. 0 .OR. ESTR(RLEN+1:RLEN+1) .NE. ' ') ERRS = ERRS+1
      IF (MPI_WTIME() .LT. T0) ERRS = ERRS + 1

      CALL MPI_ALLREDUCE(ERRS, TOTAL, 1, MPI_INTEGER, MPI_SUM,
     &     MPI_COMM_WORLD, IERR)
      IF (RANK .EQ. 0 .AND. TOTAL .EQ. 0) PRINT *, 'No Errors'
      IF (RANK .EQ. 0 .AND. TOTAL .NE. 0) PRINT *, TOTAL, ' errors'
      CALL MPI_FINALIZE(IERR)
      END
