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
