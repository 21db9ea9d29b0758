/* Connecting groups of processes: MPI_Open_port, MPI_Comm_accept and
 * MPI_Comm_connect, MPI_Comm_join, MPI_Comm_disconnect, and bad input.
 *
 *   dynproc                 one job, split in two halves that connect
 *                           (several rounds) and join over a socket
 *   dynproc server FILE     accept a job started separately (writes the
 *                           port name to FILE)
 *   dynproc client FILE     connect to the server whose port is in FILE
 *   dynproc nserver NAME    the same, publishing the port as NAME (run both
 *   dynproc nclient NAME    with mpiexec -nameserver: a shared name server)
 *
 * On every intercommunicator: point-to-point both ways, a broadcast, an
 * allreduce, a merge and an allreduce on it, checked against their values;
 * then a disconnect. Prints "dynproc: OK" at rank 0 when all held. */
#define TEST_NAME "dynproc"
#include "check.h"
#include <arpa/inet.h>
#include <mpi.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Exercise an intercommunicator whose local group is `lsize` processes of
 * side `side` (0 or 1); the other side has `rsize`. */
static void exercise(MPI_Comm ic, int side, const char *what)
{
    int rank, lsize, rsize, flag;
    MPI_Comm_test_inter(ic, &flag);
    CHECK(flag, "%s: not an intercommunicator", what);
    MPI_Comm_rank(ic, &rank);
    MPI_Comm_size(ic, &lsize);
    MPI_Comm_remote_size(ic, &rsize);

    /* Point-to-point: every local rank sends to every remote rank. */
    for (int r = 0; r < rsize; r++) {
        int out = 1000 * side + 10 * rank + r, in = -1;
        MPI_Sendrecv(&out, 1, MPI_INT, r, 7, &in, 1, MPI_INT, r, 7, ic, MPI_STATUS_IGNORE);
        CHECK(in == 1000 * (1 - side) + 10 * r + rank, "%s: got %d from remote %d", what, in, r);
    }
    /* A large message (by rendezvous) between ranks of equal number. */
    if (rank < rsize) {
        int n = 1 << 18, bad = 0;
        int *big = malloc(n * sizeof(int)), *got = malloc(n * sizeof(int));
        for (int i = 0; i < n; i++) big[i] = i ^ (side * 77 + rank);
        MPI_Sendrecv(big, n, MPI_INT, rank, 8, got, n, MPI_INT, rank, 8, ic, MPI_STATUS_IGNORE);
        for (int i = 0; i < n; i++) bad += got[i] != (i ^ ((1 - side) * 77 + rank));
        CHECK(bad == 0, "%s: %d wrong ints in a large message", what, bad);
        free(big);
        free(got);
    }
    /* Broadcast from side 0's rank 0 to side 1. */
    int v = side == 0 ? 4242 : -1;
    if (side == 0) {
        MPI_Bcast(&v, 1, MPI_INT, rank == 0 ? MPI_ROOT : MPI_PROC_NULL, ic);
    } else {
        MPI_Bcast(&v, 1, MPI_INT, 0, ic);
        CHECK(v == 4242, "%s: bcast gave %d", what, v);
    }
    /* Allreduce: each side gets the sum over the other side. */
    int mine = side * 100 + rank, sum = -1, want = 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, ic);
    for (int r = 0; r < rsize; r++) want += (1 - side) * 100 + r;
    CHECK(sum == want, "%s: allreduce gave %d, want %d", what, sum, want);
    /* Merge, side 0 first. */
    MPI_Comm merged;
    MPI_Intercomm_merge(ic, side, &merged);
    int mrank, msize;
    MPI_Comm_rank(merged, &mrank);
    MPI_Comm_size(merged, &msize);
    CHECK(msize == lsize + rsize, "%s: merged size %d", what, msize);
    CHECK(mrank == (side == 0 ? rank : rsize + rank), "%s: merged rank %d", what, mrank);
    int total = -1;
    MPI_Allreduce(&mrank, &total, 1, MPI_INT, MPI_SUM, merged);
    CHECK(total == msize * (msize - 1) / 2, "%s: merged allreduce %d", what, total);
    MPI_Comm_free(&merged);
    MPI_Comm_disconnect(&ic);
    CHECK(ic == MPI_COMM_NULL, "%s: disconnect left a handle", what);
}

static void bad_input(MPI_Comm comm)
{
    MPI_Comm ic = MPI_COMM_SELF;
    int rc, cls;
    char port[MPI_MAX_PORT_NAME];
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    /* A port that was closed: refused at once. */
    MPI_Open_port(MPI_INFO_NULL, port);
    MPI_Close_port(port);
    rc = MPI_Comm_connect(port, MPI_INFO_NULL, 0, MPI_COMM_SELF, &ic);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_PORT, "connect to a closed port: class %d", cls);
    CHECK(ic == MPI_COMM_NULL, "a failed connect left a handle");
    /* Not a port name at all. */
    rc = MPI_Comm_connect("nonsense", MPI_INFO_NULL, 0, MPI_COMM_SELF, &ic);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_PORT, "connect to nonsense: class %d", cls);
    /* Closing a port twice. */
    rc = MPI_Close_port(port);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_PORT, "closing a closed port: class %d", cls);
    /* An invalid root. */
    rc = MPI_Comm_accept(port, MPI_INFO_NULL, 5, MPI_COMM_SELF, &ic);
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_ROOT, "accept with root 5: class %d", cls);
    (void)comm;
}

