/*
 * cg_npy.h - reading trained weights from NumPy .npy files, strictly.
 *
 * convgen bakes weights into generated code bit for bit, so it accepts
 * exactly one kind of array: float32, little-endian ('<f4'), C order,
 * with the shape the spec implies, every value finite, and the data
 * exactly as long as the shape says. Anything else is an error naming the
 * file and what is wrong, never a guess.
 */
#ifndef CG_NPY_H
#define CG_NPY_H

#include <stddef.h>

#define CG_NPY_MAX_DIMS 8

/*
 * Read path, a .npy of shape dims[0..ndims-1]. what names the tensor in
 * messages ("weights": "... does not match the spec's weights (8, 3, 5,
 * 5)"). On success *data (free() it) holds the *nbytes bytes of raw
 * little-endian float32 values in C order and 0 is returned; otherwise -1
 * with "path: reason" in err.
 */
int cg_npy_read_f32(const char *path, const long long *dims, int ndims, const char *what,
                    char **data, size_t *nbytes, char *err, size_t errlen);

#endif
