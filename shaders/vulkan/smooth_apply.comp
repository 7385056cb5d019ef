// SMOOTH_K: KS[b, h, n, d] = K[b, h, n, d] - colsum[b, h, d] / N (SMOOTH), or K widened to f32.
// The mean and the difference are float-float, rounded once to f32, so K~ matches the oracle's
// (double) K~ bit for bit except where it sits within ~2^-44 of an f32 rounding boundary.
// Workgroup (tile of `rows` rows, h, b).
#version 450
#include "common.glsl"
#include "floatfloat.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const bool SMOOTH = true;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H, rows;
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) readonly buffer Colsum { vec2 colsum[]; };
layout(std430, binding = 2) writeonly buffer Dst { float dst[]; };

SLA2_DEFINE_LOAD(load_src, src)

shared vec2 mean[SLA2_HEAD_DIM_MAX];

void main() {
  uint tid = gl_LocalInvocationID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  for (uint d = tid; d < pc.D; d += WG) mean[d] = SMOOTH ? ff_div(colsum[bh * pc.D + d], float(pc.N)) : vec2(0.0);
  barrier();
  uint n0 = gl_WorkGroupID.x * pc.rows;
  for (uint i = tid; i < pc.rows * pc.D; i += WG) {
    uint n = n0 + i / pc.D, d = i % pc.D;
    if (n >= pc.N) break;
    vec2 x = ff_add(vec2(load_src(DT, sla2_index(pc.src_strides, b, h, n, d)), 0.0), -mean[d]);
    dst[(bh * pc.N + n) * pc.D + d] = x.x + x.y;
  }
}
