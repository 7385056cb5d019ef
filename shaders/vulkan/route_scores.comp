// ROUTE, step 2: scores[b, h, i, j] = s * qp[b, h, i] . kp[b, h, j] in float-float; SCORES gets the
// f32 rounding, pairs[] the float-float value the top-k ranks by. Workgroup: 64 x 64 (i, j) tile
// of one (b, h), 4 x 4 outputs per invocation (each shared value read serves four products); the
// projected rows stream through shared memory in chunks of DC channels, rows padded by one vec2
// (unpadded, the 16 lanes reading ks[tx][c] all hit one bank: 16-way conflicts). Each product is
// added in channel order, as before the tiling.
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
layout(constant_id = 0) const bool FF_FMA = false; // fma() is fused (floatfloat.glsl)
#define SLA2_FF_FMA FF_FMA
#include "floatfloat.glsl"

layout(local_size_x = 16, local_size_y = 16) in;
const uint DC = 16u;  // channels per shared-memory chunk
const uint R = 4u;    // outputs per invocation along i and along j
const uint TILE = 16u * R;

layout(push_constant) uniform Push {
  uint Tm, Tn, D;
  float scale;
} pc;

layout(std430, binding = 0) readonly buffer QP { vec2 qp[]; };
layout(std430, binding = 1) readonly buffer KP { vec2 kp[]; };
layout(std430, binding = 2) writeonly buffer Scores { float scores[]; };
layout(std430, binding = 3) writeonly buffer Pairs { vec2 pairs[]; };

shared vec2 qs[TILE][DC + 1u];
shared vec2 ks[TILE][DC + 1u];

void main() {
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, tid = ty * 16u + tx;
  uint bh = gl_WorkGroupID.z;
  uint i0 = gl_WorkGroupID.y * TILE, j0 = gl_WorkGroupID.x * TILE;
  // This invocation's outputs: rows i0 + ty + 16 a, columns j0 + tx + 16 c.
  vec2 acc[R][R];
  [[unroll]] for (uint a = 0u; a < R; a++)
    [[unroll]] for (uint c = 0u; c < R; c++) acc[a][c] = vec2(0.0);
  for (uint d0 = 0u; d0 < pc.D; d0 += DC) {
    for (uint idx = tid; idx < TILE * DC; idx += 256u) {
      uint r = idx / DC, c = idx % DC, d = d0 + c;
      qs[r][c] = (i0 + r < pc.Tm && d < pc.D) ? qp[(bh * pc.Tm + i0 + r) * pc.D + d] : vec2(0.0);
      ks[r][c] = (j0 + r < pc.Tn && d < pc.D) ? kp[(bh * pc.Tn + j0 + r) * pc.D + d] : vec2(0.0);
    }
    barrier();
    for (uint c = 0u; c < DC; c++) {
      vec2 q[R], k[R];
      [[unroll]] for (uint a = 0u; a < R; a++) q[a] = qs[ty + 16u * a][c], k[a] = ks[tx + 16u * a][c];
      [[unroll]] for (uint a = 0u; a < R; a++)
        [[unroll]] for (uint e = 0u; e < R; e++) acc[a][e] = ff_add(acc[a][e], ff_mul(q[a], k[e]));
    }
    barrier();
  }
  [[unroll]] for (uint a = 0u; a < R; a++)
    [[unroll]] for (uint e = 0u; e < R; e++) {
      uint i = i0 + ty + 16u * a, j = j0 + tx + 16u * e;
      if (i < pc.Tm && j < pc.Tn) {
        vec2 s = ff_mul(acc[a][e], vec2(pc.scale, 0.0));
        uint at = (bh * pc.Tm + i) * pc.Tn + j;
        scores[at] = s.x + s.y;
        pairs[at] = s;
      }
    }
}
