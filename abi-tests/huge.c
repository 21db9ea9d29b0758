/* Messages above 2 GiB through the large-count (`_c`) forms: a send and
 * receive, a broadcast and an allgather whose result exceeds 2 GiB, each
 * checked at a byte of every page and at the last byte; the count in the
 * status too. Prints "huge: OK" at rank 0.
 *
 *   huge BYTES      (BYTES above 2^31) */
#define TEST_NAME "huge"
#include "check.h"
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static unsigned char pat(size_t i, int s) { return (unsigned char)((i >> 12) * 7 + (i & 4095) * 3 + s); }

static void fill(unsigned char *b, size_t n, int s)
{
    for (size_t i = 0; i < n; i++) b[i] = pat(i, s);
}

/* Whether `b` holds pattern `s`: a byte of every page, and the last. */
static int holds(const unsigned char *b, size_t n, int s)
{
    for (size_t i = 0; i < n; i += 4093)
        if (b[i] != pat(i, s)) return 0;
    return n == 0 || b[n - 1] == pat(n - 1, s);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : ((size_t)1 << 31) + 4099;
    unsigned char *b = malloc(n);
    CHECK(b != NULL, "no memory for %zu bytes", n);

    /* Point to point: 0 -> 1 (nonblocking send, blocking receive). */
    if (wrank == 0) {
        fill(b, n, 1);
        MPI_Request r;
        int rc = MPI_Isend_c(b, (MPI_Count)n, MPI_BYTE, 1, 5, MPI_COMM_WORLD, &r);
        CHECK(rc == MPI_SUCCESS, "Isend_c: error %d", rc);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
    } else if (wrank == 1) {
        memset(b, 0, n);
        MPI_Status st;
        int rc = MPI_Recv_c(b, (MPI_Count)n, MPI_BYTE, 0, 5, MPI_COMM_WORLD, &st);
        MPI_Count got = -1;
        MPI_Get_count_c(&st, MPI_BYTE, &got);
        CHECK(rc == MPI_SUCCESS && got == (MPI_Count)n, "Recv_c: error %d, %lld bytes", rc, (long long)got);
        CHECK(holds(b, n, 1), "Recv_c: wrong bytes");
    }

    /* Broadcast from the last rank. */
    if (wrank == size - 1) fill(b, n, 2);
    else memset(b, 0, n);
    int rc = MPI_Bcast_c(b, (MPI_Count)n, MPI_BYTE, size - 1, MPI_COMM_WORLD);
    CHECK(rc == MPI_SUCCESS && holds(b, n, 2), "Bcast_c: error %d or wrong bytes", rc);

    /* Allgather: each rank's share of n, the result n bytes or more. */
    size_t per = n / size + 1;
    unsigned char *g = malloc(per * size);
    fill(b, per, 3 + wrank);
    rc = MPI_Allgather_c(b, (MPI_Count)per, MPI_BYTE, g, (MPI_Count)per, MPI_BYTE, MPI_COMM_WORLD);
    CHECK(rc == MPI_SUCCESS, "Allgather_c: error %d", rc);
    for (int q = 0; q < size; q++) CHECK(holds(g + q * per, per, 3 + q), "Allgather_c: rank %d's block is wrong", q);
    free(g);
    free(b);

    int all = 0;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0) printf("huge: OK\n");
    MPI_Finalize();
    return all != 0;
}
