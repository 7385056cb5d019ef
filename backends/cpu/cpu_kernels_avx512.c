/* CPU backend: AVX-512 kernels (F, BW, VL, DQ, VNNI). Compiled with those ISA flags and used
 * only when the CPU reports them (cpu_isa.c).
 *
 * Attention micro-kernels keep R lane groups of 16 query rows in registers and broadcast the
 * other operand (a key channel for scores, a value channel for P V), so an R x C register tile
 * costs R vector loads and C broadcasts per step for R * C FMAs. Tile shapes (R x C): scores
 * 1x16, 2x12, 3x8, 4x6; P V 1x16, 2x8, 3x8, 4x4 (C | 8 keeps D % 8 == 0 free of remainders). */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_simd_avx512.h"
#include "core/numeric.h"

/* --- scores: st[j][w] = sum_d qt[d][w] k[j][d] -------------------------------------------- */

CPU_AI void scores_f32_tile(const float *qt, int D, const float *k, int64_t ks, float *st,
                            const int R, const int C) {
  const int W = CPU_LANES * R;
  __m512 acc[CPU_TILE_RMAX][16];
  for (int r = 0; r < R; r++)
    for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
  for (int d = 0; d < D; d++) {
    __m512 q[CPU_TILE_RMAX];
    for (int r = 0; r < R; r++) q[r] = _mm512_load_ps(qt + (int64_t)d * W + CPU_LANES * r);
    for (int c = 0; c < C; c++) {
      const __m512 kb = _mm512_set1_ps(k[c * ks + d]);
      for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(q[r], kb, acc[r][c]);
    }
  }
  for (int c = 0; c < C; c++)
    for (int r = 0; r < R; r++) _mm512_store_ps(st + (int64_t)c * W + CPU_LANES * r, acc[r][c]);
}

#define CPU_SCORES_CALL(j, CC) scores_f32_tile(qt, D, k + (int64_t)(j) * ks, ks, st + (int64_t)(j) * W, R_, CC)

CPU_AI void scores_f32_r(const float *qt, int D, const float *k, int64_t ks, int keys, float *st,
                         const int R_, const int CMAIN) {
  const int W = CPU_LANES * R_;
  int j_ = 0;
  for (; j_ + CMAIN <= keys; j_ += CMAIN) CPU_SCORES_CALL(j_, CMAIN);
  if (CMAIN > 8 && j_ + 8 <= keys) { CPU_SCORES_CALL(j_, 8); j_ += 8; }
  if (CMAIN > 4 && j_ + 4 <= keys) { CPU_SCORES_CALL(j_, 4); j_ += 4; }
  if (j_ + 2 <= keys) { CPU_SCORES_CALL(j_, 2); j_ += 2; }
  if (j_ < keys) { CPU_SCORES_CALL(j_, 1); j_ += 1; }
}

static void scores_f32(const float *qt, int R, int D, const float *k, int64_t k_stride, int keys,
                       float *st) {
  switch (R) {
  case 1: scores_f32_r(qt, D, k, k_stride, keys, st, 1, 16); break;
  case 2: scores_f32_r(qt, D, k, k_stride, keys, st, 2, 12); break;
  case 3: scores_f32_r(qt, D, k, k_stride, keys, st, 3, 8); break;
  default: scores_f32_r(qt, D, k, k_stride, keys, st, 4, 6); break;
  }
}

/* --- int8 scores: VNNI u8 x s8 dot products, exact in int32 --------------------------------- */

/* acc += u8 a . s8 b per 32-bit lane. Inline asm: GCC 12 copies and spills every accumulator of
 * a register tile around the _mm512_dpbusd_epi32 builtin, which halves the kernel's speed. */
CPU_AI __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

