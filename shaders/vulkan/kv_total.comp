// KV_STATE totals: htot[b, h] = sum_j hblk[b, h, j] and ztot likewise (compensated sums).
// Invocation per element of one (b, h)'s D x D + D state values.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
  uint D, Tn;
} pc;

layout(std430, binding = 0) readonly buffer HBlk { float hblk[]; };
layout(std430, binding = 1) readonly buffer ZBlk { float zblk[]; };
layout(std430, binding = 2) writeonly buffer HTot { float htot[]; };
layout(std430, binding = 3) writeonly buffer ZTot { float ztot[]; };

void main() {
  uint x = gl_GlobalInvocationID.x, bh = gl_WorkGroupID.y, dd = pc.D * pc.D;
  if (x >= dd + pc.D) return;
  bool is_h = x < dd;
  precise float sum = 0.0, comp = 0.0; // Kahan
  for (uint j = 0u; j < pc.Tn; j++) {
    float v = is_h ? hblk[(bh * pc.Tn + j) * dd + x] : zblk[(bh * pc.Tn + j) * pc.D + x - dd];
    precise float y = v - comp;
    precise float t = sum + y;
    comp = (t - sum) - y;
    sum = t;
  }
  if (is_h) htot[bh * dd + x] = sum;
  else ztot[bh * pc.D + x - dd] = sum;
}
