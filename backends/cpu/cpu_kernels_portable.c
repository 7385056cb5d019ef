/* CPU backend: the portable kernels (plain C, any compiler, any CPU).
 *
 * Same contracts as cpu_kernels.h. Loops are written so a compiler can vectorize the innermost
 * one (rows in lanes, unit stride), but nothing here depends on it. Exponentials use libm. */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "core/numeric.h"
#include "shaders/common/sla2_constants.h"

static void scores_f32(const float *qt, int R, int D, const float *k, int64_t k_stride, int keys,
                       float *st) {
  const int W = CPU_LANES * R;
  for (int j = 0; j < keys; j++) {
    float acc[CPU_TILE_WMAX] = {0};
    const float *kr = k + (int64_t)j * k_stride;
    for (int d = 0; d < D; d++) {
      const float kv = kr[d];
      const float *q = qt + (int64_t)d * W;
      for (int w = 0; w < W; w++) acc[w] += q[w] * kv;
    }
    memcpy(st + (int64_t)j * W, acc, sizeof(float) * (size_t)W);
  }
}

static void scores_i8(const uint8_t *qc, int R, int D, const int8_t *kc, int64_t k_stride,
                      const int32_t *kbias, int keys, float factor, float *st) {
  const int W = CPU_LANES * R;
  for (int j = 0; j < keys; j++) {
    int32_t acc[CPU_TILE_WMAX] = {0};
    const int8_t *kr = kc + (int64_t)j * k_stride;
    for (int g = 0; g < D / 4; g++) {
      const uint8_t *q = qc + (int64_t)g * W * 4;
      for (int w = 0; w < W; w++)
        for (int t = 0; t < 4; t++) acc[w] += (int32_t)q[w * 4 + t] * (int32_t)kr[g * 4 + t];
    }
    for (int w = 0; w < W; w++) st[(int64_t)j * W + w] = factor * (float)(acc[w] - kbias[j]);
  }
}

static void pack_qt(const float *q, int64_t q_stride, int rows, int D, float scale, int R, float *qt) {
  const int W = CPU_LANES * R;
  for (int d = 0; d < D; d++)
    for (int w = 0; w < W; w++) qt[(int64_t)d * W + w] = w < rows ? scale * q[(int64_t)w * q_stride + d] : 0.0f;
}

static void pack_qc(const int8_t *q, int64_t q_stride, int rows, int D, int R, uint8_t *qc) {
  const int W = CPU_LANES * R;
  for (int d = 0; d < D; d++)
    for (int w = 0; w < W; w++)
      qc[((int64_t)(d / 4) * W + w) * 4 + d % 4] = (uint8_t)(w < rows ? q[(int64_t)w * q_stride + d] + 128 : 128);
}

static void unpack_ot(const float *ot, int R, int rows, int D, const float *row_scale,
                      const float *col_scale, float *out, int64_t out_stride) {
  const int W = CPU_LANES * R;
  for (int r = 0; r < rows; r++)
    for (int e = 0; e < D; e++)
      out[(int64_t)r * out_stride + e] = ot[(int64_t)e * W + r] * row_scale[r] * (col_scale ? col_scale[e] : 1.0f);
}

static void rowmax(const float *st, int R, int keys, float *m) {
  const int W = CPU_LANES * R;
  for (int j = 0; j < keys; j++)
    for (int w = 0; w < W; w++) m[w] = fmaxf(m[w], st[(int64_t)j * W + w]);
}

static void exp_accumulate(float *st, int R, int keys, const float *m, float *l) {
  const int W = CPU_LANES * R;
  for (int j = 0; j < keys; j++) {
    float *s = st + (int64_t)j * W;
    for (int w = 0; w < W; w++) {
      s[w] = exp2f(s[w] - m[w]);
      l[w] += s[w];
    }
  }
}

