/* cg_gen.c - C calls into the Lua generator (generator/lua/convgen.lua). */
#include "cg_gen.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cg_files.h"

#define API_KEY "convgen.api"

struct cg_gen {
    cg_host *host;
};

/* Each p_* function runs inside cg_host_pcall with its arguments in a
 * struct passed as light userdata. */

static void push_api(lua_State *L, const char *fn)
{
    lua_getfield(L, LUA_REGISTRYINDEX, API_KEY);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
}

static int p_init(lua_State *L)
{
    lua_getglobal(L, "import");
    lua_pushstring(L, "convgen");
    lua_call(L, 1, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, API_KEY);
    return 0;
}

cg_gen *cg_gen_new(const char *template_dir, int *status, char *err, size_t errlen)
{
    cg_gen *g = calloc(1, sizeof *g);
    if (!g) {
        *status = CG_ERR_INTERNAL;
        return NULL;
    }
    g->host = cg_host_new(template_dir, status, err, errlen);
    if (!g->host) {
        free(g);
        return NULL;
    }
    *status = cg_host_pcall(g->host, p_init, NULL, err, errlen);
    if (*status != CG_OK) {
        cg_gen_free(g);
        return NULL;
    }
    return g;
}

void cg_gen_free(cg_gen *g)
{
    if (!g)
        return;
    cg_host_free(g->host);
    free(g);
}

struct load_args {
    const char *path, *text;
    size_t len;
    const char *tuned_path, *tuned_text;
    size_t tuned_len;
};

static int p_load(lua_State *L)
{
    struct load_args *a = lua_touserdata(L, 1);
    push_api(L, "load");
    lua_pushstring(L, a->path);
    lua_pushlstring(L, a->text, a->len);
    if (a->tuned_text) {
        lua_pushstring(L, a->tuned_path);
        lua_pushlstring(L, a->tuned_text, a->tuned_len);
    } else {
        lua_pushnil(L);
        lua_pushnil(L);
    }
    lua_call(L, 4, 0);
    return 0;
}

int cg_gen_load_string(cg_gen *g, const char *path, const char *text, char *err, size_t errlen)
{
    struct load_args a = { path, text, strlen(text), NULL, NULL, 0 };
    return cg_host_pcall(g->host, p_load, &a, err, errlen);
}

int cg_gen_load_file(cg_gen *g, const char *path, char *err, size_t errlen)
{
    struct load_args a = { path, NULL, 0, NULL, NULL, 0 };
    char *text, *tuned = NULL, *tuned_path = malloc(strlen(path) + 8);
    if (!tuned_path) {
        snprintf(err, errlen, "out of memory");
        return CG_ERR_INTERNAL;
    }
    sprintf(tuned_path, "%s.tuned", path);
    if (cg_read_file(path, &text, &a.len, err, errlen) != 0) {
        free(tuned_path);
        return CG_ERR_INPUT;
    }
    if (access(tuned_path, F_OK) == 0) {
        if (cg_read_file(tuned_path, &tuned, &a.tuned_len, err, errlen) != 0) {
            free(text);
            free(tuned_path);
            return CG_ERR_INPUT;
        }
        a.tuned_path = tuned_path;
        a.tuned_text = tuned;
    }
    a.text = text;
    int rc = cg_host_pcall(g->host, p_load, &a, err, errlen);
    free(text);
    free(tuned);
    free(tuned_path);
    return rc;
}

static int p_count(lua_State *L)
{
    int *n = lua_touserdata(L, 1);
    push_api(L, "count");
    lua_call(L, 0, 1);
    *n = (int)lua_tointeger(L, -1);
    return 0;
}

void cg_gen_new_run_budget(cg_gen *g)
{
    cg_host_new_run_budget(g->host);
}

int cg_gen_count(cg_gen *g)
{
    int n = 0;
    char err[256];
    if (cg_host_pcall(g->host, p_count, &n, err, sizeof err) != CG_OK)
        return 0;
    return n;
}

struct params_args {
    int index;
    cg_conv *out;
};

static int int_field(lua_State *L, const char *key)
{
    lua_getfield(L, -1, key);
    int isnum;
    lua_Integer v = lua_tointegerx(L, -1, &isnum);
    if (!isnum)
        luaL_error(L, "params: field '%s' is not an integer", key);
    lua_pop(L, 1);
    return (int)v;
}

