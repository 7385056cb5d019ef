// SPARSE_ATTN of quant mode int8_fp8 on workgroup-scope cooperative matrices
// (GL_NV_cooperative_matrix2), computing the oracle's math (DESIGN §2, low-bit sparse branch):
//   S = (s sigma_q sigma_k) (code_q . code_k), the integer dot product exact: the INT8 codes are
//       f16 values (codes_f16.comp) and every partial sum of their products is an integer below
//       2^24 (at most 256 x 127^2), so f16 products with f32 sums carry it exactly;
//   m = the exact row maximum over the LUT row (a first pass over the K tiles), as the oracle
//       rounds P at that maximum; P~ = exp(S - m); l = sum of the f32 P~;
//   O = sum E4M3(448 P~) V_codes, with V's E4M3 codes as f16 at 2^-8 of their value (exact), so
//       each product is exact and sums are f32; then O 2^8 sigma_v / 448 / l, LSE = m + log l.
// One workgroup owns BR rows of a query block and walks the key blocks of its LUT row BC keys at
// a time (BC <= the key block, so one sigma_k per tile); whole tiles load from inside the tensors
// (INNER_KV) with their columns outside the tile's keys masked, as in attention_cm2_f16.comp.
#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const uint DH = 128; // head dim, a multiple of 16
layout(constant_id = 2) const uint BR = 64;  // query rows per workgroup
layout(constant_id = 3) const uint BC = 64;  // keys per tile
layout(constant_id = 4) const bool INNER_KV = false; // N >= BC: whole tiles from inside the tensor

layout(push_constant) uniform Push {
  uint N, bq, bk, Tm, Tn, k;
  float scale;
  uint k_offset, v_offset; // where K's and V's f16 codes start in the codes binding
} pc;

layout(std430, binding = 0) readonly buffer Codes { float16_t codes[]; }; // Q, K, V codes as f16
layout(std430, binding = 3) readonly buffer Lut { int lut[]; };
layout(std430, binding = 4) readonly buffer QScale { float qscale[]; };
layout(std430, binding = 5) readonly buffer KScale { float kscale[]; };
layout(std430, binding = 6) readonly buffer VScale { float vscale[]; };
layout(std430, binding = 7) writeonly buffer OS { float os[]; };   // contiguous f32 [B, H, N, DH]
layout(std430, binding = 8) writeonly buffer Lse { float lse[]; };

#define ACC(R, C) coopmat<float, gl_ScopeWorkgroup, R, C, gl_MatrixUseAccumulator>
#define MASKED (-3.0e38)

float max_of(const in float a, const in float b) { return max(a, b); }
float sum_of(const in float a, const in float b) { return a + b; }
float first_of(const in float a, const in float b) { return a; }
float max_elem(const in uint r, const in uint c, const in float a, const in float b) { return max(a, b); }
float mask_cols(const in uint r, const in uint c, const in float x, const in uint first, const in uint end) {
  return c >= first && c < end ? x : MASKED;
}
float p_of(const in uint r, const in uint c, const in float s, const in float m) { return s == MASKED ? 0.0 : exp(s - m); }
float p_code(const in uint r, const in uint c, const in float p) { return sla2_e4m3_round_pos(SLA2_FP8_P_SCALE * p); }
// O's column c: 2^8 sigma_v[c] / 448 / l; vscale_base is (b, h)'s first channel.
float finish_o(const in uint r, const in uint c, const in float o, const in float l, const in uint vscale_base) {
  return o * SLA2_E4M3_F16_UNSCALE * vscale[vscale_base + c] / SLA2_FP8_P_SCALE / l;
}
float store_lse(const in uint r, const in uint c, const in float l, const in float m, const in uint base, const in uint rows) {
  if (c == 0u && r < rows) lse[base + r] = m + log(l);
  return l;
}

#define CLAMPED tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV>

CLAMPED clamped_rows(uint rows) {
  CLAMPED t = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
  t = setTensorLayoutDimensionNV(t, rows, DH);
  return setTensorLayoutStrideNV(t, DH, 1);
}

tensorLayoutNV<2> inner_rows(uint rows) {
  tensorLayoutNV<2> t = createTensorLayoutNV(2);
  t = setTensorLayoutDimensionNV(t, rows, DH);
  return setTensorLayoutStrideNV(t, DH, 1);
}

