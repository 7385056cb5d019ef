// K~ (f32) split into f16 halves for the cooperative-matrix-2 sparse kernel of quant mode `none`
// (sla2_split_k in common.glsl: K~ = 2 (hi + 2^-11 lo)). Both land contiguous [B, H, N, D] in one
// buffer, lo from element `lo_offset` on. In a whole forward smooth_apply.comp writes them instead.
// One invocation per element; workgroups along x stride over N*D.
#version 450
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
  uvec4 strides; // elements of K~: b, h, n, channel
  uint N, D, lo_offset;
} pc;

layout(std430, binding = 0) readonly buffer KS { float ks[]; };
layout(std430, binding = 1) writeonly buffer Halves { float16_t halves[]; };

void main() {
  const uint b = gl_WorkGroupID.z, h = gl_WorkGroupID.y, per_bh = pc.N * pc.D;
  const uint out_base = (b * gl_NumWorkGroups.y + h) * per_bh;
  for (uint e = gl_GlobalInvocationID.x; e < per_bh; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
    const uint n = e / pc.D, c = e % pc.D;
    const vec2 split = sla2_split_k(ks[b * pc.strides.x + h * pc.strides.y + n * pc.strides.z + c * pc.strides.w]);
    halves[out_base + e] = float16_t(split.x);
    halves[pc.lo_offset + out_base + e] = float16_t(split.y);
  }
}
