/* The environment chapter on every rank: error classes, codes, strings and
 * handlers, info objects, predefined attributes, timers, memory, and the
 * clear error for an unsupported call. Prints "environ: OK" on success. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);          \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

static int handler_calls, handler_code;
static void count_errors(MPI_Comm *comm, int *code, ...)
{
    (void)comm;
    handler_calls++;
    handler_code = *code;
}

static int class_of(int code)
{
    int cls = -1;
    MPI_Error_class(code, &cls);
    return cls;
}

int main(int argc, char **argv)
{
    int flag, provided, rank, size, rc, len, version, subversion;
    char buf[MPI_MAX_ERROR_STRING], key[MPI_MAX_INFO_KEY + 2], value[64];
    void *attr;
    MPI_Info info;
    MPI_Errhandler eh, got;

    MPI_Initialized(&flag);
    CHECK(!flag, "initialized before MPI_Init");
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    CHECK(provided == MPI_THREAD_MULTIPLE, "provided %d", provided);
    MPI_Query_thread(&provided);
    CHECK(provided == MPI_THREAD_MULTIPLE, "query_thread %d", provided);
    MPI_Is_thread_main(&flag);
    CHECK(flag, "main thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_version(&version, &subversion);
    CHECK(version == 4 && subversion == 1, "version %d.%d", version, subversion);

    /* Errors come back as codes once ERRORS_RETURN is set. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    rc = MPI_Comm_rank(MPI_COMM_NULL, &rank);
    CHECK(class_of(rc) == MPI_ERR_COMM, "Comm_rank(COMM_NULL) gave %d", rc);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_SELF, &len);
    CHECK(len == 1, "size of SELF %d", len);

    MPI_Error_string(MPI_ERR_COMM, buf, &len);
    CHECK(len > 0 && strstr(buf, "communicator"), "error string '%s'", buf);

    /* User error classes, codes and strings. */
    int cls, code, last;
    MPI_Add_error_class(&cls);
    MPI_Add_error_code(cls, &code);
    MPI_Add_error_string(code, "my special error");
    CHECK(class_of(code) == cls, "class of user code");
    MPI_Error_string(code, buf, &len);
    CHECK(strcmp(buf, "my special error") == 0, "user string '%s'", buf);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &attr, &flag);
    last = *(int *)attr;
    CHECK(flag && last >= code, "LASTUSEDCODE %d < %d", last, code);

    /* A user error handler sees the error and the call returns its code. */
    MPI_Comm_create_errhandler(count_errors, &eh);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, eh);
    MPI_Errhandler_free(&eh);
    CHECK(eh == MPI_ERRHANDLER_NULL, "free sets NULL");
    rc = MPI_Comm_call_errhandler(MPI_COMM_WORLD, code);
    CHECK(handler_calls == 1 && handler_code == code, "handler calls %d", handler_calls);
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &got);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Errhandler_free(&got);

    /* An unsupported feature reports itself clearly. */
    int x = 0;
    rc = MPI_Send(&x, 1, MPI_INT, 0, 0, MPI_COMM_WORLD);
    CHECK(class_of(rc) == MPI_ERR_UNSUPPORTED_OPERATION || rc == MPI_SUCCESS, "MPI_Send gave %d", rc);

    /* Info objects. */
    MPI_Info_create(&info);
    MPI_Info_set(info, "alpha", "1");
    MPI_Info_set(info, "beta", "two");
    MPI_Info_get_nkeys(info, &len);
    CHECK(len == 2, "nkeys %d", len);
    MPI_Info_get_nthkey(info, 1, key);
    CHECK(strcmp(key, "beta") == 0, "nthkey '%s'", key);
    int buflen = sizeof(value);
    MPI_Info_get_string(info, "beta", &buflen, value, &flag);
    CHECK(flag && buflen == 4 && strcmp(value, "two") == 0, "get_string %d '%s'", buflen, value);
    memset(key, 'k', MPI_MAX_INFO_KEY + 1);
    key[MPI_MAX_INFO_KEY + 1] = 0;
    rc = MPI_Info_set(info, key, "v");
    CHECK(class_of(rc) == MPI_ERR_INFO_KEY, "long key gave %d", rc);
    rc = MPI_Info_delete(info, "gamma");
    CHECK(class_of(rc) == MPI_ERR_INFO_NOKEY, "delete missing gave %d", rc);
    MPI_Info_free(&info);
    CHECK(info == MPI_INFO_NULL, "info free");
    MPI_Info_get_string(MPI_INFO_ENV, "command", &buflen, value, &flag);
    CHECK(flag, "INFO_ENV has command");

    /* Predefined attributes. */
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &attr, &flag);
    CHECK(flag && *(int *)attr >= 32767, "TAG_UB");
    /* Set only when the user gave one (mpiexec -usize N; argv[1] says N). */
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &attr, &flag);
    if (argc > 1)
        CHECK(flag && *(int *)attr == atoi(argv[1]), "UNIVERSE_SIZE is not %s", argv[1]);
    else
        CHECK(!flag, "UNIVERSE_SIZE set though nobody gave one");
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_APPNUM, &attr, &flag);
    CHECK(flag && *(int *)attr == 0, "APPNUM");
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &attr, &flag);
    CHECK(flag, "WTIME_IS_GLOBAL");

    /* Timers, memory, addresses. */
    double t0 = MPI_Wtime(), t1 = MPI_Wtime();
    CHECK(t1 >= t0 && MPI_Wtick() > 0 && MPI_Wtick() < 1, "timers");
    double *mem;
    MPI_Alloc_mem(1024, MPI_INFO_NULL, &mem);
    mem[127] = 1.0;
    MPI_Free_mem(mem);
    MPI_Aint a1, a2;
    MPI_Get_address(&buf[0], &a1);
    MPI_Get_address(&buf[10], &a2);
    CHECK(MPI_Aint_diff(a2, a1) == 10 && MPI_Aint_add(a1, 10) == a2, "aint");
    MPI_Get_processor_name(buf, &len);
    CHECK(len > 0, "processor name");

    MPI_Finalize();
    MPI_Finalized(&flag);
    CHECK(flag, "finalized");
    if (failures == 0)
        printf("environ: OK\n");
    return failures ? 1 : 0;
}