static int p_params(lua_State *L)
{
    struct params_args *a = lua_touserdata(L, 1);
    cg_conv *p = a->out;
    push_api(L, "params");
    lua_pushinteger(L, a->index + 1);
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "name");
    snprintf(p->name, sizeof p->name, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    p->batch = int_field(L, "batch");
    p->channels = int_field(L, "channels");
    p->height = int_field(L, "height");
    p->width = int_field(L, "width");
    p->filters = int_field(L, "filters");
    p->kernel_h = int_field(L, "kernel_h");
    p->kernel_w = int_field(L, "kernel_w");
    p->stride_h = int_field(L, "stride_h");
    p->stride_w = int_field(L, "stride_w");
    p->dilation_h = int_field(L, "dilation_h");
    p->dilation_w = int_field(L, "dilation_w");
    p->pad_top = int_field(L, "pad_top");
    p->pad_bottom = int_field(L, "pad_bottom");
    p->pad_left = int_field(L, "pad_left");
    p->pad_right = int_field(L, "pad_right");
    p->groups = int_field(L, "groups");
    p->out_h = int_field(L, "out_h");
    p->out_w = int_field(L, "out_w");
    lua_getfield(L, -1, "bias");
    p->bias = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "alpha");
    p->alpha = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "activation");
    if (cg_activation_from_name(lua_tostring(L, -1), &p->activation) != 0)
        luaL_error(L, "params: unknown activation");
    lua_pop(L, 1);
    lua_getfield(L, -1, "layout");
    if (cg_layout_from_name(lua_tostring(L, -1), &p->layout) != 0)
        luaL_error(L, "params: unknown layout");
    return 0;
}

int cg_gen_params(cg_gen *g, int i, cg_conv *out, char *err, size_t errlen)
{
    struct params_args a = { i, out };
    memset(out, 0, sizeof *out);
    return cg_host_pcall(g->host, p_params, &a, err, errlen);
}

static void push_options(lua_State *L, const cg_gen_options *o)
{
    lua_newtable(L);
    if (!o)
        return;
    if (o->target) {
        lua_pushstring(L, o->target);
        lua_setfield(L, -2, "target");
    }
    if (o->code_budget > 0) {
        lua_pushinteger(L, o->code_budget);
        lua_setfield(L, -2, "code_budget");
    }
    if (o->variant > 0) {
        lua_pushinteger(L, o->variant);
        lua_setfield(L, -2, "variant");
    }
}

/* A malloc'd copy of the string at index idx; raises on out of memory. */
static char *copy_string(lua_State *L, int idx, size_t *len)
{
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    char *copy = malloc(n + 1);
    if (!copy)
        luaL_error(L, "out of memory");
    memcpy(copy, s, n + 1);
    if (len)
        *len = n;
    return copy;
}

struct emit_args {
    int index;
    const cg_gen_options *opts;
    cg_sources *out;
};

static int p_emit(lua_State *L)
{
    struct emit_args *a = lua_touserdata(L, 1);
    push_api(L, "emit");
    lua_pushinteger(L, a->index + 1);
    push_options(L, a->opts);
    lua_call(L, 2, 1);
    lua_getfield(L, -1, "target");
    snprintf(a->out->target, sizeof a->out->target, "%s", lua_tostring(L, -1));
    lua_getfield(L, -2, "cflags");
    snprintf(a->out->cflags, sizeof a->out->cflags, "%s", lua_tostring(L, -1));
    lua_getfield(L, -3, "tinycc");
    a->out->tinycc = lua_toboolean(L, -1);
    lua_getfield(L, -4, "packed");
    a->out->packed_size = (size_t)lua_tointeger(L, -1);
    lua_getfield(L, -5, "runs_here");
    a->out->runs_here = lua_toboolean(L, -1);
    lua_getfield(L, -6, "cpu");
    snprintf(a->out->cpu, sizeof a->out->cpu, "%s", lua_tostring(L, -1));
    lua_getfield(L, -7, "baked");
    a->out->baked = lua_toboolean(L, -1);
    lua_pop(L, 7);
    lua_getfield(L, -1, "c");
    a->out->c = copy_string(L, -1, &a->out->c_len);
    lua_getfield(L, -2, "h");
    a->out->h = copy_string(L, -1, &a->out->h_len);
    return 0;
}

