/* Node-local collectives (small barriers, broadcasts and reductions through
 * the node segment): results right on communicators that are created and
 * freed over and over with changing members (so channels are reused while
 * slow members of the previous communicator may still be reading), a
 * non-commutative operation applied in rank order, allgather and all-to-all
 * (in place too), and a broadcast count
 * mismatch reported as MPI_ERR_TRUNCATE instead of a hang. Run on 5 ranks. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_NAME "coll_shm"
#include "check.h"

/* 2x2 integer matrices multiplied: not commutative. */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    int *a = in, *b = inout;
    for (int k = 0; k < *len; k++, a += 4, b += 4) {
        int c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                    a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]};
        memcpy(b, c, sizeof c);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int wsize;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    MPI_Datatype mat;
    MPI_Type_contiguous(4, MPI_INT, &mat);
    MPI_Type_commit(&mat);
    MPI_Op op;
    MPI_Op_create(matmul, 0, &op);
    srand(wrank + 1);
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    for (int it = 0; it < iters; it++) {
        MPI_Comm c;
        /* Members change every iteration; some iterations leave a rank out. */
        int color = (wrank + it) % 3 == 0 && it % 2 ? MPI_UNDEFINED : (wrank * 7 + it) % 2;
        MPI_Comm_split(MPI_COMM_WORLD, color, (wrank * 13 + it) % wsize, &c);
        if (c == MPI_COMM_NULL)
            continue;
        int rank, size;
        MPI_Comm_rank(c, &rank);
        MPI_Comm_size(c, &size);
        if (rand() % 8 == 0)
            usleep(rand() % 200);
        int root = it % size;
        long v[8];
        for (int i = 0; i < 8; i++)
            v[i] = rank == root ? it * 100 + i : -1;
        MPI_Bcast(v, 8, MPI_LONG, root, c);
        for (int i = 0; i < 8; i++)
            CHECK(v[i] == it * 100 + i, "iteration %d: bcast v[%d] = %ld", it, i, v[i]);
        long mine = rank + 1, sum = 0;
        MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, c);
        CHECK(sum == (long)size * (size + 1) / 2, "iteration %d: allreduce %ld", it, sum);
        /* Rank r contributes [[1, r], [0, 1]]; the ordered product is
         * [[1, sum of ranks], [0, 1]], and any other order gives the same,
         * so use [[r+1, 1], [1, 0]] whose products do depend on order. */
        int m[4] = {rank + 1, 1, 1, 0}, prod[4] = {0};
        MPI_Reduce(m, prod, 1, mat, op, root, c);
        if (rank == root) {
            int e[4] = {1, 0, 0, 1};
            for (int r = size - 1; r >= 0; r--) {
                int a[4] = {r + 1, 1, 1, 0}, t[4] = {a[0] * e[0] + a[1] * e[2], a[0] * e[1] + a[1] * e[3],
                                                   a[2] * e[0] + a[3] * e[2], a[2] * e[1] + a[3] * e[3]};
                memcpy(e, t, sizeof t);
            }
            CHECK(!memcmp(e, prod, sizeof e), "iteration %d: ordered reduce [%d %d %d %d]", it,
                  prod[0], prod[1], prod[2], prod[3]);
        }
        int g[2 * 8], a2a_in[8], a2a_out[8];
        for (int r = 0; r < size; r++) {
            g[2 * r] = g[2 * r + 1] = -1;
            a2a_in[r] = 1000 * rank + r;
            a2a_out[r] = -1;
        }
        g[2 * rank] = it + rank;
        g[2 * rank + 1] = -rank;
        if (it % 2)
            MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, g, 2, MPI_INT, c);
        else {
            int two[2] = {it + rank, -rank};
            MPI_Allgather(two, 2, MPI_INT, g, 2, MPI_INT, c);
        }
        MPI_Alltoall(a2a_in, 1, MPI_INT, a2a_out, 1, MPI_INT, c);
        for (int r = 0; r < size; r++) {
            CHECK(g[2 * r] == it + r && g[2 * r + 1] == -r, "iteration %d: allgather from %d: %d %d", it,
                  r, g[2 * r], g[2 * r + 1]);
            CHECK(a2a_out[r] == 1000 * r + rank, "iteration %d: alltoall from %d: %d", it, r, a2a_out[r]);
        }
        MPI_Barrier(c);
        MPI_Comm_free(&c);
    }
    /* A broadcast whose count differs at the root: the others are told. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int buf[10] = {0}, cls = MPI_SUCCESS;
    int rc = MPI_Bcast(buf, wrank == 0 ? 1 : 10, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    CHECK(wrank == 0 || cls == MPI_ERR_TRUNCATE, "bcast count mismatch: error class %d", cls);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Op_free(&op);
    MPI_Type_free(&mat);
    int all;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0)
        printf("coll_shm: OK (%d iterations)\n", iters);
    MPI_Finalize();
    return all != 0;
}
