/* Derived datatypes end to end, on 2 ranks: non-contiguous sends and
 * receives (eager and rendezvous sizes), layouts that differ on the two
 * sides but share a type signature, MPI_BOTTOM with absolute addresses,
 * freeing a type while a receive still uses it, persistent requests,
 * collectives, partial receives, and bad input with its error classes. */
#include <mpi.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int errs, rank;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("datatype: rank %d: ", rank);                             \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
            errs++;                                                            \
        }                                                                      \
    } while (0)

static void expect(const char *what, int rc, int cls) {
    int got;
    MPI_Error_class(rc, &got);
    CHECK(got == cls, "%s: error class %d, expected %d", what, got, cls);
}

/* A column of an n x w matrix of doubles. */
static MPI_Datatype column(int n, int w) {
    MPI_Datatype t;
    MPI_Type_vector(n, 1, w, MPI_DOUBLE, &t);
    MPI_Type_commit(&t);
    return t;
}

enum { W = 5 };

/* Columns of an n x 5 matrix go as n contiguous doubles and come back. */
static void columns(int n) {
    int peer = 1 - rank;
    double *m = malloc(sizeof(double) * n * W), *v = malloc(sizeof(double) * n);
    MPI_Datatype col = column(n, W);
    if (rank == 0) {
        for (int i = 0; i < n * W; i++) m[i] = i;
        MPI_Send(m + 3, 1, col, peer, 1, MPI_COMM_WORLD);
        for (int i = 0; i < n * W; i++) m[i] = -1;
        MPI_Recv(m + 1, 1, col, peer, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int i = 0; i < n * W; i++) {
            double want = i % W == 1 ? 1000.0 + i / W : -1;
            CHECK(m[i] == want, "column receive n=%d: m[%d] = %g, expected %g", n, i, m[i], want);
            if (m[i] != want) break;
        }
    } else {
        MPI_Recv(v, n, MPI_DOUBLE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int i = 0; i < n; i++) {
            CHECK(v[i] == (double)(i * W + 3), "column send n=%d: v[%d] = %g", n, i, v[i]);
            if (v[i] != (double)(i * W + 3)) break;
        }
        for (int i = 0; i < n; i++) v[i] = 1000.0 + i;
        MPI_Send(v, n, MPI_DOUBLE, peer, 2, MPI_COMM_WORLD);
    }
    MPI_Type_free(&col);
    free(m);
    free(v);
}

struct a { char c; double d; int i; };
struct b { int pad; int i_first_half; double d; char gap[5]; char c; int i; };

/* (char, double, int) sent with one struct layout, received with another. */
static void signatures(void) {
    MPI_Datatype ta, tb;
    int bl[3] = {1, 1, 1};
    MPI_Aint da[3] = {offsetof(struct a, c), offsetof(struct a, d), offsetof(struct a, i)};
    MPI_Aint db[3] = {offsetof(struct b, c), offsetof(struct b, d), offsetof(struct b, i)};
    MPI_Datatype types[3] = {MPI_CHAR, MPI_DOUBLE, MPI_INT};
    MPI_Datatype sa, sb;
    MPI_Type_create_struct(3, bl, da, types, &sa);
    MPI_Type_create_struct(3, bl, db, types, &sb);
    /* Arrays of C structs step by sizeof, whatever the members' bounds. */
    MPI_Type_create_resized(sa, 0, sizeof(struct a), &ta);
    MPI_Type_create_resized(sb, 0, sizeof(struct b), &tb);
    MPI_Type_free(&sa);
    MPI_Type_free(&sb);
    MPI_Type_commit(&ta);
    MPI_Type_commit(&tb);
    struct a x[4];
    struct b y[4];
    if (rank == 0) {
        for (int k = 0; k < 4; k++) { x[k].c = 'a' + k; x[k].d = k * 1.5; x[k].i = -k; }
        MPI_Send(x, 4, ta, 1, 3, MPI_COMM_WORLD);
    } else {
        memset(y, 0x55, sizeof y);
        MPI_Status st;
        MPI_Recv(y, 4, tb, 0, 3, MPI_COMM_WORLD, &st);
        int n;
        MPI_Get_count(&st, tb, &n);
        CHECK(n == 4, "struct count %d", n);
        for (int k = 0; k < 4; k++)
            CHECK(y[k].c == 'a' + k && y[k].d == k * 1.5 && y[k].i == -k && y[k].pad == 0x55555555,
                  "struct element %d: %c %g %d", k, y[k].c, y[k].d, y[k].i);
    }
    MPI_Type_free(&ta);
    MPI_Type_free(&tb);
}

