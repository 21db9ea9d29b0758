/* Differential stress test of the collectives: random sequences of
 * barriers, broadcasts, reductions, allreduces, allgathers (plain and v),
 * all-to-alls and scans, with random roots, counts on both sides of the
 * node-local size limit (1 KiB), predefined and derived datatypes,
 * predefined and user operations (one not commutative, one on a type with
 * holes), on overlapping communicators made as BLACS makes them (a grid of
 * P x Q ranks with the others left out, its row and column communicators,
 * a duplicate), created and freed as the run goes, with point-to-point
 * traffic in between and some ranks slowed down at random.
 *
 * Every rank can compute every rank's input (a hash of seed, step and
 * rank), so every result is checked against a reference computed locally:
 * data-moving results and exact types byte for byte; floating-point
 * reductions of real numbers bit for bit against the order OxMPI documents
 * (the binomial tree for MPI_Reduce, recursive doubling for MPI_Allreduce),
 * and against the nonblocking form, which always goes by messages. Holes
 * of derived types must come back untouched.
 *
 * Usage: coll_stress STEPS [SEED]. Prints "coll_stress ok: N collectives"
 * on rank 0 when every check passed. */
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_NAME "coll_stress"
#include "check.h"
#include "order.h"

static int wsize;

/* ---- random numbers: every member of a collective draws the same ------ */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t global_state;
static uint64_t grand(void) { return global_state = mix(global_state); }
static int gpick(int n) { return (int)(grand() % (uint64_t)n); }

/* ---- element kinds ------------------------------------------------------ */

enum kind { K_INT, K_DOUBLE, K_REAL, K_FLOAT, K_DOUBLE_INT, K_CHAR, K_STRIDED, K_PAIR, K_MAT, NKINDS };

typedef struct {
    double v;
    int i;
} dint;

/* The struct of K_PAIR: a value, a hole, an index (as BLACS's amx). */
typedef struct {
    double v;
    int i;
    int hole;
} pair;

static MPI_Datatype strided, pair_t, mat_t;
static MPI_Op op_absmax, op_matmul;

/* Element size in the packed data, and extent in memory. */
static size_t esize(int k)
{
    switch (k) {
    case K_INT: return 4;
    case K_DOUBLE: case K_REAL: case K_STRIDED: return 8;
    case K_FLOAT: return 4;
    case K_DOUBLE_INT: return sizeof(dint);
    case K_CHAR: return 1;
    case K_PAIR: return sizeof(pair);
    case K_MAT: return 16;
    }
    return 0;
}

static size_t extent(int k) { return k == K_STRIDED ? 16 : esize(k); }

/* Bytes of data at the start of an element; the rest of its extent is a
 * hole (padding of MPI_DOUBLE_INT and of the struct, the stride). */
static size_t data_len(int k)
{
    switch (k) {
    case K_STRIDED: return 8;
    case K_DOUBLE_INT: return offsetof(dint, i) + sizeof(int);
    case K_PAIR: return offsetof(pair, hole);
    }
    return esize(k);
}

static MPI_Datatype dtype(int k)
{
    switch (k) {
    case K_INT: return MPI_INT;
    case K_DOUBLE: case K_REAL: return MPI_DOUBLE;
    case K_FLOAT: return MPI_FLOAT;
    case K_DOUBLE_INT: return MPI_DOUBLE_INT;
    case K_CHAR: return MPI_CHAR;
    case K_STRIDED: return strided;
    case K_PAIR: return pair_t;
    case K_MAT: return mat_t;
    }
    return MPI_DATATYPE_NULL;
}

/* Element `i` of rank `r`'s input at step `step`, written at `p`. Values
 * of K_DOUBLE and K_FLOAT are small integers, so sums are exact in any
 * order; K_REAL is real numbers, where the order shows. */
