// Per-channel reduction over rows, into float-float pairs:
//   SUM:    partial[b, h, chunk, d] = sum of src[b, h, n, d] over the chunk's rows (float-float,
//           about the oracle's double sum, so K~ = K - mean rounds like the oracle's);
//   MAXABS: partial[b, h, chunk, d] = (max |src|, 0).
// Run over the input (PAIRS_IN false: a float tensor of dtype DT), then, when there is more than
// one chunk of `rows_per_chunk` rows, over the partials (PAIRS_IN: contiguous [B, H, chunks, D]
// pairs) in one chunk, which leaves the per-(b, h, d) result.
// Workgroup (chunk x channel tile of 128, h, b); 64 lanes over channel pairs (d, d + 1) x (WG / 64)
// row lanes (16-bit pairs are read as one word).
#version 450
#include "common.glsl"
#include "floatfloat.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const bool MAXABS = false;
layout(constant_id = 2) const uint DT = 0;
layout(constant_id = 3) const bool PAIRS_IN = false;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H, rows_per_chunk, chunks;
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) readonly buffer SrcPairs { vec2 src_pairs[]; };
layout(std430, binding = 2) writeonly buffer Partial { vec2 partial[]; };

SLA2_DEFINE_LOAD(load_src, src)

const uint ROW_LANES = WG / 64u;
shared vec4 red[WG]; // channels d and d + 1

vec2 combine(vec2 acc, vec2 x) { return MAXABS ? vec2(max(acc.x, x.x), 0.0) : ff_add(acc, x); }

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint tiles = (pc.D + 127u) / 128u;
  uint chunk = gl_WorkGroupID.x / tiles, d = (gl_WorkGroupID.x % tiles) * 128u + 2u * (tid % 64u);
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  uint begin = chunk * pc.rows_per_chunk, end = min(pc.N, begin + pc.rows_per_chunk);
  vec2 acc0 = vec2(0.0), acc1 = vec2(0.0);
  if (d < pc.D)
    for (uint n = begin + tid / 64u; n < end; n += ROW_LANES) {
      vec2 x0, x1;
      if (PAIRS_IN) {
        uint at = (bh * pc.N + n) * pc.D + d;
        x0 = src_pairs[at], x1 = src_pairs[at + 1u];
      } else {
        vec2 x = load_src2(DT, sla2_index(pc.src_strides, b, h, n, d), pc.src_strides.w);
        x0 = vec2(x.x, 0.0), x1 = vec2(x.y, 0.0);
      }
      acc0 = combine(acc0, MAXABS ? abs(x0) : x0);
      acc1 = combine(acc1, MAXABS ? abs(x1) : x1);
    }
  red[tid] = vec4(acc0, acc1);
  barrier();
  if (tid < 64u && d < pc.D) {
    for (uint r = 1u; r < ROW_LANES; r++) {
      vec4 o = red[tid + 64u * r];
      acc0 = combine(acc0, o.xy);
      acc1 = combine(acc1, o.zw);
    }
    uint at = (bh * pc.chunks + chunk) * pc.D + d;
    partial[at] = acc0;
    partial[at + 1u] = acc1;
  }
}
