/* oxbench: the micro-benchmarks behind scripts/bench.
 *
 * One program, compiled once against the MPICH ABI and run unchanged on every
 * MPICH-ABI library (and compiled again for Open MPI), so each library runs
 * the very same code.  Every figure validates what it moved: a wrong byte
 * aborts the run, so no library can look fast by being wrong.
 *
 *   oxbench [-t SECONDS] TEST[:SIZES] ...   runs each TEST in turn:
 *
 *   latency     one-way latency (ping-pong / 2), microseconds
 *   bw          streaming bandwidth 0 -> 1, MB/s
 *   bibw        bidirectional bandwidth, MB/s (both directions together)
 *   rate        8-byte message rate 0 -> 1, messages/s
 *   barrier, bcast, allreduce, alltoall, allgather
 *               collective latency (slowest rank), microseconds
 *   pack        MPI_Pack of 4 MiB in blocks of SIZES bytes (stride twice the
 *               block): MB/s, and that throughput over memcpy's of 4 MiB
 *   ncpingpong  one-way latency of a strided message of SIZES bytes (blocks
 *               of one double, stride two), microseconds
 *   iowrite, ioread, iowrite_indep
 *               MPI-IO: 4 MiB a rank through a view interleaving the ranks
 *               in blocks of SIZES bytes (4 MiB: one contiguous block a
 *               rank), written or read collectively
 *               (write_at_all, read_at_all) or written independently
 *               (write_at): aggregate MB/s; the file is in /tmp (local
 *               disk), or in /dev/shm (tmpfs) for the same tests named
 *               with a _shm suffix
 *   idle        CPU seconds rank 1 burns waiting 2 s in MPI_Recv
 *   hello       names the library loaded (startup is timed by the caller)
 *
 * SIZES is a comma-separated list of byte counts.  Option -t SECONDS sets the
 * time each measurement aims for (default 0.02).  Rank 0 prints one CSV line
 * per measurement: figure,ranks,bytes,value.  Point-to-point tests use ranks
 * 0 and 1; any others wait.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <time.h>

static int rank, nranks;
static const char *self_path;
static double budget = 0.02;

static void fail(const char *what, long iter, long at)
{
    fprintf(stderr, "oxbench: wrong data in %s (iteration %ld, offset %ld) on rank %d\n",
            what, iter, at, rank);
    MPI_Abort(MPI_COMM_WORLD, 3);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "oxbench: out of memory (%zu bytes)\n", n);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    /* Touch every page now, so first-touch faults never land in a timing. */
    memset(p, 0, n);
    return p;
}

/* A stamp marks a buffer cheaply inside timed loops: the first and last four
 * bytes carry a 32-bit tag (shorter buffers carry its low byte(s)). */
static void stamp(unsigned char *buf, size_t n, uint32_t tag)
{
    if (n >= 8) {
        memcpy(buf, &tag, 4);
        memcpy(buf + n - 4, &tag, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)(tag >> (8 * (i % 4)));
    }
}

static void check_stamp(const unsigned char *buf, size_t n, uint32_t tag, const char *what,
                        long iter)
{
    unsigned char want[8];
    stamp(want, n < 8 ? n : 8, tag);
    if (n >= 8) {
        uint32_t a, b;
        memcpy(&a, buf, 4);
        memcpy(&b, buf + n - 4, 4);
        if (a != tag || b != tag)
            fail(what, iter, a != tag ? 0 : (long)n - 4);
    } else if (memcmp(buf, want, n) != 0) {
        fail(what, iter, 0);
    }
}

/* The full pattern, checked before and after timing: every byte depends on
 * its offset and a seed. */
static void fill(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 131u + seed * 7u + (i >> 8));
}

static void check_fill(const unsigned char *buf, size_t n, unsigned seed, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != (unsigned char)(i * 131u + seed * 7u + (i >> 8)))
            fail(what, -1, (long)i);
}

/* Runs body(n) with n doubling until one run takes at least half the budget
 * on the slowest rank; returns that run's seconds per iteration.  Rank 0
 * decides and broadcasts, so every rank runs the same counts. */
typedef double (*body_fn)(long iters, size_t bytes);

