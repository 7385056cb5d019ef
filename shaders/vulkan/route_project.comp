// ROUTE, step 1: projected block means in float-float: out[b, h, t, e] = sum_d W[hw][e][d] x[b, h, t, d]
// (x = QBAR or KBAR, hw = h when W is per head, else 0). Workgroup: RT block means t of one
// (b, h), 256 invocations: (e, t) pairs, e = tid % 128 (+ 128 for D > 128), t = tid / 128 + 2 u.
//
// W passes through shared memory DC channels at a time, transposed on the way (ws[e][c], rows
// padded by one word) so that the read of W[e][d] by consecutive e is one bank per lane: read
// straight from global memory, W's row stride made every lane of a warp touch its own cache line.
// Each invocation sums its products in channel order d = 0, 1, ..., as the oracle's reference.
#version 450
#include "common.glsl"
layout(constant_id = 0) const bool FF_FMA = false; // fma() is fused (floatfloat.glsl)
#define SLA2_FF_FMA FF_FMA
#include "floatfloat.glsl"

layout(local_size_x = 256) in;
const uint RT = 8u;  // block means per workgroup
const uint DC = 16u; // channels per shared-memory chunk
const uint EU = SLA2_HEAD_DIM_MAX / 128u; // output channels per invocation, at most

layout(push_constant) uniform Push {
  uint T, D, H, per_head_w;
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer Out { vec2 outp[]; };

shared float ws[SLA2_HEAD_DIM_MAX * (DC + 1u)];
shared float xs[RT][DC];

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint t0 = gl_WorkGroupID.x * RT, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint rows0 = (b * pc.H + h) * pc.T;
  uint wbase = (pc.per_head_w != 0u ? h : 0u) * pc.D * pc.D;
  uint e_lo = tid % 128u, t_lo = tid / 128u;
  vec2 acc[EU][RT / 2u];
  for (uint u = 0u; u < EU; u++)
    for (uint v = 0u; v < RT / 2u; v++) acc[u][v] = vec2(0.0);

  for (uint d0 = 0u; d0 < pc.D; d0 += DC) {
    barrier(); // the previous chunk is consumed
    for (uint idx = tid; idx < pc.D * DC; idx += 256u) { // W[e][d0 + c], c fastest: coalesced
      uint e = idx / DC, c = idx % DC;
      ws[e * (DC + 1u) + c] = d0 + c < pc.D ? w[wbase + e * pc.D + d0 + c] : 0.0;
    }
    if (tid < RT * DC) {
      uint r = tid / DC, c = tid % DC, t = t0 + r;
      xs[r][c] = t < pc.T && d0 + c < pc.D ? x[(rows0 + t) * pc.D + d0 + c] : 0.0;
    }
    barrier();
    uint count = min(DC, pc.D - d0);
    for (uint u = 0u; u < EU; u++) {
      uint e = e_lo + 128u * u;
      if (e >= pc.D) break;
      for (uint c = 0u; c < count; c++) {
        float wv = ws[e * (DC + 1u) + c];
        for (uint v = 0u; v < RT / 2u; v++) acc[u][v] = ff_add(acc[u][v], ff_two_prod(wv, xs[t_lo + 2u * v][c]));
      }
    }
  }
  for (uint u = 0u; u < EU; u++) {
    uint e = e_lo + 128u * u;
    if (e >= pc.D) break;
    for (uint v = 0u; v < RT / 2u; v++) {
      uint t = t0 + t_lo + 2u * v;
      if (t < pc.T) outp[(rows0 + t) * pc.D + e] = acc[u][v];
    }
  }
}
