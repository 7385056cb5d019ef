// Configure-time feature test (backends/vulkan/CMakeLists.txt): do this glslang and spirv-val
// handle the GL_NV_cooperative_matrix2 constructs attention_cm2_f16.comp uses (workgroup-scope
// matrices, tensor-layout loads and stores, row reductions, per-element functions, conversion of
// an accumulator to an A matrix)?
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
layout(local_size_x = 128) in;
layout(std430, binding = 0) readonly buffer In { float16_t x[]; };
layout(std430, binding = 1) writeonly buffer Out { float y[]; };
float max_of(const in float a, const in float b) { return max(a, b); }
float pow2_of(const in uint r, const in uint c, const in float v) { return exp2(v); }
void main() {
  tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV> t = createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
  t = setTensorLayoutStrideNV(setTensorLayoutDimensionNV(t, 100, 64), 64, 1);
  tensorViewNV<2, false, 1, 0> tr = createTensorViewNV(2, false, 1, 0);
  coopmat<float16_t, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseA> a;
  coopmat<float16_t, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseB> b;
  coopMatLoadTensorNV(a, x, 0, sliceTensorLayoutNV(t, 0, 64, 0, 64));
  coopMatLoadTensorNV(b, x, 0, sliceTensorLayoutNV(t, 0, 64, 0, 64), tr);
  coopmat<float, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator> s = coopMatMulAdd(a, b, coopmat<float, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator>(0.0));
  coopmat<float, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator> m;
  coopMatReduceNV(m, s, gl_CooperativeMatrixReduceRowNV, max_of);
  coopMatPerElementNV(s, s - m, pow2_of);
  a = coopmat<float16_t, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseA>(s);
  s = coopMatMulAdd(a, b, s);
  coopMatStoreTensorNV(s, y, 0, sliceTensorLayoutNV(t, 0, 64, 0, 64));
}
