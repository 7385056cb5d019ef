// SMOOTH_K: KS[b, h, n, d] = K[b, h, n, d] - colsum[b, h, d] / N (SMOOTH), or K widened to f32.
// The mean and the difference are float-float, rounded once to f32, so K~ matches the oracle's
// (double) K~ bit for bit except where it sits within ~2^-44 of an f32 rounding boundary.
// Workgroup (tile of `rows` rows, h, b); 16-bit channel pairs are read as one word.
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
  // 64 lanes over channel pairs (d, d + 1) times WG / 64 row lanes.
  const uint PAIR_LANES = 64u, ROW_LANES = WG / PAIR_LANES;
  uint n0 = gl_WorkGroupID.x * pc.rows, n_end = min(pc.N, n0 + pc.rows);
  for (uint n = n0 + tid / PAIR_LANES; n < n_end; n += ROW_LANES)
    for (uint d = 2u * (tid % PAIR_LANES); d < pc.D; d += 2u * PAIR_LANES) {
      vec2 x = load_src2(DT, sla2_index(pc.src_strides, b, h, n, d), pc.src_strides.w);
      vec2 y0 = ff_add(vec2(x.x, 0.0), -mean[d]), y1 = ff_add(vec2(x.y, 0.0), -mean[d + 1u]);
      uint at = (bh * pc.N + n) * pc.D + d;
      dst[at] = y0.x + y0.y;
      dst[at + 1u] = y1.x + y1.y;
    }
}
