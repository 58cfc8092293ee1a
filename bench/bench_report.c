/* bench_report.c - see bench_report.h. */
#include "bench_report.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

/* ---- numbers ---- */

double bench_speedup(const bench_row *r, int k)
{
    const bench_cell *c = &r->cell[0], *p = &r->cell[k];
    if (c->status != BENCH_OK || p->status != BENCH_OK || c->timing.median <= 0.0)
        return 0.0;
    return p->timing.median / c->timing.median;
}

double bench_geomean_speedup(const bench_run *run, int k, double max_mflop, int *count)
{
    double log_sum = 0.0;
    int n = 0;
    for (int i = 0; i < run->nrows; ++i) {
        const bench_row *r = &run->rows[i];
        double s = bench_speedup(r, k);
        if (s <= 0.0 || (max_mflop > 0.0 && r->flops / 1e6 >= max_mflop))
            continue;
        log_sum += log(s);
        ++n;
    }
    *count = n;
    return n ? exp(log_sum / n) : 0.0;
}

/* The machine's FMA peak: the zmm one where the CPU has AVX-512 (convgen's
 * avx512 target and the peers use it), else the ymm one. %peak is
 * relative to it. */
static double machine_peak(const bench_run *run)
{
    return run->peak512 > run->peak ? run->peak512 : run->peak;
}

static double gflops(const bench_row *r, int k)
{
    const bench_cell *c = &r->cell[k];
    return c->status == BENCH_OK && c->timing.median > 0.0 ? r->flops / c->timing.median / 1e9 : 0.0;
}

/* The layer's name as in the suite (without the bench_ prefix). */
static const char *short_name(const bench_layer *l)
{
    return strncmp(l->name, "bench_", 6) == 0 ? l->name + 6 : l->name;
}

/* ---- a grid of strings, printed aligned or as Markdown ---- */

#define CELL 48

typedef struct grid {
    int rows, cols;
    char *cells;     /* rows * cols * CELL */
    int rule_after;  /* a separator line after this row (-1: none) */
} grid;

static int grid_init(grid *g, int rows, int cols)
{
    g->rows = rows;
    g->cols = cols;
    g->rule_after = -1;
    g->cells = calloc((size_t)rows * cols, CELL);
    return g->cells ? 0 : -1;
}

static void grid_set(grid *g, int r, int c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->cells + ((size_t)r * g->cols + c) * CELL, CELL, fmt, ap);
    va_end(ap);
}

static const char *grid_get(const grid *g, int r, int c)
{
    return g->cells + ((size_t)r * g->cols + c) * CELL;
}

/* Column 0 left-aligned, the others right-aligned; a rule under the
 * header row and after rule_after. */
static void grid_print(FILE *f, const grid *g, int markdown)
{
    int w[64] = { 0 };
    for (int c = 0; c < g->cols && c < 64; ++c)
        for (int r = 0; r < g->rows; ++r) {
            int n = (int)strlen(grid_get(g, r, c));
            if (n > w[c])
                w[c] = n;
        }
    for (int r = 0; r < g->rows; ++r) {
        for (int c = 0; c < g->cols; ++c) {
            const char *s = grid_get(g, r, c);
            if (markdown)
                fprintf(f, c ? " %*s |" : "| %-*s |", w[c], s);
            else
                fprintf(f, c ? "  %*s" : "%-*s", w[c], s);
        }
        fputc('\n', f);
        if (r == 0 || (!markdown && r == g->rule_after)) {
            for (int c = 0; c < g->cols; ++c) {
                if (markdown) {
                    fputs(c ? " " : "| ", f);
                    for (int i = 0; i < w[c] - 1; ++i)
                        fputc('-', f);
                    fputs(c ? ":" : "-", f);
                    fputs(" |", f);
                } else {
                    fputs(c ? "  " : "", f);
                    for (int i = 0; i < w[c]; ++i)
                        fputc('-', f);
                }
            }
            fputc('\n', f);
        }
    }
}

/* ---- the tables ---- */

static const char *cell_word(const bench_cell *c)
{
    return c->status == BENCH_WRONG ? "WRONG" : "n/a";
}

