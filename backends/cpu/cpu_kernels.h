/* CPU backend: the table of inner-loop kernels, one implementation per instruction set.
 *
 * The op drivers (cpu_op_*.c) do the blocking, threading and bookkeeping in plain C and call
 * these kernels for every loop that carries the arithmetic. Tables: "portable" (plain C,
 * compiles everywhere), "avx512" (x86-64 AVX-512 F/BW/VL/DQ/VNNI, compiled where the compiler
 * supports it and selected at run time when the CPU does) and "avx512_bf16" (the same with a
 * BF16 dot-product P V). All compute the same values up to f32 rounding order; integer results
 * (quantized codes, int8 dots, E4M3 and f16/bf16 encodings) are bit-identical.
 *
 * Attention tiles keep query rows in vector lanes: a tile has W = 16 * R rows (R = 1..4) and
 * every per-row quantity (scores of one key, running max, normalizer, one output channel) is an
 * array of W floats. Keys and channels are then the broadcast dimension, so partial key blocks
 * need no masking and K/V rows are read in place (no packing). */
#ifndef SLA2_BACKENDS_CPU_KERNELS_H
#define SLA2_BACKENDS_CPU_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPU_LANES 16      /* rows per lane group */
#define CPU_TILE_RMAX 4   /* lane groups per attention tile */
#define CPU_TILE_WMAX (CPU_LANES * CPU_TILE_RMAX)

