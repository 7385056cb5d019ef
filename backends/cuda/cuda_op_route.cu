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

#define PROJ_T 16       /* pooled vectors per projection block */
#define PROJ_DC SLA2_HEAD_DIM_ALIGN /* channels of W per shared-memory chunk (D is a multiple) */
#define PROJ_THREADS 256 /* output channel e (and e + 128 where D > 128) x two halves of the vectors */
#define SCORE_TILE 64   /* query and key blocks per score tile */
#define SCORE_EC 16     /* channels per shared-memory chunk of the score tiles */
#define TOPK_THREADS 256 /* one per radix bin */

/* One side of the route's projections: out[bh, t, e] = sum_d W[hw][e][d] x[bh, t, d]. */
typedef struct project_job {
  const float *x, *w;
  int T;
  double *out;
} project_job;

/* Both projections in one launch (blocks [0, q_tiles) for Q, the rest for K), each sum over d in
 * order as the oracle's. A thread owns output channel e for PROJ_T / 2 pooled vectors; W passes
 * through shared memory PROJ_DC channels at a time, transposed (rows padded by one word, so
 * consecutive e hit distinct banks), and x as double with the vectors of a channel side by side
 * (16-byte reads, the same address across a warp). No shuffles: the first form (lanes over d, a
 * butterfly per output) spent most of its 0.11 ms in them. */
__global__ void __launch_bounds__(PROJ_THREADS)
project_kernel(project_job q, project_job k, int q_tiles, int H, int Hw, int D) {
  __shared__ __align__(16) double xs[SLA2_HEAD_DIM_MAX][PROJ_T];
  __shared__ float ws[SLA2_HEAD_DIM_MAX][PROJ_DC + 1];
  const bool is_q = (int)blockIdx.x < q_tiles;
  const project_job job = is_q ? q : k;
  const int t0 = ((int)blockIdx.x - (is_q ? 0 : q_tiles)) * PROJ_T, bh = blockIdx.y, h = bh % H, hw = Hw == 1 ? 0 : h;
  const int lane_e = threadIdx.x % 128, t_half = (threadIdx.x / 128) * (PROJ_T / 2);
  for (int i = threadIdx.x; i < PROJ_T * D; i += PROJ_THREADS) {
    const int t = i / D, d = i % D;
    xs[d][t] = t0 + t < job.T ? (double)job.x[((long long)bh * job.T + t0 + t) * D + d] : 0.0;
  }
  const float *W = job.w + (long long)hw * D * D;
  double acc[2][PROJ_T / 2];
#pragma unroll
  for (int u = 0; u < 2; u++)
#pragma unroll
    for (int t = 0; t < PROJ_T / 2; t++) acc[u][t] = 0.0;
  for (int d0 = 0; d0 < D; d0 += PROJ_DC) {
    __syncthreads(); /* xs written; the previous chunk of W consumed */
    for (int i = threadIdx.x; i < D * PROJ_DC; i += PROJ_THREADS) {
      const int e = i / PROJ_DC, c = i % PROJ_DC;
      ws[e][c] = W[(long long)e * D + d0 + c];
    }
    __syncthreads();
#pragma unroll
    for (int u = 0; u < 2; u++) {
      const int e = lane_e + 128 * u;
      if (e < D)
#pragma unroll
        for (int c = 0; c < PROJ_DC; c++) {
          const double wv = (double)ws[e][c];
          const double2 *xv = (const double2 *)&xs[d0 + c][t_half];
#pragma unroll
          for (int t2 = 0; t2 < PROJ_T / 4; t2++) {
            const double2 x2 = xv[t2];
            acc[u][2 * t2] = fma(wv, x2.x, acc[u][2 * t2]);
            acc[u][2 * t2 + 1] = fma(wv, x2.y, acc[u][2 * t2 + 1]);
          }
        }
    }
  }
#pragma unroll
  for (int u = 0; u < 2; u++) {
    const int e = lane_e + 128 * u;
#pragma unroll
    for (int t = 0; t < PROJ_T / 2; t++) {
      const int tt = t0 + t_half + t;
      if (e < D && tt < job.T) job.out[((long long)bh * job.T + tt) * D + e] = acc[u][t];
    }
  }
}

