/* cg_host.c - the embedded Lua state, its sandbox and module loader. */
#include "cg_host.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "cg_embedded.h"
#include "cg_files.h"
#include "cg_npy.h"

#ifndef CONVGEN_VERSION
#define CONVGEN_VERSION "0.0.0"
#endif

#define HOOK_STEP 1000     /* instructions between two budget checks */
#define MODULES_KEY "convgen.modules"
#define CONTEXT_KEY "convgen.context"

struct cg_host {
    lua_State *L;
    size_t used, limit;     /* bytes the state holds, and may hold */
    int in_spec;            /* inside host.sandbox_call */
    int spec_stopped;       /* the spec hit its instruction or time limit */
    long spec_instructions; /* run so far by the sandboxed function */
    double spec_deadline;   /* process CPU seconds (cpu_seconds) */
    long long run_instructions;   /* run by this state so far */
    locale_t c_locale;
    cg_host_line_fn line_fn;
    void *line_ud;
    char *template_dir;
};

static cg_host_line_fn line_hook_fn;
static void *line_hook_ud;

void cg_host_set_line_hook(cg_host_line_fn fn, void *ud)
{
    line_hook_fn = fn;
    line_hook_ud = ud;
}

/* The spec's time limit counts the CPU time convgen spends, not the wall
 * clock: a spec can only compute (the sandbox has no I/O and no sleep), and
 * a loaded machine must not fail a spec a quiet one accepts. */
static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const cg_embedded_file *cg_embedded_find(const char *name)
{
    for (const cg_embedded_file *e = cg_embedded_files; e->name; ++e)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

/* lua_Alloc with a cap: refusing a request makes Lua raise a memory error. */
static void *bounded_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    cg_host *h = ud;
    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        h->used -= osize;
        return NULL;
    }
    if (nsize > osize && h->used - osize + nsize > h->limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        h->used = h->used - osize + nsize;
    return p;
}

static cg_host *host_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* Raise a user error: a table { msg = ... } (see util.lua's UserError). */
static int raise_user(lua_State *L, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lua_newtable(L);
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "msg");
    return lua_error(L);
}

/*
 * The one hook of the state: line events feed the coverage callback, and
 * every HOOK_STEP instructions the budgets are checked. C functions run
 * between two checks, so each one's work must be bounded by its input (the
 * spec sandbox withholds those that are not, see spec.lua); the time limit
 * catches a spec that calls bounded but heavy ones in a loop.
 */
static void host_hook(lua_State *L, lua_Debug *ar)
{
    cg_host *h = host_of(L);
    if (ar->event == LUA_HOOKLINE) {
        if (h->line_fn && lua_getinfo(L, "S", ar))
            h->line_fn(h->line_ud, ar->source, ar->currentline);
        return;
    }
    h->run_instructions += HOOK_STEP;
    if (h->in_spec) {
        h->spec_instructions += HOOK_STEP;
        if (h->spec_instructions > CG_SPEC_INSTRUCTIONS) {
            h->spec_stopped = 1;
            lua_getinfo(L, "Sl", ar);
            luaL_error(L, "%s:%d: the spec ran more than %I instructions (an endless loop?)",
                       ar->short_src, ar->currentline, (lua_Integer)CG_SPEC_INSTRUCTIONS);
        }
        if (cpu_seconds() > h->spec_deadline) {
            h->spec_stopped = 1;
            lua_getinfo(L, "Sl", ar);
            luaL_error(L, "%s:%d: the spec ran for more than %d seconds of CPU time (a runaway computation?)",
                       ar->short_src, ar->currentline, CG_SPEC_SECONDS);
        }
    }
    if (h->run_instructions > CG_RUN_INSTRUCTIONS) {
        /* Spent for good: any later call fails at its first check too. */
        lua_getfield(L, LUA_REGISTRYINDEX, CONTEXT_KEY);
        const char *ctx = lua_tostring(L, -1);
        raise_user(L, "%s: convgen stopped after %lld Lua instructions (its limit for one run): "
                   "too large to plan, or a code budget too large",
                   ctx ? ctx : "convgen", (long long)CG_RUN_INSTRUCTIONS);
    }
}

/*
 * host.sandbox_call(fn [, strings]): run fn() under the spec limits, with
 * the table strings (default: an empty one) as the methods of every string
 * (the __index of the shared string metatable) for the duration, so that
 * the sandboxed code reaches no library function through a string.
 * Returns true, or false, the error object and its kind: "error",
 * "memory" or "budget" (instructions or time).
 */
