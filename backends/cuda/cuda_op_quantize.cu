/* CUDA backend: QUANTIZE_INT8 (Q and K~ per row block, the rowblock kernel of
 * cuda_fused_blocks.cu) and QUANTIZE_FP8 (V per channel: column amax there, codes here).
 * Codes are bit-exact with the oracle: sigma is an IEEE f32 division, and the codes come from
 * the encoders of cuda_common.cuh, which give the reference result of x / sigma (IEEE division,
 * rintf half to even, core/numeric.c's E4M3 port) by a reciprocal product with a boundary check. */
#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

extern "C" sla2_status cuda_op_quantize_int8(const cuda_exec *x, const sla2_node *node) {
  return cuda_rowblock_launch(x, cuda_t4_of(x, node->in[0]), node->block, NULL, (int8_t *)x->buf[node->out[0]],
                              (float *)x->buf[node->out[1]], NULL, NULL);
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
    codes[row * D + c] = e4m3_code_rcp(t4_load(v, b, h, n, c), sigma, 1.0f / sigma);
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
  st = cuda_colstats_launch(x, v, NULL, v, amax);
  if (st != SLA2_OK) return st;
  fp8_encode_kernel<<<cdiv_u(rows, 8), dim3(32, 8), 0, x->dev->stream>>>(
      v, H, N, D, amax, (uint8_t *)x->buf[node->out[0]], (float *)x->buf[node->out[1]], rows);
  return cuda_check_launch("quantize_fp8");
}
