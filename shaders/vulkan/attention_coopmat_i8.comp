// Cooperative-matrix attention, int8_fp8 sparse variant (see attention_coopmat.glsl).
#version 450
#define CM_INT8 1
#include "attention_coopmat.glsl"
