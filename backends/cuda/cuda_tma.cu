/* CUDA backend: TMA tensor maps for the Hopper kernels (see cuda_tma.cuh); built with them only
 * (sm_90a among the architectures). */
#ifdef SLA2_CUDA_SM90A
#include <cudaTypedefs.h>

#include "backends/cuda/cuda_tma.cuh"
#include "core/error.h"

bool cuda_tma_ok(const cuda_t4 &t, int dtype) {
  return t.dtype == dtype && t.s[3] == 1 && t.s[2] % 8 == 0 && t.s[1] % 8 == 0 && t.s[0] % 8 == 0 &&
         (uintptr_t)t.base % 16 == 0;
}

static PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder(void) {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void *p = nullptr;
    cudaDriverEntryPointQueryResult q;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      p = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
  }();
  return fn;
}

sla2_status cuda_tma_map(CUtensorMap *map, const void *base, CUtensorMapDataType type, int esize, const long long s[4],
                         long long B, int H, int N, int D, int inner, int rows) {
  PFN_cuTensorMapEncodeTiled_v12000 encode = tensor_map_encoder();
  if (!encode) return sla2_fail(SLA2_ERROR_DEVICE, "cuda: cuTensorMapEncodeTiled is not available");
  const cuuint64_t dims[4] = {(cuuint64_t)D, (cuuint64_t)N, (cuuint64_t)H, (cuuint64_t)B};
  const cuuint64_t strides[3] = {(cuuint64_t)(s[2] * esize), (cuuint64_t)(s[1] * esize), (cuuint64_t)(s[0] * esize)};
  const cuuint32_t box[4] = {(cuuint32_t)inner, (cuuint32_t)rows, 1, 1}, unit[4] = {1, 1, 1, 1};
  const CUtensorMapSwizzle swz = inner * esize == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B;
  const CUresult r = encode(map, type, 4, const_cast<void *>(base), dims, strides, box, unit,
                            CU_TENSOR_MAP_INTERLEAVE_NONE, swz, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) return sla2_fail(SLA2_ERROR_DEVICE, "cuda: tensor map encoding failed (%d)", (int)r);
  return SLA2_OK;
}

sla2_status cuda_tma_map_vt(CUtensorMap *map, const void *base, long long BH, int D, int chunks, int chunks_per_box) {
  PFN_cuTensorMapEncodeTiled_v12000 encode = tensor_map_encoder();
  if (!encode) return sla2_fail(SLA2_ERROR_DEVICE, "cuda: cuTensorMapEncodeTiled is not available");
  const cuuint64_t row = 32, dims[4] = {row, (cuuint64_t)D, (cuuint64_t)chunks, (cuuint64_t)BH};
  const cuuint64_t strides[3] = {row, row * D, row * D * chunks};
  const cuuint32_t box[4] = {(cuuint32_t)row, (cuuint32_t)D, (cuuint32_t)chunks_per_box, 1}, unit[4] = {1, 1, 1, 1};
  const CUresult r = encode(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 4, const_cast<void *>(base), dims, strides, box, unit,
                            CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_32B,
                            CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) return sla2_fail(SLA2_ERROR_DEVICE, "cuda: tensor map encoding failed (%d)", (int)r);
  return SLA2_OK;
}

sla2_status cuda_tma_map16(CUtensorMap *map, const cuda_t4 &t, long long B, int H, int N, int D, int rows) {
  const CUtensorMapDataType type =
      t.dtype == SLA2_F16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
  return cuda_tma_map(map, t.base, type, 2, t.s, B, H, N, D, 64, rows);
}

#endif
