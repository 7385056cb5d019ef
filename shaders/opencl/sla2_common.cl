/* Helpers shared by every sla2 OpenCL program (OpenCL C 1.2). The host prepends
 * shaders/common/sla2_constants.h and appends one kernel file.
 *
 * Build parameters set by the host:
 *   SLA2_D           head dim
 *   SLA2_FP64        cl_khr_fp64 is there: means, router and mixing in double like the oracle
 *                    (float-float pairs otherwise)
 *   SLA2_SOFT_DIV    the device gives no correctly rounded f32 division; div_rn computes it
 *   SLA2_CPU_DEVICE  a CPU-type device (tile choices only)
 *
 * Tensors of the caller ([B,H,N,D] views in f32, f16 or bf16) are passed as bytes with their
 * dtype and element strides; f16 goes through vload_half / vstore_half_rte (core OpenCL 1.2,
 * no cl_khr_fp16 needed), bf16 through bit shifts. */

#ifdef SLA2_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* ---- sums the oracle takes in double -------------------------------------------------------
 * sum_t is a double where the device has cl_khr_fp64, else a float-float pair (hi, lo) with
 * about 44 bits: block means of K~ cancel to ~0 over a whole sequence, and plain f32 sums lose
 * them. Both are 8 bytes, so buffers of sums have one layout. */
inline float2 two_sum(float a, float b) {
  float s = a + b, bb = s - a;
  return (float2)(s, (a - (s - bb)) + (b - bb));
}
inline float2 fast_two_sum(float a, float b) {
  float s = a + b;
  return (float2)(s, b - (s - a));
}
#ifdef SLA2_FP64
typedef double sum_t;
inline sum_t sum_zero(void) { return 0.0; }
inline sum_t sum_of(float x) { return (double)x; }
inline sum_t sum_add(sum_t s, float x) { return s + (double)x; }
inline sum_t sum_merge(sum_t a, sum_t b) { return a + b; }
inline sum_t sum_div(sum_t s, int n) { return s / (double)n; }
inline float sum_to_float(sum_t s) { return (float)s; }
/* (float)(x - s) with one rounding (as the oracle's (float)((double)x - mean)). */
inline float sum_sub_from(float x, sum_t s) { return (float)((double)x - s); }
#else
typedef float2 sum_t;
inline sum_t sum_zero(void) { return (float2)(0.0f, 0.0f); }
inline sum_t sum_of(float x) { return (float2)(x, 0.0f); }
inline sum_t sum_add(sum_t s, float x) {
  float2 t = two_sum(s.x, x);
  return fast_two_sum(t.x, t.y + s.y);
}
inline sum_t sum_merge(sum_t a, sum_t b) {
  float2 t = two_sum(a.x, b.x);
  return fast_two_sum(t.x, t.y + a.y + b.y);
}
inline sum_t sum_div(sum_t s, int n) {
  float fn = (float)n, q = s.x / fn;
  float r = fma(-q, fn, s.x) + s.y; /* exact remainder of the high part, plus the low part */
  return fast_two_sum(q, r / fn);
}
inline float sum_to_float(sum_t s) { return s.x + s.y; }
inline float sum_sub_from(float x, sum_t s) {
  float2 t = two_sum(x, -s.x);
  return t.x + (t.y - s.y);
}
#endif

/* COMBINE's mix O = a OS + (1 - a) OL with a = sigmoid(logit), in double where the device has
 * it (as the oracle); shared by the combine kernel and the fused linear epilogue. */
#ifdef SLA2_FP64
typedef double combine_t;
inline combine_t combine_alpha(float logit) { return 1.0 / (1.0 + exp(-(double)logit)); }
inline float combine_mix(combine_t a, float os, float ol) { return (float)(a * (double)os + (1.0 - a) * (double)ol); }
#else
typedef float combine_t;
inline combine_t combine_alpha(float logit) { return 1.0f / (1.0f + exp(-logit)); }
inline float combine_mix(combine_t a, float os, float ol) { return a * os + (1.0f - a) * ol; }
#endif

#define DT_F32 0
#define DT_F16 1
#define DT_BF16 2

#define LOG2E_F 1.44269504088896341f
#define LN2_F 0.693147180559945309f

/* ---- dtype loads and stores ------------------------------------------------------------- */

inline float bf16_bits_to_f32(ushort h) { return as_float((uint)h << 16); }

