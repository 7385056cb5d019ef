// POOL: out[b, h, t, d] = mean of src[b, h, n, d] over the rows of block t (a partial last block
// divides by its true length), summed in float-float and rounded once, like the oracle's double.
// (The mean of K~ over all of N is ~0: only an accurate sum of the rounded K~ reproduces it.)
// Workgroup (t, h, b), threads over channels.
#version 450
#include "common.glsl"
#include "floatfloat.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint DT = 0;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H, block, T;
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };

SLA2_DEFINE_LOAD(load_src, src)

void main() {
  uint t = gl_WorkGroupID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint begin = t * pc.block, end = min(pc.N, begin + pc.block);
  for (uint d = gl_LocalInvocationID.x; d < pc.D; d += WG) {
    vec2 sum = vec2(0.0);
    for (uint n = begin; n < end; n++) sum = ff_add(sum, vec2(load_src(DT, sla2_index(pc.src_strides, b, h, n, d)), 0.0));
    vec2 mean = ff_div(sum, float(end - begin));
    dst[((b * pc.H + h) * pc.T + t) * pc.D + d] = mean.x + mean.y;
  }
}
