/* collcheck: a PMPI tool that checks every broadcast and reduction a real
 * program makes, while it runs. Build it as a shared object against MPICH's
 * mpi.h and preload it into any MPICH-ABI program:
 *
 *   gcc -shared -fPIC -O2 -I/usr/include/x86_64-linux-gnu/mpich \
 *       -o libcollcheck.so collcheck.c
 *   LD_PRELOAD=./libcollcheck.so mpiexec -n 4 ./app
 *
 * For each MPI_Bcast, MPI_Reduce and MPI_Allreduce (on intracommunicators)
 * every member saves its input, makes the call, then
 *   1. runs the same operation again through the nonblocking form
 *      (MPI_Ibcast, ...) on copies: that form always goes by messages, so
 *      the two paths are compared on the program's own data; and
 *   2. sends its input and both outputs to the checking rank (the root, or
 *      rank 0 of an allreduce), which computes the reference locally with
 *      MPI_Reduce_local in the order OxMPI documents (see `reference`).
 * Verdicts, per call:
 *   wrong      a broadcast differs from the root's data; a reduction of
 *              integers, logicals, MINLOC/MAXLOC pairs or through a user
 *              operation differs from the reference; an allreduce differs
 *              between ranks; or a result is off the reference by more than
 *              rounding could explain (relative 1e-6 for float, 1e-12 for
 *              double);
 *   reordered  a floating-point sum or product that differs from the
 *              reference only in rounding (a reduction too large for the
 *              node-local cells, which the message path splits, or another
 *              MPI library).
 * The first wrong calls are described on stderr; MPI_Finalize prints one
 * summary line per rank ("collcheck: rank R ..."). COLLCHECK_TRACE=1 also
 * prints one line per checked call (the trace of the program's
 * collectives). Checking traffic goes over a duplicate of
 * MPI_COMM_WORLD made in MPI_Init, by point-to-point messages only. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "order.h"

#define TAG 7177
#define MAX_OPS 4096

static MPI_Comm chk = MPI_COMM_NULL;
static int wrank = -1, trace;
static long n_bcast, n_reduce, n_allreduce, n_wrong, n_reordered, n_paths_differ;
static double worst_reorder;
/* Receives that match whichever sender comes first: where a program's
 * results may depend on timing, whatever the library does. */
static long n_recv, n_any_source;
/* COLLCHECK_RECORD=PREFIX writes the sender each such MPI_Recv matched to
 * PREFIX.RANK; COLLCHECK_REPLAY=PREFIX makes a later run's receives match
 * the same senders, so that two runs (node-local collectives on and off,
 * say) see the same arrival order. */
static FILE *record, *replay;

/* User functions by operation handle, for the reference. */
static struct {
    MPI_Op op;
    MPI_User_function *fn;
} user_ops[MAX_OPS];

static void setup(void)
{
    PMPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    PMPI_Comm_dup(MPI_COMM_WORLD, &chk);
    trace = getenv("COLLCHECK_TRACE") ? atoi(getenv("COLLCHECK_TRACE")) : 0;
    char path[4096];
    if (getenv("COLLCHECK_RECORD")) {
        snprintf(path, sizeof path, "%s.%d", getenv("COLLCHECK_RECORD"), wrank);
        record = fopen(path, "w");
    }
    if (getenv("COLLCHECK_REPLAY")) {
        snprintf(path, sizeof path, "%s.%d", getenv("COLLCHECK_REPLAY"), wrank);
        replay = fopen(path, "r");
    }
}

int MPI_Init(int *argc, char ***argv)
{
    int rc = PMPI_Init(argc, argv);
    if (rc == MPI_SUCCESS)
        setup();
    return rc;
}

int MPI_Init_thread(int *argc, char ***argv, int req, int *prov)
{
    int rc = PMPI_Init_thread(argc, argv, req, prov);
    if (rc == MPI_SUCCESS)
        setup();
    return rc;
}

int MPI_Op_create(MPI_User_function *fn, int commute, MPI_Op *op)
{
    int rc = PMPI_Op_create(fn, commute, op);
    if (rc == MPI_SUCCESS)
        for (int i = 0; i < MAX_OPS; i++)
            if (user_ops[i].fn == NULL || user_ops[i].op == *op) {
                user_ops[i].op = *op;
                user_ops[i].fn = fn;
                break;
            }
    return rc;
}