CPU_AI void scores_i8_tile(const uint8_t *qc, int D, const int8_t *kc, int64_t ks,
                           const int32_t *kbias, float factor, float *st, const int R, const int C) {
  const int W = CPU_LANES * R;
  __m512i acc[CPU_TILE_RMAX][16];
  for (int r = 0; r < R; r++)
    for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_si512();
  for (int g = 0; g < D / 4; g++) {
    __m512i q[CPU_TILE_RMAX];
    for (int r = 0; r < R; r++)
      q[r] = _mm512_load_si512((const void *)(qc + ((int64_t)g * W + CPU_LANES * r) * 4));
    for (int c = 0; c < C; c++) {
      int32_t word;
      memcpy(&word, kc + c * ks + 4 * g, sizeof word);
      const __m512i kb = _mm512_set1_epi32(word);
      for (int r = 0; r < R; r++) acc[r][c] = dpbusd(acc[r][c], q[r], kb);
    }
  }
  const __m512 f = _mm512_set1_ps(factor);
  for (int c = 0; c < C; c++) {
    const __m512i bias = _mm512_set1_epi32(kbias[c]);
    for (int r = 0; r < R; r++) {
      const __m512 s = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][c], bias));
      _mm512_store_ps(st + (int64_t)c * W + CPU_LANES * r, _mm512_mul_ps(f, s));
    }
  }
}

#define CPU_SCORES_I8_CALL(j, CC)                                                                \
  scores_i8_tile(qc, D, kc + (int64_t)(j) * ks, ks, kbias + (j), factor, st + (int64_t)(j) * W, R_, CC)

CPU_AI void scores_i8_r(const uint8_t *qc, int D, const int8_t *kc, int64_t ks,
                        const int32_t *kbias, int keys, float factor, float *st, const int R_,
                        const int CMAIN) {
  const int W = CPU_LANES * R_;
  int j_ = 0;
  for (; j_ + CMAIN <= keys; j_ += CMAIN) CPU_SCORES_I8_CALL(j_, CMAIN);
  if (CMAIN > 8 && j_ + 8 <= keys) { CPU_SCORES_I8_CALL(j_, 8); j_ += 8; }
  if (CMAIN > 4 && j_ + 4 <= keys) { CPU_SCORES_I8_CALL(j_, 4); j_ += 4; }
  if (j_ + 2 <= keys) { CPU_SCORES_I8_CALL(j_, 2); j_ += 2; }
  if (j_ < keys) { CPU_SCORES_I8_CALL(j_, 1); j_ += 1; }
}

static void scores_i8(const uint8_t *qc, int R, int D, const int8_t *kc, int64_t k_stride,
                      const int32_t *kbias, int keys, float factor, float *st) {
  switch (R) {
  case 1: scores_i8_r(qc, D, kc, k_stride, kbias, keys, factor, st, 1, 16); break;
  case 2: scores_i8_r(qc, D, kc, k_stride, kbias, keys, factor, st, 2, 12); break;
  case 3: scores_i8_r(qc, D, kc, k_stride, kbias, keys, factor, st, 3, 8); break;
  default: scores_i8_r(qc, D, kc, k_stride, kbias, keys, factor, st, 4, 6); break;
  }
}

/* --- tile packing: 16 x 16 transposes ------------------------------------------------------ */

/* In-register transpose of 16 rows of 16 floats. */
CPU_AI void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
    t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xDD);
    t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
    t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xDD);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
    r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xDD);
  }
}

/* A 16 x 16 block from 16 rows of src (16 lanes each, columns beyond cm read as 0), transposed,
 * stored as 16 rows of dst. All indices are constants so the block stays in registers. */
CPU_AI void transpose_full(const float *src, int64_t src_stride, __mmask16 cm, float *dst,
                           int64_t dst_stride, __m512 scale) {
  __m512 r[16];
  for (int i = 0; i < 16; i++) r[i] = _mm512_mul_ps(scale, _mm512_maskz_loadu_ps(cm, src + i * src_stride));
  transpose16(r);
  for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * dst_stride, r[i]);
}

/* qt[d][w] = scale * q[w][d]: 16 x 16 blocks; rows past `rows` and channels past D are zero
 * (partial row blocks are staged through a zero-padded copy). */
static void pack_qt(const float *q, int64_t q_stride, int rows, int D, float scale, int R, float *qt) {
  const int W = CPU_LANES * R;
  const __m512 s = _mm512_set1_ps(scale);
  float pad[16 * 16] __attribute__((aligned(64)));
  for (int r0 = 0; r0 < W; r0 += 16) {
    const int nr = rows - r0 < 0 ? 0 : rows - r0 < 16 ? rows - r0 : 16;
    for (int d0 = 0; d0 < D; d0 += 16) {
      const int nd = D - d0 < 16 ? D - d0 : 16;
      const __mmask16 cm = (__mmask16)((1u << nd) - 1u);
      float tmp[16 * 16] __attribute__((aligned(64)));
      const float *src = q + (int64_t)r0 * q_stride + d0;
      int64_t stride = q_stride;
      if (nr < 16) {
        memset(pad, 0, sizeof pad);
        for (int i = 0; i < nr; i++) _mm512_store_ps(pad + 16 * i, _mm512_maskz_loadu_ps(cm, src + i * q_stride));
        src = pad, stride = 16;
      }
      if (nd == 16) {
        transpose_full(src, stride, cm, qt + (int64_t)d0 * W + r0, W, s);
      } else { /* only the first nd transposed rows exist in qt */
        transpose_full(src, stride, cm, tmp, 16, s);
        for (int i = 0; i < nd; i++) _mm512_store_ps(qt + (int64_t)(d0 + i) * W + r0, _mm512_load_ps(tmp + 16 * i));
      }
    }
  }
}

