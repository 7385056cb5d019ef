// INT8 or FP8 E4M3 codes (contiguous [B, H, N, D], four per 32-bit word) into f16 for the
// cooperative-matrix-2 kernel of quant mode int8_fp8 (sparse_fp8_cm2.comp), exactly:
//   E4M3 = false: an INT8 code c in [-127, 127] becomes the f16 value c;
//   E4M3 = true:  an E4M3 code becomes 2^-8 times its value (sla2_e4m3_to_f16_scaled), which the
//                 kernel multiplies back.
// One invocation per input word; workgroups along x stride over the words.
#version 450
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const bool E4M3 = false;

layout(push_constant) uniform Push {
  uint words;      // input words (elements / 4)
  uint out_offset; // the first output element / 4
} pc;

layout(std430, binding = 0) readonly buffer Codes { uint codes[]; };
layout(std430, binding = 1) writeonly buffer Halves { uvec2 halves[]; }; // 4 f16 per input word

uint to_f16(uint code) { return E4M3 ? sla2_e4m3_to_f16_scaled(code) : sla2_int8_to_f16(code); }

void main() {
  for (uint w = gl_GlobalInvocationID.x; w < pc.words; w += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
    const uint x = codes[w];
    halves[pc.out_offset + w] =
        sla2_pack_f16x4(to_f16(x & 0xFFu), to_f16((x >> 8) & 0xFFu), to_f16((x >> 16) & 0xFFu), to_f16(x >> 24));
  }
}
