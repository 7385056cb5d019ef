/* SPARSE_ATTN / DENSE_ATTN shared between the exact SIMT kernel (cuda_op_attention.cu), the
 * sm_80 tensor-core kernel (cuda_attn_mma.cu) and the sm_90a kernel (cuda_attn_wgmma.cu).
 *
 * Keys are addressed by position p in the concatenation of the LUT row's blocks:
 * block t = p / bk, key = lut[t] * bk + p % bk. Only the last LUT entry can be a partial block
 * (the LUT ascends and only block Tn - 1 is partial), so positions [0, total) are exactly the
 * selected keys. Dense attention is the same with lut = NULL, one block of bk = N keys. */
#ifndef SLA2_BACKENDS_CUDA_ATTENTION_CUH
#define SLA2_BACKENDS_CUDA_ATTENTION_CUH

#include <cuda_fp8.h>

#include "backends/cuda/cuda_common.cuh"

typedef struct attn_args {
  cuda_t4 q, k, v, o;        /* q, k, v unused where the quant mode reads codes */
  const void *klo;           /* mma, quant none with f32 K~: K~ - hi(K~) in Q's type, k = hi(K~) */
  float *lse;                /* NULL: not wanted */
  const float *lse_shift;    /* NULL, or per query row [B,H,N]: k is the raw K and the contract's
                              * scores are s q.k - lse_shift (smooth_k's softmax-invariant shift
                              * s q.mean_N(K)), so only the LSE takes it off. May alias lse: each
                              * row's shift is read before its LSE is written, by the same thread. */
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
  return a.lut ? lut_row_keys(a.lut + ((long long)bh * a.Tm + i) * a.nsel, a.nsel, a.bk, a.N) : a.N;
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

/* Stores row n's LSE (natural log) as the contract defines it: less the row's lse_shift where the
 * scores were taken against raw K. */
__device__ inline void attn_store_lse(const attn_args &a, int bh, int n, float lse) {
  const long long at = (long long)bh * a.N + n;
  a.lse[at] = a.lse_shift ? lse - a.lse_shift[at] : lse;
}

/* e4m3 code -> f32 (core/numeric.c's sla2_e4m3_to_f32). */
__device__ inline float e4m3_to_f32(uint8_t code) {
  const int exp = (code >> 3) & 0xF, mant = code & 0x7;
  if (exp == 0xF && mant == 0x7) return __int_as_float(0x7fc00000);
  const float v = exp == 0 ? ldexpf((float)mant, -9) : ldexpf(1.0f + (float)mant / 8.0f, exp - SLA2_FP8_E4M3_BIAS);
  return (code & 0x80) ? -v : v;
}

/* Two E4M3 codes (low byte first) widened exactly to an f16 pair. */
__device__ inline uint32_t fp8x2_to_f16x2(unsigned short codes) {
  __half2_raw h = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)codes, __NV_E4M3);
  return (uint32_t)h.x | ((uint32_t)h.y << 16);
}

/* e4m3(448 lo), e4m3(448 hi) as an f16 pair: round half to even and saturate, as the oracle. */
__device__ inline uint32_t p_fp8_pair(float lo, float hi) {
  const __nv_fp8x2_storage_t c =
      __nv_cvt_float2_to_fp8x2(make_float2(SLA2_FP8_P_SCALE * lo, SLA2_FP8_P_SCALE * hi), __NV_SATFINITE, __NV_E4M3);
  return fp8x2_to_f16x2(c);
}

/* e4m3(448 p0), ..., e4m3(448 p3) as one register of an E4M3 wgmma A fragment, p0 in the low
 * byte (rounding as p_fp8_pair). */
__device__ inline uint32_t p_fp8_quad(float p0, float p1, float p2, float p3) {
  const __nv_fp8x2_storage_t lo = __nv_cvt_float2_to_fp8x2(make_float2(SLA2_FP8_P_SCALE * p0, SLA2_FP8_P_SCALE * p1),
                                                           __NV_SATFINITE, __NV_E4M3);
  const __nv_fp8x2_storage_t hi = __nv_cvt_float2_to_fp8x2(make_float2(SLA2_FP8_P_SCALE * p2, SLA2_FP8_P_SCALE * p3),
                                                           __NV_SATFINITE, __NV_E4M3);
  return (uint32_t)lo | (uint32_t)hi << 16;
}

/* Launchers; `*_supported` reports whether that kernel takes these arguments on this device. */
bool attn_wgmma_supported(const attn_args &a, const cuda_device_ctx *dev);
sla2_status attn_wgmma_launch(const attn_args &a, cuda_device_ctx *dev, long long BH);
bool attn_mma_supported(const attn_args &a, const cuda_device_ctx *dev);
sla2_status attn_mma_launch(const attn_args &a, cuda_device_ctx *dev, long long BH);
sla2_status attn_simt_launch(const attn_args &a, cuda_device_ctx *dev, long long BH);

/* K~ (a.k, f32) split into 16-bit hi = round(K~) and lo = round(K~ - hi) in the device scratch,
 * contiguous [B,H,N,D]: *hi becomes hi's view, *lo its twin. bf16 or f16 by `bf16`. */
sla2_status attn_split_k(const attn_args &a, cuda_device_ctx *dev, long long BH, bool bf16, cuda_t4 *hi,
                         const void **lo);
/* FP8 V codes (a.vc) widened exactly to f16 in the device scratch, contiguous: *v is their view. */
sla2_status attn_fp8_v_f16(const attn_args &a, cuda_device_ctx *dev, long long BH, cuda_t4 *v);
/* FP8 V codes (a.vc) as the Hopper kernel's K-major V tiles in the device scratch (sm_90a builds;
 * cuda_attn_fp8_vt.cu): [B*H][*chunks][D][ATTN_VT_KEYS] bytes, keys permuted within each 16. */
#define ATTN_VT_KEYS 32
sla2_status attn_fp8_vt(const attn_args &a, cuda_device_ctx *dev, long long BH, const uint8_t **vt, int *chunks);

#endif
