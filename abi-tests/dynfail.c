/* When a process of another job dies: operations with it fail with
 * MPI_ERR_PROC_ABORTED under MPI_ERRORS_RETURN, and end the job under
 * MPI_ERRORS_ARE_FATAL, instead of hanging; MPI_Abort on an
 * intercommunicator ends the other job too. Prints "dynfail: OK" at
 * rank 0 when all held.
 *
 *   dynfail [return]          spawn 2 children, one dies; check the errors
 *   dynfail fatal             the same with the default handler: the job ends
 *   dynfail child             (the spawned ones)
 *   dynfail parentdies        spawn 2 children, then die: they must end too
 *   dynfail orphan            (the children of parentdies)
 *   dynfail server FILE       accept over the port written to FILE; the
 *                             client dies; check the errors
 *   dynfail client FILE       connect, then die
 *   dynfail aserver FILE      accept, then MPI_Abort the intercommunicator
 *   dynfail aclient FILE      connect, then wait for a message never sent */
#define TEST_NAME "dynfail"
#include "check.h"
#include <mpi.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int error_class(int rc)
{
    int cls = -1;
    MPI_Error_class(rc, &cls);
    return cls;
}

/* The survivors' side: `ic` reaches processes that have died (remote
 * rank `dead`, and maybe more). Every operation with them fails. */
static void check_failures(MPI_Comm ic, int dead)
{
    int rank, v = 0, rc;
    MPI_Comm_rank(ic, &rank);
    MPI_Comm_set_errhandler(ic, MPI_ERRORS_RETURN);
    if (rank == 0) {
        rc = MPI_Recv(&v, 1, MPI_INT, dead, 1, ic, MPI_STATUS_IGNORE);
        CHECK(error_class(rc) == MPI_ERR_PROC_ABORTED, "recv from the dead: class %d",
              error_class(rc));
        MPI_Request r;
        MPI_Status st;
        rc = MPI_Irecv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 2, ic, &r);
        if (rc == MPI_SUCCESS) rc = MPI_Wait(&r, &st);
        CHECK(error_class(rc) == MPI_ERR_PROC_ABORTED, "wildcard recv: class %d",
              error_class(rc));
        rc = MPI_Probe(dead, 3, ic, &st);
        CHECK(error_class(rc) == MPI_ERR_PROC_ABORTED, "probe: class %d", error_class(rc));
        rc = MPI_Send(&v, 1, MPI_INT, dead, 4, ic);
        CHECK(error_class(rc) == MPI_ERR_PROC_ABORTED, "send to the dead: class %d",
              error_class(rc));
        /* Above the eager size: waits for a receiver that is gone. */
        int n = 1 << 20;
        char *big = calloc(n, 1);
        rc = MPI_Ssend(big, n, MPI_CHAR, dead, 5, ic);
        CHECK(error_class(rc) == MPI_ERR_PROC_ABORTED, "large send: class %d", error_class(rc));
        free(big);
    }
    rc = MPI_Barrier(ic);
    CHECK(error_class(rc) == MPI_ERR_PROC_ABORTED, "barrier: class %d", error_class(rc));
    /* Disconnecting from the dead fails through the communicator's
     * handler, which leaves it to be freed. */
    rc = MPI_Comm_disconnect(&ic);
    CHECK(error_class(rc) == MPI_ERR_PROC_ABORTED, "disconnect: class %d", error_class(rc));
    if (ic != MPI_COMM_NULL) MPI_Comm_free(&ic);
}

static void spawn_one_dies(const char *self, int fatal)
{
    MPI_Comm ic;
    char *args[] = {"child", NULL};
    MPI_Comm_spawn((char *)self, args, 2, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic,
                   MPI_ERRCODES_IGNORE);
    if (fatal) {
        int v;
        /* The default handler: this ends the job. */
        MPI_Recv(&v, 1, MPI_INT, 1, 1, ic, MPI_STATUS_IGNORE);
        printf("dynfail: survived a fatal error\n");
        return;
    }
    check_failures(ic, 1);
}

