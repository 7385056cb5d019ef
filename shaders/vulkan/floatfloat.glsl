// Float-float ("double-f32") arithmetic for the router, whose top-k must rank like the oracle's
// double scores. Error-free transforms built from plain f32 operations (Vulkan rounds add, sub
// and mul correctly); `precise` forbids fusing or reassociating them. A value is vec2(hi, lo)
// with |lo| <= ulp(hi) / 2, about 44 significant bits.
#ifndef SLA2_VK_FLOATFLOAT_GLSL
#define SLA2_VK_FLOATFLOAT_GLSL

vec2 ff_two_sum(float a, float b) {
  precise float s = a + b;
  precise float bb = s - a;
  precise float err = (a - (s - bb)) + (b - bb);
  return vec2(s, err);
}

vec2 ff_fast_two_sum(float a, float b) { // |a| >= |b|
  precise float s = a + b;
  precise float err = b - (s - a);
  return vec2(s, err);
}

vec2 ff_split(float a) { // Veltkamp: a = hi + lo with 12-bit halves
  precise float c = 4097.0 * a;
  precise float hi = c - (c - a);
  precise float lo = a - hi;
  return vec2(hi, lo);
}

// A shader may define SLA2_FF_FMA (a specialization constant) true where fma() is known to be
// fused: then the product's error is one fma, 2 operations instead of Dekker's 17. Vulkan only
// promises fma() the precision of a multiply and an add, so it stays off unless the host knows
// the device (the values are the same either way: both give the exact error).
#ifndef SLA2_FF_FMA
#define SLA2_FF_FMA false
#endif

vec2 ff_two_prod(float a, float b) { // Dekker (or one fused fma): a * b = p + err exactly
  precise float p = a * b;
  if (SLA2_FF_FMA) {
    precise float e = fma(a, b, -p);
    return vec2(p, e);
  }
  vec2 x = ff_split(a), y = ff_split(b);
  precise float err = ((x.x * y.x - p) + x.x * y.y + x.y * y.x) + x.y * y.y;
  return vec2(p, err);
}

vec2 ff_add(vec2 a, vec2 b) {
  vec2 s = ff_two_sum(a.x, b.x);
  precise float lo = s.y + (a.y + b.y);
  return ff_fast_two_sum(s.x, lo);
}

vec2 ff_mul(vec2 a, vec2 b) {
  vec2 p = ff_two_prod(a.x, b.x);
  precise float lo = p.y + (a.x * b.y + a.y * b.x);
  return ff_fast_two_sum(p.x, lo);
}

// a / y for a float y != 0: quotient of the high part, corrected by the exact remainder.
vec2 ff_div(vec2 a, float y) {
  precise float q1 = a.x / y;
  vec2 p = ff_two_prod(q1, y);
  vec2 r = ff_add(a, -p);
  precise float q2 = r.x / y;
  return ff_fast_two_sum(q1, q2);
}

// a ranks strictly above b (NaN below every number, as the oracle).
bool ff_outranks(vec2 a, vec2 b) {
  if (isnan(a.x)) return false;
  if (isnan(b.x)) return true;
  return a.x > b.x || (a.x == b.x && a.y > b.y);
}

#endif
