/* A job spread over several hosts (scripts/multihost-tests runs it on hosts
 * made of Linux namespaces).
 *
 *   hosts check N   every rank trades messages of every protocol size with
 *                   every other rank, each payload checked; the job must
 *                   span N hosts (by processor name); ranks with a peer on
 *                   another host must have sent and received bytes through
 *                   the network transport (MPI_T "ofi_bytes_sent" and
 *                   "ofi_bytes_received"); MPI_WTIME_IS_GLOBAL must be
 *                   false (clocks of different hosts are not synchronized).
 *   hosts abort     the last rank calls MPI_Abort(MPI_COMM_WORLD, 7).
 *   hosts hang      every rank but 0 sleeps; rank 0 waits in a barrier
 *                   (for killing a host's proxy under it).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank, size;

static void fail(const char *what)
{
    fprintf(stderr, "hosts: rank %d: %s\n", rank, what);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static MPI_T_pvar_session session;

/* A started handle on performance variable `want`: counters count from
 * their start. */
static MPI_T_pvar_handle pvar(const char *want)
{
    int n, idx = -1;
    MPI_T_pvar_get_num(&n);
    for (int i = 0; i < n; i++) {
        char name[128], desc[256];
        int nl = sizeof name, dl = sizeof desc, verb, cls, bind, ro, cont, atomic;
        MPI_Datatype dt;
        MPI_T_enum en;
        MPI_T_pvar_get_info(i, name, &nl, &verb, &cls, &dt, &en, desc, &dl, &bind, &ro, &cont,
                            &atomic);
        if (strcmp(name, want) == 0)
            idx = i;
    }
    if (idx < 0)
        fail("performance variable missing");
    MPI_T_pvar_handle h;
    int count;
    MPI_T_pvar_handle_alloc(session, idx, NULL, &h, &count);
    MPI_T_pvar_start(session, h);
    return h;
}

static unsigned long long value(MPI_T_pvar_handle h)
{
    unsigned long long v = 0;
    MPI_T_pvar_read(session, h, &v);
    return v;
}

static unsigned char expected(int from, int to, size_t i, size_t len)
{
    return (unsigned char)(from * 31 + to * 7 + i * 13 + len);
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
    MPI_T_init_thread(MPI_THREAD_SINGLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "check";

    if (strcmp(mode, "abort") == 0) {
        if (rank == size - 1)
            MPI_Abort(MPI_COMM_WORLD, 7);
        MPI_Barrier(MPI_COMM_WORLD);
        sleep(30);
        MPI_Finalize();
        return 0;
    }
    if (strcmp(mode, "hang") == 0) {
        printf("hosts: rank %d started\n", rank);
        fflush(stdout);
        if (rank == 0)
            MPI_Barrier(MPI_COMM_WORLD);
        else
            sleep(60);
        MPI_Finalize();
        return 0;
    }

    MPI_T_pvar_session_create(&session);
    MPI_T_pvar_handle sent_h = pvar("ofi_bytes_sent"), recvd_h = pvar("ofi_bytes_received");
    int want_hosts = argc > 2 ? atoi(argv[2]) : 1;
    char names[size][MPI_MAX_PROCESSOR_NAME];
    char me[MPI_MAX_PROCESSOR_NAME] = {0};
    int len;
    MPI_Get_processor_name(me, &len);
    MPI_Allgather(me, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names, MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                  MPI_COMM_WORLD);
    int distinct = 0, remote_peer = 0;
    for (int i = 0; i < size; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= strcmp(names[i], names[j]) == 0;
        distinct += !seen;
        remote_peer |= strcmp(names[i], me) != 0;
    }
    if (distinct != want_hosts) {
        char msg[128];
        snprintf(msg, sizeof msg, "the job spans %d hosts, expected %d", distinct, want_hosts);
        fail(msg);
    }

    /* Every size class: inline, eager, rendezvous, several fragments. */
    const size_t sizes[] = {0, 8, 1000, 40000, 70000, 1 << 20, (3 << 20) + 5};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        unsigned char *out = malloc(n + 1), *in = malloc((size_t)size * (n + 1));
        MPI_Request *reqs = malloc(2 * (size_t)size * sizeof *reqs);
        int nr = 0;
        for (int p = 0; p < size; p++) {
            if (p == rank)
                continue;
            MPI_Irecv(in + (size_t)p * (n + 1), (int)n, MPI_BYTE, p, (int)k, MPI_COMM_WORLD,
                      &reqs[nr++]);
        }
        for (int p = 0; p < size; p++) {
            if (p == rank)
                continue;
            unsigned char *b = malloc(n + 1);
            for (size_t i = 0; i < n; i++)
                b[i] = expected(rank, p, i, n);
            MPI_Send(b, (int)n, MPI_BYTE, p, (int)k, MPI_COMM_WORLD);
            free(b);
        }
        MPI_Waitall(nr, reqs, MPI_STATUSES_IGNORE);
        for (int p = 0; p < size; p++) {
            if (p == rank)
                continue;
            for (size_t i = 0; i < n; i++)
                if (in[(size_t)p * (n + 1) + i] != expected(p, rank, i, n)) {
                    char msg[128];
                    snprintf(msg, sizeof msg, "wrong byte %zu of %zu from rank %d", i, n, p);
                    fail(msg);
                }
        }
        free(out);
        free(in);
        free(reqs);
    }
    /* A collective of every rank, checked. */
    long v = rank + 1, sum = 0;
    MPI_Allreduce(&v, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (sum != (long)size * (size + 1) / 2)
        fail("allreduce gave a wrong sum");

    int *global, flag;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &global, &flag);
    if (!flag || (distinct > 1 && *global))
        fail("MPI_WTIME_IS_GLOBAL claims clocks agree across hosts");

    unsigned long long sent = value(sent_h), recvd = value(recvd_h);
    if (remote_peer && (sent == 0 || recvd == 0))
        fail("no bytes went through the network transport");
    MPI_Barrier(MPI_COMM_WORLD);
    printf("hosts: rank %d of %d on %s: ok (%llu bytes sent, %llu received by ofi)\n", rank,
           size, me, sent, recvd);
    MPI_T_pvar_session_free(&session);
    MPI_T_finalize();
    MPI_Finalize();
    return 0;
}
