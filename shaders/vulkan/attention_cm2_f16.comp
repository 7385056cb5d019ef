// DENSE_ATTN with f16 Q, K, V, and SPARSE_ATTN of quant mode `none` with f16 Q and V, on
// workgroup-scope cooperative matrices (GL_NV_cooperative_matrix2).
// Built only where the configure-time feature test finds a glslang that compiles
// GL_NV_cooperative_matrix2 and a spirv-val that validates it (backends/vulkan/CMakeLists.txt);
// used only on devices that offer VK_NV_cooperative_matrix2 (vk_path.c).
//
// One workgroup owns BR query rows of one (b, h). The driver spreads each matrix over the
// workgroup and stages the tensor loads; the shader is FlashAttention-2 written on whole tiles:
//   S = Q K^T (f16 products, f32 sums), scaled into log2 units;
//     sparse, K_HALVES: K is the f32 smoothed K~, split beforehand (split_f16.comp) into f16 halves
//     with K~ = 2 (hi + 2^-11 lo), and S = 2 (Q hi^T + 2^-11 Q lo^T), which carries K~ to about 22
//     bits; sparse on the raw f16 K (a whole forward): S = Q K^T as dense, which differs from the
//     contract's s q . K~ by smooth_k's per-row constant s q . mean_N(K) (softmax-invariant), so
//     only the LSE takes it off (LSE_SHIFT: the row's shift is in the LSE buffer on entry);
//   M' = max(M, rowmax S); P = 2^(S - M'); L = 2^(M - M') L + rowsum P; O = 2^(M - M') O + P V.
// Dense attention walks every key tile; sparse attention walks the key blocks its LUT row lists,
// BC keys at a time, and stores only the rows of its query block.
// Row quantities (M, L) are kept as BR x BC matrices with each row's value in every column (the
// reductions produce them that way); they are widened to BR x DH for the scaling of O.
// The oracle's f32 softmax is matched to the suite's f16 bounds: P enters P V as f16, all sums in
// f32; the row sums take the same f16 P unless the LSE is written (WRITE_LSE). Masked key columns (past N,
// or outside the key block) and the initial row maximum use a finite stand-in for -inf, as the other Vulkan
// kernels do.
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
layout(constant_id = 1) const uint DH = 128;  // head dim, a multiple of 16
layout(constant_id = 2) const uint BR = 64;   // query rows per workgroup
layout(constant_id = 3) const uint BC = 64;   // keys per tile
layout(constant_id = 4) const bool O_F32 = false; // O is f32 (else f16)
// N >= BC and every K and V stride a multiple of 8 elements: K and V tiles are loaded from
// inside the tensor without bounds checks, with 16-byte aligned rows (see the loop in main).
layout(constant_id = 5) const bool INNER_KV = false;
layout(constant_id = 6) const bool SPARSE = false;
// The log-sum-exp is written. Then the row sums L are those of the f32 P (a row reduction), so
// that LSE carries f32 accuracy; else of the f16 P that enters P V (P times a matrix of ones,
// faster).
layout(constant_id = 7) const bool WRITE_LSE = false;
layout(constant_id = 8) const bool K_HALVES = true;   // sparse: K~'s f16 halves, else the raw K
layout(constant_id = 9) const bool LSE_SHIFT = false; // LSE = log-sum-exp - the buffer's value

layout(push_constant) uniform Push {
  uvec4 q_strides, k_strides, v_strides, o_strides; // elements: b, h, n, channel (channel is 1)
  uint N;
  float scale_log2e; // the softmax scale times log2(e)
  // Sparse attention only: query / key block sizes, query blocks per (b, h), LUT entries per
  // query block, and where the lo half of K~ starts in the K binding.
  uint bq, bk, Tm, k, lo_offset;
} pc;

layout(std430, binding = 0) readonly buffer Q { float16_t q[]; };
layout(std430, binding = 1) readonly buffer K { float16_t k[]; };
layout(std430, binding = 2) readonly buffer V { float16_t v[]; };
layout(std430, binding = 3) readonly buffer Lut { int lut[]; };
layout(std430, binding = 7) writeonly buffer O16 { float16_t o16[]; };
layout(std430, binding = 7) writeonly buffer O32 { float o32[]; };
layout(std430, binding = 8) buffer Lse { float lse[]; };

#define ACC(R, C) coopmat<float, gl_ScopeWorkgroup, R, C, gl_MatrixUseAccumulator>
#define MASKED (-3.0e38)
const float LN2 = 0.69314718055994531;

