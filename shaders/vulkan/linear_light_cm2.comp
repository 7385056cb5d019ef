// LINEAR_ATTN of the memory-light linear branch (DESIGN §2.5, vk_linear_light.c) on
// workgroup-scope cooperative matrices, over the same LUT row as the sparse branch:
//   num_r = phi(q_r) H_tot - sum_{j in LUT_i} (phi(q_r) phi(K~_j)^T) V_j
//   den_r = phi(q_r) . Z_tot - sum_{j in LUT_i} rowsum(phi(q_r) phi(K~_j)^T)
//   O_l,r = num_r / den_r, 0 where den_r <= SLA2_LINEAR_DEN_EPS,
// so no per-block state is written or gathered.
// Precision: phi(q) and phi(K~) are f16 (the feature map rounded them; H_tot was summed from the
// same f16 phi(K~), so the subtracted share matches what the total holds), products f16 with f32
// sums. H_tot and Z_tot enter as hi + 2^-11 lo halves of 2^s H_tot (light_total.comp), which
// keeps the total term near f32 accuracy; T = phi(Q) phi(K~_j)^T is rounded to f16 once and that
// rounded T feeds both T V and the row sums (T times a matrix of ones), so numerator and
// denominator subtract the same weights.
// One workgroup owns BR rows of a query block; key blocks are walked BC keys at a time as in
// attention_cm2_f16.comp (whole tiles from inside the tensors with INNER_KV, masked columns 0).
// COMBINE (a whole forward whose O is f16): the epilogue also does the COMBINE node,
// O = a O_s + (1 - a) O_l with the sparse branch's O_s and a = sigmoid(alpha logit), the same
// f32 expression as combine.comp, and stores O in the caller's strides; O_l is not written.
#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_GOOGLE_include_directive : require
#include "sla2_constants.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const uint DH = 128; // head dim, a multiple of 16
layout(constant_id = 2) const uint BR = 64;  // query rows per workgroup
layout(constant_id = 3) const uint BC = 64;  // keys per tile
// N >= BC and every V stride a multiple of 8 elements: phi(K~) and V tiles load without bounds
// checks from inside the tensors (see attention_cm2_f16.comp).
layout(constant_id = 4) const bool INNER_KV = false;
layout(constant_id = 5) const uint ZC = 16; // columns of the Z halves (light_total.comp's zc)
layout(constant_id = 6) const bool COMBINE = false;
layout(constant_id = 7) const bool PER_BLOCK = false; // COMBINE: alpha per (head, query block)

layout(push_constant) uniform Push {
  uvec4 v_strides; // elements: b, h, n, channel (channel is 1)
  uint N, bq, bk, Tm, k;
  float h_unscale; // 2^-s: undoes light_total.comp's scale of the halves
  uvec4 o_strides; // COMBINE: O's element strides (b, h, n, channel)
} pc;

layout(std430, binding = 0) readonly buffer PhiQ { float16_t phiq[]; }; // contiguous [B, H, N, DH]
layout(std430, binding = 1) readonly buffer PhiK { float16_t phik[]; }; // contiguous [B, H, N, DH]
layout(std430, binding = 2) readonly buffer V { float16_t v[]; };
layout(std430, binding = 3) readonly buffer Lut { int lut[]; };
layout(std430, binding = 4) readonly buffer Halves { float16_t halves[]; };
layout(std430, binding = 5) readonly buffer OS { float os[]; };  // COMBINE: contiguous f32 [B, H, N, DH]
layout(std430, binding = 6) readonly buffer Alpha { float alpha[]; };
layout(std430, binding = 7) writeonly buffer OL { float ol[]; }; // contiguous f32 [B, H, N, DH]
layout(std430, binding = 7) writeonly buffer O16 { float16_t o16[]; }; // COMBINE: O

#define ACC(R, C) coopmat<float, gl_ScopeWorkgroup, R, C, gl_MatrixUseAccumulator>

