/* CUDA backend: the linear branch as separate nodes. KV_STATE (h_j = phiK_j^T V_j, z_j, totals)
 * and LINEAR_ATTN (O_l = phi(q) H_i / (phi(q) . Z_i), H_i = H_tot - sum_{j in LUT_i} h_j).
 * Head dims up to 128 run on the tensor-core kernels of cuda_fused_kv.cu / cuda_fused_linear.cu;
 * the SIMT kernels below take D up to 256. f32 throughout (the states are f32 by contract). */
#include <string.h>

#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

#define STATE_TILE 64  /* h_j is computed in 64 x 64 tiles by 16 x 16 threads, 4 x 4 each */
#define STATE_ROWS 32  /* rows of phiK / V staged in shared memory per step */
#define LIN_COLS 32    /* output channels per linear_attn block */

__global__ void __launch_bounds__(256)
kv_state_kernel(cuda_t4 phik, cuda_t4 v, int H, int N, int D, int bk, int Tn, float *hblk) {
  __shared__ float a[STATE_ROWS][STATE_TILE], bv[STATE_ROWS][STATE_TILE];
  const int tiles = (D + STATE_TILE - 1) / STATE_TILE;
  const int d0 = (blockIdx.x / tiles) * STATE_TILE, e0 = (blockIdx.x % tiles) * STATE_TILE;
  const int j = blockIdx.y, bh = blockIdx.z, b = bh / H, h = bh % H;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int begin = j * bk, end = min(N, begin + bk);
  float acc[4][4] = {};
  for (int r0 = begin; r0 < end; r0 += STATE_ROWS) {
    for (int i = threadIdx.x; i < STATE_ROWS * STATE_TILE; i += 256) {
      const int r = i / STATE_TILE, c = i % STATE_TILE, n = r0 + r;
      a[r][c] = (n < end && d0 + c < D) ? t4_load(phik, b, h, n, d0 + c) : 0.0f;
      bv[r][c] = (n < end && e0 + c < D) ? t4_load(v, b, h, n, e0 + c) : 0.0f;
    }
    __syncthreads();
#pragma unroll 4
    for (int r = 0; r < STATE_ROWS; r++) {
      float av[4], vv[4];
#pragma unroll
      for (int u = 0; u < 4; u++) av[u] = a[r][ty + 16 * u], vv[u] = bv[r][tx + 16 * u];
#pragma unroll
      for (int u = 0; u < 4; u++)
#pragma unroll
        for (int w = 0; w < 4; w++) acc[u][w] = fmaf(av[u], vv[w], acc[u][w]);
    }
    __syncthreads();
  }
  float *out = hblk + ((long long)bh * Tn + j) * D * D;
#pragma unroll
  for (int u = 0; u < 4; u++)
#pragma unroll
    for (int w = 0; w < 4; w++) {
      const int d = d0 + ty + 16 * u, e = e0 + tx + 16 * w;
      if (d < D && e < D) out[(long long)d * D + e] = acc[u][w];
    }
}

__global__ void zblk_kernel(cuda_t4 phik, int H, int N, int D, int bk, int Tn, float *zblk) {
  const int j = blockIdx.x, bh = blockIdx.y, b = bh / H, h = bh % H;
  const int begin = j * bk, end = min(N, begin + bk);
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float s = 0.0f;
    for (int n = begin; n < end; n++) s += t4_load(phik, b, h, n, d);
    zblk[((long long)bh * Tn + j) * D + d] = s;
  }
}

/* tot[bh, x] = sum_j blk[bh, j, x] over `per` values x per block (double sum). */
__global__ void state_total_kernel(const float *blk, int Tn, long long per, float *tot) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  const long long bh = blockIdx.y;
  if (i >= per) return;
  double s = 0.0;
  for (int j = 0; j < Tn; j++) s += (double)blk[(bh * Tn + j) * per + i];
  tot[bh * per + i] = (float)s;
}

extern "C" sla2_status cuda_op_kv_state(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  if (g->D <= CUDA_KV_MAX_D) { /* tensor cores (cuda_fused_kv.cu) */
    cuda_kv_args a;
    memset(&a, 0, sizeof a);
    a.src = cuda_t4_of(x, node->in[0]);
    a.v = cuda_t4_of(x, node->in[1]);
    a.hblk = (float *)x->buf[node->out[0]], a.zblk = (float *)x->buf[node->out[1]];
    a.htot = (float *)x->buf[node->out[2]], a.ztot = (float *)x->buf[node->out[3]];
    void *scratch;
    sla2_status st = cuda_scratch(x->dev, cuda_kv_scratch_bytes(x), &scratch);
    return st != SLA2_OK ? st : cuda_kv_launch(x, &a, scratch);
  }
  const int H = (int)g->H, N = (int)g->N, D = (int)g->D, bk = (int)g->bk, Tn = (int)g->Tn;
  const unsigned BH = (unsigned)(g->B * g->H);
  cudaStream_t s = x->dev->stream;
  cuda_t4 phik = cuda_t4_of(x, node->in[0]), v = cuda_t4_of(x, node->in[1]);
  float *hblk = (float *)x->buf[node->out[0]], *zblk = (float *)x->buf[node->out[1]];
  float *htot = (float *)x->buf[node->out[2]], *ztot = (float *)x->buf[node->out[3]];
  const unsigned tiles = cdiv_u(D, STATE_TILE);
  kv_state_kernel<<<dim3(tiles * tiles, (unsigned)Tn, BH), 256, 0, s>>>(phik, v, H, N, D, bk, Tn, hblk);
  zblk_kernel<<<dim3((unsigned)Tn, BH), 128, 0, s>>>(phik, H, N, D, bk, Tn, zblk);
  const long long DD = (long long)D * D;
  state_total_kernel<<<dim3(cdiv_u(DD, 256), BH), 256, 0, s>>>(hblk, Tn, DD, htot);
  state_total_kernel<<<dim3(cdiv_u(D, 256), BH), 256, 0, s>>>(zblk, Tn, D, ztot);
  return cuda_check_launch("kv_state");
}

