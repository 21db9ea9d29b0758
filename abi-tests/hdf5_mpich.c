/* Parallel HDF5 (Debian's MPICH build, compiled with h5pcc.mpich) through
 * our MPI-IO: each rank writes its rows of a 2-D
 * dataset (collective, then independent), reads the whole back and checks. */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#define ROWS 8
#define COLS 100
int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, errs = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int mode = 0; mode < 2; mode++) {
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
        hid_t f = H5Fcreate("hdf5_mpich.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        hsize_t dims[2] = {(hsize_t)ROWS * size, COLS};
        hid_t space = H5Screate_simple(2, dims, NULL);
        hid_t d = H5Dcreate2(f, "grid", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t start[2] = {(hsize_t)ROWS * rank, 0}, count[2] = {ROWS, COLS};
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
        hid_t mem = H5Screate_simple(2, count, NULL);
        int *buf = malloc(sizeof(int) * ROWS * COLS);
        for (int i = 0; i < ROWS * COLS; i++) buf[i] = rank * 100000 + i + mode;
        hid_t dx = H5Pcreate(H5P_DATASET_XFER);
        H5Pset_dxpl_mpio(dx, mode == 0 ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT);
        if (H5Dwrite(d, H5T_NATIVE_INT, mem, space, dx, buf) < 0) errs++;
        H5Dclose(d); H5Sclose(space); H5Sclose(mem); H5Fclose(f);
        MPI_Barrier(MPI_COMM_WORLD);
        f = H5Fopen("hdf5_mpich.h5", H5F_ACC_RDONLY, fapl);
        d = H5Dopen2(f, "grid", H5P_DEFAULT);
        int *all = malloc(sizeof(int) * ROWS * COLS * size);
        if (H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, dx, all) < 0) errs++;
        for (int r = 0; r < size; r++)
            for (int i = 0; i < ROWS * COLS; i++)
                if (all[r * ROWS * COLS + i] != r * 100000 + i + mode) { errs++; break; }
        H5Dclose(d); H5Fclose(f); H5Pclose(fapl); H5Pclose(dx);
        free(buf); free(all);
    }
    int tot;
    MPI_Allreduce(&errs, &tot, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf(tot ? "hdf5_mpich: %d errors\n" : "hdf5_mpich: OK\n", tot);
    if (rank == 0) remove("hdf5_mpich.h5");
    MPI_Finalize();
    return tot != 0;
}