int cg_gen_emit(cg_gen *g, int i, const cg_gen_options *opts, cg_sources *out,
                char *err, size_t errlen)
{
    struct emit_args a = { i, opts, out };
    memset(out, 0, sizeof *out);
    int rc = cg_host_pcall(g->host, p_emit, &a, err, errlen);
    if (rc != CG_OK)
        cg_sources_free(out);
    return rc;
}

void cg_sources_free(cg_sources *s)
{
    free(s->c);
    free(s->h);
    s->c = s->h = NULL;
}

struct baked_args {
    int index;
    float **weights, **bias;
    size_t *nw, *nb;
};

/* Little-endian float32 bytes to a new float array (raises on no memory). */
static float *floats_of(lua_State *L, int idx, size_t *n)
{
    size_t len;
    const unsigned char *s = (const unsigned char *)lua_tolstring(L, idx, &len);
    float *v = malloc(len ? len : 1);
    if (!v)
        luaL_error(L, "out of memory");
    for (size_t i = 0; i < len / 4; ++i) {
        uint32_t u = (uint32_t)s[4 * i] | (uint32_t)s[4 * i + 1] << 8
                   | (uint32_t)s[4 * i + 2] << 16 | (uint32_t)s[4 * i + 3] << 24;
        memcpy(&v[i], &u, sizeof u);
    }
    *n = len / 4;
    return v;
}

static int p_baked(lua_State *L)
{
    struct baked_args *a = lua_touserdata(L, 1);
    push_api(L, "baked");
    lua_pushinteger(L, a->index + 1);
    lua_call(L, 1, 2);
    *a->weights = floats_of(L, -2, a->nw);
    if (!lua_isnil(L, -1))
        *a->bias = floats_of(L, -1, a->nb);
    return 0;
}

int cg_gen_baked(cg_gen *g, int i, float **weights, size_t *nw, float **bias, size_t *nb,
                 char *err, size_t errlen)
{
    struct baked_args a = { i, weights, bias, nw, nb };
    *weights = *bias = NULL;
    *nw = *nb = 0;
    int rc = cg_host_pcall(g->host, p_baked, &a, err, errlen);
    if (rc != CG_OK) {
        free(*weights);
        free(*bias);
        *weights = *bias = NULL;
        *nw = *nb = 0;
    }
    return rc;
}

struct info_args {
    int index;
    const cg_gen_options *opts;
    char **text;
};

static int p_info(lua_State *L)
{
    struct info_args *a = lua_touserdata(L, 1);
    push_api(L, "info");
    lua_pushinteger(L, a->index + 1);
    push_options(L, a->opts);
    lua_call(L, 2, 1);
    *a->text = copy_string(L, -1, NULL);
    return 0;
}

int cg_gen_info(cg_gen *g, int i, const cg_gen_options *opts, char **text,
                char *err, size_t errlen)
{
    struct info_args a = { i, opts, text };
    *text = NULL;
    return cg_host_pcall(g->host, p_info, &a, err, errlen);
}

struct candidates_args {
    int index;
    const cg_gen_options *opts;
    char ***names;
    int *count;
};

static int p_candidates(lua_State *L)
{
    struct candidates_args *a = lua_touserdata(L, 1);
    push_api(L, "candidates");
    lua_pushinteger(L, a->index + 1);
    push_options(L, a->opts);
    lua_call(L, 2, 1);
    int n = (int)luaL_len(L, -1);
    *a->names = calloc((size_t)n + 1, sizeof **a->names);
    if (!*a->names)
        return luaL_error(L, "out of memory");
    for (int k = 0; k < n; ++k) {
        lua_geti(L, -1, k + 1);
        (*a->names)[k] = copy_string(L, -1, NULL);
        lua_pop(L, 1);
        *a->count = k + 1;
    }
    return 0;
}

int cg_gen_candidates(cg_gen *g, int i, const cg_gen_options *opts, char ***names, int *count,
                      char *err, size_t errlen)
{
    struct candidates_args a = { i, opts, names, count };
    *names = NULL;
    *count = 0;
    int rc = cg_host_pcall(g->host, p_candidates, &a, err, errlen);
    if (rc != CG_OK && *names) {
        for (int k = 0; k < *count; ++k)
            free((*names)[k]);
        free(*names);
        *names = NULL;
        *count = 0;
    }
    return rc;
}

struct record_args {
    int index;
    const cg_gen_options *opts;
    int best, plain;
    char **text;
};

