/* CPU backend, AVX-512: the attention tile's softmax and P V. exp2 with the running max, the
 * int8_fp8 rounding of P to E4M3 packed as bf16 pairs, and the P V micro-kernels: f32 FMAs
 * (R x C = 1x16, 2x8, 3x8, 4x4, ~230 GFLOP/s per Zen 5 core) or, for int8_fp8, bf16 dot products
 * on key pairs (~475 GFLOP/s; an FMA fallback where the CPU lacks AVX512_BF16). */
#include <string.h>

#include "backends/cpu/cpu_avx512.h"
#include "backends/cpu/cpu_simd_avx512.h"

/* --- softmax pieces ---------------------------------------------------------------------- */

void cpu_avx512_rowmax(const float *st, int R, int keys, float *m) {
  const int W = CPU_LANES * R;
  for (int r = 0; r < R; r++) {
    __m512 mx = _mm512_loadu_ps(m + CPU_LANES * r);
    for (int j = 0; j < keys; j++) mx = _mm512_max_ps(mx, _mm512_load_ps(st + (int64_t)j * W + CPU_LANES * r));
    _mm512_storeu_ps(m + CPU_LANES * r, mx);
  }
}

void cpu_avx512_exp_accumulate(float *st, int R, int keys, const float *m, float *l) {
  const int W = CPU_LANES * R;
  for (int r = 0; r < R; r++) {
    const __m512 mr = _mm512_loadu_ps(m + CPU_LANES * r);
    __m512 l0 = _mm512_setzero_ps(), l1 = _mm512_setzero_ps();
    int j = 0;
    for (; j + 2 <= keys; j += 2) {
      float *s0 = st + (int64_t)j * W + CPU_LANES * r, *s1 = s0 + W;
      const __m512 p0 = cpu_exp2_ps(_mm512_sub_ps(_mm512_load_ps(s0), mr));
      const __m512 p1 = cpu_exp2_ps(_mm512_sub_ps(_mm512_load_ps(s1), mr));
      l0 = _mm512_add_ps(l0, p0);
      l1 = _mm512_add_ps(l1, p1);
      _mm512_store_ps(s0, p0);
      _mm512_store_ps(s1, p1);
    }
    if (j < keys) {
      float *s0 = st + (int64_t)j * W + CPU_LANES * r;
      const __m512 p0 = cpu_exp2_ps(_mm512_sub_ps(_mm512_load_ps(s0), mr));
      l0 = _mm512_add_ps(l0, p0);
      _mm512_store_ps(s0, p0);
    }
    _mm512_storeu_ps(l + CPU_LANES * r,
                     _mm512_add_ps(_mm512_loadu_ps(l + CPU_LANES * r), _mm512_add_ps(l0, l1)));
  }
}

/* --- int8_fp8: P and V as bf16 pairs ------------------------------------------------------ */

/* Two vectors of E4M3 values (exact in bf16) -> words of (bf16 lo | bf16 hi << 16). */
CPU_AI __m512i bf16_pair_words(__m512 lo, __m512 hi) {
  return _mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(hi), _mm512_set1_epi32((int)0xFFFF0000u)),
                         _mm512_srli_epi32(_mm512_castps_si512(lo), 16));
}

void cpu_avx512_exp_accumulate_fp8_pairs(const float *st, int R, int keys, const float *m, float *l,
                                     uint32_t *p2) {
  const int W = CPU_LANES * R;
  const __m512 pscale = _mm512_set1_ps(448.0f);
  for (int r = 0; r < R; r++) {
    const __m512 mr = _mm512_loadu_ps(m + CPU_LANES * r);
    __m512 l0 = _mm512_setzero_ps(), l1 = _mm512_setzero_ps();
    for (int j = 0; j < keys; j += 2) {
      const float *s0 = st + (int64_t)j * W + CPU_LANES * r;
      const __m512 p0 = cpu_exp2_ps(_mm512_sub_ps(_mm512_load_ps(s0), mr));
      const __m512 p1 = j + 1 < keys ? cpu_exp2_ps(_mm512_sub_ps(_mm512_load_ps(s0 + W), mr))
                                     : _mm512_setzero_ps();
      l0 = _mm512_add_ps(l0, p0);
      l1 = _mm512_add_ps(l1, p1);
      const __m512 q0 = cpu_e4m3_round_nonneg_ps(_mm512_mul_ps(pscale, p0));
      const __m512 q1 = cpu_e4m3_round_nonneg_ps(_mm512_mul_ps(pscale, p1));
      _mm512_store_si512((void *)(p2 + (int64_t)(j / 2) * W + CPU_LANES * r), bf16_pair_words(q0, q1));
    }
    _mm512_storeu_ps(l + CPU_LANES * r,
                     _mm512_add_ps(_mm512_loadu_ps(l + CPU_LANES * r), _mm512_add_ps(l0, l1)));
  }
}

/* acc += lo(a) lo(b) + hi(a) hi(b) per lane, bf16 halves (AVX512_BF16 vdpbf16ps; inline asm for
 * the same register-allocation reason as dpbusd, and so this file needs no -mavx512bf16). */
