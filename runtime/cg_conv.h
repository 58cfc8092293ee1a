/*
 * cg_conv.h - the C view of one resolved convolution layer.
 *
 * The generator (Lua) resolves a spec into these numbers; the reference
 * convolution, the checker and the tests read them. With layout NCHW:
 * input [batch][channels][height][width], weights
 * [filters][channels/groups][kernel_h][kernel_w], bias [filters],
 * output [batch][filters][out_h][out_w]. With NHWC (TensorFlow Lite's
 * orders): input [batch][height][width][channels], weights
 * [filters][kernel_h][kernel_w][channels/groups], output
 * [batch][out_h][out_w][filters]. Element counts do not depend on it.
 */
#ifndef CG_CONV_H
#define CG_CONV_H

#include <stddef.h>

typedef enum cg_activation {
    CG_ACT_NONE,
    CG_ACT_RELU,
    CG_ACT_RELU6,
    CG_ACT_LEAKY_RELU,
    CG_ACT_SIGMOID,
    CG_ACT_TANH
} cg_activation;

typedef enum cg_layout {
    CG_LAYOUT_NCHW,           /* zero: what a cg_conv without one means */
    CG_LAYOUT_NHWC
} cg_layout;

typedef struct cg_conv {
    char name[64];
    int batch, channels, height, width;
    int filters, kernel_h, kernel_w;
    int stride_h, stride_w, dilation_h, dilation_w;
    int pad_top, pad_bottom, pad_left, pad_right;
    int groups;
    int bias;                 /* 0: the kernel ignores its bias argument */
    cg_activation activation;
    float alpha;              /* leaky_relu slope */
    int out_h, out_w;
    cg_layout layout;         /* the order of input, weights and output */
} cg_conv;

/* The signatures of a generated layer's entries: <name>, <name>_pack
 * and <name>_run. */
typedef void (*cg_conv_fn)(const float *input, const float *weights,
                           const float *bias, float *output);
typedef void (*cg_pack_fn)(const float *weights, const float *bias, float *packed);
typedef void (*cg_run_fn)(const float *input, const float *packed, float *output);
/* The one entry of a layer with baked weights: <name>(input, output). */
typedef void (*cg_baked_fn)(const float *input, float *output);

/* Element counts of the four tensors. */
size_t cg_conv_input_size(const cg_conv *p);
size_t cg_conv_weights_size(const cg_conv *p);
size_t cg_conv_bias_size(const cg_conv *p);
size_t cg_conv_output_size(const cg_conv *p);

/* Multiply-adds one output element reduces over: (C/groups) * KH * KW. */
int cg_conv_reduction_length(const cg_conv *p);

/* The activation named word ("relu", ...); returns -1 if unknown. */
int cg_activation_from_name(const char *word, cg_activation *out);

/* The layout named word ("nchw", "nhwc"); returns -1 if unknown. */
int cg_layout_from_name(const char *word, cg_layout *out);

#endif
