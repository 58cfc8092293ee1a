/*
 * cg_files.h - reading inputs and writing outputs all or nothing.
 */
#ifndef CG_FILES_H
#define CG_FILES_H

#include <stddef.h>

/*
 * Read the whole of path into a new NUL-terminated buffer (*text, free()
 * it) of *len bytes. Returns 0, or -1 with "cannot read 'path': reason" in
 * err.
 */
int cg_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* The same, failing once the file holds more than max bytes ("larger
 * than"): for files whose size is known, so that a device or an
 * absurd file cannot make convgen read without end. */
int cg_read_file_max(const char *path, size_t max, char **text, size_t *len, char *err,
                     size_t errlen);

/* 1 if path names a directory, else 0. */
int cg_is_directory(const char *path);

/*
 * A set of files written together: each is written in full to a temporary
 * file beside its destination, and only when every one is complete does
 * commit rename them into place. Freeing an uncommitted set removes its
 * temporary files, so a failed run leaves nothing behind.
 */
typedef struct cg_outset cg_outset;

cg_outset *cg_outset_new(void);

/* Write data to a temporary file for path. Returns 0, or -1 with err. */
int cg_outset_add(cg_outset *set, const char *path, const char *data, size_t len,
                  char *err, size_t errlen);

/*
 * Rename every temporary file into place, all or none: if one rename
 * fails, the files already renamed are taken out again and the files they
 * replaced are put back. Returns 0, or -1 with err naming the file.
 */
int cg_outset_commit(cg_outset *set, char *err, size_t errlen);

void cg_outset_free(cg_outset *set);

#endif
