// KV_STATE, per key block: hblk[b, h, j, d, e] = sum_{r in j} phik[r, d] V[r, e] and
// zblk[b, h, j, d] = sum_{r in j} phik[r, d]. Workgroup (block j x 64 x 64 output tile, h, b):
// 16 x 16 invocations with 4 x 4 outputs each; rows stream through shared memory RC at a time.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint V_DT = 0;
const uint RC = 32u, TS = 64u;

layout(push_constant) uniform Push {
  uvec4 v_strides;
  uint N, D, H, bk, Tn;
} pc;

layout(std430, binding = 0) readonly buffer PhiK { float phik[]; };
layout(std430, binding = 1) readonly buffer V { uint v[]; };
layout(std430, binding = 2) writeonly buffer HBlk { float hblk[]; };
layout(std430, binding = 3) writeonly buffer ZBlk { float zblk[]; };

SLA2_DEFINE_LOAD(load_v, v)

shared float sk[RC][TS];
shared float sv[RC][TS];

void main() {
  uint tid = gl_LocalInvocationID.x, tx = tid % 16u, ty = tid / 16u;
  uint tiles = (pc.D + TS - 1u) / TS;
  uint j = gl_WorkGroupID.x / (tiles * tiles), tile = gl_WorkGroupID.x % (tiles * tiles);
  uint d0 = (tile / tiles) * TS, e0 = (tile % tiles) * TS;
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  uint begin = j * pc.bk, end = min(pc.N, begin + pc.bk);
  float acc[4][4];
  for (uint a = 0u; a < 4u; a++)
    for (uint c = 0u; c < 4u; c++) acc[a][c] = 0.0;
  float z = 0.0;
  for (uint r0 = begin; r0 < end; r0 += RC) {
    for (uint idx = tid; idx < RC * TS; idx += 256u) {
      uint rr = idx / TS, c = idx % TS, r = r0 + rr;
      bool row_ok = r < end;
      sk[rr][c] = row_ok && d0 + c < pc.D ? phik[(bh * pc.N + r) * pc.D + d0 + c] : 0.0;
      sv[rr][c] = row_ok && e0 + c < pc.D ? load_v(V_DT, sla2_index(pc.v_strides, b, h, r, e0 + c)) : 0.0;
    }
    barrier();
    uint count = min(RC, end - r0);
    for (uint rr = 0u; rr < count; rr++) {
      float kd[4], ve[4];
      for (uint a = 0u; a < 4u; a++) kd[a] = sk[rr][ty + 16u * a];
      for (uint c = 0u; c < 4u; c++) ve[c] = sv[rr][tx + 16u * c];
      for (uint a = 0u; a < 4u; a++)
        for (uint c = 0u; c < 4u; c++) acc[a][c] += kd[a] * ve[c];
      if (e0 == 0u && tid < TS) z += sk[rr][tid];
    }
    barrier();
  }
  uint out_base = (bh * pc.Tn + j) * pc.D;
  for (uint a = 0u; a < 4u; a++)
    for (uint c = 0u; c < 4u; c++) {
      uint d = d0 + ty + 16u * a, e = e0 + tx + 16u * c;
      if (d < pc.D && e < pc.D) hblk[(out_base + d) * pc.D + e] = acc[a][c];
    }
  if (e0 == 0u && tid < TS && d0 + tid < pc.D) zblk[out_base + d0 + tid] = z;
}
