/* Creating and freeing 10^4 communicators and groups leaks nothing: the
 * resident set after the loop is within 1 MB of what it was after a
 * warm-up, and the loop takes seconds, not minutes. Run on 4 ranks. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    int rank;
    long warm = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    double t0 = MPI_Wtime();
    for (int i = 0; i < 10000; i++) {
        MPI_Comm dup, half;
        MPI_Group g, odd;
        int one = 1;
        MPI_Comm_dup(MPI_COMM_WORLD, &dup);
        MPI_Comm_group(dup, &g);
        MPI_Group_incl(g, 1, &one, &odd);
        MPI_Comm_split(dup, rank % 2, -rank, &half);
        MPI_Comm_free(&half);
        MPI_Group_free(&odd);
        MPI_Group_free(&g);
        MPI_Comm_free(&dup);
        if (i == 1000)
            warm = rss_kb();
    }
    double secs = MPI_Wtime() - t0;
    long grown = rss_kb() - warm, worst;
    MPI_Allreduce(&grown, &worst, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("comm_churn: 10^4 rounds in %.2f s, RSS grew by at most %ld kB\n", secs, worst);
        if (worst < 1024 && secs < 30)
            printf("comm_churn: OK\n");
    }
    MPI_Finalize();
    return 0;
}