/* bf16 bits of an f32 that bf16 holds exactly (an E4M3 value), and back. */
static uint32_t bf16_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u >> 16;
}
static float bf16_value(uint32_t half) {
  uint32_t u = (half & 0xFFFFu) << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static void exp_accumulate_fp8_pairs(const float *st, int R, int keys, const float *m, float *l,
                                     uint32_t *p2) {
  const int W = CPU_LANES * R;
  for (int t = 0; 2 * t < keys; t++)
    for (int w = 0; w < W; w++) {
      uint32_t word = 0;
      for (int half = 0; half < 2 && 2 * t + half < keys; half++) {
        const float p = exp2f(st[(int64_t)(2 * t + half) * W + w] - m[w]);
        l[w] += p;
        word |= bf16_bits(cpu_e4m3_table[sla2_f32_to_e4m3(SLA2_FP8_P_SCALE * p)]) << (16 * half);
      }
      p2[(int64_t)t * W + w] = word;
    }
}

static void pv_pairs(const uint32_t *p2, int R, int pairs, const uint32_t *v2, int D,
                     const float *corr, float *ot) {
  const int W = CPU_LANES * R;
  for (int e = 0; e < D; e++) {
    float acc[CPU_TILE_WMAX];
    float *o = ot + (int64_t)e * W;
    for (int w = 0; w < W; w++) acc[w] = corr ? corr[w] * o[w] : o[w];
    for (int t = 0; t < pairs; t++) {
      const uint32_t vw = v2[(int64_t)t * D + e];
      const float v0 = bf16_value(vw), v1 = bf16_value(vw >> 16);
      const uint32_t *pt = p2 + (int64_t)t * W;
      for (int w = 0; w < W; w++) acc[w] += bf16_value(pt[w]) * v0 + bf16_value(pt[w] >> 16) * v1;
    }
    memcpy(o, acc, sizeof(float) * (size_t)W);
  }
}

static void pack_v_pairs(const uint8_t *c0, const uint8_t *c1, uint32_t *v2, int D) {
  for (int e = 0; e < D; e++) {
    const uint32_t lo = bf16_bits(cpu_e4m3_table[c0[e]]);
    const uint32_t hi = c1 ? bf16_bits(cpu_e4m3_table[c1[e]]) : 0u;
    v2[e] = lo | hi << 16;
  }
}

static void pv(const float *p, int R, int keys, const float *v, int64_t v_stride, int D,
               const float *corr, float *ot) {
  const int W = CPU_LANES * R;
  for (int e = 0; e < D; e++) {
    float acc[CPU_TILE_WMAX];
    float *o = ot + (int64_t)e * W;
    for (int w = 0; w < W; w++) acc[w] = corr ? corr[w] * o[w] : o[w];
    for (int j = 0; j < keys; j++) {
      const float vv = v[(int64_t)j * v_stride + e];
      const float *pj = p + (int64_t)j * W;
      for (int w = 0; w < W; w++) acc[w] += pj[w] * vv;
    }
    memcpy(o, acc, sizeof(float) * (size_t)W);
  }
}

static void gemm(int M, int N, int K, const float *a, int64_t a_rs, int64_t a_ks, const float *b,
                 int64_t ldb, float *c, int64_t ldc, bool accumulate) {
  for (int i = 0; i < M; i++) {
    float *ci = c + (int64_t)i * ldc;
    if (!accumulate) memset(ci, 0, sizeof(float) * (size_t)N);
    for (int kk = 0; kk < K; kk++) {
      const float av = a[(int64_t)i * a_rs + (int64_t)kk * a_ks];
      const float *bk = b + (int64_t)kk * ldb;
      for (int j = 0; j < N; j++) ci[j] += av * bk[j];
    }
  }
}

static void dgemm(int M, int N, int K, const double *a, int64_t lda, const double *b, int64_t ldb,
                  double *c, int64_t ldc) {
  for (int i = 0; i < M; i++) {
    double *ci = c + (int64_t)i * ldc;
    for (int j = 0; j < N; j++) ci[j] = 0.0;
    for (int kk = 0; kk < K; kk++) {
      const double av = a[(int64_t)i * lda + kk];
      const double *bk = b + (int64_t)kk * ldb;
      for (int j = 0; j < N; j++) ci[j] += av * bk[j];
    }
  }
}

static void exp_row(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static void softmax_row(const float *x, float *y, int64_t n) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  float sum = 0.0f;
  for (int64_t i = 0; i < n; i++) sum += (y[i] = expf(x[i] - mx));
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; i++) y[i] *= inv;
}

static void add_rows(float *y, const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

static void rsub_rows(float *y, const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] - y[i];
}

static void colsum_f64(const float *x, int64_t rows, int64_t stride, int64_t n, double *acc) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < n; i++) acc[i] += (double)x[r * stride + i];
}

static void sub_mean_f64(const float *x, const double *mean, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = (float)((double)x[i] - mean[i]);
}

static void mix_f64(const float *a, const float *b, double wa, double wb, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const double pa = wa * (double)a[i], pb = wb * (double)b[i];
    y[i] = (float)(pa + pb);
  }
}

static float dot(const float *x, const float *y, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; i++) s += x[i] * y[i];
  return s;
}

static int32_t sum_i8(const int8_t *x, int64_t n) {
  int32_t s = 0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  return s;
}

static float absmax(const float *x, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
  return m;
}

static void int8_codes(const float *x, float sigma, int8_t *codes, int64_t n) {
  for (int64_t i = 0; i < n; i++) codes[i] = sla2_int8_code(x[i], sigma);
}

static void e4m3_codes(const float *x, const float *sigma, uint8_t *codes, int64_t n) {
  for (int64_t i = 0; i < n; i++) codes[i] = sla2_f32_to_e4m3(x[i] / sigma[i]);
}

static void f16_to_f32(const uint16_t *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = sla2_f16_to_f32(x[i]);
}
static void bf16_to_f32(const uint16_t *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = sla2_bf16_to_f32(x[i]);
}
static void f32_to_f16(const float *x, uint16_t *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = sla2_f32_to_f16(x[i]);
}
static void f32_to_bf16(const float *x, uint16_t *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = sla2_f32_to_bf16(x[i]);
}

const cpu_kernels cpu_kernels_portable = {
    .name = "portable",
    .scores_f32 = scores_f32,
    .scores_i8 = scores_i8,
    .pack_qt = pack_qt,
    .pack_qc = pack_qc,
    .unpack_ot = unpack_ot,
    .rowmax = rowmax,
    .exp_accumulate = exp_accumulate,
    .pv = pv,
    .exp_accumulate_fp8_pairs = exp_accumulate_fp8_pairs,
    .pv_pairs = pv_pairs,
    .pack_v_pairs = pack_v_pairs,
    .gemm = gemm,
    .dgemm = dgemm,
    .exp_row = exp_row,
    .softmax_row = softmax_row,
    .add_rows = add_rows,
    .rsub_rows = rsub_rows,
    .colsum_f64 = colsum_f64,
    .sub_mean_f64 = sub_mean_f64,
    .mix_f64 = mix_f64,
    .dot = dot,
    .sum_i8 = sum_i8,
    .absmax = absmax,
    .int8_codes = int8_codes,
    .e4m3_codes = e4m3_codes,
    .f16_to_f32 = f16_to_f32,
    .bf16_to_f32 = bf16_to_f32,
    .f32_to_f16 = f32_to_f16,
    .f32_to_bf16 = f32_to_bf16,
};
