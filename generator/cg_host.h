/*
 * cg_host.h - the embedded Lua 5.4 state that runs the generator.
 *
 * The state opens only the base, string, table, math and debug libraries
 * (no io, os or package: nothing reads LUA_PATH or LUA_INIT, and Lua code
 * touches no file; the host reads and writes them). It provides the Lua
 * side with two globals:
 *   import(name)   loads generator/lua/<name>.lua from the embedded copy
 *   host           { version, sandbox_call(fn [, strings]), set_context(text),
 *                    spec_rep(s, n [, sep]), template_source(relpath),
 *                    cpu_supports(feature), read_npy(path, dims, what) }
 * Every call into Lua goes through cg_host_pcall, one protected call with
 * a message handler, so no Lua error reaches the panic handler, and runs
 * in the "C" locale whatever the process's is, so numbers print the same
 * everywhere.
 *
 * Limits: a spec runs under an instruction budget, a time limit and a
 * memory cap (host.sandbox_call); all the Lua code one state runs, specs
 * and generation together, under a second instruction budget, so that no
 * spec, however large, keeps convgen busy for more than a few seconds;
 * and the whole state under a memory cap.
 */
#ifndef CG_HOST_H
#define CG_HOST_H

#include <stddef.h>

#include <lua.h>

/* Return codes shared by the generator's C modules. */
enum {
    CG_OK = 0,
    CG_ERR_INPUT = -1,     /* bad spec, option or file: the user's to fix */
    CG_ERR_INTERNAL = -2   /* a fault in convgen itself */
};

/* Limits on evaluating one spec file (see host.sandbox_call). */
#define CG_SPEC_INSTRUCTIONS 20000000L
#define CG_SPEC_SECONDS 2        /* of CPU time */
#define CG_SPEC_MEMORY ((size_t)64 << 20)
/* Limits on the whole generator state: Lua instructions over its life
 * (every spec and every layer generated; tune starts a new budget per
 * layer, cg_host_new_run_budget), and memory. */
#define CG_RUN_INSTRUCTIONS 250000000LL
#define CG_STATE_MEMORY ((size_t)2 << 30)

typedef struct cg_host cg_host;

/*
 * A new generator state. template_dir, if not NULL, is a directory whose
 * files override the embedded templates of the same relative name.
 * Returns NULL with a message in err (CG_ERR_INPUT if *status is not NULL
 * and template_dir is not a directory).
 */
cg_host *cg_host_new(const char *template_dir, int *status, char *err, size_t errlen);

void cg_host_free(cg_host *h);

/*
 * Call f in protected mode with ud as its only argument (a light
 * userdata). On error, err receives a user error's message as it is, or an
 * internal error's message with a traceback. Returns CG_OK, CG_ERR_INPUT
 * or CG_ERR_INTERNAL.
 */
int cg_host_pcall(cg_host *h, lua_CFunction f, void *ud, char *err, size_t errlen);

lua_State *cg_host_lua(cg_host *h);

/* Start a new run budget (CG_RUN_INSTRUCTIONS), for a command that does a
 * run's worth of work per layer (see cg_gen_new_run_budget). */
void cg_host_new_run_budget(cg_host *h);

/*
 * For coverage-guided fuzzing: fn(ud, source, line) is called for every
 * line of Lua that states created after this call run, with source as in
 * lua_Debug ("@generator/lua/spec.lua", ...). NULL turns it off. Not
 * thread-safe; set it before creating states.
 */
typedef void (*cg_host_line_fn)(void *ud, const char *source, int line);
void cg_host_set_line_hook(cg_host_line_fn fn, void *ud);

#endif
