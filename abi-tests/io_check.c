/* MPI-IO checked against the file's bytes: every rank writes through an
 * interleaved view (blocks of BLK ints, one block per rank in turn) from
 * a strided memory type, with write_all, the individual pointer, iwrite_at
 * and split collectives; rank 0 then reads the file with plain POSIX
 * calls and checks every int against where the view says it belongs. The
 * shared pointer: write_ordered must lay the ranks' data in rank order,
 * and write_shared from every rank must leave each record exactly once;
 * external32 must be big-endian in the file, and a registered
 * representation's conversion functions must shape the file's bytes.
 * Block sizes vary from round to round (each rank writes whole blocks). Prints "io_check: OK" at rank 0.
 *
 *   io_check DIR [ROUNDS] */
#define TEST_NAME "io_check"
#include "check.h"
#include <fcntl.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int nprocs;

/* The int rank `r` writes as its `i`th value in round `round`. */
static int value(int round, int r, int i) { return round * 1000003 + r * 10007 + i; }

static int *read_raw(const char *path, long *n)
{
    int fd = open(path, O_RDONLY);
    long bytes = lseek(fd, 0, SEEK_END);
    int *v = malloc(bytes + 4);
    pread(fd, v, bytes, 0);
    close(fd);
    *n = bytes / 4;
    return v;
}

/* Round `round`: BLK ints per block, K ints per rank. */
static void interleaved(const char *path, int round, int blk, int k)
{
    MPI_File fh;
    MPI_Datatype block, filetype, memtype;
    MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    MPI_File_set_size(fh, 0);
    MPI_Type_contiguous(blk, MPI_INT, &block);
    MPI_Type_create_resized(block, 0, (MPI_Aint)blk * nprocs * 4, &filetype);
    MPI_Type_commit(&filetype);
    MPI_File_set_view(fh, (MPI_Offset)wrank * blk * 4, MPI_INT, filetype, "native", MPI_INFO_NULL);
    /* Memory: every other int of a buffer twice the size. */
    MPI_Type_vector(k, 1, 2, MPI_INT, &memtype);
    MPI_Type_commit(&memtype);
    int *mem = calloc(2 * k, sizeof(int));
    for (int i = 0; i < k; i++) mem[2 * i] = value(round, wrank, i);
    /* Four ways, a quarter of the data each (k is a multiple of 4). */
    int q = k / 4;
    MPI_Datatype qtype;
    MPI_Type_vector(q, 1, 2, MPI_INT, &qtype);
    MPI_Type_commit(&qtype);
    MPI_Status st;
    MPI_File_write_all(fh, mem, 1, qtype, &st);
    int got = -1;
    MPI_Get_count(&st, MPI_INT, &got);
    CHECK(got == q, "write_all wrote %d ints, want %d", got, q);
    MPI_File_write(fh, mem + 2 * q, 1, qtype, MPI_STATUS_IGNORE);
    MPI_Offset pos = -1;
    MPI_File_get_position(fh, &pos);
    CHECK(pos == 2 * q, "individual pointer at %lld, want %d", (long long)pos, 2 * q);
    MPI_Request req;
    MPI_File_iwrite_at(fh, 2 * q, mem + 4 * q, 1, qtype, &req);
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    MPI_File_write_at_all_begin(fh, 3 * q, mem + 6 * q, 1, qtype);
    MPI_File_write_at_all_end(fh, mem + 6 * q, MPI_STATUS_IGNORE);
    MPI_Offset byte = -1;
    MPI_File_get_byte_offset(fh, blk, &byte);
    CHECK(byte == (MPI_Offset)wrank * blk * 4 + (MPI_Offset)blk * nprocs * 4,
          "byte offset of the second block: %lld", (long long)byte);
    /* Read back through the view into a strided buffer. */
    int *back = calloc(2 * k, sizeof(int));
    MPI_File_read_at_all(fh, 0, back, 1, memtype, &st);
    for (int i = 0; i < k; i++)
        if (back[2 * i] != value(round, wrank, i) || back[2 * i + 1] != 0) {
            CHECK(0, "round %d: read back [%d] = %d, want %d", round, i, back[2 * i],
                  value(round, wrank, i));
            break;
        }
    MPI_File_close(&fh);
    MPI_Barrier(MPI_COMM_WORLD);
    if (wrank == 0) {
        long n;
        int *v = read_raw(path, &n);
        CHECK(n == (long)k * nprocs, "round %d: file holds %ld ints, want %ld", round, n,
              (long)k * nprocs);
        for (long p = 0; p < n; p++) {
            long b = p / blk, within = p % blk;
            int owner = b % nprocs;
            long i = (b / nprocs) * blk + within;
            if (v[p] != value(round, owner, i)) {
                CHECK(0, "round %d blk %d: int %ld is %d, want %d (rank %d's %ld)", round, blk,
                      p, v[p], value(round, owner, i), owner, i);
                break;
            }
        }
        free(v);
    }
    free(mem);
    free(back);
    MPI_Type_free(&qtype);
    MPI_Type_free(&memtype);
    MPI_Type_free(&filetype);
    MPI_Type_free(&block);
}

