// Shared helpers for the sla2 Vulkan compute shaders (GLSL 4.50, Vulkan 1.2, no optional features).
//
// Number formats are converted with integer bit operations so every backend rounds the same way
// as core/numeric.c: f16 / bf16 round half to even, FP8 E4M3 saturating, and the quantizers use
// an exactly rounded f32 division where a rounding decision depends on it (GLSL's '/' may be off
// by a few ulps). External tensors are read through uint arrays (two 16-bit elements per word),
// so the baseline path needs no 16-bit storage feature.
#ifndef SLA2_VK_COMMON_GLSL
#define SLA2_VK_COMMON_GLSL

#include "sla2_constants.h"

// Element types of float tensors (the values of sla2_dtype).
#define DT_F32 0u
#define DT_F16 1u
#define DT_BF16 2u

float sla2_pow2(int e) { return uintBitsToFloat(uint(e + 127) << 23); } // exact, e in [-126, 127]

float sla2_f16_to_f32(uint h) {
  uint sign = (h & 0x8000u) << 16;
  uint e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0x1Fu) return uintBitsToFloat(sign | 0x7F800000u | (m << 13));
  if (e == 0u) {
    float v = float(m) * 5.9604644775390625e-8; // m * 2^-24: exact and normal in f32
    return sign != 0u ? -v : v;
  }
  return uintBitsToFloat(sign | ((e + 112u) << 23) | (m << 13));
}

uint sla2_f32_to_f16(float f) {
  uint u = floatBitsToUint(f);
  uint sign = (u >> 16) & 0x8000u;
  uint au = u & 0x7FFFFFFFu;
  if (au > 0x7F800000u) return sign | 0x7E00u;  // NaN
  if (au >= 0x477FF000u) return sign | 0x7C00u; // >= 65520 rounds past the largest finite
  if (au < 0x38800000u)                         // below 2^-14: subnormal, multiples of 2^-24
    return sign | uint(roundEven(uintBitsToFloat(au) * 16777216.0));
  uint o = (((au >> 23) - 112u) << 10) | ((au & 0x7FFFFFu) >> 13);
  uint rest = au & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (o & 1u) != 0u)) o += 1u; // carry may bump the exponent
  return sign | o;
}

float sla2_bf16_to_f32(uint h) { return uintBitsToFloat(h << 16); }