static void gen(int k, uint64_t step, int r, size_t i, int salt, char *p)
{
    uint64_t h = mix(step * 0x100000001b3ULL ^ ((uint64_t)r << 48) ^ ((uint64_t)salt << 40) ^ i);
    int small = (int)(h % 2001) - 1000;
    switch (k) {
    case K_INT: { int v = small; memcpy(p, &v, 4); break; }
    case K_DOUBLE: case K_STRIDED: { double v = small; memcpy(p, &v, 8); break; }
    case K_REAL: { double v = ((double)(h >> 11) / 9007199254740992.0 - 0.5) * 1e3 * ((h & 7) + 1); memcpy(p, &v, 8); break; }
    case K_FLOAT: { float v = (float)(small % 100); memcpy(p, &v, 4); break; }
    case K_DOUBLE_INT: { dint v = {(double)(small % 5), (int)(h >> 40) % 1000}; memcpy(p, &v, sizeof v); break; }
    case K_CHAR: { char v = (char)h; memcpy(p, &v, 1); break; }
    case K_PAIR: { pair v = {(double)(small % 7), r, 0}; memcpy(p, &v, sizeof v); break; }
    case K_MAT: { int v[4] = {(int)(h & 3), (int)((h >> 2) & 3), (int)((h >> 4) & 3), (int)((h >> 6) & 3)}; memcpy(p, v, 16); break; }
    }
}

/* ---- operations ------------------------------------------------------------ */

static void absmax(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    pair *a = in, *b = inout;
    for (int i = 0; i < *len; i++) {
        double x = a[i].v < 0 ? -a[i].v : a[i].v, y = b[i].v < 0 ? -b[i].v : b[i].v;
        if (x > y || (x == y && a[i].i < b[i].i)) {
            b[i].v = a[i].v;
            b[i].i = a[i].i;
        }
    }
}

/* 2x2 matrices of unsigned 32-bit integers multiplied: associative, not
 * commutative, so the operands must meet in rank order. */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    uint32_t *a = in, *b = inout;
    for (int k = 0; k < *len; k++, a += 4, b += 4) {
        uint32_t c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                         a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]};
        memcpy(b, c, sizeof c);
    }
}

/* The operations each kind is reduced with. */
static MPI_Op pick_op(int k)
{
    switch (k) {
    case K_INT: { MPI_Op o[] = {MPI_SUM, MPI_MAX, MPI_MIN, MPI_BXOR, MPI_BAND}; return o[gpick(5)]; }
    case K_DOUBLE: case K_REAL: { MPI_Op o[] = {MPI_SUM, MPI_SUM, MPI_MAX, MPI_MIN}; return o[gpick(4)]; }
    case K_FLOAT: return gpick(2) ? MPI_SUM : MPI_MAX;
    case K_DOUBLE_INT: return gpick(2) ? MPI_MAXLOC : MPI_MINLOC;
    case K_PAIR: return op_absmax;
    case K_MAT: return op_matmul;
    }
    return MPI_OP_NULL;
}

/* inout = in op inout, for `n` elements in memory layout. */
static void apply(MPI_Op op, int k, const char *in, char *inout, int n)
{
    if (op == op_absmax) { absmax((void *)in, inout, &n, NULL); return; }
    if (op == op_matmul) { matmul((void *)in, inout, &n, NULL); return; }
    for (int i = 0; i < n; i++) {
        if (k == K_INT) {
            int a, b;
            memcpy(&a, in + 4 * i, 4); memcpy(&b, inout + 4 * i, 4);
            int c = op == MPI_SUM ? a + b : op == MPI_MAX ? (a > b ? a : b) : op == MPI_MIN ? (a < b ? a : b)
                  : op == MPI_BXOR ? a ^ b : a & b;
            memcpy(inout + 4 * i, &c, 4);
        } else if (k == K_DOUBLE || k == K_REAL) {
            double a, b;
            memcpy(&a, in + 8 * i, 8); memcpy(&b, inout + 8 * i, 8);
            double c = op == MPI_SUM ? a + b : op == MPI_MAX ? (a > b ? a : b) : (a < b ? a : b);
            memcpy(inout + 8 * i, &c, 8);
        } else if (k == K_FLOAT) {
            float a, b;
            memcpy(&a, in + 4 * i, 4); memcpy(&b, inout + 4 * i, 4);
            float c = op == MPI_SUM ? a + b : (a > b ? a : b);
            memcpy(inout + 4 * i, &c, 4);
        } else if (k == K_DOUBLE_INT) {
            dint a, b;
            memcpy(&a, in + sizeof a * i, sizeof a); memcpy(&b, inout + sizeof b * i, sizeof b);
            int take = op == MPI_MAXLOC ? (a.v > b.v || (a.v == b.v && a.i < b.i))
                                        : (a.v < b.v || (a.v == b.v && a.i < b.i));
            if (take)
                memcpy(inout + sizeof b * i, &a, sizeof a);
        }
    }
}

