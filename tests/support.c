/* support.c - helpers shared by the cmocka tests (see support.h). */
#define _XOPEN_SOURCE 700   /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

cg_gen *ts_gen_from_text(const char *path, const char *text)
{
    char err[TS_ERRLEN];
    int status;
    cg_gen *g = cg_gen_new(NULL, &status, err, sizeof err);
    if (!g)
        fail_msg("cg_gen_new: %s", err);
    if (cg_gen_load_string(g, path, text, err, sizeof err) != CG_OK) {
        cg_gen_free(g);
        fail_msg("spec did not load: %s\n%s", err, text);
    }
    return g;
}

int ts_load_status(const char *path, const char *text, char *err, size_t errlen)
{
    int status;
    cg_gen *g = cg_gen_new(NULL, &status, err, errlen);
    if (!g)
        fail_msg("cg_gen_new: %s", err);
    int rc = cg_gen_load_string(g, path, text, err, errlen);
    cg_gen_free(g);
    return rc;
}

static void slurp(const char *path, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

int ts_run(const char *const argv[], const char *cwd, char *out, size_t outlen,
           char *errout, size_t errlen)
{
    char dir[64], outpath[96], errpath[96];
    ts_mkdtemp(dir);
    snprintf(outpath, sizeof outpath, "%s/stdout", dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);

    /* posix_spawn has no portable chdir action: run through sh -c 'cd'. */
    const char *full[64];
    int n = 0;
    if (cwd) {
        full[n++] = "/bin/sh";
        full[n++] = "-c";
        full[n++] = "cd \"$0\" && exec \"$@\"";
        full[n++] = cwd;
    }
    for (int i = 0; argv[i] && n < 63; ++i)
        full[n++] = argv[i];
    full[n] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int status = -1;
    if (posix_spawn(&pid, full[0], &fa, NULL, (char *const *)full, environ) != 0)
        fail_msg("cannot run %s", full[0]);
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &status, 0) < 0)
        fail_msg("waitpid failed");
    slurp(outpath, out, outlen);
    slurp(errpath, errout, errlen);
    ts_rmtree(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ts_mkdtemp(char *dir)
{
    strcpy(dir, "/tmp/convgen-test-XXXXXX");
    if (!mkdtemp(dir))
        fail_msg("mkdtemp failed");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void ts_rmtree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int ts_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            ++n;
    closedir(d);
    return n;
}

void ts_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fail_msg("cannot write %s", path);
}

/* The random layers of the kernel sweeps (see support.h). */
static const char *const activations[] = {
    "none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh"
};

void ts_random_spec(cg_rng *r, int i, char *buf, size_t len)
{
    int groups, cpg, fpg;
    switch (cg_rng_int(r, 0, 4)) {
    case 0: groups = 1; break;
    case 1: groups = 1; break;
    case 2: groups = cg_rng_int(r, 2, 3); break;
    default: groups = -1; break;   /* depthwise */
    }
    if (groups == -1) {
        groups = cg_rng_int(r, 1, 8);
        cpg = 1;
        fpg = cg_rng_int(r, 1, 2);
    } else {
        cpg = cg_rng_int(r, 1, 5);
        fpg = cg_rng_int(r, 1, 4);
    }
    int h = cg_rng_int(r, 1, 12), w = cg_rng_int(r, 1, 12);
    int sh = cg_rng_int(r, 1, 3), sw = cg_rng_int(r, 1, 3);
    int dh = cg_rng_int(r, 1, 3), dw = cg_rng_int(r, 1, 3);
    int pt = cg_rng_int(r, 0, 3), pb = cg_rng_int(r, 0, 3);
    int pl = cg_rng_int(r, 0, 3), pr = cg_rng_int(r, 0, 3);
    int mode = cg_rng_int(r, 0, 9);   /* 0-3 explicit, 4-5 same, 6-7 valid, 8-9 symmetric */
    char padding[96];

    if (i % 20 == 3) {                /* wide enough for interior tile loops */
        h = cg_rng_int(r, 12, 40);
        w = cg_rng_int(r, 16, 48);
    }
    if (i % 10 == 0) {                /* a 1x1 input */
        h = w = 1;
    } else if (i % 10 == 1) {         /* kernel equal to the input */
        mode = 6;
        dh = dw = 1;
    } else if (i % 10 == 2) {         /* stride larger than the kernel */
        sh = cg_rng_int(r, 3, 5);
        sw = cg_rng_int(r, 3, 5);
    }
    if (mode >= 4 && mode <= 7)
        pt = pb = pl = pr = 0;
    if (mode >= 8)
        pb = pl = pr = pt;
    /* Kernel extents that fit the padded input (same padding pads up to
     * whatever it needs, so any kernel fits). */
    int room_h = mode == 4 || mode == 5 ? 7 : h + pt + pb;
    int room_w = mode == 4 || mode == 5 ? 7 : w + pl + pr;
    if ((room_h - 1) / dh < 1) dh = 1;
    if ((room_w - 1) / dw < 1) dw = 1;
    int kh = cg_rng_int(r, 1, (room_h - 1) / dh + 1 < 5 ? (room_h - 1) / dh + 1 : 5);
    int kw = cg_rng_int(r, 1, (room_w - 1) / dw + 1 < 5 ? (room_w - 1) / dw + 1 : 5);
    if (i % 10 == 1) {
        kh = h;
        kw = w;
    }
    if (i % 10 == 2) {
        kh = cg_rng_int(r, 1, sh - 1);
        kw = cg_rng_int(r, 1, sw - 1);
        dh = dw = 1;
        if (kh > room_h) kh = room_h;
        if (kw > room_w) kw = room_w;
    }

    if (mode <= 3)
        snprintf(padding, sizeof padding, "{ top = %d, bottom = %d, left = %d, right = %d }", pt, pb, pl, pr);
    else if (mode <= 5)
        snprintf(padding, sizeof padding, "\"same\"");
    else if (mode <= 7)
        snprintf(padding, sizeof padding, "\"valid\"");
    else
        snprintf(padding, sizeof padding, "%d", pt);

    const char *act = activations[i % 6];
    int batch = cg_rng_int(r, 0, 4) == 0 ? cg_rng_int(r, 2, 3) : 1;
    int bias = cg_rng_int(r, 0, 2) != 0;
    char extra[64] = "";
    if (strcmp(act, "leaky_relu") == 0)
        snprintf(extra, sizeof extra, "alpha = %g,", cg_rng_int(r, 1, 30) / 100.0);
    char budget[48] = "";
    if (cg_rng_int(r, 0, 3) == 0)
        snprintf(budget, sizeof budget, "code_budget = %d,", cg_rng_int(r, 20, 300));
    const char *layout = cg_rng_int(r, 0, 1) ? "nhwc" : "nchw";

    snprintf(buf, len,
             "conv2d { name = \"sweep%d\", batch = %d,\n"
             "  input = { channels = %d, height = %d, width = %d },\n"
             "  filters = %d, groups = %d, kernel = { height = %d, width = %d },\n"
             "  stride = { height = %d, width = %d }, dilation = { height = %d, width = %d },\n"
             "  padding = %s, bias = %s, activation = \"%s\", %s %s layout = \"%s\" }\n",
             i, batch, groups * cpg, h, w, groups * fpg, groups, kh, kw,
             sh, sw, dh, dw, padding, bias ? "true" : "false", act, extra, budget, layout);
}

