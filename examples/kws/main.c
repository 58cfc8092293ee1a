/*
 * main.c - a product embedding a generated network: the keyword-spotting
 * network of specs/kws.lua, built with nothing but a C compiler.
 *
 *     bin/convgen generate specs/kws.lua -o out
 *     cc -std=c99 -O2 -I out -o kws examples/kws/main.c out/kws*.c -lm
 *     ./kws
 *
 * (`make example` does exactly this.) The network's function needs its
 * input, its output and a scratch buffer of KWS_SCRATCH_SIZE floats; all
 * three are static here, so the program allocates nothing. It prints the
 * memory plan and the scores of one synthetic input.
 */
#include <math.h>
#include <stdio.h>

#include "kws.h"

static float input[KWS_INPUT_SIZE];
static float scores[KWS_OUTPUT_SIZE];
static float scratch[KWS_SCRATCH_SIZE];

int main(void)
{
    /* A stand-in for 49 frames of 10 MFCC features: a chirp. */
    for (int i = 0; i < KWS_INPUT_SIZE; ++i)
        input[i] = (float)sin(0.05 * i * (1.0 + i / 490.0));

    kws(input, scores, scratch);

    printf("kws: %d floats in, %d scores out\n", KWS_INPUT_SIZE, KWS_OUTPUT_SIZE);
    printf("memory plan: scratch %zu bytes; input + output + scratch %zu bytes, "
           "against %zu bytes with a buffer per activation\n",
           sizeof scratch, sizeof input + sizeof scores + sizeof scratch,
           KWS_ACTIVATIONS_SIZE * sizeof(float));
    int best = 0;
    for (int k = 0; k < KWS_OUTPUT_SIZE; ++k) {
        printf("  keyword %2d: %9.5f\n", k, scores[k]);
        if (scores[k] > scores[best])
            best = k;
    }
    printf("best: keyword %d\n", best);
    return 0;
}