/* ---- buffers ----------------------------------------------------------------- */

#define HOLE 0x5a

/* `n` elements of kind k at `p` (memory layout), from rank r's input;
 * holes set to HOLE. */
static void fill(int k, uint64_t step, int r, int salt, char *p, int n)
{
    for (int i = 0; i < n; i++) {
        char *e = p + extent(k) * i;
        gen(k, step, r, i, salt, e);
        memset(e + data_len(k), HOLE, extent(k) - data_len(k));
    }
}

/* Compare `n` elements at `got` with `want`: the data, and that the holes
 * were left alone. */
static int same(int k, const char *got, const char *want, int n)
{
    for (int i = 0; i < n; i++) {
        const char *g = got + extent(k) * i, *w = want + extent(k) * i;
        if (memcmp(g, w, data_len(k)))
            return 0;
        for (size_t b = data_len(k); b < extent(k); b++)
            if ((unsigned char)g[b] != HOLE)
                return 0;
    }
    return 1;
}

/* A receive buffer: holes set, data poisoned. */
static char *rbuf(int k, int n)
{
    char *p = malloc(extent(k) * (n ? n : 1));
    memset(p, HOLE, extent(k) * (n ? n : 1));
    for (int i = 0; i < n; i++)
        memset(p + extent(k) * i, 0xee, data_len(k));
    return p;
}

/* ---- the reference order of reductions --------------------------------------- */

/* part a = part a op part b, parts as pointers to n-element buffers. */
static void step_parts(char **parts, int a, int b, MPI_Op op, int k, int n)
{
    apply(op, k, parts[a], parts[b], n);
    char *t = parts[a];
    parts[a] = parts[b];
    parts[b] = t;
}

/* Combine the inputs of ranks 0..size-1 in OxMPI's documented order
 * (order.h). Returns a malloc'd result. */
static char *reference(int k, MPI_Op op, uint64_t step, int size, int root, int n)
{
    size_t bytes = extent(k) * (n ? n : 1);
    char **parts = calloc(size, sizeof *parts);
    for (int r = 0; r < size; r++) {
        parts[r] = malloc(bytes);
        fill(k, step, r, 0, parts[r], n);
    }
    int (*steps)[2] = calloc(size, sizeof *steps);
    int result = reduction_order(size, root, op != op_matmul, steps);
    for (int i = 0; i < size - 1; i++)
        step_parts(parts, steps[i][0], steps[i][1], op, k, n);
    free(steps);
    char *out = parts[result];
    for (int r = 0; r < size; r++)
        if (r != result)
            free(parts[r]);
    free(parts);
    return out;
}

/* Inclusive prefix x0 op ... op x_upto (exact kinds only). */
static char *prefix(int k, MPI_Op op, uint64_t step, int upto, int n)
{
    size_t bytes = extent(k) * (n ? n : 1);
    char *acc = malloc(bytes), *x = malloc(bytes);
    fill(k, step, upto, 0, acc, n);
    for (int r = upto - 1; r >= 0; r--) {
        fill(k, step, r, 0, x, n);
        apply(op, k, x, acc, n); /* acc = x_r op acc */
    }
    free(x);
    return acc;
}

/* ---- communicators: grids as BLACS makes them ---------------------------------- */

typedef struct {
    MPI_Comm grid, row, col, dup;
} family;

#define FAMILIES 3
static family fam[FAMILIES];