void main() {
  const uint b = gl_WorkGroupID.z, h = gl_WorkGroupID.y, N = pc.N;
  const uint bh = b * gl_NumWorkGroups.y + h;
  const uint per_block = pc.bq / BR, i = gl_WorkGroupID.x / per_block;
  const uint row0 = i * pc.bq + (gl_WorkGroupID.x % per_block) * BR, row_end = min(i * pc.bq + pc.bq, N);
  const uint lut_row = (bh * pc.Tm + i) * pc.k, key_tiles = pc.k * (pc.bk / BC);
  const float qs = pc.scale * qscale[bh * pc.Tm + i];
  tensorViewNV<2, false, 1, 0> transposed = createTensorViewNV(2, false, 1, 0);
  const uint base = bh * N * DH, k_base = pc.k_offset + base, v_base = pc.v_offset + base;
  CLAMPED clamped = clamped_rows(N);
  tensorLayoutNV<2> inner = inner_rows(N);

  coopmat<float16_t, gl_ScopeWorkgroup, BR, DH, gl_MatrixUseA> Qm;
  coopMatLoadTensorNV(Qm, codes, base, sliceTensorLayoutNV(clamped, row0, BR, 0, DH));

  // Pass 1: the exact row maxima (an element-wise running max, reduced once).
  ACC(BR, BC) M = ACC(BR, BC)(MASKED);
  [[dont_unroll]] for (uint t = 0u; t < key_tiles; t++) {
    const uint block = uint(lut[lut_row + t / (pc.bk / BC)]);
    const uint first = block * pc.bk + (t % (pc.bk / BC)) * BC, end = min(first + BC, N);
    if (first >= N) continue; // a tile past N in a partial last key block
    const uint start = INNER_KV ? min(first, N - BC) : first;
    coopmat<float16_t, gl_ScopeWorkgroup, DH, BC, gl_MatrixUseB> Kt;
    if (INNER_KV) {
      coopMatLoadTensorNV(Kt, codes, k_base, sliceTensorLayoutNV(inner, start, BC, 0, DH), transposed);
    } else {
      coopMatLoadTensorNV(Kt, codes, k_base, sliceTensorLayoutNV(clamped, start, BC, 0, DH), transposed);
    }
    ACC(BR, BC) S = coopMatMulAdd(Qm, Kt, ACC(BR, BC)(0.0)) * (qs * kscale[bh * pc.Tn + block]);
    if (start != first || end - start < BC) coopMatPerElementNV(S, S, mask_cols, first - start, end - start);
    coopMatPerElementNV(M, M, max_elem, S);
  }
  ACC(BR, BC) m;
  coopMatReduceNV(m, M, gl_CooperativeMatrixReduceRowNV, max_of);

  // Pass 2: P~ at that maximum, its E4M3 codes times V's.
  ACC(BR, DH) O = ACC(BR, DH)(0.0);
  ACC(BR, BC) L = ACC(BR, BC)(0.0); // per element: the sum of P~ over its column of every tile
  [[dont_unroll]] for (uint t = 0u; t < key_tiles; t++) {
    const uint block = uint(lut[lut_row + t / (pc.bk / BC)]);
    const uint first = block * pc.bk + (t % (pc.bk / BC)) * BC, end = min(first + BC, N);
    if (first >= N) continue;
    const uint start = INNER_KV ? min(first, N - BC) : first;
    coopmat<float16_t, gl_ScopeWorkgroup, DH, BC, gl_MatrixUseB> Kt;
    if (INNER_KV) {
      coopMatLoadTensorNV(Kt, codes, k_base, sliceTensorLayoutNV(inner, start, BC, 0, DH), transposed);
    } else {
      coopMatLoadTensorNV(Kt, codes, k_base, sliceTensorLayoutNV(clamped, start, BC, 0, DH), transposed);
    }
    ACC(BR, BC) S = coopMatMulAdd(Qm, Kt, ACC(BR, BC)(0.0)) * (qs * kscale[bh * pc.Tn + block]);
    if (start != first || end - start < BC) coopMatPerElementNV(S, S, mask_cols, first - start, end - start);
    coopMatPerElementNV(S, S, p_of, m);
    L += S;
    coopMatPerElementNV(S, S, p_code);
    coopmat<float16_t, gl_ScopeWorkgroup, BC, DH, gl_MatrixUseB> Vm;
    if (INNER_KV) {
      coopMatLoadTensorNV(Vm, codes, v_base, sliceTensorLayoutNV(inner, start, BC, 0, DH));
    } else {
      coopMatLoadTensorNV(Vm, codes, v_base, sliceTensorLayoutNV(clamped, start, BC, 0, DH));
    }
    O = coopMatMulAdd(coopmat<float16_t, gl_ScopeWorkgroup, BR, BC, gl_MatrixUseA>(S), Vm, O);
  }

  const uint rows = row0 < row_end ? min(BR, row_end - row0) : 0u;
  ACC(BR, BC) l;
  coopMatReduceNV(l, L, gl_CooperativeMatrixReduceRowNV, sum_of);
  coopMatPerElementNV(l, l, store_lse, m, bh * N + row0, rows);
  ACC(BR, DH) l_o;
  coopMatReduceNV(l_o, l, gl_CooperativeMatrixReduceRowNV, first_of);
  coopMatPerElementNV(O, O, finish_o, l_o, bh * DH);
  CLAMPED o_rows = clamped_rows(row_end);
  coopMatStoreTensorNV(O, os, base, sliceTensorLayoutNV(o_rows, row0, BR, 0, DH));
}