static double measure(body_fn body, size_t bytes)
{
    long n = 1;
    for (;;) {
        double t = body(n, bytes), slowest;
        MPI_Allreduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        long next = (slowest >= budget / 2 || n >= (1L << 24)) ? 0 : n * 2;
        MPI_Bcast(&next, 1, MPI_LONG, 0, MPI_COMM_WORLD);
        if (next == 0)
            return slowest / (double)n;
        n = next;
    }
}

/* --- point to point ------------------------------------------------------- */

static unsigned char *pbuf;

static double pingpong(long iters, size_t n)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        if (rank == 0) {
            stamp(pbuf, n, (uint32_t)i);
            MPI_Send(pbuf, (int)n, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
            MPI_Recv(pbuf, (int)n, MPI_BYTE, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            check_stamp(pbuf, n, (uint32_t)i + 1, "pong", i);
        } else if (rank == 1) {
            MPI_Recv(pbuf, (int)n, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            check_stamp(pbuf, n, (uint32_t)i, "ping", i);
            stamp(pbuf, n, (uint32_t)i + 1);
            MPI_Send(pbuf, (int)n, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
        }
    }
    return MPI_Wtime() - t0;
}

/* Whole-buffer round trip outside the timed loop. */
static void verify_pingpong(size_t n)
{
    if (rank == 0) {
        fill(pbuf, n, 1);
        MPI_Send(pbuf, (int)n, MPI_BYTE, 1, 2, MPI_COMM_WORLD);
        MPI_Recv(pbuf, (int)n, MPI_BYTE, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        check_fill(pbuf, n, 2, "pingpong verification");
    } else if (rank == 1) {
        MPI_Recv(pbuf, (int)n, MPI_BYTE, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        check_fill(pbuf, n, 1, "pingpong verification");
        fill(pbuf, n, 2);
        MPI_Send(pbuf, (int)n, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
    }
}

/* Streaming: a window of messages in flight, one slot each, then a short
 * acknowledgement.  The window shrinks for large messages to bound memory. */
#define MAX_WINDOW 64
static unsigned char *sslots, *rslots;
static MPI_Request reqs[2 * MAX_WINDOW];
static int bidirectional;

static int window_for(size_t n)
{
    size_t w = n ? ((size_t)64 << 20) / n : MAX_WINDOW;
    return w > MAX_WINDOW ? MAX_WINDOW : (w < 2 ? 2 : (int)w);
}

static double stream(long iters, size_t n)
{
    int w = window_for(n), ack = 0;
    int sender = rank == 0 || (bidirectional && rank == 1);
    int receiver = rank == 1 || (bidirectional && rank == 0);
    int peer = 1 - rank;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (rank <= 1) {
        for (long i = 0; i < iters; i++) {
            int k = 0;
            if (receiver)
                for (int s = 0; s < w; s++)
                    MPI_Irecv(rslots + s * n, (int)n, MPI_BYTE, peer, 3, MPI_COMM_WORLD,
                              &reqs[k++]);
            if (sender)
                for (int s = 0; s < w; s++) {
                    stamp(sslots + s * n, n, (uint32_t)(i * MAX_WINDOW + s + rank));
                    MPI_Isend(sslots + s * n, (int)n, MPI_BYTE, peer, 3, MPI_COMM_WORLD,
                              &reqs[k++]);
                }
            MPI_Waitall(k, reqs, MPI_STATUSES_IGNORE);
            if (receiver)
                for (int s = 0; s < w; s++)
                    check_stamp(rslots + s * n, n, (uint32_t)(i * MAX_WINDOW + s + peer),
                                "stream", i);
            if (!bidirectional) {
                if (rank == 0)
                    MPI_Recv(&ack, 1, MPI_INT, 1, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                else
                    MPI_Send(&ack, 1, MPI_INT, 0, 4, MPI_COMM_WORLD);
            }
        }
    }
    return MPI_Wtime() - t0;
}

/* --- collectives ---------------------------------------------------------- */

static unsigned char *cin, *cout;

static double barrier_body(long iters, size_t n)
{
    (void)n;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++)
        MPI_Barrier(MPI_COMM_WORLD);
    return MPI_Wtime() - t0;
}

/* A barrier moves no data; check instead that nobody leaves it before the
 * last rank enters. Every rank notes the time, then tells rank 0, which
 * waits 5 ms after hearing from all before it enters: so rank 0 enters at
 * least 5 ms after any other rank noted its time, and a correct barrier
 * holds every rank at least that long (whatever the scheduler does). */
static void verify_barrier(void)
{
    const double delay = 5e-3;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (rank == 0) {
        for (int r = 1; r < nranks; r++)
            MPI_Recv(NULL, 0, MPI_BYTE, r, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        double t1 = MPI_Wtime();
        while (MPI_Wtime() - t1 < delay)
            ;
    } else {
        MPI_Send(NULL, 0, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank != 0 && MPI_Wtime() - t0 < delay)
        fail("barrier (left before rank 0 entered)", -1, 0);
}

static double bcast_body(long iters, size_t n)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        if (rank == 0)
            stamp(cin, n, (uint32_t)i);
        MPI_Bcast(cin, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rank != 0)
            check_stamp(cin, n, (uint32_t)i, "bcast", i);
    }
    return MPI_Wtime() - t0;
}

/* Allreduce sums ints: element k of rank r holds r + k + i, so the result is
 * known exactly; the first and last elements are checked every iteration. */
static double allreduce_body(long iters, size_t n)
{
    int count = (int)(n / sizeof(int));
    int *in = (int *)cin, *out = (int *)cout;
    long ranksum = (long)nranks * (nranks - 1) / 2;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        in[0] = rank + (int)i;
        in[count - 1] = rank + count - 1 + (int)i;
        MPI_Allreduce(in, out, count, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (out[0] != (int)(ranksum + (long)nranks * i) ||
            out[count - 1] != (int)(ranksum + (long)nranks * (count - 1 + i)))
            fail("allreduce", i, out[0] != (int)(ranksum + (long)nranks * i) ? 0 : count - 1);
    }
    return MPI_Wtime() - t0;
}

static void verify_allreduce(size_t n)
{
    int count = (int)(n / sizeof(int));
    int *in = (int *)cin, *out = (int *)cout;
    long ranksum = (long)nranks * (nranks - 1) / 2;
    for (int k = 0; k < count; k++)
        in[k] = rank + k;
    MPI_Allreduce(in, out, count, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int k = 0; k < count; k++)
        if (out[k] != (int)(ranksum + (long)nranks * k))
            fail("allreduce verification", -1, k);
}

/* Block j of rank r's alltoall input is stamped (r, j, i); each received
 * block is checked. */
static double alltoall_body(long iters, size_t n)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        for (int j = 0; j < nranks; j++)
            stamp(cin + j * n, n, (uint32_t)((i << 16) ^ (rank << 8) ^ j));
        MPI_Alltoall(cin, (int)n, MPI_BYTE, cout, (int)n, MPI_BYTE, MPI_COMM_WORLD);
        for (int j = 0; j < nranks; j++)
            check_stamp(cout + j * n, n, (uint32_t)((i << 16) ^ (j << 8) ^ rank), "alltoall",
                        i);
    }
    return MPI_Wtime() - t0;
}

static double allgather_body(long iters, size_t n)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        stamp(cin, n, (uint32_t)((i << 8) ^ rank));
        MPI_Allgather(cin, (int)n, MPI_BYTE, cout, (int)n, MPI_BYTE, MPI_COMM_WORLD);
        for (int j = 0; j < nranks; j++)
            check_stamp(cout + j * n, n, (uint32_t)((i << 8) ^ j), "allgather", i);
    }
    return MPI_Wtime() - t0;
}

/* --- driver --------------------------------------------------------------- */

/* --- datatypes ------------------------------------------------------------- */

#define PACK_BYTES (4u << 20)
static unsigned char *strided, *packed;
static MPI_Datatype blocks;

/* A vector of PACK_BYTES / n blocks of n bytes, stride 2n. */
static void make_blocks(size_t n)
{
    MPI_Type_vector((int)(PACK_BYTES / n), (int)n, (int)(2 * n), MPI_BYTE, &blocks);
    MPI_Type_commit(&blocks);
}

static double pack_body(long iters, size_t n)
{
    (void)n;
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters && rank == 0; i++) {
        int pos = 0;
        MPI_Pack(strided, 1, blocks, packed, PACK_BYTES, &pos, MPI_COMM_SELF);
    }
    return MPI_Wtime() - t0;
}

