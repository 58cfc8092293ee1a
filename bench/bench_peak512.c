/* bench_peak512.c - the FMA peak loop on zmm registers (see bench_peak.h),
 * compiled with -O2 -mavx512f; run only on CPUs that have AVX-512F. */
#include "bench_peak.h"

#include <immintrin.h>

float bench_peak_fma512(long iters)
{
    const __m512 m = _mm512_set1_ps(0.5f), c = _mm512_set1_ps(0.5f);
    __m512 a0 = _mm512_set1_ps(1.0f), a1 = _mm512_set1_ps(1.5f),
           a2 = _mm512_set1_ps(2.0f), a3 = _mm512_set1_ps(2.5f),
           a4 = _mm512_set1_ps(3.0f), a5 = _mm512_set1_ps(3.5f),
           a6 = _mm512_set1_ps(4.0f), a7 = _mm512_set1_ps(4.5f),
           a8 = _mm512_set1_ps(5.0f), a9 = _mm512_set1_ps(5.5f),
           a10 = _mm512_set1_ps(6.0f), a11 = _mm512_set1_ps(6.5f);
    for (long i = 0; i < iters; ++i) {
        a0 = _mm512_fmadd_ps(a0, m, c);
        a1 = _mm512_fmadd_ps(a1, m, c);
        a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c);
        a4 = _mm512_fmadd_ps(a4, m, c);
        a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c);
        a7 = _mm512_fmadd_ps(a7, m, c);
        a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c);
        a10 = _mm512_fmadd_ps(a10, m, c);
        a11 = _mm512_fmadd_ps(a11, m, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}