static void pack_qc(const int8_t *q, int64_t q_stride, int rows, int D, int R, uint8_t *qc) {
  /* rows of D / 4 words transposed to [D / 4][W] words; the XOR adds 128 to every byte
   * (int8 -> biased u8) and turns the zero padding rows into code 0 */
  const int W = CPU_LANES * R, G = D / 4;
  const __m512i bias = _mm512_set1_epi32((int)0x80808080u);
  float pad[16 * 16] __attribute__((aligned(64)));
  float tmp[16 * 16] __attribute__((aligned(64)));
  for (int r0 = 0; r0 < W; r0 += 16) {
    const int nr = rows - r0 < 0 ? 0 : rows - r0 < 16 ? rows - r0 : 16;
    for (int g0 = 0; g0 < G; g0 += 16) {
      const int ng = G - g0 < 16 ? G - g0 : 16;
      const __mmask16 cm = (__mmask16)((1u << ng) - 1u);
      memset(pad, 0, sizeof pad);
      for (int i = 0; i < nr; i++)
        _mm512_store_ps(pad + 16 * i, _mm512_maskz_loadu_ps(cm, q + (int64_t)(r0 + i) * q_stride + 4 * g0));
      __m512 r[16];
      for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(pad + 16 * i);
      transpose16(r);
      for (int i = 0; i < 16; i++) _mm512_store_ps(tmp + 16 * i, r[i]);
      for (int c = 0; c < ng; c++)
        _mm512_store_si512((void *)(qc + ((int64_t)(g0 + c) * W + r0) * 4),
                           _mm512_xor_si512(_mm512_load_si512((const void *)(tmp + 16 * c)), bias));
    }
  }
}

static void unpack_ot(const float *ot, int R, int rows, int D, const float *row_scale,
                      const float *col_scale, float *out, int64_t out_stride) {
  const int W = CPU_LANES * R;
  float tmp[16 * 16] __attribute__((aligned(64)));
  float cs[16] __attribute__((aligned(64)));
  for (int r0 = 0; r0 < rows; r0 += 16) {
    const int nr = rows - r0 < 16 ? rows - r0 : 16;
    const __m512 rs = _mm512_loadu_ps(row_scale + r0);
    for (int e0 = 0; e0 < D; e0 += 16) {
      const int ne = D - e0 < 16 ? D - e0 : 16;
      const __mmask16 cm = (__mmask16)((1u << ne) - 1u);
      for (int i = 0; i < 16; i++) cs[i] = i < ne ? (col_scale ? col_scale[e0 + i] : 1.0f) : 0.0f;
      __m512 v[16];
      for (int i = 0; i < 16; i++) /* channel rows past D read row e0 again, scaled by 0 */
        v[i] = _mm512_mul_ps(_mm512_mul_ps(rs, _mm512_set1_ps(cs[i])),
                             _mm512_load_ps(ot + (int64_t)(e0 + (i < ne ? i : 0)) * W + r0));
      transpose16(v);
      if (nr == 16) {
        for (int i = 0; i < 16; i++) _mm512_mask_storeu_ps(out + (int64_t)(r0 + i) * out_stride + e0, cm, v[i]);
      } else {
        for (int i = 0; i < 16; i++) _mm512_store_ps(tmp + 16 * i, v[i]);
        for (int i = 0; i < nr; i++)
          _mm512_mask_storeu_ps(out + (int64_t)(r0 + i) * out_stride + e0, cm, _mm512_load_ps(tmp + 16 * i));
      }
    }
  }
}

/* --- softmax pieces ---------------------------------------------------------------------- */

