/* MPI-IO against a sequential model. Each round draws an etype (1 to 16
 * bytes) and, for every rank, a view whose filetype is a vector, indexed,
 * subarray or darray type partitioning the file among the ranks, then a
 * random mix of independent, collective, split-collective, nonblocking,
 * ordered and shared-pointer writes of random lengths from contiguous or
 * strided memory, under random collective-buffering hints and atomicity.
 * Every rank keeps the model of the whole file: where each view puts
 * each etype is computed here, by hand, from the type's definition (not
 * by the library). Rank 0 compares the file's raw bytes with the model;
 * then every rank reads the file back through another random view with
 * a random mix of read calls and checks bytes and counts, also past the
 * end of the file. Nonblocking accesses run two at a time, and one must
 * progress while the program makes no MPI call. Prints "io_random: OK"
 * at rank 0.
 *
 *   io_random DIR [ROUNDS] [SEED] */
#define TEST_NAME "io_random"
#include "check.h"
#include <fcntl.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int nprocs;
static MPI_Datatype etypes[6];
static const int esizes[6] = {1, 2, 4, 8, 12, 16};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A random stream: the same seed gives the same draws at every rank. */
typedef struct { uint64_t s; } rng_t;
static long draw(rng_t *g, long n) { g->s = mix(g->s); return (long)(g->s % (uint64_t)n); }

/* The byte a rank writes at stream byte `s` of its write `op`. */
static unsigned char datum(int round, int op, int rank, long s)
{
    return (unsigned char)mix(((uint64_t)round << 40) ^ ((uint64_t)op << 24) ^ ((uint64_t)rank << 16) ^ (uint64_t)s);
}

/* A rank's view: etype units of the file in stream order, per tile. */
typedef struct {
    MPI_Datatype ft; /* built only at the rank itself */
    long disp;       /* bytes */
    long tile;       /* units per tile (the filetype's extent) */
    long n;          /* units of data per tile */
    long *map;       /* unit offsets within the tile, in stream order */
    int esz;
} view_t;

/* The file byte of stream byte `s` of view `v`. */
static long where(const view_t *v, long s)
{
    long u = s / v->esz, t = u / v->n;
    return v->disp + (t * v->tile + v->map[u % v->n]) * v->esz + s % v->esz;
}

/* Indices of one dimension a darray coordinate owns, increasing. */
static long owned(int distrib, int darg, long g, int p, int c, long *out)
{
    long k = 0;
    for (long i = 0; i < g; i++) {
        int own;
        if (distrib == MPI_DISTRIBUTE_BLOCK) {
            long b = (g + p - 1) / p;
            own = i / b == c;
        } else {
            int blk = darg == MPI_DISTRIBUTE_DFLT_DARG ? 1 : darg;
            own = (i / blk) % p == c;
        }
        if (own) out[k++] = i;
    }
    return k;
}

/* Make every rank's view for one phase from the common stream `g`; the
 * MPI type only for this rank. */