static int l_sandbox_call(lua_State *L)
{
    cg_host *h = host_of(L);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_newtable(L);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_pushliteral(L, "");
    if (!lua_getmetatable(L, -1))
        return luaL_error(L, "sandbox_call: strings have no metatable");
    lua_replace(L, 3);                       /* 3: the string metatable */
    lua_getfield(L, 3, "__index");           /* 4: its usual __index */
    lua_pushvalue(L, 2);
    lua_setfield(L, 3, "__index");
    lua_pushvalue(L, 1);

    size_t saved_limit = h->limit;
    h->limit = h->used + CG_SPEC_MEMORY < saved_limit ? h->used + CG_SPEC_MEMORY : saved_limit;
    h->in_spec = 1;
    h->spec_stopped = 0;
    h->spec_instructions = 0;
    h->spec_deadline = cpu_seconds() + CG_SPEC_SECONDS;
    int status = lua_pcall(L, 0, 0, 0);
    h->in_spec = 0;
    h->limit = saved_limit;
    lua_pushvalue(L, 4);
    lua_setfield(L, 3, "__index");           /* cannot fail: a raw table */
    if (status == LUA_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    lua_pushstring(L, status == LUA_ERRMEM ? "memory" : h->spec_stopped ? "budget" : "error");
    return 3;
}

/*
 * host.spec_rep(s, n [, sep]): string.rep for specs. Lua's loops n times
 * even when s and sep are empty, in one C call no budget can interrupt;
 * this returns "" at once then, and otherwise calls string.rep (its first
 * upvalue). A C function, so that errors name the spec's line.
 */
static int l_spec_rep(lua_State *L)
{
    size_t len, seplen;
    luaL_checklstring(L, 1, &len);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    if (n <= 0 || len + seplen == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    /* Lua's own limit, checked here so that the message names the line. */
    if (len + seplen > (size_t)INT_MAX / (lua_Unsigned)n)
        return luaL_error(L, "resulting string too large");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* host.set_context(text): what a run-budget error names (e.g. the layer
 * being generated: "x.lua:3: layer 'a'"). */
static int l_set_context(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, CONTEXT_KEY);
    return 0;
}

/* host.template_source(relpath) -> text, chunkname */
static int l_template_source(lua_State *L)
{
    cg_host *h = host_of(L);
    const char *rel = luaL_checkstring(L, 1);
    if (h->template_dir) {
        struct stat st;
        lua_pushfstring(L, "%s/%s", h->template_dir, rel);
        const char *path = lua_tostring(L, -1);
        if (stat(path, &st) == 0) {
            char err[512], *text;
            size_t len;
            if (cg_read_file(path, &text, &len, err, sizeof err) != 0)
                return raise_user(L, "%s", err);
            lua_pushlstring(L, text, len);
            free(text);
            lua_insert(L, -2);
            return 2;
        }
        lua_pop(L, 1);
    }
    lua_pushfstring(L, "templates/%s", rel);
    const cg_embedded_file *e = cg_embedded_find(lua_tostring(L, -1));
    if (!e)
        return raise_user(L, "no template '%s'", rel);
    lua_pushlstring(L, e->data, e->size);
    lua_insert(L, -2);
    return 2;
}

/* For l_read_npy: push the bytes at light userdata 1, length 2. */
static int push_bytes(lua_State *L)
{
    lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
    return 1;
}

/*
 * host.read_npy(path, dims, what) -> bytes, or nil and a message: the raw
 * little-endian float32 values of a .npy of shape dims (a list of
 * integers), checked by cg_npy_read_f32; what names the tensor in messages.
 */
static int l_read_npy(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *what = luaL_checkstring(L, 3);
    long long dims[CG_NPY_MAX_DIMS];
    int n = (int)luaL_len(L, 2);
    if (n < 1 || n > CG_NPY_MAX_DIMS)
        return luaL_error(L, "read_npy: %d dimensions", n);
    for (int i = 0; i < n; ++i) {
        lua_geti(L, 2, i + 1);
        dims[i] = (long long)luaL_checkinteger(L, -1);
        lua_pop(L, 1);
    }
    char err[1024], *data;
    size_t nbytes;
    if (cg_npy_read_f32(path, dims, n, what, &data, &nbytes, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    /* lua_pushlstring may raise (memory): do not leak data then. */
    lua_pushlightuserdata(L, data);
    lua_pushinteger(L, (lua_Integer)nbytes);
    lua_pushcclosure(L, push_bytes, 0);
    lua_insert(L, -3);
    int status = lua_pcall(L, 2, 1, 0);
    free(data);
    if (status != LUA_OK)
        return lua_error(L);
    return 1;
}

/* host.cpu_supports(feature): whether the CPU running convgen has it. */
static int l_cpu_supports(lua_State *L)
{
    const char *f = luaL_checkstring(L, 1);
    int yes = 0;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (strcmp(f, "avx2") == 0)
        yes = __builtin_cpu_supports("avx2");
    else if (strcmp(f, "fma") == 0)
        yes = __builtin_cpu_supports("fma");
    else if (strcmp(f, "avx512f") == 0)
        yes = __builtin_cpu_supports("avx512f");
#elif defined(__aarch64__)
    yes = strcmp(f, "neon") == 0;   /* Advanced SIMD is part of AArch64 */
#else
    (void)f;
#endif
    lua_pushboolean(L, yes);
    return 1;
}

/* import(name): load generator/lua/<name>.lua once, from the embedded copy. */
static int l_import(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_KEY);
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    lua_pushfstring(L, "lua/%s.lua", name);
    const cg_embedded_file *e = cg_embedded_find(lua_tostring(L, -1));
    if (!e)
        return luaL_error(L, "import: no module '%s'", name);
    lua_pushfstring(L, "@generator/lua/%s.lua", name);
    if (luaL_loadbufferx(L, e->data, e->size, lua_tostring(L, -1), "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);   /* modules[name] = result */
    return 1;
}

/* The message handler: user errors pass through, others get a traceback. */
static int message_handler(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TTABLE && lua_getfield(L, 1, "msg") == LUA_TSTRING) {
        lua_pop(L, 1);
        return 1;
    }
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

/* Open the libraries and globals the generator runs with (protected). */
static int p_setup(lua_State *L)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_DBLIBNAME, luaopen_debug, 1);
    lua_settop(L, 0);

    /* Lua code touches no file and prints nothing: the host does both. */
    static const char *const removed[] = { "dofile", "loadfile", "print" };
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; ++i) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);

    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, MODULES_KEY);
    lua_register(L, "import", l_import);

    lua_newtable(L);
    lua_pushstring(L, CONVGEN_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushcfunction(L, l_sandbox_call);
    lua_setfield(L, -2, "sandbox_call");
    lua_pushcfunction(L, l_set_context);
    lua_setfield(L, -2, "set_context");
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_getfield(L, -1, "rep");
    lua_pushcclosure(L, l_spec_rep, 1);
    lua_setfield(L, -3, "spec_rep");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_template_source);
    lua_setfield(L, -2, "template_source");
    lua_pushcfunction(L, l_cpu_supports);
    lua_setfield(L, -2, "cpu_supports");
    lua_pushcfunction(L, l_read_npy);
    lua_setfield(L, -2, "read_npy");
    lua_pushinteger(L, (lua_Integer)(CG_SPEC_MEMORY >> 20));
    lua_setfield(L, -2, "spec_memory_mib");
    lua_setglobal(L, "host");
    return 0;
}

