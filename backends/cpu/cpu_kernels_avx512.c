/* CPU backend: the AVX-512 kernel tables. "avx512" needs F, BW, VL, DQ and VNNI; "avx512_bf16"
 * is the same with the BF16 dot-product P V for int8_fp8. cpu_isa.c picks one at run time. The
 * kernels live in cpu_avx512_*.c, split by concept. */
#include "backends/cpu/cpu_avx512.h"

#define CPU_AVX512_COMMON_KERNELS \
    .scores_f32 = cpu_avx512_scores_f32, \
    .scores_i8 = cpu_avx512_scores_i8, \
    .pack_qt = cpu_avx512_pack_qt, \
    .pack_qc = cpu_avx512_pack_qc, \
    .unpack_ot = cpu_avx512_unpack_ot, \
    .rowmax = cpu_avx512_rowmax, \
    .exp_accumulate = cpu_avx512_exp_accumulate, \
    .pv = cpu_avx512_pv, \
    .exp_accumulate_fp8_pairs = cpu_avx512_exp_accumulate_fp8_pairs, \
    .pack_v_pairs = cpu_avx512_pack_v_pairs, \
    .gemm = cpu_avx512_gemm, \
    .dgemm = cpu_avx512_dgemm, \
    .exp_row = cpu_avx512_exp_row, \
    .softmax_row = cpu_avx512_softmax_row, \
    .add_rows = cpu_avx512_add_rows, \
    .rsub_rows = cpu_avx512_rsub_rows, \
    .colsum_f64 = cpu_avx512_colsum_f64, \
    .sub_mean_f64 = cpu_avx512_sub_mean_f64, \
    .mix_f64 = cpu_avx512_mix_f64, \
    .dot = cpu_avx512_dot, \
    .sum_i8 = cpu_avx512_sum_i8, \
    .absmax = cpu_avx512_absmax, \
    .int8_codes = cpu_avx512_int8_codes, \
    .e4m3_codes = cpu_avx512_e4m3_codes, \
    .f16_to_f32 = cpu_avx512_f16_to_f32, \
    .bf16_to_f32 = cpu_avx512_bf16_to_f32, \
    .f32_to_f16 = cpu_avx512_f32_to_f16, \
    .f32_to_bf16 = cpu_avx512_f32_to_bf16, \

const cpu_kernels cpu_kernels_avx512 = {
    .name = "avx512",
    .pv_pairs = cpu_avx512_pv_pairs_fma,
    CPU_AVX512_COMMON_KERNELS
};

const cpu_kernels cpu_kernels_avx512_bf16 = {
    .name = "avx512_bf16",
    .pv_pairs = cpu_avx512_pv_pairs_bf16,
    CPU_AVX512_COMMON_KERNELS
};
