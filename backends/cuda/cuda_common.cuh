/* Device helpers shared by the CUDA op files: strided f32/f16/bf16 element access, the exact
 * FP8 E4M3 and INT8 encoders of core/numeric.c, and launch-size helpers. */
#ifndef SLA2_BACKENDS_CUDA_COMMON_CUH
#define SLA2_BACKENDS_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "backends/cuda/cuda_internal.h"
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

__device__ inline float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ inline float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

static inline unsigned cdiv_u(long long a, long long b) { return (unsigned)((a + b - 1) / b); }

#endif
