/* CPU backend, AVX-512: the attention tile's Q side. Packing Q rows into the lane layout (16 x 16
 * transposes), unpacking the output, and the score micro-kernels (f32 FMAs and exact int8 VNNI
 * dot products). Register tiles: R lane groups x C keys, 1x16, 2x12, 3x8, 4x6; per step R vector
 * loads and C broadcasts feed R * C FMAs (~230 GFLOP/s f32, ~900 GOP/s int8 per Zen 5 core). */
#include <string.h>

#include "backends/cpu/cpu_avx512.h"
#include "backends/cpu/cpu_simd_avx512.h"

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

void cpu_avx512_scores_f32(const float *qt, int R, int D, const float *k, int64_t k_stride, int keys,
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

void cpu_avx512_scores_i8(const uint8_t *qc, int R, int D, const int8_t *kc, int64_t k_stride,
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
void cpu_avx512_pack_qt(const float *q, int64_t q_stride, int rows, int D, float scale, int R, float *qt) {
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

void cpu_avx512_pack_qc(const int8_t *q, int64_t q_stride, int rows, int D, int R, uint8_t *qc) {
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

void cpu_avx512_unpack_ot(const float *ot, int R, int rows, int D, const float *row_scale,
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
