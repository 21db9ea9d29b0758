/* One-sided communication against a sequential model.
 *
 * Every rank draws the same plan from a shared seed: for each round, each
 * block of four ints at each target gets a role (put by one owner, summed
 * into by anyone, read by anyone, compare-and-swapped by one owner), so the
 * final memory is fully determined although the operations of different
 * origins race. Every window flavour (create, allocate, allocate_shared,
 * dynamic) runs under every synchronization (fence, post-start-complete-
 * wait, per-target locks, lock_all with flushes), with contiguous and
 * vector datatypes and the request-based forms. After each epoch every rank
 * checks its own window memory against the model, the values its gets and
 * fetches returned, and (shared windows) a neighbour's memory by load.
 *
 * Then two counters on rank 0: MPI_Fetch_and_op +1 from every rank must hand
 * out each value exactly once, and a read-modify-write under an exclusive
 * lock (get, flush, put) must lose no increment, and its log of holders
 * must show every holding once.
 *
 * Usage: rma_stress [ROUNDS [COUNTER_OPS]]   prints "rma_stress ok ..." */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_NAME "rma_stress"
#include "check.h"

#define BLOCKS 16
#define M (BLOCKS * 4) /* ints per rank in each window */

enum { PUT, ACC, GET, CAS, ROLES };
enum { FENCE, PSCW, LOCK, LOCK_ALL, MODES };
static const char *mode_name[] = {"fence", "pscw", "lock", "lock_all"};
static const char *flavor_name[] = {"create", "allocate", "allocate_shared", "dynamic"};

static uint64_t rng_state;
static unsigned rnd(unsigned n) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rng_state >> 33) % n);
}

static int rank, size;
static MPI_Datatype pair; /* two ints, stride two: elements 0 and 2 of a block */

/* One block's plan in one round. */
struct block {
    int role, owner, variant;
    int put[4];            /* PUT: the new values */
    int *inc;              /* ACC: size x 4 increments, 0 = origin takes no part */
    int *acc_variant;      /* ACC: per origin */
    unsigned char *reads;  /* GET: per origin, 0 = does not read, else variant */
    int swap;              /* CAS: the new value of element 0 */
};

/* A result to check once the epoch is closed. */
struct pending {
    int *got, n;
    int lo[4], hi[4]; /* each got[i] must be in [lo, hi] */
    const char *what;
};

static struct pending *pend;
static int npend;

static void expect_range(int *got, int n, const int *lo, const int *hi, const char *what) {
    struct pending *p = &pend[npend++];
    p->got = got;
    p->n = n;
    memcpy(p->lo, lo, n * sizeof(int));
    memcpy(p->hi, hi, n * sizeof(int));
    p->what = what;
}

static void check_pending(const char *ctx) {
    for (int i = 0; i < npend; i++)
        for (int j = 0; j < pend[i].n; j++)
            CHECK(pend[i].got[j] >= pend[i].lo[j] && pend[i].got[j] <= pend[i].hi[j],
                  "%s: %s returned %d at %d, expected %d..%d", ctx, pend[i].what, pend[i].got[j], j,
                  pend[i].lo[j], pend[i].hi[j]);
    npend = 0;
}

/* Issue this rank's operations on block b of target t; start is the model
 * before the round, final after it. */
