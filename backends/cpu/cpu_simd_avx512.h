/* CPU backend: AVX-512 vector helpers (exp, exp2, E4M3 rounding and encoding, bf16).
 * Included only by files compiled with the AVX-512 flags (see CMakeLists.txt). */
#ifndef SLA2_BACKENDS_CPU_SIMD_AVX512_H
#define SLA2_BACKENDS_CPU_SIMD_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#define CPU_AI static inline __attribute__((always_inline))

/* 2^x for x <= 128, ~1.5 ulp. x = n + f, f in [-1/2, 1/2]; 2^f by a degree-6 minimax polynomial
 * (Cephes exp2f coefficients); scalef applies 2^n with correct underflow to 0. NaN propagates. */
CPU_AI __m512 cpu_exp2_ps(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-160.0f), x); /* operand order keeps NaN */
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(x, n);
  __m512 p = _mm512_set1_ps(1.535336188319500e-4f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339887440266574e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618437357674640e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550332471162809e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264791363012e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472028550421e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

/* e^x, ~1 ulp: n = round(x log2 e), r = x - n ln 2 in two FMA steps (Cody-Waite), e^r by the
 * Cephes expf polynomial, then 2^n by scalef (overflow to inf, underflow to 0). */
CPU_AI __m512 cpu_exp_ps(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-200.0f), x);
  x = _mm512_min_ps(_mm512_set1_ps(200.0f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

/* The E4M3 value nearest to x for 0 <= x <= 448 (half to even), as f32. Normals keep 3 mantissa
 * bits (integer round-half-even on the f32 bits); below 2^-6 the grid is 2^-9. */
CPU_AI __m512 cpu_e4m3_round_nonneg_ps(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 20), _mm512_set1_epi32(1));
  __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFFF), lsb));
  r = _mm512_and_si512(r, _mm512_set1_epi32(~0xFFFFF));
  const __m512 sub = _mm512_mul_ps(
      _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(512.0f)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
      _mm512_set1_ps(1.0f / 512.0f));
  const __mmask16 is_sub = _mm512_cmp_ps_mask(x, _mm512_set1_ps(0x1p-6f), _CMP_LT_OQ);
  const __m512 v = _mm512_mask_blend_ps(is_sub, _mm512_castsi512_ps(r), sub);
  return _mm512_min_ps(_mm512_set1_ps(448.0f), v);
}

/* E4M3 codes of 16 floats, bit-exact with sla2_f32_to_e4m3 (saturation, subnormals, -0, NaN). */
CPU_AI __m128i cpu_e4m3_encode_ps(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i sign = _mm512_and_si512(_mm512_srli_epi32(u, 24), _mm512_set1_epi32(0x80));
  const __m512i au = _mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF));
  const __m512 a = _mm512_castsi512_ps(au);
  /* normals: round to 3 mantissa bits on the bits, then (biased f32 exponent - 120) << 3 | mant */
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(au, 20), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(au, _mm512_add_epi32(_mm512_set1_epi32(0x7FFFF), lsb));
  const __m512i normal = _mm512_sub_epi32(_mm512_srli_epi32(r, 20), _mm512_set1_epi32(120 << 3));
  /* subnormals (and what rounds up to 2^-6): rint(a * 2^9) */
  const __m512i subn = _mm512_cvt_roundps_epi32(_mm512_mul_ps(a, _mm512_set1_ps(512.0f)),
                                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __mmask16 is_sub = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0x1p-6f), _CMP_LT_OQ);
  const __mmask16 is_sat = _mm512_cmp_ps_mask(a, _mm512_set1_ps(448.0f), _CMP_GE_OQ);
  const __mmask16 is_nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  __m512i code = _mm512_mask_blend_epi32(is_sub, normal, subn);
  code = _mm512_mask_blend_epi32(is_sat, code, _mm512_set1_epi32(0x7E));
  code = _mm512_or_si512(code, sign);
  code = _mm512_mask_blend_epi32(is_nan, code, _mm512_set1_epi32(0x7F));
  return _mm512_cvtepi32_epi8(code);
}

/* f32 -> bf16 bits, round half to even, denormals kept, NaN quieted (as sla2_f32_to_bf16). */
CPU_AI __m256i cpu_bf16_encode_ps(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb)), 16);
  const __mmask16 is_nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  r = _mm512_mask_or_epi32(r, is_nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

#endif
