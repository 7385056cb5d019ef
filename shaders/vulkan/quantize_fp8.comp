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
  uint n0 = gl_WorkGroupID.x * pc.rows;
  for (uint w = tid; w < pc.rows * pc.D / 4u; w += WG) {
    uint n = n0 + (4u * w) / pc.D, d = (4u * w) % pc.D, packed = 0u;
    if (n >= pc.N) break;
    uint f16[4];
    for (uint c = 0u; c < 4u; c++) {
      const uint code = sla2_fp8_code(load_src(DT, sla2_index(pc.src_strides, b, h, n, d + c)), sigma[d + c]);
      packed |= code << (8u * c);
      if (F16_CODES) f16[c] = sla2_e4m3_to_f16_scaled(code);
    }
    const uint word = ((bh * pc.N + n) * pc.D + d) / 4u;
    if (F16_CODES) {
      halves[pc.f16_at + word] = sla2_pack_f16x4(f16[0], f16[1], f16[2], f16[3]);
    } else {
      codes[word] = packed;
    }
  }
}
