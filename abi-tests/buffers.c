/* The MPI-4.1 buffer calls: a buffered send draws on its communicator's
 * buffer, else its session's, else the process's; each is limited to its
 * size unless attached as MPI_BUFFER_AUTOMATIC; flushes (blocking and
 * not) wait for the sends drawn so far. Run at 2 ranks or more; prints
 * "buffers: OK" at rank 0. */
#define TEST_NAME "buffers"
#include "check.h"
#include <mpi.h>
#include <stdlib.h>

static int error_class(int rc)
{
    int cls = -1;
    MPI_Error_class(rc, &cls);
    return cls;
}

int main(int argc, char **argv)
{
    int size, v = 0, rc;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int peer = (wrank + 1) % size, from = (wrank + size - 1) % size;

    /* No buffer anywhere: a buffered send fails. */
    rc = MPI_Bsend(&v, 1, MPI_INT, peer, 0, MPI_COMM_WORLD);
    CHECK(error_class(rc) == MPI_ERR_BUFFER, "Bsend without a buffer: class %d",
          error_class(rc));

    /* A communicator's own buffer, room for two ints. */
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    int room = 2 * (sizeof(int) + MPI_BSEND_OVERHEAD);
    char *mine = malloc(room);
    MPI_Comm_attach_buffer(dup, mine, room);
    int a[3] = {1, 2, 3};
    for (int i = 0; i < 2; i++) {
        rc = MPI_Bsend(&a[i], 1, MPI_INT, peer, i, dup);
        CHECK(rc == MPI_SUCCESS, "Bsend %d on the communicator's buffer: %d", i, rc);
    }
    rc = MPI_Bsend(&a[2], 1, MPI_INT, peer, 2, MPI_COMM_WORLD);
    CHECK(error_class(rc) == MPI_ERR_BUFFER, "the communicator's buffer served another: %d",
          rc);
    for (int i = 0; i < 2; i++) {
        int got = -1;
        MPI_Recv(&got, 1, MPI_INT, from, i, dup, MPI_STATUS_IGNORE);
        CHECK(got == a[i], "got %d, want %d", got, a[i]);
    }
    MPI_Comm_flush_buffer(dup);
    void *addr = NULL;
    int n = -1;
    MPI_Comm_detach_buffer(dup, &addr, &n);
    CHECK(addr == mine && n == room, "detached %p/%d, attached %p/%d", addr, n, (void *)mine,
          room);

    /* The process's buffer, automatic: no limit; iflush with self-sends. */
    MPI_Buffer_attach(MPI_BUFFER_AUTOMATIC, 0);
    int big[1000];
    for (int i = 0; i < 1000; i++) big[i] = i;
    for (int k = 0; k < 20; k++) {
        rc = MPI_Bsend(big, 1000, MPI_INT, wrank, 5, MPI_COMM_WORLD);
        CHECK(rc == MPI_SUCCESS, "automatic Bsend %d: %d", k, rc);
    }
    MPI_Request flush;
    MPI_Buffer_iflush(&flush);
    for (int k = 0; k < 20; k++) {
        int back[1000];
        MPI_Recv(back, 1000, MPI_INT, wrank, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(back[999] == 999, "self Bsend data %d", back[999]);
    }
    MPI_Wait(&flush, MPI_STATUS_IGNORE);
    MPI_Buffer_flush();
    MPI_Buffer_detach(&addr, &n);
    CHECK(addr == MPI_BUFFER_AUTOMATIC && n == 0, "automatic detach gave %p/%d", addr, n);

    /* A session's buffer serves the communicators made from it. */
    MPI_Session s;
    MPI_Group g;
    MPI_Comm sc;
    MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &s);
    MPI_Group_from_session_pset(s, "mpi://WORLD", &g);
    MPI_Comm_create_from_group(g, "oxmpi.buffers", MPI_INFO_NULL, MPI_ERRORS_RETURN, &sc);
    char *sbuf = malloc(room);
    MPI_Session_attach_buffer(s, sbuf, room);
    rc = MPI_Bsend(&a[0], 1, MPI_INT, peer, 7, sc);
    CHECK(rc == MPI_SUCCESS, "Bsend on the session's buffer: %d", rc);
    int got = -1;
    MPI_Recv(&got, 1, MPI_INT, from, 7, sc, MPI_STATUS_IGNORE);
    CHECK(got == a[0], "session message %d", got);
    MPI_Request sflush;
    MPI_Session_iflush_buffer(s, &sflush);
    MPI_Wait(&sflush, MPI_STATUS_IGNORE);
    MPI_Session_detach_buffer(s, &addr, &n);
    CHECK(addr == sbuf && n == room, "session detach gave %p/%d", addr, n);
    rc = MPI_Bsend(&a[0], 1, MPI_INT, peer, 8, sc);
    CHECK(error_class(rc) == MPI_ERR_BUFFER, "Bsend after the session's detach: %d", rc);
    MPI_Comm_free(&sc);
    MPI_Group_free(&g);
    MPI_Session_finalize(&s);

    free(mine);
    free(sbuf);
    MPI_Comm_free(&dup);
    int all = 0;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0) printf("buffers: OK\n");
    MPI_Finalize();
    return all != 0;
}