static void rowmax(const float *st, int R, int keys, float *m) {
  const int W = CPU_LANES * R;
  for (int r = 0; r < R; r++) {
    __m512 mx = _mm512_loadu_ps(m + CPU_LANES * r);
    for (int j = 0; j < keys; j++) mx = _mm512_max_ps(mx, _mm512_load_ps(st + (int64_t)j * W + CPU_LANES * r));
    _mm512_storeu_ps(m + CPU_LANES * r, mx);
  }
}

static void exp_accumulate(float *st, int R, int keys, const float *m, float *l) {
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

static void exp_accumulate_fp8_pairs(const float *st, int R, int keys, const float *m, float *l,
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

static void pv_pairs_fma(const uint32_t *p2, int R, int pairs, const uint32_t *v2, int D,
                         const float *corr, float *ot) {
  switch (R) {
  case 1: pv_pairs_r(p2, pairs, v2, D, corr, ot, 1, 16, false); break;
  case 2: pv_pairs_r(p2, pairs, v2, D, corr, ot, 2, 8, false); break;
  case 3: pv_pairs_r(p2, pairs, v2, D, corr, ot, 3, 8, false); break;
  default: pv_pairs_r(p2, pairs, v2, D, corr, ot, 4, 4, false); break;
  }
}

static void pv_pairs_bf16(const uint32_t *p2, int R, int pairs, const uint32_t *v2, int D,
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

static void pack_v_pairs(const uint8_t *c0, const uint8_t *c1, uint32_t *v2, int D) {
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

static void pv(const float *p, int R, int keys, const float *v, int64_t v_stride, int D,
               const float *corr, float *ot) {
  switch (R) {
  case 1: pv_r(p, keys, v, v_stride, D, corr, ot, 1, 16); break;
  case 2: pv_r(p, keys, v, v_stride, D, corr, ot, 2, 8); break;
  case 3: pv_r(p, keys, v, v_stride, D, corr, ot, 3, 8); break;
  default: pv_r(p, keys, v, v_stride, D, corr, ot, 4, 4); break;
  }
}

/* --- GEMM: C (+)= A B, register tile MR rows x NV vectors of 16 columns ---------------------- */

CPU_AI void gemm_tile(int K, const float *a, int64_t a_rs, int64_t a_ks, const float *b,
                      int64_t ldb, float *c, int64_t ldc, bool accumulate, __mmask16 last,
                      const int MR, const int NV) {
  __m512 acc[6][4];
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) {
      const __mmask16 mk = v == NV - 1 ? last : (__mmask16)0xFFFF;
      acc[i][v] = accumulate ? _mm512_maskz_loadu_ps(mk, c + (int64_t)i * ldc + 16 * v)
                             : _mm512_setzero_ps();
    }
  for (int kk = 0; kk < K; kk++) {
    __m512 bv[4];
    const float *bk = b + (int64_t)kk * ldb;
    for (int v = 0; v < NV; v++)
      bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, bk + 16 * v) : _mm512_loadu_ps(bk + 16 * v);
    const float *ak = a + (int64_t)kk * a_ks;
    for (int i = 0; i < MR; i++) {
      const __m512 ab = _mm512_set1_ps(ak[(int64_t)i * a_rs]);
      for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ab, bv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) {
      if (v == NV - 1)
        _mm512_mask_storeu_ps(c + (int64_t)i * ldc + 16 * v, last, acc[i][v]);
      else
        _mm512_storeu_ps(c + (int64_t)i * ldc + 16 * v, acc[i][v]);
    }
}

CPU_AI void gemm_rows(int M, int K, const float *a, int64_t a_rs, int64_t a_ks, const float *b,
                      int64_t ldb, float *c, int64_t ldc, bool accumulate, __mmask16 last,
                      const int NV) {
  int i = 0;
  for (; i + 6 <= M; i += 6)
    gemm_tile(K, a + i * a_rs, a_rs, a_ks, b, ldb, c + i * ldc, ldc, accumulate, last, 6, NV);
  switch (M - i) {
  case 5: gemm_tile(K, a + i * a_rs, a_rs, a_ks, b, ldb, c + i * ldc, ldc, accumulate, last, 5, NV); break;
  case 4: gemm_tile(K, a + i * a_rs, a_rs, a_ks, b, ldb, c + i * ldc, ldc, accumulate, last, 4, NV); break;
  case 3: gemm_tile(K, a + i * a_rs, a_rs, a_ks, b, ldb, c + i * ldc, ldc, accumulate, last, 3, NV); break;
  case 2: gemm_tile(K, a + i * a_rs, a_rs, a_ks, b, ldb, c + i * ldc, ldc, accumulate, last, 2, NV); break;
  case 1: gemm_tile(K, a + i * a_rs, a_rs, a_ks, b, ldb, c + i * ldc, ldc, accumulate, last, 1, NV); break;
  default: break;
  }
}

static void gemm(int M, int N, int K, const float *a, int64_t a_rs, int64_t a_ks, const float *b,
                 int64_t ldb, float *c, int64_t ldc, bool accumulate) {
  for (int j = 0; j < N; j += 64) {
    const int cols = N - j < 64 ? N - j : 64;
    const int nv = (cols + 15) / 16;
    const int tail = cols - 16 * (nv - 1);
    const __mmask16 last = (__mmask16)((1u << tail) - 1u);
    switch (nv) {
    case 1: gemm_rows(M, K, a, a_rs, a_ks, b + j, ldb, c + j, ldc, accumulate, last, 1); break;
    case 2: gemm_rows(M, K, a, a_rs, a_ks, b + j, ldb, c + j, ldc, accumulate, last, 2); break;
    case 3: gemm_rows(M, K, a, a_rs, a_ks, b + j, ldb, c + j, ldc, accumulate, last, 3); break;
    default: gemm_rows(M, K, a, a_rs, a_ks, b + j, ldb, c + j, ldc, accumulate, last, 4); break;
    }
  }
}

/* --- double GEMM (router): register tile MR rows x NV vectors of 8 columns ------------------- */

CPU_AI void dgemm_tile(int K, const double *a, int64_t lda, const double *b, int64_t ldb, double *c,
                       int64_t ldc, __mmask8 last, const int MR, const int NV) {
  __m512d acc[4][4];
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_pd();
  for (int kk = 0; kk < K; kk++) {
    __m512d bv[4];
    const double *bk = b + (int64_t)kk * ldb;
    for (int v = 0; v < NV; v++)
      bv[v] = v == NV - 1 ? _mm512_maskz_loadu_pd(last, bk + 8 * v) : _mm512_loadu_pd(bk + 8 * v);
    for (int i = 0; i < MR; i++) {
      const __m512d ab = _mm512_set1_pd(a[(int64_t)i * lda + kk]);
      for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_pd(ab, bv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) {
      if (v == NV - 1)
        _mm512_mask_storeu_pd(c + (int64_t)i * ldc + 8 * v, last, acc[i][v]);
      else
        _mm512_storeu_pd(c + (int64_t)i * ldc + 8 * v, acc[i][v]);
    }
}

CPU_AI void dgemm_rows(int M, int K, const double *a, int64_t lda, const double *b, int64_t ldb,
                       double *c, int64_t ldc, __mmask8 last, const int NV) {
  int i = 0;
  for (; i + 4 <= M; i += 4) dgemm_tile(K, a + i * lda, lda, b, ldb, c + i * ldc, ldc, last, 4, NV);
  for (; i < M; i++) dgemm_tile(K, a + i * lda, lda, b, ldb, c + i * ldc, ldc, last, 1, NV);
}

static void dgemm(int M, int N, int K, const double *a, int64_t lda, const double *b, int64_t ldb,
                  double *c, int64_t ldc) {
  for (int j = 0; j < N; j += 32) {
    const int cols = N - j < 32 ? N - j : 32;
    const int nv = (cols + 7) / 8;
    const int tail = cols - 8 * (nv - 1);
    const __mmask8 last = (__mmask8)((1u << tail) - 1u);
    switch (nv) {
    case 1: dgemm_rows(M, K, a, lda, b + j, ldb, c + j, ldc, last, 1); break;
    case 2: dgemm_rows(M, K, a, lda, b + j, ldb, c + j, ldc, last, 2); break;
    case 3: dgemm_rows(M, K, a, lda, b + j, ldb, c + j, ldc, last, 3); break;
    default: dgemm_rows(M, K, a, lda, b + j, ldb, c + j, ldc, last, 4); break;
    }
  }
}

/* --- element-wise ------------------------------------------------------------------------ */

static void exp_row(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, cpu_exp_ps(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, mk, cpu_exp_ps(_mm512_maskz_loadu_ps(mk, x + i)));
  }
}

static void softmax_row(const float *x, float *y, int64_t n) {
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

static void add_rows(float *y, const float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(x + i)));
  for (; i < n; i++) y[i] += x[i];
}

static void rsub_rows(float *y, const float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  for (; i < n; i++) y[i] = x[i] - y[i];
}

/* Column blocks kept in registers over all rows; n % 8 == 0. Blocks of 128 first, so a row of
 * D <= 128 is read in one sequential pass (this op is bound by streaming rows from memory). */
static void colsum_f64(const float *x, int64_t rows, int64_t stride, int64_t n, double *acc) {
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

static void sub_mean_f64(const float *x, const double *mean, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)),
                                                          _mm512_loadu_pd(mean + i))));
  for (; i < n; i++) y[i] = (float)((double)x[i] - mean[i]);
}

