/* Device helpers shared by the CUDA op files: strided f32/f16/bf16 element access, the exact
 * FP8 E4M3 and INT8 encoders of core/numeric.c, and launch-size helpers. */
#ifndef SLA2_BACKENDS_CUDA_COMMON_CUH
#define SLA2_BACKENDS_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <limits.h>
#include <stdint.h>

#include "backends/cuda/cuda_internal.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

#define CUDA_LOG2E 1.4426950408889634f
#define CUDA_LN2 0.6931471805599453f

__host__ __device__ inline long long t4_off(const cuda_t4 &t, long long b, long long h, long long n, long long d) {
  return b * t.s[0] + h * t.s[1] + n * t.s[2] + d * t.s[3];
}

/* Element i of a float tensor in its dtype, widened exactly to f32. */
__device__ inline float load_as_f32(const void *base, int dtype, long long i) {
  if (dtype == SLA2_F16) return __half2float(((const __half *)base)[i]);
  if (dtype == SLA2_BF16) return __bfloat162float(((const __nv_bfloat16 *)base)[i]);
  return ((const float *)base)[i];
}

/* Stores v rounded half to even to the dtype (the oracle's sla2_store_float). */
__device__ inline void store_from_f32(void *base, int dtype, long long i, float v) {
  if (dtype == SLA2_F16)
    ((__half *)base)[i] = __float2half_rn(v);
  else if (dtype == SLA2_BF16)
    ((__nv_bfloat16 *)base)[i] = __float2bfloat16_rn(v);
  else
    ((float *)base)[i] = v;
}

__device__ inline float t4_load(const cuda_t4 &t, long long b, long long h, long long n, long long d) {
  return load_as_f32(t.base, t.dtype, t4_off(t, b, h, n, d));
}

__device__ inline void t4_store(const cuda_t4 &t, long long b, long long h, long long n, long long d, float v) {
  store_from_f32(t.base, t.dtype, t4_off(t, b, h, n, d), v);
}

/* core/numeric.c's sla2_f32_to_e4m3, bit for bit: round half to even, saturate to 448. */
__device__ inline uint8_t f32_to_e4m3(float f) {
  if (isnan(f)) return 0x7F;
  uint8_t sign = signbit(f) ? 0x80 : 0x00;
  float a = fabsf(f);
  if (a >= SLA2_FP8_E4M3_MAX) return (uint8_t)(sign | SLA2_FP8_E4M3_MAX_CODE);
  int e = a >= 0x1p-6f ? ilogbf(a) : -6;
  float spacing = ldexpf(1.0f, e - 3);
  float v = rintf(__fdiv_rn(a, spacing)) * spacing; /* exact scaling by a power of two */
  if (v >= SLA2_FP8_E4M3_MAX) return (uint8_t)(sign | SLA2_FP8_E4M3_MAX_CODE);
  if (v < 0x1p-6f) return (uint8_t)(sign | (uint8_t)(v * 0x1p9f));
  int ve = ilogbf(v);
  uint8_t mant = (uint8_t)(ldexpf(v, -ve) * 8.0f - 8.0f);
  return (uint8_t)(sign | (uint8_t)((ve + SLA2_FP8_E4M3_BIAS) << 3) | mant);
}

/* clamp(rint(x / sigma), -127, 127) with an IEEE f32 division (core/numeric.c). */
__device__ inline int8_t int8_code(float x, float sigma) {
  float q = rintf(__fdiv_rn(x, sigma));
  if (isnan(q)) return 0;
  q = fminf(fmaxf(q, -(float)SLA2_INT8_MAX), (float)SLA2_INT8_MAX);
  return (int8_t)q;
}

/* The same codes from x * rcp (rcp = 1 / sigma, rounded) where that is safe: the product lies
 * within 2^-22 (relative) of the rounded quotient the reference encoders start from, so where
 * nudging it by 2^-20 either way gives one code, the quotient gives it too. Near a rounding
 * boundary or a tie, and for a sigma whose reciprocal is not a normal float, the IEEE division
 * decides. Bit for bit the reference's results (checked exhaustively on the encoder, and against
 * the oracle by the suite). */
__device__ inline bool rcp_usable(float sigma) { return sigma >= 0x1p-100f && sigma <= 0x1p100f; }

/* rint(v) for |v| < 2^22 is v + 1.5 * 2^23 rounded to an integer, whose bits are the magic's plus
 * rint(v): two full-rate adds instead of FRND and F2I, quarter-rate conversions. The products are
 * __fmul_rn so that no FMA skips their rounding. */
