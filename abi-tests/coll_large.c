/* Large broadcasts checked byte for byte, by whichever algorithm the
 * library picks (with OXMPI_BCAST=split, scatter then ring allgather): sizes on both sides of the threshold and
 * not divisible by the rank count, every root, the world and split
 * communicators of every size from 1 up, blocking, nonblocking and
 * persistent forms, a strided datatype, and two broadcasts in flight at
 * once. A count mismatch must give an error on some rank and hang none.
 * Run on up to 8 ranks. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_NAME "coll_large"
#include "check.h"

static unsigned char pattern(size_t i, int root, int round)
{
    return (unsigned char)(i * 131 + (size_t)root * 7 + (size_t)round * 13 + (i >> 9));
}

static void fill(unsigned char *b, size_t len, int root, int round)
{
    for (size_t i = 0; i < len; i++)
        b[i] = pattern(i, root, round);
}

static size_t first_bad(const unsigned char *b, size_t len, int root, int round)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] != pattern(i, root, round))
            return i;
    return len;
}

/* One broadcast of `len` bytes from `root` on `comm` in form `form`
 * (0 blocking, 1 nonblocking, 2 persistent), checked on every rank. */
static void one(MPI_Comm comm, unsigned char *buf, size_t len, int root, int form, int round)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == root)
        fill(buf, len, root, round);
    else
        memset(buf, 0xee, len);
    MPI_Request req;
    switch (form) {
    case 0:
        MPI_Bcast(buf, (int)len, MPI_BYTE, root, comm);
        break;
    case 1:
        MPI_Ibcast(buf, (int)len, MPI_BYTE, root, comm, &req);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        break;
    default:
        MPI_Bcast_init(buf, (int)len, MPI_BYTE, root, comm, MPI_INFO_NULL, &req);
        MPI_Start(&req);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        MPI_Request_free(&req);
    }
    size_t bad = first_bad(buf, len, root, round);
    CHECK(bad == len, "form %d, %zu bytes from root %d: byte %zu wrong", form, len, root, bad);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int wsize;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    const size_t sizes[] = {65535, 65536, 65536 + 7, 200003, (1 << 20) + 5};
    const int nsizes = sizeof sizes / sizeof sizes[0];
    size_t max = sizes[nsizes - 1];
    unsigned char *buf = malloc(max), *buf2 = malloc(max);
    int round = 0;

    /* Communicators of every size from 1 to the world's. */
    for (int members = 1; members <= wsize; members++) {
        MPI_Comm comm;
        MPI_Comm_split(MPI_COMM_WORLD, wrank < members ? 0 : MPI_UNDEFINED,
                       members - wrank, &comm);
        if (comm == MPI_COMM_NULL) {
            round += nsizes * members * 3; /* the same patterns everywhere */
            continue;
        }
        for (int k = 0; k < nsizes; k++)
            for (int root = 0; root < members; root++)
                for (int form = 0; form < 3; form++)
                    one(comm, buf, sizes[k], root, form, round++);
        MPI_Comm_free(&comm);
    }

    /* Two nonblocking broadcasts in flight, from different roots. */
    {
        int r2 = wsize - 1;
        size_t len = 300001;
        if (wrank == 0)
            fill(buf, len, 0, 1000);
        if (wrank == r2)
            fill(buf2, len, r2, 1001);
        MPI_Request reqs[2];
        MPI_Ibcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD, &reqs[0]);
        MPI_Ibcast(buf2, (int)len, MPI_BYTE, r2, MPI_COMM_WORLD, &reqs[1]);
        MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE);
        CHECK(first_bad(buf, len, 0, 1000) == len, "first of two in flight wrong");
        CHECK(first_bad(buf2, len, r2, 1001) == len, "second of two in flight wrong");
    }

    /* A strided datatype: every other int of 2 * 40000. */
    {
        int count = 40000, *v = malloc(2 * count * sizeof(int));
        MPI_Datatype strided;
        MPI_Type_vector(count, 1, 2, MPI_INT, &strided);
        MPI_Type_commit(&strided);
        int root = wsize / 2;
        for (int i = 0; i < 2 * count; i++)
            v[i] = wrank == root ? i : -1;
        MPI_Bcast(v, 1, strided, root, MPI_COMM_WORLD);
        int wrong = 0;
        for (int i = 0; i < 2 * count; i++)
            wrong += v[i] != (i % 2 == 0 || wrank == root ? i : -1);
        CHECK(wrong == 0, "strided broadcast: %d ints wrong", wrong);
        MPI_Type_free(&strided);
        free(v);
    }

    /* A count mismatch on one rank, above the threshold on every rank:
     * an error somewhere, and every rank returns. */
    if (wsize >= 3) {
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        size_t len = 100000 + (wrank == 1 ? 64 : 0);
        if (wrank == 0)
            fill(buf, len, 0, 2000);
        int rc = MPI_Bcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
        int failed = rc != MPI_SUCCESS, any;
        MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        CHECK(any, "a broadcast count mismatch went unnoticed");
        CHECK(wrank != 1 || failed, "the rank with the odd count did not notice");
        if (failed) {
            int cls;
            MPI_Error_class(rc, &cls);
            CHECK(cls == MPI_ERR_TRUNCATE, "mismatch gave class %d", cls);
        }
        /* The root's count differs from everyone else's: every other rank
         * notices (the ranks that see it pass it on). */
        len = wrank == 0 ? 100000 : 200000;
        rc = MPI_Bcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
        CHECK(wrank == 0 || rc != MPI_SUCCESS, "the root's odd count went unnoticed here");
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    }

    int all;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0)
        printf("coll_large: OK (%d broadcasts checked)\n", round);
    free(buf);
    free(buf2);
    MPI_Finalize();
    return all != 0;
}
