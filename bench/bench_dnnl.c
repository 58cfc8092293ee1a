/*
 * bench_dnnl.c - oneDNN (2.x C API) convolution, forward inference, direct
 * algorithm, on one engine and stream shared by every layer.
 *
 * Two peers: dnnl_nchw hands oneDNN the plain layouts (src/dst nchw,
 * weights oihw or goihw), where it typically falls back to gemm:jit;
 * dnnl_any lets it choose its preferred (blocked) layouts with
 * format_tag_any. The reorders into and out of those layouts are done in
 * create() and result(), outside the timed call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "bench_peer.h"
#include "bench_util.h"

static dnnl_engine_t engine;
static dnnl_stream_t stream;

typedef struct dnnlpeer_state {
    size_t n_out;
    dnnl_primitive_t conv;
    dnnl_memory_t src, wei, bia, dst;   /* in the convolution's layouts */
    dnnl_memory_t user_dst;             /* plain nchw; == dst when plain */
    dnnl_primitive_t dst_reorder;       /* dst -> user_dst, or NULL */
    char impl[160];
} dnnlpeer_state;

#define TRY(call)                                                              \
    do {                                                                       \
        dnnl_status_t st_ = (call);                                            \
        if (st_ != dnnl_success) {                                             \
            snprintf(err, errlen, "%s failed: %s", #call, dnnl_status2str(st_)); \
            goto fail;                                                         \
        }                                                                      \
    } while (0)

static void dnnlpeer_state_free(dnnlpeer_state *s)
{
    if (!s)
        return;
    if (s->conv)
        dnnl_primitive_destroy(s->conv);
    if (s->dst_reorder)
        dnnl_primitive_destroy(s->dst_reorder);
    if (s->user_dst && s->user_dst != s->dst)
        dnnl_memory_destroy(s->user_dst);
    dnnl_memory_t mems[] = { s->src, s->wei, s->bia, s->dst };
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; ++i)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    free(s);
}

/* A plain memory holding a copy of data (n floats). */
static dnnl_status_t dnnlpeer_plain_memory(dnnl_memory_t *mem, const dnnl_memory_desc_t *md,
                                  const float *data, size_t n)
{
    dnnl_status_t st = dnnl_memory_create(mem, md, engine, DNNL_MEMORY_ALLOCATE);
    if (st != dnnl_success)
        return st;
    void *h = NULL;
    if ((st = dnnl_memory_get_data_handle(*mem, &h)) != dnnl_success)
        return st;
    if (data)
        memcpy(h, data, n * sizeof(float));
    else
        bench_fill_nan(h, n);
    return dnnl_success;
}

/* Run one reorder from -> to (descriptors fmd -> tmd); optionally keep it. */
static dnnl_status_t dnnlpeer_reorder(dnnl_memory_t from, const dnnl_memory_desc_t *fmd,
                             dnnl_memory_t to, const dnnl_memory_desc_t *tmd,
                             dnnl_primitive_t *keep)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, fmd, engine, tmd, engine, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&prim, pd);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success)
        return st;
    dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, from }, { DNNL_ARG_TO, to } };
    st = dnnl_primitive_execute(prim, stream, 2, args);
    if (st == dnnl_success)
        st = dnnl_stream_wait(stream);
    if (keep && st == dnnl_success)
        *keep = prim;
    else
        dnnl_primitive_destroy(prim);
    return st;
}

/* The convolution's memory for a tensor: the plain copy itself when the
 * layouts agree, else a new memory in the chosen layout filled by a
 * reorder. */
static dnnl_status_t dnnlpeer_place(dnnl_memory_t *mem, const dnnl_memory_desc_t *plain_md,
                           const dnnl_memory_desc_t *want_md, const float *data, size_t n)
{
    dnnl_memory_t plain = NULL;
    dnnl_status_t st = dnnlpeer_plain_memory(&plain, plain_md, data, n);
    if (st != dnnl_success || dnnl_memory_desc_equal(plain_md, want_md)) {
        *mem = plain;
        return st;
    }
    if ((st = dnnl_memory_create(mem, want_md, engine, DNNL_MEMORY_ALLOCATE)) == dnnl_success)
        st = dnnlpeer_reorder(plain, plain_md, *mem, want_md, NULL);
    dnnl_memory_destroy(plain);
    return st;
}

