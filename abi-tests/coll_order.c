/* Blocking and nonblocking collectives that members start in different
 * places relative to each other, as mpi4py's Iagree fallback does: the
 * root starts an Iallreduce, then calls a blocking collective; the others
 * call the blocking collective first, then start theirs. Blocking
 * collectives match blocking ones and nonblocking match nonblocking (as
 * on MPICH), so every result must be right, whether the collectives run
 * through the node's cells or as messages (OXMPI_SHM_COLL=0). */
#include <mpi.h>
#include <stdio.h>

#define TEST_NAME "coll_order"
#include "check.h"

int main(int argc, char **argv)
{
    int size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int round = 0; round < 20; round++) {
        for (int root = 0; root < size; root++) {
            MPI_Request req;
            int flag = wrank == root ? 0xb : 0xd, agreed = -1;
            int word = wrank + round, sum = 0, bc = wrank == root ? 1000 + round : -1;
            MPI_Barrier(MPI_COMM_WORLD);
            if (wrank == root) {
                MPI_Iallreduce(&flag, &agreed, 1, MPI_INT, MPI_BAND, MPI_COMM_WORLD, &req);
                MPI_Barrier(MPI_COMM_WORLD);
                MPI_Bcast(&bc, 1, MPI_INT, root, MPI_COMM_WORLD);
                MPI_Allreduce(&word, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
            } else {
                MPI_Barrier(MPI_COMM_WORLD);
                MPI_Bcast(&bc, 1, MPI_INT, root, MPI_COMM_WORLD);
                MPI_Allreduce(&word, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
                MPI_Iallreduce(&flag, &agreed, 1, MPI_INT, MPI_BAND, MPI_COMM_WORLD, &req);
            }
            MPI_Wait(&req, MPI_STATUS_IGNORE);
            CHECK(agreed == (size > 1 ? 0x9 : 0xb), "round %d root %d: Iallreduce gave 0x%x",
                  round, root, agreed);
            CHECK(bc == 1000 + round, "round %d root %d: Bcast gave %d", round, root, bc);
            CHECK(sum == size * (size - 1) / 2 + size * round,
                  "round %d root %d: Allreduce gave %d", round, root, sum);
        }
    }
    int all;
    MPI_Allreduce(&errs, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0)
        printf("coll_order: OK\n");
    MPI_Finalize();
    return all != 0;
}