static void issue(MPI_Win win, MPI_Aint disp0, int disp_unit_ints, int t, int b, struct block *bl,
                  const int *start, const int *final, int *scratch) {
    MPI_Aint d = disp0 + (MPI_Aint)b * 4 * disp_unit_ints;
    MPI_Aint one = disp_unit_ints; /* displacement of the next int */
    MPI_Request req;
    const int *s = start + (size_t)t * M + b * 4, *f = final + (size_t)t * M + b * 4;
    switch (bl->role) {
    case PUT:
        if (bl->owner != rank) return;
        switch (bl->variant) {
        case 0: MPI_Put(bl->put, 4, MPI_INT, t, d, 4, MPI_INT, win); break;
        case 1: { /* vector target: elements 0,2 then 1,3 (origin buffers live to the epoch's end) */
            int *even = scratch, *odd = scratch + 2;
            even[0] = bl->put[0], even[1] = bl->put[2], odd[0] = bl->put[1], odd[1] = bl->put[3];
            MPI_Put(even, 2, MPI_INT, t, d, 1, pair, win);
            MPI_Put(odd, 2, MPI_INT, t, d + one, 1, pair, win);
            break;
        }
        case 2:
            MPI_Rput(bl->put, 4, MPI_INT, t, d, 4, MPI_INT, win, &req);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
            break;
        default: MPI_Accumulate(bl->put, 4, MPI_INT, t, d, 4, MPI_INT, MPI_REPLACE, win); break;
        }
        return;
    case ACC: {
        int *inc = bl->inc + rank * 4;
        if (!inc[0] && !inc[1] && !inc[2] && !inc[3]) return;
        int *got = scratch;
        switch (bl->acc_variant[rank]) {
        case 0: MPI_Accumulate(inc, 4, MPI_INT, t, d, 4, MPI_INT, MPI_SUM, win); break;
        case 1:
            MPI_Raccumulate(inc, 4, MPI_INT, t, d, 4, MPI_INT, MPI_SUM, win, &req);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
            break;
        case 2:
            MPI_Get_accumulate(inc, 4, MPI_INT, got, 4, MPI_INT, t, d, 4, MPI_INT, MPI_SUM, win);
            expect_range(got, 4, s, f, "MPI_Get_accumulate");
            break;
        default: /* element by element */
            for (int i = 0; i < 4; i++)
                MPI_Fetch_and_op(&inc[i], &got[i], MPI_INT, t, d + i * one, MPI_SUM, win);
            expect_range(got, 4, s, f, "MPI_Fetch_and_op");
            break;
        }
        return;
    }
    case GET: {
        int v = bl->reads[rank];
        if (!v) return;
        int *got = scratch;
        switch (v) {
        case 1: MPI_Get(got, 4, MPI_INT, t, d, 4, MPI_INT, win); break;
        case 2:
            MPI_Rget(got, 4, MPI_INT, t, d, 4, MPI_INT, win, &req);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
            break;
        case 3: { /* vector origin and target: elements 0,2 into got[0],got[2] ... */
            MPI_Get(got, 1, pair, t, d, 1, pair, win);
            MPI_Get(got + 1, 1, pair, t, d + one, 1, pair, win);
            break;
        }
        default:
            MPI_Get_accumulate(NULL, 0, MPI_INT, got, 4, MPI_INT, t, d, 4, MPI_INT, MPI_NO_OP, win);
            break;
        }
        expect_range(got, 4, s, s, "a get");
        return;
    }
    case CAS: {
        if (bl->owner != rank) return;
        int *got = scratch;
        int cmp0 = s[0], cmp1 = s[1] + 1; /* the first swaps, the second must not */
        MPI_Compare_and_swap(&bl->swap, &cmp0, &got[0], MPI_INT, t, d, win);
        MPI_Compare_and_swap(&bl->swap, &cmp1, &got[1], MPI_INT, t, d + one, win);
        expect_range(got, 2, s, s, "MPI_Compare_and_swap");
        return;
    }
    }
}

static void plan_round(struct block *plan, int *start, int *final) {
    memcpy(final, start, (size_t)size * M * sizeof(int));
    for (int t = 0; t < size; t++)
        for (int b = 0; b < BLOCKS; b++) {
            struct block *bl = &plan[t * BLOCKS + b];
            int *f = final + (size_t)t * M + b * 4;
            bl->role = rnd(ROLES);
            bl->owner = rnd(size);
            bl->variant = rnd(4);
            switch (bl->role) {
            case PUT:
                for (int i = 0; i < 4; i++) f[i] = bl->put[i] = (int)rnd(1000000) - 500000;
                break;
            case ACC:
                for (int o = 0; o < size; o++) {
                    int takes_part = rnd(2);
                    bl->acc_variant[o] = rnd(4);
                    for (int i = 0; i < 4; i++) {
                        int v = takes_part ? 1 + (int)rnd(100) : 0;
                        bl->inc[o * 4 + i] = v;
                        f[i] += v;
                    }
                }
                break;
            case GET:
                for (int o = 0; o < size; o++) bl->reads[o] = rnd(2) ? 1 + rnd(4) : 0;
                break;
            case CAS:
                f[0] = bl->swap = (int)rnd(1000);
                break;
            }
        }
}

