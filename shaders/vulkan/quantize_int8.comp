// QUANTIZE_INT8 per (b, h, block t of `block` rows): sigma = max|x| / 127 (1 when all zero),
// code = clamp(rint(x / sigma), -127, 127), both with exact f32 divisions. Codes are packed four
// to a word (D is a multiple of 8, so a word never straddles rows). Workgroup (t, h, b).
// F16_CODES (a whole forward on cooperative matrices 2, vk_attention_cm2.c): the codes go out as
// the f16 values the sparse kernel multiplies, four to a uvec2 from f16_at on, instead of bytes.
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const bool F16_CODES = false;

layout(push_constant) uniform Push {
  uvec4 src_strides;
  uint N, D, H, block, T;
  uint f16_at; // F16_CODES: the first output uvec2 (element offset / 4)
} pc;

layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) writeonly buffer Codes { uint codes[]; };
layout(std430, binding = 2) writeonly buffer Scales { float scales[]; };
layout(std430, binding = 3) writeonly buffer Halves { uvec2 halves[]; };

SLA2_DEFINE_LOAD(load_src, src)

shared float red[WG];

void main() {
  uint tid = gl_LocalInvocationID.x, t = gl_WorkGroupID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint bh = b * pc.H + h;
  uint begin = t * pc.block, rows = min(pc.N, begin + pc.block) - begin, count = rows * pc.D;
  float amax = 0.0;
  for (uint i = tid; i < count; i += WG)
    amax = max(amax, abs(load_src(DT, sla2_index(pc.src_strides, b, h, begin + i / pc.D, i % pc.D))));
  red[tid] = amax;
  barrier();
  for (uint half_ = WG / 2u; half_ > 0u; half_ >>= 1) {
    if (tid < half_) red[tid] = max(red[tid], red[tid + half_]);
    barrier();
  }
  float sigma = sla2_int8_sigma(red[0]);
  if (tid == 0u) scales[bh * pc.T + t] = sigma;
  uint word0 = (bh * pc.N + begin) * pc.D / 4u;
  for (uint w = tid; w < count / 4u; w += WG) {
    uint n = begin + (4u * w) / pc.D, d = (4u * w) % pc.D, packed = 0u;
    uint f16[4];
    for (uint c = 0u; c < 4u; c++) {
      int code = sla2_int8_code(load_src(DT, sla2_index(pc.src_strides, b, h, n, d + c)), sigma);
      packed |= (uint(code) & 0xFFu) << (8u * c);
      if (F16_CODES) f16[c] = sla2_f32_to_f16(float(code));
    }
    if (F16_CODES) {
      halves[pc.f16_at + word0 + w] = sla2_pack_f16x4(f16[0], f16[1], f16[2], f16[3]);
    } else {
      codes[word0 + w] = packed;
    }
  }
}
