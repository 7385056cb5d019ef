/* CPU backend, AVX-512: element-wise row kernels. exp / softmax rows, sums, the double-precision
 * means and mix (bit-close to the oracle), INT8 and E4M3 encoders (bit-exact with
 * core/numeric.c: IEEE divisions, round half to even) and f16 / bf16 conversions. */
#include <math.h>

#include "backends/cpu/cpu_avx512.h"
#include "backends/cpu/cpu_simd_avx512.h"
#include "core/numeric.h"

/* --- element-wise ------------------------------------------------------------------------ */

void cpu_avx512_exp_row(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, cpu_exp_ps(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, mk, cpu_exp_ps(_mm512_maskz_loadu_ps(mk, x + i)));
  }
}

void cpu_avx512_softmax_row(const float *x, float *y, int64_t n) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(x + i));
  const __mmask16 tail = (__mmask16)((1u << (n - i)) - 1u);
  if (i < n) mx = _mm512_mask_max_ps(mx, tail, mx, _mm512_maskz_loadu_ps(tail, x + i));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 e = cpu_exp_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
    sum = _mm512_add_ps(sum, e);
    _mm512_storeu_ps(y + i, e);
  }
  if (i < n) {
    const __m512 e = cpu_exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), m));
    sum = _mm512_mask_add_ps(sum, tail, sum, e);
    _mm512_mask_storeu_ps(y + i, tail, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), inv));
  if (i < n) _mm512_mask_storeu_ps(y + i, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, y + i), inv));
}

void cpu_avx512_add_rows(float *y, const float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(x + i)));
  for (; i < n; i++) y[i] += x[i];
}

void cpu_avx512_rsub_rows(float *y, const float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  for (; i < n; i++) y[i] = x[i] - y[i];
}

/* Column blocks kept in registers over all rows; n % 8 == 0. Blocks of 128 first, so a row of
 * D <= 128 is read in one sequential pass (this op is bound by streaming rows from memory). */
void cpu_avx512_colsum_f64(const float *x, int64_t rows, int64_t stride, int64_t n, double *acc) {
  int64_t i = 0;
  for (; i + 128 <= n; i += 128) {
    __m512d a[16];
    for (int v = 0; v < 16; v++) a[v] = _mm512_loadu_pd(acc + i + 8 * v);
    for (int64_t r = 0; r < rows; r++) {
      const float *xr = x + r * stride + i;
      for (int v = 0; v < 16; v++) a[v] = _mm512_add_pd(a[v], _mm512_cvtps_pd(_mm256_loadu_ps(xr + 8 * v)));
    }
    for (int v = 0; v < 16; v++) _mm512_storeu_pd(acc + i + 8 * v, a[v]);
  }
  for (; i + 32 <= n; i += 32) {
    __m512d a0 = _mm512_loadu_pd(acc + i), a1 = _mm512_loadu_pd(acc + i + 8);
    __m512d a2 = _mm512_loadu_pd(acc + i + 16), a3 = _mm512_loadu_pd(acc + i + 24);
    for (int64_t r = 0; r < rows; r++) {
      const float *xr = x + r * stride + i;
      a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm256_loadu_ps(xr)));
      a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_loadu_ps(xr + 8)));
      a2 = _mm512_add_pd(a2, _mm512_cvtps_pd(_mm256_loadu_ps(xr + 16)));
      a3 = _mm512_add_pd(a3, _mm512_cvtps_pd(_mm256_loadu_ps(xr + 24)));
    }
    _mm512_storeu_pd(acc + i, a0), _mm512_storeu_pd(acc + i + 8, a1);
    _mm512_storeu_pd(acc + i + 16, a2), _mm512_storeu_pd(acc + i + 24, a3);
  }
  for (; i < n; i += 8) {
    __m512d a0 = _mm512_loadu_pd(acc + i);
    for (int64_t r = 0; r < rows; r++) a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm256_loadu_ps(x + r * stride + i)));
    _mm512_storeu_pd(acc + i, a0);
  }
}

