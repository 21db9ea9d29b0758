/* MPI_Comm_spawn and MPI_Comm_spawn_multiple: the children's world, their
 * parent intercommunicator, MPI_APPNUM, traffic both ways, a merge, a
 * spawn from a spawned process, and bad input (a command that does not
 * exist, an invalid root). Works from mpiexec at any size and from a
 * singleton. Prints "spawn: OK" at rank 0 when all held.
 *
 *   spawn [--no-missing-command]   the parents
 *   spawn child N           a child of a job of N (run by the parents)
 *   spawn grandchild        spawned by a child
 * With SPAWN_NO_APPNUM set, the children expect MPI_APPNUM not to be set. */
#define TEST_NAME "spawn"
#include "check.h"
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static int appnum(void)
{
    int *v, flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &v, &flag);
    return flag ? *v : -1;
}

/* The parents' side of one spawned job of `n` children over `ic`. */
static void talk_to_children(MPI_Comm ic, int n)
{
    int rank, rsize;
    MPI_Comm_rank(ic, &rank);
    MPI_Comm_remote_size(ic, &rsize);
    CHECK(rsize == n, "remote size %d, want %d", rsize, n);
    int v = 777;
    MPI_Bcast(&v, 1, MPI_INT, rank == 0 ? MPI_ROOT : MPI_PROC_NULL, ic);
    int sum = -1;
    MPI_Reduce(NULL, &sum, 1, MPI_INT, MPI_SUM, rank == 0 ? MPI_ROOT : MPI_PROC_NULL, ic);
    if (rank == 0) CHECK(sum == n * (n - 1) / 2, "reduce from children gave %d", sum);
    if (rank == 0) {
        for (int r = 0; r < n; r++) {
            int got = -1;
            MPI_Recv(&got, 1, MPI_INT, r, 5, ic, MPI_STATUS_IGNORE);
            CHECK(got == 100 + r, "child %d sent %d", r, got);
        }
    }
    MPI_Comm merged;
    int msize;
    MPI_Intercomm_merge(ic, 0, &merged);
    MPI_Comm_size(merged, &msize);
    int one = 1, total = 0;
    MPI_Allreduce(&one, &total, 1, MPI_INT, MPI_SUM, merged);
    CHECK(total == msize, "merged allreduce %d of %d", total, msize);
    MPI_Comm_free(&merged);
    /* The children's own checks, summed over their world. */
    if (rank == 0) {
        int child_errs = -1;
        MPI_Recv(&child_errs, 1, MPI_INT, 0, 6, ic, MPI_STATUS_IGNORE);
        CHECK(child_errs == 0, "the children found %d errors", child_errs);
    }
    MPI_Comm_disconnect(&ic);
}

