/*
 * The few libfabric calls the `ofi` transport makes, as plain functions.
 *
 * Most of libfabric's API is static inline functions that call through a
 * provider's operation tables, so it cannot be declared from Rust without
 * the C headers; this file is compiled against them (build.rs) and gives
 * src/transport/ofi.rs a small flat interface instead.
 *
 * libfabric itself is opened with dlopen when a job first needs the
 * network, so libmpi.so loads (and single-node jobs run) on machines
 * without it. Only the functions libfabric exports by name are looked up;
 * everything else goes through the objects' operation tables.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>

struct oxf {
    struct fi_info *info;
    struct fid_fabric *fabric;
    struct fid_domain *domain;
    struct fid_av *av;
    struct fid_cq *cq;
    struct fid_ep *ep;
};

/* One completion, as src/transport/ofi.rs reads it. */
struct oxf_comp {
    uint64_t ctx;
    uint64_t flags;
    uint64_t len;
};

static int (*p_getinfo)(uint32_t, const char *, const char *, uint64_t,
                        const struct fi_info *, struct fi_info **);
static void (*p_freeinfo)(struct fi_info *);
static struct fi_info *(*p_dupinfo)(const struct fi_info *);
static int (*p_fabric)(struct fi_fabric_attr *, struct fid_fabric **, void *);
static const char *(*p_strerror)(int);

static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *why(int rc)
{
    return p_strerror ? p_strerror(rc < 0 ? -rc : rc) : "unknown error";
}

/* Open libfabric.so.1 and find its exported entry points (once). */
static int load(char *err, size_t errlen)
{
    static void *lib;
    if (lib)
        return 0;
    void *h = dlopen("libfabric.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        say(err, errlen, "cannot load libfabric (libfabric.so.1): %s", dlerror());
        return -1;
    }
    p_getinfo = dlsym(h, "fi_getinfo");
    p_freeinfo = dlsym(h, "fi_freeinfo");
    p_dupinfo = dlsym(h, "fi_dupinfo");
    p_fabric = dlsym(h, "fi_fabric");
    p_strerror = dlsym(h, "fi_strerror");
    if (!p_getinfo || !p_freeinfo || !p_dupinfo || !p_fabric || !p_strerror) {
        say(err, errlen, "libfabric.so.1 lacks fi_getinfo/fi_fabric: too old?");
        dlclose(h);
        return -1;
    }
    lib = h;
    return 0;
}

void oxf_close(struct oxf *f)
{
    if (!f)
        return;
    if (f->ep)
        fi_close(&f->ep->fid);
    if (f->av)
        fi_close(&f->av->fid);
    if (f->cq)
        fi_close(&f->cq->fid);
    if (f->domain)
        fi_close(&f->domain->fid);
    if (f->fabric)
        fi_close(&f->fabric->fid);
    if (f->info)
        p_freeinfo(f->info);
    free(f);
}

/*
 * Open a reliable-datagram endpoint for ordered messages. `prov`: a
 * provider name or NULL (libfabric honours FI_PROVIDER itself); `src`,
 * `srclen`: a sockaddr to bind to, or NULL; `skip`: a provider never to
 * use (the same-node one: our own transport serves the node). On success
 * the provider's name and its inject size are returned.
 */