static void write_port(const char *file, const char *port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    FILE *f = fopen(tmp, "w");
    fprintf(f, "%s\n", port);
    fclose(f);
    rename(tmp, file);
}

static void read_port(const char *file, char *port)
{
    for (int i = 0; i < 3000; i++) {
        FILE *f = fopen(file, "r");
        if (f) {
            int ok = fgets(port, MPI_MAX_PORT_NAME, f) != NULL;
            fclose(f);
            if (ok) {
                port[strcspn(port, "\n")] = 0;
                return;
            }
        }
        usleep(10000);
    }
    fprintf(stderr, "dynfail: no port in %s\n", file);
    exit(2);
}

static MPI_Comm accept_on(const char *file)
{
    char port[MPI_MAX_PORT_NAME];
    MPI_Comm ic;
    if (wrank == 0) {
        MPI_Open_port(MPI_INFO_NULL, port);
        write_port(file, port);
    }
    MPI_Comm_accept(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic);
    return ic;
}

static MPI_Comm connect_to(const char *file)
{
    char port[MPI_MAX_PORT_NAME] = "";
    MPI_Comm ic;
    if (wrank == 0) read_port(file, port);
    MPI_Comm_connect(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic);
    return ic;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    const char *mode = argc > 1 ? argv[1] : "return";
    const char *file = argc > 2 ? argv[2] : "";
    if (!strcmp(mode, "child")) {
        MPI_Comm parent;
        MPI_Comm_get_parent(&parent);
        if (wrank == 1) raise(SIGKILL);
        /* The launcher ends the rest of a job that lost a member. */
        int v;
        MPI_Recv(&v, 1, MPI_INT, 0, 99, parent, MPI_STATUS_IGNORE);
        MPI_Finalize();
        return 0;
    }
    if (!strcmp(mode, "orphan")) {
        /* A spawned child whose parent died: waits for a message never sent
         * (its launcher must end it). */
        MPI_Comm parent;
        MPI_Comm_get_parent(&parent);
        int v = 1;
        MPI_Send(&v, 1, MPI_INT, 0, 7, parent);
        MPI_Recv(&v, 1, MPI_INT, 0, 99, parent, MPI_STATUS_IGNORE);
        MPI_Finalize();
        return 0;
    }
    if (!strcmp(mode, "parentdies")) {
        MPI_Comm ic;
        char *args[] = {"orphan", NULL};
        MPI_Comm_spawn(argv[0], args, 2, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic,
                       MPI_ERRCODES_IGNORE);
        int v;
        for (int i = 0; i < 2; i++) MPI_Recv(&v, 1, MPI_INT, i, 7, ic, MPI_STATUS_IGNORE);
        printf("dynfail: children ready\n");
        fflush(stdout);
        raise(SIGKILL);
    }
    if (!strcmp(mode, "client")) {
        connect_to(file);
        raise(SIGKILL);
    }
    if (!strcmp(mode, "aclient")) {
        MPI_Comm ic = connect_to(file);
        int v;
        MPI_Recv(&v, 1, MPI_INT, 0, 99, ic, MPI_STATUS_IGNORE);
        printf("dynfail: the abort did not reach the client\n");
        MPI_Finalize();
        return 1;
    }
    if (!strcmp(mode, "aserver")) {
        MPI_Comm ic = accept_on(file);
        MPI_Barrier(MPI_COMM_WORLD);
        if (wrank == 0) MPI_Abort(ic, 3);
        int v;
        MPI_Recv(&v, 1, MPI_INT, 0, 99, ic, MPI_STATUS_IGNORE);
        MPI_Finalize();
        return 1;
    }
    if (!strcmp(mode, "server")) {
        check_failures(accept_on(file), 0);
    } else {
        spawn_one_dies(argv[0], !strcmp(mode, "fatal"));
    }
    int all = 0;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0) printf("dynfail: OK\n");
    MPI_Finalize();
    return all != 0;
}