void cpu_avx512_sub_mean_f64(const float *x, const double *mean, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)),
                                                          _mm512_loadu_pd(mean + i))));
  for (; i < n; i++) y[i] = (float)((double)x[i] - mean[i]);
}

void cpu_avx512_mix_f64(const float *a, const float *b, double wa, double wb, float *y, int64_t n) {
  const __m512d va = _mm512_set1_pd(wa), vb = _mm512_set1_pd(wb);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512d pa = _mm512_mul_pd(va, _mm512_cvtps_pd(_mm256_loadu_ps(a + i)));
    const __m512d pb = _mm512_mul_pd(vb, _mm512_cvtps_pd(_mm256_loadu_ps(b + i)));
    _mm256_storeu_ps(y + i, _mm512_cvtpd_ps(_mm512_add_pd(pa, pb)));
  }
  for (; i < n; i++) {
    const double pa = wa * (double)a[i], pb = wb * (double)b[i];
    y[i] = (float)(pa + pb);
  }
}

float cpu_avx512_dot(const float *x, const float *y, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
  }
  for (; i < n; i += 16) {
    const __mmask16 mk = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
    a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, x + i), _mm512_maskz_loadu_ps(mk, y + i), a0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

int32_t cpu_avx512_sum_i8(const int8_t *x, int64_t n) {
  __m512i acc = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    acc = _mm512_add_epi32(acc, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(x + i))));
  int32_t s = _mm512_reduce_add_epi32(acc);
  for (; i < n; i++) s += x[i];
  return s;
}

float cpu_avx512_absmax(const float *x, int64_t n) {
  __m512 m = _mm512_setzero_ps();
  int64_t i = 0;
  /* max_ps returns its second operand when either is NaN: NaN inputs are skipped, as in the
   * oracle's `if (a > amax) amax = a`. */
  for (; i + 16 <= n; i += 16) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), m);
  if (i < n) {
    const __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
    m = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(mk, x + i)), m);
  }
  return _mm512_reduce_max_ps(m);
}

CPU_AI __m128i int8_codes16(__m512 x, __m512 sigma) {
  __m512 q = _mm512_roundscale_ps(_mm512_div_ps(x, sigma), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
  return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(q));
}

void cpu_avx512_int8_codes(const float *x, float sigma, int8_t *codes, int64_t n) {
  const __m512 s = _mm512_set1_ps(sigma);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm_storeu_si128((__m128i *)(codes + i), int8_codes16(_mm512_loadu_ps(x + i), s));
  if (i < n) {
    const __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
    _mm_mask_storeu_epi8(codes + i, mk, int8_codes16(_mm512_maskz_loadu_ps(mk, x + i), s));
  }
}

void cpu_avx512_e4m3_codes(const float *x, const float *sigma, uint8_t *codes, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128((__m128i *)(codes + i),
                     cpu_e4m3_encode_ps(_mm512_div_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(sigma + i))));
  if (i < n) {
    const __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
    const __m512 q = _mm512_div_ps(_mm512_maskz_loadu_ps(mk, x + i),
                                   _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), mk, sigma + i));
    _mm_mask_storeu_epi8(codes + i, mk, cpu_e4m3_encode_ps(q));
  }
}

void cpu_avx512_f16_to_f32(const uint16_t *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i))));
  for (; i < n; i++) y[i] = sla2_f16_to_f32(x[i]);
}

void cpu_avx512_bf16_to_f32(const uint16_t *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(x + i)));
    _mm512_storeu_ps(y + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
  }
  for (; i < n; i++) y[i] = sla2_bf16_to_f32(x[i]);
}

void cpu_avx512_f32_to_f16(const float *x, uint16_t *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256((__m256i *)(y + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; i++) y[i] = sla2_f32_to_f16(x[i]);
}

void cpu_avx512_f32_to_bf16(const float *x, uint16_t *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *)(y + i), cpu_bf16_encode_ps(_mm512_loadu_ps(x + i)));
  for (; i < n; i++) y[i] = sla2_f32_to_bf16(x[i]);
}
