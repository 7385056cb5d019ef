// QUANTIZE_FP8: sigma_v[b, h, c] = amax[b, h, c] / 448 (1 when zero; amax from colreduce) and
// code = e4m3(V / sigma_v) with an exact f32 division, four codes to a word. Workgroup
// (tile of ROWS rows, h, b); the first tile also writes the scales.
// F16_CODES (a whole forward on cooperative matrices 2, vk_attention_cm2.c): the codes go out as
// f16 at 2^-8 of their value (sla2_e4m3_to_f16_scaled), four to a uvec2 from f16_at on.
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const bool F16_CODES = false;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H, rows;
  uint f16_at; // F16_CODES: the first output uvec2 (element offset / 4)
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) readonly buffer Amax { vec2 amax[]; }; // (max |V|, 0) pairs
layout(std430, binding = 2) writeonly buffer Codes { uint codes[]; };
layout(std430, binding = 3) writeonly buffer Scales { float scales[]; };
layout(std430, binding = 4) writeonly buffer Halves { uvec2 halves[]; };

SLA2_DEFINE_LOAD(load_src, src)

shared float sigma[SLA2_HEAD_DIM_MAX];

void main() {
  uint tid = gl_LocalInvocationID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  for (uint d = tid; d < pc.D; d += WG) {
    sigma[d] = sla2_fp8_sigma(amax[bh * pc.D + d].x);
    if (gl_WorkGroupID.x == 0u) scales[bh * pc.D + d] = sigma[d];
  }
  barrier();
  // 32 lanes over channel quads (d .. d + 3) times WG / 32 row lanes; 16-bit pairs read as one word.
  const uint QUAD_LANES = 32u, ROW_LANES = WG / QUAD_LANES, step = pc.src_strides.w;
  uint n0 = gl_WorkGroupID.x * pc.rows, n_end = min(pc.N, n0 + pc.rows);
  for (uint n = n0 + tid / QUAD_LANES; n < n_end; n += ROW_LANES)
    for (uint d = 4u * (tid % QUAD_LANES); d < pc.D; d += 4u * QUAD_LANES) {
      uint at = sla2_index(pc.src_strides, b, h, n, d);
      vec2 x01 = load_src2(DT, at, step), x23 = load_src2(DT, at + 2u * step, step);
      uint c0 = sla2_fp8_code(x01.x, sigma[d]), c1 = sla2_fp8_code(x01.y, sigma[d + 1u]);
      uint c2 = sla2_fp8_code(x23.x, sigma[d + 2u]), c3 = sla2_fp8_code(x23.y, sigma[d + 3u]);
      uint word = ((bh * pc.N + n) * pc.D + d) / 4u;
      if (F16_CODES) {
        halves[pc.f16_at + word] = sla2_pack_f16x4(sla2_e4m3_to_f16_scaled(c0), sla2_e4m3_to_f16_scaled(c1),
                                                   sla2_e4m3_to_f16_scaled(c2), sla2_e4m3_to_f16_scaled(c3));
      } else {
        codes[word] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      }
    }
}
