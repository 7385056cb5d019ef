/* CUDA backend: the row-wise and element-wise nodes SMOOTH_K, POOL, FEATURE_MAP, COMBINE.
 * Sums that the oracle takes in double are taken in double here too (they are memory-bound, so
 * the double adds cost nothing measurable). */
#include <math.h>

#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

#define ROWS_PER_BLOCK 8   /* (32, 8) thread blocks: one row per warp-row, lanes over channels */

/* KS = K - mean (mean = sums / N, or 0 with smoothing off), rounded once to f32. */
__global__ void smooth_apply_kernel(cuda_t4 k, cuda_t4 ks, int H, int N, int D, const double *sums,
                                    long long rows) {
  const long long row = (long long)blockIdx.x * ROWS_PER_BLOCK + threadIdx.y;
  if (row >= rows) return;
  const int n = (int)(row % N);
  const long long bh = row / N;
  const int b = (int)(bh / H), h = (int)(bh % H);
  for (int c = threadIdx.x; c < D; c += 32) {
    double mean = sums ? sums[bh * D + c] / (double)N : 0.0;
    t4_store(ks, b, h, n, c, (float)((double)t4_load(k, b, h, n, c) - mean));
  }
}

extern "C" sla2_status cuda_op_smooth_k(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int H = (int)g->H, N = (int)g->N, D = (int)g->D;
  const long long BH = g->B * g->H, rows = BH * N;
  cuda_t4 k = cuda_t4_of(x, node->in[0]), ks = cuda_t4_of(x, node->out[0]);
  double *sums = NULL;
  if (g->smooth_k) {
    void *p;
    sla2_status st = cuda_scratch(x->dev, (size_t)BH * (size_t)D * sizeof(double), &p);
    if (st != SLA2_OK) return st;
    sums = (double *)p;
    st = cuda_check(cudaMemsetAsync(sums, 0, (size_t)BH * (size_t)D * sizeof(double), x->dev->stream), "smooth_k");
    if (st != SLA2_OK) return st;
    st = cuda_colstats_launch(x, k, sums, k, NULL);
    if (st != SLA2_OK) return st;
  }
  smooth_apply_kernel<<<cdiv_u(rows, ROWS_PER_BLOCK), dim3(32, ROWS_PER_BLOCK), 0, x->dev->stream>>>(
      k, ks, H, N, D, sums, rows);
  return cuda_check_launch("smooth_k");
}

extern "C" sla2_status cuda_op_pool(const cuda_exec *x, const sla2_node *node) {
  return cuda_rowblock_launch(x, cuda_t4_of(x, node->in[0]), node->block, (float *)x->buf[node->out[0]], NULL, NULL, NULL,
                              NULL);
}

/* phi per row, one warp per row; D <= 256 so each lane holds at most 8 channels. */
__global__ void feature_map_kernel(cuda_t4 in, cuda_t4 out, int H, int N, int D, int fmap, long long rows) {
  const long long row = (long long)blockIdx.x * ROWS_PER_BLOCK + threadIdx.y;
  if (row >= rows) return;
  const int n = (int)(row % N);
  const long long bh = row / N;
  const int b = (int)(bh / H), h = (int)(bh % H), lane = threadIdx.x;
  float v[8];
#pragma unroll
  for (int u = 0; u < 8; u++) {
    const int d = lane + 32 * u;
    v[u] = d < D ? t4_load(in, b, h, n, d) : -INFINITY;
  }
  if (fmap == SLA2_FMAP_SOFTMAX) {
    float m = -INFINITY;
#pragma unroll
    for (int u = 0; u < 8; u++) m = fmaxf(m, v[u]);
    m = warp_max(m);
    float s = 0.0f;
#pragma unroll
    for (int u = 0; u < 8; u++) {
      v[u] = lane + 32 * u < D ? expf(v[u] - m) : 0.0f;
      s += v[u];
    }
    s = warp_sum(s);
#pragma unroll
    for (int u = 0; u < 8; u++)
      if (lane + 32 * u < D) t4_store(out, b, h, n, lane + 32 * u, v[u] / s);
    return;
  }
#pragma unroll
  for (int u = 0; u < 8; u++) {
    const int d = lane + 32 * u;
    if (d >= D) continue;
    const float y = fmap == SLA2_FMAP_ELU ? (v[u] > 0.0f ? v[u] + 1.0f : expf(v[u])) : fmaxf(v[u], 0.0f);
    t4_store(out, b, h, n, d, y);
  }
}

extern "C" sla2_status cuda_op_feature_map(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const long long rows = g->B * g->H * g->N;
  cuda_t4 in = cuda_t4_of(x, node->in[0]), out = cuda_t4_of(x, node->out[0]);
  feature_map_kernel<<<cdiv_u(rows, ROWS_PER_BLOCK), dim3(32, ROWS_PER_BLOCK), 0, x->dev->stream>>>(
      in, out, (int)g->H, (int)g->N, (int)g->D, (int)g->feature_map, rows);
  return cuda_check_launch("feature_map");
}

/* O = a OS + (1 - a) OL, a = sigmoid(logit) (double, as the oracle), per head or per block. */
__global__ void combine_kernel(cuda_t4 os, cuda_t4 ol, cuda_t4 o, const float *logits, int H, int N, int D,
                               int bq, int Tm, int per_block, long long rows) {
  const long long row = (long long)blockIdx.x * ROWS_PER_BLOCK + threadIdx.y;
  if (row >= rows) return;
  const int n = (int)(row % N);
  const long long bh = row / N;
  const int b = (int)(bh / H), h = (int)(bh % H);
  const double logit = per_block ? logits[h * Tm + n / bq] : logits[h];
  const double a = 1.0 / (1.0 + exp(-logit));
  for (int e = threadIdx.x; e < D; e += 32) {
    const double v = a * (double)t4_load(os, b, h, n, e) + (1.0 - a) * (double)t4_load(ol, b, h, n, e);
    t4_store(o, b, h, n, e, (float)v);
  }
}

extern "C" sla2_status cuda_op_combine(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const long long rows = g->B * g->H * g->N;
  cuda_t4 os = cuda_t4_of(x, node->in[0]), ol = cuda_t4_of(x, node->in[1]), o = cuda_t4_of(x, node->out[0]);
  combine_kernel<<<cdiv_u(rows, ROWS_PER_BLOCK), dim3(32, ROWS_PER_BLOCK), 0, x->dev->stream>>>(
      os, ol, o, (const float *)x->buf[node->in[2]], (int)g->H, (int)g->N, (int)g->D, (int)g->bq, (int)g->Tm,
      g->alpha_per_block ? 1 : 0, rows);
  return cuda_check_launch("combine");
}
