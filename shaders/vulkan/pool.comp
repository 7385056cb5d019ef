// POOL: out[b, h, t, d] = mean of src[b, h, n, d] over the rows of block t (a partial last block
// divides by its true length), summed in float-float and rounded once, like the oracle's double.
// (The mean of K~ over all of N is ~0: only an accurate sum of the rounded K~ reproduces it.)
// Workgroup (t, h, b): PAIR_LANES lanes over channel pairs (2p, 2p + 1) times WG / PAIR_LANES row
// lanes, each summing every (WG / PAIR_LANES)-th row; the row lanes' sums are added in order.
#version 450
#include "common.glsl"
#include "floatfloat.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DT = 0;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H, block, T;
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };

SLA2_DEFINE_LOAD(load_src, src)

const uint PAIR_LANES = 64u, ROW_LANES = WG / PAIR_LANES;
shared vec4 red[WG]; // the two channels' float-float sums

void main() {
  uint tid = gl_LocalInvocationID.x, lane = tid % PAIR_LANES, row_lane = tid / PAIR_LANES;
  uint t = gl_WorkGroupID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint begin = t * pc.block, end = min(pc.N, begin + pc.block);
  for (uint p0 = 0u; p0 < pc.D / 2u; p0 += PAIR_LANES) { // uniform: every invocation meets the barriers
    uint d = 2u * (p0 + lane);
    vec2 s0 = vec2(0.0), s1 = vec2(0.0);
    if (d < pc.D)
      for (uint n = begin + row_lane; n < end; n += ROW_LANES) {
        vec2 x = load_src2(DT, sla2_index(pc.src_strides, b, h, n, d), pc.src_strides.w);
        s0 = ff_add(s0, vec2(x.x, 0.0));
        s1 = ff_add(s1, vec2(x.y, 0.0));
      }
    red[tid] = vec4(s0, s1);
    barrier();
    if (row_lane == 0u && d < pc.D) {
      for (uint r = 1u; r < ROW_LANES; r++) {
        vec4 o = red[tid + PAIR_LANES * r];
        s0 = ff_add(s0, o.xy);
        s1 = ff_add(s1, o.zw);
      }
      uint at = ((b * pc.H + h) * pc.T + t) * pc.D + d;
      vec2 m0 = ff_div(s0, float(end - begin)), m1 = ff_div(s1, float(end - begin));
      dst[at] = m0.x + m0.y;
      dst[at + 1u] = m1.x + m1.y;
    }
    barrier();
  }
}