CPU_AI __m512 dpbf16(__m512 acc, __m512i a, __m512i b) {
  __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

/* One R x C tile of P V on pairs; BF16 selects vdpbf16ps, else two FMAs on the unpacked halves. */
CPU_AI void pv_pairs_tile(const uint32_t *p2, int pairs, const uint32_t *v2, int D, const float *corr,
                          float *ot, const int R, const int C, const bool BF16) {
  const int W = CPU_LANES * R;
  __m512 acc[CPU_TILE_RMAX][16];
  for (int r = 0; r < R; r++) {
    const __m512 cr = corr ? _mm512_loadu_ps(corr + CPU_LANES * r) : _mm512_set1_ps(1.0f);
    for (int c = 0; c < C; c++)
      acc[r][c] = _mm512_mul_ps(cr, _mm512_load_ps(ot + (int64_t)c * W + CPU_LANES * r));
  }
  const __m512i himask = _mm512_set1_epi32((int)0xFFFF0000u);
  for (int t = 0; t < pairs; t++) {
    __m512i pw[CPU_TILE_RMAX];
    for (int r = 0; r < R; r++) pw[r] = _mm512_load_si512((const void *)(p2 + (int64_t)t * W + CPU_LANES * r));
    const uint32_t *vt = v2 + (int64_t)t * D;
    if (BF16) {
      for (int c = 0; c < C; c++) {
        const __m512i vb = _mm512_set1_epi32((int)vt[c]);
        for (int r = 0; r < R; r++) acc[r][c] = dpbf16(acc[r][c], pw[r], vb);
      }
    } else {
      __m512 plo[CPU_TILE_RMAX], phi[CPU_TILE_RMAX];
      for (int r = 0; r < R; r++) {
        plo[r] = _mm512_castsi512_ps(_mm512_slli_epi32(pw[r], 16));
        phi[r] = _mm512_castsi512_ps(_mm512_and_si512(pw[r], himask));
      }
      for (int c = 0; c < C; c++) {
        uint32_t lo = vt[c] << 16, hi = vt[c] & 0xFFFF0000u;
        float vlo, vhi;
        memcpy(&vlo, &lo, sizeof vlo);
        memcpy(&vhi, &hi, sizeof vhi);
        const __m512 blo = _mm512_set1_ps(vlo), bhi = _mm512_set1_ps(vhi);
        for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(phi[r], bhi, _mm512_fmadd_ps(plo[r], blo, acc[r][c]));
      }
    }
  }
  for (int c = 0; c < C; c++)
    for (int r = 0; r < R; r++) _mm512_store_ps(ot + (int64_t)c * W + CPU_LANES * r, acc[r][c]);
}

CPU_AI void pv_pairs_r(const uint32_t *p2, int pairs, const uint32_t *v2, int D, const float *corr,
                       float *ot, const int R, const int C, const bool BF16) {
  const int W = CPU_LANES * R;
  int e = 0;
  for (; e + C <= D; e += C) pv_pairs_tile(p2, pairs, v2 + e, D, corr, ot + (int64_t)e * W, R, C, BF16);
  if (C > 8 && e + 8 <= D) { pv_pairs_tile(p2, pairs, v2 + e, D, corr, ot + (int64_t)e * W, R, 8, BF16); e += 8; }
  for (; e + 4 <= D; e += 4) pv_pairs_tile(p2, pairs, v2 + e, D, corr, ot + (int64_t)e * W, R, 4, BF16);
  for (; e < D; e++) pv_pairs_tile(p2, pairs, v2 + e, D, corr, ot + (int64_t)e * W, R, 1, BF16);
}

void cpu_avx512_pv_pairs_fma(const uint32_t *p2, int R, int pairs, const uint32_t *v2, int D,
                         const float *corr, float *ot) {
  switch (R) {
  case 1: pv_pairs_r(p2, pairs, v2, D, corr, ot, 1, 16, false); break;
  case 2: pv_pairs_r(p2, pairs, v2, D, corr, ot, 2, 8, false); break;
  case 3: pv_pairs_r(p2, pairs, v2, D, corr, ot, 3, 8, false); break;
  default: pv_pairs_r(p2, pairs, v2, D, corr, ot, 4, 4, false); break;
  }
}

void cpu_avx512_pv_pairs_bf16(const uint32_t *p2, int R, int pairs, const uint32_t *v2, int D,
                          const float *corr, float *ot) {
  switch (R) {
  case 1: pv_pairs_r(p2, pairs, v2, D, corr, ot, 1, 16, true); break;
  case 2: pv_pairs_r(p2, pairs, v2, D, corr, ot, 2, 8, true); break;
  case 3: pv_pairs_r(p2, pairs, v2, D, corr, ot, 3, 8, true); break;
  default: pv_pairs_r(p2, pairs, v2, D, corr, ot, 4, 4, true); break;
  }
}

/* E4M3 codes -> f32 values with integer arithmetic only (immune to DAZ): normals rebias the
 * 4-bit exponent, subnormals are mant * 2^-9, 0x7F / 0xFF are NaN. */
CPU_AI __m512 e4m3_decode16(__m128i codes) {
  const __m512i c = _mm512_cvtepu8_epi32(codes);
  const __m512i mag = _mm512_and_si512(c, _mm512_set1_epi32(0x7F));
  const __m512i normal = _mm512_slli_epi32(_mm512_add_epi32(mag, _mm512_set1_epi32(120 << 3)), 20);
  const __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(mag), _mm512_set1_ps(1.0f / 512.0f));
  const __mmask16 is_sub = _mm512_cmp_epi32_mask(mag, _mm512_set1_epi32(8), _MM_CMPINT_LT);
  const __mmask16 is_nan = _mm512_cmp_epi32_mask(mag, _mm512_set1_epi32(0x7F), _MM_CMPINT_EQ);
  __m512i v = _mm512_mask_blend_epi32(is_sub, normal, _mm512_castps_si512(sub));
  v = _mm512_mask_blend_epi32(is_nan, v, _mm512_set1_epi32(0x7FC00000));
  v = _mm512_or_si512(v, _mm512_slli_epi32(_mm512_and_si512(c, _mm512_set1_epi32(0x80)), 24));
  return _mm512_castsi512_ps(v);
}