float max_of(const in float a, const in float b) { return max(a, b); }
float sum_of(const in float a, const in float b) { return a + b; }
float first_of(const in float a, const in float b) { return a; }
float max_elem(const in uint r, const in uint c, const in float a, const in float b) { return max(a, b); }
float pow2_minus(const in uint r, const in uint c, const in float x, const in float m) { return exp2(x - m); }
float log_of(const in uint r, const in uint c, const in float x) { return log(x); }
// Keeps the key columns in [first, end).
float mask_cols(const in uint r, const in uint c, const in float x, const in uint first, const in uint end) {
  return c >= first && c < end ? x : MASKED;
}
// Writes column 0 of each valid row: the row's log-sum-exp.
float store_lse(const in uint r, const in uint c, const in float x, const in uint base, const in uint rows) {
  if (c == 0u && r < rows) lse[base + r] = LSE_SHIFT ? x - lse[base + r] : x;
  return x;
}

#define CLAMPED tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV>

CLAMPED clamped_rows(uint rows, uint stride) {
  CLAMPED t = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
  t = setTensorLayoutDimensionNV(t, rows, DH);
  return setTensorLayoutStrideNV(t, stride, 1);
}

// A layout for slices that lie inside the tensor: no bounds checks. The stride is a multiple of
// 8 elements (INNER_KV); masking its low bits tells the compiler so.
tensorLayoutNV<2> inner_rows(uint rows, uint stride) {
  tensorLayoutNV<2> t = createTensorLayoutNV(2);
  t = setTensorLayoutDimensionNV(t, rows, DH);
  return setTensorLayoutStrideNV(t, stride & ~7u, 1);
}

