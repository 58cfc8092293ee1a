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
#include <time.h>
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

void ts_read_text(const char *path, char *buf, size_t len)
{
    slurp(path, buf, len);
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

    /* Every fourth layer forces channel blocks of one or two channels and a
     * tile of one or two filters, so that most of them reduce in several
     * blocks over several filter tiles (derived from i: the draws of the
     * other layers stay as they were). */
    char blocks[96] = "";
    if (i % 4 == 3)
        snprintf(blocks, sizeof blocks,
                 "channel_block = %d, tile = { filters = %d, rows = %d, vectors = %d },",
                 1 + (i / 4) % 2, 1 + (i / 8) % 2, 1 + (i / 16) % 2, 1 + (i / 32) % 2);
    /* Every fourth layer, of those the avx512 sweep gives the filter-
     * vectorized kernel, takes its tile rows in groups of one or two, with
     * channel blocks of one or two (which only layers of more channels than
     * that use), so that row groups are tested on shapes far smaller than
     * those that earn them, with and without blocks. */
    else if (i % 4 == 2)
        snprintf(blocks, sizeof blocks, "row_group = %d, channel_block = %d,", 1 + (i / 4) % 2,
                 1 + (i / 8) % 2);

    snprintf(buf, len,
             "conv2d { name = \"sweep%d\", batch = %d,\n"
             "  input = { channels = %d, height = %d, width = %d },\n"
             "  filters = %d, groups = %d, kernel = { height = %d, width = %d },\n"
             "  stride = { height = %d, width = %d }, dilation = { height = %d, width = %d },\n"
             "  padding = %s, bias = %s, activation = \"%s\", %s %s layout = \"%s\",\n  %s }\n",
             i, batch, groups * cpg, h, w, groups * fpg, groups, kh, kw,
             sh, sw, dh, dw, padding, bias ? "true" : "false", act, extra, budget, layout, blocks);
}

void ts_force_filter_vectors(char *spec, int nchw_fv)
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
    if (has && (nchw_fv || p.layout == CG_LAYOUT_NHWC) && strncmp(spec, open, strlen(open)) == 0) {
        memmove(spec + strlen(open) + strlen(field), spec + strlen(open), strlen(spec) - strlen(open) + 1);
        memcpy(spec + strlen(open), field, strlen(field));
    }
}

int ts_cpu_runs(const char *target)
{
    if (strcmp(target, "generic") == 0)
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (strcmp(target, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(target, "avx512") == 0)
        return __builtin_cpu_supports("avx512f");
#elif defined(__aarch64__)
    if (strcmp(target, "neon") == 0)
        return 1;            /* Advanced SIMD is part of AArch64 */
#endif
    return 0;
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

/* The .npy header dictionary of a float array of shape dims, padded with
 * spaces and a newline so that the data start at a multiple of 64 (as
 * numpy writes it). */
static size_t npy_header(char *buf, size_t cap, const char *descr, int fortran,
                         const long long *dims, int ndims)
{
    size_t n = (size_t)snprintf(buf, cap, "{'descr': '%s', 'fortran_order': %s, 'shape': (",
                                descr, fortran ? "True" : "False");
    for (int i = 0; i < ndims; ++i)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", dims[i]);
    n += (size_t)snprintf(buf + n, cap - n, "%s), }", ndims == 1 ? "," : "");
    while ((10 + n + 1) % 64 != 0)
        buf[n++] = ' ';
    buf[n++] = '\n';
    buf[n] = '\0';
    return n;
}

void ts_write_npy_raw(const char *path, int major, const char *header, const void *data,
                      size_t nbytes)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    const size_t hl = strlen(header);
    const unsigned char magic[8] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0 };
    unsigned char len[4] = { (unsigned char)hl, (unsigned char)(hl >> 8), (unsigned char)(hl >> 16),
                             (unsigned char)(hl >> 24) };
    int ok = fwrite(magic, 1, 8, f) == 8 && fwrite(len, 1, major == 1 ? 2 : 4, f) == (major == 1 ? 2u : 4u)
             && fwrite(header, 1, hl, f) == hl && (nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes);
    if (fclose(f) != 0 || !ok)
        fail_msg("cannot write %s", path);
}

