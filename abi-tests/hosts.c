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
 *   hosts spawn N HOST
 *                   the job spawns N processes, which the launcher spreads
 *                   over the job's hosts (they must land on 2 or more when
 *                   N > 1); parents and children merge and run the same
 *                   checks as `check` over the merged communicator, bytes
 *                   to other hosts going through the network transport;
 *                   then one more process spawned with the info key
 *                   host=HOST must run on HOST.
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
static MPI_T_pvar_handle pvar(const char *want);
static unsigned long long value(MPI_T_pvar_handle h);

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

/* Every message size between every pair of `comm`'s ranks, checked; a
 * collective; the hosts counted: `want` of them, or (negative) at least
 * -want among the ranks from `first` on; bytes through the network
 * wherever a peer is on another host. */
static void checks(MPI_Comm comm, int first, int want, MPI_T_pvar_handle sent_h,
                   MPI_T_pvar_handle recvd_h)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    char names[size][MPI_MAX_PROCESSOR_NAME];
    char me[MPI_MAX_PROCESSOR_NAME] = {0};
    int len;
    MPI_Get_processor_name(me, &len);
    MPI_Allgather(me, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names, MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                  comm);
    int distinct = 0, remote_peer = 0;
    for (int i = 0; i < size; i++) {
        int seen = 0;
        for (int j = first; j < i; j++)
            seen |= strcmp(names[i], names[j]) == 0;
        distinct += i >= first && !seen;
        remote_peer |= strcmp(names[i], me) != 0;
    }
    if (want >= 0 ? distinct != want : distinct < -want) {
        char msg[128];
        snprintf(msg, sizeof msg, "the processes span %d hosts, expected %s%d", distinct,
                 want >= 0 ? "" : "at least ", want >= 0 ? want : -want);
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
            MPI_Irecv(in + (size_t)p * (n + 1), (int)n, MPI_BYTE, p, (int)k, comm,
                      &reqs[nr++]);
        }
        for (int p = 0; p < size; p++) {
            if (p == rank)
                continue;
            unsigned char *b = malloc(n + 1);
            for (size_t i = 0; i < n; i++)
                b[i] = expected(rank, p, i, n);
            MPI_Send(b, (int)n, MPI_BYTE, p, (int)k, comm);
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
    MPI_Allreduce(&v, &sum, 1, MPI_LONG, MPI_SUM, comm);
    if (sum != (long)size * (size + 1) / 2)
        fail("allreduce gave a wrong sum");

    int *global, flag;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &global, &flag);
    if (!flag || (distinct > 1 && *global))
        fail("MPI_WTIME_IS_GLOBAL claims clocks agree across hosts");

    unsigned long long sent = value(sent_h), recvd = value(recvd_h);
    if (remote_peer && (sent == 0 || recvd == 0))
        fail("no bytes went through the network transport");
    MPI_Barrier(comm);
    printf("hosts: rank %d of %d on %s: ok (%llu bytes sent, %llu received by ofi)\n", rank,
           size, me, sent, recvd);
    fflush(stdout);
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
    MPI_Comm parent, comm = MPI_COMM_WORLD;
    MPI_Comm_get_parent(&parent);
    int want_hosts = argc > 2 ? atoi(argv[2]) : 1, first = 0;
    if (parent != MPI_COMM_NULL) {
        if (strcmp(mode, "where") == 0) {
            /* Spawned with a host key: say where we run. */
            char me[MPI_MAX_PROCESSOR_NAME] = {0};
            int len;
            MPI_Get_processor_name(me, &len);
            MPI_Send(me, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, 3, parent);
            MPI_Comm_disconnect(&parent);
            MPI_T_pvar_session_free(&session);
            MPI_T_finalize();
            MPI_Finalize();
            return 0;
        }
        /* A spawned child: the checks over parents and children. */
        MPI_Intercomm_merge(parent, 1, &comm);
        MPI_Comm_remote_size(parent, &first);
        want_hosts = -want_hosts;
    } else if (strcmp(mode, "spawn") == 0) {
        int n = argc > 2 ? atoi(argv[2]) : 2;
        char hosts_arg[16];
        snprintf(hosts_arg, sizeof hosts_arg, "%d", n > 1 ? 2 : 1);
        char *args[] = {"child", hosts_arg, NULL};
        MPI_Comm ic;
        MPI_Comm_spawn(argv[0], args, n, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &ic,
                       MPI_ERRCODES_IGNORE);
        MPI_Intercomm_merge(ic, 0, &comm);
        first = size;
        want_hosts = -(n > 1 ? 2 : 1);
        checks(comm, first, want_hosts, sent_h, recvd_h);
        MPI_Comm_free(&comm);
        MPI_Comm_disconnect(&ic);
        /* One more, placed by the host key. */
        const char *host = argc > 3 ? argv[3] : "host2";
        MPI_Info info;
        MPI_Info_create(&info);
        MPI_Info_set(info, "host", host);
        char *where[] = {"where", NULL};
        MPI_Comm_spawn(argv[0], where, 1, info, 0, MPI_COMM_WORLD, &ic, MPI_ERRCODES_IGNORE);
        MPI_Info_free(&info);
        if (rank == 0) {
            char at[MPI_MAX_PROCESSOR_NAME] = {0};
            MPI_Recv(at, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, 3, ic, MPI_STATUS_IGNORE);
            if (strcmp(at, host) != 0) {
                char msg[2 * MPI_MAX_PROCESSOR_NAME];
                snprintf(msg, sizeof msg, "spawned with host=%s, it runs on %s", host, at);
                fail(msg);
            }
            printf("hosts: spawned with host=%s: ok\n", host);
        }
        MPI_Comm_disconnect(&ic);
        MPI_T_pvar_session_free(&session);
        MPI_T_finalize();
        MPI_Finalize();
        return 0;
    }
    checks(comm, first, want_hosts, sent_h, recvd_h);
    if (comm != MPI_COMM_WORLD) {
        MPI_Comm_free(&comm);
        MPI_Comm_disconnect(&parent);
    }
    MPI_T_pvar_session_free(&session);
    MPI_T_finalize();
    MPI_Finalize();
    return 0;
}