uint sla2_f32_to_bf16(float f) {
  uint u = floatBitsToUint(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (u >> 16) | 0x40u;
  u += 0x7FFFu + ((u >> 16) & 1u);
  return u >> 16;
}

// 16-bit pattern of v in dtype dt (F16 or BF16).
uint sla2_f32_to_16(uint dt, float v) { return dt == DT_F16 ? sla2_f32_to_f16(v) : sla2_f32_to_bf16(v); }
float sla2_16_to_f32(uint dt, uint h) { return dt == DT_F16 ? sla2_f16_to_f32(h) : sla2_bf16_to_f32(h); }

// x / y rounded to nearest, ties to even, exactly as an IEEE f32 division: integer long division
// of the significands. x finite, y finite and nonzero.
float sla2_div_rn(float x, float y) {
  uint xb = floatBitsToUint(x), yb = floatBitsToUint(y);
  uint sign = (xb ^ yb) & 0x80000000u;
  uint xe = (xb >> 23) & 0xFFu, ye = (yb >> 23) & 0xFFu;
  uint xm = xb & 0x7FFFFFu, ym = yb & 0x7FFFFFu;
  if (xe == 0u && xm == 0u) return uintBitsToFloat(sign);
  int ex = int(xe), ey = int(ye);
  if (xe == 0u) { int s = 23 - findMSB(xm); xm <<= uint(s); ex = 1 - s; } else { xm |= 0x800000u; }
  if (ye == 0u) { int s = 23 - findMSB(ym); ym <<= uint(s); ey = 1 - s; } else { ym |= 0x800000u; }
  int e = ex - ey + 127; // biased exponent of the quotient
  if (xm < ym) { xm <<= 1u; e -= 1; }
  uint q = 0u, r = xm; // 24 significant bits and a guard bit; the remainder is the sticky bit
  for (int i = 0; i < 25; i++) {
    q <<= 1u;
    if (r >= ym) { r -= ym; q |= 1u; }
    r <<= 1u;
  }
  bool sticky = r != 0u;
  if (e <= 0) { // subnormal quotient: drop 1 - e more bits into the sticky bit
    uint sh = uint(min(1 - e, 26));
    sticky = sticky || (q & ((1u << sh) - 1u)) != 0u;
    q >>= sh;
    e = 0;
  }
  uint guard = q & 1u;
  q >>= 1u;
  if (guard != 0u && (sticky || (q & 1u) != 0u)) q += 1u;
  if (e == 0) return uintBitsToFloat(sign | q); // 2^23 rounds up into the smallest normal
  if (q == 0x1000000u) { q >>= 1u; e += 1; }
  if (e >= 255) return uintBitsToFloat(sign | 0x7F800000u);
  return uintBitsToFloat(sign | (uint(e) << 23) | (q & 0x7FFFFFu));
}

// INT8 code of x with scale sigma: clamp(rint(x / sigma), -127, 127) with an exact f32 division.
// The hardware quotient (within a few ulps) decides unless it lies near a .5 tie, where the exact
// quotient is computed.
int sla2_int8_code(float x, float sigma) {
  float q = x / sigma;
  float a = abs(q);
  if (abs(fract(a) - 0.5) <= a * 1e-6) q = sla2_div_rn(x, sigma);
  return int(clamp(roundEven(q), -float(SLA2_INT8_MAX), float(SLA2_INT8_MAX)));
}

// sigma = amax / 127 (1 when amax == 0), exact.
float sla2_int8_sigma(float amax) { return amax > 0.0 ? sla2_div_rn(amax, float(SLA2_INT8_MAX)) : 1.0; }
// sigma_v = amax / 448 (1 when amax == 0), exact.
float sla2_fp8_sigma(float amax) { return amax > 0.0 ? sla2_div_rn(amax, SLA2_FP8_E4M3_MAX) : 1.0; }

// Exponent of a normal a, or -6 below 2^-6 (the E4M3 subnormal range shares 2^-9 spacing).
int sla2_e4m3_exponent(float a) { return a >= 0.015625 ? int(floatBitsToUint(a) >> 23) - 127 : -6; }

// a >= 0 rounded to the E4M3 grid (half to even), saturating at 448, without branches on the
// exponent: the grid step is 2^-9 below 2^-6, else 3 mantissa bits. (The fast kernels' form of
// sla2_e4m3_round for a >= 0.)
float sla2_e4m3_round_pos(float a) {
  uint u = floatBitsToUint(a);
  float normal = uintBitsToFloat((u + 0x7FFFFu + ((u >> 20) & 1u)) & 0xFFF00000u);
  float sub = roundEven(a * 512.0) * 0.001953125;
  return min(a < 0.015625 ? sub : normal, SLA2_FP8_E4M3_MAX);
}

// K~ (f32) as the f16 halves of the cooperative-matrix-2 sparse kernel of quant mode `none`: with
// y = x / 2 (clamped to the f16 range), hi = y rounded to 10 mantissa bits and lo = (y - hi) 2^11,
// K~ = 2 (hi + 2^-11 lo) to about 22 bits. Halving keeps smoothed keys of f16 inputs (up to twice
// 65504) in range; the 2^11 lifts the remainder out of the f16 subnormals. hi is rounded with
// integer operations: a float -> f16 -> float round trip can be folded away by a driver's
// compiler, which would leave lo = 0. Returns (hi, lo) as floats for the caller's f16 conversion.
vec2 sla2_split_k(float x) {
  const float y = clamp(0.5 * x, -65504.0, 65504.0);
  const uint u = floatBitsToUint(y);
  const float hi = uintBitsToFloat((u + 0xFFFu + ((u >> 13) & 1u)) & 0xFFFFE000u);
  return vec2(hi, (y - hi) * SLA2_SPLIT_LO_SCALE);
}

// Four f16 bit patterns packed two to a word, first in the low half.
uvec2 sla2_pack_f16x4(uint a, uint b, uint c, uint d) { return uvec2(a | (b << 16), c | (d << 16)); }
// An INT8 code (the low byte of `code`, sign-extended) as the f16 bits of its value: exact.
uint sla2_int8_to_f16(uint code) { return sla2_f32_to_f16(float(int(code << 24) >> 24)); }
// An E4M3 code -> the f16 bits of 2^-8 times its value, exactly: the sign, exponent and
// mantissa fields shift into place as they are (E4M3's exponent field becomes the low four bits
// of f16's, and E4M3 subnormals land on f16 subnormals), which scales every code by 2^(7 - 15)
// alike. Three operations instead of a rebias with a subnormal branch.
uint sla2_e4m3_to_f16_scaled(uint code) { return ((code & 0x80u) << 8) | ((code & 0x7Fu) << 7); }
const float SLA2_E4M3_F16_UNSCALE = 256.0; // 2^8: undoes sla2_e4m3_to_f16_scaled's 2^-8

// |f| rounded to the E4M3 grid (half to even, saturating at 448). a >= 0 and finite.
float sla2_e4m3_round(float a) {
  if (a >= SLA2_FP8_E4M3_MAX) return SLA2_FP8_E4M3_MAX;
  int e = sla2_e4m3_exponent(a);
  float v = roundEven(a * sla2_pow2(3 - e)) * sla2_pow2(e - 3); // power-of-two scalings: exact
  return min(v, SLA2_FP8_E4M3_MAX);
}

uint sla2_f32_to_e4m3(float f) {
  uint u = floatBitsToUint(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7Fu;
  uint sign = (u >> 24) & 0x80u;
  float v = sla2_e4m3_round(abs(f));
  if (v >= SLA2_FP8_E4M3_MAX) return sign | uint(SLA2_FP8_E4M3_MAX_CODE);
  if (v < 0.015625) return sign | uint(v * 512.0); // subnormal or zero: v / 2^-9
  uint vb = floatBitsToUint(v);
  return sign | ((((vb >> 23) - 127u) + uint(SLA2_FP8_E4M3_BIAS)) << 3) | ((vb >> 20) & 7u);
}

float sla2_e4m3_to_f32(uint code) {
  uint e = (code >> 3) & 0xFu, m = code & 7u;
  if (e == 0xFu && m == 7u) return uintBitsToFloat(0x7FC00000u);
  float v = e == 0u ? float(m) * 0.001953125 : uintBitsToFloat(((e + 120u) << 23) | (m << 20));
  return (code & 0x80u) != 0u ? -v : v;
}

// FP8 code of x / sigma with an exact f32 division (as sla2_int8_code: exact near a rounding tie).
uint sla2_fp8_code(float x, float sigma) {
  float q = x / sigma;
  float a = abs(q);
  float t = a * sla2_pow2(3 - sla2_e4m3_exponent(a)); // position on the E4M3 grid
  if (abs(fract(t) - 0.5) <= t * 1e-6) q = sla2_div_rn(x, sigma);
  return sla2_f32_to_e4m3(q);
}

// Element index of [b, h, n, d] with element strides s (uvec4: B, H, N, D).
uint sla2_index(uvec4 s, uint b, uint h, uint n, uint d) { return b * s.x + h * s.y + n * s.z + d * s.w; }

// Readers and writers of float tensors of dtype dt held in a uint array ARR (a buffer member).
// Stores to 16-bit tensors replace their half of the word atomically, so neighbouring elements
// written by other invocations survive; STORE2 writes two elements that share one word.
// LOAD2 reads elements i and i + step, as one word where they share one (16-bit, adjacent).
// dt may carry SLA2_VK_DT_PAIRED (vk_slot_load_dtype): then FN##2 reads the pair's word with no
// test, so its loads are straight-line code the compiler can batch (a test per pair halved the
// bandwidth of f16 reads on the H100).
#define SLA2_DEFINE_LOAD(FN, ARR)                                                  \
  float FN(uint dt, uint i) {                                                      \
    dt &= ~SLA2_VK_DT_PAIRED;                                                      \
    if (dt == DT_F32) return uintBitsToFloat(ARR[i]);                              \
    uint w = ARR[i >> 1];                                                          \
    return sla2_16_to_f32(dt, (i & 1u) != 0u ? (w >> 16) : (w & 0xFFFFu));        \
  }                                                                                \
  vec2 FN##2(uint dt, uint i, uint step) {                                         \
    if ((dt & SLA2_VK_DT_PAIRED) == 0u && (dt == DT_F32 || step != 1u || (i & 1u) != 0u)) \
      return vec2(FN(dt, i), FN(dt, i + step));                                    \
    dt &= ~SLA2_VK_DT_PAIRED;                                                      \
    uint w = ARR[i >> 1];                                                          \
    return vec2(sla2_16_to_f32(dt, w & 0xFFFFu), sla2_16_to_f32(dt, w >> 16));     \
  }
#define SLA2_DEFINE_STORE(FN, ARR)                                                 \
  void FN(uint dt, uint i, float v) {                                              \
    if (dt == DT_F32) { ARR[i] = floatBitsToUint(v); return; }                     \
    uint sh = (i & 1u) * 16u;                                                      \
    atomicAnd(ARR[i >> 1], ~(0xFFFFu << sh));                                      \
    atomicOr(ARR[i >> 1], sla2_f32_to_16(dt, v) << sh);                            \
  }                                                                                \
  void FN##2(uint dt, uint i, float v0, float v1) { /* i even, 16-bit dt */       \
    ARR[i >> 1] = sla2_f32_to_16(dt, v0) | (sla2_f32_to_16(dt, v1) << 16);         \
  }

#endif
