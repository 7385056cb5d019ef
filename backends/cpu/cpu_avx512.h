/* CPU backend: the AVX-512 kernels behind cpu_kernels_avx512 / cpu_kernels_avx512_bf16 (see
 * cpu_kernels.h for each contract). Declared here for the tables in cpu_kernels_avx512.c; every
 * cpu_avx512_*.c file is compiled with the AVX-512 flags and only reached through those tables
 * after cpu_isa.c has checked the CPU. */
#ifndef SLA2_BACKENDS_CPU_AVX512_H
#define SLA2_BACKENDS_CPU_AVX512_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/cpu/cpu_kernels.h"

/* cpu_avx512_tile.c */
void cpu_avx512_scores_f32(const float *qt, int R, int D, const float *k, int64_t k_stride,
                           int keys, float *st);
void cpu_avx512_scores_i8(const uint8_t *qc, int R, int D, const int8_t *kc, int64_t k_stride,
                          const int32_t *kbias, int keys, float factor, float *st);
void cpu_avx512_pack_qt(const float *q, int64_t q_stride, int rows, int D, float scale, int R,
                        float *qt);
void cpu_avx512_pack_qc(const int8_t *q, int64_t q_stride, int rows, int D, int R, uint8_t *qc);
void cpu_avx512_unpack_ot(const float *ot, int R, int rows, int D, const float *row_scale,
                          const float *col_scale, float *out, int64_t out_stride);

/* cpu_avx512_softmax_pv.c */
void cpu_avx512_rowmax(const float *st, int R, int keys, float *m);
void cpu_avx512_exp_accumulate(float *st, int R, int keys, const float *m, float *l);
void cpu_avx512_exp_accumulate_fp8_pairs(const float *st, int R, int keys, const float *m, float *l,
                                         uint32_t *p2);
void cpu_avx512_pv(const float *p, int R, int keys, const float *v, int64_t v_stride, int D,
                   const float *corr, float *ot);
void cpu_avx512_pv_pairs_fma(const uint32_t *p2, int R, int pairs, const uint32_t *v2, int D,
                             const float *corr, float *ot);
void cpu_avx512_pv_pairs_bf16(const uint32_t *p2, int R, int pairs, const uint32_t *v2, int D,
                              const float *corr, float *ot);
void cpu_avx512_pack_v_pairs(const uint8_t *c0, const uint8_t *c1, uint32_t *v2, int D);

/* cpu_avx512_linalg.c */
void cpu_avx512_gemm(int M, int N, int K, const float *a, int64_t a_rs, int64_t a_ks,
                     const float *b, int64_t ldb, float *c, int64_t ldc, bool accumulate);
void cpu_avx512_dgemm(int M, int N, int K, const double *a, int64_t lda, const double *b,
                      int64_t ldb, double *c, int64_t ldc);

/* cpu_avx512_rows.c */
void cpu_avx512_exp_row(const float *x, float *y, int64_t n);
void cpu_avx512_softmax_row(const float *x, float *y, int64_t n);
void cpu_avx512_add_rows(float *y, const float *x, int64_t n);
void cpu_avx512_rsub_rows(float *y, const float *x, int64_t n);
void cpu_avx512_colsum_f64(const float *x, int64_t rows, int64_t stride, int64_t n, double *acc);
void cpu_avx512_sub_mean_f64(const float *x, const double *mean, float *y, int64_t n);
void cpu_avx512_mix_f64(const float *a, const float *b, double wa, double wb, float *y, int64_t n);
float cpu_avx512_dot(const float *x, const float *y, int64_t n);
int32_t cpu_avx512_sum_i8(const int8_t *x, int64_t n);
float cpu_avx512_absmax(const float *x, int64_t n);
void cpu_avx512_int8_codes(const float *x, float sigma, int8_t *codes, int64_t n);
void cpu_avx512_e4m3_codes(const float *x, const float *sigma, uint8_t *codes, int64_t n);
void cpu_avx512_f16_to_f32(const uint16_t *x, float *y, int64_t n);
void cpu_avx512_bf16_to_f32(const uint16_t *x, float *y, int64_t n);
void cpu_avx512_f32_to_f16(const float *x, uint16_t *y, int64_t n);
void cpu_avx512_f32_to_bf16(const float *x, uint16_t *y, int64_t n);

#endif
