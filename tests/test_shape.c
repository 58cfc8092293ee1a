/*
 * test_shape.c - output sizes, padding and counts, through the real loader.
 *
 * Each case is a spec and the numbers worked out by hand from
 *     out = (in + pad_begin + pad_end - dilation*(k-1) - 1) / stride + 1
 * and TensorFlow's "same": out = ceil(in/stride),
 *     total = max((out-1)*stride + dilation*(k-1) + 1 - in, 0),
 *     begin = total/2, the odd pixel at the end (bottom/right).
 * Counts: parameters = F*(C/g)*KH*KW (+ F with bias),
 *         macs = N*F*OH*OW*(C/g)*KH*KW.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNCHECKED (-1LL)

typedef struct shape_case {
    const char *fields;     /* what goes inside conv2d { name = "t", ... } */
    int out_h, out_w;
    int pad_top, pad_bottom, pad_left, pad_right;
    long long params, macs; /* UNCHECKED: not part of this case */
} shape_case;

/* The integer after "\n<key>: " in an info report; fails if absent. */
static long long info_number(const char *info, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\n%s: ", key);
    const char *at = strstr(info, pattern);
    if (!at)
        fail_msg("no '%s' line in:\n%s", key, info);
    char *end;
    long long v = strtoll(at + strlen(pattern), &end, 10);
    if (*end != '\n')
        fail_msg("'%s' is not a number in:\n%s", key, info);
    return v;
}

static void expect(const shape_case *c, const char *what, long long got, long long want)
{
    if (got != want)
        fail_msg("%s: %s is %lld, expected %lld", c->fields, what, got, want);
}

/* Check layer 0 of g against c. */
static void check_layer(cg_gen *g, const shape_case *c)
{
    char err[TS_ERRLEN];
    cg_conv p;
    if (cg_gen_params(g, 0, &p, err, sizeof err) != CG_OK)
        fail_msg("cg_gen_params: %s", err);
    expect(c, "out_h", p.out_h, c->out_h);
    expect(c, "out_w", p.out_w, c->out_w);
    expect(c, "pad_top", p.pad_top, c->pad_top);
    expect(c, "pad_bottom", p.pad_bottom, c->pad_bottom);
    expect(c, "pad_left", p.pad_left, c->pad_left);
    expect(c, "pad_right", p.pad_right, c->pad_right);
    if (c->params == UNCHECKED && c->macs == UNCHECKED)
        return;
    char *info;
    if (cg_gen_info(g, 0, NULL, &info, err, sizeof err) != CG_OK)
        fail_msg("cg_gen_info: %s", err);
    long long params = info_number(info, "parameters");
    long long macs = info_number(info, "macs");
    free(info);
    if (c->params != UNCHECKED)
        expect(c, "parameters", params, c->params);
    if (c->macs != UNCHECKED)
        expect(c, "macs", macs, c->macs);
}

static void check_case(const shape_case *c)
{
    char text[1024];
    snprintf(text, sizeof text, "conv2d { name = \"t\", %s }\n", c->fields);
    cg_gen *g = ts_gen_from_text("shape.lua", text);
    check_layer(g, c);
    cg_gen_free(g);
}

#define INPUT(c, h, w) "input = { channels = " #c ", height = " #h ", width = " #w " }, "

static void test_padding_valid_is_the_default_and_pads_nothing(void **state)
{
    (void)state;
    /* (8 - 1*2 - 1)/1 + 1 = 6 on both axes */
    check_case(&(shape_case){ INPUT(1, 8, 8) "filters = 1, kernel = 3",
                              6, 6, 0, 0, 0, 0, UNCHECKED, UNCHECKED });
}

static void test_padding_explicit_may_differ_on_every_side(void **state)
{
    (void)state;
    /* left omitted: 0.  h: (5 + 1 + 2 - 2 - 1)/1 + 1 = 6
     * w: (6 + 0 + 3 - 2 - 1)/1 + 1 = 7
     * params 2*1*3*3 + 2 = 20; macs 1*2*6*7*1*3*3 = 756 */
    check_case(&(shape_case){
        INPUT(1, 5, 6) "filters = 2, kernel = 3, padding = { top = 1, bottom = 2, right = 3 }",
        6, 7, 1, 2, 0, 3, 20, 756 });
}

static void test_padding_integer_pads_all_four_sides(void **state)
{
    (void)state;
    /* (6 + 2 + 2 - 1*4 - 1)/1 + 1 = 6 */
    check_case(&(shape_case){ INPUT(1, 6, 6) "filters = 1, kernel = 5, padding = 2",
                              6, 6, 2, 2, 2, 2, UNCHECKED, UNCHECKED });
}