static void make_views(rng_t *g, int et, view_t *v)
{
    int esz = esizes[et], kind = (int)draw(g, 4), n = nprocs;
    long base = draw(g, 100);
    for (int r = 0; r < n; r++) {
        v[r].esz = esz;
        v[r].ft = MPI_DATATYPE_NULL;
        v[r].disp = base;
    }
    if (kind == 0) { /* vector: blocks of b units, rank r's at r*b */
        int b = 1 + draw(g, 5), c = 1 + draw(g, 4);
        for (int r = 0; r < n; r++) {
            v[r].disp = base + (long)r * b * esz;
            v[r].tile = (long)c * b * n;
            v[r].n = (long)c * b;
            v[r].map = malloc(v[r].n * sizeof(long));
            for (long k = 0; k < v[r].n; k++) v[r].map[k] = (k / b) * b * n + k % b;
            if (r == wrank) {
                MPI_Datatype vec;
                MPI_Type_vector(c, b, b * n, etypes[et], &vec);
                MPI_Type_create_resized(vec, 0, v[r].tile * esz, &v[r].ft);
                MPI_Type_free(&vec);
            }
        }
    } else if (kind == 1) { /* indexed: random blocks, random owners */
        int nb = n + draw(g, 3 * n + 1);
        long *len = malloc(nb * sizeof(long)), *at = malloc(nb * sizeof(long));
        int *owner = malloc(nb * sizeof(int));
        long tile = 0;
        for (int i = 0; i < nb; i++) {
            len[i] = 1 + draw(g, 4);
            at[i] = tile;
            tile += len[i];
            owner[i] = i < n ? i : (int)draw(g, n);
        }
        /* Owners in a random order of blocks. */
        for (int i = nb - 1; i > 0; i--) {
            int j = (int)draw(g, i + 1), t = owner[i];
            owner[i] = owner[j];
            owner[j] = t;
        }
        for (int r = 0; r < n; r++) {
            v[r].tile = tile;
            v[r].n = 0;
            v[r].map = malloc(tile * sizeof(long));
            int cnt = 0, *bl = malloc(nb * sizeof(int)), *dp = malloc(nb * sizeof(int));
            for (int i = 0; i < nb; i++)
                if (owner[i] == r) {
                    bl[cnt] = (int)len[i];
                    dp[cnt++] = (int)at[i];
                    for (long k = 0; k < len[i]; k++) v[r].map[v[r].n++] = at[i] + k;
                }
            if (r == wrank) {
                MPI_Datatype idx;
                MPI_Type_indexed(cnt, bl, dp, etypes[et], &idx);
                MPI_Type_create_resized(idx, 0, tile * esz, &v[r].ft);
                MPI_Type_free(&idx);
            }
            free(bl);
            free(dp);
        }
        free(len);
        free(at);
        free(owner);
    } else { /* subarray or darray of a 2-D array over a process grid */
        int dims[2] = {0, 0}, order = draw(g, 2) ? MPI_ORDER_C : MPI_ORDER_FORTRAN;
        MPI_Dims_create(n, 2, dims);
        int distribs[2], dargs[2];
        long gs[2];
        for (int d = 0; d < 2; d++) {
            if (kind == 2) {
                gs[d] = dims[d] * (1 + draw(g, 3)) + draw(g, dims[d]);
            } else {
                distribs[d] = draw(g, 2) ? MPI_DISTRIBUTE_BLOCK : MPI_DISTRIBUTE_CYCLIC;
                dargs[d] = distribs[d] == MPI_DISTRIBUTE_CYCLIC && draw(g, 2) ? 1 + (int)draw(g, 3)
                                                                             : MPI_DISTRIBUTE_DFLT_DARG;
                int blk = dargs[d] == MPI_DISTRIBUTE_DFLT_DARG ? 1 : dargs[d];
                gs[d] = (long)dims[d] * blk * (1 + draw(g, 3));
            }
        }
        long *own[2];
        own[0] = malloc(gs[0] * sizeof(long));
        own[1] = malloc(gs[1] * sizeof(long));
        for (int r = 0; r < n; r++) {
            int c[2] = {r / dims[1], r % dims[1]};
            long cnt[2];
            int sizes[2], subs[2], starts[2];
            for (int d = 0; d < 2; d++) {
                sizes[d] = (int)gs[d];
                if (kind == 2) {
                    long m = gs[d] / dims[d], rem = gs[d] % dims[d];
                    subs[d] = (int)(m + (c[d] < rem));
                    starts[d] = (int)(c[d] * m + (c[d] < rem ? c[d] : rem));
                    cnt[d] = subs[d];
                    for (long i = 0; i < cnt[d]; i++) own[d][i] = starts[d] + i;
                } else {
                    cnt[d] = owned(distribs[d], dargs[d], gs[d], dims[d], c[d], own[d]);
                }
            }
            v[r].tile = gs[0] * gs[1];
            v[r].n = cnt[0] * cnt[1];
            v[r].map = malloc(v[r].n * sizeof(long));
            long k = 0;
            if (order == MPI_ORDER_C)
                for (long a = 0; a < cnt[0]; a++)
                    for (long b = 0; b < cnt[1]; b++) v[r].map[k++] = own[0][a] * gs[1] + own[1][b];
            else
                for (long b = 0; b < cnt[1]; b++)
                    for (long a = 0; a < cnt[0]; a++) v[r].map[k++] = own[0][a] + own[1][b] * gs[0];
            if (r == wrank) {
                if (kind == 2)
                    MPI_Type_create_subarray(2, sizes, subs, starts, order, etypes[et], &v[r].ft);
                else
                    MPI_Type_create_darray(n, r, 2, sizes, distribs, dargs, dims, order, etypes[et],
                                           &v[r].ft);
            }
        }
        free(own[0]);
        free(own[1]);
    }
    MPI_Type_commit(&v[wrank].ft);
}