void main() {
  const uint b = gl_WorkGroupID.z, h = gl_WorkGroupID.y, N = pc.N;
  // The query rows this workgroup stores: [row0, row_end).
  uint row0 = gl_WorkGroupID.x * BR, row_end = N, lut_row = 0u, key_tiles = (N + BC - 1u) / BC;
  if (SPARSE) {
    const uint per_block = pc.bq / BR, i = gl_WorkGroupID.x / per_block;
    row0 = i * pc.bq + (gl_WorkGroupID.x % per_block) * BR;
    row_end = min(i * pc.bq + pc.bq, N);
    lut_row = ((b * gl_NumWorkGroups.y + h) * pc.Tm + i) * pc.k;
    key_tiles = pc.k * (pc.bk / BC);
  }
  tensorViewNV<2, false, 1, 0> transposed = createTensorViewNV(2, false, 1, 0);

  coopmat<float16_t, gl_ScopeWorkgroup, BR, DH, gl_MatrixUseA> Qm;
  coopMatLoadTensorNV(Qm, q, b * pc.q_strides.x + h * pc.q_strides.y,
                      sliceTensorLayoutNV(clamped_rows(N, pc.q_strides.z), row0, BR, 0, DH));
  uint k_base = b * pc.k_strides.x + h * pc.k_strides.y;
  uint v_base = b * pc.v_strides.x + h * pc.v_strides.y;
  if (INNER_KV) k_base &= ~7u, v_base &= ~7u;
  CLAMPED k_clamped = clamped_rows(N, pc.k_strides.z), v_clamped = clamped_rows(N, pc.v_strides.z);
  tensorLayoutNV<2> k_inner = inner_rows(N, pc.k_strides.z), v_inner = inner_rows(N, pc.v_strides.z);

  ACC(BR, DH) O = ACC(BR, DH)(0.0);
  ACC(BR, BC) M = ACC(BR, BC)(MASKED);
  ACC(BR, BC) L = ACC(BR, BC)(0.0);

  // Bounds-checked loads made the whole kernel 1.2x slower on the H100. With INNER_KV every tile
  // is loaded whole from inside the tensor: a tile that would cross N starts at N - BC instead,
  // and its columns outside [first key, end) are masked. (A separate clamped last tile, even in a
  // function, ran out of registers and was 4x slower.)
  // Loads stay where they are used: loading the next tiles early (kept live through the softmax)
  // ran out of registers and was 2-5x slower.
  [[dont_unroll]] for (uint t = 0u; t < key_tiles; t++) {
    uint first = t * BC, end = min(first + BC, N);
    if (SPARSE) {
      const uint block = uint(lut[lut_row + t / (pc.bk / BC)]);
      first = block * pc.bk + (t % (pc.bk / BC)) * BC;
      end = min(first + BC, N);
      if (first >= N) continue; // a tile past N in a partial last key block
    }
    const uint start = INNER_KV ? min(first, N - BC) : first;
    ACC(BR, BC) S = ACC(BR, BC)(0.0);
    if (SPARSE && K_HALVES) { // S = Q lo^T 2^-11 first, then + Q hi^T below; pc.scale_log2e carries the 2
      coopmat<float16_t, gl_ScopeWorkgroup, DH, BC, gl_MatrixUseB> Klo;
      if (INNER_KV) {
        coopMatLoadTensorNV(Klo, k, k_base + pc.lo_offset, sliceTensorLayoutNV(k_inner, start, BC, 0, DH), transposed);
      } else {
        coopMatLoadTensorNV(Klo, k, k_base + pc.lo_offset, sliceTensorLayoutNV(k_clamped, start, BC, 0, DH), transposed);
      }
      S = coopMatMulAdd(Qm, Klo, S) * (1.0 / SLA2_SPLIT_LO_SCALE);
    }
    coopmat<float16_t, gl_ScopeWorkgroup, DH, BC, gl_MatrixUseB> Kt;
    if (INNER_KV) {
      coopMatLoadTensorNV(Kt, k, k_base, sliceTensorLayoutNV(k_inner, start, BC, 0, DH), transposed);
    } else {
      coopMatLoadTensorNV(Kt, k, k_base, sliceTensorLayoutNV(k_clamped, start, BC, 0, DH), transposed);
    }
    S = coopMatMulAdd(Qm, Kt, S);
    S *= pc.scale_log2e;
    if (start != first || end - start < BC) coopMatPerElementNV(S, S, mask_cols, first - start, end - start);

    ACC(BR, BC) rowmax, Mnew, P, decay;
    coopMatReduceNV(rowmax, S, gl_CooperativeMatrixReduceRowNV, max_of);
    coopMatPerElementNV(Mnew, rowmax, max_elem, M);
    coopMatPerElementNV(P, S, pow2_minus, Mnew);
    coopMatPerElementNV(decay, M, pow2_minus, Mnew);
    M = Mnew;
    coopmat<float16_t, gl_ScopeWorkgroup, BR, BC, gl_MatrixUseA> Pa = coopmat<float16_t, gl_ScopeWorkgroup, BR, BC, gl_MatrixUseA>(P);
    if (WRITE_LSE) {
      ACC(BR, BC) rowsum;
      coopMatReduceNV(rowsum, P, gl_CooperativeMatrixReduceRowNV, sum_of);
      L = decay * L + rowsum;
    } else {
      // Row sums on the matrix units (P times a matrix of ones), accumulated onto the decayed L.
      L = coopMatMulAdd(Pa, coopmat<float16_t, gl_ScopeWorkgroup, BC, BC, gl_MatrixUseB>(1.0), decay * L);
    }
    coopmat<float16_t, gl_ScopeWorkgroup, BC, DH, gl_MatrixUseB> Vm;
    if (INNER_KV) {
      coopMatLoadTensorNV(Vm, v, v_base, sliceTensorLayoutNV(v_inner, start, BC, 0, DH));
    } else {
      coopMatLoadTensorNV(Vm, v, v_base, sliceTensorLayoutNV(v_clamped, start, BC, 0, DH));
    }
    ACC(BR, DH) decay_o;
    coopMatReduceNV(decay_o, decay, gl_CooperativeMatrixReduceRowNV, first_of);
    O = coopMatMulAdd(Pa, Vm, O * decay_o);
  }

  const uint rows = row0 < row_end ? min(BR, row_end - row0) : 0u;
  if (WRITE_LSE) {
    ACC(BR, BC) lse_rows;
    coopMatPerElementNV(lse_rows, L, log_of);
    lse_rows += M * LN2;
    coopMatPerElementNV(lse_rows, lse_rows, store_lse, (b * gl_NumWorkGroups.y + h) * N + row0, rows);
  }
  ACC(BR, DH) l_o;
  coopMatReduceNV(l_o, L, gl_CooperativeMatrixReduceRowNV, first_of);
  O /= l_o;
  const uint o_base = b * pc.o_strides.x + h * pc.o_strides.y;
  CLAMPED o_rows = clamped_rows(row_end, pc.o_strides.z);
  if (O_F32) {
    coopMatStoreTensorNV(O, o32, o_base, sliceTensorLayoutNV(o_rows, row0, BR, 0, DH));
  } else {
    coopmat<float16_t, gl_ScopeWorkgroup, BR, DH, gl_MatrixUseAccumulator> Oh = coopmat<float16_t, gl_ScopeWorkgroup, BR, DH, gl_MatrixUseAccumulator>(O);
    coopMatStoreTensorNV(Oh, o16, o_base, sliceTensorLayoutNV(o_rows, row0, BR, 0, DH));
  }
}