static double memcpy_body(long iters, size_t n)
{
    (void)n;
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters && rank == 0; i++) {
        memcpy(packed, strided + (i & 1), PACK_BYTES);
        __asm__ __volatile__("" : : "r"(packed) : "memory");
    }
    return MPI_Wtime() - t0;
}

/* Pack, then unpack into a cleared copy: every block back in place, every
 * gap untouched. */
static void verify_pack(size_t n)
{
    if (rank != 0)
        return;
    fill(strided, 2 * PACK_BYTES, 3);
    int pos = 0;
    MPI_Pack(strided, 1, blocks, packed, PACK_BYTES, &pos, MPI_COMM_SELF);
    unsigned char *back = xmalloc(2 * PACK_BYTES);
    memset(back, 0, 2 * PACK_BYTES);
    pos = 0;
    MPI_Unpack(packed, PACK_BYTES, &pos, back, 1, blocks, MPI_COMM_SELF);
    for (size_t i = 0; i < 2 * PACK_BYTES; i++)
        if (back[i] != ((i / n) % 2 ? 0 : strided[i]))
            fail("pack round trip", (long)n, (long)i);
    free(back);
}

static MPI_Datatype every_other;

static double ncpingpong(long iters, size_t n)
{
    int count = (int)(n / sizeof(double));
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        if (rank == 0) {
            MPI_Send(pbuf, count, every_other, 1, 1, MPI_COMM_WORLD);
            MPI_Recv(pbuf, count, every_other, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(pbuf, count, every_other, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(pbuf, count, every_other, 0, 1, MPI_COMM_WORLD);
        }
    }
    return MPI_Wtime() - t0;
}

/* The strided message arrives strided: data slots carry the sender's
 * pattern, gaps keep the receiver's own. */
static void verify_ncpingpong(size_t n)
{
    int count = (int)(n / sizeof(double));
    double *d = (double *)pbuf;
    for (int i = 0; i < 2 * count; i++)
        d[i] = rank == 0 ? i : -1;
    if (rank == 0) {
        MPI_Send(pbuf, count, every_other, 1, 2, MPI_COMM_WORLD);
    } else if (rank == 1) {
        MPI_Recv(pbuf, count, every_other, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int i = 0; i < 2 * count; i++)
            if (d[i] != (i % 2 ? -1.0 : (double)i))
                fail("strided message", (long)n, i);
    }
}

static size_t parse_sizes(const char *list, size_t *out, size_t max)
{
    size_t k = 0;
    const char *p = list;
    while (*p && k < max) {
        char *end;
        out[k++] = (size_t)strtoull(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p)
            break;
    }
    return k;
}

static void report(const char *figure, size_t bytes, double value)
{
    if (rank == 0) {
        printf("%s,%d,%zu,%.6g\n", figure, nranks, bytes, value);
        fflush(stdout);
    }
}

/* --- MPI-IO ----------------------------------------------------------------
 * One file in /tmp seen by every rank through an interleaved view: blocks
 * of n bytes, one per rank in turn, IO_BYTES per rank. One iteration is a
 * collective write (iowrite) or read (ioread) of the whole file, or every
 * rank's independent write of its blocks (iowrite_indep). */

#define IO_BYTES (4 << 20)
static MPI_File iofile;
static unsigned char *iobuf;

static void io_view(size_t n)
{
    MPI_Datatype block, tile;
    MPI_Type_contiguous((int)n, MPI_BYTE, &block);
    MPI_Type_create_resized(block, 0, (MPI_Aint)n * nranks, &tile);
    MPI_Type_commit(&tile);
    MPI_File_set_view(iofile, (MPI_Offset)rank * n, MPI_BYTE, tile, "native", MPI_INFO_NULL);
    MPI_Type_free(&block);
    MPI_Type_free(&tile);
}

/* Which access io_body times: a collective write or read, or independent
 * writes (closed by a barrier, so the time covers every rank's). */
static enum { IO_WRITE_ALL, IO_READ_ALL, IO_WRITE } iokind;

static double io_body(long iters, size_t n)
{
    (void)n;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        if (iokind == IO_WRITE_ALL)
            MPI_File_write_at_all(iofile, 0, iobuf, IO_BYTES, MPI_BYTE, MPI_STATUS_IGNORE);
        else if (iokind == IO_READ_ALL)
            MPI_File_read_at_all(iofile, 0, iobuf, IO_BYTES, MPI_BYTE, MPI_STATUS_IGNORE);
        else
            MPI_File_write_at(iofile, 0, iobuf, IO_BYTES, MPI_BYTE, MPI_STATUS_IGNORE);
    }
    if (iokind == IO_WRITE)
        MPI_Barrier(MPI_COMM_WORLD);
    return MPI_Wtime() - t0;
}

