/* cg_conv.c - element counts of a resolved layer's tensors. */
#include "cg_conv.h"

#include <string.h>

size_t cg_conv_input_size(const cg_conv *p)
{
    return (size_t)p->batch * p->channels * p->height * p->width;
}

size_t cg_conv_weights_size(const cg_conv *p)
{
    return (size_t)p->filters * (p->channels / p->groups) * p->kernel_h * p->kernel_w;
}

size_t cg_conv_bias_size(const cg_conv *p)
{
    return (size_t)p->filters;
}

size_t cg_conv_output_size(const cg_conv *p)
{
    return (size_t)p->batch * p->filters * p->out_h * p->out_w;
}

int cg_conv_reduction_length(const cg_conv *p)
{
    return (p->channels / p->groups) * p->kernel_h * p->kernel_w;
}

int cg_activation_from_name(const char *word, cg_activation *out)
{
    static const char *const names[] = {
        "none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh"
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        if (strcmp(word, names[i]) == 0) {
            *out = (cg_activation)i;
            return 0;
        }
    }
    return -1;
}

int cg_layout_from_name(const char *word, cg_layout *out)
{
    if (strcmp(word, "nchw") == 0) {
        *out = CG_LAYOUT_NCHW;
        return 0;
    }
    if (strcmp(word, "nhwc") == 0) {
        *out = CG_LAYOUT_NHWC;
        return 0;
    }
    return -1;
}
