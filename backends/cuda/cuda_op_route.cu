/* CUDA backend: ROUTE. Scores P[i][j] = s (W_q qbar_i) . (W_k kbar_j) and the top-k LUT.
 *
 * The projections and the score dot products are in double like the oracle (the LUT must match
 * it except at near-ties; the double work is a few GFLOP at the largest shapes). The top k of a
 * row come from a radix select over an order-preserving integer image of the f32 scores (4
 * passes of 8 bits find the k-th key exactly), then one ordered pass writes the selected block
 * indices ascending, taking the keys equal to the k-th one from the lowest index up. */
#include <math.h>

#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

#define PROJ_WARPS 8
#define PROJ_TILE 8 /* pooled vectors per projection block */
#define SCORE_TILE 32
#define TOPK_THREADS 256

/* out[bh, t, e] = sum_d W[hw][e][d] x[bh, t, d]; one warp per output channel, lanes over d, for
 * PROJ_TILE pooled vectors at once (held in shared memory), so each W row is read once per tile
 * rather than once per vector. */
__global__ void __launch_bounds__(PROJ_WARPS * 32)
project_kernel(const float *x, const float *w, int H, int Hw, int T, int D, double *out) {
  __shared__ double xs[PROJ_TILE][SLA2_HEAD_DIM_MAX];
  const int t0 = blockIdx.x * PROJ_TILE, bh = blockIdx.y, h = bh % H, hw = Hw == 1 ? 0 : h;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int i = threadIdx.x; i < PROJ_TILE * D; i += PROJ_WARPS * 32) {
    const int t = i / D, d = i % D;
    xs[t][d] = t0 + t < T ? (double)x[((long long)bh * T + t0 + t) * D + d] : 0.0;
  }
  __syncthreads();
  const float *W = w + (long long)hw * D * D;
  for (int e = warp; e < D; e += PROJ_WARPS) {
    double s[PROJ_TILE];
#pragma unroll
    for (int t = 0; t < PROJ_TILE; t++) s[t] = 0.0;
    for (int d = lane; d < D; d += 32) {
      const double wv = (double)W[(long long)e * D + d];
#pragma unroll
      for (int t = 0; t < PROJ_TILE; t++) s[t] += wv * xs[t][d];
    }
#pragma unroll
    for (int t = 0; t < PROJ_TILE; t++) {
      for (int o = 16; o > 0; o >>= 1) s[t] += __shfl_xor_sync(0xffffffffu, s[t], o);
      if (lane == 0 && t0 + t < T) out[((long long)bh * T + t0 + t) * D + e] = s[t];
    }
  }
}

/* scores[bh, i, j] = s * qp[bh, i] . kp[bh, j], 32 x 32 tiles, double. */
__global__ void scores_kernel(const double *qp, const double *kp, int Tm, int Tn, int D, float scale, float *scores) {
  __shared__ double qs[SCORE_TILE][SCORE_TILE + 1], ks[SCORE_TILE][SCORE_TILE + 1];
  const int bh = blockIdx.z, i0 = blockIdx.y * SCORE_TILE, j0 = blockIdx.x * SCORE_TILE;
  const int tx = threadIdx.x, ty = threadIdx.y; /* (32, 8): 4 outputs per thread */
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  for (int e0 = 0; e0 < D; e0 += SCORE_TILE) {
    for (int r = ty; r < SCORE_TILE; r += 8) {
      const int e = e0 + tx;
      qs[r][tx] = (i0 + r < Tm && e < D) ? qp[((long long)bh * Tm + i0 + r) * D + e] : 0.0;
      ks[r][tx] = (j0 + r < Tn && e < D) ? kp[((long long)bh * Tn + j0 + r) * D + e] : 0.0;
    }
    __syncthreads();
#pragma unroll 8
    for (int e = 0; e < SCORE_TILE; e++) {
      const double kv = ks[tx][e];
#pragma unroll
      for (int u = 0; u < 4; u++) acc[u] += qs[ty + 8 * u][e] * kv;
    }
    __syncthreads();
  }
#pragma unroll
  for (int u = 0; u < 4; u++) {
    const int i = i0 + ty + 8 * u, j = j0 + tx;
    if (i < Tm && j < Tn) scores[((long long)bh * Tm + i) * Tn + j] = (float)((double)scale * acc[u]);
  }
}