static void test_padding_same_stride_2_even_kernel_splits_even_and_odd_totals(void **state)
{
    (void)state;
    /* h: out = ceil(8/2) = 4, total = 3*2 + 3 + 1 - 8 = 2 -> 1, 1
     * w: out = ceil(7/2) = 4, total = 3*2 + 3 + 1 - 7 = 3 -> 1, 2
     * check: (8+1+1-3-1)/2 + 1 = 4, (7+1+2-3-1)/2 + 1 = 4 */
    check_case(&(shape_case){ INPUT(1, 8, 7) "filters = 1, kernel = 4, stride = 2, padding = \"same\"",
                              4, 4, 1, 1, 1, 2, UNCHECKED, UNCHECKED });
}

static void test_padding_same_puts_a_lone_odd_pixel_at_the_bottom(void **state)
{
    (void)state;
    /* h: out = ceil(5/2) = 3, total = 2*2 + 1 + 1 - 5 = 1 -> 0, 1
     * w: out = ceil(6/2) = 3, total = 2*2 + 1 + 1 - 6 = 0 -> 0, 0 */
    check_case(&(shape_case){ INPUT(1, 5, 6) "filters = 1, kernel = 2, stride = 2, padding = \"same\"",
                              3, 3, 0, 1, 0, 0, UNCHECKED, UNCHECKED });
}

static void test_padding_same_clamps_a_negative_total_to_zero(void **state)
{
    (void)state;
    /* out = ceil(8/4) = 2, total = 1*4 + 1 + 1 - 8 = -2 -> 0
     * check: (8 - 1 - 1)/4 + 1 = 2 */
    check_case(&(shape_case){ INPUT(1, 8, 8) "filters = 1, kernel = 2, stride = 4, padding = \"same\"",
                              2, 2, 0, 0, 0, 0, UNCHECKED, UNCHECKED });
}

static void test_dilation_valid_widens_the_kernel(void **state)
{
    (void)state;
    /* (7 - 2*2 - 1)/1 + 1 = 3; macs still count 3*3 taps: 1*1*3*3*1*9 = 81 */
    check_case(&(shape_case){ INPUT(1, 7, 7) "filters = 1, kernel = 3, dilation = 2",
                              3, 3, 0, 0, 0, 0, 10, 81 });
}

static void test_dilation_same_pads_for_the_dilated_span(void **state)
{
    (void)state;
    /* out = 5, total = 4*1 + 3*1 + 1 - 5 = 3 -> 1, 2 */
    check_case(&(shape_case){ INPUT(1, 5, 5) "filters = 1, kernel = 2, dilation = 3, padding = \"same\"",
                              5, 5, 1, 2, 1, 2, UNCHECKED, UNCHECKED });
}

static void test_dilation_same_with_stride_2(void **state)
{
    (void)state;
    /* h: out = ceil(7/2) = 4, total = 3*2 + 2*2 + 1 - 7 = 4 -> 2, 2
     * w: out = ceil(8/2) = 4, total = 3*2 + 2*2 + 1 - 8 = 3 -> 1, 2
     * check: (7+4-4-1)/2 + 1 = 4, (8+3-4-1)/2 + 1 = 4 */
    check_case(&(shape_case){
        INPUT(1, 7, 8) "filters = 1, kernel = 3, dilation = 2, stride = 2, padding = \"same\"",
        4, 4, 2, 2, 1, 2, UNCHECKED, UNCHECKED });
}

static void test_stride_larger_than_kernel_skips_pixels(void **state)
{
    (void)state;
    /* h: (10 - 1 - 1)/3 + 1 = 8/3 + 1 = 3;  w: (11 - 1 - 1)/3 + 1 = 4
     * macs 1*1*3*4*1*2*2 = 48 */
    check_case(&(shape_case){ INPUT(1, 10, 11) "filters = 1, kernel = 2, stride = 3",
                              3, 4, 0, 0, 0, 0, 5, 48 });
}

static void test_kernel_equal_to_input_gives_one_pixel(void **state)
{
    (void)state;
    /* (5 - 4 - 1) + 1 = 1, (4 - 3 - 1) + 1 = 1
     * params 6*3*5*4 + 6 = 366; macs 1*6*1*1*3*5*4 = 360 */
    check_case(&(shape_case){
        INPUT(3, 5, 4) "filters = 6, kernel = { height = 5, width = 4 }",
        1, 1, 0, 0, 0, 0, 366, 360 });
}

