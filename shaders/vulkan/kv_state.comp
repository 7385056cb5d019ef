// KV_STATE, per key block: hblk[b, h, j, d, e] = sum_{r in j} phik[r, d] V[r, e] and
// zblk[b, h, j, d] = sum_{r in j} phik[r, d]. Workgroup (block j x TS x TS output tile, h, b),
// TS = 16 TM: 16 x 16 invocations with TM x TM outputs each (TM = 8 for D > 64, so one workgroup
// covers D <= 128 and reads each row of phi(K) and V once). Register tiling is what pays here:
// per row an invocation reads TM / 2 vec4 words of shared memory for TM^2 FMAs (4 x 4 tiles were
// bound by shared-memory loads). Rows pass through shared memory RC at a time; the next chunk is
// fetched into registers while the current one is multiplied. Sums stay in f32, row by row in
// order, as before.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint V_DT = 0;
layout(constant_id = 1) const uint TM = 8u; // 4 or 8
const uint G = TM / 4u;            // vec4 groups per invocation along each axis
const uint RC = 16u;               // rows per chunk
const uint TS = 16u * TM;          // output tile edge
const uint TS4 = TS / 4u;          // vec4 words per staged row
const uint LOADS = RC * TS / 256u; // elements of each operand an invocation stages per chunk

layout(push_constant) uniform Push {
  uvec4 v_strides;
  uint N, D, H, bk, Tn;
} pc;

layout(std430, binding = 0) readonly buffer PhiK { float phik[]; };
layout(std430, binding = 1) readonly buffer V { uint v[]; };
layout(std430, binding = 2) writeonly buffer HBlk { vec4 hblk4[]; }; // D is a multiple of 8
layout(std430, binding = 3) writeonly buffer ZBlk { float zblk[]; };

SLA2_DEFINE_LOAD(load_v, v)

shared vec4 sk[RC * TS4];
shared vec4 sv[RC * TS4];

void main() {
  uint tid = gl_LocalInvocationID.x, tx = tid % 16u, ty = tid / 16u;
  uint tiles = (pc.D + TS - 1u) / TS;
  uint j = gl_WorkGroupID.x / (tiles * tiles), tile = gl_WorkGroupID.x % (tiles * tiles);
  uint d0 = (tile / tiles) * TS, e0 = (tile % tiles) * TS;
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  uint begin = j * pc.bk, end = min(pc.N, begin + pc.bk);
  vec4 acc[8][2]; // [4 ga + i][gb]: row d0 + 64 ga + 4 ty + i, columns e0 + 64 gb + 4 tx .. + 3
  for (uint a = 0u; a < 4u * G; a++)
    for (uint c = 0u; c < G; c++) acc[a][c] = vec4(0.0);
  float z = 0.0;

  float pk[8], pv[8]; // the next chunk, staged in registers (LOADS <= 8)
  for (uint l = 0u; l < LOADS; l++) {
    uint idx = tid + 256u * l, rr = idx / TS, c = idx % TS, r = begin + rr;
    pk[l] = r < end && d0 + c < pc.D ? phik[(bh * pc.N + r) * pc.D + d0 + c] : 0.0;
    pv[l] = r < end && e0 + c < pc.D ? load_v(V_DT, sla2_index(pc.v_strides, b, h, r, e0 + c)) : 0.0;
  }
  for (uint r0 = begin; r0 < end; r0 += RC) {
    barrier(); // the previous chunk is consumed
    for (uint l = 0u; l < LOADS; l++) {
      uint idx = tid + 256u * l, rr = idx / TS, c = idx % TS;
      sk[rr * TS4 + c / 4u][c % 4u] = pk[l];
      sv[rr * TS4 + c / 4u][c % 4u] = pv[l];
    }
    barrier();
    uint n0 = r0 + RC;
    if (n0 < end) {
      for (uint l = 0u; l < LOADS; l++) {
        uint idx = tid + 256u * l, rr = idx / TS, c = idx % TS, r = n0 + rr;
        pk[l] = r < end && d0 + c < pc.D ? phik[(bh * pc.N + r) * pc.D + d0 + c] : 0.0;
        pv[l] = r < end && e0 + c < pc.D ? load_v(V_DT, sla2_index(pc.v_strides, b, h, r, e0 + c)) : 0.0;
      }
    }
    uint count = min(RC, end - r0);
    for (uint rr = 0u; rr < count; rr++) {
      vec4 kd[2], ve[2];
      for (uint g = 0u; g < G; g++) {
        kd[g] = sk[rr * TS4 + 16u * g + ty];
        ve[g] = sv[rr * TS4 + 16u * g + tx];
      }
      for (uint ga = 0u; ga < G; ga++)
        for (uint i = 0u; i < 4u; i++)
          for (uint gb = 0u; gb < G; gb++) acc[4u * ga + i][gb] += kd[ga][i] * ve[gb];
    }
    if (e0 == 0u && tid < TS)
      for (uint rr = 0u; rr < count; rr++) z += sk[rr * TS4 + tid / 4u][tid % 4u];
  }
  uint out_base = (bh * pc.Tn + j) * pc.D;
  for (uint ga = 0u; ga < G; ga++)
    for (uint i = 0u; i < 4u; i++) {
      uint d = d0 + 64u * ga + 4u * ty + i;
      for (uint gb = 0u; gb < G; gb++) {
        uint e = e0 + 64u * gb + 4u * tx; // D % 4 == 0: the word is wholly inside or outside
        if (d < pc.D && e < pc.D) hblk4[((out_base + d) * pc.D + e) >> 2] = acc[4u * ga + i][gb];
      }
    }
  if (e0 == 0u && tid < TS && d0 + tid < pc.D) zblk[out_base + d0 + tid] = z;
}