#define CUDA_RINT_MAGIC 12582912.0f /* 1.5 * 2^23, bits 0x4B400000 */
__device__ inline int8_t int8_code_rcp(float x, float sigma, float rcp) {
  const float y = x * rcp;
  const int lo = __float_as_int(__fadd_rn(__fmul_rn(y, 1.0f - 0x1p-20f), CUDA_RINT_MAGIC));
  const int hi = __float_as_int(__fadd_rn(__fmul_rn(y, 1.0f + 0x1p-20f), CUDA_RINT_MAGIC));
  if (lo != hi || !(fabsf(y) < 0x1p21f) || !rcp_usable(sigma)) return int8_code(x, sigma); /* NaN too */
  return (int8_t)min(max(lo - 0x4B400000, -SLA2_INT8_MAX), SLA2_INT8_MAX);
}

/* An s8 dot product (|x| <= 127 * 127 * 256 < 2^22) as f32, exactly: x added to the bits of
 * 1.5 * 2^23 lands in the mantissa, and one subtraction takes the 1.5 * 2^23 off again. An integer
 * add and a float add run at full rate where I2F is a quarter-rate conversion (sm_80, sm_90), and
 * the attention kernels convert every score. Same value as (float)x. */
__device__ inline float s8dot_to_f32(int x) { return __int_as_float(0x4B400000 + x) - CUDA_RINT_MAGIC; }

/* The INT8 codes of 4 consecutive channels packed into one word, channel 0 in the low byte. */
__device__ inline unsigned int8_codes4(const float x[4], float sigma, float rcp) {
  unsigned packed = 0;
#pragma unroll
  for (int u = 0; u < 4; u++) packed |= (unsigned)(uint8_t)int8_code_rcp(x[u], sigma, rcp) << (8 * u);
  return packed;
}

/* f32 -> E4M3 in one conversion instruction (round half to even, saturating); NaN excluded. */
__device__ inline uint8_t e4m3_hw(float f) { return (uint8_t)__nv_cvt_float_to_fp8(f, __NV_SATFINITE, __NV_E4M3); }

__device__ inline uint8_t e4m3_code_rcp(float x, float sigma, float rcp) {
  const float y = x * rcp;
  const uint8_t lo = e4m3_hw(y * (1.0f - 0x1p-20f)), hi = e4m3_hw(y * (1.0f + 0x1p-20f));
  if (lo != hi || isnan(y) || !rcp_usable(sigma)) return f32_to_e4m3(__fdiv_rn(x, sigma));
  return lo;
}

__device__ inline float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ inline float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/* Whether every row of t starts 4-element aligned with unit channel stride, so that 4
 * consecutive channels from a multiple of 4 load as one 16-byte (f32) or 8-byte vector. */
static inline bool cuda_t4_vec4(const cuda_t4 &t) {
  const size_t esize = t.dtype == SLA2_F32 ? 4 : 2;
  return t.s[3] == 1 && t.s[0] % 4 == 0 && t.s[1] % 4 == 0 && t.s[2] % 4 == 0 &&
         ((uintptr_t)t.base % (4 * esize)) == 0;
}

/* The view of a contiguous [B, H, N, D] array of `dtype` at base (scratch the kernels write). */
static inline cuda_t4 cuda_t4_contiguous(void *base, int dtype, long long H, long long N, long long D) {
  cuda_t4 t;
  t.base = base, t.dtype = dtype;
  t.s[3] = 1, t.s[2] = D, t.s[1] = N * D, t.s[0] = H * N * D;
  return t;
}

/* Channels d..d+3 of row n, widened to f32: one vector load when `vec`, else four. */
__device__ inline void t4_load4(const cuda_t4 &t, long long b, long long h, long long n, int d, bool vec,
                                float out[4]) {
  const long long i = t4_off(t, b, h, n, d);
  if (vec && t.dtype == SLA2_F32) {
    const float4 x = *reinterpret_cast<const float4 *>((const float *)t.base + i);
    out[0] = x.x, out[1] = x.y, out[2] = x.z, out[3] = x.w;
  } else if (vec) {
    const uint2 x = *reinterpret_cast<const uint2 *>((const uint16_t *)t.base + i);
    const unsigned w[2] = {x.x, x.y};
#pragma unroll
    for (int u = 0; u < 4; u++) {
      const unsigned short bits = (unsigned short)(w[u / 2] >> (16 * (u % 2)));
      out[u] = t.dtype == SLA2_F16 ? __half2float(__ushort_as_half(bits)) : __bfloat162float(__ushort_as_bfloat16(bits));
    }
  } else {
#pragma unroll
    for (int u = 0; u < 4; u++) out[u] = load_as_f32(t.base, t.dtype, i + u * t.s[3]);
  }
}