typedef struct cpu_kernels {
  const char *name; /* "portable", "avx512" or "avx512_bf16" */

  /* --- attention tile (W = 16 * R rows in lanes) ------------------------------------------- */
  /* st[j][w] = sum_d qt[d][w] * k[j * k_stride + d] for j < keys. qt is [D][W]. */
  void (*scores_f32)(const float *qt, int R, int D, const float *k, int64_t k_stride, int keys,
                     float *st);
  /* st[j][w] = factor * (sum_d qc[d][w] * kc[j * k_stride + d] - kbias[j]), where qc holds the
   * query codes biased by +128 as u8 in groups of 4 channels: qc[(d/4)][w][d%4] (D % 4 == 0),
   * kc the signed key codes and kbias[j] = 128 * sum_d kc[j][d] (so the dot is exact). */
  void (*scores_i8)(const uint8_t *qc, int R, int D, const int8_t *kc, int64_t k_stride,
                    const int32_t *kbias, int keys, float factor, float *st);
  /* qt[d][w] = scale * q[w * q_stride + d] for w < rows, 0 for rows <= w < W (W = 16 R). */
  void (*pack_qt)(const float *q, int64_t q_stride, int rows, int D, float scale, int R, float *qt);
  /* The int8 tile layout of scores_i8: qc[d / 4][w][d % 4] = q[w * q_stride + d] + 128 for
   * w < rows, 128 (code 0) above. */
  void (*pack_qc)(const int8_t *q, int64_t q_stride, int rows, int D, int R, uint8_t *qc);
  /* out[r * out_stride + e] = ot[e][r] * row_scale[r] * (col_scale ? col_scale[e] : 1), r < rows. */
  void (*unpack_ot)(const float *ot, int R, int rows, int D, const float *row_scale,
                    const float *col_scale, float *out, int64_t out_stride);
  /* m[w] = max(m[w], max_j st[j][w]). */
  void (*rowmax)(const float *st, int R, int keys, float *m);
  /* st[j][w] = 2^(st[j][w] - m[w]); l[w] += sum_j of those. */
  void (*exp_accumulate)(float *st, int R, int keys, const float *m, float *l);
  /* ot[e][w] = (corr ? corr[w] * ot[e][w] : ot[e][w]) + sum_j p[j][w] * v[j * v_stride + e]. */
  void (*pv)(const float *p, int R, int keys, const float *v, int64_t v_stride, int D,
             const float *corr, float *ot);

  /* --- int8_fp8 P V on bf16 pairs (E4M3 values are exact in bf16) ---------------------------
   * Keys are taken two at a time: a 32-bit word holds the bf16 of key 2t in its low half and of
   * key 2t + 1 in its high half, so one bf16 dot-product step does two keys. */
  /* As exp_accumulate (l sums the unrounded P = 2^(st - m)), then rounds 448 P to its E4M3
   * value and packs keys (2t, 2t + 1) of each row into p2[t][w]; an odd last key pairs with 0. */
  void (*exp_accumulate_fp8_pairs)(const float *st, int R, int keys, const float *m, float *l,
                                   uint32_t *p2);
  /* ot[e][w] = (corr ? corr[w] ot[e][w] : ot[e][w]) + sum_t lo(p2[t][w]) lo(v2[t][e])
   *            + hi(p2[t][w]) hi(v2[t][e]), t < pairs, v2 rows of D words. */
  void (*pv_pairs)(const uint32_t *p2, int R, int pairs, const uint32_t *v2, int D,
                   const float *corr, float *ot);
  /* v2[e] = (bf16 of the E4M3 value of c0[e]) | (that of c1[e]) << 16; c1 NULL stands for 0. */
  void (*pack_v_pairs)(const uint8_t *c0, const uint8_t *c1, uint32_t *v2, int D);

  /* --- small dense linear algebra ---------------------------------------------------------- */
  /* C[i][j] (+)= sum_k A(i, k) B[k][j], A(i, k) = a[i * a_rs + k * a_ks], B and C row-major
   * with unit column stride. i < M, j < N, k < K; accumulate selects += over =. */
  void (*gemm)(int M, int N, int K, const float *a, int64_t a_rs, int64_t a_ks, const float *b,
               int64_t ldb, float *c, int64_t ldc, bool accumulate);
  /* The same in double, A row-major (lda), no accumulate: C[i][j] = sum_k A[i][k] B[k][j]. */
  void (*dgemm)(int M, int N, int K, const double *a, int64_t lda, const double *b, int64_t ldb,
                double *c, int64_t ldc);

  /* --- element-wise rows ------------------------------------------------------------------- */
  /* y[i] = exp(x[i]) for i < n (natural exp, ~1 ulp). */
  void (*exp_row)(const float *x, float *y, int64_t n);
  /* y = softmax(x) over i < n: exp(x - max) / sum. */
  void (*softmax_row)(const float *x, float *y, int64_t n);
  /* y[i] += x[i]. */
  void (*add_rows)(float *y, const float *x, int64_t n);
  /* y[i] = x[i] - y[i]. */
  void (*rsub_rows)(float *y, const float *x, int64_t n);
  /* acc[i] += sum_r (double)x[r * stride + i] over r < rows, i < n (n % 8 == 0). */
  void (*colsum_f64)(const float *x, int64_t rows, int64_t stride, int64_t n, double *acc);
  /* y[i] = (float)((double)x[i] - mean[i]). */
  void (*sub_mean_f64)(const float *x, const double *mean, float *y, int64_t n);
  /* y[i] = (float)(wa * (double)a[i] + wb * (double)b[i]) (products and sum in double). */
  void (*mix_f64)(const float *a, const float *b, double wa, double wb, float *y, int64_t n);
  /* sum_i x[i] y[i] in f32. */
  float (*dot)(const float *x, const float *y, int64_t n);
  /* sum of n int8 values. */
  int32_t (*sum_i8)(const int8_t *x, int64_t n);
  /* max |x[i]| over i < n. */
  float (*absmax)(const float *x, int64_t n);
  /* codes[i] = clamp(rint(x[i] / sigma), -127, 127), f32 division, half to even. */
  void (*int8_codes)(const float *x, float sigma, int8_t *codes, int64_t n);
  /* codes[i] = e4m3(x[i] / sigma[i]) (f32 division), bit-exact with sla2_f32_to_e4m3. */
  void (*e4m3_codes)(const float *x, const float *sigma, uint8_t *codes, int64_t n);
  /* Float conversions of contiguous rows (exact to f32; to f16/bf16 round half to even). */
  void (*f16_to_f32)(const uint16_t *x, float *y, int64_t n);
  void (*bf16_to_f32)(const uint16_t *x, float *y, int64_t n);
  void (*f32_to_f16)(const float *x, uint16_t *y, int64_t n);
  void (*f32_to_bf16)(const float *x, uint16_t *y, int64_t n);
} cpu_kernels;

extern const cpu_kernels cpu_kernels_portable;
#if defined(SLA2_CPU_HAVE_AVX512)
extern const cpu_kernels cpu_kernels_avx512;      /* F, BW, VL, DQ, VNNI */
extern const cpu_kernels cpu_kernels_avx512_bf16; /* the same plus BF16 dot products for P V */
#endif

/* The table this process uses: SLA2_CPU_ISA=portable forces the portable C kernels,
 * SLA2_CPU_ISA=avx512 asks for AVX-512 (portable when the CPU lacks it), unset or "auto" picks
 * the best the CPU supports. Read on every call, so a test may switch between runs.
 * "avx512_bf16" is the AVX-512 table with the BF16 P V kernel, picked when the CPU has BF16. */
const cpu_kernels *cpu_kernels_select(void);

/* E4M3 code -> f32 value, all 256 codes (NaN codes decode to NaN). */
extern const float cpu_e4m3_table[256];

#endif