static void make_family(family *f)
{
    int p = 1 + gpick(wsize), q = 1 + gpick(wsize / p);
    int how = gpick(2);
    if (how == 0) {
        MPI_Comm_split(MPI_COMM_WORLD, wrank < p * q ? 0 : MPI_UNDEFINED, wrank, &f->grid);
    } else {
        /* From a group, in a shuffled order (BLACS's gridmap). */
        int *ranks = malloc(wsize * sizeof *ranks);
        for (int i = 0; i < wsize; i++)
            ranks[i] = i;
        for (int i = wsize - 1; i > 0; i--) {
            int j = gpick(i + 1), t = ranks[i];
            ranks[i] = ranks[j];
            ranks[j] = t;
        }
        MPI_Group wg, g;
        MPI_Comm_group(MPI_COMM_WORLD, &wg);
        MPI_Group_incl(wg, p * q, ranks, &g);
        MPI_Comm_create(MPI_COMM_WORLD, g, &f->grid);
        MPI_Group_free(&g);
        MPI_Group_free(&wg);
        free(ranks);
    }
    f->row = f->col = f->dup = MPI_COMM_NULL;
    int dup = gpick(2);
    if (f->grid != MPI_COMM_NULL) {
        int me;
        MPI_Comm_rank(f->grid, &me);
        MPI_Comm_split(f->grid, me / q, me % q, &f->row);
        MPI_Comm_split(f->grid, me % q, me / q, &f->col);
        if (dup)
            MPI_Comm_dup(f->grid, &f->dup);
    }
}

static void free_family(family *f)
{
    MPI_Comm *c[] = {&f->grid, &f->row, &f->col, &f->dup};
    for (int i = 0; i < 4; i++)
        if (*c[i] != MPI_COMM_NULL)
            MPI_Comm_free(c[i]);
}

/* ---- one step ------------------------------------------------------------------- */

static long ncoll;

/* A count of elements of kind k: byte sizes mostly small, often around
 * the node-local limit of 1 KiB, sometimes larger. */
static int pick_count(int k)
{
    int bytes;
    switch (gpick(8)) {
    case 0: bytes = 0; break;
    case 1: case 2: bytes = 1 + gpick(64); break;
    case 3: case 4: bytes = 64 + gpick(960); break;
    case 5: bytes = 960 + gpick(128); break;
    case 6: bytes = 1088 + gpick(3000); break;
    default: bytes = gpick(40) ? 1 + gpick(256) : 4096 + gpick(65536); break;
    }
    return bytes / (int)esize(k);
}

/* Now and then one member is slowed down (every member draws alike). */
static void maybe_slow(void)
{
    int slow = gpick(16) == 0, who = gpick(wsize), us = 50 + gpick(400);
    if (slow && who == wrank)
        usleep(us);
}

static void p2p_ring(MPI_Comm c, uint64_t step)
{
    int r, n;
    MPI_Comm_rank(c, &r);
    MPI_Comm_size(c, &n);
    int count = gpick(3000);
    char *s = malloc(count + 1), *d = rbuf(K_CHAR, count), *want = malloc(count + 1);
    int to = (r + 1) % n, from = (r + n - 1) % n;
    fill(K_CHAR, step, r, 7, s, count);
    fill(K_CHAR, step, from, 7, want, count);
    MPI_Sendrecv(s, count, MPI_CHAR, to, 99, d, count, MPI_CHAR, from, 99, c, MPI_STATUS_IGNORE);
    CHECK(!memcmp(d, want, count), "step %llu: ring message wrong", (unsigned long long)step);
    free(s);
    free(d);
    free(want);
}

