/* bench_peak.c - see bench_peak.h. Compiled with -O2 -mavx2 -mfma. */
#include "bench_peak.h"

#include <immintrin.h>

float bench_peak_fma(long iters)
{
    /* a = a * m + c converges (to 1 here) and stays away from denormals. */
    const __m256 m = _mm256_set1_ps(0.5f), c = _mm256_set1_ps(0.5f);
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = _mm256_set1_ps(1.5f),
           a2 = _mm256_set1_ps(2.0f), a3 = _mm256_set1_ps(2.5f),
           a4 = _mm256_set1_ps(3.0f), a5 = _mm256_set1_ps(3.5f),
           a6 = _mm256_set1_ps(4.0f), a7 = _mm256_set1_ps(4.5f),
           a8 = _mm256_set1_ps(5.0f), a9 = _mm256_set1_ps(5.5f),
           a10 = _mm256_set1_ps(6.0f), a11 = _mm256_set1_ps(6.5f);
    for (long i = 0; i < iters; ++i) {
        a0 = _mm256_fmadd_ps(a0, m, c);
        a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c);
        a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c);
        a7 = _mm256_fmadd_ps(a7, m, c);
        a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c);
        a10 = _mm256_fmadd_ps(a10, m, c);
        a11 = _mm256_fmadd_ps(a11, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}
