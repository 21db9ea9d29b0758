/* Point-to-point stress test: every rank follows one shared random
 * schedule of messages (source, destination, tag, size from 0 B to 8 MiB,
 * send mode), sends its own with nonblocking standard and synchronous
 * sends, and receives whatever arrives with MPI_ANY_SOURCE/MPI_ANY_TAG
 * (probe + receive, matched probe + matched receive, or a receive into a
 * large buffer). Every payload is verified: per source, messages must
 * arrive in the order they were sent (MPI's non-overtaking rule), with the
 * right tag, size and bytes.
 *
 * Usage: p2p_stress [messages] [seed]      (default 100000 messages)
 * Prints "p2p_stress ok: ..." on rank 0 and exits 0 when everything matched.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZE (8 << 20)
#define WINDOW 16

typedef struct { int src, dst, tag, size, sync; } Msg;

static uint64_t rng_state;
static uint64_t rng(void) { /* xorshift64*: the same stream on every rank */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* Mostly small messages, some medium, a few up to 8 MiB. */
static int pick_size(void) {
    uint64_t r = rng() % 1000;
    if (r < 5) return 0;
    if (r < 900) return (int)(rng() % 4097);
    if (r < 990) return (int)(rng() % (256 << 10));
    return (int)(rng() % (MAX_SIZE + 1));
}

static unsigned char byte_of(long id, long i) { return (unsigned char)(id * 131 + i * 7 + (i >> 8)); }

static void fill(unsigned char *p, long id, int n) {
    for (int i = 0; i < n; i++) p[i] = byte_of(id, i);
}

static int fail(const char *what, long id, int rank) {
    fprintf(stderr, "p2p_stress: rank %d: %s (message %ld)\n", rank, what, id);
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long total = argc > 1 ? atol(argv[1]) : 100000;
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 0x9e3779b97f4a7c15ULL;
    double t0 = MPI_Wtime();

    Msg *plan = malloc(sizeof(Msg) * total);
    long nsend = 0, nrecv = 0;
    for (long k = 0; k < total; k++) {
        plan[k].src = (int)(rng() % size);
        plan[k].dst = (int)(rng() % size);
        plan[k].tag = (int)(rng() % 1000);
        plan[k].size = pick_size();
        plan[k].sync = rng() % 8 == 0;
        nsend += plan[k].src == rank;
        nrecv += plan[k].dst == rank;
    }
    /* Per source, the ids of the messages this rank expects, in order. */
    long **expect = calloc(size, sizeof(long *));
    long *ecount = calloc(size, sizeof(long)), *enext = calloc(size, sizeof(long));
    for (long k = 0; k < total; k++)
        if (plan[k].dst == rank) ecount[plan[k].src]++;
    for (int s = 0; s < size; s++) expect[s] = malloc(sizeof(long) * (ecount[s] + 1));
    for (int s = 0; s < size; s++) ecount[s] = 0;
    for (long k = 0; k < total; k++)
        if (plan[k].dst == rank) expect[plan[k].src][ecount[plan[k].src]++] = k;

    MPI_Request reqs[WINDOW];
    unsigned char *sbufs[WINDOW];
    for (int i = 0; i < WINDOW; i++) { reqs[i] = MPI_REQUEST_NULL; sbufs[i] = NULL; }
    unsigned char *rbuf = malloc(MAX_SIZE);
    long next = 0, sent = 0, recvd = 0, bytes = 0;
    while (sent < nsend || recvd < nrecv) {
        /* Keep up to WINDOW sends in flight. */
        for (int i = 0; i < WINDOW && sent < nsend; i++) {
            int done = 1;
            if (reqs[i] != MPI_REQUEST_NULL) MPI_Test(&reqs[i], &done, MPI_STATUS_IGNORE);
            if (!done) continue;
            free(sbufs[i]);
            while (plan[next].src != rank) next++;
            Msg *m = &plan[next];
            sbufs[i] = malloc(m->size + 1);
            fill(sbufs[i], next, m->size);
            if (m->sync)
                MPI_Issend(sbufs[i], m->size, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD, &reqs[i]);
            else
                MPI_Isend(sbufs[i], m->size, MPI_BYTE, m->dst, m->tag, MPI_COMM_WORLD, &reqs[i]);
            next++;
            sent++;
        }
        /* Take whatever has arrived. */
        if (recvd < nrecv) {
            int flag;
            MPI_Status st;
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
            if (!flag) continue;
            int src = st.MPI_SOURCE, count;
            if (enext[src] >= ecount[src]) return fail("unexpected extra message", -1, rank);
            long id = expect[src][enext[src]++];
            Msg *m = &plan[id];
            MPI_Get_count(&st, MPI_BYTE, &count);
            if (st.MPI_TAG != m->tag || count != m->size)
                return fail("probe saw the wrong tag or size (overtaking?)", id, rank);
            switch (recvd % 3) {
            case 0: /* receive exactly what was probed */
                MPI_Recv(rbuf, count, MPI_BYTE, src, st.MPI_TAG, MPI_COMM_WORLD, &st);
                break;
            case 1: { /* matched probe and receive */
                MPI_Message msg;
                MPI_Mprobe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &msg, &st);
                MPI_Mrecv(rbuf, MAX_SIZE, MPI_BYTE, &msg, &st);
                break;
            }
            default: /* wildcard receive into the big buffer */
                MPI_Recv(rbuf, MAX_SIZE, MPI_BYTE, src, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            }
            MPI_Get_count(&st, MPI_BYTE, &count);
            if (st.MPI_SOURCE != src || st.MPI_TAG != m->tag || count != m->size)
                return fail("receive status does not match the message", id, rank);
            for (int i = 0; i < count; i++)
                if (rbuf[i] != byte_of(id, i)) return fail("payload corrupted", id, rank);
            recvd++;
            bytes += count;
        }
    }
    MPI_Waitall(WINDOW, reqs, MPI_STATUSES_IGNORE);
    long all_bytes = 0, all_msgs = 0;
    MPI_Reduce(&bytes, &all_bytes, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&recvd, &all_msgs, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        if (all_msgs != total) return fail("message count mismatch", all_msgs, rank);
        printf("p2p_stress ok: %ld messages, %.1f MiB on %d ranks in %.1f s\n", all_msgs,
               all_bytes / 1048576.0, size, MPI_Wtime() - t0);
    }
    MPI_Finalize();
    return 0;
}