static void free_views(view_t *v)
{
    for (int r = 0; r < nprocs; r++) free(v[r].map);
    MPI_Type_free(&v[wrank].ft);
}

/* Memory for `len` etypes: contiguous, or every other etype. */
typedef struct {
    unsigned char *buf;
    MPI_Datatype type;
    int count, stride;
} mem_t;

static void mem_make(mem_t *m, int et, long len, int strided)
{
    int esz = esizes[et];
    m->stride = strided ? 2 : 1;
    m->buf = malloc(len * esz * m->stride + 1);
    memset(m->buf, 0xEE, len * esz * m->stride + 1);
    if (strided) {
        MPI_Type_vector((int)len, 1, 2, etypes[et], &m->type);
        MPI_Type_commit(&m->type);
        m->count = 1;
    } else {
        m->type = etypes[et];
        m->count = (int)len;
    }
}

/* Stream byte `s` in memory. */
static unsigned char *mem_at(mem_t *m, int esz, long s) { return m->buf + (s / esz) * esz * m->stride + s % esz; }

static void mem_free(mem_t *m)
{
    if (m->stride == 2) MPI_Type_free(&m->type);
    free(m->buf);
}

enum { W_AT, W_PTR, W_AT_ALL, W_ALL, IW_AT, IW_AT_ALL, SPLIT_AT, SPLIT_ALL, ORDERED, SHARED, IW, IW_ALL, NKINDS };
static const char *names[NKINDS] = {"write_at", "write", "write_at_all", "write_all", "iwrite_at",
                                    "iwrite_at_all", "write_at_all_begin", "write_all_begin",
                                    "write_ordered", "write_shared", "iwrite", "iwrite_all"};

/* One access by this rank: kind `k` (reads and writes alike) at stream
 * unit `pos` (individual-pointer forms seek there first). */
static int call(MPI_File fh, int k, int write, long pos, mem_t *m, MPI_Status *st)
{
    MPI_Request req;
    void *b = m->buf;
    int rc = MPI_SUCCESS;
    if (k == W_PTR || k == W_ALL || k == SPLIT_ALL || k == IW || k == IW_ALL)
        rc = MPI_File_seek(fh, pos, MPI_SEEK_SET);
    if (rc != MPI_SUCCESS) return rc;
    switch (k) {
    case W_AT: return write ? MPI_File_write_at(fh, pos, b, m->count, m->type, st) : MPI_File_read_at(fh, pos, b, m->count, m->type, st);
    case W_PTR: return write ? MPI_File_write(fh, b, m->count, m->type, st) : MPI_File_read(fh, b, m->count, m->type, st);
    case W_AT_ALL: return write ? MPI_File_write_at_all(fh, pos, b, m->count, m->type, st) : MPI_File_read_at_all(fh, pos, b, m->count, m->type, st);
    case W_ALL: return write ? MPI_File_write_all(fh, b, m->count, m->type, st) : MPI_File_read_all(fh, b, m->count, m->type, st);
    case IW_AT:
        if (m->stride == 1 && m->count > 1) {
            /* Two halves in flight at once. */
            MPI_Request two[2];
            MPI_Status sts[2];
            int h = m->count / 2, esz, n0 = 0, n1 = 0;
            MPI_Type_size(m->type, &esz);
            rc = write ? MPI_File_iwrite_at(fh, pos, b, h, m->type, &two[0]) : MPI_File_iread_at(fh, pos, b, h, m->type, &two[0]);
            if (rc != MPI_SUCCESS) return rc;
            char *b1 = (char *)b + (long)h * esz;
            rc = write ? MPI_File_iwrite_at(fh, pos + h, b1, m->count - h, m->type, &two[1])
                       : MPI_File_iread_at(fh, pos + h, b1, m->count - h, m->type, &two[1]);
            if (rc != MPI_SUCCESS) return rc;
            rc = MPI_Waitall(2, two, sts);
            MPI_Get_count(&sts[0], MPI_BYTE, &n0);
            MPI_Get_count(&sts[1], MPI_BYTE, &n1);
            MPI_Status_set_elements(st, MPI_BYTE, n0 + n1);
            return rc;
        }
        rc = write ? MPI_File_iwrite_at(fh, pos, b, m->count, m->type, &req) : MPI_File_iread_at(fh, pos, b, m->count, m->type, &req);
        break;
    case IW_AT_ALL: rc = write ? MPI_File_iwrite_at_all(fh, pos, b, m->count, m->type, &req) : MPI_File_iread_at_all(fh, pos, b, m->count, m->type, &req); break;
    case IW: rc = write ? MPI_File_iwrite(fh, b, m->count, m->type, &req) : MPI_File_iread(fh, b, m->count, m->type, &req); break;
    case IW_ALL: rc = write ? MPI_File_iwrite_all(fh, b, m->count, m->type, &req) : MPI_File_iread_all(fh, b, m->count, m->type, &req); break;
    case SPLIT_AT:
        rc = write ? MPI_File_write_at_all_begin(fh, pos, b, m->count, m->type) : MPI_File_read_at_all_begin(fh, pos, b, m->count, m->type);
        if (rc == MPI_SUCCESS) rc = write ? MPI_File_write_at_all_end(fh, b, st) : MPI_File_read_at_all_end(fh, b, st);
        return rc;
    case SPLIT_ALL:
        rc = write ? MPI_File_write_all_begin(fh, b, m->count, m->type) : MPI_File_read_all_begin(fh, b, m->count, m->type);
        if (rc == MPI_SUCCESS) rc = write ? MPI_File_write_all_end(fh, b, st) : MPI_File_read_all_end(fh, b, st);
        return rc;
    case ORDERED: return write ? MPI_File_write_ordered(fh, b, m->count, m->type, st) : MPI_File_read_ordered(fh, b, m->count, m->type, st);
    case SHARED: return write ? MPI_File_write_shared(fh, b, m->count, m->type, st) : MPI_File_read_shared(fh, b, m->count, m->type, st);
    }
    if (rc != MPI_SUCCESS) return rc;
    return MPI_Wait(&req, st);
}

