/* Bad input under the default error handler: the job must end with a
 * message naming the function and the error. argv[1] picks the case. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int rank = 0;
    const char *what = argc > 1 ? argv[1] : "comm-null";

    if (strcmp(what, "before-init") == 0) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        return 0;
    }
    MPI_Init(&argc, &argv);
    if (strcmp(what, "comm-null") == 0) {
        MPI_Comm_rank(MPI_COMM_NULL, &rank);
    } else if (strcmp(what, "abort") == 0) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        if (rank == 1)
            MPI_Abort(MPI_COMM_WORLD, 7);
    } else if (strcmp(what, "after-finalize") == 0) {
        MPI_Finalize();
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        return 0;
    }
    MPI_Finalize();
    printf("fatal: not reached for '%s'\n", what);
    return 0;
}