/* Round half to even; NaN stays NaN (quiet bit set), as core/numeric.c. */
inline ushort f32_to_bf16_bits(float f) {
  uint u = as_uint(f);
  if (isnan(f)) return (ushort)((u >> 16) | 0x40u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (ushort)(u >> 16);
}

inline float load_elem(__global const uchar *base, int dt, long i) {
  if (dt == DT_F16) return vload_half(i, (__global const half *)base);
  if (dt == DT_BF16) return bf16_bits_to_f32(((__global const ushort *)base)[i]);
  return ((__global const float *)base)[i];
}

inline void store_elem(__global uchar *base, int dt, long i, float v) {
  if (dt == DT_F16)
    vstore_half_rte(v, i, (__global half *)base);
  else if (dt == DT_BF16)
    ((__global ushort *)base)[i] = f32_to_bf16_bits(v);
  else
    ((__global float *)base)[i] = v;
}

/* Four consecutive channels (element stride sd) starting at element i. */
inline float4 load_elem4(__global const uchar *base, int dt, long i, long sd) {
  if (sd == 1) {
    if (dt == DT_F16) return vload_half4(0, (__global const half *)(base + 2 * i));
    if (dt == DT_BF16) {
      uint4 u = convert_uint4(vload4(0, (__global const ushort *)(base + 2 * i)));
      return as_float4(u << 16);
    }
    return vload4(0, (__global const float *)(base + 4 * i));
  }
  return (float4)(load_elem(base, dt, i), load_elem(base, dt, i + sd), load_elem(base, dt, i + 2 * sd),
                  load_elem(base, dt, i + 3 * sd));
}

/* EW consecutive channels (element stride sd) starting at element i, into / out of a private
 * array: one vector access when the channels are contiguous. EW (SLA2_EW) is 4 on GPUs and 16
 * (or 8) on CPU-type devices, where the per-element loops over the array vectorize. */
#ifdef SLA2_EW
#define EW SLA2_EW
#define EW_CAT_(a, b) a##b
#define EW_CAT(a, b) EW_CAT_(a, b)
typedef EW_CAT(float, EW) ewvec;
typedef EW_CAT(ushort, EW) ewushort;
typedef EW_CAT(uint, EW) ewuint;
inline void load_chunk(__global const uchar *base, int dt, long i, long sd, float *out) {
  if (sd == 1) {
    ewvec v;
    if (dt == DT_F16)
      v = EW_CAT(vload_half, EW)(0, (__global const half *)(base + 2 * i));
    else if (dt == DT_BF16)
      v = EW_CAT(as_float, EW)(EW_CAT(convert_uint, EW)(EW_CAT(vload, EW)(0, (__global const ushort *)(base + 2 * i)))
                                << 16);
    else
      v = EW_CAT(vload, EW)(0, (__global const float *)(base + 4 * i));
    EW_CAT(vstore, EW)(v, 0, out);
    return;
  }
  for (int e = 0; e < EW; e++) out[e] = load_elem(base, dt, i + e * sd);
}
inline void store_chunk(__global uchar *base, int dt, long i, long sd, const float *in) {
  if (sd == 1) {
    ewvec v = EW_CAT(vload, EW)(0, in);
    if (dt == DT_F16) {
      EW_CAT(EW_CAT(vstore_half, EW), _rte)(v, 0, (__global half *)(base + 2 * i));
    } else if (dt == DT_BF16) {
      for (int e = 0; e < EW; e++) ((__global ushort *)(base + 2 * i))[e] = f32_to_bf16_bits(in[e]);
    } else {
      EW_CAT(vstore, EW)(v, 0, (__global float *)(base + 4 * i));
    }
    return;
  }
  for (int e = 0; e < EW; e++) store_elem(base, dt, i + e * sd, in[e]);
}
#endif

/* A caller's [B,H,N,D] tensor as kernel arguments: bytes, dtype, element strides. */
#define TENSOR_ARGS(name) \
  __global const uchar *name, int name##_dt, long name##_sb, long name##_sh, long name##_sn, long name##_sd
#define TENSOR_OUT_ARGS(name) \
  __global uchar *name, int name##_dt, long name##_sb, long name##_sh, long name##_sn, long name##_sd
#define AT(name, b, h, n, d) \
  ((long)(b) * name##_sb + (long)(h) * name##_sh + (long)(n) * name##_sn + (long)(d) * name##_sd)

/* ---- correctly rounded f32 division ------------------------------------------------------ */

#if defined(SLA2_SOFT_DIV) && !defined(SLA2_FP64)
/* a / b rounded to nearest even without trusting the device's division: a first quotient,
 * one Newton step, then the best of three neighbours by their exact residuals a - q b (exact
 * through fma for q within a few ulps of a / b). Finite, normal-range operands (the quantizer
 * scales and codes). */
inline float div_rn(float a, float b) {
  float y = 1.0f / b;
  float q = a * y;
  q = fma(fma(-q, b, a), y, q);
  float lo = nextafter(q, -INFINITY), hi = nextafter(q, INFINITY);
  float rq = fabs(fma(-q, b, a)), rl = fabs(fma(-lo, b, a)), rh = fabs(fma(-hi, b, a));
  float best = q, rb = rq;
  if (rl < rb || (rl == rb && (as_uint(lo) & 1u) == 0u)) best = lo, rb = rl;
  if (rh < rb || (rh == rb && (as_uint(hi) & 1u) == 0u)) best = hi, rb = rh;
  return best;
}
#elif defined(SLA2_SOFT_DIV)
/* Rounding a double quotient of two floats to float is correctly rounded (53 >= 2 * 24 + 2). */
inline float div_rn(float a, float b) { return (float)((double)a / (double)b); }
#else
/* Built with -cl-fp32-correctly-rounded-divide-sqrt: '/' is the IEEE division. */
inline float div_rn(float a, float b) { return a / b; }
#endif

/* ---- quantization (exactly core/numeric.c) ------------------------------------------------ */

/* sigma = amax / 127, 1 for an all-zero group. */
inline float int8_sigma(float amax) { return amax > 0.0f ? div_rn(amax, (float)SLA2_INT8_MAX) : 1.0f; }
inline float fp8_sigma(float amax) { return amax > 0.0f ? div_rn(amax, SLA2_FP8_E4M3_MAX) : 1.0f; }

/* clamp(rint(x / sigma), -127, 127); rint rounds half to even in the default rounding mode. */
inline char int8_code(float x, float sigma) {
  float q = rint(div_rn(x, sigma));
  if (isnan(q)) return (char)0;
  q = clamp(q, -(float)SLA2_INT8_MAX, (float)SLA2_INT8_MAX);
  return (char)(int)q;
}

/* FP8 E4M3 encode: round half to even, saturate to +-448, NaN -> 0x7F (core/numeric.c). Works on
 * the bits: a normal result keeps 3 mantissa bits (add the rounding bias below bit 20), a
 * subnormal one is rint(a * 2^9) (multiples of 2^-9, the scaling is exact). */
inline uchar f32_to_e4m3(float f) {
  if (isnan(f)) return (uchar)0x7F;
  uchar sign = (as_uint(f) >> 31) ? (uchar)0x80 : (uchar)0;
  float a = fabs(f);
  if (a >= SLA2_FP8_E4M3_MAX) return (uchar)(sign | SLA2_FP8_E4M3_MAX_CODE);
  if (a < 0x1p-6f) return (uchar)(sign | (uchar)(int)rint(a * 0x1p9f)); /* 8 becomes 2^-6: code 0x08 */
  uint u = as_uint(a);
  u += 0x7FFFFu + ((u >> 20) & 1u);
  u &= 0xFFF00000u;
  if (as_float(u) >= SLA2_FP8_E4M3_MAX) return (uchar)(sign | SLA2_FP8_E4M3_MAX_CODE);
  uint e = (u >> 23) - 127u + SLA2_FP8_E4M3_BIAS;
  return (uchar)(sign | (uchar)((e << 3) | ((u >> 20) & 7u)));
}

inline float e4m3_to_f32(uchar code) {
  uint exp = (code >> 3) & 0xFu, mant = code & 7u;
  float v;
  if (exp == 0xFu && mant == 7u) return NAN;
  if (exp == 0u)
    v = (float)mant * 0x1p-9f;
  else
    v = as_float(((exp + 127u - SLA2_FP8_E4M3_BIAS) << 23) | (mant << 20));
  return (code & 0x80) ? -v : v;
}

/* e4m3_to_f32 on four codes without branches (the attention kernels decode V per element):
 * a normal code's exponent and mantissa bits moved into an f32 with the bias changed from 7 to
 * 127; a subnormal one is mant * 2^-9; 0x7F / 0xFF stay NaN. */
inline float4 e4m3_to_f32_4(uchar4 code) {
  const uint4 u = convert_uint4(code), em = u & 0x7Fu;
  const float4 normal = as_float4((em + ((127u - SLA2_FP8_E4M3_BIAS) << 3)) << 20);
  const float4 sub = convert_float4(em & 7u) * 0x1p-9f;
  float4 v = select(normal, sub, as_int4(em < 8u));
  v = as_float4(as_uint4(v) | ((u & 0x80u) << 24));
  return select(v, (float4)(NAN), as_int4(em == 0x7Fu));
}

/* e4m3_to_f32(f32_to_e4m3(x)) for x in [0, 448]: x rounded to the E4M3 grid. */
inline float round_to_e4m3(float x) {
  if (x >= SLA2_FP8_E4M3_MAX) return SLA2_FP8_E4M3_MAX;
  if (x < 0x1p-6f) return rint(x * 0x1p9f) * 0x1p-9f;
  uint u = as_uint(x);
  u += 0x7FFFFu + ((u >> 20) & 1u);
  return fmin(as_float(u & 0xFFF00000u), SLA2_FP8_E4M3_MAX);
}

#ifdef SLA2_EW
#define CHUNKS (SLA2_D / EW) /* channel chunks per row */

/* One row's feature map in place on a private array (softmax over the D channels, elu(x)+1 or
 * relu), EW channels at a time: the CPU-device FEATURE_MAP and the fused CPU passes share it,
 * so both give the same bits. */
inline void fmap_row(float *r, int fmap) {
  if (fmap == SLA2_FMAP_SOFTMAX) {
    float t[EW];
    ewvec mv = (ewvec)(-INFINITY);
    for (int d = 0; d < SLA2_D; d += EW) mv = fmax(mv, EW_CAT(vload, EW)(0, r + d));
    EW_CAT(vstore, EW)(mv, 0, t);
    float m = t[0];
    for (int e = 1; e < EW; e++) m = fmax(m, t[e]);
    ewvec sv = (ewvec)(0.0f);
    for (int d = 0; d < SLA2_D; d += EW) {
      ewvec ev = exp(EW_CAT(vload, EW)(0, r + d) - m);
      sv += ev;
      EW_CAT(vstore, EW)(ev, 0, r + d);
    }
    EW_CAT(vstore, EW)(sv, 0, t);
    float s = 0.0f;
    for (int e = 0; e < EW; e++) s += t[e];
    for (int d = 0; d < SLA2_D; d += EW) EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, r + d) / s, 0, r + d);
  } else {
    for (int d = 0; d < SLA2_D; d += EW) {
      ewvec v = EW_CAT(vload, EW)(0, r + d);
      ewvec y = fmap == SLA2_FMAP_ELU ? select(exp(v), v + 1.0f, v > 0.0f) : fmax(v, 0.0f);
      EW_CAT(vstore, EW)(y, 0, r + d);
    }
  }
}

