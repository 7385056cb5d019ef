// FEATURE_MAP: phi per row into a contiguous [B, H, N, D]: softmax over the D channels
// (max-subtracted), elu(x) + 1, or relu. Workgroup of WG / 32 rows, 32 lanes per row; each lane
// keeps its channel pairs (2p, 2p + 1), p = lane + 32 j, in registers, so the row is read once
// and each exponential is taken once; row reductions are shared-memory trees. The output is f32,
// or f16 (OUT_F16, rounded half to even, one pair per 32-bit word) for the memory-light linear
// branch (vk_linear_light.c).
// LSE_SHIFT (phi(q) of a whole forward whose sparse branch reads the raw K): also s q . mean_N(K)
// per row into the LSE buffer, which the sparse kernel takes off its log-sum-exp and overwrites.
#version 450
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const uint FMAP = 0;
layout(constant_id = 3) const bool OUT_F16 = false;
layout(constant_id = 4) const bool LSE_SHIFT = false;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H;
  float scale; // LSE_SHIFT only
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) writeonly buffer Dst16 { uint dst16[]; }; // pairs of f16 (D is even)
layout(std430, binding = 2) readonly buffer Colsum { vec2 colsum[]; }; // LSE_SHIFT: K's float-float column sums
layout(std430, binding = 3) writeonly buffer Shift { float shift[]; };  // LSE_SHIFT: [B, H, N]

SLA2_DEFINE_LOAD(load_src, src)

const uint LANES = 32u;
const uint PAIRS = SLA2_HEAD_DIM_MAX / 2u / LANES; // channel pairs per lane at most
shared float red[WG];

// The max (take_max) or sum of v over the 32 lanes of this thread's row. Every invocation of the
// workgroup calls it (barriers).
float row_reduce(uint tid, uint lane, float v, bool take_max) {
  red[tid] = v;
  barrier();
  for (uint off = LANES / 2u; off > 0u; off >>= 1) {
    if (lane < off) red[tid] = take_max ? max(red[tid], red[tid + off]) : red[tid] + red[tid + off];
    barrier();
  }
  float r = red[tid - lane];
  barrier(); // red[] is written again by the next reduction
  return r;
}

float elementwise_phi(float x) {
  return FMAP == SLA2_FMAP_ELU ? (x > 0.0 ? x + 1.0 : exp(x)) : (x > 0.0 ? x : 0.0);
}

void main() {
  uint tid = gl_LocalInvocationID.x, lane = tid % LANES;
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint n = gl_WorkGroupID.x * (WG / LANES) + tid / LANES;
  bool live = n < pc.N;
  uint half_d = pc.D / 2u;
  vec2 x[PAIRS];
  float m = -3.402823466e38;
  [[unroll]] for (uint j = 0u; j < PAIRS; j++) {
    uint p = lane + LANES * j;
    x[j] = vec2(0.0);
    if (live && p < half_d) {
      x[j] = load_src2(DT, sla2_index(pc.src_strides, b, h, n, 2u * p), pc.src_strides.w);
      m = max(m, max(x[j].x, x[j].y));
    }
  }
  if (LSE_SHIFT) { // every invocation takes part in the reduction (barriers)
    const uint bh = b * pc.H + h;
    float dot = 0.0;
    [[unroll]] for (uint j = 0u; j < PAIRS; j++) {
      uint p = lane + LANES * j;
      if (live && p < half_d) {
        const vec2 s0 = colsum[bh * pc.D + 2u * p], s1 = colsum[bh * pc.D + 2u * p + 1u];
        dot += x[j].x * (s0.x + s0.y) + x[j].y * (s1.x + s1.y);
      }
    }
    dot = row_reduce(tid, lane, dot, false);
    if (live && lane == 0u) shift[bh * pc.N + n] = pc.scale * (dot / float(pc.N));
  }
  if (FMAP == SLA2_FMAP_SOFTMAX) {
    m = row_reduce(tid, lane, m, true);
    float s = 0.0;
    [[unroll]] for (uint j = 0u; j < PAIRS; j++) {
      if (live && lane + LANES * j < half_d) {
        x[j] = exp(x[j] - m);
        s += x[j].x + x[j].y;
      }
    }
    s = row_reduce(tid, lane, s, false);
    [[unroll]] for (uint j = 0u; j < PAIRS; j++) x[j] /= s;
  } else {
    [[unroll]] for (uint j = 0u; j < PAIRS; j++) x[j] = vec2(elementwise_phi(x[j].x), elementwise_phi(x[j].y));
  }
  if (!live) return;
  uint out_base = ((b * pc.H + h) * pc.N + n) * pc.D;
  [[unroll]] for (uint j = 0u; j < PAIRS; j++) {
    uint p = lane + LANES * j;
    if (p >= half_d) break;
    if (OUT_F16) {
      dst16[out_base / 2u + p] = sla2_f32_to_f16(x[j].x) | (sla2_f32_to_f16(x[j].y) << 16);
    } else {
      dst[out_base + 2u * p] = x[j].x;
      dst[out_base + 2u * p + 1u] = x[j].y;
    }
  }
}
