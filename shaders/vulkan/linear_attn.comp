// LINEAR_ATTN per (b, h, query block i, tile of ET output channels):
//   H_i = htot - sum_{j in LUT_i} hblk_j, Z_i likewise (the complement of the selected blocks),
//   O_l[r, e] = phiq[r] . H_i[:, e] / (phiq[r] . Z_i), 0 where the denominator <= SLA2_LINEAR_DEN_EPS
//   and everywhere when k == Tn (empty complement).
// The H_i tile (D x ET), Z_i and the row denominators live in shared memory.
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DH = 128; // head dim
layout(constant_id = 2) const uint ET = 32;  // output channels per workgroup

layout(push_constant) uniform Push {
  uint N, H, bq, Tm, Tn, k;
} pc;

layout(std430, binding = 0) readonly buffer PhiQ { float phiq[]; };
layout(std430, binding = 1) readonly buffer HBlk { float hblk[]; };
layout(std430, binding = 2) readonly buffer ZBlk { float zblk[]; };
layout(std430, binding = 3) readonly buffer HTot { float htot[]; };
layout(std430, binding = 4) readonly buffer ZTot { float ztot[]; };
layout(std430, binding = 5) readonly buffer Lut { int lut[]; };
layout(std430, binding = 6) writeonly buffer OL { float ol[]; };

shared float sh_h[DH * ET];
shared float sh_z[DH];
shared float sh_den[SLA2_BLOCK_MAX];

void main() {
  uint tid = gl_LocalInvocationID.x, etiles = (DH + ET - 1u) / ET;
  uint i = gl_WorkGroupID.x / etiles, e0 = (gl_WorkGroupID.x % etiles) * ET;
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  uint r0 = i * pc.bq, rows = min(pc.N, r0 + pc.bq) - r0;
  uint lut_row = (bh * pc.Tm + i) * pc.k;
  if (pc.k == pc.Tn) {
    for (uint x = tid; x < rows * ET; x += WG)
      if (e0 + x % ET < DH) ol[(bh * pc.N + r0 + x / ET) * DH + e0 + x % ET] = 0.0;
    return;
  }
  for (uint x = tid; x < DH * ET; x += WG) {
    uint d = x / ET, e = e0 + x % ET;
    float sel = 0.0;
    if (e < DH)
      for (uint t = 0u; t < pc.k; t++) sel += hblk[((bh * pc.Tn + uint(lut[lut_row + t])) * DH + d) * DH + e];
    sh_h[x] = e < DH ? htot[(bh * DH + d) * DH + e] - sel : 0.0;
  }
  for (uint d = tid; d < DH; d += WG) {
    float sel = 0.0;
    for (uint t = 0u; t < pc.k; t++) sel += zblk[(bh * pc.Tn + uint(lut[lut_row + t])) * DH + d];
    sh_z[d] = ztot[bh * DH + d] - sel;
  }
  barrier();
  for (uint r = tid; r < rows; r += WG) {
    float den = 0.0;
    for (uint d = 0u; d < DH; d++) den += phiq[(bh * pc.N + r0 + r) * DH + d] * sh_z[d];
    sh_den[r] = den;
  }
  barrier();
  for (uint x = tid; x < rows * ET; x += WG) {
    uint r = x / ET, el = x % ET;
    if (e0 + el >= DH) continue;
    uint row = (bh * pc.N + r0 + r) * DH;
    float num = 0.0;
    for (uint d = 0u; d < DH; d++) num += phiq[row + d] * sh_h[d * ET + el];
    float den = sh_den[r];
    ol[row + e0 + el] = den <= SLA2_LINEAR_DEN_EPS ? 0.0 : num / den;
  }
}
