// Cooperative-matrix attention on VK_KHR_cooperative_matrix, f16 dense variant (see attention_coopmat.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define CM_KHR 1
#define CM_INT8 0
#include "attention_coopmat.glsl"
