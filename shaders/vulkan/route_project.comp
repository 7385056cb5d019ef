// ROUTE, step 1: projected block means in float-float: out[b, h, t, e] = sum_d W[hw][e][d] x[b, h, t, d]
// (x = QBAR or KBAR, hw = h when W is per head, else 0). Workgroup (t, h, b), threads over e.
#version 450
#include "common.glsl"
#include "floatfloat.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(push_constant) uniform Push {
  uint T, D, H, per_head_w;
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer Out { vec2 outp[]; };

shared float xs[SLA2_HEAD_DIM_MAX];

void main() {
  uint t = gl_WorkGroupID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint row = (b * pc.H + h) * pc.T + t;
  for (uint d = gl_LocalInvocationID.x; d < pc.D; d += WG) xs[d] = x[row * pc.D + d];
  barrier();
  uint wbase = (pc.per_head_w != 0u ? h : 0u) * pc.D * pc.D;
  for (uint e = gl_LocalInvocationID.x; e < pc.D; e += WG) {
    vec2 acc = vec2(0.0);
    for (uint d = 0u; d < pc.D; d++) acc = ff_add(acc, ff_two_prod(w[wbase + e * pc.D + d], xs[d]));
    outp[row * pc.D + e] = acc;
  }
}