int MPI_Finalize(void)
{
    if (record)
        fclose(record);
    if (replay)
        fclose(replay);
    fprintf(stderr,
            "collcheck: rank %d: %ld bcast, %ld reduce, %ld allreduce checked; "
            "%ld wrong, %ld reordered (worst relative %.2g), %ld differ between paths; "
            "%ld of %ld receives from MPI_ANY_SOURCE\n",
            wrank, n_bcast, n_reduce, n_allreduce, n_wrong, n_reordered, worst_reorder,
            n_paths_differ, n_any_source, n_recv);
    return PMPI_Finalize();
}

/* A buffer of `count` elements of `dt`: memory laid out as the type says,
 * and the packed bytes of its data. */
typedef struct {
    char *mem, *base; /* allocation; where element 0 starts */
    char *packed;
    int psize;
} Buf;

static void buf_alloc(Buf *b, int count, MPI_Datatype dt, MPI_Comm comm)
{
    MPI_Aint lb, extent, tlb, textent;
    PMPI_Type_get_extent(dt, &lb, &extent);
    PMPI_Type_get_true_extent(dt, &tlb, &textent);
    MPI_Aint span = count > 0 ? (count - 1) * (extent < 0 ? -extent : extent) + textent : 0;
    b->mem = calloc(1, span + 16);
    b->base = b->mem - tlb + (count > 0 && extent < 0 ? (count - 1) * -extent : 0);
    PMPI_Pack_size(count, dt, comm, &b->psize);
    b->packed = calloc(1, b->psize + 1);
}

static void buf_free(Buf *b)
{
    free(b->mem);
    free(b->packed);
}

/* Pack `count` elements at `from` into b->packed (psize becomes exact). */
static void pack(Buf *b, const void *from, int count, MPI_Datatype dt, MPI_Comm comm)
{
    int pos = 0;
    PMPI_Pack(from, count, dt, b->packed, b->psize, &pos, comm);
    b->psize = pos;
}

static void unpack(Buf *b, int count, MPI_Datatype dt, MPI_Comm comm)
{
    int pos = 0;
    PMPI_Unpack(b->packed, b->psize, &pos, b->base, count, dt, comm);
}

/* The world rank of every member of `comm`. */
static int *members(MPI_Comm comm, int n)
{
    MPI_Group g, wg;
    int *ranks = malloc(n * sizeof *ranks), *world = malloc(n * sizeof *world);
    for (int i = 0; i < n; i++)
        ranks[i] = i;
    PMPI_Comm_group(comm, &g);
    PMPI_Comm_group(MPI_COMM_WORLD, &wg);
    PMPI_Group_translate_ranks(g, n, ranks, wg, world);
    PMPI_Group_free(&g);
    PMPI_Group_free(&wg);
    free(ranks);
    return world;
}

/* Send `parts` byte strings to world rank `to` as one message. */
static void send_parts(int to, int nparts, char **p, int *len)
{
    int total = nparts * (int)sizeof(int);
    for (int i = 0; i < nparts; i++)
        total += len[i];
    char *msg = malloc(total), *at = msg;
    memcpy(at, len, nparts * sizeof(int));
    at += nparts * sizeof(int);
    for (int i = 0; i < nparts; i++) {
        memcpy(at, p[i], len[i]);
        at += len[i];
    }
    PMPI_Send(msg, total, MPI_BYTE, to, TAG, chk);
    free(msg);
}

/* Receive such a message from world rank `from`: parts point into it. */
static char *recv_parts(int from, int nparts, char **p, int *len)
{
    MPI_Status st;
    int total;
    PMPI_Probe(from, TAG, chk, &st);
    PMPI_Get_count(&st, MPI_BYTE, &total);
    char *msg = malloc(total), *at = msg;
    PMPI_Recv(msg, total, MPI_BYTE, from, TAG, chk, MPI_STATUS_IGNORE);
    memcpy(len, at, nparts * sizeof(int));
    at += nparts * sizeof(int);
    for (int i = 0; i < nparts; i++) {
        p[i] = at;
        at += len[i];
    }
    return msg;
}

static int is_float(MPI_Datatype dt, MPI_Op op, int *dbl)
{
    if (op != MPI_SUM && op != MPI_PROD)
        return 0;
    *dbl = dt == MPI_DOUBLE || dt == MPI_DOUBLE_PRECISION || dt == MPI_C_DOUBLE_COMPLEX ||
           dt == MPI_DOUBLE_COMPLEX || dt == MPI_REAL8 || dt == MPI_COMPLEX16;
    return *dbl || dt == MPI_FLOAT || dt == MPI_REAL || dt == MPI_C_FLOAT_COMPLEX ||
           dt == MPI_COMPLEX || dt == MPI_REAL4 || dt == MPI_COMPLEX8;
}