cg_host *cg_host_new(const char *template_dir, int *status, char *err, size_t errlen)
{
    if (status)
        *status = CG_ERR_INTERNAL;
    if (template_dir && !cg_is_directory(template_dir)) {
        snprintf(err, errlen, "--templates: '%s' is not a directory", template_dir);
        if (status)
            *status = CG_ERR_INPUT;
        return NULL;
    }
    cg_host *h = calloc(1, sizeof *h);
    if (!h || (template_dir && !(h->template_dir = strdup(template_dir)))) {
        snprintf(err, errlen, "out of memory");
        free(h);
        return NULL;
    }
    h->limit = CG_STATE_MEMORY;
    h->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    h->L = h->c_locale ? lua_newstate(bounded_alloc, h) : NULL;
    if (!h->L) {
        snprintf(err, errlen, "cannot create the Lua state");
        cg_host_free(h);
        return NULL;
    }
    h->line_fn = line_hook_fn;
    h->line_ud = line_hook_ud;
    lua_sethook(h->L, host_hook, LUA_MASKCOUNT | (h->line_fn ? LUA_MASKLINE : 0), HOOK_STEP);
    int rc = cg_host_pcall(h, p_setup, NULL, err, errlen);
    if (rc != CG_OK) {
        cg_host_free(h);
        return NULL;
    }
    if (status)
        *status = CG_OK;
    return h;
}

void cg_host_free(cg_host *h)
{
    if (!h)
        return;
    if (h->L)
        lua_close(h->L);
    if (h->c_locale)
        freelocale(h->c_locale);
    free(h->template_dir);
    free(h);
}

int cg_host_pcall(cg_host *h, lua_CFunction f, void *ud, char *err, size_t errlen)
{
    lua_State *L = h->L;
    locale_t caller_locale = uselocale(h->c_locale);
    int top = lua_gettop(L);
    lua_pushcfunction(L, message_handler);
    lua_pushcfunction(L, f);
    lua_pushlightuserdata(L, ud);
    int status = lua_pcall(L, 1, 0, top + 1);
    int rc = CG_OK;
    if (status != LUA_OK) {
        if (status == LUA_ERRMEM) {
            snprintf(err, errlen, "out of memory (the generator is limited to %zu MiB)",
                     CG_STATE_MEMORY >> 20);
            rc = CG_ERR_INTERNAL;
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            lua_getfield(L, -1, "msg");
            snprintf(err, errlen, "%s", lua_tostring(L, -1));
            rc = CG_ERR_INPUT;
        } else {
            const char *msg = lua_tostring(L, -1);
            snprintf(err, errlen, "internal error: %s", msg ? msg : "?");
            rc = CG_ERR_INTERNAL;
        }
    }
    lua_settop(L, top);
    uselocale(caller_locale);
    return rc;
}

void cg_host_new_run_budget(cg_host *h)
{
    h->run_instructions = 0;
}

lua_State *cg_host_lua(cg_host *h)
{
    return h->L;
}
