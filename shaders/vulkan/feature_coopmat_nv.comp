// Configure-time feature test (backends/vulkan/CMakeLists.txt): does this glslc compile the
// GL_NV_cooperative_matrix constructs attention_coopmat.glsl uses (fp16 and int8 products,
// component access, shared-memory loads, subgroup shuffles)?
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_NV_integer_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_KHR_shader_subgroup_shuffle : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer Out { float o[]; };
shared float16_t sh_h[256];
shared int8_t sh_b[512];
shared float sh_f[256];
shared int sh_i[256];
void main() {
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a;
  coopMatLoadNV(a, sh_h, 0, 16, false);
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c = coopMatMulAddNV(a, a, fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0));
  for (int e = 0; e < c.length(); e++) c[e] *= 2.0;
  coopMatStoreNV(c, sh_f, 0, 16, false);
  icoopmatNV<8, gl_ScopeSubgroup, 16, 32> qa;
  icoopmatNV<8, gl_ScopeSubgroup, 32, 16> kb;
  coopMatLoadNV(qa, sh_b, 0, 32, false);
  coopMatLoadNV(kb, sh_b, 0, 32, true);
  icoopmatNV<32, gl_ScopeSubgroup, 16, 16> s = coopMatMulAddNV(qa, kb, icoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0));
  coopMatStoreNV(s, sh_i, 0, 16, false);
  barrier();
  o[gl_LocalInvocationID.x] = subgroupShuffleXor(sh_f[gl_LocalInvocationID.x] + float(sh_i[0]), 1u);
}