/* MPI_BOTTOM and absolute addresses; the receive's type is freed while
 * the receive is pending. */
static void bottom_and_free(void) {
    static int i1 = 7;
    static double d1 = 2.5;
    int bl[2] = {1, 1};
    MPI_Aint disp[2];
    MPI_Datatype types[2] = {MPI_INT, MPI_DOUBLE}, t;
    MPI_Get_address(&i1, &disp[0]);
    MPI_Get_address(&d1, &disp[1]);
    MPI_Type_create_struct(2, bl, disp, types, &t);
    MPI_Type_commit(&t);
    if (rank == 0) {
        MPI_Send(MPI_BOTTOM, 1, t, 1, 4, MPI_COMM_WORLD);
    } else {
        i1 = 0;
        d1 = 0;
        MPI_Request r;
        MPI_Irecv(MPI_BOTTOM, 1, t, 0, 4, MPI_COMM_WORLD, &r);
        MPI_Type_free(&t);
        CHECK(t == MPI_DATATYPE_NULL, "MPI_Type_free did not reset the handle");
        MPI_Wait(&r, MPI_STATUS_IGNORE);
        CHECK(i1 == 7 && d1 == 2.5, "MPI_BOTTOM receive: %d %g", i1, d1);
    }
    if (t != MPI_DATATYPE_NULL) MPI_Type_free(&t);
}

/* Persistent requests with a strided type, restarted with new data. */
static void persistent(void) {
    int buf[20], got[10];
    MPI_Datatype every_other;
    MPI_Type_vector(10, 1, 2, MPI_INT, &every_other);
    MPI_Type_commit(&every_other);
    MPI_Request r;
    if (rank == 0)
        MPI_Send_init(buf, 1, every_other, 1, 5, MPI_COMM_WORLD, &r);
    else
        MPI_Recv_init(got, 10, MPI_INT, 0, 5, MPI_COMM_WORLD, &r);
    MPI_Type_free(&every_other);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++) buf[i] = 100 * round + i;
        MPI_Start(&r);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
        if (rank == 1)
            for (int i = 0; i < 10; i++)
                CHECK(got[i] == 100 * round + 2 * i, "persistent round %d: got[%d] = %d", round, i, got[i]);
    }
    MPI_Request_free(&r);
}

/* Partial receive: 5 ints into elements of 3 ints. */
static void partial(void) {
    int v[6] = {1, 2, 3, 4, 5, 6};
    MPI_Datatype three;
    MPI_Type_contiguous(3, MPI_INT, &three);
    MPI_Type_commit(&three);
    if (rank == 0) {
        MPI_Send(v, 5, MPI_INT, 1, 6, MPI_COMM_WORLD);
    } else {
        int w[6] = {0};
        MPI_Status st;
        int count, elements;
        MPI_Recv(w, 2, three, 0, 6, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, three, &count);
        MPI_Get_elements(&st, three, &elements);
        CHECK(count == MPI_UNDEFINED && elements == 5 && w[4] == 5 && w[5] == 0,
              "partial receive: count %d elements %d", count, elements);
    }
    MPI_Type_free(&three);
}

/* Collectives move non-contiguous blocks too. */
static void collectives(void) {
    double m[16], g[8];
    MPI_Datatype col = column(4, 4);
    for (int i = 0; i < 16; i++) m[i] = rank == 0 ? i : -1;
    MPI_Bcast(m + 2, 1, col, 0, MPI_COMM_WORLD);
    for (int i = 0; i < 16; i++)
        CHECK(m[i] == (rank == 0 || i % 4 == 2 ? i : -1), "bcast of a column: m[%d] = %g", i, m[i]);
    double mine[4];
    for (int i = 0; i < 4; i++) mine[i] = 10 * rank + i;
    MPI_Datatype pair, spread;
    MPI_Type_vector(2, 1, 2, MPI_DOUBLE, &pair);
    MPI_Type_create_resized(pair, 0, sizeof(double), &spread);
    MPI_Type_commit(&spread);
    /* Rank r's two doubles land at g[r] and g[r + 2]. */
    MPI_Allgather(mine, 2, MPI_DOUBLE, g, 1, spread, MPI_COMM_WORLD);
    for (int r = 0; r < 2; r++)
        CHECK(g[r] == 10 * r && g[r + 2] == 10 * r + 1, "allgather into a resized vector: %g %g", g[r], g[r + 2]);
    MPI_Type_free(&pair);
    MPI_Type_free(&spread);
    MPI_Type_free(&col);
}

