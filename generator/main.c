/*
 * main.c - the convgen command line: generate, check, info.
 *
 * Exit status: 0 success, 1 a checked kernel disagreed with the reference
 * (or failed to compile), 2 bad usage, spec or file, 3 an internal error.
 * Only this file prints.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cg_cc.h"
#include "cg_files.h"
#include "cg_gen.h"
#include "cg_jit.h"
#include "cg_tensor.h"
#include "cg_time.h"
#include "cg_verify.h"

#ifndef CONVGEN_VERSION
#define CONVGEN_VERSION "0.0.0"
#endif

enum { EXIT_CHECK_FAILED = 1, EXIT_BAD_INPUT = 2, EXIT_INTERNAL = 3 };

#define ERRLEN 4096

static const char usage_main[] =
    "usage: convgen COMMAND [OPTIONS] SPEC...\n"
    "\n"
    "Generate shape-specialized C convolution kernels from layer specs.\n"
    "\n"
    "commands:\n"
    "  generate   write <name>.c and <name>.h for every layer and network\n"
    "  check      compile every layer and network in-process and compare with the reference\n"
    "  info       print every layer's shapes, parameter and MAC counts, code size\n"
    "  tune       time candidate kernels on this machine and record the fastest\n"
    "\n"
    "'convgen COMMAND --help' describes a command; 'convgen --version' prints the version.\n";

static const char usage_generate[] =
    "usage: convgen generate SPEC... [-o DIR] [OPTIONS]\n"
    "\n"
    "Write DIR/<name>.c and DIR/<name>.h for every layer and every network of\n"
    "every SPEC.\n"
    "Nothing is written unless every layer generates: files appear all at once.\n"
    "\n"
    "  -o, --output DIR     directory to write to (must exist; default .)\n";

static const char usage_check[] =
    "usage: convgen check SPEC... [--seed N] [--cc] [OPTIONS]\n"
    "\n"
    "Generate every layer, compile it in-process with TinyCC, run its plain\n"
    "entry and its packed entry (<name>_pack + <name>_run) on seeded random\n"
    "data and compare both with the reference convolution. Prints the largest\n"
    "absolute and relative error and PASS or FAIL per layer; exits 1 if any\n"
    "layer fails. A network is built with its layers into one program and\n"
    "checked layer by layer; its output must equal its layers' run one by one.\n"
    "\n"
    "  --seed N             seed of the random data (default 1)\n"
    "  --cc                 build with the system compiler ($CC or cc, -O2)\n"
    "                       instead of TinyCC (targets other than generic always are)\n";

static const char usage_info[] =
    "usage: convgen info SPEC... [OPTIONS]\n"
    "\n"
    "Print 'key: value' lines for every layer: shapes, padding as resolved,\n"
    "parameters, MACs, FLOPs, generated code size and workspace bytes; then\n"
    "for every network its layers, counts and memory plan.\n";

static const char usage_tune[] =
    "usage: convgen tune SPEC... [--target T] [OPTIONS]\n"
    "\n"
    "For every layer, build the candidate kernels the cost model ranks best\n"
    "(tile shapes of the tiled and, where the target has it, the filter-\n"
    "vectorized family, and the whole-plane kernel where it applies) with\n"
    "the system compiler (cc -O3 -march=native), check each against the\n"
    "reference, time its packed entry on this machine (median of 7\n"
    "samples), time those within 10% of the fastest again in turns (9\n"
    "rounds) and write the fastest to SPEC.tuned beside each spec, with\n"
    "the fastest of those the plain entry can run (tiled or whole plane).\n"
    "generate, check and info then use the recorded choices for that\n"
    "target without timing again; fields set in the spec itself still win.\n";

static const char usage_common[] =
    "\n"
    "  --target T           generic (portable C99, default), avx2 (x86-64 AVX2+FMA),\n"
    "                       avx512 (x86-64 AVX-512F), neon (AArch64) or native\n"
    "                       (the best this machine supports)\n"
    "  --code-budget N      lines of reduction code per kernel for layers\n"
    "                       without a code_budget field (default 4096)\n"
    "  --templates DIR      templates that override the built-in ones, by\n"
    "                       relative path (e.g. DIR/conv2d/generic/isa.lua)\n"
    "  -h, --help           this help\n";

struct cli {
    const char *command;
    const char **specs;
    int nspecs;
    int *spec_first;          /* layer index where spec k starts; [nspecs] = count */
    const char *outdir;
    const char *templates;
    cg_gen_options gen;
    uint64_t seed;
    int use_cc;
    int help;
};