/* Shared pointer: ordered writes in rank order, then shared writes of
 * records (rank, i) from everyone: each exactly once. */
static void shared(const char *path, int round)
{
    MPI_File fh;
    MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    MPI_File_set_size(fh, 0);
    MPI_File_set_atomicity(fh, round % 2);
    int n = wrank + 1, rec[2];
    int *mine = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) mine[i] = value(round, wrank, i);
    MPI_File_write_ordered(fh, mine, n, MPI_INT, MPI_STATUS_IGNORE);
    int records = 50;
    for (int i = 0; i < records; i++) {
        rec[0] = wrank;
        rec[1] = i;
        MPI_File_write_shared(fh, rec, 2, MPI_INT, MPI_STATUS_IGNORE);
    }
    MPI_File_close(&fh);
    MPI_Barrier(MPI_COMM_WORLD);
    if (wrank == 0) {
        long len;
        int *v = read_raw(path, &len);
        long head = (long)nprocs * (nprocs + 1) / 2, p = 0;
        CHECK(len == head + 2L * records * nprocs, "shared file holds %ld ints", len);
        for (int r = 0; r < nprocs; r++)
            for (int i = 0; i <= r; i++, p++)
                if (v[p] != value(round, r, i)) {
                    CHECK(0, "ordered: int %ld is %d, want rank %d's %d", p, v[p], r, i);
                    r = nprocs;
                    break;
                }
        int *seen = calloc((size_t)nprocs * records, sizeof(int));
        for (long j = head; j + 1 < len; j += 2) {
            int r = v[j], i = v[j + 1];
            if (r < 0 || r >= nprocs || i < 0 || i >= records || seen[r * records + i]++) {
                CHECK(0, "shared: bad or repeated record (%d, %d)", r, i);
                break;
            }
        }
        free(seen);
        free(v);
    }
    free(mine);
}

/* external32 at rank 0: big-endian in the file, values back through the
 * view; a type whose external32 size differs from memory's is refused. */