static void one(MPI_Comm c, uint64_t step)
{
    int r, n;
    MPI_Comm_rank(c, &r);
    MPI_Comm_size(c, &n);
    if (r == 0)
        ncoll++;
    int what = gpick(16);
    int k = gpick(NKINDS);
    int count = pick_count(k);
    MPI_Datatype dt = dtype(k);
    int root = gpick(n);
    size_t ext = extent(k);
    maybe_slow();
    if (what == 0) {
        MPI_Barrier(c);
    } else if (what <= 3) { /* broadcast */
        char *buf = rbuf(k, count), *want = rbuf(k, count);
        fill(k, step, root, 0, want, count);
        if (r == root)
            fill(k, step, root, 0, buf, count);
        MPI_Bcast(buf, count, dt, root, c);
        CHECK(same(k, buf, want, count), "step %llu: bcast of %d kind %d from %d on %d ranks",
              (unsigned long long)step, count, k, root, n);
        free(buf);
        free(want);
    } else if (what <= 9) { /* reductions */
        if (k == K_CHAR || k == K_STRIDED)
            k = K_REAL;
        count = pick_count(k);
        dt = dtype(k);
        ext = extent(k);
        MPI_Op op = pick_op(k);
        int all = what >= 6, inplace = gpick(4) == 0, nonblocking = gpick(4) == 0;
        char *in = rbuf(k, count), *out = rbuf(k, count);
        fill(k, step, r, 0, in, count);
        if (inplace)
            fill(k, step, r, 0, out, count);
        const void *send = inplace && (all || r == root) ? MPI_IN_PLACE : in;
        MPI_Request req;
        if (all) {
            if (nonblocking) {
                MPI_Iallreduce(send, out, count, dt, op, c, &req);
                MPI_Wait(&req, MPI_STATUS_IGNORE);
            } else {
                MPI_Allreduce(send, out, count, dt, op, c);
            }
        } else if (nonblocking) {
            MPI_Ireduce(send, out, count, dt, op, root, c, &req);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
        } else {
            MPI_Reduce(send, out, count, dt, op, root, c);
        }
        if (all || r == root) {
            char *want = reference(k, op, step, n, all ? -1 : root, count);
            /* Real sums larger than the cells may be split by the message
             * path, which then combines in another order: compare those
             * within rounding. */
            int exact = !(k == K_REAL && op == MPI_SUM && count * ext > 2048 && count >= n);
            int ok = same(k, out, want, count);
            if (!ok && !exact) {
                ok = 1;
                for (int i = 0; i < count; i++) {
                    double g, w;
                    memcpy(&g, out + 8 * i, 8);
                    memcpy(&w, want + 8 * i, 8);
                    double d = g - w;
                    ok &= (d < 0 ? -d : d) <= 1e-9 * (w < 0 ? -w : w) + 1e-9;
                }
            }
            CHECK(ok, "step %llu: %s%s%s of %d kind %d op 0x%x root %d on %d ranks",
                  (unsigned long long)step, nonblocking ? "nonblocking " : "",
                  all ? "allreduce" : "reduce", inplace ? " in place" : "", count, k,
                  (unsigned)op, root, n);
            free(want);
        }
        free(in);
        free(out);
    } else if (what <= 11) { /* allgather(v) */
        int v = what == 11;
        int *counts = malloc(n * sizeof *counts), *displs = malloc(n * sizeof *displs);
        int total = 0;
        for (int i = 0; i < n; i++) {
            counts[i] = v ? pick_count(k) / n : count / n;
            displs[i] = total;
            total += counts[i] + (v ? gpick(2) : 0);
        }
        char *in = rbuf(k, counts[r]), *out = rbuf(k, total), *want = rbuf(k, total);
        fill(k, step, r, 0, in, counts[r]);
        for (int i = 0; i < n; i++)
            fill(k, step, i, 0, want + ext * displs[i], counts[i]);
        int inplace = gpick(4) == 0;
        if (inplace)
            fill(k, step, r, 0, out + ext * displs[r], counts[r]);
        const void *send = inplace ? MPI_IN_PLACE : in;
        if (v)
            MPI_Allgatherv(send, counts[r], dt, out, counts, displs, dt, c);
        else
            MPI_Allgather(send, counts[r], dt, out, counts[r], dt, c);
        CHECK(same(k, out, want, total), "step %llu: allgather%s%s of %d kind %d on %d ranks",
              (unsigned long long)step, v ? "v" : "", inplace ? " in place" : "", total, k, n);
        free(in);
        free(out);
        free(want);
        free(counts);
        free(displs);
    } else if (what <= 13) { /* all-to-all */
        int per = count / n;
        char *in = rbuf(k, per * n), *out = rbuf(k, per * n), *want = rbuf(k, per * n);
        /* Rank r's block for j is elements [j*per, (j+1)*per) of its input. */
        char *tmp = rbuf(k, per * n);
        fill(k, step, r, 0, in, per * n);
        for (int j = 0; j < n; j++) {
            fill(k, step, j, 0, tmp, per * n);
            memcpy(want + ext * per * j, tmp + ext * per * r, ext * per);
        }
        MPI_Alltoall(in, per, dt, out, per, dt, c);
        CHECK(same(k, out, want, per * n), "step %llu: alltoall of %d kind %d on %d ranks",
              (unsigned long long)step, per, k, n);
        free(in);
        free(out);
        free(want);
        free(tmp);
    } else { /* scan */
        if (k == K_CHAR || k == K_STRIDED || k == K_REAL)
            k = K_DOUBLE;
        count = pick_count(k);
        dt = dtype(k);
        MPI_Op op = pick_op(k);
        char *in = rbuf(k, count), *out = rbuf(k, count);
        fill(k, step, r, 0, in, count);
        MPI_Scan(in, out, count, dt, op, c);
        char *want = prefix(k, op, step, r, count);
        CHECK(same(k, out, want, count), "step %llu: scan of %d kind %d op 0x%x on %d ranks",
              (unsigned long long)step, count, k, (unsigned)op, n);
        free(in);
        free(out);
        free(want);
    }
}