static void table_times(FILE *f, const bench_run *run, int md)
{
    grid g;
    if (grid_init(&g, run->nrows + 1, run->npeers + 2))
        return;
    grid_set(&g, 0, 0, "layer");
    grid_set(&g, 0, 1, "MFLOP");
    for (int k = 0; k < run->npeers; ++k)
        grid_set(&g, 0, k + 2, "%s", run->peers[k]->name);
    for (int i = 0; i < run->nrows; ++i) {
        const bench_row *r = &run->rows[i];
        grid_set(&g, i + 1, 0, "%s", short_name(r->layer));
        grid_set(&g, i + 1, 1, "%.4g", r->flops / 1e6);
        for (int k = 0; k < run->npeers; ++k) {
            const bench_cell *c = &r->cell[k];
            char t[32];
            if (c->status == BENCH_OK)
                grid_set(&g, i + 1, k + 2, "%s%s", bench_format_time(c->timing.median, t, sizeof t),
                         c->timing.reduced ? "*" : "");
            else
                grid_set(&g, i + 1, k + 2, "%s", cell_word(c));
        }
    }
    grid_print(f, &g, md);
    free(g.cells);
}

static void table_gflops(FILE *f, const bench_run *run, int md)
{
    grid g;
    if (grid_init(&g, run->nrows + 1, run->npeers + 2))
        return;
    grid_set(&g, 0, 0, "layer");
    for (int k = 0; k < run->npeers; ++k)
        grid_set(&g, 0, k + 1, "%s", run->peers[k]->name);
    grid_set(&g, 0, run->npeers + 1, "%s %%peak", run->peers[0]->name);
    for (int i = 0; i < run->nrows; ++i) {
        const bench_row *r = &run->rows[i];
        grid_set(&g, i + 1, 0, "%s", short_name(r->layer));
        for (int k = 0; k < run->npeers; ++k) {
            const bench_cell *c = &r->cell[k];
            if (c->status == BENCH_OK)
                grid_set(&g, i + 1, k + 1, "%.2f%s", gflops(r, k), c->timing.reduced ? "*" : "");
            else
                grid_set(&g, i + 1, k + 1, "%s", cell_word(c));
        }
        if (r->cell[0].status == BENCH_OK && machine_peak(run) > 0.0)
            grid_set(&g, i + 1, run->npeers + 1, "%.1f%%", 100.0 * gflops(r, 0) / machine_peak(run));
        else
            grid_set(&g, i + 1, run->npeers + 1, "-");
    }
    grid_print(f, &g, md);
    free(g.cells);
}

static void table_speedups(FILE *f, const bench_run *run, int md)
{
    grid g;
    if (grid_init(&g, run->nrows + 3, run->npeers))
        return;
    g.rule_after = run->nrows;
    grid_set(&g, 0, 0, "layer");
    for (int k = 1; k < run->npeers; ++k)
        grid_set(&g, 0, k, "vs %s", run->peers[k]->name);
    for (int i = 0; i < run->nrows; ++i) {
        const bench_row *r = &run->rows[i];
        grid_set(&g, i + 1, 0, "%s", short_name(r->layer));
        for (int k = 1; k < run->npeers; ++k) {
            double s = bench_speedup(r, k);
            if (s > 0.0)
                grid_set(&g, i + 1, k, "%.2fx", s);
            else
                grid_set(&g, i + 1, k, "-");
        }
    }
    for (int m = 0; m < 2; ++m) {
        int row = run->nrows + 1 + m;
        double limit = m ? BENCH_SMALL_MFLOP : 0.0;
        if (md)
            grid_set(&g, row, 0, m ? "**geomean < %g MFLOP**" : "**geomean (all)**", limit);
        else
            grid_set(&g, row, 0, m ? "geomean < %g MFLOP" : "geomean (all)", limit);
        for (int k = 1; k < run->npeers; ++k) {
            int n;
            double s = bench_geomean_speedup(run, k, limit, &n);
            if (n == 0)
                grid_set(&g, row, k, "-");
            else
                grid_set(&g, row, k, "%.2fx (%d)", s, n);
        }
    }
    grid_print(f, &g, md);
    free(g.cells);
}

/* Peers that name their implementation on some layer. */
static void table_impls(FILE *f, const bench_run *run, int md)
{
    int cols[BENCH_MAX_PEERS], n = 0;
    for (int k = 0; k < run->npeers; ++k)
        for (int i = 0; i < run->nrows; ++i)
            if (run->rows[i].cell[k].impl[0]) {
                cols[n++] = k;
                break;
            }
    if (n == 0)
        return;
    grid g;
    if (grid_init(&g, run->nrows + 1, n + 1))
        return;
    grid_set(&g, 0, 0, "layer");
    for (int j = 0; j < n; ++j)
        grid_set(&g, 0, j + 1, "%s", run->peers[cols[j]]->name);
    for (int i = 0; i < run->nrows; ++i) {
        grid_set(&g, i + 1, 0, "%s", short_name(run->rows[i].layer));
        for (int j = 0; j < n; ++j) {
            const char *s = run->rows[i].cell[cols[j]].impl;
            grid_set(&g, i + 1, j + 1, "%s", s[0] ? s : "-");
        }
    }
    grid_print(f, &g, md);
    free(g.cells);
}

