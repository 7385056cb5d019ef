// COMBINE: O = a O_s + (1 - a) O_l with a = sigmoid(alpha logit) per head or per (head, query
// block); O in the caller's dtype and strides. Invocation per pair of channels (d, d + 1); when
// both share one 32-bit word of a 16-bit O (PAIRS), one plain store writes them.
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint O_DT = 0;
layout(constant_id = 2) const bool PER_BLOCK = false;

layout(push_constant) uniform Push {
  uvec4 o_strides;
  uint N, D, H, bq, Tm, pairs;
} pc;

layout(std430, binding = 0) readonly buffer OS { float os[]; };
layout(std430, binding = 1) readonly buffer OL { float ol[]; };
layout(std430, binding = 2) readonly buffer Alpha { float alpha[]; };
layout(std430, binding = 3) buffer O { uint o[]; };

SLA2_DEFINE_STORE(store_o, o)

void main() {
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  uint half_d = pc.D / 2u, count = pc.N * half_d;
  for (uint x = gl_GlobalInvocationID.x; x < count; x += gl_NumWorkGroups.x * WG) {
    uint n = x / half_d, d = (x % half_d) * 2u;
    float logit = PER_BLOCK ? alpha[h * pc.Tm + n / pc.bq] : alpha[h];
    float a = 1.0 / (1.0 + exp(-logit));
    uint src = (bh * pc.N + n) * pc.D + d;
    float v0 = a * os[src] + (1.0 - a) * ol[src];
    float v1 = a * os[src + 1u] + (1.0 - a) * ol[src + 1u];
    uint at = sla2_index(pc.o_strides, b, h, n, d);
    if (O_DT != DT_F32 && pc.pairs != 0u) {
      store_o2(O_DT, at, v0, v1);
    } else {
      store_o(O_DT, at, v0);
      store_o(O_DT, at + pc.o_strides.w, v1);
    }
  }
}
