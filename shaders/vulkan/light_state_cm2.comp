// KV_STATE of the memory-light linear branch (vk_linear_light.c), on workgroup-scope cooperative
// matrices: per (b, h, chunk of rows), the chunk's partial sums of phi(K~)^T V (DH x DH) and of
// phi(K~)^T 1 (column 0 of phi(K~)^T times a BC x ZC matrix of ones), f16 products with f32
// sums, from the f16 phi(K~) the feature map wrote (contiguous [B, H, N, DH]) and the f16 V.
// light_total.comp adds the chunks up. Rows past N load as zeros (clamped tensor layouts).
// Partial layout per (b, h, chunk): DH x DH row-major, then DH x ZC row-major.
#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint DH = 128; // head dim, a multiple of 16
layout(constant_id = 2) const uint BC = 64;  // rows per product
layout(constant_id = 3) const uint ZC = 16;  // columns of the Z product (the device's N granularity)

layout(push_constant) uniform Push {
  uvec4 v_strides; // elements: b, h, n, channel (channel is 1)
  uint N, rows_per_chunk; // rows_per_chunk is a multiple of BC
} pc;

layout(std430, binding = 0) readonly buffer PhiK { float16_t phik[]; };
layout(std430, binding = 1) readonly buffer V { float16_t v[]; };
layout(std430, binding = 2) writeonly buffer Partial { float partial[]; };

#define CLAMPED tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV>

CLAMPED clamped_rows(uint rows, uint cols, uint stride) {
  CLAMPED t = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
  t = setTensorLayoutDimensionNV(t, rows, cols);
  return setTensorLayoutStrideNV(t, stride, 1);
}

void main() {
  const uint chunk = gl_WorkGroupID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  const uint bh = b * gl_NumWorkGroups.y + h, N = pc.N;
  const uint r0 = chunk * pc.rows_per_chunk, r1 = min(N, r0 + pc.rows_per_chunk);
  tensorViewNV<2, false, 1, 0> transposed = createTensorViewNV(2, false, 1, 0);
  CLAMPED k_rows = clamped_rows(N, DH, DH), v_rows = clamped_rows(N, DH, pc.v_strides.z);
  const uint k_base = bh * N * DH, v_base = b * pc.v_strides.x + h * pc.v_strides.y;

  coopmat<float, gl_ScopeWorkgroup, DH, DH, gl_MatrixUseAccumulator> Hs =
      coopmat<float, gl_ScopeWorkgroup, DH, DH, gl_MatrixUseAccumulator>(0.0);
  coopmat<float, gl_ScopeWorkgroup, DH, ZC, gl_MatrixUseAccumulator> Zs =
      coopmat<float, gl_ScopeWorkgroup, DH, ZC, gl_MatrixUseAccumulator>(0.0);
  const coopmat<float16_t, gl_ScopeWorkgroup, BC, ZC, gl_MatrixUseB> ones =
      coopmat<float16_t, gl_ScopeWorkgroup, BC, ZC, gl_MatrixUseB>(1.0);
  [[dont_unroll]] for (uint r = r0; r < r1; r += BC) {
    coopmat<float16_t, gl_ScopeWorkgroup, DH, BC, gl_MatrixUseA> Kt;
    coopMatLoadTensorNV(Kt, phik, k_base, sliceTensorLayoutNV(k_rows, r, BC, 0, DH), transposed);
    coopmat<float16_t, gl_ScopeWorkgroup, BC, DH, gl_MatrixUseB> Vm;
    coopMatLoadTensorNV(Vm, v, v_base, sliceTensorLayoutNV(v_rows, r, BC, 0, DH));
    Hs = coopMatMulAdd(Kt, Vm, Hs);
    Zs = coopMatMulAdd(Kt, ones, Zs);
  }
  const uint out_base = (bh * gl_NumWorkGroups.x + chunk) * (DH * DH + DH * ZC);
  coopMatStoreTensorNV(Hs, partial, out_base, sliceTensorLayoutNV(clamped_rows(DH, DH, DH), 0, DH, 0, DH));
  coopMatStoreTensorNV(Zs, partial, out_base + DH * DH, sliceTensorLayoutNV(clamped_rows(DH, ZC, ZC), 0, DH, 0, ZC));
}
