/* Bad input to point-to-point calls: each gives the right error class
 * through the communicator's error handler (a user handler here, which
 * counts its calls), and nothing crashes or hangs. Run on 2 ranks. */
#include <mpi.h>
#include <stdio.h>

static int calls, last_class;

static void handler(MPI_Comm *comm, int *code, ...) {
    (void)comm;
    calls++;
    MPI_Error_class(*code, &last_class);
}

static int errs;

static void expect(const char *what, int rc, int cls) {
    int got;
    MPI_Error_class(rc, &got);
    if (got != cls || last_class != cls) {
        printf("p2p_errors: %s: class %d (handler saw %d), expected %d\n", what, got, last_class, cls);
        errs++;
    }
    last_class = -1;
}

int main(int argc, char **argv) {
    int rank, size, buf[4] = {0}, small[1];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Errhandler eh;
    MPI_Comm_create_errhandler(handler, &eh);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, eh);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);

    expect("negative count", MPI_Send(buf, -1, MPI_INT, 0, 0, MPI_COMM_WORLD), MPI_ERR_COUNT);
    expect("rank too large", MPI_Send(buf, 1, MPI_INT, size, 0, MPI_COMM_WORLD), MPI_ERR_RANK);
    expect("negative rank", MPI_Recv(buf, 1, MPI_INT, -7, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), MPI_ERR_RANK);
    expect("negative tag", MPI_Send(buf, 1, MPI_INT, 0, -3, MPI_COMM_WORLD), MPI_ERR_TAG);
    expect("null datatype", MPI_Send(buf, 1, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_WORLD), MPI_ERR_TYPE);
    expect("null buffer", MPI_Send(NULL, 3, MPI_INT, 0, 0, MPI_COMM_WORLD), MPI_ERR_BUFFER);

    /* MPI_COMM_NULL has no handler of its own: MPI_COMM_SELF's answers. */
    int rc = MPI_Send(buf, 1, MPI_INT, 0, 0, MPI_COMM_NULL), cls;
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_COMM) { printf("p2p_errors: MPI_COMM_NULL gave class %d\n", cls); errs++; }

    /* A freed request. */
    MPI_Request req, freed;
    MPI_Irecv(buf, 1, MPI_INT, MPI_ANY_SOURCE, 99, MPI_COMM_WORLD, &req);
    freed = req;
    MPI_Cancel(&req);
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    rc = MPI_Wait(&freed, MPI_STATUS_IGNORE);
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_REQUEST) { printf("p2p_errors: freed request gave class %d\n", cls); errs++; }
    last_class = -1;

    /* A receive buffer too small: MPI_ERR_TRUNCATE, status filled. */
    if (size > 1) {
        if (rank == 0) MPI_Send(buf, 4, MPI_INT, 1, 5, MPI_COMM_WORLD);
        if (rank == 1) {
            MPI_Status st;
            expect("truncation", MPI_Recv(small, 1, MPI_INT, 0, 5, MPI_COMM_WORLD, &st), MPI_ERR_TRUNCATE);
            if (st.MPI_SOURCE != 0 || st.MPI_TAG != 5) { printf("p2p_errors: truncated status wrong\n"); errs++; }
        }
    }
    if (calls != 6 + (size > 1 && rank == 1)) { printf("p2p_errors: the handler ran %d times\n", calls); errs++; }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Errhandler_free(&eh);
    int total;
    MPI_Reduce(&errs, &total, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0 && total == 0) printf("p2p_errors: OK\n");
    MPI_Finalize();
    return total != 0;
}