int oxf_open(const char *prov, const void *src, size_t srclen, const char *skip,
             struct oxf **out, char *provname, size_t provlen,
             size_t *inject, char *err, size_t errlen)
{
    *out = NULL;
    /*
     * rxm (the reliable-datagram layer over tcp and verbs) copies messages
     * up to this size through bounce buffers and rendezvous above it; our
     * records are at most 64 KiB (RECV_SIZE in ofi.rs). Sending each
     * eagerly measures 2x faster at 64 KiB to 1 MiB. Every process of the
     * job must use the same size (a peer's eager message must fit the
     * bounce buffers we post: with sizes differing between hosts, messages
     * stall), so it does not depend on anything local. Set before
     * libfabric first reads its environment, and only when the user has
     * not set it (for the whole job, then).
     */
    setenv("FI_OFI_RXM_BUFFER_SIZE", "65664", 0);
    if (load(err, errlen))
        return -1;
    struct fi_info *hints = p_dupinfo(NULL);
    if (!hints) {
        say(err, errlen, "out of memory");
        return -1;
    }
    hints->caps = FI_MSG;
    hints->mode = 0;
    hints->ep_attr->type = FI_EP_RDM;
    hints->domain_attr->threading = FI_THREAD_SAFE;
    hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
    hints->tx_attr->msg_order = FI_ORDER_SAS;
    hints->rx_attr->msg_order = FI_ORDER_SAS;
    if (prov)
        hints->fabric_attr->prov_name = strdup(prov);
    if (src && srclen) {
        hints->src_addr = malloc(srclen);
        if (hints->src_addr) {
            memcpy(hints->src_addr, src, srclen);
            hints->src_addrlen = srclen;
            hints->addr_format = srclen > 16 ? FI_SOCKADDR_IN6 : FI_SOCKADDR_IN;
        }
    }
    struct fi_info *all = NULL;
    int rc = p_getinfo(FI_VERSION(1, 5), NULL, NULL, 0, hints, &all);
    p_freeinfo(hints);
    if (rc || !all) {
        say(err, errlen, "no libfabric provider offers ordered reliable messages%s%s: %s",
            prov ? " through " : "", prov ? prov : "", why(rc));
        return -1;
    }
    /*
     * libfabric's own order, but for one exception: "net" (libfabric 1.16
     * and 1.17's reliable-datagram provider over tcp, renamed "tcp" in
     * 1.18) comes before "tcp;ofi_rxm", which 1.17 lists first. Measured
     * between two hosts here: 8 B latency 5.3 against 7.1 us, 4 MiB
     * bandwidth 2.4 against 1.8 GB/s.
     */
    struct fi_info *pick = NULL;
    for (int pass = prov ? 1 : 0; pass < 2 && !pick; pass++) {
        for (struct fi_info *i = all; i; i = i->next) {
            const char *name = i->fabric_attr ? i->fabric_attr->prov_name : NULL;
            if (skip && name && strcmp(name, skip) == 0 && !prov)
                continue;
            if (pass == 0 && !(name && strcmp(name, "net") == 0))
                continue;
            pick = i;
            break;
        }
    }
    if (!pick) {
        p_freeinfo(all);
        say(err, errlen, "libfabric offers only the same-node provider");
        return -1;
    }
    struct oxf *f = calloc(1, sizeof *f);
    if (!f) {
        p_freeinfo(all);
        say(err, errlen, "out of memory");
        return -1;
    }
    f->info = p_dupinfo(pick);
    p_freeinfo(all);
    if (!f->info) {
        free(f);
        say(err, errlen, "out of memory");
        return -1;
    }
    const char *step = "fi_fabric";
    rc = p_fabric(f->info->fabric_attr, &f->fabric, NULL);
    if (!rc) {
        step = "fi_domain";
        rc = fi_domain(f->fabric, f->info, &f->domain, NULL);
    }
    if (!rc) {
        struct fi_cq_attr cq = {0};
        cq.format = FI_CQ_FORMAT_MSG;
        cq.wait_obj = FI_WAIT_UNSPEC;
        step = "fi_cq_open";
        rc = fi_cq_open(f->domain, &cq, &f->cq, NULL);
    }
    if (!rc) {
        struct fi_av_attr av = {0};
        av.type = FI_AV_TABLE;
        step = "fi_av_open";
        rc = fi_av_open(f->domain, &av, &f->av, NULL);
    }
    if (!rc) {
        step = "fi_endpoint";
        rc = fi_endpoint(f->domain, f->info, &f->ep, NULL);
    }
    if (!rc) {
        step = "fi_ep_bind";
        rc = fi_ep_bind(f->ep, &f->av->fid, 0);
    }
    if (!rc)
        rc = fi_ep_bind(f->ep, &f->cq->fid, FI_TRANSMIT | FI_RECV);
    if (!rc) {
        step = "fi_enable";
        rc = fi_enable(f->ep);
    }
    if (rc) {
        say(err, errlen, "%s (%s): %s", step, f->info->fabric_attr->prov_name, why(rc));
        oxf_close(f);
        return -1;
    }
    snprintf(provname, provlen, "%s", f->info->fabric_attr->prov_name);
    *inject = f->info->tx_attr ? f->info->tx_attr->inject_size : 0;
    *out = f;
    return 0;
}