/* The feature map of one row held by a warp as 4 channels per lane (lanes with `on` false hold
 * no channel and get 0); softmax reduces across the warp. */
__device__ inline void phi_row4(const float x[4], bool on, int fmap, float out[4]) {
  if (fmap == SLA2_FMAP_SOFTMAX) {
    float m = -INFINITY;
#pragma unroll
    for (int u = 0; u < 4; u++) m = on ? fmaxf(m, x[u]) : m;
    m = warp_max(m);
    float s = 0.0f;
#pragma unroll
    for (int u = 0; u < 4; u++) {
      out[u] = on ? expf(x[u] - m) : 0.0f;
      s += out[u];
    }
    s = warp_sum(s);
#pragma unroll
    for (int u = 0; u < 4; u++) out[u] = on ? out[u] / s : 0.0f;
    return;
  }
#pragma unroll
  for (int u = 0; u < 4; u++) {
    const float y = fmap == SLA2_FMAP_ELU ? (x[u] > 0.0f ? x[u] + 1.0f : expf(x[u])) : fmaxf(x[u], 0.0f);
    out[u] = on ? y : 0.0f;
  }
}

/* Softmax of a row held by a warp as 4 channels per lane (lanes with `on` false hold none) with
 * a fast exp and one reciprocal: for features that are rounded to 16 bits next, whose rounding
 * is coarser than these errors (Hopper's linear branch: phi(q), phi(K~)). */
__device__ inline void softmax_row4_fast(const float x[4], bool on, float out[4]) {
  float m = on ? fmaxf(fmaxf(x[0], x[1]), fmaxf(x[2], x[3])) : -INFINITY;
  m = warp_max(m);
  float sum = 0.0f;
#pragma unroll
  for (int u = 0; u < 4; u++) out[u] = on ? __expf(x[u] - m) : 0.0f, sum += out[u];
  const float inv = 1.0f / warp_sum(sum);
#pragma unroll
  for (int u = 0; u < 4; u++) out[u] *= inv;
}

/* Four consecutive values rounded to f16 or bf16 (nearest even) at element i of a 16-bit array;
 * the rounded values are returned in r unless it is NULL. i must be a multiple of 4 (an 8-byte
 * store). */
__device__ inline void store4_16(void *base, long long i, const float v[4], bool bf16, float r[4]) {
  unsigned w[2];
  for (int u = 0; u < 2; u++) {
    if (bf16) {
      const __nv_bfloat162 x = __floats2bfloat162_rn(v[2 * u], v[2 * u + 1]);
      w[u] = *reinterpret_cast<const unsigned *>(&x);
      if (r) r[2 * u] = __low2float(x), r[2 * u + 1] = __high2float(x);
    } else {
      const __half2 x = __floats2half2_rn(v[2 * u], v[2 * u + 1]);
      w[u] = *reinterpret_cast<const unsigned *>(&x);
      if (r) r[2 * u] = __low2float(x), r[2 * u + 1] = __high2float(x);
    }
  }
  *reinterpret_cast<uint2 *>(static_cast<uint16_t *>(base) + i) = make_uint2(w[0], w[1]);
}

static inline unsigned cdiv_u(long long a, long long b) { return (unsigned)((a + b - 1) / b); }

/* Grid of a persistent kernel over `items` work items (the Hopper LUT-row kernels: one item per
 * (b, h, query block)): one CTA per multiprocessor, no more than there are items; the kernels
 * count items in an int. */
static inline sla2_status cuda_persistent_ctas(long long items, const cuda_device_ctx *dev, unsigned *ctas) {
  if (items > INT_MAX) return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: too many query blocks for one launch");
  *ctas = (unsigned)(items < dev->sm_count ? items : dev->sm_count);
  return SLA2_OK;
}

/* Selected key positions of a LUT row of nsel blocks of bk keys (ascending): only the last entry
 * can be the partial block past which N ends. */
__device__ inline int lut_row_keys(const int *lut_row, int nsel, int bk, int N) {
  return (nsel - 1) * bk + min(N - lut_row[nsel - 1] * bk, bk);
}

#endif