static void ext32(const char *path)
{
    MPI_File fh;
    int v[4] = {1, 0x01020304, -2, 7}, back[4] = {0, 0, 0, 0};
    MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);
    MPI_File_set_size(fh, 0);
    MPI_File_set_view(fh, 0, MPI_INT, MPI_INT, "external32", MPI_INFO_NULL);
    MPI_File_write_at(fh, 0, v, 4, MPI_INT, MPI_STATUS_IGNORE);
    MPI_File_read_at(fh, 0, back, 4, MPI_INT, MPI_STATUS_IGNORE);
    for (int i = 0; i < 4; i++) CHECK(back[i] == v[i], "external32 read back %d", back[i]);
    MPI_File_close(&fh);
    long n;
    int *raw = read_raw(path, &n);
    const unsigned char *b = (const unsigned char *)raw;
    CHECK(n == 4 && b[3] == 1 && b[4] == 1 && b[5] == 2 && b[6] == 3 && b[7] == 4 &&
              b[8] == 0xff && b[11] == 0xfe,
          "external32 bytes in the file: %02x %02x %02x %02x", b[4], b[5], b[6], b[7]);
    free(raw);
    /* C long: refused, or (where supported) right both ways. */
    MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    MPI_File_set_errhandler(fh, MPI_ERRORS_RETURN);
    int rc = MPI_File_set_view(fh, 0, MPI_LONG, MPI_LONG, "external32", MPI_INFO_NULL), cls;
    MPI_Error_class(rc, &cls);
    if (rc == MPI_SUCCESS) {
        long lv[2] = {-3, 123456789}, lb[2] = {0, 0};
        MPI_File_write_at(fh, 0, lv, 2, MPI_LONG, MPI_STATUS_IGNORE);
        MPI_File_read_at(fh, 0, lb, 2, MPI_LONG, MPI_STATUS_IGNORE);
        CHECK(lb[0] == lv[0] && lb[1] == lv[1], "external32 longs read back %ld %ld", lb[0], lb[1]);
    } else {
        CHECK(cls == MPI_ERR_UNSUPPORTED_DATAREP, "external32 view of C long: class %d", cls);
    }
    MPI_File_close(&fh);
}

/* A user data representation: bytes XORed with 0x5a in the file. */
static int xor_calls;
static int xor_write(void *user, MPI_Datatype dt, int count, void *file, MPI_Offset pos, void *x)
{
    int size;
    MPI_Type_size(dt, &size);
    for (long i = 0; i < (long)size * count; i++)
        ((unsigned char *)file)[i] = ((unsigned char *)user)[i] ^ 0x5a;
    xor_calls += (x == &xor_calls) && pos == 0;
    return MPI_SUCCESS;
}
static int xor_read(void *user, MPI_Datatype dt, int count, void *file, MPI_Offset pos, void *x)
{
    return xor_write(file, dt, count, user, pos, x);
}
static int xor_extent(MPI_Datatype dt, MPI_Aint *extent, void *x)
{
    (void)x;
    int size;
    MPI_Type_size(dt, &size);
    *extent = size;
    return MPI_SUCCESS;
}

static void user_rep(const char *path)
{
    MPI_File fh;
    int v[3] = {0x11223344, -1, 5}, back[3] = {0, 0, 0};
    MPI_Register_datarep("oxmpi-xor", xor_read, xor_write, xor_extent, &xor_calls);
    MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    MPI_File_set_size(fh, 0);
    MPI_File_set_view(fh, 0, MPI_INT, MPI_INT, "oxmpi-xor", MPI_INFO_NULL);
    MPI_File_write_at(fh, 0, v, 3, MPI_INT, MPI_STATUS_IGNORE);
    MPI_File_read_at(fh, 0, back, 3, MPI_INT, MPI_STATUS_IGNORE);
    MPI_File_close(&fh);
    for (int i = 0; i < 3; i++) CHECK(back[i] == v[i], "user datarep read back %x", back[i]);
    CHECK(xor_calls >= 2, "the conversion functions ran %d times", xor_calls);
    long n;
    int *raw = read_raw(path, &n);
    CHECK(n == 3 && raw[0] == (0x11223344 ^ 0x5a5a5a5a) && raw[1] == (-1 ^ 0x5a5a5a5a),
          "user datarep bytes in the file: %x", raw[0]);
    free(raw);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 2) {
        if (wrank == 0) fprintf(stderr, "usage: io_check DIR [ROUNDS]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    char path[4096];
    snprintf(path, sizeof path, "%s/io_check.dat", argv[1]);
    MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_ARE_FATAL);
    srand(12345);
    for (int round = 0; round < rounds; round++) {
        int blk = 1 + rand() % 37, k = 4 * blk * (1 + rand() % 8);
        interleaved(path, round, blk, k);
        shared(path, round);
    }
    if (wrank == 0) ext32(path);
    if (wrank == 0) user_rep(path);
    if (wrank == 0) unlink(path);
    int all = 0;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0) printf("io_check: OK\n");
    MPI_Finalize();
    return all != 0;
}