static void *dnnlpeer_create(const bench_problem *pb, int any, char *err, size_t errlen)
{
    const cg_conv *p = pb->conv;
    dnnlpeer_state *s = NULL;
    dnnl_primitive_desc_t pd = NULL;

    if (p->activation != CG_ACT_NONE) {
        snprintf(err, errlen, "the harness runs peers only on layers without an activation");
        return NULL;
    }
    if (!engine) {
        TRY(dnnl_engine_create(&engine, dnnl_cpu, 0));
        TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    }
    if (!(s = calloc(1, sizeof *s))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->n_out = cg_conv_output_size(p);

    const int g = p->groups;
    dnnl_dims_t src_dims = { p->batch, p->channels, p->height, p->width };
    dnnl_dims_t dst_dims = { p->batch, p->filters, p->out_h, p->out_w };
    dnnl_dims_t bias_dims = { p->filters };
    dnnl_dims_t wei_dims = { p->filters, p->channels, p->kernel_h, p->kernel_w };
    int wei_nd = 4;
    dnnl_format_tag_t wei_tag = dnnl_oihw;
    if (g > 1) {
        dnnl_dims_t gd = { g, p->filters / g, p->channels / g, p->kernel_h, p->kernel_w };
        memcpy(wei_dims, gd, sizeof gd);
        wei_nd = 5;
        wei_tag = dnnl_goihw;
    }
    dnnl_dims_t strides = { p->stride_h, p->stride_w };
    dnnl_dims_t dilates = { p->dilation_h - 1, p->dilation_w - 1 };
    dnnl_dims_t pad_l = { p->pad_top, p->pad_left };
    dnnl_dims_t pad_r = { p->pad_bottom, p->pad_right };

    dnnl_memory_desc_t src_md, wei_md, bias_md, dst_md;      /* plain */
    dnnl_memory_desc_t asrc, awei, adst;                     /* for the descriptor */
    TRY(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, dnnl_nchw));
    TRY(dnnl_memory_desc_init_by_tag(&wei_md, wei_nd, wei_dims, dnnl_f32, wei_tag));
    TRY(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x));
    TRY(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, dnnl_nchw));
    TRY(dnnl_memory_desc_init_by_tag(&asrc, 4, src_dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_nchw));
    TRY(dnnl_memory_desc_init_by_tag(&awei, wei_nd, wei_dims, dnnl_f32, any ? dnnl_format_tag_any : wei_tag));
    TRY(dnnl_memory_desc_init_by_tag(&adst, 4, dst_dims, dnnl_f32, any ? dnnl_format_tag_any : dnnl_nchw));

    dnnl_convolution_desc_t cd;
    TRY(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference,
            dnnl_convolution_direct, &asrc, &awei, p->bias ? &bias_md : NULL, &adst,
            strides, dilates, pad_l, pad_r));
    TRY(dnnl_primitive_desc_create(&pd, &cd, NULL, engine, NULL));
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(s->impl, sizeof s->impl, "%s", impl);

    const dnnl_memory_desc_t *csrc = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *cwei = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *cdst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    TRY(dnnlpeer_place(&s->src, &src_md, csrc, pb->input, cg_conv_input_size(p)));
    TRY(dnnlpeer_place(&s->wei, &wei_md, cwei, pb->weights, cg_conv_weights_size(p)));
    if (p->bias)
        TRY(dnnlpeer_plain_memory(&s->bia, &bias_md, pb->bias, (size_t)p->filters));
    TRY(dnnlpeer_plain_memory(&s->user_dst, &dst_md, NULL, s->n_out));
    if (dnnl_memory_desc_equal(&dst_md, cdst)) {
        s->dst = s->user_dst;
    } else {
        TRY(dnnl_memory_create(&s->dst, cdst, engine, DNNL_MEMORY_ALLOCATE));
        void *h = NULL;
        TRY(dnnl_memory_get_data_handle(s->dst, &h));
        memset(h, 0xff, dnnl_memory_desc_get_size(cdst));   /* NaNs */
        /* Build (and run once, harmlessly) the reorder result() will use. */
        TRY(dnnlpeer_reorder(s->dst, cdst, s->user_dst, &dst_md, &s->dst_reorder));
    }
    TRY(dnnl_primitive_create(&s->conv, pd));
    dnnl_primitive_desc_destroy(pd);
    return s;
fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    dnnlpeer_state_free(s);
    return NULL;
}

static void *dnnlpeer_create_nchw(const bench_problem *pb, char *err, size_t errlen)
{
    return dnnlpeer_create(pb, 0, err, errlen);
}

static void *dnnlpeer_create_any(const bench_problem *pb, char *err, size_t errlen)
{
    return dnnlpeer_create(pb, 1, err, errlen);
}

static void dnnlpeer_run(void *state)
{
    dnnlpeer_state *s = state;
    dnnl_exec_arg_t args[4] = {
        { DNNL_ARG_SRC, s->src }, { DNNL_ARG_WEIGHTS, s->wei }, { DNNL_ARG_DST, s->dst },
        { DNNL_ARG_BIAS, s->bia },
    };
    dnnl_primitive_execute(s->conv, stream, s->bia ? 4 : 3, args);
    dnnl_stream_wait(stream);
}

static void dnnlpeer_result(void *state, float *out)
{
    dnnlpeer_state *s = state;
    void *h = NULL;
    if (s->dst_reorder) {
        dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, s->dst }, { DNNL_ARG_TO, s->user_dst } };
        dnnl_primitive_execute(s->dst_reorder, stream, 2, args);
        dnnl_stream_wait(stream);
    }
    if (dnnl_memory_get_data_handle(s->user_dst, &h) == dnnl_success && h)
        memcpy(out, h, s->n_out * sizeof *out);
    else
        bench_fill_nan(out, s->n_out);
}

static const char *dnnlpeer_impl(void *state)
{
    return ((dnnlpeer_state *)state)->impl;
}

static void dnnlpeer_destroy(void *state)
{
    dnnlpeer_state_free(state);
}

const bench_peer bench_peer_dnnl_nchw = {
    "dnnl_nchw", "oneDNN convolution on plain NCHW/OIHW tensors",
    dnnlpeer_create_nchw, dnnlpeer_run, dnnlpeer_result, dnnlpeer_impl, dnnlpeer_destroy
};

const bench_peer bench_peer_dnnl_any = {
    "dnnl_any", "oneDNN convolution in its preferred layouts (format_tag_any; reorders untimed)",
    dnnlpeer_create_any, dnnlpeer_run, dnnlpeer_result, dnnlpeer_impl, dnnlpeer_destroy
};