static int p_record(lua_State *L)
{
    struct record_args *a = lua_touserdata(L, 1);
    push_api(L, "tuned_record");
    lua_pushinteger(L, a->index + 1);
    push_options(L, a->opts);
    lua_pushinteger(L, a->best);
    if (a->plain > 0)
        lua_pushinteger(L, a->plain);
    else
        lua_pushnil(L);
    lua_call(L, 4, 1);
    *a->text = copy_string(L, -1, NULL);
    return 0;
}

int cg_gen_tuned_record(cg_gen *g, int i, const cg_gen_options *opts, int best, int plain,
                        char **text, char *err, size_t errlen)
{
    struct record_args a = { i, opts, best, plain, text };
    *text = NULL;
    return cg_host_pcall(g->host, p_record, &a, err, errlen);
}

static int p_network_count(lua_State *L)
{
    int *n = lua_touserdata(L, 1);
    push_api(L, "network_count");
    lua_call(L, 0, 1);
    *n = (int)lua_tointeger(L, -1);
    return 0;
}

int cg_gen_network_count(cg_gen *g)
{
    int n = 0;
    char err[256];
    if (cg_host_pcall(g->host, p_network_count, &n, err, sizeof err) != CG_OK)
        return 0;
    return n;
}

struct network_args {
    int index;
    cg_network *out;
    cg_sources *src;
    char **text;
};

static size_t size_field(lua_State *L, const char *key)
{
    lua_getfield(L, -1, key);
    int isnum;
    lua_Integer v = lua_tointegerx(L, -1, &isnum);
    if (!isnum || v < 0)
        luaL_error(L, "network: field '%s' is not a size", key);
    lua_pop(L, 1);
    return (size_t)v;
}

static int p_network(lua_State *L)
{
    struct network_args *a = lua_touserdata(L, 1);
    cg_network *n = a->out;
    push_api(L, "network");
    lua_pushinteger(L, a->index + 1);
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "name");
    snprintf(n->name, sizeof n->name, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    n->input_size = size_field(L, "input");
    n->output_size = size_field(L, "output");
    n->scratch_size = size_field(L, "scratch");
    lua_getfield(L, -1, "layers");
    int count = (int)luaL_len(L, -1);
    n->layers = calloc((size_t)count, sizeof *n->layers);
    if (!n->layers)
        return luaL_error(L, "out of memory");
    for (int i = 0; i < count; ++i) {
        lua_geti(L, -1, i + 1);
        n->layers[i] = (int)lua_tointeger(L, -1) - 1;
        lua_pop(L, 1);
    }
    n->count = count;
    return 0;
}

int cg_gen_network(cg_gen *g, int k, cg_network *out, char *err, size_t errlen)
{
    struct network_args a = { k, out, NULL, NULL };
    memset(out, 0, sizeof *out);
    int rc = cg_host_pcall(g->host, p_network, &a, err, errlen);
    if (rc != CG_OK)
        cg_network_free(out);
    return rc;
}

void cg_network_free(cg_network *n)
{
    free(n->layers);
    n->layers = NULL;
    n->count = 0;
}

static int p_network_emit(lua_State *L)
{
    struct network_args *a = lua_touserdata(L, 1);
    push_api(L, "network_emit");
    lua_pushinteger(L, a->index + 1);
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "c");
    a->src->c = copy_string(L, -1, &a->src->c_len);
    lua_getfield(L, -2, "h");
    a->src->h = copy_string(L, -1, &a->src->h_len);
    return 0;
}

int cg_gen_network_emit(cg_gen *g, int k, cg_sources *out, char *err, size_t errlen)
{
    struct network_args a = { k, NULL, out, NULL };
    memset(out, 0, sizeof *out);
    int rc = cg_host_pcall(g->host, p_network_emit, &a, err, errlen);
    if (rc != CG_OK)
        cg_sources_free(out);
    return rc;
}

static int p_network_info(lua_State *L)
{
    struct network_args *a = lua_touserdata(L, 1);
    push_api(L, "network_info");
    lua_pushinteger(L, a->index + 1);
    lua_call(L, 1, 1);
    *a->text = copy_string(L, -1, NULL);
    return 0;
}

int cg_gen_network_info(cg_gen *g, int k, char **text, char *err, size_t errlen)
{
    struct network_args a = { k, NULL, NULL, text };
    *text = NULL;
    return cg_host_pcall(g->host, p_network_info, &a, err, errlen);
}