/* scores[bh, i, j] = s * qp[bh, i] . kp[bh, j] in double, each dot product over e in order.
 * 64 x 64 tiles, 256 threads of 4 x 4 outputs (i = ty + 16 a, j = tx + 16 b): 8 shared reads
 * per 16 products instead of 5 per 4. */
__global__ void __launch_bounds__(256) scores_kernel(const double *qp, const double *kp, int Tm, int Tn, int D, float scale,
                                                     float *scores) {
  __shared__ double qs[SCORE_TILE][SCORE_EC + 1], ks[SCORE_TILE][SCORE_EC + 1];
  const int bh = blockIdx.z, i0 = blockIdx.y * SCORE_TILE, j0 = blockIdx.x * SCORE_TILE;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  double acc[4][4];
#pragma unroll
  for (int a = 0; a < 4; a++)
#pragma unroll
    for (int b = 0; b < 4; b++) acc[a][b] = 0.0;
  for (int e0 = 0; e0 < D; e0 += SCORE_EC) {
    __syncthreads(); /* the previous chunk consumed */
    for (int idx = threadIdx.x; idx < SCORE_TILE * SCORE_EC; idx += 256) {
      const int r = idx / SCORE_EC, c = idx % SCORE_EC, e = e0 + c;
      qs[r][c] = (i0 + r < Tm && e < D) ? qp[((long long)bh * Tm + i0 + r) * D + e] : 0.0;
      ks[r][c] = (j0 + r < Tn && e < D) ? kp[((long long)bh * Tn + j0 + r) * D + e] : 0.0;
    }
    __syncthreads();
#pragma unroll 4
    for (int c = 0; c < SCORE_EC; c++) {
      double qv[4], kv[4];
#pragma unroll
      for (int a = 0; a < 4; a++) qv[a] = qs[ty + 16 * a][c], kv[a] = ks[tx + 16 * a][c];
#pragma unroll
      for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < 4; b++) acc[a][b] = fma(qv[a], kv[b], acc[a][b]);
    }
  }
#pragma unroll
  for (int a = 0; a < 4; a++)
#pragma unroll
    for (int b = 0; b < 4; b++) {
      const int i = i0 + ty + 16 * a, j = j0 + tx + 16 * b;
      if (i < Tm && j < Tn) scores[((long long)bh * Tm + i) * Tn + j] = (float)((double)scale * acc[a][b]);
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

/* Inclusive sum over the block's threads in thread order; warp_tot is TOPK_THREADS / 32 ints. */
__device__ inline int block_inclusive_sum(int v, int *warp_tot) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int o = 1; o < 32; o <<= 1) {
    const int n = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o) v += n;
  }
  if (lane == 31) warp_tot[warp] = v;
  __syncthreads();
  for (int w = 0; w < warp; w++) v += warp_tot[w];
  __syncthreads(); /* warp_tot is reused by the next call */
  return v;
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
    /* The bin of the k-th key: the highest b whose keys at or above it reach the remaining
     * count (bin 0 if none do). Thread t holds bin 255 - t and their suffix sum. */
    const int rem = s_remaining, b = 255 - (int)threadIdx.x, in_bin = hist[b];
    const int at_or_above = block_inclusive_sum(in_bin, warp_tot), above = at_or_above - in_bin;
    if ((at_or_above >= rem && above < rem) || (b == 0 && at_or_above < rem)) {
      s_remaining = rem - above;
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
  const project_job qj = {(const float *)x->buf[node->in[0]], wq, Tm, qp};
  const project_job kj = {(const float *)x->buf[node->in[1]], wk, Tn, kp};
  const unsigned q_tiles = cdiv_u(Tm, PROJ_T);
  project_kernel<<<dim3(q_tiles + cdiv_u(Tn, PROJ_T), (unsigned)BH), PROJ_THREADS, 0, s>>>(qj, kj, (int)q_tiles, H, Hw, D);
  float *scores = (float *)x->buf[node->out[0]];
  scores_kernel<<<dim3(cdiv_u(Tn, SCORE_TILE), cdiv_u(Tm, SCORE_TILE), (unsigned)BH), 256, 0, s>>>(
      qp, kp, Tm, Tn, D, g->scale, scores);
  topk_kernel<<<(unsigned)(BH * Tm), TOPK_THREADS, 0, s>>>(scores, Tn, (int)g->k, (int *)x->buf[node->out[1]]);
  return cuda_check_launch("route");
}