/* Write this rank's pattern, read the file back through a plain byte
 * view at rank 0 and check every block's owner and bytes. */
static void verify_io(size_t n)
{
    fill(iobuf, IO_BYTES, (unsigned)rank + 1);
    MPI_File_write_at_all(iofile, 0, iobuf, IO_BYTES, MPI_BYTE, MPI_STATUS_IGNORE);
    MPI_File_sync(iofile);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_File_sync(iofile);
    unsigned char *mine = xmalloc(IO_BYTES), *want = xmalloc(IO_BYTES);
    MPI_File_read_at_all(iofile, 0, mine, IO_BYTES, MPI_BYTE, MPI_STATUS_IGNORE);
    fill(want, IO_BYTES, (unsigned)rank + 1);
    for (size_t i = 0; i < IO_BYTES; i++)
        if (mine[i] != want[i])
            fail("io read back", 0, (long)i);
    free(mine);
    free(want);
    (void)n;
}

/* --- one-sided ---------------------------------------------------------------
 * A window from MPI_Win_allocate (each library's best flavour) on every rank;
 * rank 0 is the origin, rank 1 the target (the counter of fop is on rank 0). */

#define RMA_BURST 16 /* puts per flush in putbw */
static MPI_Win rwin;
static unsigned char *rbase;
static long fop_total;