/* One (bh, query block i, 32 output channels): H_i's columns in shared memory (the selected
 * blocks summed first, then one subtraction from H_tot, as the CPU backend), then per row
 * num / den. Z_i likewise. The gather reads 16-byte vectors (D is a multiple of 8) with the
 * LUT loop unrolled so several loads are in flight; a row of phi(q) sits in the warp's
 * registers and is broadcast by shuffles. */
__global__ void __launch_bounds__(256)
linear_attn_kernel(cuda_t4 phiq, cuda_t4 out, const float *hblk, const float *zblk, const float *htot,
                   const float *ztot, const int *lut, int H, int N, int D, int bq, int Tm, int Tn, int k) {
  extern __shared__ float lin_smem[];
  float *hs = lin_smem;            /* [D][LIN_COLS] */
  float *zs = hs + D * LIN_COLS;   /* [D] */
  const int e0 = blockIdx.x * LIN_COLS, i = blockIdx.y, bh = blockIdx.z, b = bh / H, h = bh % H;
  const int begin = i * bq, end = min(N, begin + bq);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, e = e0 + lane;
  if (k == Tn) { /* empty complement */
    for (int n = begin + warp; n < end; n += 8)
      if (e < D) t4_store(out, b, h, n, e, 0.0f);
    return;
  }
  const int *lr = lut + ((long long)bh * Tm + i) * k;
  const long long DD = (long long)D * D;
  const float *hb = hblk + (long long)bh * Tn * DD;
  for (int idx = threadIdx.x; idx < D * (LIN_COLS / 4); idx += 256) {
    const int d = idx / (LIN_COLS / 4), c = (idx % (LIN_COLS / 4)) * 4;
    float4 val = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (e0 + c < D) {
      const long long off = (long long)d * D + e0 + c;
      float4 sum = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll 4
      for (int t = 0; t < k; t++) {
        const float4 x = *reinterpret_cast<const float4 *>(hb + (long long)lr[t] * DD + off);
        sum.x += x.x, sum.y += x.y, sum.z += x.z, sum.w += x.w;
      }
      const float4 tot = *reinterpret_cast<const float4 *>(htot + bh * DD + off);
      val = make_float4(tot.x - sum.x, tot.y - sum.y, tot.z - sum.z, tot.w - sum.w);
    }
    *reinterpret_cast<float4 *>(hs + d * LIN_COLS + c) = val;
  }
  for (int d = threadIdx.x; d < D; d += 256) {
    float sum = 0.0f;
    for (int t = 0; t < k; t++) sum += zblk[((long long)bh * Tn + lr[t]) * D + d];
    zs[d] = ztot[(long long)bh * D + d] - sum;
  }
  __syncthreads();
  for (int n = begin + warp; n < end; n += 8) {
    float q[8];
    float den = 0.0f, num = 0.0f;
#pragma unroll
    for (int u = 0; u < 8; u++) {
      const int d = lane + 32 * u;
      q[u] = d < D ? t4_load(phiq, b, h, n, d) : 0.0f;
      if (d < D) den += q[u] * zs[d];
    }
    den = warp_sum(den);
#pragma unroll
    for (int u = 0; u < 8; u++) {
      if (32 * u >= D) break;
      for (int dd = 0; dd < 32 && 32 * u + dd < D; dd++)
        num += __shfl_sync(0xffffffffu, q[u], dd) * hs[(32 * u + dd) * LIN_COLS + lane];
    }
    if (e < D) t4_store(out, b, h, n, e, den <= SLA2_LINEAR_DEN_EPS ? 0.0f : num / den);
  }
}

extern "C" sla2_status cuda_op_linear_attn(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int D = (int)g->D;
  if (D <= CUDA_LIN_MAX_D) { /* tensor cores (cuda_fused_linear.cu) */
    cuda_lin_args a;
    memset(&a, 0, sizeof a);
    a.src = cuda_t4_of(x, node->in[0]);
    a.out = cuda_t4_of(x, node->out[0]);
    a.hblk = (const float *)x->buf[node->in[1]], a.zblk = (const float *)x->buf[node->in[2]];
    a.htot = (const float *)x->buf[node->in[3]], a.ztot = (const float *)x->buf[node->in[4]];
    a.lut = (const int *)x->buf[node->in[5]];
    return cuda_linear_launch(x, &a);
  }
  cuda_t4 phiq = cuda_t4_of(x, node->in[0]), out = cuda_t4_of(x, node->out[0]);
  const size_t smem = (size_t)(D * LIN_COLS + D) * sizeof(float);
  dim3 grid(cdiv_u(D, LIN_COLS), (unsigned)g->Tm, (unsigned)(g->B * g->H));
  linear_attn_kernel<<<grid, 256, smem, x->dev->stream>>>(
      phiq, out, (const float *)x->buf[node->in[1]], (const float *)x->buf[node->in[2]],
      (const float *)x->buf[node->in[3]], (const float *)x->buf[node->in[4]], (const int *)x->buf[node->in[5]],
      (int)g->H, (int)g->N, D, (int)g->bq, (int)g->Tm, (int)g->Tn, (int)g->k);
  return cuda_check_launch("linear_attn");
}