/* Larger image = better score; NaN ranks below everything; -0 and +0 are equal. */
__device__ inline unsigned rank_key(float f) {
  if (isnan(f)) return 0u;
  if (f == 0.0f) f = 0.0f;
  const unsigned u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* Exclusive prefix over the block of a per-thread 0/1 flag; returns the block's total. */
__device__ inline int block_prefix(int flag, int *warp_tot, int *prefix_out) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const unsigned ballot = __ballot_sync(0xffffffffu, flag);
  const int in_warp = __popc(ballot & ((1u << lane) - 1u));
  if (lane == 0) warp_tot[warp] = __popc(ballot);
  __syncthreads();
  int before = 0, total = 0;
  for (int w = 0; w < TOPK_THREADS / 32; w++) {
    if (w < warp) before += warp_tot[w];
    total += warp_tot[w];
  }
  __syncthreads(); /* warp_tot is reused by the next call */
  *prefix_out = before + in_warp;
  return total;
}

__global__ void __launch_bounds__(TOPK_THREADS) topk_kernel(const float *scores, int Tn, int k, int *lut) {
  __shared__ int hist[256];
  __shared__ int warp_tot[TOPK_THREADS / 32];
  __shared__ unsigned s_prefix;
  __shared__ int s_remaining;
  const long long row = blockIdx.x;
  const float *sr = scores + row * Tn;
  if (threadIdx.x == 0) s_prefix = 0u, s_remaining = k;
  unsigned mask = 0u;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += TOPK_THREADS) hist[b] = 0;
    __syncthreads();
    const unsigned prefix = s_prefix;
    for (int j = threadIdx.x; j < Tn; j += TOPK_THREADS) {
      const unsigned u = rank_key(sr[j]);
      if ((u & mask) == prefix) atomicAdd(&hist[(u >> shift) & 255u], 1);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int cum = 0, rem = s_remaining, b = 255;
      for (; b > 0; b--) {
        if (cum + hist[b] >= rem) break;
        cum += hist[b];
      }
      s_remaining = rem - cum;
      s_prefix = prefix | ((unsigned)b << shift);
    }
    mask |= 255u << shift;
    __syncthreads();
  }
  const unsigned kth = s_prefix;
  const int take_equal = s_remaining; /* keys equal to the k-th to take, lowest index first */
  int equal_before = 0, written = 0;
  int *out = lut + row * k;
  for (int j0 = 0; j0 < Tn; j0 += TOPK_THREADS) {
    const int j = j0 + threadIdx.x;
    const unsigned u = j < Tn ? rank_key(sr[j]) : 0u;
    const int eq = j < Tn && u == kth;
    int eq_rank;
    const int eq_total = block_prefix(eq, warp_tot, &eq_rank);
    const int sel = j < Tn && (u > kth || (eq && equal_before + eq_rank < take_equal));
    int pos;
    const int sel_total = block_prefix(sel, warp_tot, &pos);
    if (sel) out[written + pos] = j;
    written += sel_total;
    equal_before += eq_total;
  }
}

extern "C" sla2_status cuda_op_route(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int H = (int)g->H, D = (int)g->D, Tm = (int)g->Tm, Tn = (int)g->Tn, Hw = (int)g->Hw;
  const long long BH = g->B * g->H;
  cudaStream_t s = x->dev->stream;
  void *p;
  sla2_status st = cuda_scratch(x->dev, (size_t)BH * (size_t)(Tm + Tn) * (size_t)D * sizeof(double), &p);
  if (st != SLA2_OK) return st;
  double *qp = (double *)p, *kp = qp + BH * Tm * D;
  const float *wq = (const float *)x->buf[node->in[2]], *wk = (const float *)x->buf[node->in[3]];
  project_kernel<<<dim3(cdiv_u(Tm, PROJ_TILE), (unsigned)BH), PROJ_WARPS * 32, 0, s>>>(
      (const float *)x->buf[node->in[0]], wq, H, Hw, Tm, D, qp);
  project_kernel<<<dim3(cdiv_u(Tn, PROJ_TILE), (unsigned)BH), PROJ_WARPS * 32, 0, s>>>(
      (const float *)x->buf[node->in[1]], wk, H, Hw, Tn, D, kp);
  float *scores = (float *)x->buf[node->out[0]];
  scores_kernel<<<dim3(cdiv_u(Tn, SCORE_TILE), cdiv_u(Tm, SCORE_TILE), (unsigned)BH), dim3(32, 8), 0, s>>>(
      qp, kp, Tm, Tn, D, g->scale, scores);
  topk_kernel<<<(unsigned)(BH * Tm), TOPK_THREADS, 0, s>>>(scores, Tn, (int)g->k, (int *)x->buf[node->out[1]]);
  return cuda_check_launch("route");
}
