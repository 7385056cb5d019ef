// Cooperative-matrix attention, f16 dense variant (see attention_coopmat.glsl).
#version 450
#define CM_INT8 0
#include "attention_coopmat.glsl"
