// Configure-time feature test (backends/vulkan/CMakeLists.txt): do this glslang and spirv-val
// handle the GL_KHR_cooperative_matrix constructs attention_coopmat.glsl uses with CM_KHR (f16 and
// int8 subgroup products, component access, use-typed shared-memory loads and stores)?
#version 450
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int32 : require
#extension GL_KHR_shader_subgroup_shuffle : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer Out { float o[]; };
shared float16_t sh_h[256];
shared int8_t sh_b[512];
shared float sh_f[256];
shared int sh_i[256];
void main() {
  coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a;
  coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> b;
  coopMatLoad(a, sh_h, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatLoad(b, sh_h, 0, 16, gl_CooperativeMatrixLayoutColumnMajor);
  coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> c =
      coopMatMulAdd(a, b, coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0));
  for (int e = 0; e < c.length(); e++) c[e] *= 2.0;
  coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> h = coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(c);
  coopMatStore(h, sh_f, 0, 8, gl_CooperativeMatrixLayoutRowMajor);
  coopmat<int8_t, gl_ScopeSubgroup, 16, 32, gl_MatrixUseA> qa;
  coopmat<int8_t, gl_ScopeSubgroup, 32, 16, gl_MatrixUseB> kb;
  coopMatLoad(qa, sh_b, 0, 32, gl_CooperativeMatrixLayoutRowMajor);
  coopMatLoad(kb, sh_b, 0, 32, gl_CooperativeMatrixLayoutColumnMajor);
  coopmat<int32_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> s =
      coopMatMulAdd(qa, kb, coopmat<int32_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0));
  coopMatStore(s, sh_i, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
  barrier();
  o[gl_LocalInvocationID.x] = subgroupShuffleXor(sh_f[gl_LocalInvocationID.x] + float(sh_i[0]), 1u);
}