static void mix_f64(const float *a, const float *b, double wa, double wb, float *y, int64_t n) {
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

static float dot(const float *x, const float *y, int64_t n) {
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

static int32_t sum_i8(const int8_t *x, int64_t n) {
  __m512i acc = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    acc = _mm512_add_epi32(acc, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(x + i))));
  int32_t s = _mm512_reduce_add_epi32(acc);
  for (; i < n; i++) s += x[i];
  return s;
}

static float absmax(const float *x, int64_t n) {
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

static void int8_codes(const float *x, float sigma, int8_t *codes, int64_t n) {
  const __m512 s = _mm512_set1_ps(sigma);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm_storeu_si128((__m128i *)(codes + i), int8_codes16(_mm512_loadu_ps(x + i), s));
  if (i < n) {
    const __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
    _mm_mask_storeu_epi8(codes + i, mk, int8_codes16(_mm512_maskz_loadu_ps(mk, x + i), s));
  }
}

static void e4m3_codes(const float *x, const float *sigma, uint8_t *codes, int64_t n) {
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

static void f16_to_f32(const uint16_t *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i))));
  for (; i < n; i++) y[i] = sla2_f16_to_f32(x[i]);
}

static void bf16_to_f32(const uint16_t *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(x + i)));
    _mm512_storeu_ps(y + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
  }
  for (; i < n; i++) y[i] = sla2_bf16_to_f32(x[i]);
}