static int collective(int k) { return k == W_AT_ALL || k == W_ALL || k == IW_AT_ALL || k == SPLIT_AT || k == SPLIT_ALL || k == ORDERED || k == IW_ALL; }

/* Open `path` with random collective-buffering hints. */
static MPI_File open_file(rng_t *g, const char *path)
{
    static const char *modes[3] = {"enable", "disable", "automatic"};
    static const char *bufs[4] = {"7", "64", "1000", "16777216"};
    char nodes[32];
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "romio_cb_write", modes[draw(g, 3)]);
    MPI_Info_set(info, "romio_cb_read", modes[draw(g, 3)]);
    MPI_Info_set(info, "cb_buffer_size", bufs[draw(g, 4)]);
    snprintf(nodes, sizeof nodes, "%ld", 1 + draw(g, nprocs));
    if (draw(g, 4)) MPI_Info_set(info, "cb_nodes", nodes);
    if (draw(g, 4) == 0) MPI_Info_set(info, "romio_ds_read", "disable");
    MPI_File fh;
    int rc = MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, info, &fh);
    CHECK(rc == MPI_SUCCESS, "open %s: error %d", path, rc);
    MPI_Info_free(&info);
    return fh;
}

/* Each rank's length (units) and position for one access of kind `k`,
 * drawn from every rank's own stream; shared-pointer kinds take their
 * positions from the pointer `*sp` (the model's), which they advance. */
static void plan(int k, rng_t *mine, const view_t *v, long limit, long *len, long *pos, long *sp)
{
    long cap = limit;
    for (int r = 0; r < nprocs; r++) {
        long lim = 3 * v[r].n;
        len[r] = draw(&mine[r], 12) == 0 ? 0 : 1 + draw(&mine[r], lim < 40 ? lim : 40);
        if (lim < cap) cap = lim;
    }
    if (k == ORDERED || k == SHARED) {
        long total = 0;
        for (int r = 0; r < nprocs; r++) {
            len[r] = len[r] > cap / nprocs ? cap / nprocs : len[r];
            pos[r] = *sp + total;
            total += len[r];
        }
        *sp += total;
    } else {
        for (int r = 0; r < nprocs; r++) {
            long lim = 3 * v[r].n;
            if (len[r] > lim) len[r] = lim;
            pos[r] = draw(&mine[r], lim - len[r] + 1);
        }
    }
}