/* One put or get of n bytes to rank 1, completed by a flush, per iteration. */
static int rma_get;
static double flush_body(long iters, size_t n)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (rank == 0)
        for (long i = 0; i < iters; i++) {
            if (rma_get)
                MPI_Get(pbuf, (int)n, MPI_BYTE, 1, 0, (int)n, MPI_BYTE, rwin);
            else
                MPI_Put(pbuf, (int)n, MPI_BYTE, 1, 0, (int)n, MPI_BYTE, rwin);
            MPI_Win_flush(1, rwin);
        }
    return MPI_Wtime() - t0;
}

static double putbw_body(long iters, size_t n)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (rank == 0)
        for (long i = 0; i < iters; i++) {
            for (int k = 0; k < RMA_BURST; k++)
                MPI_Put(pbuf + k * n, (int)n, MPI_BYTE, 1, (MPI_Aint)(k * n), (int)n, MPI_BYTE,
                        rwin);
            MPI_Win_flush(1, rwin);
        }
    return MPI_Wtime() - t0;
}

static double lock_body(long iters, size_t n)
{
    (void)n;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (rank == 0)
        for (long i = 0; i < iters; i++) {
            MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 1, 0, rwin);
            MPI_Win_unlock(1, rwin);
        }
    return MPI_Wtime() - t0;
}

/* Every rank adds one to rank 0's counter; the values fetched by one rank
 * only grow. */
static double fop_body(long iters, size_t n)
{
    (void)n;
    long one = 1, got, last = -1;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        MPI_Fetch_and_op(&one, &got, MPI_LONG, 0, 0, MPI_SUM, rwin);
        MPI_Win_flush(0, rwin);
        if (got <= last)
            fail("fop: fetched value did not grow", i, got);
        last = got;
    }
    double t = MPI_Wtime() - t0;
    fop_total += iters;
    return t;
}