void ts_write_npy(const char *path, const long long *dims, int ndims, const float *v)
{
    char header[512];
    size_t count = 1;
    for (int i = 0; i < ndims; ++i)
        count *= (size_t)dims[i];
    npy_header(header, sizeof header, "<f4", 0, dims, ndims);
    /* Little-endian bytes whatever the host's order. */
    unsigned char *bytes = malloc(count * 4 + 1);
    assert_non_null(bytes);
    for (size_t i = 0; i < count; ++i) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        for (int b = 0; b < 4; ++b)
            bytes[4 * i + (size_t)b] = (unsigned char)(u >> (8 * b));
    }
    ts_write_npy_raw(path, 1, header, bytes, count * 4);
    free(bytes);
}

void ts_npy_header(char *buf, size_t cap, const char *descr, int fortran, const long long *dims,
                   int ndims)
{
    npy_header(buf, cap, descr, fortran, dims, ndims);
}

static float uniform(cg_rng *r)
{
    float v;
    cg_fill_uniform(&v, 1, r, -1.0f, 1.0f);
    return v;
}

/* Random weights, each zero with probability zero_pct / 100. */
void ts_fill_pruned(float *w, size_t n, cg_rng *r, int zero_pct)
{
    for (size_t i = 0; i < n; ++i) {
        float v = uniform(r);
        w[i] = cg_rng_int(r, 0, 99) < zero_pct ? 0.0f : v;
    }
}

/* spec with "weights = <name>_w.npy" (and bias_values if the layer has a
 * bias) added, the files written into dir with random values (zero_pct %
 * of the weights zero). The weights and bias written are returned in *w
 * and *b (free them) and the layer in *p. */
char *ts_bake(const char *dir, const char *spec, cg_rng *r, int zero_pct, cg_conv *p,
                  float **w, float **b)
{
    char err[TS_ERRLEN], path[256];
    cg_gen *g = ts_gen_from_text("plain.lua", spec);
    assert_int_equal(cg_gen_params(g, 0, p, err, sizeof err), CG_OK);
    cg_gen_free(g);
    const size_t nw = cg_conv_weights_size(p), nb = (size_t)p->filters;
    *w = malloc(nw * sizeof **w);
    *b = malloc(nb * sizeof **b);
    assert_true(*w && *b);
    ts_fill_pruned(*w, nw, r, zero_pct);
    for (size_t i = 0; i < nb; ++i)
        (*b)[i] = uniform(r);
    /* [F][C/groups][KH][KW], or in NHWC TensorFlow Lite's [F][KH][KW][C/groups] */
    const int nhwc = p->layout == CG_LAYOUT_NHWC, cpg = p->channels / p->groups;
    const long long wd[4] = { p->filters, nhwc ? p->kernel_h : cpg, nhwc ? p->kernel_w : p->kernel_h,
                              nhwc ? cpg : p->kernel_w };
    const long long bd[1] = { p->filters };
    snprintf(path, sizeof path, "%s/%s_w.npy", dir, p->name);
    ts_write_npy(path, wd, 4, *w);
    snprintf(path, sizeof path, "%s/%s_b.npy", dir, p->name);
    ts_write_npy(path, bd, 1, *b);

    size_t len = strlen(spec);
    char *out = malloc(len + 256);
    assert_non_null(out);
    const char *open = strchr(spec, '{');
    assert_non_null(open);
    int at = (int)(open - spec) + 1;
    snprintf(out, len + 256, "%.*s weights = \"%s_w.npy\",%s%s%s%s", at, spec, p->name,
             p->bias ? " bias_values = \"" : "", p->bias ? p->name : "", p->bias ? "_b.npy\"," : "",
             spec + at);
    return out;
}

double ts_wall_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