static void f32_to_f16(const float *x, uint16_t *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256((__m256i *)(y + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; i++) y[i] = sla2_f32_to_f16(x[i]);
}

static void f32_to_bf16(const float *x, uint16_t *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *)(y + i), cpu_bf16_encode_ps(_mm512_loadu_ps(x + i)));
  for (; i < n; i++) y[i] = sla2_f32_to_bf16(x[i]);
}

#define CPU_AVX512_COMMON_KERNELS \
    .scores_f32 = scores_f32, \
    .scores_i8 = scores_i8, \
    .pack_qt = pack_qt, \
    .pack_qc = pack_qc, \
    .unpack_ot = unpack_ot, \
    .rowmax = rowmax, \
    .exp_accumulate = exp_accumulate, \
    .pv = pv, \
    .exp_accumulate_fp8_pairs = exp_accumulate_fp8_pairs, \
    .pack_v_pairs = pack_v_pairs, \
    .gemm = gemm, \
    .dgemm = dgemm, \
    .exp_row = exp_row, \
    .softmax_row = softmax_row, \
    .add_rows = add_rows, \
    .rsub_rows = rsub_rows, \
    .colsum_f64 = colsum_f64, \
    .sub_mean_f64 = sub_mean_f64, \
    .mix_f64 = mix_f64, \
    .dot = dot, \
    .sum_i8 = sum_i8, \
    .absmax = absmax, \
    .int8_codes = int8_codes, \
    .e4m3_codes = e4m3_codes, \
    .f16_to_f32 = f16_to_f32, \
    .bf16_to_f32 = bf16_to_f32, \
    .f32_to_f16 = f32_to_f16, \
    .f32_to_bf16 = f32_to_bf16, \

const cpu_kernels cpu_kernels_avx512 = {
    .name = "avx512",
    .pv_pairs = pv_pairs_fma,
    CPU_AVX512_COMMON_KERNELS
};

const cpu_kernels cpu_kernels_avx512_bf16 = {
    .name = "avx512_bf16",
    .pv_pairs = pv_pairs_bf16,
    CPU_AVX512_COMMON_KERNELS
};