/* Largest difference of `got` from `ref` relative to the largest |ref|
 * (packed floats or doubles). */
static double rel_diff(const char *got, const char *ref, int bytes, int dbl)
{
    double worst = 0, scale = 0;
    int n = bytes / (dbl ? 8 : 4);
    for (int i = 0; i < n; i++) {
        double g, r;
        if (dbl) {
            memcpy(&g, got + 8 * i, 8);
            memcpy(&r, ref + 8 * i, 8);
        } else {
            float gf, rf;
            memcpy(&gf, got + 4 * i, 4);
            memcpy(&rf, ref + 4 * i, 4);
            g = gf;
            r = rf;
        }
        if (isnan(g) != isnan(r))
            return INFINITY;
        if (fabs(r) > scale)
            scale = fabs(r);
        if (!isnan(g) && fabs(g - r) > worst)
            worst = fabs(g - r);
    }
    return scale > 0 ? worst / scale : worst;
}

static void describe(const char *what, int comm_size, int root, int count, MPI_Datatype dt,
                     MPI_Op op, int psize)
{
    fprintf(stderr,
            "collcheck: rank %d: %s on %d ranks, root %d, count %d, datatype 0x%x, op 0x%x, "
            "%d bytes\n",
            wrank, what, comm_size, root, count, (unsigned)dt, (unsigned)op, psize);
}

