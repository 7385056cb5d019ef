/* CPU backend, AVX-512: small GEMMs. f32 C (+)= A B with an arbitrarily strided A (kv_state's
 * phiK^T V and the linear branch's phi(q) H_i; 6 x 64 register tile, ~233 GFLOP/s per Zen 5
 * core in cache) and the router's double GEMM. */
#include "backends/cpu/cpu_avx512.h"
#include "backends/cpu/cpu_simd_avx512.h"

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

void cpu_avx512_gemm(int M, int N, int K, const float *a, int64_t a_rs, int64_t a_ks, const float *b,
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

void cpu_avx512_dgemm(int M, int N, int K, const double *a, int64_t lda, const double *b, int64_t ldb,
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