/* A user operation on a strided type: sums the first double of each
 * element, whose extent is three doubles. */
static void sum_first(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    for (int i = 0; i < *len; i++)
        ((double *)inout)[3 * i] += ((double *)in)[3 * i];
}

/* User operations see elements laid out as in the user's buffer (holes
 * included); the holes of the result buffer are left alone. */
static void user_op_with_holes(void) {
    MPI_Datatype one, every3;
    MPI_Op op;
    MPI_Type_vector(1, 1, 3, MPI_DOUBLE, &one);
    MPI_Type_create_resized(one, 0, 3 * sizeof(double), &every3);
    MPI_Type_commit(&every3);
    MPI_Op_create(sum_first, 1, &op);
    double in[12], out[12], scan[12];
    for (int i = 0; i < 12; i++) {
        in[i] = i % 3 ? -7 : rank + i;
        out[i] = scan[i] = -1;
    }
    MPI_Allreduce(in, out, 4, every3, op, MPI_COMM_WORLD);
    MPI_Scan(in, scan, 4, every3, op, MPI_COMM_WORLD);
    for (int i = 0; i < 12; i++) {
        double sum = i % 3 ? -1 : 1 + 2 * i, part = i % 3 ? -1 : rank == 0 ? i : 1 + 2 * i;
        CHECK(out[i] == sum, "allreduce with a user op on a strided type: out[%d] = %g", i, out[i]);
        CHECK(scan[i] == part, "scan with a user op on a strided type: scan[%d] = %g", i, scan[i]);
    }
    MPI_Op_free(&op);
    MPI_Type_free(&one);
    MPI_Type_free(&every3);
}

static void bad_input(void) {
    int buf[8] = {0};
    MPI_Datatype t, u;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    expect("negative count", MPI_Type_contiguous(-1, MPI_INT, &t), MPI_ERR_COUNT);
    expect("negative blocklength", MPI_Type_vector(2, -1, 2, MPI_INT, &t), MPI_ERR_COUNT);
    expect("MPI_DATATYPE_NULL as old type", MPI_Type_contiguous(2, MPI_DATATYPE_NULL, &t), MPI_ERR_TYPE);
    u = MPI_INT;
    expect("freeing a predefined type", MPI_Type_free(&u), MPI_ERR_TYPE);
    u = MPI_DATATYPE_NULL;
    expect("freeing MPI_DATATYPE_NULL", MPI_Type_free(&u), MPI_ERR_TYPE);
    expect("send of MPI_DATATYPE_NULL", MPI_Send(buf, 1, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_WORLD), MPI_ERR_TYPE);
    MPI_Type_contiguous(2, MPI_INT, &t);
    expect("send of an uncommitted type", MPI_Send(buf, 1, t, 0, 0, MPI_COMM_WORLD), MPI_ERR_TYPE);
    int pos = 0;
    char packed[4];
    MPI_Type_commit(&t);
    expect("pack into too small a buffer", MPI_Pack(buf, 1, t, packed, 4, &pos, MPI_COMM_WORLD), MPI_ERR_TRUNCATE);
    if (rank == 0) {
        MPI_Send(buf, 6, MPI_INT, 1, 7, MPI_COMM_WORLD);
    } else {
        expect("truncated receive into a derived type", MPI_Recv(buf, 2, t, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE), MPI_ERR_TRUNCATE);
    }
    /* As in MPICH, predefined operations take predefined types only. */
    int in[6] = {0}, out[6];
    MPI_Datatype strided;
    MPI_Type_vector(3, 1, 2, MPI_INT, &strided);
    MPI_Type_commit(&strided);
    expect("MPI_SUM on a derived type", MPI_Allreduce(in, out, 1, strided, MPI_SUM, MPI_COMM_WORLD), MPI_ERR_OP);
    MPI_Type_free(&strided);
    MPI_Type_free(&t);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    columns(4);
    columns(300);    /* 2.4 KB: eager */
    columns(100000); /* 800 KB: rendezvous */
    signatures();
    bottom_and_free();
    persistent();
    partial();
    collectives();
    user_op_with_holes();
    bad_input();
    int all;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && all == 0) printf("datatype: OK\n");
    MPI_Finalize();
    return all != 0;
}