static void round_trip(const char *path, int round, uint64_t seed)
{
    rng_t g = {mix(seed ^ (uint64_t)round)};
    rng_t *mine = malloc(nprocs * sizeof(rng_t));
    for (int r = 0; r < nprocs; r++) mine[r].s = mix(seed ^ ((uint64_t)round << 20) ^ (uint64_t)(r + 1));
    /* Choices only this rank makes (memory layouts). */
    rng_t local = {mix(seed ^ ((uint64_t)round << 32) ^ (uint64_t)(wrank + 1000))};
    view_t *v = malloc(nprocs * sizeof(view_t));
    long *len = malloc(nprocs * sizeof(long)), *pos = malloc(nprocs * sizeof(long));
    int et = (int)draw(&g, 6), esz = esizes[et];
    make_views(&g, et, v);
    long cap = 1 << 22;
    unsigned char *model = calloc(cap, 1);
    long size = 0, sp = 0;

    MPI_File fh = open_file(&g, path);
    MPI_File_set_size(fh, 0);
    int atomic = draw(&g, 4) == 0;
    MPI_File_set_atomicity(fh, atomic);
    int rc = MPI_File_set_view(fh, v[wrank].disp, etypes[et], v[wrank].ft, "native", MPI_INFO_NULL);
    CHECK(rc == MPI_SUCCESS, "round %d: set_view: error %d", round, rc);
    int ops = 4 + (int)draw(&g, 8);
    for (int op = 0; op < ops; op++) {
        int k = (int)draw(&g, NKINDS);
        if (k == ORDERED || k == SHARED) {
            /* Start the shared pointer over now and then. */
            if (draw(&g, 3) == 0) {
                MPI_File_seek_shared(fh, 0, MPI_SEEK_SET);
                sp = 0;
            }
        }
        plan(k, mine, v, 3 * v[0].n, len, pos, &sp);
        int strided = (int)draw(&local, 2);
        /* The model: every rank's write, in order. */
        for (int r = 0; r < nprocs; r++)
            for (long s = 0; s < len[r] * esz; s++) {
                long at = where(&v[r], pos[r] * esz + s);
                model[at] = datum(round, op, r, s);
                if (at + 1 > size) size = at + 1;
            }
        mem_t m;
        mem_make(&m, et, len[wrank], strided);
        for (long s = 0; s < len[wrank] * esz; s++) *mem_at(&m, esz, s) = datum(round, op, wrank, s);
        MPI_Status st;
        if (k == SHARED && wrank > 0) MPI_Recv(NULL, 0, MPI_BYTE, wrank - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        rc = call(fh, k, 1, pos[wrank], &m, &st);
        if (k == SHARED && wrank + 1 < nprocs) MPI_Send(NULL, 0, MPI_BYTE, wrank + 1, 0, MPI_COMM_WORLD);
        if (k == SHARED) MPI_Barrier(MPI_COMM_WORLD); /* all done before the next use */
        int got = -1;
        MPI_Get_count(&st, MPI_BYTE, &got);
        CHECK(rc == MPI_SUCCESS && got == len[wrank] * esz, "round %d op %d %s: rc %d, %d bytes, want %ld",
              round, op, names[k], rc, got, len[wrank] * esz);
        if (k == W_PTR || k == W_ALL || k == SPLIT_ALL || k == IW || k == IW_ALL) {
            MPI_Offset p = -1;
            MPI_File_get_position(fh, &p);
            CHECK(p == pos[wrank] + len[wrank], "round %d op %d %s: pointer at %lld, want %ld", round, op,
                  names[k], (long long)p, pos[wrank] + len[wrank]);
        }
        mem_free(&m);
        if (!collective(k) && draw(&g, 2)) MPI_Barrier(MPI_COMM_WORLD);
    }
    MPI_File_sync(fh);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_File_sync(fh);
    if (wrank == 0) {
        int fd = open(path, O_RDONLY);
        long bytes = lseek(fd, 0, SEEK_END);
        unsigned char *raw = malloc(bytes + 1);
        CHECK(pread(fd, raw, bytes, 0) == bytes, "round %d: cannot read the file", round);
        close(fd);
        CHECK(bytes == size, "round %d: the file holds %ld bytes, the model %ld", round, bytes, size);
        for (long i = 0; i < bytes && i < size; i++)
            if (raw[i] != model[i]) {
                CHECK(0, "round %d: file byte %ld is %d, the model's %d", round, i, raw[i], model[i]);
                break;
            }
        free(raw);
    }
    free_views(v);

    /* Read back through other views, past the end of the file too. */
    et = (int)draw(&g, 6);
    esz = esizes[et];
    make_views(&g, et, v);
    rc = MPI_File_set_view(fh, v[wrank].disp, etypes[et], v[wrank].ft, "native", MPI_INFO_NULL);
    CHECK(rc == MPI_SUCCESS, "round %d: second set_view: error %d", round, rc);
    sp = 0;
    ops = 4 + (int)draw(&g, 8);
    for (int op = 0; op < ops; op++) {
        int k = (int)draw(&g, NKINDS);
        plan(k, mine, v, 3 * v[0].n, len, pos, &sp);
        mem_t m;
        mem_make(&m, et, len[wrank], (int)draw(&local, 2));
        MPI_Status st;
        if (k == SHARED && wrank > 0) MPI_Recv(NULL, 0, MPI_BYTE, wrank - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        rc = call(fh, k, 0, pos[wrank], &m, &st);
        if (k == SHARED && wrank + 1 < nprocs) MPI_Send(NULL, 0, MPI_BYTE, wrank + 1, 0, MPI_COMM_WORLD);
        if (k == SHARED) MPI_Barrier(MPI_COMM_WORLD); /* all done before the next use */
        long want = 0;
        while (want < len[wrank] * esz && where(&v[wrank], pos[wrank] * esz + want) < size) want++;
        int got = -1;
        MPI_Get_count(&st, MPI_BYTE, &got);
        CHECK(rc == MPI_SUCCESS && got == want, "round %d read %d %s: rc %d, %d bytes, want %ld", round, op,
              names[k], rc, got, want);
        for (long s = 0; s < len[wrank] * esz; s++) {
            unsigned char b = *mem_at(&m, esz, s), w = s < want ? model[where(&v[wrank], pos[wrank] * esz + s)] : 0xEE;
            if (s < want ? b != w : 0) {
                CHECK(0, "round %d read %d %s: stream byte %ld is %d, want %d (file byte %ld)", round, op,
                      names[k], s, b, w, where(&v[wrank], pos[wrank] * esz + s));
                break;
            }
        }
        if (m.stride == 2)
            for (long u = 0; u < len[wrank]; u++)
                if (m.buf[(2 * u + 1) * esz] != 0xEE) {
                    CHECK(0, "round %d read %d %s: a hole of the memory type was written", round, op, names[k]);
                    break;
                }
        mem_free(&m);
    }
    MPI_File_close(&fh);
    free_views(v);
    free(model);
    free(len);
    free(pos);
    free(v);
    free(mine);
}

/* A nonblocking write progresses while the program calls no MPI
 * function: rank 0 starts one and watches the file with POSIX reads. */
static void progress(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/io_random.progress", dir);
    long n = 1 << 20;
    unsigned char *data = malloc(n);
    for (long i = 0; i < n; i++) data[i] = (unsigned char)(i * 7 + 1);
    MPI_File fh;
    MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_DELETE_ON_CLOSE, MPI_INFO_NULL, &fh);
    MPI_Request req;
    MPI_File_iwrite_at(fh, 0, data, (int)n, MPI_BYTE, &req);
    int fd = open(path, O_RDONLY), seen = 0;
    unsigned char last = 0;
    for (int tries = 0; tries < 20000 && !seen; tries++) {
        if (pread(fd, &last, 1, n - 1) == 1 && last == data[n - 1]) seen = 1;
        else usleep(500);
    }
    close(fd);
    CHECK(seen, "an iwrite_at made no progress in 10 s without MPI calls");
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    MPI_File_close(&fh);
    free(data);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 2) {
        if (wrank == 0) printf("usage: io_random DIR [ROUNDS] [SEED]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 30;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 12345;
    etypes[0] = MPI_BYTE;
    etypes[1] = MPI_SHORT;
    etypes[2] = MPI_INT;
    etypes[3] = MPI_DOUBLE;
    MPI_Type_contiguous(3, MPI_INT, &etypes[4]);
    MPI_Type_contiguous(2, MPI_DOUBLE, &etypes[5]);
    MPI_Type_commit(&etypes[4]);
    MPI_Type_commit(&etypes[5]);
    char path[4096];
    snprintf(path, sizeof path, "%s/io_random.%d", argv[1], nprocs);
    if (wrank == 0) progress(argv[1]);
    for (int round = 0; round < rounds && errs == 0; round++) round_trip(path, round, seed);
    MPI_Barrier(MPI_COMM_WORLD);
    if (wrank == 0) unlink(path);
    MPI_Type_free(&etypes[4]);
    MPI_Type_free(&etypes[5]);
    int all = 0;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0) printf("io_random: OK\n");
    MPI_Finalize();
    return all != 0;
}
