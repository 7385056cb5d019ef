// ROUTE, step 3: LUT row (b, h, i) = the k best key blocks by the float-float scores, ties to the
// lower block index, in ascending block order. Workgroup per row: each invocation ranks one
// candidate against the whole row (tiles of the row pass through shared memory); a workgroup
// prefix sum over the selected flags gives each selected block its LUT position.
#version 450
#include "common.glsl"
#include "floatfloat.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
const uint TILE = 1024u;

layout(push_constant) uniform Push {
  uint Tm, Tn, k, H;
} pc;

layout(std430, binding = 0) readonly buffer Pairs { vec2 pairs[]; };
layout(std430, binding = 1) writeonly buffer Lut { int lut[]; };

shared vec2 tile[TILE];
shared uint scan[WG];

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint row = (gl_WorkGroupID.z * pc.H + gl_WorkGroupID.y) * pc.Tm + gl_WorkGroupID.x;
  uint base = 0u;
  for (uint c0 = 0u; c0 < pc.Tn; c0 += WG) {
    uint j = c0 + tid;
    vec2 sj = j < pc.Tn ? pairs[row * pc.Tn + j] : vec2(0.0);
    uint rank = 0u; // blocks that rank above j
    for (uint t0 = 0u; t0 < pc.Tn; t0 += TILE) {
      barrier();
      for (uint t = tid; t < TILE && t0 + t < pc.Tn; t += WG) tile[t] = pairs[row * pc.Tn + t0 + t];
      barrier();
      uint count = min(TILE, pc.Tn - t0);
      // Once k blocks outrank j it is out: most candidates stop after a few comparisons.
      for (uint t = 0u; t < count && rank < pc.k; t++) {
        vec2 o = tile[t];
        bool tie = (o.x == sj.x && o.y == sj.y) || (isnan(o.x) && isnan(sj.x));
        if (ff_outranks(o, sj) || (tie && t0 + t < j)) rank++;
      }
    }
    bool selected = j < pc.Tn && rank < pc.k;
    scan[tid] = selected ? 1u : 0u;
    barrier();
    for (uint off = 1u; off < WG; off <<= 1) { // inclusive prefix sum
      uint v = tid >= off ? scan[tid - off] : 0u;
      barrier();
      scan[tid] += v;
      barrier();
    }
    if (selected) lut[row * pc.k + base + scan[tid] - 1u] = int(j);
    base += scan[WG - 1u];
  }
}
