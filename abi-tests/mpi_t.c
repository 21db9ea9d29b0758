/* The tool information interface end to end, on 2 ranks:
 * - bad input before and after MPI_T_init_thread returns the right
 *   MPI_T_ERR_* code, with MPI_ERRORS_ARE_FATAL in force (no abort);
 * - every control variable is read; OXMPI_EAGER_MAX is written and its
 *   effect seen: a 16 KiB message goes eagerly, then (limit 1 KiB) by
 *   rendezvous, as the performance variables count;
 * - every performance variable is read through a handle, started, stopped
 *   and reset where its kind allows; categories list every variable;
 * - the unexpected-message and rendezvous events reach their callbacks
 *   with the right elements. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_NAME "mpi_t"
#include "check.h"

static int pvar_index(const char *name, int cls)
{
    int i = -1;
    int rc = MPI_T_pvar_get_index(name, cls, &i);
    CHECK(rc == MPI_SUCCESS, "pvar %s not found (%d)", name, rc);
    return i;
}

struct seen {
    int calls, source, tag, ctx, single_copy;
    MPI_Count bytes, stamp;
};

static void on_event(MPI_T_event_instance ev, MPI_T_event_registration reg,
                     MPI_T_cb_safety safety, void *user_data)
{
    struct seen *s = user_data;
    unsigned char raw[64];
    (void)reg;
    s->calls++;
    CHECK(safety >= MPI_T_CB_REQUIRE_MPI_RESTRICTED, "callback safety %d", safety);
    MPI_T_event_read(ev, 0, &s->source);
    MPI_T_event_read(ev, 1, s->tag == -2 ? (void *)&s->single_copy : (void *)&s->tag);
    MPI_T_event_read(ev, 2, &s->bytes);
    CHECK(MPI_T_event_copy(ev, raw) == MPI_SUCCESS, "event_copy");
    CHECK(MPI_T_event_get_timestamp(ev, &s->stamp) == MPI_SUCCESS, "timestamp");
    int src = -1;
    CHECK(MPI_T_event_get_source(ev, &src) == MPI_SUCCESS && src == 0, "source index");
    CHECK(MPI_T_event_read(ev, 9, raw) == MPI_T_ERR_INVALID_INDEX, "element 9");
}

static int freed;
static void on_free(MPI_T_event_registration reg, MPI_T_cb_safety safety, void *user_data)
{
    (void)reg; (void)safety; (void)user_data;
    freed++;
}

static MPI_T_event_registration watch(const char *event, struct seen *s)
{
    int idx, n = 8;
    MPI_Datatype types[8];
    MPI_Aint disps[8];
    MPI_T_event_registration reg;
    CHECK(MPI_T_event_get_index(event, &idx) == MPI_SUCCESS, "event %s", event);
    CHECK(MPI_T_event_get_info(idx, NULL, NULL, NULL, types, disps, &n, NULL, NULL, NULL, NULL,
                               NULL) == MPI_SUCCESS && n >= 3 && types[0] == MPI_INT,
          "event info of %s", event);
    CHECK(MPI_T_event_handle_alloc(idx, NULL, MPI_INFO_NULL, &reg) == MPI_SUCCESS, "alloc");
    CHECK(MPI_T_event_register_callback(reg, MPI_T_CB_REQUIRE_MPI_RESTRICTED, MPI_INFO_NULL, s,
                                        on_event) == MPI_SUCCESS, "register");
    return reg;
}

static unsigned long long read_counter(MPI_T_pvar_session s, MPI_T_pvar_handle h)
{
    unsigned long long v = 0;
    CHECK(MPI_T_pvar_read(s, h, &v) == MPI_SUCCESS, "pvar_read");
    return v;
}

int main(int argc, char **argv)
{
    int provided, n, rc;
    char name[256], desc[1024];

    /* Before init: not initialized, and no abort. */
    rc = MPI_T_cvar_get_num(&n);
    CHECK(rc == MPI_T_ERR_NOT_INITIALIZED, "cvar_get_num before init: %d", rc);
    rc = MPI_T_finalize();
    CHECK(rc == MPI_T_ERR_NOT_INITIALIZED, "finalize before init: %d", rc);

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    CHECK(MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) == MPI_SUCCESS, "init_thread");
    CHECK(provided == MPI_THREAD_SINGLE, "provided %d", provided);
    CHECK(MPI_T_init_thread(MPI_THREAD_MULTIPLE, &provided) == MPI_SUCCESS, "second init_thread");

    /* Bad input: the right codes, never the error handler (fatal here). */
    CHECK(MPI_T_cvar_get_info(-1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
              MPI_T_ERR_INVALID_INDEX, "cvar index -1");
    CHECK(MPI_T_pvar_get_info(1 << 20, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                              NULL, NULL, NULL) == MPI_T_ERR_INVALID_INDEX, "pvar index");
    CHECK(MPI_T_category_get_info(999, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
              MPI_T_ERR_INVALID_INDEX, "category index");
    CHECK(MPI_T_cvar_get_index("NO_SUCH_VARIABLE", &n) == MPI_T_ERR_INVALID_NAME, "cvar name");
    CHECK(MPI_T_event_get_index("no_such_event", &n) == MPI_T_ERR_INVALID_NAME, "event name");
    CHECK(MPI_T_event_read((MPI_T_event_instance)0x777, 0, name) == MPI_T_ERR_INVALID_HANDLE,
          "event instance outside its callback");
    MPI_T_cvar_handle bogus_c = (MPI_T_cvar_handle)0x12345;
    int ival;
    CHECK(MPI_T_cvar_read(bogus_c, &ival) == MPI_T_ERR_INVALID_HANDLE, "bogus cvar handle");
    MPI_T_pvar_session bogus_s = (MPI_T_pvar_session)0x5432;
    MPI_T_pvar_handle ph;
    CHECK(MPI_T_pvar_handle_alloc(bogus_s, 0, NULL, &ph, &n) == MPI_T_ERR_INVALID_SESSION,
          "bogus session");
    CHECK(MPI_T_pvar_session_free(&bogus_s) == MPI_T_ERR_INVALID_SESSION, "free bogus session");
    int ncat;
    MPI_T_category_get_num(&ncat);
    CHECK(MPI_T_enum_get_info(MPI_T_ENUM_NULL, &n, name, &n) == MPI_T_ERR_INVALID_HANDLE,
          "enum null");

    /* Every control variable: info, index round trip, read. */
    int ncvar, eager = -1;
    MPI_T_cvar_get_num(&ncvar);
    CHECK(ncvar >= 6, "%d control variables", ncvar);
    for (int i = 0; i < ncvar; i++) {
        int nl = sizeof name, dl = sizeof desc, verb, bind, scope, count, idx;
        MPI_Datatype dt;
        MPI_T_enum et;
        CHECK(MPI_T_cvar_get_info(i, name, &nl, &verb, &dt, &et, desc, &dl, &bind, &scope) ==
                  MPI_SUCCESS, "cvar_get_info %d", i);
        CHECK(nl == (int)strlen(name) + 1 && dl == (int)strlen(desc) + 1, "lengths of %s", name);
        CHECK(MPI_T_cvar_get_index(name, &idx) == MPI_SUCCESS && idx == i, "index of %s", name);
        MPI_T_cvar_handle h;
        CHECK(MPI_T_cvar_handle_alloc(i, NULL, &h, &count) == MPI_SUCCESS && count == 1,
              "handle of %s", name);
        unsigned long long buf = 0;
        CHECK(MPI_T_cvar_read(h, &buf) == MPI_SUCCESS, "read %s", name);
        if (et != MPI_T_ENUM_NULL) {
            int items, value;
            char item[64];
            int il = sizeof item;
            CHECK(MPI_T_enum_get_info(et, &items, NULL, NULL) == MPI_SUCCESS && items > 1,
                  "enum of %s", name);
            CHECK(MPI_T_enum_get_item(et, (int)buf, &value, item, &il) == MPI_SUCCESS &&
                      value == (int)buf, "enum item %llu of %s", buf, name);
            CHECK(MPI_T_enum_get_item(et, items, &value, item, &il) == MPI_T_ERR_INVALID_ITEM,
                  "enum item past the end");
        }
        if (strcmp(name, "OXMPI_EAGER_MAX") == 0) {
            eager = i;
            CHECK(dt == MPI_UNSIGNED_LONG_LONG && scope == MPI_T_SCOPE_LOCAL, "eager type");
            CHECK(buf == 32768, "OXMPI_EAGER_MAX reads %llu", buf);
        }
        if (scope == MPI_T_SCOPE_READONLY) {
            CHECK(MPI_T_cvar_write(h, &buf) == MPI_T_ERR_CVAR_SET_NEVER, "write read-only %s", name);
        }
        CHECK(MPI_T_cvar_handle_free(&h) == MPI_SUCCESS && h == MPI_T_CVAR_HANDLE_NULL, "free");
    }

    /* Every performance variable: a handle, read, and what its kind allows. */
    MPI_T_pvar_session s;
    int npvar;
    CHECK(MPI_T_pvar_session_create(&s) == MPI_SUCCESS, "session_create");
    MPI_T_pvar_get_num(&npvar);
    CHECK(npvar >= 10, "%d performance variables", npvar);
    for (int i = 0; i < npvar; i++) {
        int nl = sizeof name, verb, cls, bind, ro, cont, atomic, count, idx;
        MPI_Datatype dt;
        MPI_T_enum et;
        CHECK(MPI_T_pvar_get_info(i, name, &nl, &verb, &cls, &dt, &et, NULL, NULL, &bind, &ro,
                                  &cont, &atomic) == MPI_SUCCESS, "pvar_get_info %d", i);
        CHECK(MPI_T_pvar_get_index(name, cls, &idx) == MPI_SUCCESS && idx == i, "pvar index");
        MPI_T_pvar_handle h;
        CHECK(MPI_T_pvar_handle_alloc(s, i, NULL, &h, &count) == MPI_SUCCESS && count == 1,
              "pvar handle %s", name);
        double buf[2];
        CHECK(MPI_T_pvar_read(s, h, buf) == MPI_SUCCESS, "pvar read %s", name);
        rc = MPI_T_pvar_start(s, h);
        CHECK(rc == (cont ? MPI_T_ERR_PVAR_NO_STARTSTOP : MPI_SUCCESS), "start %s: %d", name, rc);
        rc = MPI_T_pvar_reset(s, h);
        CHECK(rc == (ro ? MPI_T_ERR_PVAR_NO_WRITE : MPI_SUCCESS), "reset %s: %d", name, rc);
        CHECK(MPI_T_pvar_handle_free(s, &h) == MPI_SUCCESS && h == MPI_T_PVAR_HANDLE_NULL,
              "pvar free");
    }

    /* Categories hold every variable exactly once. */
    int seen_c = 0, seen_p = 0;
    for (int c = 0; c < ncat; c++) {
        int nc, np, nsub;
        CHECK(MPI_T_category_get_info(c, name, NULL, NULL, NULL, &nc, &np, &nsub) == MPI_SUCCESS,
              "category %d", c);
        seen_c += nc;
        seen_p += np;
    }
    CHECK(seen_c == ncvar && seen_p == npvar, "categories hold %d/%d cvars, %d/%d pvars",
          seen_c, ncvar, seen_p, npvar);

    /* Writing OXMPI_EAGER_MAX changes how a 16 KiB message travels. */
    MPI_T_pvar_handle he, hr;
    int c1, c2;
    MPI_T_pvar_handle_alloc(s, pvar_index("eager_messages_sent", MPI_T_PVAR_CLASS_COUNTER), NULL,
                            &he, &c1);
    MPI_T_pvar_handle_alloc(s, pvar_index("rendezvous_messages_sent", MPI_T_PVAR_CLASS_COUNTER),
                            NULL, &hr, &c2);
    MPI_T_pvar_start(s, MPI_T_PVAR_ALL_HANDLES);
    char *msg = calloc(16384, 1);
    for (int round = 0; round < 2; round++) {
        if (round == 1 && eager >= 0) {
            MPI_T_cvar_handle h;
            unsigned long long limit = 1024, back = 0;
            MPI_T_cvar_handle_alloc(eager, NULL, &h, &n);
            CHECK(MPI_T_cvar_write(h, &limit) == MPI_SUCCESS, "write OXMPI_EAGER_MAX");
            MPI_T_cvar_read(h, &back);
            CHECK(back == 1024, "OXMPI_EAGER_MAX reads back %llu", back);
            MPI_T_cvar_handle_free(&h);
        }
        unsigned long long e0 = read_counter(s, he), r0 = read_counter(s, hr);
        if (wrank == 0)
            MPI_Send(msg, 16384, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
        else if (wrank == 1)
            MPI_Recv(msg, 16384, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        unsigned long long e1 = read_counter(s, he), r1 = read_counter(s, hr);
        if (wrank == 0) {
            CHECK(e1 - e0 == (round == 0), "round %d: %llu eager sends", round, e1 - e0);
            CHECK(r1 - r0 == (round == 1), "round %d: %llu rendezvous sends", round, r1 - r0);
        }
    }
    free(msg);
    MPI_T_pvar_stop(s, MPI_T_PVAR_ALL_HANDLES);
    CHECK(MPI_T_pvar_session_free(&s) == MPI_SUCCESS && s == MPI_T_PVAR_SESSION_NULL, "free s");

    /* Events: an unexpected message, then a rendezvous transfer. */
    struct seen unexp = {0, -1, -1, -1, -1, 0, 0}, rndv = {0, -1, -2, -1, -1, 0, 0};
    MPI_T_event_registration r1 = watch("unexpected_message", &unexp);
    MPI_T_event_registration r2 = watch("rendezvous", &rndv);
    char small[100], *big = calloc(1 << 20, 1);
    if (wrank == 0)
        MPI_Send(small, 100, MPI_CHAR, 1, 77, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD); /* the message waits, unexpected, at rank 1 */
    if (wrank == 1)
        MPI_Recv(small, 100, MPI_CHAR, 0, 77, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (wrank == 0)
        MPI_Send(big, 1 << 20, MPI_CHAR, 1, 78, MPI_COMM_WORLD);
    else if (wrank == 1)
        MPI_Recv(big, 1 << 20, MPI_CHAR, 0, 78, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Barrier(MPI_COMM_WORLD);
    free(big);
    if (wrank == 1) {
        CHECK(unexp.calls >= 1 && unexp.source == 0 && unexp.tag == 77 && unexp.bytes == 100,
              "unexpected_message: %d calls, source %d tag %d bytes %ld", unexp.calls,
              unexp.source, unexp.tag, (long)unexp.bytes);
        CHECK(rndv.calls == 1 && rndv.source == 0 && rndv.bytes == 1 << 20,
              "rendezvous: %d calls, peer %d bytes %ld", rndv.calls, rndv.source,
              (long)rndv.bytes);
        CHECK(rndv.stamp >= unexp.stamp, "timestamps in order");
    }
    CHECK(MPI_T_event_handle_free(r1, NULL, on_free) == MPI_SUCCESS, "event free");
    CHECK(MPI_T_event_handle_free(r2, NULL, on_free) == MPI_SUCCESS && freed == 2, "free cb");
    CHECK(MPI_T_event_handle_free(r2, NULL, NULL) == MPI_T_ERR_INVALID_HANDLE, "double free");

    CHECK(MPI_T_finalize() == MPI_SUCCESS, "finalize 1");
    CHECK(MPI_T_finalize() == MPI_SUCCESS, "finalize 2");
    CHECK(MPI_T_cvar_get_num(&n) == MPI_T_ERR_NOT_INITIALIZED, "after the last finalize");
    MPI_Finalize();
    if (errs == 0)
        printf("mpi_t: OK rank %d (%d control, %d performance variables)\n", wrank, ncvar, npvar);
    return errs != 0;
}
