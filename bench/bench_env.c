/* bench_env.c - see bench_env.h. */
#define _GNU_SOURCE   /* sched_setaffinity, CPU_* */
#include "bench_env.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_one(const char *name)
{
    const char *v = getenv(name);
    return v && strcmp(v, "1") == 0;
}

void bench_env_single_thread(char **argv, char *msg, size_t len)
{
    msg[0] = '\0';
    if (is_one("OMP_NUM_THREADS") && is_one("OPENBLAS_NUM_THREADS") &&
        !getenv("OPENBLAS_CORETYPE") && !getenv("OPENBLAS_L2_SIZE")) {
        unsetenv("CG_BENCH_REEXEC");
        return;
    }
    if (getenv("CG_BENCH_REEXEC")) {   /* already tried once: do not loop */
        snprintf(msg, len, "could not fix the thread environment");
        return;
    }
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("OPENBLAS_L2_SIZE");
    setenv("CG_BENCH_REEXEC", "1", 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    snprintf(msg, len, "re-exec with one thread failed; OMP/OpenBLAS may use several threads");
}

int bench_env_pin(char *msg, size_t len)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        snprintf(msg, len, "sched_getaffinity failed");
        return -1;
    }
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &set))
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) {
            snprintf(msg, len, "sched_setaffinity(%d) failed", cpu);
            return -1;
        }
        return cpu;
    }
    snprintf(msg, len, "no CPU in the affinity mask");
    return -1;
}

void bench_env_cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + strspn(v + 1, " \t");
                v[strcspn(v, "\n")] = '\0';
                snprintf(buf, len, "%s", v);
            }
            break;
        }
    }
    fclose(f);
}

void bench_env_describe(char *buf, size_t len)
{
    const char *omp = getenv("OMP_NUM_THREADS"), *blas = getenv("OPENBLAS_NUM_THREADS");
    const char *core = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    snprintf(buf, len, "OMP_NUM_THREADS=%s, OPENBLAS_NUM_THREADS=%s%s%s%s%s", omp ? omp : "(unset)",
             blas ? blas : "(unset)", core ? ", OPENBLAS_CORETYPE=" : "", core ? core : "",
             l2 ? ", OPENBLAS_L2_SIZE=" : "", l2 ? l2 : "");
}