float first_of(const in float a, const in float b) { return a; }
float sum_of(const in float a, const in float b) { return a + b; }
// Keeps the key columns in [first, end), zero elsewhere.
float keep_cols(const in uint r, const in uint c, const in float x, const in uint first, const in uint end) {
  return c >= first && c < end ? x : 0.0;
}
// phi(q) . (2^s Z_tot) from the products with the hi (column 0) and lo (column 1) halves.
float z_halves(const in uint r, const in uint c, const in float x) {
  return c == 0u ? x : c == 1u ? x * (1.0 / SLA2_SPLIT_LO_SCALE) : 0.0;
}
float divide_or_zero(const in uint r, const in uint c, const in float num, const in float den) {
  return den <= SLA2_LINEAR_DEN_EPS ? 0.0 : num / den;
}
// a O_s + (1 - a) O_l for rows below `rows`; os_base: O_s's element at (row0, 0).
float combine_rows(const in uint r, const in uint c, const in float ol_value, const in float a, const in uint os_base,
                   const in uint rows) {
  return r < rows ? a * os[os_base + r * DH + c] + (1.0 - a) * ol_value : 0.0;
}

#define CLAMPED tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV>

CLAMPED clamped_rows(uint rows, uint cols, uint stride) {
  CLAMPED t = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
  t = setTensorLayoutDimensionNV(t, rows, cols);
  return setTensorLayoutStrideNV(t, stride, 1);
}

tensorLayoutNV<2> inner_rows(uint rows, uint stride) {
  tensorLayoutNV<2> t = createTensorLayoutNV(2);
  t = setTensorLayoutDimensionNV(t, rows, DH);
  return setTensorLayoutStrideNV(t, stride & ~7u, 1);
}