/* This endpoint's address, for peers; 0 or a negative libfabric code. */
int oxf_getname(struct oxf *f, void *buf, size_t *len)
{
    return fi_getname(&f->ep->fid, buf, len);
}

/*
 * Insert `count` addresses of `each` bytes: peer i gets fi_addr i (the
 * table is filled in order). Returns how many were inserted.
 */
int oxf_insert(struct oxf *f, const void *addrs, size_t each, size_t count)
{
    fi_addr_t *out = calloc(count ? count : 1, sizeof *out);
    if (!out)
        return -FI_ENOMEM;
    int n = 0;
    for (size_t i = 0; i < count; i++) {
        int rc = fi_av_insert(f->av, (const char *)addrs + i * each, 1, &out[i], 0, NULL);
        if (rc != 1 || out[i] != (fi_addr_t)i)
            break;
        n++;
    }
    free(out);
    return n;
}

/*
 * Insert one more address (a process of another job, met after start):
 * its fi_addr in `out`. 0 or a negative libfabric code.
 */
int oxf_insert_one(struct oxf *f, const void *addr, uint64_t *out)
{
    fi_addr_t a = FI_ADDR_NOTAVAIL;
    int rc = fi_av_insert(f->av, addr, 1, &a, 0, NULL);
    if (rc != 1)
        return rc < 0 ? rc : -FI_EINVAL;
    *out = a;
    return 0;
}

/* 0, -FI_EAGAIN (try again later) or another negative code. */
long oxf_send(struct oxf *f, const void *buf, size_t len, uint64_t dest, uint64_t ctx)
{
    return fi_send(f->ep, buf, len, NULL, dest, (void *)(uintptr_t)ctx);
}

long oxf_inject(struct oxf *f, const void *buf, size_t len, uint64_t dest)
{
    return fi_inject(f->ep, buf, len, dest);
}

long oxf_recv(struct oxf *f, void *buf, size_t len, uint64_t ctx)
{
    return fi_recv(f->ep, buf, len, NULL, FI_ADDR_UNSPEC, (void *)(uintptr_t)ctx);
}

/*
 * Up to `n` completions, waiting at most `timeout_ms` for the first
 * (0: do not wait). Returns how many, 0 when none, or -1 with `err` set
 * (and the failed operation's context in out[0].ctx, its flags in
 * out[0].flags) when an operation failed.
 */
long oxf_read(struct oxf *f, struct oxf_comp *out, size_t n, int timeout_ms, char *err,
              size_t errlen)
{
    struct fi_cq_msg_entry e[16];
    if (n > 16)
        n = 16;
    ssize_t got = timeout_ms > 0 ? fi_cq_sread(f->cq, e, n, NULL, timeout_ms)
                                 : fi_cq_read(f->cq, e, n);
    if (got == -FI_EAGAIN || got == -FI_ETIMEDOUT || got == -FI_EINTR)
        return 0;
    if (got == -FI_EAVAIL) {
        struct fi_cq_err_entry ee;
        memset(&ee, 0, sizeof ee);
        if (fi_cq_readerr(f->cq, &ee, 0) < 0) {
            say(err, errlen, "a network operation failed");
            out[0].ctx = 0;
            out[0].flags = 0;
            return -1;
        }
        say(err, errlen, "%s", fi_cq_strerror(f->cq, ee.prov_errno, ee.err_data, NULL, 0));
        if (!err[0])
            say(err, errlen, "%s", why(ee.err));
        out[0].ctx = (uint64_t)(uintptr_t)ee.op_context;
        out[0].flags = ee.flags;
        out[0].len = 0;
        return -1;
    }
    if (got < 0) {
        say(err, errlen, "fi_cq_read: %s", why((int)got));
        out[0].ctx = 0;
        out[0].flags = 0;
        return -1;
    }
    for (ssize_t i = 0; i < got; i++) {
        out[i].ctx = (uint64_t)(uintptr_t)e[i].op_context;
        out[i].flags = e[i].flags;
        out[i].len = e[i].len;
    }
    return got;
}
