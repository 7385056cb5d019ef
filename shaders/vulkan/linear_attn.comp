// LINEAR_ATTN per (b, h, query block i, tile of ET output channels):
//   H_i = htot - sum_{j in LUT_i} hblk_j, Z_i likewise (the complement of the selected blocks),
//   O_l[r, e] = phiq[r] . H_i[:, e] / (phiq[r] . Z_i), 0 where the denominator <= SLA2_LINEAR_DEN_EPS
//   and everywhere when k == Tn (empty complement).
// The H_i tile (D x ET), Z_i and the row denominators live in shared memory; each invocation
// computes 4 rows x 4 channels at a time from 16-byte phi(q) loads (a register tile: the product
// is a bq x D x ET matrix multiply per workgroup).
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DH = 128; // head dim
layout(constant_id = 2) const uint ET = 32;  // output channels per workgroup, a multiple of 4
const uint EG = ET / 4u;                     // channel groups of 4
const uint RG = WG / EG;                     // row groups

layout(push_constant) uniform Push {
  uint N, H, bq, Tm, Tn, k;
} pc;

layout(std430, binding = 0) readonly buffer PhiQ { vec4 phiq4[]; }; // rows of DH / 4 (DH % 8 == 0)
layout(std430, binding = 1) readonly buffer HBlk { float hblk[]; };
layout(std430, binding = 2) readonly buffer ZBlk { float zblk[]; };
layout(std430, binding = 3) readonly buffer HTot { float htot[]; };
layout(std430, binding = 4) readonly buffer ZTot { float ztot[]; };
layout(std430, binding = 5) readonly buffer Lut { int lut[]; };
layout(std430, binding = 6) writeonly buffer OL { float ol[]; };

shared vec4 sh_h[DH * EG]; // [d][channel group]
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
    sh_h[d * EG + (x % ET) / 4u][x % 4u] = e < DH ? htot[(bh * DH + d) * DH + e] - sel : 0.0;
  }
  for (uint d = tid; d < DH; d += WG) {
    float sel = 0.0;
    for (uint t = 0u; t < pc.k; t++) sel += zblk[(bh * pc.Tn + uint(lut[lut_row + t])) * DH + d];
    sh_z[d] = ztot[bh * DH + d] - sel;
  }
  barrier();
  const uint Q4 = DH / 4u;
  for (uint r = tid; r < rows; r += WG) {
    float den = 0.0;
    for (uint d4 = 0u; d4 < Q4; d4++)
      den += dot(phiq4[(bh * pc.N + r0 + r) * Q4 + d4], vec4(sh_z[4u * d4], sh_z[4u * d4 + 1u], sh_z[4u * d4 + 2u], sh_z[4u * d4 + 3u]));
    sh_den[r] = den;
  }
  barrier();
  uint eg = tid % EG, rg = tid / EG;
  for (uint rb = rg; rb < rows; rb += 4u * RG) {
    vec4 num[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
    uint row[4];
    for (uint t = 0u; t < 4u; t++) row[t] = bh * pc.N + r0 + min(rb + t * RG, rows - 1u);
    for (uint d4 = 0u; d4 < Q4; d4++) {
      vec4 hq[4];
      for (uint u = 0u; u < 4u; u++) hq[u] = sh_h[(4u * d4 + u) * EG + eg];
      for (uint t = 0u; t < 4u; t++) {
        vec4 qv = phiq4[row[t] * Q4 + d4];
        num[t] += qv.x * hq[0] + qv.y * hq[1] + qv.z * hq[2] + qv.w * hq[3];
      }
    }
    for (uint t = 0u; t < 4u; t++) {
      uint r = rb + t * RG;
      if (r >= rows) continue;
      float den = sh_den[r];
      for (uint c = 0u; c < 4u; c++) {
        uint e = e0 + 4u * eg + c;
        if (e < DH) ol[(bh * pc.N + r0 + r) * DH + e] = den <= SLA2_LINEAR_DEN_EPS ? 0.0 : num[t][c] / den;
      }
    }
  }
}
