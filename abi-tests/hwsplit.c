/* MPI_Comm_split_type with MPI_COMM_TYPE_HW_GUIDED: for each hardware
 * resource type, the communicators must hold exactly the ranks bound
 * within the same object of that type, and a rank bound within none must
 * get MPI_COMM_NULL. The expectation is worked out here independently,
 * from /proc/self/status and sysfs, and compared with what the library
 * made. Also: mpi_shared_memory is MPI_COMM_TYPE_SHARED, an unknown type
 * gives MPI_COMM_NULL everywhere, MPI_COMM_TYPE_HW_UNGUIDED gives
 * MPI_COMM_NULL or a strict subset. Prints "hwsplit: OK" at rank 0 and,
 * per rank, the types it is bound within. */
#define TEST_NAME "hwsplit"
#include "check.h"
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#define KEY 64

/* The CPUs this process may run on, from /proc/self/status. */
static int allowed(int *cpus, int max)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Cpus_allowed_list:", 18) != 0)
            continue;
        for (char *p = strtok(line + 18, ",\n\t "); p; p = strtok(NULL, ",\n\t ")) {
            int a, b;
            if (sscanf(p, "%d-%d", &a, &b) == 2) {
                for (int c = a; c <= b && n < max; c++) cpus[n++] = c;
            } else if (sscanf(p, "%d", &a) == 1 && n < max) {
                cpus[n++] = a;
            }
        }
    }
    if (f) fclose(f);
    return n;
}

static long sysfs(int cpu, const char *what)
{
    char path[256];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/%s", cpu, what);
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1) v = -1;
        fclose(f);
    }
    return v;
}

/* The object of type `type` holding `cpu`, as text ("" if unknown). */
static void object(const char *type, int cpu, char *out)
{
    if (!strcmp(type, "Machine"))
        strcpy(out, "m");
    else if (!strcmp(type, "Package"))
        snprintf(out, KEY, "p%ld", sysfs(cpu, "physical_package_id"));
    else if (!strcmp(type, "Core"))
        snprintf(out, KEY, "c%ld.%ld", sysfs(cpu, "physical_package_id"), sysfs(cpu, "core_id"));
    else
        snprintf(out, KEY, "u%d", cpu);
}

/* My key for `type`: the object holding all my CPUs, or "" if none does. */
static void key_of(const char *type, char *key)
{
    int cpus[1024];
    int n = allowed(cpus, 1024);
    char first[KEY], other[KEY];
    key[0] = 0;
    if (n == 0) return;
    object(type, cpus[0], first);
    for (int i = 1; i < n; i++) {
        object(type, cpus[i], other);
        if (strcmp(first, other)) return;
    }
    char host[MPI_MAX_PROCESSOR_NAME];
    int len;
    MPI_Get_processor_name(host, &len);
    snprintf(key, KEY, "%.30s/%.30s", host, first);
}

static MPI_Comm split(int kind, const char *type)
{
    MPI_Info info;
    MPI_Comm c;
    MPI_Info_create(&info);
    if (type) MPI_Info_set(info, "mpi_hw_resource_type", type);
    MPI_Comm_split_type(MPI_COMM_WORLD, kind, 0, info, &c);
    MPI_Info_free(&info);
    return c;
}

int main(int argc, char **argv)
{
    int size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *types[] = {"Machine", "Package", "Core", "PU"};
    char within[256] = "";
    char *keys = malloc((size_t)size * KEY);
    for (int t = 0; t < 4; t++) {
        char mine[KEY];
        key_of(types[t], mine);
        MPI_Allgather(mine, KEY, MPI_CHAR, keys, KEY, MPI_CHAR, MPI_COMM_WORLD);
        int want = 0;
        for (int r = 0; r < size; r++) want += mine[0] && !strcmp(keys + (size_t)r * KEY, mine);
        MPI_Comm c = split(MPI_COMM_TYPE_HW_GUIDED, types[t]);
        if (!mine[0]) {
            CHECK(c == MPI_COMM_NULL, "%s: bound within none, yet got a communicator", types[t]);
        } else {
            CHECK(c != MPI_COMM_NULL, "%s: bound within %s, got MPI_COMM_NULL", types[t], mine);
        }
        if (c != MPI_COMM_NULL) {
            int n;
            MPI_Comm_size(c, &n);
            CHECK(n == want, "%s: %d ranks in my communicator, %d share my %s", types[t], n, want,
                  mine);
            /* Every member shares my object. */
            char *theirs = malloc((size_t)n * KEY);
            MPI_Allgather(mine, KEY, MPI_CHAR, theirs, KEY, MPI_CHAR, c);
            for (int r = 0; r < n; r++)
                CHECK(!strcmp(theirs + (size_t)r * KEY, mine), "%s: a member is in %s, I in %s",
                      types[t], theirs + (size_t)r * KEY, mine);
            free(theirs);
            MPI_Comm_free(&c);
            strcat(within, " ");
            strcat(within, types[t]);
        }
    }
    /* mpi_shared_memory is MPI_COMM_TYPE_SHARED. */
    MPI_Comm a = split(MPI_COMM_TYPE_HW_GUIDED, "mpi_shared_memory");
    MPI_Comm b = split(MPI_COMM_TYPE_SHARED, NULL);
    int res = MPI_UNEQUAL;
    MPI_Comm_compare(a, b, &res);
    CHECK(res == MPI_CONGRUENT, "mpi_shared_memory differs from MPI_COMM_TYPE_SHARED (%d)", res);
    MPI_Comm_free(&a);
    MPI_Comm_free(&b);
    /* Types nobody has: MPI_COMM_NULL everywhere. */
    MPI_Comm n = split(MPI_COMM_TYPE_HW_GUIDED, "NoSuchThing");
    CHECK(n == MPI_COMM_NULL, "an unknown resource type gave a communicator");
    /* Unguided: nothing, or a strict subset. */
    MPI_Comm u = split(MPI_COMM_TYPE_HW_UNGUIDED, NULL);
    if (u != MPI_COMM_NULL) {
        int us;
        MPI_Comm_size(u, &us);
        CHECK(us < size, "MPI_COMM_TYPE_HW_UNGUIDED gave the whole parent");
        MPI_Comm_free(&u);
    }
    printf("hwsplit: rank %d within:%s\n", wrank, within[0] ? within : " nothing");
    int all = 0;
    MPI_Reduce(&errs, &all, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (wrank == 0 && all == 0) printf("hwsplit: OK\n");
    free(keys);
    MPI_Finalize();
    return all != 0;
}