/* FNV-1a of a call's data, for comparing the traces of two runs. */
static unsigned long long fnv(const char *p, int len)
{
    unsigned long long h = 1469598103934665603ULL;
    for (int i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void trace_data(const char *what, const char *in, int inlen, const char *out, int outlen)
{
    if (trace > 1)
        fprintf(stderr, "collcheck: rank %d: data %s in %016llx out %016llx\n", wrank, what,
                fnv(in, inlen), fnv(out, outlen));
    /* Level 3: the input as doubles, when it is a whole number of them. */
    if (trace > 2 && inlen % 8 == 0)
        for (int i = 0; i < inlen / 8; i++) {
            double v;
            memcpy(&v, in + 8 * i, 8);
            fprintf(stderr, "collcheck: rank %d:   [%d] %.17g\n", wrank, i, v);
        }
}

static int intra(MPI_Comm comm)
{
    int inter = 0;
    if (chk == MPI_COMM_NULL || comm == MPI_COMM_NULL)
        return 0;
    PMPI_Comm_test_inter(comm, &inter);
    return !inter;
}

/* At comm rank `checker`: the parts of member `r`, its own without a
 * message. Returns what to free. */
static char *parts_of(int r, int rank, int *world, int nparts, char **mine, int *mylen,
                      char **p, int *len)
{
    if (r == rank) {
        memcpy(p, mine, nparts * sizeof *p);
        memcpy(len, mylen, nparts * sizeof *len);
        return NULL;
    }
    return recv_parts(world[r], nparts, p, len);
}

int MPI_Bcast(void *buf, int count, MPI_Datatype dt, int root, MPI_Comm comm)
{
    if (!intra(comm))
        return PMPI_Bcast(buf, count, dt, root, comm);
    int rank, n;
    PMPI_Comm_rank(comm, &rank);
    PMPI_Comm_size(comm, &n);
    Buf in, out, alt;
    buf_alloc(&in, count, dt, comm);
    buf_alloc(&out, count, dt, comm);
    buf_alloc(&alt, count, dt, comm);
    if (rank == root)
        pack(&in, buf, count, dt, comm);
    int rc = PMPI_Bcast(buf, count, dt, root, comm);
    if (rc != MPI_SUCCESS)
        goto done;
    n_bcast++;
    pack(&out, buf, count, dt, comm);
    /* The message path on a copy. */
    if (rank == root) {
        memcpy(alt.packed, in.packed, in.psize);
        alt.psize = in.psize;
        unpack(&alt, count, dt, comm);
    }
    MPI_Request req;
    PMPI_Ibcast(alt.base, count, dt, root, comm, &req);
    PMPI_Wait(&req, MPI_STATUS_IGNORE);
    pack(&alt, alt.base, count, dt, comm);
    if (memcmp(out.packed, alt.packed, out.psize) || out.psize != alt.psize)
        n_paths_differ++;
    trace_data("bcast", in.packed, rank == root ? in.psize : 0, out.packed, out.psize);
    int *world = members(comm, n);
    char *mine[2] = {out.packed, alt.packed};
    int mylen[2] = {out.psize, alt.psize};
    if (rank != root) {
        send_parts(world[root], 2, mine, mylen);
    } else {
        if (trace)
            describe("trace bcast", n, root, count, dt, MPI_OP_NULL, in.psize);
        for (int r = 0; r < n; r++) {
            char *q[2];
            int ql[2];
            char *msg = parts_of(r, rank, world, 2, mine, mylen, q, ql);
            int bad_blocking = ql[0] != in.psize || memcmp(q[0], in.packed, in.psize);
            int bad_messages = ql[1] != in.psize || memcmp(q[1], in.packed, in.psize);
            if ((bad_blocking || bad_messages) && n_wrong++ < 20) {
                describe("WRONG bcast", n, root, count, dt, MPI_OP_NULL, in.psize);
                fprintf(stderr, "collcheck:   comm rank %d: blocking call %s, nonblocking %s\n",
                        r, bad_blocking ? "wrong" : "right", bad_messages ? "wrong" : "right");
            }
            free(msg);
        }
    }
    free(world);
done:
    buf_free(&in);
    buf_free(&out);
    buf_free(&alt);
    return rc;
}

/* part a = part a op part b (MPI_Reduce_local computes inout = in op inout,
 * so the result lands in b's buffer, which part a then takes). */
static void step(Buf *parts, int a, int b, int count, MPI_Datatype dt, MPI_Op op)
{
    PMPI_Reduce_local(parts[a].base, parts[b].base, count, dt, op);
    Buf t = parts[a];
    parts[a] = parts[b];
    parts[b] = t;
}

/* Combine parts[0..n) (rank i's input in part i) in the order OxMPI
 * documents (order.h). Returns the part holding the result. */
static int reference(Buf *parts, int n, int root, int count, MPI_Datatype dt, MPI_Op op)
{
    int commute = 0;
    PMPI_Op_commutative(op, &commute);
    int (*steps)[2] = calloc(n, sizeof *steps);
    int result = reduction_order(n, root, commute, steps);
    for (int i = 0; i < n - 1; i++)
        step(parts, steps[i][0], steps[i][1], count, dt, op);
    free(steps);
    return result;
}

/* At the checker of a reduction: every member's input and outputs against
 * the reference. */
static void verify(MPI_Comm comm, int n, int rank, int root, int count, MPI_Datatype dt,
                   MPI_Op op, int *world, char **mine, int *mylen)
{
    int checker = root < 0 ? 0 : root;
    if (trace)
        describe(root < 0 ? "trace allreduce" : "trace reduce", n, root, count, dt, op, mylen[0]);
    /* The reference, by MPI_Reduce_local in the documented order. */
    Buf *parts = calloc(n, sizeof *parts);
    char *q[3], *msgs[n];
    int ql[3], outs_len[n];
    char *outs[n], *alts[n];
    for (int r = 0; r < n; r++) {
        msgs[r] = parts_of(r, rank, world, 3, mine, mylen, q, ql);
        outs[r] = q[1];
        outs_len[r] = ql[1];
        alts[r] = q[2];
        buf_alloc(&parts[r], count, dt, comm);
        memcpy(parts[r].packed, q[0], ql[0]);
        parts[r].psize = ql[0];
        unpack(&parts[r], count, dt, comm);
    }
    int result = reference(parts, n, root, count, dt, op);
    Buf acc = parts[result];
    pack(&acc, acc.base, count, dt, comm);
    int dbl = 0, fl = is_float(dt, op, &dbl);
    for (int r = 0; r < n; r++) {
        if (!(root < 0 || r == root))
            continue;
        for (int path = 0; path < 2; path++) {
            char *got = path ? alts[r] : outs[r];
            int same = outs_len[r] == acc.psize && !memcmp(got, acc.packed, acc.psize);
            /* Every rank of an allreduce gets the same bits. */
            int agree = root >= 0 || !memcmp(got, path ? alts[0] : outs[0], acc.psize);
            double d = same ? 0 : fl ? rel_diff(got, acc.packed, acc.psize, dbl) : INFINITY;
            int rounding = d <= (dbl ? 1e-12 : 1e-6) * n;
            if (same && agree)
                continue;
            if (fl && rounding && agree) {
                if (path == 0 && r == checker) {
                    n_reordered++;
                    if (d > worst_reorder)
                        worst_reorder = d;
                }
                continue;
            }
            if (n_wrong++ < 20) {
                describe(root < 0 ? "WRONG allreduce" : "WRONG reduce", n, root, count, dt, op,
                         acc.psize);
                fprintf(stderr, "collcheck:   comm rank %d, %s call: %s (relative %.3g)\n", r,
                        path ? "nonblocking" : "blocking",
                        agree ? "differs from the reference" : "ranks disagree", d);
            }
        }
    }
    for (int r = 0; r < n; r++) {
        free(msgs[r]);
        buf_free(&parts[r]);
    }
    free(parts);
}

/* One reduction (`root` < 0: allreduce), checked. */
static int reduction(const void *sendbuf, void *recvbuf, int count, MPI_Datatype dt, MPI_Op op,
                     int root, MPI_Comm comm)
{
    int rank, n;
    PMPI_Comm_rank(comm, &rank);
    PMPI_Comm_size(comm, &n);
    int receives = root < 0 || rank == root;
    const void *input = sendbuf == MPI_IN_PLACE ? recvbuf : sendbuf;
    Buf in, out, alt, alt_in;
    buf_alloc(&in, count, dt, comm);
    buf_alloc(&out, count, dt, comm);
    buf_alloc(&alt, count, dt, comm);
    buf_alloc(&alt_in, count, dt, comm);
    pack(&in, input, count, dt, comm);
    int rc = root < 0 ? PMPI_Allreduce(sendbuf, recvbuf, count, dt, op, comm)
                      : PMPI_Reduce(sendbuf, recvbuf, count, dt, op, root, comm);
    if (rc != MPI_SUCCESS)
        goto done;
    if (receives)
        pack(&out, recvbuf, count, dt, comm);
    else
        out.psize = 0;
    /* The message path on copies. */
    memcpy(alt_in.packed, in.packed, in.psize);
    alt_in.psize = in.psize;
    unpack(&alt_in, count, dt, comm);
    MPI_Request req;
    if (root < 0)
        PMPI_Iallreduce(alt_in.base, alt.base, count, dt, op, comm, &req);
    else
        PMPI_Ireduce(alt_in.base, alt.base, count, dt, op, root, comm, &req);
    PMPI_Wait(&req, MPI_STATUS_IGNORE);
    if (receives)
        pack(&alt, alt.base, count, dt, comm);
    else
        alt.psize = 0;
    if (out.psize != alt.psize || memcmp(out.packed, alt.packed, out.psize))
        n_paths_differ++;
    trace_data(root < 0 ? "allreduce" : "reduce", in.packed, in.psize, out.packed, out.psize);
    int checker = root < 0 ? 0 : root;
    int *world = members(comm, n);
    char *mine[3] = {in.packed, out.packed, alt.packed};
    int mylen[3] = {in.psize, out.psize, alt.psize};
    if (rank != checker)
        send_parts(world[checker], 3, mine, mylen);
    else
    verify(comm, n, rank, root, count, dt, op, world, mine, mylen);
    free(world);
done:
    buf_free(&in);
    buf_free(&out);
    buf_free(&alt);
    buf_free(&alt_in);
    return rc;
}

int MPI_Reduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype dt, MPI_Op op,
               int root, MPI_Comm comm)
{
    if (!intra(comm))
        return PMPI_Reduce(sendbuf, recvbuf, count, dt, op, root, comm);
    n_reduce++;
    return reduction(sendbuf, recvbuf, count, dt, op, root, comm);
}

int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype dt, MPI_Op op,
                  MPI_Comm comm)
{
    if (!intra(comm))
        return PMPI_Allreduce(sendbuf, recvbuf, count, dt, op, comm);
    n_allreduce++;
    return reduction(sendbuf, recvbuf, count, dt, op, -1, comm);
}

int MPI_Recv(void *buf, int count, MPI_Datatype dt, int source, int tag, MPI_Comm comm,
             MPI_Status *status)
{
    n_recv++;
    if (source != MPI_ANY_SOURCE)
        return PMPI_Recv(buf, count, dt, source, tag, comm, status);
    n_any_source++;
    MPI_Status st;
    /* Replaying: take the sender this receive matched in the recorded run. */
    int recorded;
    if (replay && fscanf(replay, "%d", &recorded) == 1)
        source = recorded;
    int rc = PMPI_Recv(buf, count, dt, source, tag, comm, &st);
    if (trace > 1)
        fprintf(stderr, "collcheck: rank %d: recv from any source: got %d\n", wrank, st.MPI_SOURCE);
    if (record)
        fprintf(record, "%d\n", st.MPI_SOURCE);
    if (status != MPI_STATUS_IGNORE)
        *status = st;
    return rc;
}

int MPI_Irecv(void *buf, int count, MPI_Datatype dt, int source, int tag, MPI_Comm comm,
              MPI_Request *req)
{
    n_recv++;
    n_any_source += source == MPI_ANY_SOURCE;
    return PMPI_Irecv(buf, count, dt, source, tag, comm, req);
}
