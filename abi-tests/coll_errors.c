/* Count mismatches in collectives: reported as MPI_ERR_TRUNCATE on every
 * rank that takes part in the broken exchange, never a hang or a silent
 * success. Blocking calls of small messages go through the node segment,
 * larger ones and nonblocking calls by messages; both are checked. Rank 0
 * is the odd one out in each case. Run on 5 ranks. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int wsize;

#define TEST_NAME "coll_errors"
#include "check.h"

/* The outcome of one collective: it must have failed with
 * MPI_ERR_TRUNCATE here if `must_fail`. */
static void expect(const char *what, int count, int rc, int must_fail)
{
    int cls = MPI_SUCCESS;
    if (rc != MPI_SUCCESS)
        MPI_Error_class(rc, &cls);
    if (must_fail)
        CHECK(cls == MPI_ERR_TRUNCATE, "%s of %d ints: class %d, not MPI_ERR_TRUNCATE", what,
              count, cls);
    else
        CHECK(cls == MPI_SUCCESS || cls == MPI_ERR_TRUNCATE, "%s of %d ints: class %d", what,
              count, cls);
}

/* Blocking, or nonblocking and waited for. */
static int finish(int nb, MPI_Request *req, int rc)
{
    if (nb && rc == MPI_SUCCESS) {
        MPI_Status st;
        rc = MPI_Wait(req, &st);
    }
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    const int counts[] = {10, 1000};
    int max = 2 * counts[1] * wsize;
    int *in = calloc(max, sizeof(int)), *out = calloc(max, sizeof(int));
    for (int k = 0; k < 2; k++) {
        int c = counts[k];
        for (int nb = 0; nb < 2; nb++) {
            MPI_Request req;
            int rc;
            /* Rank 0 sends twice what everyone (itself too) receives. */
            int sc = wrank == 0 ? 2 * c : c;
            rc = nb ? MPI_Ialltoall(in, sc, MPI_INT, out, c, MPI_INT, MPI_COMM_WORLD, &req)
                    : MPI_Alltoall(in, sc, MPI_INT, out, c, MPI_INT, MPI_COMM_WORLD);
            expect(nb ? "Ialltoall" : "Alltoall", c, finish(nb, &req, rc), 1);
            rc = nb ? MPI_Iallgather(in, sc, MPI_INT, out, c, MPI_INT, MPI_COMM_WORLD, &req)
                    : MPI_Allgather(in, sc, MPI_INT, out, c, MPI_INT, MPI_COMM_WORLD);
            expect(nb ? "Iallgather" : "Allgather", c, finish(nb, &req, rc), 1);
            /* Rank 0 reduces fewer elements than the others (not so few
             * that it would pick another algorithm: ranks choose by their
             * own counts, as in MPICH, and would then wait for messages
             * that never come). */
            int rcnt = wrank == 0 ? c - c / 10 : c;
            rc = nb ? MPI_Iallreduce(in, out, rcnt, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &req)
                    : MPI_Allreduce(in, out, rcnt, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
            expect(nb ? "Iallreduce" : "Allreduce", c, finish(nb, &req, rc), 1);
            /* The root broadcasts fewer: every other rank notices. */
            rc = nb ? MPI_Ibcast(in, rcnt, MPI_INT, 0, MPI_COMM_WORLD, &req)
                    : MPI_Bcast(in, rcnt, MPI_INT, 0, MPI_COMM_WORLD);
            expect(nb ? "Ibcast" : "Bcast", c, finish(nb, &req, rc), wrank != 0);
            /* The root gathers more than each sends: the root notices. */
            int gc = wrank == 0 ? 2 * c : c;
            rc = nb ? MPI_Igather(in, c, MPI_INT, out, gc, MPI_INT, 0, MPI_COMM_WORLD, &req)
                    : MPI_Gather(in, c, MPI_INT, out, gc, MPI_INT, 0, MPI_COMM_WORLD);
            expect(nb ? "Igather" : "Gather", c, finish(nb, &req, rc), wrank == 0);
            /* The root scatters more than each receives: all notice. */
            rc = nb ? MPI_Iscatter(in, gc, MPI_INT, out, c, MPI_INT, 0, MPI_COMM_WORLD, &req)
                    : MPI_Scatter(in, gc, MPI_INT, out, c, MPI_INT, 0, MPI_COMM_WORLD);
            expect(nb ? "Iscatter" : "Scatter", c, finish(nb, &req, rc), 1);
            /* After all that, the communicator still works. */
            int one = 1, sum = 0;
            MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
            CHECK(sum == wsize, "allreduce after the mismatches gave %d", sum);
        }
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    int all;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0)
        printf("coll_errors: OK\n");
    free(in);
    free(out);
    MPI_Finalize();
    return all != 0;
}
