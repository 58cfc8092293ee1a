/* cg_files.c - reading inputs, writing outputs all or nothing. */
#include "cg_files.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cg_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    return cg_read_file_max(path, SIZE_MAX, text, len, err, errlen);
}

int cg_read_file_max(const char *path, size_t max, char **text, size_t *len, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, used = 0;

    if (!f)
        goto fail;
    for (;;) {
        if (used > max) {
            snprintf(err, errlen, "cannot read '%s': larger than %zu bytes", path, max);
            fclose(f);
            free(buf);
            return -1;
        }
        if (cap - used < 4096) {
            cap = cap ? cap * 2 : 16384;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                errno = ENOMEM;
                goto fail;
            }
            buf = grown;
        }
        size_t n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (n == 0) {
            if (ferror(f))
                goto fail;
            break;
        }
    }
    if (cap == 0 && !(buf = malloc(1)))
        goto fail;
    fclose(f);
    buf[used] = '\0';
    *text = buf;
    *len = used;
    return 0;

fail:
    snprintf(err, errlen, "cannot read '%s': %s", path,
             errno == EISDIR ? "is a directory" : strerror(errno ? errno : EIO));
    if (f)
        fclose(f);
    free(buf);
    return -1;
}

int cg_is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

struct entry {
    char *path;
    char *tmp;      /* the new content until it is renamed into place */
    char *backup;   /* during commit: the file path held before, if any */
    int moved;      /* the backup was moved aside, not linked: path is gone */
};

struct cg_outset {
    struct entry *files;
    size_t count;
};

cg_outset *cg_outset_new(void)
{
    return calloc(1, sizeof(cg_outset));
}

/* Write all of data to fd and flush it to disk. */
static int write_fd(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return fsync(fd);
}

int cg_outset_add(cg_outset *set, const char *path, const char *data, size_t len,
                  char *err, size_t errlen)
{
    struct entry *grown = realloc(set->files, (set->count + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    set->files = grown;
    struct entry *e = &set->files[set->count];
    e->backup = NULL;
    e->moved = 0;
    size_t n = strlen(path) + 16;
    e->path = strdup(path);
    e->tmp = malloc(n);
    if (!e->path || !e->tmp) {
        free(e->path);
        free(e->tmp);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(e->tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(e->tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        free(e->path);
        free(e->tmp);
        return -1;
    }
    set->count++;   /* from here on, freeing the set removes e->tmp */

    mode_t mask = umask(0);
    umask(mask);
    int rc = fchmod(fd, 0666 & ~mask);
    if (rc == 0)
        rc = write_fd(fd, data, len);
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/*
 * Keep the file e->path names (if it is one) as e->backup: a second hard
 * link, so the path itself is replaced atomically; where the file system
 * refuses hard links, the file is moved aside instead. Returns 0, or -1
 * with errno.
 */
static int keep_old(struct entry *e)
{
    struct stat st;
    if (lstat(e->path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode))
        return 0;   /* nothing to keep: the rename will fail and say why */
    size_t n = strlen(e->tmp) + 5;
    if (!(e->backup = malloc(n))) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(e->backup, n, "%s.old", e->tmp);
    if (link(e->path, e->backup) == 0)
        return 0;
    if (errno != EEXIST && rename(e->path, e->backup) == 0) {
        e->moved = 1;
        return 0;
    }
    free(e->backup);
    e->backup = NULL;
    return -1;
}

/* Put e->path back as it was before the commit began; renamed says
 * whether the new file has taken its place. */
static void restore_old(struct entry *e, int renamed)
{
    if (!e->backup) {
        if (renamed)
            unlink(e->path);
        return;
    }
    if (renamed || e->moved)
        rename(e->backup, e->path);
    else
        unlink(e->backup);   /* a second link: path still holds the file */
    free(e->backup);
    e->backup = NULL;
}

/*
 * Rename every file into place, or none: the files about to be replaced
 * are kept under backup names first, and if any rename fails, the files
 * renamed so far are taken back out and the old ones restored.
 */
int cg_outset_commit(cg_outset *set, char *err, size_t errlen)
{
    size_t kept = 0, renamed = 0;
    for (; kept < set->count; ++kept) {
        if (keep_old(&set->files[kept]) != 0) {
            snprintf(err, errlen, "cannot write '%s': cannot keep the file it replaces: %s",
                     set->files[kept].path, strerror(errno));
            goto undo;
        }
    }
    for (; renamed < set->count; ++renamed) {
        struct entry *e = &set->files[renamed];
        if (rename(e->tmp, e->path) != 0) {
            snprintf(err, errlen, "cannot write '%s': %s", e->path, strerror(errno));
            goto undo;
        }
    }
    for (size_t i = 0; i < set->count; ++i) {
        struct entry *e = &set->files[i];
        if (e->backup)
            unlink(e->backup);
        free(e->backup);
        free(e->tmp);
        e->backup = e->tmp = NULL;
    }
    return 0;

undo:
    for (size_t i = 0; i < kept; ++i) {
        restore_old(&set->files[i], i < renamed);
        if (i < renamed) {
            free(set->files[i].tmp);   /* renamed: nothing left to remove */
            set->files[i].tmp = NULL;
        }
    }
    return -1;
}

void cg_outset_free(cg_outset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; ++i) {
        if (set->files[i].tmp) {
            unlink(set->files[i].tmp);
            free(set->files[i].tmp);
        }
        free(set->files[i].path);
    }
    free(set->files);
    free(set);
}