static int any_reduced(const bench_run *run)
{
    for (int i = 0; i < run->nrows; ++i)
        for (int k = 0; k < run->npeers; ++k)
            if (run->rows[i].cell[k].status == BENCH_OK && run->rows[i].cell[k].timing.reduced)
                return 1;
    return 0;
}

static void problems(FILE *f, const bench_run *run, const char *bullet)
{
    int any = 0;
    for (int i = 0; i < run->nrows; ++i)
        for (int k = 0; k < run->npeers; ++k) {
            const bench_cell *c = &run->rows[i].cell[k];
            if (c->status == BENCH_OK)
                continue;
            fprintf(f, "%s%s on %s: %s: %s\n", bullet, run->peers[k]->name,
                    short_name(run->rows[i].layer), c->status == BENCH_WRONG ? "WRONG" : "n/a", c->note);
            any = 1;
        }
    if (!any)
        fprintf(f, "%snone: every system agreed with the reference on every layer\n", bullet);
}

static void reduced_list(FILE *f, const bench_run *run, const char *bullet)
{
    for (int k = 0; k < run->npeers; ++k) {
        int first = 1;
        for (int i = 0; i < run->nrows; ++i) {
            const bench_cell *c = &run->rows[i].cell[k];
            if (c->status != BENCH_OK || !c->timing.reduced)
                continue;
            if (first)
                fprintf(f, "%s%s:", bullet, run->peers[k]->name);
            fprintf(f, "%s %s (%d)", first ? "" : ",", short_name(run->rows[i].layer), c->timing.samples);
            first = 0;
        }
        if (!first)
            fputc('\n', f);
    }
}

static void header(FILE *f, const bench_run *run, int md)
{
    const char *b = md ? "- " : "  ";
    if (md)
        fprintf(f, "# convgen benchmark\n\n");
    else
        fprintf(f, "convgen benchmark\n\n");
    fprintf(f, "%sstarted %s; took %.0f s\n", b, run->started, run->wall);
    if (run->pinned_cpu >= 0)
        fprintf(f, "%sCPU: %s; pinned to CPU %d; one thread (%s)\n", b, run->cpu, run->pinned_cpu, run->threads);
    else
        fprintf(f, "%sCPU: %s; NOT pinned; one thread (%s)\n", b, run->cpu, run->threads);
    if (run->peak > 0.0)
        fprintf(f, "%sFMA peak (12 independent ymm FMA chains, -O2 -mavx2 -mfma): %.1f GFLOP/s at the start, "
                   "%.1f at the end (medians; a gap means a busy machine); "
                   "best sample %.1f\n",
                b, run->peak_start, run->peak_end, run->peak_best);
    else
        fprintf(f, "%sFMA peak: not measured (no AVX2/FMA)\n", b);
    if (run->peak512 > 0.0)
        fprintf(f, "%sthis CPU has AVX-512: zmm FMA peak %.1f GFLOP/s at the start, %.1f at the end, best %.1f; "
                   "%%peak is relative to the higher zmm median, the machine's real peak\n",
                b, run->peak512_start, run->peak512_end, run->peak512_best);
    fprintf(f, "%sconvgen target: %s\n", b, run->target);
    fprintf(f, "%slibraries: %s\n", b, run->libs);
    fprintf(f, "%stiming: median time per call after warm-up; samples of >= %.0f us, about %.2f s "
               "per system and layer in %d interleaved rounds; FLOPs = 2*N*F*OH*OW*(C/groups)*KH*KW\n",
            b, run->plan.min_sample * 1e6, run->plan.target, run->plan.rounds);
    fprintf(f, "%ssystems:\n", b);
    for (int k = 0; k < run->npeers; ++k)
        fprintf(f, "%s%s: %s\n", md ? "  - " : "    ", run->peers[k]->name, run->peers[k]->about);
}

static void footer(FILE *f, const bench_run *run, int md)
{
    if (any_reduced(run)) {
        fprintf(f, "\n*: a slow call, timed with fewer than %d samples (the median of those taken "
                   "within about %.0f s; samples in parentheses):\n%s",
                run->plan.min_samples, run->plan.cap, md ? "\n" : "");
        reduced_list(f, run, md ? "- " : "  ");
    }
    fprintf(f, md ? "\n## Problems\n\n" : "\nProblems (a system that disagrees with the reference is not timed):\n");
    problems(f, run, md ? "- " : "  ");
}

