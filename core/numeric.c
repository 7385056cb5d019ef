/* Scalar number formats: f16, bf16, FP8 E4M3, INT8 codes. Bit-exact, round half to even. */
#include "core/numeric.h"

#include <math.h>
#include <string.h>

#include "shaders/common/sla2_constants.h"
#include "sla2/tensor.h"

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

float sla2_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return bits_f32(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    /* zero or subnormal: mant * 2^-24, exact in f32 */
    float v = ldexpf((float)mant, -24);
    return sign ? -v : v;
  }
  return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

uint16_t sla2_f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  float a = fabsf(f);
  if (isnan(f)) return (uint16_t)(sign | 0x7E00u);
  if (a >= 65520.0f) return (uint16_t)(sign | 0x7C00u); /* rounds past the max finite 65504 */
  if (a < 0x1p-14f) {
    /* subnormal: multiples of 2^-24, the scaling is exact, nearbyintf rounds half to even */
    return (uint16_t)(sign | (uint16_t)nearbyintf(a * 0x1p24f));
  }
  uint32_t au = f32_bits(a);
  uint32_t exp = (au >> 23) - 112u;
  uint32_t mant = au & 0x7FFFFFu;
  uint32_t out = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (out & 1u))) out += 1u; /* carry may bump the exponent */
  return (uint16_t)(sign | out);
}

float sla2_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t sla2_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if (isnan(f)) return (uint16_t)((u >> 16) | 0x40u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

uint8_t sla2_f32_to_e4m3(float f) {
  if (isnan(f)) return 0x7F;
  uint8_t sign = signbit(f) ? 0x80 : 0x00;
  float a = fabsf(f);
  if (a >= SLA2_FP8_E4M3_MAX) return (uint8_t)(sign | SLA2_FP8_E4M3_MAX_CODE); /* saturate */
  /* spacing of representable values around a: 2^(e-3) for normals, 2^-9 for subnormals */
  int e = a >= 0x1p-6f ? ilogbf(a) : -6;
  float spacing = ldexpf(1.0f, e - 3);
  float v = nearbyintf(a / spacing) * spacing; /* exact scaling; half to even */
  if (v >= SLA2_FP8_E4M3_MAX) return (uint8_t)(sign | SLA2_FP8_E4M3_MAX_CODE);
  if (v < 0x1p-6f) return (uint8_t)(sign | (uint8_t)(v * 0x1p9f)); /* subnormal or zero */
  int ve = ilogbf(v);
  uint8_t mant = (uint8_t)(ldexpf(v, -ve) * 8.0f - 8.0f);
  return (uint8_t)(sign | (uint8_t)((ve + SLA2_FP8_E4M3_BIAS) << 3) | mant);
}

float sla2_e4m3_to_f32(uint8_t code) {
  int exp = (code >> 3) & 0xF;
  int mant = code & 0x7;
  float v;
  if (exp == 0xF && mant == 0x7) return NAN;
  if (exp == 0)
    v = ldexpf((float)mant, -9);
  else
    v = ldexpf(1.0f + (float)mant / 8.0f, exp - SLA2_FP8_E4M3_BIAS);
  return (code & 0x80) ? -v : v;
}

float sla2_int8_sigma(float amax) { return amax > 0.0f ? amax / (float)SLA2_INT8_MAX : 1.0f; }

float sla2_fp8_sigma(float amax) { return amax > 0.0f ? amax / SLA2_FP8_E4M3_MAX : 1.0f; }

int8_t sla2_int8_code(float x, float sigma) {
  float q = nearbyintf(x / sigma);
  if (isnan(q)) return 0; /* inputs are finite by contract; never cast NaN to an integer */
  if (q > (float)SLA2_INT8_MAX) q = (float)SLA2_INT8_MAX;
  if (q < -(float)SLA2_INT8_MAX) q = -(float)SLA2_INT8_MAX;
  return (int8_t)q;
}

float sla2_load_float(const void *base, int dtype, int64_t i) {
  switch (dtype) {
  case SLA2_F16: return sla2_f16_to_f32(((const uint16_t *)base)[i]);
  case SLA2_BF16: return sla2_bf16_to_f32(((const uint16_t *)base)[i]);
  default: return ((const float *)base)[i];
  }
}

void sla2_store_float(void *base, int dtype, int64_t i, float value) {
  switch (dtype) {
  case SLA2_F16: ((uint16_t *)base)[i] = sla2_f32_to_f16(value); break;
  case SLA2_BF16: ((uint16_t *)base)[i] = sla2_f32_to_bf16(value); break;
  default: ((float *)base)[i] = value; break;
  }
}