/* A burst of broadcasts from one root, or of reductions to one root,
 * while one member is slow: the others run ahead of it by many
 * collectives, so cells are reused while it may still read them. */
static void burst(MPI_Comm c, uint64_t step)
{
    int r, n;
    MPI_Comm_rank(c, &r);
    MPI_Comm_size(c, &n);
    int root = gpick(n), reduce = gpick(2), len = 1 + gpick(120), slow = reduce ? root : gpick(n);
    if (r == slow)
        usleep(2000);
    for (int i = 0; i < 40; i++) {
        uint64_t st = step * 64 + i;
        double *buf = (double *)rbuf(K_REAL, len), *want;
        if (r == 0)
            ncoll++;
        if (reduce) {
            fill(K_REAL, st, r, 0, (char *)buf, len);
            double *out = (double *)rbuf(K_REAL, len);
            MPI_Reduce(buf, out, len, MPI_DOUBLE, MPI_SUM, root, c);
            if (r == root) {
                want = (double *)reference(K_REAL, MPI_SUM, st, n, root, len);
                CHECK(same(K_REAL, (char *)out, (char *)want, len),
                      "step %llu: burst reduce %d of %d doubles to %d on %d ranks",
                      (unsigned long long)step, i, len, root, n);
                free(want);
            }
            free(out);
        } else {
            if (r == root)
                fill(K_REAL, st, root, 0, (char *)buf, len);
            MPI_Bcast(buf, len, MPI_DOUBLE, root, c);
            want = (double *)rbuf(K_REAL, len);
            fill(K_REAL, st, root, 0, (char *)want, len);
            CHECK(same(K_REAL, (char *)buf, (char *)want, len),
                  "step %llu: burst bcast %d of %d doubles from %d on %d ranks",
                  (unsigned long long)step, i, len, root, n);
            free(want);
        }
        free(buf);
    }
}

/* Short-lived communicators: split `c` at random (some members left
 * out), run a few collectives, free. Channels pass from communicator to
 * communicator with few collectives each, so what one left in the cells
 * is there when the next starts. */
static void churn(MPI_Comm c, uint64_t step)
{
    int r, n;
    MPI_Comm_rank(c, &r);
    MPI_Comm_size(c, &n);
    int colors = 1 + gpick(3), ops = 1 + gpick(6);
    int *color = malloc(n * sizeof *color);
    for (int i = 0; i < n; i++)
        color[i] = gpick(6) == 0 ? MPI_UNDEFINED : gpick(colors);
    MPI_Comm d;
    MPI_Comm_split(c, color[r], gpick(n), &d);
    free(color);
    uint64_t state = global_state;
    if (d != MPI_COMM_NULL) {
        for (int i = 0; i < ops; i++)
            one(d, step * 64 + i);
        MPI_Comm_free(&d);
    }
    global_state = state;
}

/* A member still reading a broadcast of a communicator that the others
 * have freed, while they build another communicator without it and use
 * it at once: the freed communicator's cells must stay as they were until
 * the slow member is done. */