/* Run ROUNDS rounds on one window; local is this rank's window memory. */
static void run(int flavor, int mode, MPI_Win win, int *local, MPI_Aint *disp0, int du_ints,
                int rounds) {
    int *model = calloc((size_t)size * M, sizeof(int));
    int *final = calloc((size_t)size * M, sizeof(int));
    struct block *plan = calloc((size_t)size * BLOCKS, sizeof *plan);
    int *inc = calloc((size_t)size * BLOCKS * size * 4, sizeof(int));
    int *accv = calloc((size_t)size * BLOCKS * size, sizeof(int));
    unsigned char *reads = calloc((size_t)size * BLOCKS * size, 1);
    int *scratch = calloc((size_t)size * BLOCKS * 4, sizeof(int));
    for (int i = 0; i < size * BLOCKS; i++) {
        plan[i].inc = inc + (size_t)i * size * 4;
        plan[i].acc_variant = accv + (size_t)i * size;
        plan[i].reads = reads + (size_t)i * size;
    }
    char ctx[96];
    MPI_Group world_group;
    MPI_Win_get_group(win, &world_group);

    /* Zero the window memory, ours under an exclusive self-lock. */
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank, 0, win);
    memset(local, 0, M * sizeof(int));
    MPI_Win_unlock(rank, win);
    MPI_Barrier(MPI_COMM_WORLD);

    for (int round = 0; round < rounds; round++) {
        snprintf(ctx, sizeof ctx, "%s/%s round %d", flavor_name[flavor], mode_name[mode], round);
        rng_state = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)flavor << 40 | (uint64_t)mode << 32 | round);
        plan_round(plan, model, final);
        int order[64];
        for (int t = 0; t < size; t++) order[t] = t;
        uint64_t saved = rng_state;
        rng_state ^= (uint64_t)(rank + 1) * 0x2545f4914f6cdd1dULL; /* each rank its own order */
        for (int t = size - 1; t > 0; t--) {
            int j = rnd(t + 1), x = order[t];
            order[t] = order[j], order[j] = x;
        }
        rng_state = saved;
        int lock_type = rnd(2) ? MPI_LOCK_SHARED : MPI_LOCK_EXCLUSIVE;

        if (mode == FENCE) MPI_Win_fence(MPI_MODE_NOPRECEDE, win);
        if (mode == PSCW) {
            MPI_Win_post(world_group, 0, win);
            MPI_Win_start(world_group, 0, win);
        }
        if (mode == LOCK_ALL) MPI_Win_lock_all(0, win);
        for (int k = 0; k < size; k++) {
            int t = order[k];
            if (mode == LOCK) MPI_Win_lock(lock_type, t, 0, win);
            for (int b = 0; b < BLOCKS; b++)
                issue(win, disp0[t], du_ints, t, b, &plan[t * BLOCKS + b], model, final,
                      scratch + (size_t)(t * BLOCKS + b) * 4);
            if (mode == LOCK) MPI_Win_unlock(t, win);
            if (mode == LOCK_ALL) MPI_Win_flush(t, win);
        }
        if (mode == FENCE) MPI_Win_fence(MPI_MODE_NOSUCCEED, win);
        if (mode == PSCW) {
            MPI_Win_complete(win);
            MPI_Win_wait(win);
        }
        if (mode == LOCK_ALL) MPI_Win_unlock_all(win);
        if (mode == LOCK || mode == LOCK_ALL) MPI_Barrier(MPI_COMM_WORLD);
        check_pending(ctx);

        /* Our memory, and (shared windows) the next rank's by load. */
        MPI_Win_lock(MPI_LOCK_SHARED, rank, 0, win);
        MPI_Win_sync(win);
        for (int i = 0; i < M; i++)
            CHECK(local[i] == final[(size_t)rank * M + i], "%s: own memory [%d] is %d, expected %d",
                  ctx, i, local[i], final[(size_t)rank * M + i]);
        if (flavor == 2) {
            int peer = (rank + 1) % size, du, *base;
            MPI_Aint sz;
            MPI_Win_shared_query(win, peer, &sz, &du, &base);
            for (int i = 0; i < M; i++)
                CHECK(base[i] == final[(size_t)peer * M + i],
                      "%s: rank %d's memory [%d] loaded as %d, expected %d", ctx, peer, i, base[i],
                      final[(size_t)peer * M + i]);
        }
        MPI_Win_unlock(rank, win);
        /* Nobody writes the next round before everyone has looked. */
        MPI_Barrier(MPI_COMM_WORLD);
        memcpy(model, final, (size_t)size * M * sizeof(int));
    }
    MPI_Group_free(&world_group);
    free(model), free(final), free(plan), free(inc), free(accv), free(reads), free(scratch);
}

