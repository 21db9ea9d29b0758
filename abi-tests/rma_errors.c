/* Bad input to one-sided calls: each gives the right error class through
 * the window's error handler (a user handler here, which counts its
 * calls), errors on windows not yet made go to the communicator's, and
 * nothing crashes or hangs. Run on 2 ranks. */
#include <mpi.h>
#include <stdio.h>

static int calls, last_class, errs;

static void win_handler(MPI_Win *win, int *code, ...) {
    (void)win;
    calls++;
    MPI_Error_class(*code, &last_class);
}

static void expect(const char *what, int rc, int cls) {
    int got;
    MPI_Error_class(rc, &got);
    if (got != cls || last_class != cls) {
        printf("rma_errors: %s: class %d (handler saw %d), expected %d\n", what, got, last_class,
               cls);
        errs++;
    }
    last_class = -1;
}

static void user_sum(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)in, (void)inout, (void)len, (void)dt;
}

int main(int argc, char **argv) {
    int rank, size, buf[8] = {0}, got[8], one = 1, cls, rc;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);

    /* Creation errors go to the communicator. */
    MPI_Win bad;
    rc = MPI_Win_create(buf, -4, 4, MPI_INFO_NULL, MPI_COMM_WORLD, &bad);
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_SIZE) { printf("rma_errors: negative size gave class %d\n", cls); errs++; }
    rc = MPI_Win_allocate(16, 0, MPI_INFO_NULL, MPI_COMM_WORLD, &bad, &bad);
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_DISP) { printf("rma_errors: zero disp_unit gave class %d\n", cls); errs++; }

    MPI_Win win;
    MPI_Win_create(buf, sizeof buf, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    MPI_Errhandler eh;
    MPI_Win_create_errhandler(win_handler, &eh);
    MPI_Win_set_errhandler(win, eh);

    /* No epoch open. */
    expect("put outside an epoch", MPI_Put(&one, 1, MPI_INT, 0, 0, 1, MPI_INT, win), MPI_ERR_RMA_SYNC);
    expect("unlock without lock", MPI_Win_unlock(0, win), MPI_ERR_RMA_SYNC);
    expect("complete without start", MPI_Win_complete(win), MPI_ERR_RMA_SYNC);
    expect("flush outside a passive epoch", MPI_Win_flush(0, win), MPI_ERR_RMA_SYNC);
    expect("invalid lock type", MPI_Win_lock(12345, 0, 0, win), MPI_ERR_LOCKTYPE);

    MPI_Win_lock_all(0, win);
    int peer = (rank + 1) % size;
    expect("rank too large", MPI_Put(&one, 1, MPI_INT, size, 0, 1, MPI_INT, win), MPI_ERR_RANK);
    expect("negative rank", MPI_Get(got, 1, MPI_INT, -5, 0, 1, MPI_INT, win), MPI_ERR_RANK);
    expect("past the window's end", MPI_Put(&one, 1, MPI_INT, peer, 8, 1, MPI_INT, win),
           MPI_ERR_RMA_RANGE);
    expect("straddling the end", MPI_Get(got, 4, MPI_INT, peer, 6, 4, MPI_INT, win),
           MPI_ERR_RMA_RANGE);
    expect("negative displacement", MPI_Put(&one, 1, MPI_INT, peer, -1, 1, MPI_INT, win),
           MPI_ERR_RMA_RANGE);
    expect("null datatype", MPI_Put(&one, 1, MPI_DATATYPE_NULL, peer, 0, 1, MPI_INT, win),
           MPI_ERR_TYPE);
    expect("negative count", MPI_Get(got, -1, MPI_INT, peer, 0, 1, MPI_INT, win), MPI_ERR_COUNT);
    expect("signatures differ", MPI_Put(buf, 2, MPI_INT, peer, 0, 1, MPI_INT, win), MPI_ERR_TYPE);
    MPI_Op op;
    MPI_Op_create(user_sum, 1, &op);
    expect("user-defined op", MPI_Accumulate(&one, 1, MPI_INT, peer, 0, 1, MPI_INT, op, win),
           MPI_ERR_OP);
    MPI_Op_free(&op);
    expect("MPI_SUM on MPI_BYTE", MPI_Accumulate(&one, 1, MPI_BYTE, peer, 0, 1, MPI_BYTE, MPI_SUM, win),
           MPI_ERR_OP);
    MPI_Datatype two;
    MPI_Type_contiguous(2, MPI_INT, &two);
    MPI_Type_commit(&two);
    expect("fetch_and_op on a derived type",
           MPI_Fetch_and_op(buf, got, two, peer, 0, MPI_SUM, win), MPI_ERR_TYPE);
    MPI_Type_free(&two);
    expect("lock inside lock_all", MPI_Win_lock(MPI_LOCK_SHARED, peer, 0, win), MPI_ERR_RMA_SYNC);
    expect("fence inside lock_all", MPI_Win_fence(0, win), MPI_ERR_RMA_SYNC);
    MPI_Win_unlock_all(win);

    /* A shared-memory query of a rank outside the window. */
    MPI_Aint qsize;
    int qdu;
    void *qbase;
    expect("shared query of a bad rank", MPI_Win_shared_query(win, size + 3, &qsize, &qdu, &qbase),
           MPI_ERR_RANK);
    if (calls != 19) { printf("rma_errors: the window's handler ran %d times, expected 19\n", calls); errs++; }

    /* Predefined attributes cannot be set. */
    MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN);
    rc = MPI_Win_set_attr(win, MPI_WIN_BASE, NULL);
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_KEYVAL) { printf("rma_errors: setting MPI_WIN_BASE gave class %d\n", cls); errs++; }

    MPI_Errhandler_free(&eh);
    MPI_Win_free(&win);
    if (win != MPI_WIN_NULL) { printf("rma_errors: MPI_Win_free left the handle\n"); errs++; }
    /* A dynamic window: our own memory outside what is attached. */
    MPI_Win dyn;
    int region[4], outside[4];
    MPI_Aint a_out;
    MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &dyn);
    MPI_Win_set_errhandler(dyn, MPI_ERRORS_RETURN);
    MPI_Win_attach(dyn, region, sizeof region);
    MPI_Get_address(outside, &a_out);
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank, 0, dyn);
    rc = MPI_Put(&one, 1, MPI_INT, rank, a_out, 1, MPI_INT, dyn);
    MPI_Win_unlock(rank, dyn);
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_RMA_RANGE) { printf("rma_errors: unattached address gave class %d\n", cls); errs++; }
    MPI_Win_detach(dyn, region);
    MPI_Win_free(&dyn);

    /* MPI_WIN_NULL has no handler: MPI_COMM_SELF's answers. */
    rc = MPI_Win_fence(0, MPI_WIN_NULL);
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_WIN) { printf("rma_errors: MPI_WIN_NULL gave class %d\n", cls); errs++; }

    int total;
    MPI_Allreduce(&errs, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && total == 0) printf("rma_errors: OK\n");
    MPI_Finalize();
    return total != 0;
}