static void handoff(MPI_Comm c, uint64_t step)
{
    int r, n;
    MPI_Comm_rank(c, &r);
    MPI_Comm_size(c, &n);
    if (n < 3)
        return;
    int slow = 1 + gpick(n - 1), len = 1 + gpick(100);
    MPI_Comm others, a, b;
    MPI_Comm_split(c, r == slow ? MPI_UNDEFINED : 0, r, &others);
    MPI_Comm_dup(c, &a);
    double *buf = (double *)rbuf(K_REAL, len), *want = (double *)rbuf(K_REAL, len);
    fill(K_REAL, step, 0, 3, (char *)want, len);
    if (r == 0) {
        ncoll++;
        fill(K_REAL, step, 0, 3, (char *)buf, len);
    }
    if (r == slow)
        usleep(3000);
    MPI_Bcast(buf, len, MPI_DOUBLE, 0, a);
    CHECK(same(K_REAL, (char *)buf, (char *)want, len), "step %llu: handoff bcast on %d ranks",
          (unsigned long long)step, n);
    MPI_Comm_free(&a);
    if (others != MPI_COMM_NULL) {
        MPI_Comm_dup(others, &b);
        int br;
        MPI_Comm_rank(b, &br);
        for (int i = 0; i < 20; i++) {
            fill(K_REAL, step * 64 + i, 0, 4, (char *)want, len);
            if (br == 0) {
                ncoll++;
                fill(K_REAL, step * 64 + i, 0, 4, (char *)buf, len);
            }
            MPI_Bcast(buf, len, MPI_DOUBLE, 0, b);
            CHECK(same(K_REAL, (char *)buf, (char *)want, len), "step %llu: bcast %d after handoff",
                  (unsigned long long)step, i);
        }
        MPI_Comm_free(&b);
        MPI_Comm_free(&others);
    }
    free(buf);
    free(want);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    long steps = argc > 1 ? atol(argv[1]) : 10000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    global_state = seed;
    MPI_Type_vector(1, 1, 2, MPI_DOUBLE, &strided);
    MPI_Datatype t;
    MPI_Type_create_resized(strided, 0, 16, &t);
    strided = t;
    MPI_Type_commit(&strided);
    int lens[2] = {1, 1};
    MPI_Aint disps[2] = {offsetof(pair, v), offsetof(pair, i)};
    MPI_Datatype types[2] = {MPI_DOUBLE, MPI_INT};
    MPI_Type_create_struct(2, lens, disps, types, &t);
    MPI_Type_create_resized(t, 0, sizeof(pair), &pair_t);
    MPI_Type_free(&t);
    MPI_Type_commit(&pair_t);
    MPI_Type_contiguous(4, MPI_UINT32_T, &mat_t);
    MPI_Type_commit(&mat_t);
    MPI_Op_create(absmax, 1, &op_absmax);
    MPI_Op_create(matmul, 0, &op_matmul);
    for (int f = 0; f < FAMILIES; f++)
        make_family(&fam[f]);
    for (long s = 0; s < steps; s++) {
        /* Each step starts from its own state, so ranks that sat the last
         * one out draw the same numbers as its members. */
        global_state = mix(seed ^ mix((uint64_t)s));
        /* Now and then a family is freed and a new one made. */
        if (gpick(64) == 0) {
            int f = gpick(FAMILIES);
            free_family(&fam[f]);
            make_family(&fam[f]);
        }
        int which = gpick(1 + 4 * FAMILIES);
        MPI_Comm c = which == 0 ? MPI_COMM_WORLD : ((MPI_Comm *)&fam[(which - 1) / 4])[(which - 1) % 4];
        if (gpick(5) == 0 && c != MPI_COMM_NULL)
            p2p_ring(c, s);
        int kind = gpick(64);
        if (c == MPI_COMM_NULL)
            continue;
        if (kind < 2)
            burst(c, s);
        else if (kind < 6)
            churn(c, s);
        else if (kind < 7)
            handoff(c, s);
        else
            one(c, s);
    }
    for (int f = 0; f < FAMILIES; f++)
        free_family(&fam[f]);
    long total = 0, bad = 0, e = errs;
    MPI_Reduce(&ncoll, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&e, &bad, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (wrank == 0) {
        if (bad == 0)
            printf("coll_stress ok: %ld collectives on %d ranks\n", total, wsize);
        else
            printf("coll_stress: %ld errors in %ld collectives\n", bad, total);
    }
    MPI_Type_free(&strided);
    MPI_Type_free(&pair_t);
    MPI_Type_free(&mat_t);
    MPI_Op_free(&op_absmax);
    MPI_Op_free(&op_matmul);
    MPI_Finalize();
    return bad != 0;
}