static void differential(int rounds) {
    /* Shared windows need every rank on one host. */
    MPI_Comm node;
    int size, nnode;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &nnode);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_free(&node);
    for (int flavor = 0; flavor < 4; flavor++)
        for (int mode = 0; mode < MODES; mode++) {
            if (flavor == 2 && nnode < size)
                continue;
            MPI_Win win;
            int *local = NULL, *mine = NULL;
            MPI_Aint disp0[64] = {0};
            int du_ints = 1;
            switch (flavor) {
            case 0:
                mine = calloc(M, sizeof(int));
                local = mine;
                MPI_Win_create(local, M * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD,
                               &win);
                break;
            case 1:
                MPI_Win_allocate(M * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD,
                                 &local, &win);
                break;
            case 2:
                MPI_Win_allocate_shared(M * sizeof(int), sizeof(int), MPI_INFO_NULL,
                                        MPI_COMM_WORLD, &local, &win);
                break;
            default: {
                mine = calloc(M, sizeof(int));
                local = mine;
                MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &win);
                MPI_Win_attach(win, local, M * sizeof(int));
                MPI_Aint a;
                MPI_Get_address(local, &a);
                MPI_Allgather(&a, 1, MPI_AINT, disp0, 1, MPI_AINT, MPI_COMM_WORLD);
                du_ints = sizeof(int); /* displacements are bytes */
                break;
            }
            }
            run(flavor, mode, win, local, disp0, du_ints, rounds);
            if (flavor == 3) MPI_Win_detach(win, local);
            MPI_Win_free(&win);
            free(mine);
        }
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void counters(int ops) {
    /* Fetch_and_op: every value handed out once. */
    long *counter, one = 1, *got = malloc(ops * sizeof(long));
    MPI_Win win;
    MPI_Win_allocate(rank == 0 ? sizeof(long) : 0, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD,
                     &counter, &win);
    if (rank == 0) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
        *counter = 0;
        MPI_Win_unlock(0, win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_lock_all(0, win);
    for (int i = 0; i < ops; i++) MPI_Fetch_and_op(&one, &got[i], MPI_LONG, 0, 0, MPI_SUM, win);
    MPI_Win_unlock_all(win);
    long *all = rank == 0 ? malloc((size_t)ops * size * sizeof(long)) : NULL;
    MPI_Gather(got, ops, MPI_LONG, all, ops, MPI_LONG, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        qsort(all, (size_t)ops * size, sizeof(long), cmp_long);
        long bad = 0;
        for (long i = 0; i < (long)ops * size; i++) bad += all[i] != i;
        CHECK(bad == 0, "MPI_Fetch_and_op counter: %ld of %ld values not handed out exactly once",
              bad, (long)ops * size);
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
        CHECK(*counter == (long)ops * size, "counter ends at %ld, expected %ld", *counter,
              (long)ops * size);
        MPI_Win_unlock(0, win);
        free(all);
    }
    MPI_Win_free(&win);
    free(got);

    /* An exclusive lock makes get-flush-put atomic; the log says who held it. */
    int holds = ops / 10 > 0 ? ops / 10 : 1;
    int *mem, nlog = 1 + holds * size;
    MPI_Win_allocate(rank == 0 ? nlog * sizeof(int) : 0, sizeof(int), MPI_INFO_NULL,
                     MPI_COMM_WORLD, &mem, &win);
    if (rank == 0) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
        memset(mem, 0, nlog * sizeof(int));
        MPI_Win_unlock(0, win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < holds; i++) {
        int v, next;
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
        MPI_Get(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, win);
        MPI_Win_flush(0, win);
        next = v + 1;
        int who = rank + 1;
        if (next < nlog) MPI_Put(&who, 1, MPI_INT, 0, next, 1, MPI_INT, win);
        MPI_Put(&next, 1, MPI_INT, 0, 0, 1, MPI_INT, win);
        MPI_Win_unlock(0, win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
        CHECK(mem[0] == holds * size, "exclusive-lock counter ends at %d, expected %d", mem[0],
              holds * size);
        /* Every holding left its entry: each rank appears `holds` times.
         * (FIFO service itself cannot be seen from outside: a rank may be
         * descheduled between its unlock and its next lock.) */
        int count[64] = {0};
        for (int i = 1; i < nlog; i++) {
            int r = mem[i] - 1;
            if (r < 0 || r >= size) {
                CHECK(0, "lock log [%d] holds %d", i, mem[i]);
                break;
            }
            count[r]++;
        }
        for (int r = 0; r < size; r++)
            CHECK(count[r] == holds, "rank %d appears %d times in the lock log, expected %d", r,
                  count[r], holds);
        MPI_Win_unlock(0, win);
    }
    MPI_Win_free(&win);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 20, ops = argc > 2 ? atoi(argv[2]) : 10000;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    wrank = rank;
    if (size > 64) {
        if (rank == 0) printf("rma_stress: at most 64 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Type_vector(2, 1, 2, MPI_INT, &pair);
    MPI_Type_commit(&pair);
    pend = malloc(sizeof *pend * (size_t)size * BLOCKS);
    differential(rounds);
    counters(ops);
    MPI_Type_free(&pair);
    int total;
    MPI_Allreduce(&errs, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && total == 0)
        printf("rma_stress ok: %d ranks, 4 flavours x 4 synchronizations x %d rounds, %d fetch-and-ops "
               "a rank\n",
               size, rounds, ops);
    free(pend);
    MPI_Finalize();
    return total != 0;
}
