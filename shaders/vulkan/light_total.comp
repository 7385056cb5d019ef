// KV_STATE totals of the memory-light linear branch (vk_linear_light.c): the chunk partials of
// light_state_cm2.comp added in order (compensated) into htot (D x D) and ztot (D), f32, and the
// light kernel's f16 operands per (b, h), contiguous:
//   hi [D][D], lo [D][D]  with 2^s H_tot = hi + 2^-11 lo,
//   zb [D][zc]            column 0 the hi and column 1 the lo half of 2^s Z_tot, the rest 0
//                         (zc: the Z product's columns, even).
// 2^s = h_scale <= 1/N keeps 2^s H_tot inside the f16 range (the features are at most 1, so
// |H_tot[d][e]| <= N max |V|) and 2^s Z_tot <= 1. The halves are rounded with integer
// operations (common.glsl), which a compiler cannot fold away.
// One invocation per 32-bit word of those operands (two f16 values); workgroup y = b * H + h.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
  uint D, chunks, zc;
  float h_scale;
} pc;

layout(std430, binding = 0) readonly buffer Partial { float partial[]; };
layout(std430, binding = 1) writeonly buffer HTot { float htot[]; };
layout(std430, binding = 2) writeonly buffer ZTot { float ztot[]; };
layout(std430, binding = 3) writeonly buffer Halves { uint halves[]; };


// The chunks' sum of partial element `e` of (b, h).
float chunk_sum(uint bh, uint e) {
  const uint per_chunk = pc.D * pc.D + pc.zc * pc.D;
  precise float sum = 0.0, comp = 0.0; // Kahan
  for (uint c = 0u; c < pc.chunks; c++) {
    precise float y = partial[(bh * pc.chunks + c) * per_chunk + e] - comp;
    precise float t = sum + y;
    comp = (t - sum) - y;
    sum = t;
  }
  return sum;
}

// f16 bits of the hi half of x and of its remainder scaled by SLA2_SPLIT_LO_SCALE: low and high 16 bits.
uvec2 halves_of(float x) {
  const uint hi = sla2_f32_to_f16(x);
  return uvec2(hi, sla2_f32_to_f16((x - sla2_f16_to_f32(hi)) * SLA2_SPLIT_LO_SCALE));
}

void main() {
  const uint x = gl_GlobalInvocationID.x, bh = gl_WorkGroupID.y, D = pc.D, dd = D * D;
  const uint h_words = dd / 2u, z_row_words = pc.zc / 2u, words = dd + z_row_words * D, base = bh * words;
  if (x < h_words) { // elements 2x, 2x + 1 of H_tot
    const float s0 = chunk_sum(bh, 2u * x), s1 = chunk_sum(bh, 2u * x + 1u);
    htot[bh * dd + 2u * x] = s0;
    htot[bh * dd + 2u * x + 1u] = s1;
    const uvec2 a = halves_of(s0 * pc.h_scale), c = halves_of(s1 * pc.h_scale);
    halves[base + x] = a.x | (c.x << 16);
    halves[base + h_words + x] = a.y | (c.y << 16);
  } else if (x < words - dd / 2u) { // zb row d, columns 2w, 2w + 1
    const uint y = x - h_words, d = y / z_row_words, w = y % z_row_words;
    uint word = 0u;
    if (w == 0u) {
      const float z = chunk_sum(bh, dd + pc.zc * d);
      ztot[bh * D + d] = z;
      const uvec2 zh = halves_of(z * pc.h_scale);
      word = zh.x | (zh.y << 16);
    }
    halves[base + dd + y] = word;
  }
}
