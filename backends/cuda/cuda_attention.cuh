/* SPARSE_ATTN / DENSE_ATTN shared between the exact SIMT kernel (cuda_attn_simt.cu) and the
 * tensor-core kernel (cuda_attn_mma.cu).
 *
 * Keys are addressed by position p in the concatenation of the LUT row's blocks:
 * block t = p / bk, key = lut[t] * bk + p % bk. Only the last LUT entry can be a partial block
 * (the LUT ascends and only block Tn - 1 is partial), so positions [0, total) are exactly the
 * selected keys. Dense attention is the same with lut = NULL, one block of bk = N keys. */
#ifndef SLA2_BACKENDS_CUDA_ATTENTION_CUH
#define SLA2_BACKENDS_CUDA_ATTENTION_CUH

#include "backends/cuda/cuda_common.cuh"

typedef struct attn_args {
  cuda_t4 q, k, v, o;        /* q, k, v unused where the quant mode reads codes */
  const void *klo;           /* mma, quant none with f32 K~: K~ - hi(K~) in Q's type, k = hi(K~) */
  float *lse;                /* NULL: not wanted */
  const int *lut;            /* NULL: dense */
  const int8_t *qc, *kc;     /* int8 codes [B,H,N,D] */
  const float *qs, *ks;      /* their scales [B,H,Tm], [B,H,Tn] */
  const uint8_t *vc;         /* FP8 V codes [B,H,N,D] */
  const float *vs;           /* [B,H,D] */
  int H, N, D;
  int rows;                  /* query rows per LUT row (bq; 64 for dense) */
  int Tm;                    /* LUT rows per head */
  int bk, Tn, nsel;          /* nsel = k blocks per row; dense: bk = N, Tn = 1, nsel = 1 */
  int quant;                 /* SLA2_QMODE_* (dense: none) */
  float scale;
} attn_args;

/* Number of selected key positions of LUT row (bh, i). */
__device__ inline int attn_total_keys(const attn_args &a, int bh, int i) {
  if (!a.lut) return a.N;
  const int last = a.lut[((long long)bh * a.Tm + i) * a.nsel + a.nsel - 1];
  return (a.nsel - 1) * a.bk + min(a.N - last * a.bk, a.bk);
}

/* Key row and key block of position p. */
__device__ inline int attn_key(const attn_args &a, const int *lut_row, int p, int *block) {
  if (!lut_row) {
    *block = 0;
    return p;
  }
  const int t = p / a.bk, j = lut_row[t];
  *block = j;
  return j * a.bk + (p - t * a.bk);
}

/* e4m3 code -> f32 (core/numeric.c's sla2_e4m3_to_f32). */
__device__ inline float e4m3_to_f32(uint8_t code) {
  const int exp = (code >> 3) & 0xF, mant = code & 0x7;
  if (exp == 0xF && mant == 0x7) return __int_as_float(0x7fc00000);
  const float v = exp == 0 ? ldexpf((float)mant, -9) : ldexpf(1.0f + (float)mant / 8.0f, exp - SLA2_FP8_E4M3_BIAS);
  return (code & 0x80) ? -v : v;
}

/* Launchers; `mma` reports whether the tensor-core kernel takes these arguments. */
bool attn_mma_supported(const attn_args &a, const cuda_device_ctx *dev);
sla2_status attn_mma_launch(const attn_args &a, cuda_device_ctx *dev, long long BH);
sla2_status attn_simt_launch(const attn_args &a, cuda_device_ctx *dev, long long BH);

#endif
