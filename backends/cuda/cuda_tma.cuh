/* Host side of the Hopper kernels (cuda_attn_wgmma.cu, cuda_linear_wgmma.cu): TMA tensor maps of
 * [B,H,N,D] views, encoded through the driver entry point the runtime hands out (cuda_tma.cu). */
#ifndef SLA2_BACKENDS_CUDA_TMA_CUH
#define SLA2_BACKENDS_CUDA_TMA_CUH

#include <cuda.h>

#include "backends/cuda/cuda_internal.h"

/* TMA needs 16-byte aligned rows and strides of a 16-bit tensor with unit channel stride. */
bool cuda_tma_ok(const cuda_t4 &t, int dtype);

/* A (D, N, H, B) map of a [B,H,N,D] view (element strides s, `esize` bytes per element): boxes
 * of `inner` channels x `rows`, swizzled like the kernels' tiles (rows of 128 or 64 bytes); rows
 * past N read as zeros. */
sla2_status cuda_tma_map(CUtensorMap *map, const void *base, CUtensorMapDataType type, int esize, const long long s[4],
                         long long B, int H, int N, int D, int inner, int rows);

/* The map of V's E4M3 codes as attn_fp8_vt lays them out ([BH][chunks][D][32] bytes): boxes of
 * chunks_per_box chunks of 32 keys, each a [D][32] tile with the 32-byte swizzle. */
sla2_status cuda_tma_map_vt(CUtensorMap *map, const void *base, long long BH, int D, int chunks, int chunks_per_box);

/* The map of a 16-bit view (f16 or bf16 by its dtype): boxes of 64 channels x rows. */
sla2_status cuda_tma_map16(CUtensorMap *map, const cuda_t4 &t, long long B, int H, int N, int D, int rows);

#endif
