/* The CUDA backend's fast INT8 and E4M3 encoders (cuda_common.cuh: a reciprocal product with a
 * boundary check, the hardware E4M3 conversion) against the reference encoders they must equal
 * bit for bit: the E4M3 conversion over every non-NaN float, and both encoders over 2^28 (x,
 * sigma) pairs with sigma from the block or channel amax as the quantizers form it, an eighth of
 * them on exact half-integer multiples of sigma (ties); and the attention kernels' s32 -> f32
 * conversion of s8 dot products (s8dot_to_f32) over every value it takes. A separate program
 * with its own kernels; without a GPU it exits 77 (ctest: skipped), unless SLA2_TEST_REQUIRE
 * names cuda. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_common.cuh"

__global__ void e4m3_all_floats(uint32_t top_byte, unsigned long long *bad) {
  const uint32_t bits = (top_byte << 24) | (blockIdx.x * blockDim.x + threadIdx.x);
  const float f = __uint_as_float(bits);
  if (!isnan(f) && f32_to_e4m3(f) != e4m3_hw(f)) atomicAdd(bad, 1ULL);
}

__global__ void s8dot_all(unsigned long long *bad) { /* x in (-2^22, 2^22) */
  const int x = (int)(blockIdx.x * blockDim.x + threadIdx.x) - (1 << 22);
  if (x > -(1 << 22) && __float_as_uint(s8dot_to_f32(x)) != __float_as_uint((float)x)) atomicAdd(bad, 1ULL);
}

__device__ uint32_t mix(uint64_t x) {
  x ^= x >> 33, x *= 0xff51afd7ed558ccdULL, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ULL, x ^= x >> 33;
  return (uint32_t)x;
}

__global__ void encoder_pairs(uint64_t first, unsigned long long *bad) {
  const uint64_t id = first + (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  /* amax over 2^-47 .. 2^52, x in [-amax, amax] */
  const float amax = __uint_as_float((mix(id) & 0x007fffffu) | ((80u + mix(3 * id) % 100u) << 23));
  const float s8 = __fdiv_rn(amax, (float)SLA2_INT8_MAX), s448 = __fdiv_rn(amax, SLA2_FP8_E4M3_MAX);
  float x = amax * ((float)(mix(7 * id) % 2000001u) / 1e6f - 1.0f);
  if (mix(11 * id) % 16 == 0) x = amax;
  if (mix(13 * id) % 8 == 0) x = ((float)(int)(mix(17 * id) % 255u) - 127.0f + 0.5f) * s8;
  if (int8_code_rcp(x, s8, 1.0f / s8) != int8_code(x, s8)) atomicAdd(bad, 1ULL);
  if (e4m3_code_rcp(x, s448, 1.0f / s448) != f32_to_e4m3(__fdiv_rn(x, s448))) atomicAdd(bad + 1, 1ULL);
}

static int check(cudaError_t e, const char *what) {
  if (e == cudaSuccess) return 0;
  fprintf(stderr, "cuda encoders test: %s: %s\n", what, cudaGetErrorString(e));
  return 1;
}

int main(void) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    const char *req = getenv("SLA2_TEST_REQUIRE");
    const bool required = req && strstr(req, "cuda");
    printf("cuda encoders test: no CUDA device%s\n", required ? ", but SLA2_TEST_REQUIRE names cuda" : " (skipped)");
    return required ? 1 : 77;
  }
  unsigned long long *d, h[4] = {0, 0, 0, 0};
  if (check(cudaMalloc(&d, sizeof h), "cudaMalloc") || check(cudaMemset(d, 0, sizeof h), "cudaMemset")) return 1;
  for (uint32_t top = 0; top < 256; top++) e4m3_all_floats<<<65536, 256>>>(top, d);
  const uint64_t per = 65536ULL * 256;
  for (uint64_t r = 0; r < 16; r++) encoder_pairs<<<65536, 256>>>(r * per, d + 1);
  s8dot_all<<<(1 << 23) / 256, 256>>>(d + 3);
  if (check(cudaDeviceSynchronize(), "kernels") || check(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost), "copy"))
    return 1;
  printf("E4M3 conversion: %llu mismatches over every non-NaN float\n", h[0]);
  printf("encoders over %llu pairs: INT8 %llu mismatches, E4M3 %llu mismatches\n", 16 * per, h[1], h[2]);
  printf("s8 dot products to f32: %llu mismatches over (-2^22, 2^22)\n", h[3]);
  cudaFree(d);
  return h[0] || h[1] || h[2] || h[3] ? 1 : 0;
}