static void child(int want_size, int argc, char **argv)
{
    MPI_Comm parent;
    int size, rank;
    MPI_Comm_get_parent(&parent);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    CHECK(parent != MPI_COMM_NULL, "a child has no parent");
    if (parent == MPI_COMM_NULL) return;
    CHECK(size == want_size, "child world size %d, want %d", size, want_size);
    int v = -1;
    MPI_Bcast(&v, 1, MPI_INT, 0, parent);
    CHECK(v == 777, "child got %d from the parents' bcast", v);
    MPI_Reduce(&rank, NULL, 1, MPI_INT, MPI_SUM, 0, parent);
    int mine = 100 + rank;
    MPI_Send(&mine, 1, MPI_INT, 0, 5, parent);
    MPI_Comm merged;
    MPI_Intercomm_merge(parent, 1, &merged);
    int one = 1, total = 0, msize;
    MPI_Comm_size(merged, &msize);
    MPI_Allreduce(&one, &total, 1, MPI_INT, MPI_SUM, merged);
    CHECK(total == msize, "merged allreduce %d of %d", total, msize);
    MPI_Comm_free(&merged);
    /* The first child job spawns a grandchild in turn. */
    if (argc > 3 && !strcmp(argv[3], "nest")) {
        MPI_Comm gc;
        char *args[] = {"grandchild", NULL};
        MPI_Comm_spawn(argv[0], args, 1, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &gc,
                       MPI_ERRCODES_IGNORE);
        int hello = -1;
        if (rank == 0) MPI_Recv(&hello, 1, MPI_INT, 0, 9, gc, MPI_STATUS_IGNORE);
        if (rank == 0) CHECK(hello == 4321, "grandchild said %d", hello);
        MPI_Comm_disconnect(&gc);
    }
    /* Report our checks to the parents' rank 0 through the allreduce. */
    int all = 0;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) MPI_Send(&all, 1, MPI_INT, 0, 6, parent);
    MPI_Comm_disconnect(&parent);
    MPI_Comm_get_parent(&parent);
    CHECK(parent == MPI_COMM_NULL, "the parent survived its disconnect");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    if (argc > 1 && !strcmp(argv[1], "grandchild")) {
        MPI_Comm parent;
        MPI_Comm_get_parent(&parent);
        int hello = 4321;
        MPI_Send(&hello, 1, MPI_INT, 0, 9, parent);
        MPI_Comm_disconnect(&parent);
        MPI_Finalize();
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "child")) {
        int want = atoi(argv[2]);
        child(want, argc, argv);
        /* SPAWN_NO_APPNUM: the launcher does not number commands (Slurm),
         * so MPI_APPNUM is not set. */
        int want_app = getenv("SPAWN_NO_APPNUM") ? -1 : (argc > 4 ? atoi(argv[4]) : 0);
        CHECK(appnum() == want_app, "child appnum %d, want %d", appnum(), want_app);
        MPI_Finalize();
        return errs != 0;
    }

    if (argc > 1 && !strcmp(argv[1], "--universe-2")) {
        /* Under mpiexec -usize 2 -n 1: three more do not fit, so a spawn
         * of 3 fails, and one with soft=1:3 starts the one that fits. */
        MPI_Comm ic = MPI_COMM_SELF;
        int codes[3] = {-1, -1, -1}, cls, rsize = -1;
        char *args[] = {"child", "1", NULL};
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        int rc = MPI_Comm_spawn(argv[0], args, 3, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic, codes);
        MPI_Error_class(rc, &cls);
        CHECK(cls == MPI_ERR_SPAWN, "3 processes in a universe of 2: class %d", cls);
        CHECK(codes[0] == MPI_ERR_SPAWN && codes[2] == MPI_ERR_SPAWN, "errcodes %d %d",
              codes[0], codes[2]);
        MPI_Info info;
        MPI_Info_create(&info);
        MPI_Info_set(info, "soft", "1:3");
        rc = MPI_Comm_spawn(argv[0], args, 3, info, 0, MPI_COMM_WORLD, &ic, codes);
        MPI_Info_free(&info);
        CHECK(rc == MPI_SUCCESS, "soft spawn failed: %d", rc);
        CHECK(codes[0] == MPI_SUCCESS && codes[1] == MPI_ERR_SPAWN, "soft errcodes %d %d",
              codes[0], codes[1]);
        if (rc == MPI_SUCCESS) {
            MPI_Comm_remote_size(ic, &rsize);
            CHECK(rsize == 1, "soft spawn started %d", rsize);
            talk_to_children(ic, 1);
        }
        if (errs == 0) printf("spawn: OK\n");
        MPI_Finalize();
        return errs != 0;
    }

    MPI_Comm parent;
    MPI_Comm_get_parent(&parent);
    CHECK(parent == MPI_COMM_NULL, "the first job has a parent");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);

    /* 1. Three children, which spawn a grandchild. */
    MPI_Comm ic;
    int codes[3] = {-1, -1, -1};
    char *args[] = {"child", "3", "nest", NULL};
    int rc = MPI_Comm_spawn(argv[0], args, 3, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic, codes);
    CHECK(rc == MPI_SUCCESS, "spawn failed: %d", rc);
    for (int i = 0; i < 3; i++) CHECK(codes[i] == MPI_SUCCESS, "errcode[%d] %d", i, codes[i]);
    if (rc == MPI_SUCCESS) talk_to_children(ic, 3);

    /* 2. Two commands, with appnums 0 and 1. */
    {
        char *cmds[2] = {argv[0], argv[0]};
        char *a0[] = {"child", "3", "-", "0", NULL};
        char *a1[] = {"child", "3", "-", "1", NULL};
        char **argvs[2] = {a0, a1};
        int np[2] = {1, 2};
        MPI_Info infos[2] = {MPI_INFO_NULL, MPI_INFO_NULL};
        rc = MPI_Comm_spawn_multiple(2, cmds, argvs, np, infos, 0, MPI_COMM_WORLD, &ic,
                                     MPI_ERRCODES_IGNORE);
        CHECK(rc == MPI_SUCCESS, "spawn_multiple failed: %d", rc);
        if (rc == MPI_SUCCESS) talk_to_children(ic, 3);
    }

    /* 3. Bad input (a missing command only where the launcher reports
     * it: Hydra says nothing, and the spawn fails after the connect
     * timeout instead). */
    if (!(argc > 1 && !strcmp(argv[1], "--no-missing-command"))) {
        int bad[2] = {-1, -1}, cls;
        MPI_Comm none = MPI_COMM_SELF;
        rc = MPI_Comm_spawn("./no-such-program-here", MPI_ARGV_NULL, 2, MPI_INFO_NULL, 0,
                            MPI_COMM_WORLD, &none, bad);
        MPI_Error_class(rc, &cls);
        CHECK(cls == MPI_ERR_SPAWN, "a missing command: class %d", cls);
        CHECK(none == MPI_COMM_NULL, "a failed spawn left a handle");
        CHECK(bad[0] == MPI_ERR_SPAWN && bad[1] == MPI_ERR_SPAWN, "errcodes %d %d", bad[0],
              bad[1]);
    }
    {
        int cls, size;
        MPI_Comm none = MPI_COMM_SELF;
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        rc = MPI_Comm_spawn(argv[0], MPI_ARGV_NULL, 1, MPI_INFO_NULL, size, MPI_COMM_WORLD,
                            &none, MPI_ERRCODES_IGNORE);
        MPI_Error_class(rc, &cls);
        CHECK(cls == MPI_ERR_ROOT, "an invalid root: class %d", cls);
    }

    int all = 0;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0) printf("spawn: OK\n");
    MPI_Finalize();
    return all != 0;
}
