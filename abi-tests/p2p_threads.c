/* Point-to-point under MPI_THREAD_MULTIPLE: T threads per rank (default
 * 4), thread t of every rank talking to thread t of its neighbours on a
 * ring with tag t. Each thread keeps a window of nonblocking sends to the
 * next rank and receives from the previous one (half the threads name
 * the source, half use MPI_ANY_SOURCE and check the status), and now and
 * then a blocking or synchronous send and a probe + receive. Sizes are
 * mostly 0 to 64 bytes, some up to 64 KiB. Every payload is checked
 * byte for byte and must arrive in order (non-overtaking per source, tag
 * and communicator). Prints the total messages and the rate.
 *
 *   p2p_threads [MESSAGES_TOTAL] [THREADS]     (default 10^6, 4)
 * Prints "p2p_threads ok: ..." on rank 0 and exits 0 when all matched. */
#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 8
#define MAX_SIZE (64 << 10)

static int rank, nprocs, nthreads;
static long per_thread;
static int errors;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, int t, long i, long a, long b)
{
    pthread_mutex_lock(&err_lock);
    if (errors++ < 10) printf("p2p_threads: rank %d thread %d message %ld: %s (%ld, %ld)\n", rank, t, i, what, a, b);
    pthread_mutex_unlock(&err_lock);
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Message i of thread t from rank `src`: its size and bytes. */
static int size_of(int src, int t, long i)
{
    uint64_t r = mix(((uint64_t)src << 48) ^ ((uint64_t)t << 40) ^ (uint64_t)i);
    if (r % 100 < 90) return (int)((r >> 8) % 65);
    return (int)((r >> 8) % (MAX_SIZE + 1));
}

static unsigned char byte_of(int src, int t, long i, int k) { return (unsigned char)(src * 31 + t * 7 + i * 13 + k); }

static void fill(unsigned char *b, int src, int t, long i, int n)
{
    for (int k = 0; k < n; k++) b[k] = byte_of(src, t, i, k);
}

static void check(const unsigned char *b, int n, const MPI_Status *st, int src, int t, long i, int any)
{
    int want = size_of(src, t, i), got;
    MPI_Get_count(st, MPI_BYTE, &got);
    if (got != want) { fail("size", t, i, got, want); return; }
    if (st->MPI_TAG != t) fail("tag", t, i, st->MPI_TAG, t);
    if (any && st->MPI_SOURCE != src) fail("source", t, i, st->MPI_SOURCE, src);
    for (int k = 0; k < n && k < want; k++)
        if (b[k] != byte_of(src, t, i, k)) { fail("byte", t, i, k, b[k]); return; }
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg, next = (rank + 1) % nprocs, prev = (rank + nprocs - 1) % nprocs;
    int any = t % 2;
    unsigned char *sbuf[WINDOW], *rbuf[WINDOW];
    MPI_Request sreq[WINDOW], rreq[WINDOW];
    long rcvd_i[WINDOW];
    for (int w = 0; w < WINDOW; w++) {
        sbuf[w] = malloc(MAX_SIZE);
        rbuf[w] = malloc(MAX_SIZE);
        sreq[w] = rreq[w] = MPI_REQUEST_NULL;
    }
    long sent = 0, rcvd = 0;
    while (sent < per_thread || rcvd < per_thread) {
        /* Every 97th message: blocking (or synchronous) send, and the
         * matching receive by probe + receive, in lockstep with the
         * neighbours, once the window is drained. */
        if (sent == rcvd && sent < per_thread && sent % 97 == 96) {
            int n = size_of(rank, t, sent);
            fill(sbuf[0], rank, t, sent, n);
            MPI_Request r;
            if (sent % 2) MPI_Issend(sbuf[0], n, MPI_BYTE, next, t, MPI_COMM_WORLD, &r);
            else MPI_Isend(sbuf[0], n, MPI_BYTE, next, t, MPI_COMM_WORLD, &r);
            MPI_Status st;
            MPI_Probe(any ? MPI_ANY_SOURCE : prev, t, MPI_COMM_WORLD, &st);
            int cnt;
            MPI_Get_count(&st, MPI_BYTE, &cnt);
            MPI_Recv(rbuf[0], cnt, MPI_BYTE, st.MPI_SOURCE, t, MPI_COMM_WORLD, &st);
            check(rbuf[0], cnt, &st, prev, t, rcvd, any);
            MPI_Wait(&r, MPI_STATUS_IGNORE);
            sent++;
            rcvd++;
            continue;
        }
        for (int w = 0; w < WINDOW; w++) {
            if (sreq[w] == MPI_REQUEST_NULL && sent < per_thread && !(sent % 97 == 96)) {
                int n = size_of(rank, t, sent);
                fill(sbuf[w], rank, t, sent, n);
                MPI_Isend(sbuf[w], n, MPI_BYTE, next, t, MPI_COMM_WORLD, &sreq[w]);
                sent++;
            }
        }
        /* Receives posted in order, completed in order. */
        for (int w = 0; w < WINDOW; w++) {
            if (rreq[w] == MPI_REQUEST_NULL && rcvd < per_thread && rcvd < sent + WINDOW &&
                !(rcvd % 97 == 96)) {
                rcvd_i[w] = rcvd++;
                MPI_Irecv(rbuf[w], MAX_SIZE, MPI_BYTE, any ? MPI_ANY_SOURCE : prev, t, MPI_COMM_WORLD, &rreq[w]);
            }
        }
        for (int w = 0; w < WINDOW; w++) {
            if (rreq[w] != MPI_REQUEST_NULL) {
                MPI_Status st;
                MPI_Wait(&rreq[w], &st);
                check(rbuf[w], MAX_SIZE, &st, prev, t, rcvd_i[w], any);
            }
            if (sreq[w] != MPI_REQUEST_NULL) MPI_Wait(&sreq[w], MPI_STATUS_IGNORE);
        }
    }
    for (int w = 0; w < WINDOW; w++) {
        free(sbuf[w]);
        free(rbuf[w]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    long total = argc > 1 ? atol(argv[1]) : 1000000;
    nthreads = argc > 2 ? atoi(argv[2]) : 4;
    if (provided != MPI_THREAD_MULTIPLE) {
        if (rank == 0) printf("p2p_threads: MPI_THREAD_MULTIPLE not provided (%d)\n", provided);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    per_thread = total / ((long)nprocs * nthreads);
    pthread_t th[64];
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
    double dt = MPI_Wtime() - t0;
    int all = 0;
    MPI_Allreduce(&errors, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && all == 0)
        printf("p2p_threads ok: %ld messages, %d ranks x %d threads, every payload checked, %.0f messages/s\n",
               per_thread * nprocs * nthreads, nprocs, nthreads, per_thread * nprocs * nthreads / dt);
    MPI_Finalize();
    return all != 0;
}