static void test_kernel_and_stride_may_be_non_square(void **state)
{
    (void)state;
    /* h: (9 - 2 - 1)/2 + 1 = 4;  w: (13 - 0 - 1)/3 + 1 = 5
     * params 1*1*3*1 + 1 = 4; macs 1*1*4*5*1*3*1 = 60 */
    check_case(&(shape_case){
        INPUT(1, 9, 13) "filters = 1, kernel = { height = 3, width = 1 }, stride = { height = 2, width = 3 }",
        4, 5, 0, 0, 0, 0, 4, 60 });
}

static void test_counts_batch_multiplies_macs_not_parameters(void **state)
{
    (void)state;
    /* out (4-2-1)+1 = 2;  params 5*2*3*3 + 5 = 95
     * macs 3*5*2*2*2*3*3 = 1080 */
    check_case(&(shape_case){ INPUT(2, 4, 4) "batch = 3, filters = 5, kernel = 3",
                              2, 2, 0, 0, 0, 0, 95, 1080 });
}

static void test_counts_groups_divide_the_channels_each_filter_sees(void **state)
{
    (void)state;
    /* C/g = 2; out (6-2-1)+1 = 4
     * params 6*2*3*3 + 6 = 114; macs 1*6*4*4*2*3*3 = 1728 */
    check_case(&(shape_case){ INPUT(4, 6, 6) "filters = 6, groups = 2, kernel = 3",
                              4, 4, 0, 0, 0, 0, 114, 1728 });
}

static void test_counts_depthwise_without_bias(void **state)
{
    (void)state;
    /* C/g = 1; out (5+1+1-2-1)+1 = 5
     * params 8*1*3*3 = 72; macs 1*8*5*5*1*3*3 = 1800 */
    check_case(&(shape_case){
        INPUT(8, 5, 5) "filters = 8, groups = 8, kernel = 3, padding = 1, bias = false",
        5, 5, 1, 1, 1, 1, 72, 1800 });
}

static void test_counts_bias_false_drops_one_parameter_per_filter(void **state)
{
    (void)state;
    /* params 4*3*3*3 = 108 (112 with bias); macs 1*4*6*6*3*3*3 = 3888 */
    check_case(&(shape_case){ INPUT(3, 8, 8) "filters = 4, kernel = 3, bias = false",
                              6, 6, 0, 0, 0, 0, 108, 3888 });
}

static void test_counts_of_the_demo_spec_file(void **state)
{
    (void)state;
    char err[TS_ERRLEN];
    int status;
    cg_gen *g = cg_gen_new(NULL, &status, err, sizeof err);
    if (!g)
        fail_msg("cg_gen_new: %s", err);
    if (cg_gen_load_file(g, SOURCE_DIR "/specs/demo.lua", err, sizeof err) != CG_OK)
        fail_msg("specs/demo.lua: %s", err);
    assert_int_equal(cg_gen_count(g), 1);
    /* 1x200x200, one 10x10 filter, same: out 200,
     * total 199*1 + 9 + 1 - 200 = 9 -> 4, 5
     * params 1*1*10*10 + 1 = 101; macs 1*1*200*200*1*10*10 = 4000000 */
    check_layer(g, &(shape_case){ "specs/demo.lua", 200, 200, 4, 5, 4, 5, 101, 4000000 });
    cg_gen_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding_valid_is_the_default_and_pads_nothing),
        cmocka_unit_test(test_padding_explicit_may_differ_on_every_side),
        cmocka_unit_test(test_padding_integer_pads_all_four_sides),
        cmocka_unit_test(test_padding_same_stride_2_even_kernel_splits_even_and_odd_totals),
        cmocka_unit_test(test_padding_same_puts_a_lone_odd_pixel_at_the_bottom),
        cmocka_unit_test(test_padding_same_clamps_a_negative_total_to_zero),
        cmocka_unit_test(test_dilation_valid_widens_the_kernel),
        cmocka_unit_test(test_dilation_same_pads_for_the_dilated_span),
        cmocka_unit_test(test_dilation_same_with_stride_2),
        cmocka_unit_test(test_stride_larger_than_kernel_skips_pixels),
        cmocka_unit_test(test_kernel_equal_to_input_gives_one_pixel),
        cmocka_unit_test(test_kernel_and_stride_may_be_non_square),
        cmocka_unit_test(test_counts_batch_multiplies_macs_not_parameters),
        cmocka_unit_test(test_counts_groups_divide_the_channels_each_filter_sees),
        cmocka_unit_test(test_counts_depthwise_without_bias),
        cmocka_unit_test(test_counts_bias_false_drops_one_parameter_per_filter),
        cmocka_unit_test(test_counts_of_the_demo_spec_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