void ts_force_filter_vectors(char *spec, int scatter)
{
    char err[TS_ERRLEN];
    cg_conv p;
    cg_gen *g = ts_gen_from_text("sweep.lua", spec);
    if (cg_gen_params(g, 0, &p, err, sizeof err) != CG_OK)
        fail_msg("cg_gen_params: %s", err);
    cg_gen_free(g);
    const char *open = "conv2d { ", *field = "packed_kernel = \"filter_vectors\", ";
    int channel_form = p.layout == CG_LAYOUT_NHWC && p.groups > 1 && p.groups == p.channels
                       && p.filters == p.groups;
    int has = p.filters / p.groups > 1 || channel_form;
    if (has && (scatter || p.layout == CG_LAYOUT_NHWC) && strncmp(spec, open, strlen(open)) == 0) {
        memmove(spec + strlen(open) + strlen(field), spec + strlen(open), strlen(spec) - strlen(open) + 1);
        memcpy(spec + strlen(open), field, strlen(field));
    }
}

void ts_drop_budget(char *spec)
{
    char *b = strstr(spec, "code_budget");
    if (b)
        memset(b, ' ', strcspn(b, ",") + 1);
}

/* The child's side of ts_run_limited: never returns. Supplementary groups
 * are left as they are (root's group has no write bit where it matters). */
static void exec_limited(const char *const argv[], const char *cwd, const ts_limits *lim,
                         const char *outpath, const char *errpath)
{
    int in = open("/dev/null", O_RDONLY);
    int o = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
        _exit(126);
    if (cwd && chdir(cwd) != 0)
        _exit(126);
    if (lim->file_bytes > 0) {
        struct rlimit r = { (rlim_t)lim->file_bytes, (rlim_t)lim->file_bytes };
        if (setrlimit(RLIMIT_FSIZE, &r) != 0)
            _exit(126);
        signal(SIGXFSZ, lim->kill_on_file_limit ? SIG_DFL : SIG_IGN);
    }
    if (lim->cpu_seconds > 0) {
        struct rlimit r = { (rlim_t)lim->cpu_seconds, (rlim_t)lim->cpu_seconds + 1 };
        if (setrlimit(RLIMIT_CPU, &r) != 0)
            _exit(126);
    }
    for (const char *const *kv = lim->env; kv && *kv; ++kv)
        if (putenv((char *)*kv) != 0)
            _exit(126);
    if (lim->as_nobody && geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        _exit(126);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

int ts_run_limited(const char *const argv[], const char *cwd, const ts_limits *lim,
                   char *out, size_t outlen, char *errout, size_t errlen)
{
    char dir[64], outpath[96], errpath[96];
    ts_mkdtemp(dir);
    snprintf(outpath, sizeof outpath, "%s/stdout", dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork failed");
    if (pid == 0)
        exec_limited(argv, cwd, lim, outpath, errpath);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        fail_msg("waitpid failed");
    slurp(outpath, out, outlen);
    slurp(errpath, errout, errlen);
    ts_rmtree(dir);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
