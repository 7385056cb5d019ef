// K~ (f32) split into f16 halves for the cooperative-matrix-2 sparse kernel of quant mode `none`:
// with y = x / 2, hi = f16(y) and lo = f16((y - hi) 2^11), so that
// K~ = 2 (hi + 2^-11 lo) to about 22 bits. Halving keeps smoothed keys of f16 inputs (|x| up to
// twice 65504) inside the f16 range; the 2^11 lifts the remainder out of the f16 subnormals.
// Both land contiguous [B, H, N, D] in one buffer, lo from element `lo_offset` on.
// One invocation per element; workgroups along x stride over N*D.
#version 450
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

layout(local_size_x = 256) in;

const float F16_MAX = 65504.0;
const float LO_SCALE = 2048.0; // 2^11: the lo half's scale (attention_cm2_f16.comp undoes it)

layout(push_constant) uniform Push {
  uvec4 strides; // elements of K~: b, h, n, channel
  uint N, D, lo_offset;
} pc;

layout(std430, binding = 0) readonly buffer KS { float ks[]; };
layout(std430, binding = 1) writeonly buffer Halves { float16_t halves[]; };

// y rounded (half to even) to 10 explicit mantissa bits, which is an f16 value wherever f16 is
// normal. Done with integer operations: a float -> f16 -> float round trip can be folded away by
// a driver's compiler, which would leave lo = 0.
float round_to_f16_bits(const float y) {
  const uint u = floatBitsToUint(y);
  return uintBitsToFloat((u + 0xFFFu + ((u >> 13) & 1u)) & 0xFFFFE000u);
}

void main() {
  const uint b = gl_WorkGroupID.z, h = gl_WorkGroupID.y, per_bh = pc.N * pc.D;
  const uint out_base = (b * gl_NumWorkGroups.y + h) * per_bh;
  for (uint e = gl_GlobalInvocationID.x; e < per_bh; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
    const uint n = e / pc.D, c = e % pc.D;
    const float x = ks[b * pc.strides.x + h * pc.strides.y + n * pc.strides.z + c * pc.strides.w];
    const float y = clamp(0.5 * x, -F16_MAX, F16_MAX);
    const float hi = round_to_f16_bits(y);
    halves[out_base + e] = float16_t(hi);
    halves[pc.lo_offset + out_base + e] = float16_t((y - hi) * LO_SCALE);
  }
}
