/* Count mismatches across the size thresholds, which could send ranks down
 * different algorithms (node cells or messages; whole or split vectors):
 *
 *   coll_check         with OXMPI_COLL_CHECK=1: every rank reports
 *                      MPI_ERR_TRUNCATE.
 *   coll_check loose   without it: no rank waits for ever, at least one
 *                      rank reports each mismatch, and the communicator
 *                      works afterwards.
 *
 * One rank (first rank 0, the decider of the symmetric collectives, then
 * the last rank) passes a few elements, or a middling number, where the
 * others pass many. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_NAME "coll_check"
#include "check.h"

enum { BCAST, REDUCE, ALLREDUCE, ALLGATHER, ALLTOALL, KINDS };
static const char *kind_name[] = {"bcast", "reduce", "allreduce", "allgather", "alltoall"};

static int call(int kind, int *a, int *b, int n, int root)
{
    switch (kind) {
    case BCAST:
        return MPI_Bcast(a, n, MPI_INT, root, MPI_COMM_WORLD);
    case REDUCE:
        return MPI_Reduce(a, b, n, MPI_INT, MPI_SUM, root, MPI_COMM_WORLD);
    case ALLREDUCE:
        return MPI_Allreduce(a, b, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    case ALLGATHER:
        return MPI_Allgather(a, n, MPI_INT, b, n, MPI_INT, MPI_COMM_WORLD);
    default:
        return MPI_Alltoall(a, n, MPI_INT, b, n, MPI_INT, MPI_COMM_WORLD);
    }
}

int main(int argc, char **argv)
{
    int size, cls, rc;
    MPI_Init(&argc, &argv);
    int strict = !(argc > 1 && strcmp(argv[1], "loose") == 0);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int big = 1 << 18;
    /* Room for the all-to-alls' size blocks of `big / size` too. */
    int *a = calloc(big, sizeof(int)), *b = calloc(big, sizeof(int));
    /* Few: through the node cells. Middling: whole vectors by messages.
     * Many: split vectors (reductions, and broadcasts under
     * OXMPI_BCAST=split). */
    int few = 4, middling = 400;

    int odds[] = {0, size - 1};
    int smalls[] = {few, middling};
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < KINDS; k++)
            for (int sz = 0; sz < 2; sz++)
                for (int root = 0; root < (k <= REDUCE ? size : 1); root += size - 1 > 0 ? size - 1 : 1) {
                    int many = k >= ALLGATHER ? big / size : big;
                    int n = wrank == odds[o] ? smalls[sz] : many;
                    rc = call(k, a, b, n, root);
                    MPI_Error_class(rc, &cls);
                    if (strict) {
                        CHECK(cls == MPI_ERR_TRUNCATE, "%s mismatch (odd rank %d, %d elements, root %d): class %d",
                              kind_name[k], odds[o], smalls[sz], root, cls);
                    } else {
                        int reported = rc != MPI_SUCCESS, anyone = 0;
                        CHECK(rc == MPI_SUCCESS || cls == MPI_ERR_TRUNCATE, "%s mismatch: class %d", kind_name[k], cls);
                        CHECK(MPI_Allreduce(&reported, &anyone, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) == MPI_SUCCESS,
                              "allreduce after a %s mismatch", kind_name[k]);
                        CHECK(anyone, "%s mismatch (odd rank %d, %d elements, root %d) went unreported", kind_name[k],
                              odds[o], smalls[sz], root);
                    }
                }

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