/* The two halves of COMM_WORLD connect; the first also proves that a
 * forged secret is turned away while the accept goes on waiting. */
static void halves(int rounds)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int side = wrank < size / 2 ? 0 : 1;
    MPI_Comm half;
    MPI_Comm_split(MPI_COMM_WORLD, side, wrank, &half);
    for (int round = 0; round < rounds; round++) {
        char port[MPI_MAX_PORT_NAME] = "";
        if (wrank == 0) MPI_Open_port(MPI_INFO_NULL, port);
        MPI_Bcast(port, MPI_MAX_PORT_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
        MPI_Comm ic;
        if (side == 0) {
            MPI_Comm_accept(port, MPI_INFO_NULL, 0, half, &ic);
        } else {
            int hrank;
            MPI_Comm_rank(half, &hrank);
            if (hrank == 0 && round == 0) {
                char forged[MPI_MAX_PORT_NAME];
                strcpy(forged, port);
                size_t n = strlen(forged);
                forged[n - 1] = forged[n - 1] == '0' ? '1' : '0';
                MPI_Comm bad = MPI_COMM_SELF;
                MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
                int rc = MPI_Comm_connect(forged, MPI_INFO_NULL, 0, MPI_COMM_SELF, &bad), cls;
                MPI_Error_class(rc, &cls);
                CHECK(cls == MPI_ERR_PORT, "forged secret: class %d", cls);
                CHECK(bad == MPI_COMM_NULL, "forged secret left a handle");
            }
            MPI_Comm_connect(port, MPI_INFO_NULL, 0, half, &ic);
        }
        exercise(ic, side, "halves");
        if (wrank == 0) MPI_Close_port(port);
    }
    MPI_Comm_free(&half);
}

/* Ranks 0 and 1 join over a loopback TCP connection. */
static void join(void)
{
    if (wrank > 1) return;
    int fd = -1, port = 0;
    if (wrank == 0) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        bind(l, (struct sockaddr *)&a, sizeof a);
        listen(l, 1);
        getsockname(l, (struct sockaddr *)&a, &len);
        port = ntohs(a.sin_port);
        MPI_Send(&port, 1, MPI_INT, 1, 3, MPI_COMM_WORLD);
        fd = accept(l, NULL, NULL);
        close(l);
    } else {
        MPI_Recv(&port, 1, MPI_INT, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    MPI_Comm ic;
    MPI_Comm_join(fd, &ic);
    close(fd);
    int remote = -1;
    MPI_Comm_remote_size(ic, &remote);
    CHECK(remote == 1, "join: remote size %d", remote);
    /* Sides by world rank, so exercise() knows which is which. */
    exercise(ic, wrank, "join");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    if (argc == 3 && (!strcmp(argv[1], "nserver") || !strcmp(argv[1], "nclient"))) {
        int server = !strcmp(argv[1], "nserver");
        char port[MPI_MAX_PORT_NAME] = "";
        MPI_Comm ic;
        if (server) {
            if (wrank == 0) {
                MPI_Open_port(MPI_INFO_NULL, port);
                MPI_Publish_name(argv[2], MPI_INFO_NULL, port);
            }
            MPI_Comm_accept(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic);
            if (wrank == 0) {
                MPI_Unpublish_name(argv[2], MPI_INFO_NULL, port);
                MPI_Close_port(port);
            }
        } else {
            if (wrank == 0) {
                /* Until the server has published it. */
                MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
                int rc = MPI_ERR_NAME;
                for (int i = 0; i < 600 && rc != MPI_SUCCESS; i++) {
                    rc = MPI_Lookup_name(argv[2], MPI_INFO_NULL, port);
                    if (rc != MPI_SUCCESS) usleep(50000);
                }
                CHECK(rc == MPI_SUCCESS, "the name was never published");
                MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
            }
            MPI_Comm_connect(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic);
        }
        exercise(ic, server ? 0 : 1, server ? "nserver" : "nclient");
    } else if (argc == 3 && (!strcmp(argv[1], "server") || !strcmp(argv[1], "client"))) {
        int server = !strcmp(argv[1], "server");
        char port[MPI_MAX_PORT_NAME] = "";
        MPI_Comm ic;
        if (server) {
            if (wrank == 0) {
                MPI_Open_port(MPI_INFO_NULL, port);
                char tmp[4096];
                snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
                FILE *f = fopen(tmp, "w");
                fprintf(f, "%s\n", port);
                fclose(f);
                rename(tmp, argv[2]);
            }
            MPI_Comm_accept(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic);
        } else {
            if (wrank == 0) {
                FILE *f = NULL;
                for (int i = 0; i < 600 && !(f = fopen(argv[2], "r")); i++) usleep(50000);
                if (!f || !fgets(port, sizeof port, f)) {
                    printf("dynproc: no port name in %s\n", argv[2]);
                    MPI_Abort(MPI_COMM_WORLD, 1);
                }
                fclose(f);
                port[strcspn(port, "\n")] = 0;
            }
            MPI_Comm_connect(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic);
        }
        exercise(ic, server ? 0 : 1, server ? "server" : "client");
        if (server && wrank == 0) MPI_Close_port(port);
    } else {
        if (wrank == 0) bad_input(MPI_COMM_WORLD);
        int size;
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (size > 1) {
            halves(3);
            join();
        }
    }
    int all = 0;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0) printf("dynproc: OK\n");
    MPI_Finalize();
    return all != 0;
}
