// FEATURE_MAP: phi per row into a contiguous [B, H, N, D]: softmax over the D channels
// (max-subtracted), elu(x) + 1, or relu. Workgroup of WG / 32 rows, 32 lanes per row; the row
// reductions go through shared memory. The output is f32, or f16 (OUT_F16, rounded half to even,
// two channels per 32-bit word) for the memory-light linear branch (vk_linear_light.c).
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const uint FMAP = 0;
layout(constant_id = 3) const bool OUT_F16 = false;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H;
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) writeonly buffer Dst16 { uint dst16[]; }; // pairs of f16 (D is even)

SLA2_DEFINE_LOAD(load_src, src)

const uint LANES = 32u;
shared float red[WG];

// Reduces red[] over the 32 lanes of this thread's row: max (MAX) or sum.
float row_reduce(uint row_base, bool take_max) {
  float v = red[row_base];
  for (uint l = 1u; l < LANES; l++) v = take_max ? max(v, red[row_base + l]) : v + red[row_base + l];
  return v;
}

// phi of channel value x; m and s are the softmax row's maximum and sum of exponentials.
float phi(float x, float m, float s) {
  if (FMAP == SLA2_FMAP_SOFTMAX) return exp(x - m) / s;
  return FMAP == SLA2_FMAP_ELU ? (x > 0.0 ? x + 1.0 : exp(x)) : (x > 0.0 ? x : 0.0);
}

void main() {
  uint tid = gl_LocalInvocationID.x, lane = tid % LANES, row_base = tid - lane;
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint n = gl_WorkGroupID.x * (WG / LANES) + tid / LANES;
  bool live = n < pc.N;
  uint out_base = ((b * pc.H + h) * pc.N + n) * pc.D;
  float m = 0.0, s = 1.0;
  if (FMAP == SLA2_FMAP_SOFTMAX) {
    m = -3.402823466e38;
    if (live)
      for (uint d = lane; d < pc.D; d += LANES) m = max(m, load_src(DT, sla2_index(pc.src_strides, b, h, n, d)));
    red[tid] = m;
    barrier();
    m = row_reduce(row_base, true);
    barrier();
    s = 0.0;
    if (live)
      for (uint d = lane; d < pc.D; d += LANES) s += exp(load_src(DT, sla2_index(pc.src_strides, b, h, n, d)) - m);
    red[tid] = s;
    barrier();
    s = row_reduce(row_base, false);
  }
  if (!live) return;
  if (OUT_F16) {
    for (uint d = 2u * lane; d < pc.D; d += 2u * LANES) {
      float x0 = load_src(DT, sla2_index(pc.src_strides, b, h, n, d));
      float x1 = load_src(DT, sla2_index(pc.src_strides, b, h, n, d + 1u));
      dst16[(out_base + d) / 2u] = sla2_f32_to_f16(phi(x0, m, s)) | (sla2_f32_to_f16(phi(x1, m, s)) << 16);
    }
  } else {
    for (uint d = lane; d < pc.D; d += LANES) dst[out_base + d] = phi(load_src(DT, sla2_index(pc.src_strides, b, h, n, d)), m, s);
  }
}
