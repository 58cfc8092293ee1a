/*
 * cg_ref.h - the reference convolution: the oracle generated kernels are
 * checked against. Deliberately naive (seven nested loops, a bounds check
 * per tap) and written without reference to the templates. It accumulates
 * in double and applies the activation in double before rounding to float.
 */
#ifndef CG_REF_H
#define CG_REF_H

#include "cg_conv.h"

/*
 * Compute output (cg_conv_output_size(p) floats). bias may be NULL when
 * p->bias is 0. If magnitude is not NULL it receives, per output element,
 * the sum of the absolute values of the terms (|w*x| and |bias|): the scale
 * a float rounding error bound is relative to.
 */
void cg_ref_conv2d(const cg_conv *p, const float *input, const float *weights,
                   const float *bias, float *output, double *magnitude);

/* The activation a applied to v, in double (alpha for leaky_relu). */
double cg_ref_activate(cg_activation a, double alpha, double v);

#endif
