// QUANTIZE_INT8 per (b, h, block t of `block` rows): sigma = max|x| / 127 (1 when all zero),
// code = clamp(rint(x / sigma), -127, 127), both with exact f32 divisions. Codes are packed four
// to a word (D is a multiple of 8, so a word never straddles rows). Workgroup (t, h, b).
// F16_CODES (a whole forward on cooperative matrices 2, vk_attention_cm2.c): the codes go out as
// the f16 values the sparse kernel multiplies, four to a uvec2 from f16_at on, instead of bytes.
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const bool F16_CODES = false;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H, block, T;
  uint f16_at; // F16_CODES: the first output uvec2 (element offset / 4)
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) writeonly buffer Codes { uint codes[]; };
layout(std430, binding = 2) writeonly buffer Scales { float scales[]; };
layout(std430, binding = 3) writeonly buffer Halves { uvec2 halves[]; };

SLA2_DEFINE_LOAD(load_src, src)

shared float red[WG];

void main() {
  uint tid = gl_LocalInvocationID.x, t = gl_WorkGroupID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint bh = b * pc.H + h;
  uint begin = t * pc.block, rows = min(pc.N, begin + pc.block) - begin;
  // 32 lanes over channel quads (d .. d + 3) times WG / 32 row lanes; 16-bit pairs read as one word.
  const uint QUAD_LANES = 32u, ROW_LANES = WG / QUAD_LANES, row_lane = tid / QUAD_LANES, d0 = 4u * (tid % QUAD_LANES);
  const uint end = begin + rows, step = pc.src_strides.w;
  float amax = 0.0;
  for (uint n = begin + row_lane; n < end; n += ROW_LANES)
    for (uint d = d0; d < pc.D; d += 4u * QUAD_LANES) {
      uint at = sla2_index(pc.src_strides, b, h, n, d);
      vec2 x01 = load_src2(DT, at, step), x23 = load_src2(DT, at + 2u * step, step);
      amax = max(amax, max(max(abs(x01.x), abs(x01.y)), max(abs(x23.x), abs(x23.y))));
    }
  red[tid] = amax;
  barrier();
  for (uint half_ = WG / 2u; half_ > 0u; half_ >>= 1) {
    if (tid < half_) red[tid] = max(red[tid], red[tid + half_]);
    barrier();
  }
  float sigma = sla2_int8_sigma(red[0]);
  if (tid == 0u) scales[bh * pc.T + t] = sigma;
  for (uint n = begin + row_lane; n < end; n += ROW_LANES)
    for (uint d = d0; d < pc.D; d += 4u * QUAD_LANES) {
      uint at = sla2_index(pc.src_strides, b, h, n, d);
      vec2 x01 = load_src2(DT, at, step), x23 = load_src2(DT, at + 2u * step, step);
      int c0 = sla2_int8_code(x01.x, sigma), c1 = sla2_int8_code(x01.y, sigma);
      int c2 = sla2_int8_code(x23.x, sigma), c3 = sla2_int8_code(x23.y, sigma);
      uint word = ((bh * pc.N + n) * pc.D + d) / 4u;
      if (F16_CODES) {
        halves[pc.f16_at + word] = sla2_pack_f16x4(sla2_f32_to_f16(float(c0)), sla2_f32_to_f16(float(c1)),
                                                   sla2_f32_to_f16(float(c2)), sla2_f32_to_f16(float(c3)));
      } else {
        codes[word] = (uint(c0) & 0xFFu) | ((uint(c1) & 0xFFu) << 8) | ((uint(c2) & 0xFFu) << 16) | (uint(c3) << 24);
      }
    }
}