static int usage_error(const char *command, const char *fmt, const char *arg)
{
    fprintf(stderr, "convgen%s%s: ", command ? " " : "", command ? command : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'convgen %s--help'.\n", command ? "COMMAND " : "");
    return EXIT_BAD_INPUT;
}

/* The value of option name: "--name=V" or "--name V". NULL if missing. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int matches(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int parse_unsigned(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct cli *c)
{
    c->specs = calloc((size_t)argc, sizeof *c->specs);
    c->spec_first = calloc((size_t)argc + 1, sizeof *c->spec_first);
    if (!c->specs || !c->spec_first)
        return EXIT_INTERNAL;
    c->outdir = ".";
    c->seed = 1;
    const char *cmd = c->command;
    int is_generate = strcmp(cmd, "generate") == 0, is_check = strcmp(cmd, "check") == 0;

    for (int i = 2; i < argc; ++i) {
        const char *a = argv[i];
        unsigned long long v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            c->help = 1;
        } else if (is_generate && (strcmp(a, "-o") == 0 || matches(a, "--output"))) {
            if (!(c->outdir = option_value(argc, argv, &i, "--output")))
                return usage_error(cmd, "%s needs a directory", a);
        } else if (is_check && matches(a, "--seed")) {
            const char *s = option_value(argc, argv, &i, "--seed");
            if (parse_unsigned(s, UINT64_MAX, &v) != 0)
                return usage_error(cmd, "--seed needs a non-negative integer, got '%s'", s ? s : "");
            c->seed = v;
        } else if (is_check && strcmp(a, "--cc") == 0) {
            c->use_cc = 1;
        } else if (matches(a, "--target")) {
            if (!(c->gen.target = option_value(argc, argv, &i, "--target")))
                return usage_error(cmd, "%s needs a target name", a);
        } else if (matches(a, "--code-budget")) {
            const char *s = option_value(argc, argv, &i, "--code-budget");
            if (parse_unsigned(s, 1u << 30, &v) != 0 || v == 0)
                return usage_error(cmd, "--code-budget needs a positive integer, got '%s'", s ? s : "");
            c->gen.code_budget = (int)v;
        } else if (matches(a, "--templates")) {
            if (!(c->templates = option_value(argc, argv, &i, "--templates")))
                return usage_error(cmd, "%s needs a directory", a);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error(cmd, "unknown option '%s'", a);
        } else {
            c->specs[c->nspecs++] = a;
        }
    }
    if (!c->help && c->nspecs == 0)
        return usage_error(cmd, "%s", "no spec file given");
    return 0;
}

/* Load every spec; on error print it and return the exit status. */
static int load_specs(struct cli *c, cg_gen **out)
{
    char err[ERRLEN];
    int status;
    cg_gen *g = cg_gen_new(c->templates, &status, err, sizeof err);
    if (!g) {
        fprintf(stderr, "convgen: %s\n", err);
        return status == CG_ERR_INPUT ? EXIT_BAD_INPUT : EXIT_INTERNAL;
    }
    for (int i = 0; i < c->nspecs; ++i) {
        c->spec_first[i] = cg_gen_count(g);
        int rc = cg_gen_load_file(g, c->specs[i], err, sizeof err);
        if (rc != CG_OK) {
            fprintf(stderr, "convgen: %s\n", err);
            cg_gen_free(g);
            return rc == CG_ERR_INPUT ? EXIT_BAD_INPUT : EXIT_INTERNAL;
        }
    }
    c->spec_first[c->nspecs] = cg_gen_count(g);
    *out = g;
    return 0;
}

static int report(int rc, const char *err)
{
    fprintf(stderr, "convgen: %s\n", err);
    return rc == CG_ERR_INPUT ? EXIT_BAD_INPUT : EXIT_INTERNAL;
}

static int cmd_generate(const struct cli *c, cg_gen *g)
{
    char err[ERRLEN];
    int n = cg_gen_count(g), status = 0;
    cg_outset *set = cg_outset_new();
    size_t pathlen = strlen(c->outdir) + 80;
    char *path = malloc(pathlen);

    if (!set || !path) {
        status = report(CG_ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (!cg_is_directory(c->outdir)) {
        fprintf(stderr, "convgen generate: output directory '%s' does not exist\n", c->outdir);
        status = EXIT_BAD_INPUT;
        goto done;
    }
    for (int i = 0; i < n && status == 0; ++i) {
        cg_conv p;
        cg_sources src;
        int rc = cg_gen_params(g, i, &p, err, sizeof err);
        if (rc == CG_OK)
            rc = cg_gen_emit(g, i, &c->gen, &src, err, sizeof err);
        if (rc != CG_OK) {
            status = report(rc, err);
            break;
        }
        snprintf(path, pathlen, "%s/%s.c", c->outdir, p.name);
        rc = cg_outset_add(set, path, src.c, src.c_len, err, sizeof err);
        snprintf(path, pathlen, "%s/%s.h", c->outdir, p.name);
        if (rc == 0)
            rc = cg_outset_add(set, path, src.h, src.h_len, err, sizeof err);
        cg_sources_free(&src);
        if (rc != 0)
            status = report(CG_ERR_INPUT, err);
    }
    int nets = cg_gen_network_count(g);
    for (int k = 0; k < nets && status == 0; ++k) {
        cg_network net;
        cg_sources src;
        int rc = cg_gen_network(g, k, &net, err, sizeof err);
        if (rc == CG_OK)
            rc = cg_gen_network_emit(g, k, &src, err, sizeof err);
        if (rc != CG_OK) {
            cg_network_free(&net);
            status = report(rc, err);
            break;
        }
        snprintf(path, pathlen, "%s/%s.c", c->outdir, net.name);
        rc = cg_outset_add(set, path, src.c, src.c_len, err, sizeof err);
        snprintf(path, pathlen, "%s/%s.h", c->outdir, net.name);
        if (rc == 0)
            rc = cg_outset_add(set, path, src.h, src.h_len, err, sizeof err);
        cg_sources_free(&src);
        cg_network_free(&net);
        if (rc != 0)
            status = report(CG_ERR_INPUT, err);
    }
    if (status == 0 && cg_outset_commit(set, err, sizeof err) != 0)
        status = report(CG_ERR_INPUT, err);
    if (status == 0) {
        for (int i = 0; i < n; ++i) {
            cg_conv p;
            if (cg_gen_params(g, i, &p, err, sizeof err) == CG_OK)
                printf("wrote %s/%s.c %s/%s.h\n", c->outdir, p.name, c->outdir, p.name);
        }
        for (int k = 0; k < nets; ++k) {
            cg_network net;
            if (cg_gen_network(g, k, &net, err, sizeof err) == CG_OK)
                printf("wrote %s/%s.c %s/%s.h (network)\n", c->outdir, net.name, c->outdir, net.name);
            cg_network_free(&net);
        }
    }
done:
    cg_outset_free(set);
    free(path);
    return status;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* The address of symbol name + suffix in the built kernel, or NULL. */
static void *kernel_symbol(cg_jit *jit, cg_so *so, const char *name, const char *suffix)
{
    char sym[96];
    snprintf(sym, sizeof sym, "%s%s", name, suffix);
    return jit ? cg_jit_symbol(jit, sym) : so ? cg_so_symbol(so, sym) : NULL;
}

/* The larger error of a and b, into a. */
static void merge_compare(cg_compare *a, const cg_compare *b)
{
    if (b->max_abs > a->max_abs)
        a->max_abs = b->max_abs;
    if (b->max_rel > a->max_rel)
        a->max_rel = b->max_rel;
    if (b->worst_ratio > a->worst_ratio) {
        a->worst_ratio = b->worst_ratio;
        a->worst = b->worst;
    }
    a->failures += b->failures;
}

/* Build a layer, run its plain and its packed entry and compare both with
 * the reference; prints the layer's line. Returns 1 if it failed. */
/* Check a built layer with baked weights: its one entry entry(input,
 * output) against the reference run with the weights from its .npy files. */
static int check_baked(cg_gen *g, int i, const cg_conv *p, const cg_sources *src, void *entry,
                       uint64_t seed, int use_cc, double build_ms, int *status)
{
    char err[ERRLEN];
    float *w, *b;
    size_t nw, nb;
    cg_baked_fn fn;
    memcpy(&fn, &entry, sizeof fn);
    int rc = cg_gen_baked(g, i, &w, &nw, &b, &nb, err, sizeof err);
    if (rc != CG_OK) {
        *status = report(rc, err);
        return 1;
    }
    int failed = 1;
    cg_compare r;
    if (!fn) {
        printf("%s: FAIL: the generated code lacks %s\n", p->name, p->name);
    } else if (cg_verify_baked(p, fn, w, b, seed, &r) != 0) {
        printf("%s: FAIL: out of memory\n", p->name);
    } else {
        failed = r.failures != 0;
        printf("%s: max abs error %.3g, max rel error %.3g (%s, %s build %.1f ms, baked weights): %s\n",
               p->name, r.max_abs, r.max_rel, src->target, use_cc ? "cc" : "tcc", build_ms,
               failed ? "FAIL" : "PASS");
        if (failed)
            printf("%s:   %zu outputs beyond tolerance; worst at flat index %zu (%.3g x its tolerance)\n",
                   p->name, r.failures, r.worst, r.worst_ratio);
    }
    free(w);
    free(b);
    return failed;
}

static int check_layer(const struct cli *c, cg_gen *g, int i, int *status)
{
    char err[ERRLEN];
    cg_conv p;
    cg_sources src;
    int rc = cg_gen_params(g, i, &p, err, sizeof err);
    if (rc == CG_OK)
        rc = cg_gen_emit(g, i, &c->gen, &src, err, sizeof err);
    if (rc != CG_OK) {
        *status = report(rc, err);
        return 1;
    }

    if (!src.runs_here) {
        fprintf(stderr, "convgen check: %s: target %s needs a CPU with %s, which this machine lacks;"
                        " generate it here and run it there\n", p.name, src.target, src.cpu);
        cg_sources_free(&src);
        *status = EXIT_BAD_INPUT;
        return 1;
    }
    double t0 = seconds();
    cg_jit *jit = NULL;
    cg_so *so = NULL;
    int use_cc = c->use_cc || !src.tinycc;
    if (use_cc) {
        char flags[256];
        snprintf(flags, sizeof flags, "-std=c99 -O2 %s", src.cflags);
        so = cg_cc_build(src.c, NULL, flags, err, sizeof err);
    } else {
        jit = cg_jit_compile(src.c, p.name, err, sizeof err);
    }
    double build_ms = (seconds() - t0) * 1e3;

    cg_conv_fn fn;
    cg_pack_fn pack;
    cg_run_fn run;
    void *sym[3] = { kernel_symbol(jit, so, p.name, ""), kernel_symbol(jit, so, p.name, "_pack"),
                     kernel_symbol(jit, so, p.name, "_run") };
    memcpy(&fn, &sym[0], sizeof fn);
    memcpy(&pack, &sym[1], sizeof pack);
    memcpy(&run, &sym[2], sizeof run);

    int failed = 1;
    cg_compare r, rp;
    if (src.baked && (jit || so)) {
        failed = check_baked(g, i, &p, &src, sym[0], c->seed, use_cc, build_ms, status);
    } else if (!jit && !so) {
        printf("%s: FAIL: the generated code did not build:\n%s\n", p.name, err);
    } else if (!fn || !pack || !run) {
        printf("%s: FAIL: the generated code lacks %s, %s_pack or %s_run\n", p.name, p.name, p.name, p.name);
    } else if (cg_verify(&p, fn, c->seed, &r) != 0 ||
               cg_verify_packed(&p, pack, run, src.packed_size, c->seed, &rp) != 0) {
        printf("%s: FAIL: out of memory\n", p.name);
    } else {
        int plain_failed = r.failures != 0, packed_failed = rp.failures != 0;
        merge_compare(&r, &rp);
        failed = plain_failed || packed_failed;
        printf("%s: max abs error %.3g, max rel error %.3g (%s, %s build %.1f ms): %s\n",
               p.name, r.max_abs, r.max_rel, src.target, use_cc ? "cc" : "tcc", build_ms,
               failed ? "FAIL" : "PASS");
        if (failed)
            printf("%s:   %zu outputs beyond tolerance (%s); worst at flat index %zu (%.3g x its tolerance)\n",
                   p.name, r.failures,
                   plain_failed && packed_failed ? "plain and packed entries"
                   : plain_failed ? "plain entry" : "packed entry",
                   r.worst, r.worst_ratio);
    }
    cg_sources_free(&src);
    cg_jit_free(jit);
    cg_so_free(so);
    return failed;
}

/* Everything check_network builds and frees for one network. */
struct net_build {
    cg_network net;
    cg_conv *params;
    cg_sources *src;          /* one per layer, then the network's own */
    float **weights, **bias;
    cg_net_layer *layers;
    const char **texts, **names;
};

static void net_build_free(struct net_build *b)
{
    for (int i = 0; b->src && i <= b->net.count; ++i)
        cg_sources_free(&b->src[i]);
    for (int i = 0; b->weights && i < b->net.count; ++i) {
        free(b->weights[i]);
        free(b->bias[i]);
    }
    free(b->params);
    free(b->src);
    free(b->weights);
    free(b->bias);
    free(b->layers);
    free(b->texts);
    free(b->names);
    cg_network_free(&b->net);
}

/* Build network k with its layers into one program, run it and compare
 * its output with the reference applied layer by layer; prints the
 * network's line. Returns 1 if it failed. */
static int check_network(const struct cli *c, cg_gen *g, int k, int *status)
{
    char err[ERRLEN], flags[1024] = "-std=c99 -O2";
    struct net_build b = { 0 };
    int rc = cg_gen_network(g, k, &b.net, err, sizeof err), n = b.net.count;
    int tinycc = !c->use_cc, failed = 1;
    if (rc == CG_OK) {
        b.params = calloc((size_t)n, sizeof *b.params);
        b.src = calloc((size_t)n + 1, sizeof *b.src);
        b.weights = calloc((size_t)n, sizeof *b.weights);
        b.bias = calloc((size_t)n, sizeof *b.bias);
        b.layers = calloc((size_t)n, sizeof *b.layers);
        b.texts = calloc((size_t)n + 1, sizeof *b.texts);
        b.names = calloc((size_t)n + 1, sizeof *b.names);
        if (!b.params || !b.src || !b.weights || !b.bias || !b.layers || !b.texts || !b.names) {
            snprintf(err, sizeof err, "out of memory");
            rc = CG_ERR_INTERNAL;
        }
    }
    for (int i = 0; i < n && rc == CG_OK; ++i) {
        size_t nw, nb;
        int l = b.net.layers[i];
        rc = cg_gen_params(g, l, &b.params[i], err, sizeof err);
        if (rc == CG_OK)
            rc = cg_gen_emit(g, l, &c->gen, &b.src[i], err, sizeof err);
        if (rc == CG_OK)
            rc = cg_gen_baked(g, l, &b.weights[i], &nw, &b.bias[i], &nb, err, sizeof err);
        if (rc != CG_OK)
            break;
        if (!b.src[i].runs_here) {
            fprintf(stderr, "convgen check: %s: target %s needs a CPU with %s, which this machine lacks;"
                            " generate it here and run it there\n", b.params[i].name,
                    b.src[i].target, b.src[i].cpu);
            net_build_free(&b);
            *status = EXIT_BAD_INPUT;
            return 1;
        }
        b.layers[i] = (cg_net_layer){ &b.params[i], NULL, b.weights[i], b.bias[i] };
        b.texts[i] = b.src[i].c;
        b.names[i] = b.params[i].name;
        tinycc = tinycc && b.src[i].tinycc;
        if (b.src[i].cflags[0] && !strstr(flags, b.src[i].cflags))
            snprintf(flags + strlen(flags), sizeof flags - strlen(flags), " %s", b.src[i].cflags);
    }
    if (rc == CG_OK)
        rc = cg_gen_network_emit(g, k, &b.src[n], err, sizeof err);
    if (rc != CG_OK) {
        net_build_free(&b);
        *status = report(rc, err);
        return 1;
    }
    b.texts[n] = b.src[n].c;
    b.names[n] = b.net.name;

    double t0 = seconds();
    cg_jit *jit = tinycc ? cg_jit_compile_units(b.texts, b.names, n + 1, err, sizeof err) : NULL;
    cg_so *so = tinycc ? NULL : cg_cc_build_units(b.texts, b.names, n + 1, NULL, flags, err, sizeof err);
    double build_ms = (seconds() - t0) * 1e3;
    /* The network's function, and each layer's own entry. */
    void *sym = kernel_symbol(jit, so, b.net.name, "");
    const char *missing = sym ? NULL : b.net.name;
    for (int i = 0; i < n && (jit || so); ++i) {
        void *s = kernel_symbol(jit, so, b.params[i].name, "");
        memcpy(&b.layers[i].fn, &s, sizeof s);
        if (!s)
            missing = b.params[i].name;
    }
    cg_net_fn fn;
    memcpy(&fn, &sym, sizeof fn);
    cg_compare r;
    int worst;
    size_t mismatches;
    if (!jit && !so) {
        printf("%s: FAIL: the generated network did not build:\n%s\n", b.net.name, err);
    } else if (missing) {
        printf("%s: FAIL: the generated code lacks %s\n", b.net.name, missing);
    } else if (cg_verify_network(b.layers, n, fn, b.net.scratch_size, c->seed, &r, &worst,
                                 &mismatches) != 0) {
        printf("%s: FAIL: out of memory\n", b.net.name);
    } else {
        failed = r.failures != 0 || mismatches != 0;
        printf("%s: network of %d layers: max abs error %.3g, max rel error %.3g layer by layer; "
               "output %s the layers' (%s build %.1f ms): %s\n",
               b.net.name, n, r.max_abs, r.max_rel, mismatches ? "DIFFERS FROM" : "identical to",
               tinycc ? "tcc" : "cc", build_ms, failed ? "FAIL" : "PASS");
        if (r.failures)
            printf("%s:   layer %s: %zu outputs beyond tolerance; worst at flat index %zu (%.3g x its tolerance)\n",
                   b.net.name, b.params[worst].name, r.failures, r.worst, r.worst_ratio);
        if (mismatches)
            printf("%s:   %zu of %zu outputs differ from running its layers one by one:"
                   " the memory plan or the calls are wrong\n",
                   b.net.name, mismatches, b.net.output_size);
    }
    cg_jit_free(jit);
    cg_so_free(so);
    net_build_free(&b);
    return failed;
}

static int cmd_check(const struct cli *c, cg_gen *g)
{
    int n = cg_gen_count(g), nets = cg_gen_network_count(g), failed = 0, status = 0;
    for (int i = 0; i < n && status == 0; ++i)
        failed += check_layer(c, g, i, &status);
    int failed_layers = failed;
    for (int k = 0; k < nets && status == 0; ++k)
        failed += check_network(c, g, k, &status);
    if (status)
        return status;
    fflush(stdout);
    if (failed_layers)
        fprintf(stderr, "convgen check: %d of %d layers FAILED\n", failed_layers, n);
    if (failed > failed_layers)
        fprintf(stderr, "convgen check: %d of %d networks FAILED\n", failed - failed_layers, nets);
    return failed ? EXIT_CHECK_FAILED : 0;
}

static int cmd_info(const struct cli *c, cg_gen *g)
{
    char err[ERRLEN];
    int n = cg_gen_count(g);
    for (int i = 0; i < n; ++i) {
        char *text;
        int rc = cg_gen_info(g, i, &c->gen, &text, err, sizeof err);
        if (rc != CG_OK)
            return report(rc, err);
        printf("%s%s", i ? "\n" : "", text);
        free(text);
    }
    for (int k = 0; k < cg_gen_network_count(g); ++k) {
        char *text;
        int rc = cg_gen_network_info(g, k, &text, err, sizeof err);
        if (rc != CG_OK)
            return report(rc, err);
        printf("\n%s", text);
        free(text);
    }
    return 0;
}

/* One timed call of a packed entry, for cg_time_median. */
struct run_call {
    cg_run_fn run;
    const float *input, *packed;
    float *output;
};

static void call_run(void *arg)
{
    struct run_call *c = arg;
    c->run(c->input, c->packed, c->output);
}

/* n floats at a 64-byte boundary, as the benchmark allocates and the
 * README advises: malloc puts large blocks 16 bytes past a page start,
 * where every zmm vector straddles two cache lines (resnet50_pw1's tiled
 * kernel ran 7% slower so), which would bias the choice between kernels. */
static float *aligned_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* One candidate kernel of a layer, built and checked, for timing. */
struct candidate {
    cg_so *so;
    cg_pack_fn pack;
    cg_run_fn run;
    size_t packed_size;
    double first;          /* seconds per call in the first pass; <= 0: not timed */
    double final;          /* in the final round; 0: not a finalist */
};

/* Whether x ranks ahead of y: finalists by their final medians, ahead of
 * the others by their first-pass times. */
static int ranks_ahead(const struct candidate *x, const struct candidate *y)
{
    if ((x->final > 0) != (y->final > 0))
        return x->final > 0;
    return x->final > 0 ? x->final < y->final : x->first < y->first;
}

/* The buffers every candidate of a layer runs on: the same random input,
 * weights and bias, each at a 64-byte boundary. */
struct layer_data {
    float *in, *w, *b, *out;
};

static void layer_data_free(struct layer_data *d)
{
    free(d->in);
    free(d->w);
    free(d->b);
    free(d->out);
    *d = (struct layer_data){ NULL, NULL, NULL, NULL };
}

static int layer_data_make(struct layer_data *d, const cg_conv *p, uint64_t seed)
{
    d->in = aligned_floats(cg_conv_input_size(p));
    d->w = aligned_floats(cg_conv_weights_size(p));
    d->b = aligned_floats(cg_conv_bias_size(p));
    d->out = aligned_floats(cg_conv_output_size(p));
    if (!d->in || !d->w || !d->b || !d->out) {
        layer_data_free(d);
        return -1;
    }
    cg_rng rng;
    cg_rng_seed(&rng, seed);
    cg_fill_uniform(d->in, cg_conv_input_size(p), &rng, -1.0f, 1.0f);
    cg_fill_uniform(d->w, cg_conv_weights_size(p), &rng, -1.0f, 1.0f);
    cg_fill_uniform(d->b, cg_conv_bias_size(p), &rng, -1.0f, 1.0f);
    return 0;
}

/* Build candidate k of layer i and check it against the reference. Returns
 * 0 with *cand filled, or -1 (reason printed). */
static int build_candidate(const struct cli *c, cg_gen *g, int i, int k, const cg_conv *p,
                           struct candidate *cand)
{
    char err[ERRLEN], flags[256];
    cg_gen_options opts = c->gen;
    opts.variant = k;
    cg_sources src;
    if (cg_gen_emit(g, i, &opts, &src, err, sizeof err) != CG_OK) {
        printf("not generated: %s\n", err);
        return -1;
    }
    snprintf(flags, sizeof flags, "-std=c99 -O3 -march=native %s", src.cflags);
    cg_so *so = cg_cc_build(src.c, NULL, flags, err, sizeof err);
    size_t packed_size = src.packed_size;
    cg_sources_free(&src);
    if (!so) {
        printf("did not build: %s\n", err);
        return -1;
    }
    char sym[96];
    void *ps, *rs;
    snprintf(sym, sizeof sym, "%s_pack", p->name);
    ps = cg_so_symbol(so, sym);
    snprintf(sym, sizeof sym, "%s_run", p->name);
    rs = cg_so_symbol(so, sym);
    *cand = (struct candidate){ so, NULL, NULL, packed_size, 0, 0 };
    memcpy(&cand->pack, &ps, sizeof cand->pack);
    memcpy(&cand->run, &rs, sizeof cand->run);
    cg_compare r;
    if (!cand->pack || !cand->run || cg_verify_packed(p, cand->pack, cand->run, packed_size, c->seed, &r) != 0) {
        printf("could not run\n");
    } else if (r.failures) {
        printf("FAIL: disagrees with the reference (skipped)\n");
    } else {
        return 0;
    }
    cg_so_free(so);
    cand->so = NULL;
    return -1;
}

/* Seconds per call of cand's packed entry on d: the median of samples
 * samples of at least 20 ms each, after a warm-up. Negative if out of
 * memory. */
static double time_candidate(const struct candidate *cand, const cg_conv *p,
                             const struct layer_data *d, int samples)
{
    float *packed = aligned_floats(cand->packed_size);
    if (!packed)
        return -1;
    cand->pack(d->w, p->bias ? d->b : NULL, packed);
    struct run_call call = { cand->run, d->in, packed, d->out };
    double t = cg_time_median(call_run, &call, samples, 0.02);
    free(packed);
    return t;
}

/*
 * tune's final round: the candidates within FINAL_MARGIN of the fastest
 * of the first pass (at most FINAL_MAX, fastest first) are timed again,
 * one sample each in turn over FINAL_ROUNDS rounds, and ranked by their
 * medians. Timed one after another, candidates a few percent apart swap
 * places from run to run as the machine's load drifts (resnet50_pw1's
 * first four did); in turns, the drift falls on all of them alike.
 */
enum { FINAL_MAX = 6, FINAL_ROUNDS = 9 };
#define FINAL_MARGIN 1.10

/* Run the final round over cands[0..count) (first-pass times in .first),
 * leaving each finalist's median in .final. Returns the number of
 * finalists (none when fewer than two qualify), or -1 if out of memory. */
static int final_round(struct candidate *cands, int count, const cg_conv *p,
                       const struct layer_data *d, char *const *names, double flops)
{
    int order[FINAL_MAX], n = 0;
    double best = 0;
    for (int k = 0; k < count; ++k)
        if (cands[k].first > 0 && (best == 0 || cands[k].first < best))
            best = cands[k].first;
    /* The fastest FINAL_MAX within the margin, fastest first. */
    for (int k = 0; k < count; ++k) {
        double t = cands[k].first;
        if (t <= 0 || t > best * FINAL_MARGIN || (n == FINAL_MAX && cands[order[n - 1]].first <= t))
            continue;
        int at = n < FINAL_MAX ? n++ : FINAL_MAX - 1;
        for (; at > 0 && cands[order[at - 1]].first > t; --at)
            order[at] = order[at - 1];
        order[at] = k;
    }
    if (n < 2)
        return 0;
    double samples[FINAL_MAX][FINAL_ROUNDS];
    for (int r = 0; r < FINAL_ROUNDS; ++r)
        for (int j = 0; j < n; ++j)
            if ((samples[j][r] = time_candidate(&cands[order[j]], p, d, 1)) < 0)
                return -1;
    printf("  final round: the %d within %.0f%% of the fastest, in turns over %d rounds\n", n,
           (FINAL_MARGIN - 1) * 100, FINAL_ROUNDS);
    for (int j = 0; j < n; ++j) {
        struct candidate *cand = &cands[order[j]];
        cand->final = cg_median(samples[j], FINAL_ROUNDS);
        printf("  %-28s %10.1f us %8.1f GFLOP/s\n", names[order[j]], cand->final * 1e6,
               flops / cand->final * 1e-9);
    }
    return n;
}

static int cmd_tune(const struct cli *c, cg_gen *g)
{
    char err[ERRLEN];
    int status = 0;
    cg_outset *set = cg_outset_new();
    if (!set)
        return report(CG_ERR_INTERNAL, "out of memory");
    for (int s = 0; s < c->nspecs && status == 0; ++s) {
        size_t len = 0, cap = 4096;
        char *text = malloc(cap);
        if (!text) {
            status = report(CG_ERR_INTERNAL, "out of memory");
            break;
        }
        len = (size_t)snprintf(text, cap, "-- Written by convgen tune: the fastest variants measured on this machine.\n");
        for (int i = c->spec_first[s]; i < c->spec_first[s + 1] && status == 0; ++i) {
            cg_conv p;
            char **names;
            cg_gen_new_run_budget(g);
            int count, rc = cg_gen_params(g, i, &p, err, sizeof err);
            if (rc == CG_OK)
                rc = cg_gen_candidates(g, i, &c->gen, &names, &count, err, sizeof err);
            if (rc != CG_OK) {
                status = report(rc, err);
                break;
            }
            double flops = 2.0 * cg_conv_output_size(&p) * cg_conv_reduction_length(&p);
            struct candidate *cands = calloc((size_t)count, sizeof *cands);
            struct layer_data d = { NULL, NULL, NULL, NULL };
            if (!cands || layer_data_make(&d, &p, c->seed) != 0)
                status = report(CG_ERR_INTERNAL, "out of memory");
            else
                printf("%s: %d candidates\n", p.name, count);
            for (int k = 0; k < count && status == 0; ++k) {
                printf("  %-28s ", names[k]);
                fflush(stdout);
                if (build_candidate(c, g, i, k + 1, &p, &cands[k]) != 0)
                    continue;
                double t = cands[k].first = time_candidate(&cands[k], &p, &d, 7);
                if (t > 0)
                    printf("%10.1f us %8.1f GFLOP/s\n", t * 1e6, flops / t * 1e-9);
                else
                    printf("out of memory\n");
            }
            if (status == 0 && final_round(cands, count, &p, &d, names, flops) < 0)
                status = report(CG_ERR_INTERNAL, "out of memory");
            /* best and plain (the fastest candidate the plain entry can
             * run: tiled, or the whole plane, which reads the weights as
             * they are too) count from 1; 0: none. */
            int best = 0, plain = 0;
            for (int k = 0; k < count && status == 0; ++k) {
                if (cands[k].first <= 0)
                    continue;
                if (!best || ranks_ahead(&cands[k], &cands[best - 1]))
                    best = k + 1;
                if ((strncmp(names[k], "tiled", 5) == 0 || strcmp(names[k], "planes") == 0)
                    && (!plain || ranks_ahead(&cands[k], &cands[plain - 1])))
                    plain = k + 1;
            }
            for (int k = 0; cands && k < count; ++k)
                cg_so_free(cands[k].so);
            free(cands);
            layer_data_free(&d);
            if (status != 0) {
                /* reported */
            } else if (best) {
                char *line;
                printf("  fastest: %s\n", names[best - 1]);
                if (plain)
                    printf("  plain entry: %s\n", names[plain - 1]);
                if (cg_gen_tuned_record(g, i, &c->gen, best, plain, &line, err, sizeof err) != CG_OK) {
                    status = report(CG_ERR_INTERNAL, err);
                } else {
                    size_t n = strlen(line);
                    while (len + n + 1 > cap)
                        text = realloc(text, cap *= 2);
                    if (!text) {
                        status = report(CG_ERR_INTERNAL, "out of memory");
                    } else {
                        memcpy(text + len, line, n + 1);
                        len += n;
                    }
                    free(line);
                }
            } else {
                fprintf(stderr, "convgen tune: %s: no candidate could be timed\n", p.name);
                status = EXIT_CHECK_FAILED;
            }
            for (int k = 0; k < count; ++k)
                free(names[k]);
            free(names);
        }
        if (status == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s.tuned", c->specs[s]);
            if (cg_outset_add(set, path, text, len, err, sizeof err) != 0)
                status = report(CG_ERR_INPUT, err);
        }
        free(text);
    }
    if (status == 0 && cg_outset_commit(set, err, sizeof err) != 0)
        status = report(CG_ERR_INPUT, err);
    if (status == 0)
        for (int s = 0; s < c->nspecs; ++s)
            printf("wrote %s.tuned\n", c->specs[s]);
    cg_outset_free(set);
    return status;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name, *usage;
        int (*run)(const struct cli *, cg_gen *);
    } commands[] = {
        { "generate", usage_generate, cmd_generate },
        { "check", usage_check, cmd_check },
        { "info", usage_info, cmd_info },
        { "tune", usage_tune, cmd_tune },
    };

    if (argc < 2)
        return fputs(usage_main, stderr), EXIT_BAD_INPUT;
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
        return fputs(usage_main, stdout), 0;
    if (strcmp(argv[1], "--version") == 0)
        return printf("convgen %s\n", CONVGEN_VERSION), 0;

    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; ++k) {
        if (strcmp(argv[1], commands[k].name) != 0)
            continue;
        struct cli c = { .command = commands[k].name };
        int status = parse_args(argc, argv, &c);
        if (status == 0 && c.help) {
            printf("%s%s", commands[k].usage, usage_common);
        } else if (status == 0) {
            cg_gen *g = NULL;
            status = load_specs(&c, &g);
            if (status == 0)
                status = commands[k].run(&c, g);
            cg_gen_free(g);
        }
        free(c.specs);
        free(c.spec_first);
        fflush(stdout);
        return status;
    }
    return usage_error(NULL, "unknown command '%s'", argv[1]);
}