void main() {
  const uint b = gl_WorkGroupID.z, h = gl_WorkGroupID.y, N = pc.N;
  const uint bh = b * gl_NumWorkGroups.y + h;
  const uint per_block = pc.bq / BR, i = gl_WorkGroupID.x / per_block;
  const uint row0 = i * pc.bq + (gl_WorkGroupID.x % per_block) * BR, row_end = min(i * pc.bq + pc.bq, N);
  const uint lut_row = (bh * pc.Tm + i) * pc.k, key_tiles = pc.k * (pc.bk / BC);
  tensorViewNV<2, false, 1, 0> transposed = createTensorViewNV(2, false, 1, 0);

  const uint q_base = bh * N * DH;
  coopmat<float16_t, gl_ScopeWorkgroup, BR, DH, gl_MatrixUseA> Qm;
  coopMatLoadTensorNV(Qm, phiq, q_base, sliceTensorLayoutNV(clamped_rows(N, DH, DH), row0, BR, 0, DH));

  // The total term, scaled by 2^s: lo first, then hi on top.
  const uint h_base = bh * (2u * DH * DH + ZC * DH);
  tensorLayoutNV<2> square = setTensorLayoutStrideNV(setTensorLayoutDimensionNV(createTensorLayoutNV(2), DH, DH), DH, 1);
  coopmat<float16_t, gl_ScopeWorkgroup, DH, DH, gl_MatrixUseB> Hh;
  coopMatLoadTensorNV(Hh, halves, h_base + DH * DH, sliceTensorLayoutNV(square, 0, DH, 0, DH));
  ACC(BR, DH) O = coopMatMulAdd(Qm, Hh, ACC(BR, DH)(0.0)) * (1.0 / SLA2_SPLIT_LO_SCALE);
  coopMatLoadTensorNV(Hh, halves, h_base, sliceTensorLayoutNV(square, 0, DH, 0, DH));
  O = coopMatMulAdd(Qm, Hh, O) * pc.h_unscale;
  ACC(BR, ZC) den; // each row's denominator in every column
  {
    tensorLayoutNV<2> zl = setTensorLayoutStrideNV(setTensorLayoutDimensionNV(createTensorLayoutNV(2), DH, ZC), ZC, 1);
    coopmat<float16_t, gl_ScopeWorkgroup, DH, ZC, gl_MatrixUseB> Zb;
    coopMatLoadTensorNV(Zb, halves, h_base + 2u * DH * DH, sliceTensorLayoutNV(zl, 0, DH, 0, ZC));
    ACC(BR, ZC) qz = coopMatMulAdd(Qm, Zb, ACC(BR, ZC)(0.0));
    coopMatPerElementNV(qz, qz, z_halves);
    coopMatReduceNV(den, qz, gl_CooperativeMatrixReduceRowNV, sum_of);
    den *= pc.h_unscale;
  }

  uint v_base = b * pc.v_strides.x + h * pc.v_strides.y, k_base = q_base;
  if (INNER_KV) v_base &= ~7u;
  CLAMPED k_clamped = clamped_rows(N, DH, DH), v_clamped = clamped_rows(N, DH, pc.v_strides.z);
  tensorLayoutNV<2> k_inner = inner_rows(N, DH), v_inner = inner_rows(N, pc.v_strides.z);
  // Row sums of T as T times ZC columns of ones: ZC is the narrowest product width the device
  // takes (vk_linear_light.c), so the sums cost BC x ZC per tile rather than BC x BC.
  const coopmat<float16_t, gl_ScopeWorkgroup, BC, ZC, gl_MatrixUseB> ones =
      coopmat<float16_t, gl_ScopeWorkgroup, BC, ZC, gl_MatrixUseB>(1.0);

  [[dont_unroll]] for (uint t = 0u; t < key_tiles; t++) {
    const uint block = uint(lut[lut_row + t / (pc.bk / BC)]);
    const uint first = block * pc.bk + (t % (pc.bk / BC)) * BC, end = min(first + BC, N);
    if (first >= N) continue; // a tile past N in a partial last key block
    const uint start = INNER_KV ? min(first, N - BC) : first;
    coopmat<float16_t, gl_ScopeWorkgroup, DH, BC, gl_MatrixUseB> Kt;
    if (INNER_KV) {
      coopMatLoadTensorNV(Kt, phik, k_base, sliceTensorLayoutNV(k_inner, start, BC, 0, DH), transposed);
    } else {
      coopMatLoadTensorNV(Kt, phik, k_base, sliceTensorLayoutNV(k_clamped, start, BC, 0, DH), transposed);
    }
    ACC(BR, BC) T = coopMatMulAdd(Qm, Kt, ACC(BR, BC)(0.0));
    if (start != first || end - start < BC) coopMatPerElementNV(T, T, keep_cols, first - start, end - start);
    const coopmat<float16_t, gl_ScopeWorkgroup, BR, BC, gl_MatrixUseA> minus_t =
        coopmat<float16_t, gl_ScopeWorkgroup, BR, BC, gl_MatrixUseA>(-T);
    den = coopMatMulAdd(minus_t, ones, den);
    coopmat<float16_t, gl_ScopeWorkgroup, BC, DH, gl_MatrixUseB> Vm;
    if (INNER_KV) {
      coopMatLoadTensorNV(Vm, v, v_base, sliceTensorLayoutNV(v_inner, start, BC, 0, DH));
    } else {
      coopMatLoadTensorNV(Vm, v, v_base, sliceTensorLayoutNV(v_clamped, start, BC, 0, DH));
    }
    O = coopMatMulAdd(minus_t, Vm, O);
  }

  ACC(BR, DH) den_o;
  coopMatReduceNV(den_o, den, gl_CooperativeMatrixReduceRowNV, first_of);
  coopMatPerElementNV(O, O, divide_or_zero, den_o);
  if (!COMBINE) {
    coopMatStoreTensorNV(O, ol, q_base, sliceTensorLayoutNV(clamped_rows(row_end, DH, DH), row0, BR, 0, DH));
    return;
  }
  const float logit = PER_BLOCK ? alpha[h * pc.Tm + i] : alpha[h];
  const float a = 1.0 / (1.0 + exp(-logit));
  const uint rows = row0 < row_end ? min(BR, row_end - row0) : 0u;
  coopMatPerElementNV(O, O, combine_rows, a, q_base + row0 * DH, rows);
  const uint o_base = b * pc.o_strides.x + h * pc.o_strides.y;
  coopmat<float16_t, gl_ScopeWorkgroup, BR, DH, gl_MatrixUseAccumulator> Oh =
      coopmat<float16_t, gl_ScopeWorkgroup, BR, DH, gl_MatrixUseAccumulator>(O);
  coopMatStoreTensorNV(Oh, o16, o_base, sliceTensorLayoutNV(clamped_rows(row_end, DH, pc.o_strides.z), row0, BR, 0, DH));
}
