/* Constants shared by host C, CUDA, GLSL and OpenCL C. #define only: no types, no code. */
#ifndef SLA2_SHADERS_COMMON_CONSTANTS_H
#define SLA2_SHADERS_COMMON_CONSTANTS_H

/* INT8 symmetric quantization of Q and K~: codes in [-127, 127]. */
#define SLA2_INT8_MAX 127
/* FP8 E4M3: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities; 0x7F/0xFF are NaN. */
#define SLA2_FP8_E4M3_MAX 448.0f
#define SLA2_FP8_E4M3_BIAS 7
#define SLA2_FP8_E4M3_MAX_CODE 0x7E
/* Static scale of the probabilities P~ in (0, 1] before FP8 rounding. */
#define SLA2_FP8_P_SCALE 448.0f
/* Linear branch: rows whose denominator phi(q).Z is at most this produce 0. */
#define SLA2_LINEAR_DEN_EPS 1e-20f

/* Vulkan f16 hi + lo splits (K~, H_tot, Z_tot): the lo half holds 2^11 times the remainder. */
#define SLA2_SPLIT_LO_SCALE 2048.0f
/* Vulkan: or'ed into a 16-bit element type when channel pairs (2i, 2i + 1) always share a word
 * (channel stride 1, every other stride even), so pair loads read it with no test. */
#define SLA2_VK_DT_PAIRED 4u

/* Block sizes (rows per query / key block) every backend accepts. */
#define SLA2_BLOCK_MIN 16
#define SLA2_BLOCK_MAX 128
/* Head dims: multiples of SLA2_HEAD_DIM_ALIGN in [SLA2_HEAD_DIM_ALIGN, SLA2_HEAD_DIM_MAX]. */
#define SLA2_HEAD_DIM_ALIGN 8
#define SLA2_HEAD_DIM_MAX 256

/* Feature maps and quant modes as integers for kernels (match sla2_feature_map / sla2_quant). */
#define SLA2_FMAP_SOFTMAX 0
#define SLA2_FMAP_ELU 1
#define SLA2_FMAP_RELU 2
#define SLA2_QMODE_NONE 0
#define SLA2_QMODE_INT8 1
#define SLA2_QMODE_INT8_FP8 2

#endif