void bench_report_text(FILE *f, const bench_run *run)
{
    header(f, run, 0);
    fprintf(f, "\nTime per call (median)\n\n");
    table_times(f, run, 0);
    fprintf(f, "\nGFLOP/s (and convgen as a share of the FMA peak)\n\n");
    table_gflops(f, run, 0);
    fprintf(f, "\nSpeedup of convgen over each peer (peer time / convgen time; >1: convgen is faster;"
               " means over the layers in parentheses)\n\n");
    table_speedups(f, run, 0);
    fprintf(f, "\nImplementations the peers chose\n\n");
    table_impls(f, run, 0);
    footer(f, run, 0);
}

void bench_report_markdown(FILE *f, const bench_run *run)
{
    header(f, run, 1);
    fprintf(f, "\n## Time per call (median)\n\n");
    table_times(f, run, 1);
    fprintf(f, "\n## GFLOP/s (and convgen as a share of the FMA peak)\n\n");
    table_gflops(f, run, 1);
    fprintf(f, "\n## Speedup of convgen over each peer\n\npeer time / convgen time; > 1: convgen is faster;"
               " geometric means over the number of layers in parentheses.\n\n");
    table_speedups(f, run, 1);
    fprintf(f, "\n## Implementations the peers chose\n\n");
    table_impls(f, run, 1);
    footer(f, run, 1);
}

/* CSV: one row per layer; a number that does not exist is NaN, except
 * fma512_peak_gflops, 0 on a CPU without AVX-512. */
static void csv_word(FILE *f, const char *s)
{
    fputc(',', f);
    for (; *s; ++s)
        fputc(*s == ',' || *s == '\n' || *s == '"' ? ';' : *s, f);
}

void bench_report_csv(FILE *f, const bench_run *run)
{
    fprintf(f, "layer,kernel,mflop,N,C,H,W,F,KH,KW,stride_h,stride_w,pad_top,pad_bottom,pad_left,pad_right,"
               "groups,OH,OW");
    for (int k = 0; k < run->npeers; ++k) {
        const char *n = run->peers[k]->name;
        fprintf(f, ",%s_status,%s_time_s,%s_gflops,%s_p25_s,%s_p75_s,%s_samples,%s_batch,%s_max_abs_err,%s_impl",
                n, n, n, n, n, n, n, n, n);
    }
    fprintf(f, ",%s_pct_peak", run->peers[0]->name);
    for (int k = 1; k < run->npeers; ++k)
        fprintf(f, ",speedup_vs_%s", run->peers[k]->name);
    fprintf(f, ",fma_peak_gflops,fma512_peak_gflops\n");

    for (int i = 0; i < run->nrows; ++i) {
        const bench_row *r = &run->rows[i];
        const cg_conv *p = &r->layer->conv;
        fprintf(f, "%s,%s,%.6g,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d", short_name(r->layer),
                r->layer->name, r->flops / 1e6, p->batch, p->channels, p->height, p->width, p->filters,
                p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->pad_top, p->pad_bottom,
                p->pad_left, p->pad_right, p->groups, p->out_h, p->out_w);
        for (int k = 0; k < run->npeers; ++k) {
            const bench_cell *c = &r->cell[k];
            static const char *const words[] = { "ok", "wrong", "unavailable" };
            fprintf(f, ",%s", words[c->status]);
            if (c->status == BENCH_OK)
                fprintf(f, ",%.6g,%.6g,%.6g,%.6g,%d,%d", c->timing.median, gflops(r, k), c->timing.p25,
                        c->timing.p75, c->timing.samples, c->timing.batch);
            else
                fprintf(f, ",NaN,NaN,NaN,NaN,0,0");
            if (c->status == BENCH_UNAVAILABLE)
                fprintf(f, ",NaN");
            else
                fprintf(f, ",%.3g", c->max_abs_err);
            csv_word(f, c->impl);
        }
        if (r->cell[0].status == BENCH_OK && machine_peak(run) > 0.0)
            fprintf(f, ",%.4g", 100.0 * gflops(r, 0) / machine_peak(run));
        else
            fprintf(f, ",NaN");
        for (int k = 1; k < run->npeers; ++k) {
            double s = bench_speedup(r, k);
            if (s > 0.0)
                fprintf(f, ",%.4g", s);
            else
                fprintf(f, ",NaN");
        }
        if (run->peak > 0.0)
            fprintf(f, ",%.4g", run->peak);
        else
            fprintf(f, ",NaN");
        fprintf(f, ",%.4g\n", run->peak512);   /* 0: no AVX-512 */
    }
}
