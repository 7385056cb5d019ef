// SMOOTH_K: KS[b, h, n, d] = K[b, h, n, d] - colsum[b, h, d] / N (SMOOTH), or K widened to f32.
// The mean and the difference are float-float, rounded once to f32, so K~ matches the oracle's
// (double) K~ bit for bit except where it sits within ~2^-44 of an f32 rounding boundary.
// Workgroup (tile of `rows` rows, h, b); 16-bit channel pairs are read as one word.
// SPLIT (a whole forward of quant `none` on cooperative matrices 2): K~ also goes out as the sparse
// kernel's f16 halves (sla2_split_k), hi at the element K~ has in KS and lo from lo_offset on, so
// no split pass reads K~ back.
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "floatfloat.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const bool SMOOTH = true;
layout(constant_id = 3) const bool SPLIT = false;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H, rows;
  uint unused_f16_at; // (the quantizers' field of the same push block)
  uint lo_offset;     // SPLIT: the lo halves' first element
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) readonly buffer Colsum { vec2 colsum[]; };
layout(std430, binding = 2) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 3) writeonly buffer Halves { uint halves[]; }; // SPLIT: f16 pairs

SLA2_DEFINE_LOAD(load_src, src)

shared vec2 mean[SLA2_HEAD_DIM_MAX];

void main() {
  uint tid = gl_LocalInvocationID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  for (uint d = tid; d < pc.D; d += WG) mean[d] = SMOOTH ? ff_div(colsum[bh * pc.D + d], float(pc.N)) : vec2(0.0);
  barrier();
  // 64 lanes over channel pairs (d, d + 1) times WG / 64 row lanes.
  const uint PAIR_LANES = 64u, ROW_LANES = WG / PAIR_LANES;
  // Each invocation loads ROWS_IN_FLIGHT rows before it writes any: the stores otherwise kept the
  // compiler from issuing the next row's load early (H100, N = 32760: 272 -> 229 us with the
  // halves written). The same in pool, colreduce and the quantizers ran slower or no faster.
  const uint ROWS_IN_FLIGHT = 4u;
  uint n0 = gl_WorkGroupID.x * pc.rows, n_end = min(pc.N, n0 + pc.rows);
  for (uint r0 = n0 + tid / PAIR_LANES; r0 < n_end; r0 += ROWS_IN_FLIGHT * ROW_LANES)
    for (uint d = 2u * (tid % PAIR_LANES); d < pc.D; d += 2u * PAIR_LANES) {
      vec2 xs[ROWS_IN_FLIGHT]; // rows past the end are loaded as the last row, not used
      [[unroll]] for (uint u = 0u; u < ROWS_IN_FLIGHT; u++)
        xs[u] = load_src2(DT, sla2_index(pc.src_strides, b, h, min(r0 + u * ROW_LANES, n_end - 1u), d), pc.src_strides.w);
      [[unroll]] for (uint u = 0u; u < ROWS_IN_FLIGHT; u++) {
        uint n = r0 + u * ROW_LANES;
        if (n >= n_end) break;
        vec2 y0 = ff_add(vec2(xs[u].x, 0.0), -mean[d]), y1 = ff_add(vec2(xs[u].y, 0.0), -mean[d + 1u]);
        uint at = (bh * pc.N + n) * pc.D + d;
        const float k0 = y0.x + y0.y, k1 = y1.x + y1.y;
        dst[at] = k0;
        dst[at + 1u] = k1;
        if (SPLIT) { // at is even: D is
          const vec2 s0 = sla2_split_k(k0), s1 = sla2_split_k(k1);
          halves[at / 2u] = sla2_f32_to_f16(s0.x) | (sla2_f32_to_f16(s1.x) << 16);
          halves[(pc.lo_offset + at) / 2u] = sla2_f32_to_f16(s0.y) | (sla2_f32_to_f16(s1.y) << 16);
        }
      }
    }
}
