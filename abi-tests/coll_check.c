/* OXMPI_COLL_CHECK=1: count mismatches across the size thresholds (which
 * can send ranks down different algorithms) are reported as
 * MPI_ERR_TRUNCATE on every rank, and the communicator works afterwards.
 * Rank 0 is the odd one out: a few elements where the others pass many. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define TEST_NAME "coll_check"
#include "check.h"

int main(int argc, char **argv)
{
    int size, cls, rc;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int big = 1 << 18;
    int *a = calloc(big, sizeof(int)), *b = calloc(big, sizeof(int));
    int n = wrank == 0 ? 4 : big;

    rc = MPI_Bcast(a, n, MPI_INT, 1, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TRUNCATE, "bcast mismatch: class %d", cls);

    rc = MPI_Allreduce(a, b, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TRUNCATE, "allreduce mismatch: class %d", cls);

    rc = MPI_Reduce(a, b, n, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_TRUNCATE, "reduce mismatch: class %d", cls);

    /* Matching calls still work, small and large. */
    for (int i = 0; i < big; i++)
        a[i] = wrank;
    CHECK(MPI_Allreduce(a, b, big, MPI_INT, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS, "allreduce");
    CHECK(b[big - 1] == size * (size - 1) / 2, "allreduce result %d", b[big - 1]);
    CHECK(MPI_Bcast(a, 4, MPI_INT, 0, MPI_COMM_WORLD) == MPI_SUCCESS && a[3] == 0, "bcast");
    MPI_Barrier(MPI_COMM_WORLD);
    free(a);
    free(b);
    MPI_Finalize();
    if (errs == 0)
        printf("coll_check: OK\n");
    return errs != 0;
}
