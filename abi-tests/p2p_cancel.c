/* MPI_Cancel of sends at every stage, on 2 ranks: a message the receiver
 * holds unmatched is withdrawn (eager, rendezvous, synchronous and
 * self-sends), later messages still arrive in order, and a message already
 * received cannot be cancelled. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int errs;

static void check(int cond, const char *what) {
    if (!cond) {
        printf("p2p_cancel: %s\n", what);
        errs++;
    }
}

static int cancelled(MPI_Request *req) {
    MPI_Status st;
    int flag;
    MPI_Cancel(req);
    MPI_Wait(req, &st);
    MPI_Test_cancelled(&st, &flag);
    return flag;
}

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int big = 4 << 20; /* rendezvous */
    int *large = malloc(big * sizeof(int));
    for (int i = 0; i < big; i++)
        large[i] = i;

    if (rank == 0) {
        int a = 10, b = 20, c = 30, d = 40;
        MPI_Request r[4];
        /* Rank 1 sits in a barrier: everything below is unmatched there. */
        MPI_Isend(&a, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, &r[0]);
        MPI_Isend(&b, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, &r[1]);
        MPI_Isend(large, big, MPI_INT, 1, 0, MPI_COMM_WORLD, &r[2]);
        MPI_Issend(&c, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, &r[3]);
        check(cancelled(&r[1]), "eager send held unmatched was not cancelled");
        check(cancelled(&r[2]), "rendezvous send held unmatched was not cancelled");
        check(cancelled(&r[3]), "synchronous send held unmatched was not cancelled");
        /* A self-send, unmatched. */
        MPI_Request s;
        MPI_Isend(&d, 1, MPI_INT, 0, 5, MPI_COMM_WORLD, &s);
        check(cancelled(&s), "self-send held unmatched was not cancelled");
        int flag;
        MPI_Iprobe(0, 5, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        check(!flag, "a cancelled self-send can still be probed");
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Wait(&r[0], MPI_STATUS_IGNORE);
        /* Cancelling a send the receiver has already taken does nothing. */
        MPI_Send(&d, 1, MPI_INT, 1, 1, MPI_COMM_WORLD);
        MPI_Isend(&a, 1, MPI_INT, 1, 2, MPI_COMM_WORLD, &r[0]);
        MPI_Recv(&b, 1, MPI_INT, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        check(!cancelled(&r[0]), "a send already received was reported cancelled");
    } else if (rank == 1) {
        int x = 0, y = 0, flag;
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Recv(&x, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        check(x == 10, "the first (uncancelled) message did not arrive");
        MPI_Recv(&y, 1, MPI_INT, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        check(y == 40, "a later message did not arrive in order");
        MPI_Iprobe(0, 0, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        check(!flag, "a cancelled message can still be received");
        MPI_Recv(&x, 1, MPI_INT, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(&x, 1, MPI_INT, 0, 3, MPI_COMM_WORLD);
        check(x == 10, "the message whose cancel came too late did not arrive");
    }
    /* A partitioned send not all of whose partitions are ready has not
     * started: cancelling it ends it. The send half of an Isendrecv is
     * withdrawn with its receive. */
    if (rank == 0) {
        int parts[4] = {1, 2, 3, 4};
        MPI_Request p;
        MPI_Psend_init(parts, 4, 1, MPI_INT, 1, 9, MPI_COMM_WORLD, MPI_INFO_NULL, &p);
        MPI_Start(&p);
        MPI_Pready(0, p);
        check(cancelled(&p), "a partitioned send not yet started was not cancelled");
        MPI_Request_free(&p);
        int out = 5, in = 0;
        MPI_Request sr;
        MPI_Isendrecv(&out, 1, MPI_INT, 1, 11, &in, 1, MPI_INT, 1, 12, MPI_COMM_WORLD, &sr);
        check(cancelled(&sr), "an unmatched Isendrecv was not cancelled");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 1) {
        int flag;
        MPI_Iprobe(0, 11, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        check(!flag, "the send half of a cancelled Isendrecv can still be received");
        MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        check(!flag, "a message of a cancelled partitioned send arrived");
    }
    free(large);
    int all;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && all == 0)
        printf("p2p_cancel: OK\n");
    MPI_Finalize();
    return all != 0;
}