/* Put a filled buffer, get it back into another, compare every byte. */
static void verify_rma(size_t n)
{
    if (rank == 0) {
        unsigned char *back = xmalloc(n ? n : 1);
        fill(pbuf, n, 77);
        MPI_Put(pbuf, (int)n, MPI_BYTE, 1, 0, (int)n, MPI_BYTE, rwin);
        MPI_Win_flush(1, rwin);
        MPI_Get(back, (int)n, MPI_BYTE, 1, 0, (int)n, MPI_BYTE, rwin);
        MPI_Win_flush(1, rwin);
        check_fill(back, n, 77, "put then get");
        free(back);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void rma_test(const char *test, const size_t *sizes, size_t nsizes, size_t maxsize)
{
    size_t bytes = RMA_BURST * (maxsize < sizeof(long) ? sizeof(long) : maxsize);
    MPI_Win_allocate((MPI_Aint)bytes, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &rbase, &rwin);
    pbuf = xmalloc(bytes);
    fill(pbuf, bytes, 9);
    if (!strcmp(test, "lock")) {
        report("lock_us", 0, measure(lock_body, 0) * 1e6);
    } else if (!strcmp(test, "fop")) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank, 0, rwin);
        memset(rbase, 0, sizeof(long));
        MPI_Win_unlock(rank, rwin);
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Win_lock_all(0, rwin);
        double per_iter = measure(fop_body, 0);
        MPI_Win_unlock_all(rwin);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            long counter;
            MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, rwin);
            memcpy(&counter, rbase, sizeof counter);
            MPI_Win_unlock(0, rwin);
            if (counter != fop_total * nranks)
                fail("fop: counter", fop_total * nranks, counter);
        }
        report("fop_rate_ops_per_s", 0, nranks / per_iter);
    } else {
        body_fn body = !strcmp(test, "putbw") ? putbw_body : flush_body;
        rma_get = !strcmp(test, "getlat");
        MPI_Win_lock_all(0, rwin);
        measure(body, sizes[0]);
        for (size_t k = 0; k < nsizes; k++) {
            size_t n = sizes[k];
            verify_rma(n);
            double t = measure(body, n);
            if (body == putbw_body)
                report("put_bw_MBps", n, RMA_BURST * n / t / 1e6);
            else
                report(rma_get ? "get_us" : "put_us", n, t * 1e6);
        }
        MPI_Win_unlock_all(rwin);
    }
    MPI_Win_free(&rwin);
    free(pbuf);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static void idle(void)
{
    int token = 0;
    double cpu = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        struct timespec ts = {2, 0};
        nanosleep(&ts, NULL);
        token = 42;
        MPI_Send(&token, 1, MPI_INT, 1, 5, MPI_COMM_WORLD);
    } else if (rank == 1) {
        double c0 = cpu_seconds();
        MPI_Recv(&token, 1, MPI_INT, 0, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        cpu = cpu_seconds() - c0;
        if (token != 42)
            fail("idle", 0, 0);
        MPI_Send(&cpu, 1, MPI_DOUBLE, 0, 6, MPI_COMM_WORLD);
    }
    if (rank == 0)
        MPI_Recv(&cpu, 1, MPI_DOUBLE, 1, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    report("idle_cpu_s", 0, cpu);
}

/* Runs one TEST[:SIZES] argument. */
static void run_test(const char *test, const char *list)
{
    size_t sizes[64], nsizes = parse_sizes(list, sizes, 64), maxsize = 0;
    for (size_t k = 0; k < nsizes; k++)
        maxsize = sizes[k] > maxsize ? sizes[k] : maxsize;
    int p2p = !strcmp(test, "latency") || !strcmp(test, "bw") || !strcmp(test, "bibw") ||
              !strcmp(test, "rate") || !strcmp(test, "idle") || !strcmp(test, "ncpingpong") ||
              !strcmp(test, "putlat") || !strcmp(test, "getlat") || !strcmp(test, "putbw") ||
              !strcmp(test, "lock");
    if (p2p && nranks < 2) {
        if (rank == 0)
            fprintf(stderr, "oxbench: %s needs at least 2 ranks\n", test);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    if (!strcmp(test, "hello")) {
        /* Names the library actually loaded, so a run cannot silently
         * measure the wrong one. */
        char version[MPI_MAX_LIBRARY_VERSION_STRING];
        int len;
        MPI_Get_library_version(version, &len);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            version[strcspn(version, "\n")] = 0;
            printf("library,%d,0,%s\n", nranks, version);
        }
    } else if (!strcmp(test, "idle")) {
        idle();
    } else if (!strcmp(test, "putlat") || !strcmp(test, "getlat") || !strcmp(test, "putbw") ||
               !strcmp(test, "lock") || !strcmp(test, "fop")) {
        rma_test(test, sizes, nsizes, maxsize);
    } else if (!strcmp(test, "pack")) {
        strided = xmalloc(2 * PACK_BYTES);
        packed = xmalloc(PACK_BYTES);
        fill(strided, 2 * PACK_BYTES, 4);
        double copy = measure(memcpy_body, 0);
        for (size_t k = 0; k < nsizes; k++) {
            make_blocks(sizes[k]);
            verify_pack(sizes[k]);
            double t = measure(pack_body, sizes[k]);
            report("pack_MBps", sizes[k], PACK_BYTES / t / 1e6);
            report("pack_over_memcpy", sizes[k], copy / t);
            MPI_Type_free(&blocks);
        }
        free(strided);
        free(packed);
    } else if (!strcmp(test, "ncpingpong")) {
        MPI_Type_vector(1, 1, 2, MPI_DOUBLE, &every_other);
        MPI_Datatype one;
        MPI_Type_create_resized(every_other, 0, 2 * sizeof(double), &one);
        MPI_Type_free(&every_other);
        every_other = one;
        MPI_Type_commit(&every_other);
        pbuf = xmalloc(2 * maxsize);
        measure(ncpingpong, sizes[0]);
        for (size_t k = 0; k < nsizes; k++) {
            verify_ncpingpong(sizes[k]);
            report("nc_latency_us", sizes[k], measure(ncpingpong, sizes[k]) / 2 * 1e6);
        }
        MPI_Type_free(&every_other);
        free(pbuf);
    } else if (!strcmp(test, "spawn")) {
        /* MPI_Comm_spawn of N copies of this program from rank 0 alone,
         * then MPI_Comm_disconnect: the children disconnect at once. Mean
         * wall time of a few rounds after one discarded round. */
        for (size_t k = 0; k < nsizes; k++) {
            int n = (int)sizes[k], rounds = 3;
            double total = 0;
            for (int r = 0; r <= rounds; r++) {
                MPI_Comm ic;
                int *codes = xmalloc(n * sizeof(int));
                double t0 = MPI_Wtime();
                if (MPI_Comm_spawn(self_path, MPI_ARGV_NULL, n, MPI_INFO_NULL, 0, MPI_COMM_SELF,
                                   &ic, codes) != MPI_SUCCESS)
                    fail("spawn", r, n);
                MPI_Comm_disconnect(&ic);
                if (r > 0)
                    total += MPI_Wtime() - t0;
                free(codes);
            }
            report("spawn_disconnect_ms", (size_t)n, total / rounds * 1e3);
        }
    } else if (!strncmp(test, "iowrite", 7) || !strncmp(test, "ioread", 6)) {
        char path[64], kind[32];
        size_t len = strlen(test);
        int shm = len > 4 && !strcmp(test + len - 4, "_shm");
        snprintf(kind, sizeof kind, "%.*s", (int)(shm ? len - 4 : len), test);
        if (strcmp(kind, "iowrite") && strcmp(kind, "ioread") && strcmp(kind, "iowrite_indep")) {
            fprintf(stderr, "oxbench: unknown test %s\n", test);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        long id = (long)getpid();
        MPI_Bcast(&id, 1, MPI_LONG, 0, MPI_COMM_WORLD);
        snprintf(path, sizeof path, "%s/oxbench-io.%ld", shm ? "/dev/shm" : "/tmp", id);
        MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_DELETE_ON_CLOSE,
                      MPI_INFO_NULL, &iofile);
        iobuf = xmalloc(IO_BYTES);
        iokind = !strcmp(kind, "iowrite") ? IO_WRITE_ALL : !strcmp(kind, "ioread") ? IO_READ_ALL : IO_WRITE;
        char figure[64];
        snprintf(figure, sizeof figure, "%s_MBps", test);
        for (size_t k = 0; k < nsizes; k++) {
            io_view(sizes[k]);
            verify_io(sizes[k]);
            report(figure, sizes[k], (double)IO_BYTES * nranks / measure(io_body, sizes[k]) / 1e6);
        }
        MPI_File_close(&iofile);
        free(iobuf);
    } else if (!strcmp(test, "latency")) {
        pbuf = xmalloc(maxsize);
        /* A discarded first sweep point: first-touch and connection setup. */
        measure(pingpong, sizes[0]);
        for (size_t k = 0; k < nsizes; k++) {
            verify_pingpong(sizes[k]);
            report("latency_us", sizes[k], measure(pingpong, sizes[k]) / 2 * 1e6);
        }
        free(pbuf);
    } else if (!strcmp(test, "bw") || !strcmp(test, "bibw") || !strcmp(test, "rate")) {
        int rate = !strcmp(test, "rate");
        bidirectional = !strcmp(test, "bibw");
        if (rate) {
            nsizes = 1;
            sizes[0] = maxsize = 8;
        }
        size_t slots = 0;
        for (size_t k = 0; k < nsizes; k++) {
            size_t need = (size_t)window_for(sizes[k]) * sizes[k];
            slots = need > slots ? need : slots;
        }
        sslots = xmalloc(slots);
        rslots = xmalloc(slots);
        pbuf = xmalloc(maxsize);
        measure(stream, sizes[0]);
        for (size_t k = 0; k < nsizes; k++) {
            size_t n = sizes[k];
            verify_pingpong(n);
            double per_iter = measure(stream, n);
            double msgs = (double)window_for(n) * (bidirectional ? 2 : 1);
            if (rate)
                report("rate_msgs_per_s", n, msgs / per_iter);
            else
                report(bidirectional ? "bibw_MBps" : "bw_MBps", n, msgs * n / per_iter / 1e6);
        }
        free(sslots);
        free(rslots);
        free(pbuf);
    } else {
        body_fn body = !strcmp(test, "barrier")     ? barrier_body
                       : !strcmp(test, "bcast")     ? bcast_body
                       : !strcmp(test, "allreduce") ? allreduce_body
                       : !strcmp(test, "alltoall")  ? alltoall_body
                       : !strcmp(test, "allgather") ? allgather_body
                                                    : NULL;
        if (!body) {
            if (rank == 0)
                fprintf(stderr, "oxbench: unknown test '%s'\n", test);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        size_t per_rank = maxsize < 2 * sizeof(int) ? 2 * sizeof(int) : maxsize;
        cin = xmalloc(per_rank * nranks);
        cout = xmalloc(per_rank * nranks);
        char figure[64];
        snprintf(figure, sizeof figure, "%s_us", test);
        for (size_t k = 0; k < nsizes; k++) {
            size_t n = sizes[k];
            if (body == barrier_body)
                verify_barrier();
            if (body == allreduce_body) {
                n = n < 2 * sizeof(int) ? 2 * sizeof(int) : n - n % sizeof(int);
                verify_allreduce(n);
            }
            report(figure, body == barrier_body ? 0 : n, measure(body, n) * 1e6);
            if (body == barrier_body)
                break;
        }
        free(cin);
        free(cout);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    self_path = argv[0];
    MPI_Comm parent;
    MPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL) {
        /* Started by the spawn test: only connect and leave. */
        MPI_Comm_disconnect(&parent);
        MPI_Finalize();
        return 0;
    }
    int tests = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            budget = atof(argv[++i]);
            continue;
        }
        char name[32];
        const char *colon = strchr(argv[i], ':');
        size_t len = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
        snprintf(name, sizeof name, "%.*s", (int)len, argv[i]);
        run_test(name, colon ? colon + 1 : "0");
        tests++;
    }
    if (!tests && rank == 0)
        fprintf(stderr, "usage: oxbench [-t SECONDS] TEST[:SIZES] ...\n");
    MPI_Finalize();
    return tests ? 0 : 2;
}