void cpu_avx512_pack_v_pairs(const uint8_t *c0, const uint8_t *c1, uint32_t *v2, int D) {
  int e = 0;
  for (; e + 16 <= D; e += 16) {
    const __m512 lo = e4m3_decode16(_mm_loadu_si128((const __m128i *)(c0 + e)));
    const __m512 hi = c1 ? e4m3_decode16(_mm_loadu_si128((const __m128i *)(c1 + e))) : _mm512_setzero_ps();
    _mm512_storeu_si512((void *)(v2 + e), bf16_pair_words(lo, hi));
  }
  if (e < D) {
    const __mmask16 mk = (__mmask16)((1u << (D - e)) - 1u);
    const __m512 lo = e4m3_decode16(_mm_maskz_loadu_epi8(mk, c0 + e));
    const __m512 hi = c1 ? e4m3_decode16(_mm_maskz_loadu_epi8(mk, c1 + e)) : _mm512_setzero_ps();
    _mm512_mask_storeu_epi32(v2 + e, mk, bf16_pair_words(lo, hi));
  }
}

/* --- P V: ot[e][w] = corr[w] ot[e][w] + sum_j p[j][w] v[j][e] ---------------------------------- */

CPU_AI void pv_tile(const float *p, int keys, const float *v, int64_t vs, const float *corr,
                    float *ot, const int R, const int C) {
  const int W = CPU_LANES * R;
  __m512 acc[CPU_TILE_RMAX][16];
  for (int r = 0; r < R; r++) {
    const __m512 cr = corr ? _mm512_loadu_ps(corr + CPU_LANES * r) : _mm512_set1_ps(1.0f);
    for (int c = 0; c < C; c++)
      acc[r][c] = _mm512_mul_ps(cr, _mm512_load_ps(ot + (int64_t)c * W + CPU_LANES * r));
  }
  for (int j = 0; j < keys; j++) {
    __m512 pj[CPU_TILE_RMAX];
    for (int r = 0; r < R; r++) pj[r] = _mm512_load_ps(p + (int64_t)j * W + CPU_LANES * r);
    const float *vj = v + (int64_t)j * vs;
    for (int c = 0; c < C; c++) {
      const __m512 vb = _mm512_set1_ps(vj[c]);
      for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(pj[r], vb, acc[r][c]);
    }
  }
  for (int c = 0; c < C; c++)
    for (int r = 0; r < R; r++) _mm512_store_ps(ot + (int64_t)c * W + CPU_LANES * r, acc[r][c]);
}

CPU_AI void pv_r(const float *p, int keys, const float *v, int64_t vs, int D, const float *corr,
                 float *ot, const int R, const int C) {
  const int W = CPU_LANES * R;
  int e = 0;
  for (; e + C <= D; e += C) pv_tile(p, keys, v + e, vs, corr, ot + (int64_t)e * W, R, C);
  if (C > 8 && e + 8 <= D) { pv_tile(p, keys, v + e, vs, corr, ot + (int64_t)e * W, R, 8); e += 8; }
  for (; e + 4 <= D; e += 4) pv_tile(p, keys, v + e, vs, corr, ot + (int64_t)e * W, R, 4);
  for (; e < D; e++) pv_tile(p, keys, v + e, vs, corr, ot + (int64_t)e * W, R, 1);
}

void cpu_avx512_pv(const float *p, int R, int keys, const float *v, int64_t v_stride, int D,
               const float *corr, float *ot) {
  switch (R) {
  case 1: pv_r(p, keys, v, v_stride, D, corr, ot, 1, 16); break;
  case 2: pv_r(p, keys, v, v_stride, D, corr, ot, 2, 8); break;
  case 3: pv_r(p, keys, v, v_stride, D, corr, ot, 3, 8); break;
  default: pv_r(p, keys, v, v_stride, D, corr, ot, 4, 4); break;
  }
}
