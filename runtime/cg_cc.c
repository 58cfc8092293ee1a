/* cg_cc.c - system compiler to a loaded shared object (see cg_cc.h). */
#include "cg_cc.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct cg_so {
    void *handle;
};

enum { MAX_ARGS = 64 };

static int write_all(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

static void read_into(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f || len == 0)
        goto done;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
done:
    if (f)
        fclose(f);
}

/* Run argv with stdout and stderr sent to log; returns its exit status. */
static int run(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0) {
        if (waitpid(pid, &status, 0) < 0)
            status = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    return status;
}

cg_so *cg_cc_build(const char *source, const char *compiler, const char *flags,
                   char *err, size_t errlen)
{
    const char *name = "kernel";
    return cg_cc_build_units(&source, &name, 1, compiler, flags, err, errlen);
}

cg_so *cg_cc_build_units(const char *const *sources, const char *const *names, int n,
                         const char *compiler, const char *flags, char *err, size_t errlen)
{
    char dir[] = "/tmp/convgen-cc-XXXXXX";
    char lib[64], log[64];
    char **src = NULL;
    char *flagbuf = NULL;
    char *argv[MAX_ARGS];
    int argc = 0, written = 0;
    cg_so *so = NULL;

    if (errlen)
        err[0] = '\0';
    if (n < 1 || n > MAX_ARGS / 2) {
        snprintf(err, errlen, "cg_cc_build_units: %d sources (1 to %d)", n, MAX_ARGS / 2);
        return NULL;
    }
    if (!compiler)
        compiler = getenv("CC");
    if (!compiler || !*compiler)
        compiler = "cc";
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "cannot create a temporary directory: %m");
        return NULL;
    }
    snprintf(lib, sizeof lib, "%s/kernel.so", dir);
    snprintf(log, sizeof log, "%s/cc.log", dir);
    if (!(src = calloc((size_t)n, sizeof *src))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (; written < n; ++written) {
        size_t need = strlen(dir) + strlen(names[written]) + 4;
        if (!(src[written] = malloc(need))) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        snprintf(src[written], need, "%s/%s.c", dir, names[written]);
        if (write_all(src[written], sources[written]) != 0) {
            snprintf(err, errlen, "cannot write %s: %m", src[written]);
            ++written;
            goto done;
        }
    }

    const char *extra = getenv("CONVGEN_KERNEL_CFLAGS");
    size_t need = strlen(flags ? flags : "") + strlen(extra ? extra : "") + 2;
    flagbuf = malloc(need);
    if (!flagbuf) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    snprintf(flagbuf, need, "%s %s", flags ? flags : "", extra ? extra : "");
    argv[argc++] = (char *)compiler;
    for (char *save = NULL, *tok = strtok_r(flagbuf, " ", &save);
         tok && argc < MAX_ARGS - 8 - n; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc++] = "-shared";
    argv[argc++] = "-fPIC";
    argv[argc++] = "-o";
    argv[argc++] = lib;
    for (int i = 0; i < n; ++i)
        argv[argc++] = src[i];
    argv[argc++] = "-lm";
    argv[argc] = NULL;

    int status = run(argv, log);
    if (status != 0) {
        char out[4096] = "";
        read_into(log, out, sizeof out);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == 127)
            snprintf(err, errlen, "could not run %s%s%s", compiler, *out ? ": " : "", out);
        else
            snprintf(err, errlen, "%s failed (exit %d):\n%s", compiler, WEXITSTATUS(status), out);
        goto done;
    }
    so = calloc(1, sizeof *so);
    if (!so) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    so->handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!so->handle) {
        snprintf(err, errlen, "dlopen: %s", dlerror());
        free(so);
        so = NULL;
    }

done:
    free(flagbuf);
    for (int i = 0; i < written; ++i) {
        unlink(src[i]);
        free(src[i]);
    }
    if (src && written < n)
        free(src[written]);
    free(src);
    unlink(lib);
    unlink(log);
    rmdir(dir);
    return so;
}

void *cg_so_symbol(cg_so *so, const char *symbol)
{
    return dlsym(so->handle, symbol);
}

void cg_so_free(cg_so *so)
{
    if (!so)
        return;
    dlclose(so->handle);
    free(so);
}
