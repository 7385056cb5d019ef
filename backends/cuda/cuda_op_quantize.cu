/* CUDA backend: QUANTIZE_INT8 (Q and K~ per row block) and QUANTIZE_FP8 (V per channel).
 * Codes are bit-exact with the oracle: sigma and x / sigma are IEEE f32 divisions (__fdiv_rn,
 * never a reciprocal multiply), rintf rounds half to even, and the E4M3 encoder is a port of
 * core/numeric.c. */
#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

#define QUANT_THREADS 256
#define FP8_CHUNK 256 /* rows per block of the V amax pass */

/* One (bh, block): amax, sigma = amax / 127 (1 when zero), codes. */
__global__ void __launch_bounds__(QUANT_THREADS)
quantize_int8_kernel(cuda_t4 in, int H, int N, int D, int block, int T, int8_t *codes, float *scales) {
  __shared__ float part[QUANT_THREADS / 32];
  __shared__ float s_sigma;
  const int t = blockIdx.x, bh = blockIdx.y, b = bh / H, h = bh % H;
  const int begin = t * block, len = min(N, begin + block) - begin;
  const int count = len * D;
  float amax = 0.0f;
  for (int i = threadIdx.x; i < count; i += QUANT_THREADS)
    amax = fmaxf(amax, fabsf(t4_load(in, b, h, begin + i / D, i % D)));
  amax = warp_max(amax);
  if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = amax;
  __syncthreads();
  if (threadIdx.x == 0) {
    float m = 0.0f;
    for (int w = 0; w < QUANT_THREADS / 32; w++) m = fmaxf(m, part[w]);
    s_sigma = m > 0.0f ? __fdiv_rn(m, (float)SLA2_INT8_MAX) : 1.0f;
    scales[(long long)bh * T + t] = s_sigma;
  }
  __syncthreads();
  const float sigma = s_sigma;
  int8_t *out = codes + ((long long)bh * N + begin) * D;
  for (int i = threadIdx.x; i < count; i += QUANT_THREADS)
    out[i] = int8_code(t4_load(in, b, h, begin + i / D, i % D), sigma);
}

extern "C" sla2_status cuda_op_quantize_int8(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int block = node->block, T = (int)((g->N + block - 1) / block);
  cuda_t4 in = cuda_t4_of(x, node->in[0]);
  quantize_int8_kernel<<<dim3((unsigned)T, (unsigned)(g->B * g->H)), QUANT_THREADS, 0, x->dev->stream>>>(
      in, (int)g->H, (int)g->N, (int)g->D, block, T, (int8_t *)x->buf[node->out[0]], (float *)x->buf[node->out[1]]);
  return cuda_check_launch("quantize_int8");
}

/* amax[bh * D + c] = max over a chunk of rows of |V[bh, n, c]| (f32 bits: non-negative floats
 * order like their unsigned images, so an integer atomicMax is exact). */
__global__ void fp8_amax_kernel(cuda_t4 v, int H, int N, int D, unsigned *amax) {
  const int bh = blockIdx.x, b = bh / H, h = bh % H;
  const int n0 = blockIdx.y * FP8_CHUNK, n1 = min(N, n0 + FP8_CHUNK);
  for (int c = threadIdx.x; c < D; c += blockDim.x) {
    float m = 0.0f;
    for (int n = n0 + threadIdx.y; n < n1; n += blockDim.y) m = fmaxf(m, fabsf(t4_load(v, b, h, n, c)));
    atomicMax(&amax[bh * D + c], __float_as_uint(m));
  }
}

__global__ void fp8_encode_kernel(cuda_t4 v, int H, int N, int D, const unsigned *amax, uint8_t *codes,
                                  float *scales, long long rows) {
  const long long row = (long long)blockIdx.x * 8 + threadIdx.y;
  if (row >= rows) return;
  const int n = (int)(row % N);
  const long long bh = row / N;
  const int b = (int)(bh / H), h = (int)(bh % H);
  for (int c = threadIdx.x; c < D; c += 32) {
    const float m = __uint_as_float(amax[bh * D + c]);
    const float sigma = m > 0.0f ? __fdiv_rn(m, SLA2_FP8_E4M3_MAX) : 1.0f;
    if (n == 0) scales[bh * D + c] = sigma;
    codes[row * D + c] = f32_to_e4m3(__fdiv_rn(t4_load(v, b, h, n, c), sigma));
  }
}

extern "C" sla2_status cuda_op_quantize_fp8(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const long long BH = g->B * g->H, rows = BH * g->N;
  const int D = (int)g->D, N = (int)g->N, H = (int)g->H;
  cuda_t4 v = cuda_t4_of(x, node->in[0]);
  void *p;
  sla2_status st = cuda_scratch(x->dev, (size_t)BH * (size_t)D * sizeof(unsigned), &p);
  if (st != SLA2_OK) return st;
  unsigned *amax = (unsigned *)p;
  st = cuda_check(cudaMemsetAsync(amax, 0, (size_t)BH * (size_t)D * sizeof(unsigned), x->dev->stream), "quantize_fp8");
  if (st != SLA2_OK) return st;
  fp8_amax_kernel<<<dim3((unsigned)BH, cdiv_u(N, FP8_CHUNK)), dim3(32, 8), 0, x->dev->stream>>>(v, H, N, D, amax);
  fp8_encode_kernel<<<cdiv_u(rows, 8), dim3(32, 8), 0, x->dev->stream>>>(
      v, H, N, D, amax, (uint8_t *)x->buf[node->out[0]], (float *)x->buf[node->out[1]], rows);
  return cuda_check_launch("quantize_fp8");
}