/* int8_code over a chunk of EW values, stored as chars. */
inline void int8_codes_chunk(const float *v, float sigma, __global char *out) {
#if defined(SLA2_SOFT_DIV)
  for (int e = 0; e < EW; e++) out[e] = int8_code(v[e], sigma);
#else
  ewvec q = rint(EW_CAT(vload, EW)(0, v) / sigma);
  q = select(clamp(q, -(float)SLA2_INT8_MAX, (float)SLA2_INT8_MAX), (ewvec)(0.0f), isnan(q));
  EW_CAT(vstore, EW)(EW_CAT(convert_char, EW)(q), 0, out);
#endif
}

/* f32_to_e4m3(v[e] / sigma[e]) over a chunk, in vector form (same rounding as the scalar). */
inline void e4m3_codes_chunk(const float *v, const float *sigma, __global uchar *out) {
#if defined(SLA2_SOFT_DIV)
  for (int e = 0; e < EW; e++) out[e] = f32_to_e4m3(div_rn(v[e], sigma[e]));
#else
  ewvec x = EW_CAT(vload, EW)(0, v) / EW_CAT(vload, EW)(0, sigma);
  ewvec a = fabs(x);
  ewuint sign = (EW_CAT(as_uint, EW)(x) >> 24) & 0x80u;
  ewuint u = EW_CAT(as_uint, EW)(a);
  u = (u + 0x7FFFFu + ((u >> 20) & 1u)) & 0xFFF00000u;
  ewuint normal = ((((u >> 23) - (127u - SLA2_FP8_E4M3_BIAS)) << 3) | ((u >> 20) & 7u));
  ewuint sub = EW_CAT(convert_uint, EW)(rint(a * 0x1p9f));
  ewuint code = select(normal, sub, EW_CAT(as_uint, EW)(a < 0x1p-6f));
  code = select(code, (ewuint)(SLA2_FP8_E4M3_MAX_CODE), EW_CAT(as_uint, EW)(a >= SLA2_FP8_E4M3_MAX));
  code |= sign;
  code = select(code, (ewuint)(0x7Fu), EW_CAT(as_uint, EW)(isnan(x)));
  EW_CAT(vstore, EW)(EW_CAT(convert_uchar, EW)(code), 0, out);
#endif
}
#endif
