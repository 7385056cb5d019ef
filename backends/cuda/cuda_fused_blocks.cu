/* CUDA backend: the two row-reduction kernels that both the node path and the fused forward use.
 *
 * colstats: per (b, h, channel) over all N rows, the sum of K (double, for the smooth_k mean)
 * and the max |V| (for sigma_v), in one pass over both tensors.
 * rowblock: per block of rows, the channel means (POOL), the INT8 codes with their scale
 * (QUANTIZE_INT8) and, for the fused forward, phi(q) per row (memory-light linear branch) and
 * s q . mean_N(K) per row (the LSE shift of attention on raw K), in one pass plus a re-read of the
 * block for the codes (it is in L1/L2 then).
 *
 * A lane owns 4 consecutive channels (d = 4 lane + 128 c), so rows load as 16-byte (f32) or
 * 8-byte (f16/bf16) vectors where the view allows. */
#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

#define COLSTATS_ROWS 8     /* warps per block, each over every 8th row */
#define COLSTATS_CHUNK 512  /* rows per block */
#define ROWBLOCK_WARPS 8
#define LANE_CH 4           /* channels per lane and pass */
#define MAX_PASSES 2        /* 2 x 128 channels: D <= 256 */
#define ROW_BATCH 4         /* rows per warp whose loads are in flight together */

__global__ void __launch_bounds__(32 * COLSTATS_ROWS)
colstats_kernel(cuda_t4 k, bool kvec, double *ksum, cuda_t4 v, bool vvec, unsigned *vamax, int H, int N, int D) {
  __shared__ double sred[COLSTATS_ROWS][MAX_PASSES * 128];
  __shared__ float mred[COLSTATS_ROWS][MAX_PASSES * 128];
  const int bh = blockIdx.x, b = bh / H, h = bh % H, lane = threadIdx.x, ty = threadIdx.y;
  const int n0 = blockIdx.y * COLSTATS_CHUNK, n1 = min(N, n0 + COLSTATS_CHUNK);
#pragma unroll
  for (int c = 0; c < MAX_PASSES; c++) {
    const int d = LANE_CH * lane + 128 * c;
    double s[LANE_CH] = {0.0, 0.0, 0.0, 0.0};
    float m[LANE_CH] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (d < D)
      for (int n = n0 + ty; n < n1; n += COLSTATS_ROWS) {
        float x[LANE_CH];
        if (ksum) {
          t4_load4(k, b, h, n, d, kvec, x);
#pragma unroll
          for (int u = 0; u < LANE_CH; u++) s[u] += (double)x[u];
        }
        if (vamax) {
          t4_load4(v, b, h, n, d, vvec, x);
#pragma unroll
          for (int u = 0; u < LANE_CH; u++) m[u] = fmaxf(m[u], fabsf(x[u]));
        }
      }
#pragma unroll
    for (int u = 0; u < LANE_CH; u++) sred[ty][128 * c + LANE_CH * lane + u] = s[u], mred[ty][128 * c + LANE_CH * lane + u] = m[u];
  }
  __syncthreads();
  for (int d = ty * 32 + lane; d < D; d += 32 * COLSTATS_ROWS) {
    double s = 0.0;
    float m = 0.0f;
    for (int r = 0; r < COLSTATS_ROWS; r++) s += sred[r][d], m = fmaxf(m, mred[r][d]);
    if (ksum) atomicAdd(&ksum[(long long)bh * D + d], s);
    /* non-negative floats order like their bit patterns: an integer max is exact */
    if (vamax) atomicMax(&vamax[(long long)bh * D + d], __float_as_uint(m));
  }
}

extern "C" sla2_status cuda_colstats_launch(const cuda_exec *x, cuda_t4 k, double *ksum, cuda_t4 v, unsigned *vamax) {
  const sla2_graph *g = x->g;
  const unsigned BH = (unsigned)(g->B * g->H);
  dim3 grid(BH, cdiv_u(g->N, COLSTATS_CHUNK));
  colstats_kernel<<<grid, dim3(32, COLSTATS_ROWS), 0, x->dev->stream>>>(
      k, ksum ? cuda_t4_vec4(k) : false, ksum, v, vamax ? cuda_t4_vec4(v) : false, vamax, (int)g->H, (int)g->N,
      (int)g->D);
  return cuda_check_launch("column statistics");
}

/* phi(q) of one row held by a warp as 4 channels per lane (lanes with `on` false hold none),
 * rounded into p.phiq. */
__device__ inline void phiq_row(const float x[LANE_CH], bool on, const cuda_phiq_out &p, long long row, int D, int d4) {
  float phi[LANE_CH];
  softmax_row4_fast(x, on, phi);
  if (on) store4_16(p.phiq, row * D + d4, phi, p.bf16, nullptr);
}

/* PHI: also the light branch's phi(q) rows (D <= 128: channel pass 0 only), so Q is read once. */
template <bool PHI>
__global__ void __launch_bounds__(32 * ROWBLOCK_WARPS)
rowblock_kernel(cuda_t4 in, bool vec, int H, int N, int D, int block, int T, float *mean_out, int8_t *codes,
                float *scales, cuda_phiq_out phi, cuda_qshift_out shift, float scale) {
  __shared__ double sred[ROWBLOCK_WARPS][MAX_PASSES * 128];
  __shared__ float ared[ROWBLOCK_WARPS];
  __shared__ float s_sigma;
  const int t = blockIdx.x, bh = blockIdx.y, b = bh / H, h = bh % H;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int begin = t * block, len = min(N, begin + block) - begin;
  float amax = 0.0f, kmean4[LANE_CH] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (shift.out && LANE_CH * lane < D) /* s mean_N(K): the row's shift is then one dot product */
#pragma unroll
    for (int u = 0; u < LANE_CH; u++)
      kmean4[u] = (float)((double)scale * shift.ksum[(long long)bh * D + LANE_CH * lane + u] / (double)N);
#pragma unroll
  for (int c = 0; c < MAX_PASSES; c++) {
    const int d = LANE_CH * lane + 128 * c;
    const bool on = d < D;
    double s[LANE_CH] = {0.0, 0.0, 0.0, 0.0};
    if (128 * c < D) /* whole warps: phi reduces across the lanes */
      for (int r0 = warp; r0 < len; r0 += ROW_BATCH * ROWBLOCK_WARPS) {
        float x[ROW_BATCH][LANE_CH];
#pragma unroll
        for (int q = 0; q < ROW_BATCH; q++)
          if (on && r0 + q * ROWBLOCK_WARPS < len) t4_load4(in, b, h, begin + r0 + q * ROWBLOCK_WARPS, d, vec, x[q]);
#pragma unroll
        for (int q = 0; q < ROW_BATCH; q++) {
          const int r = r0 + q * ROWBLOCK_WARPS;
          if (r >= len) break;
          if (on)
#pragma unroll
            for (int u = 0; u < LANE_CH; u++) s[u] += (double)x[q][u], amax = fmaxf(amax, fabsf(x[q][u]));
          if (PHI && c == 0) phiq_row(x[q], on, phi, (long long)bh * N + begin + r, D, d);
          if (shift.out && c == 0) {
            float dot = 0.0f;
            if (on)
#pragma unroll
              for (int u = 0; u < LANE_CH; u++) dot = fmaf(x[q][u], kmean4[u], dot);
            dot = warp_sum(dot);
            if (lane == 0) shift.out[(long long)bh * N + begin + r] = dot;
          }
        }
      }
#pragma unroll
    for (int u = 0; u < LANE_CH; u++) sred[warp][128 * c + LANE_CH * lane + u] = s[u];
  }
  amax = warp_max(amax);
  if (lane == 0) ared[warp] = amax;
  __syncthreads();
  if (mean_out)
    for (int d = threadIdx.x; d < D; d += 32 * ROWBLOCK_WARPS) {
      double s = 0.0;
      for (int w = 0; w < ROWBLOCK_WARPS; w++) s += sred[w][d];
      mean_out[((long long)bh * T + t) * D + d] = (float)(s / (double)len);
    }
  if (!codes) return;
  if (threadIdx.x == 0) {
    float m = 0.0f;
    for (int w = 0; w < ROWBLOCK_WARPS; w++) m = fmaxf(m, ared[w]);
    s_sigma = m > 0.0f ? __fdiv_rn(m, (float)SLA2_INT8_MAX) : 1.0f;
    scales[(long long)bh * T + t] = s_sigma;
  }
  __syncthreads();
  const float sigma = s_sigma, rcp = 1.0f / sigma;
#pragma unroll
  for (int c = 0; c < MAX_PASSES; c++) {
    const int d = LANE_CH * lane + 128 * c;
    if (d >= D) continue;
    for (int r0 = warp; r0 < len; r0 += ROW_BATCH * ROWBLOCK_WARPS) {
      float x[ROW_BATCH][LANE_CH];
#pragma unroll
      for (int q = 0; q < ROW_BATCH; q++)
        if (r0 + q * ROWBLOCK_WARPS < len) t4_load4(in, b, h, begin + r0 + q * ROWBLOCK_WARPS, d, vec, x[q]);
#pragma unroll
      for (int q = 0; q < ROW_BATCH; q++) {
        const int r = r0 + q * ROWBLOCK_WARPS;
        if (r >= len) break;
        *reinterpret_cast<unsigned *>(codes + ((long long)bh * N + begin + r) * D + d) = int8_codes4(x[q], sigma, rcp);
      }
    }
  }
}

extern "C" sla2_status cuda_rowblock_launch(const cuda_exec *x, cuda_t4 in, int block, float *mean_out, int8_t *codes,
                                            float *scales, const cuda_phiq_out *phi, const cuda_qshift_out *shift) {
  const sla2_graph *g = x->g;
  const int T = (int)((g->N + block - 1) / block);
  if ((phi || shift) && g->D > 128)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: per-row outputs of the row blocks need D <= 128");
  dim3 grid((unsigned)T, (unsigned)(g->B * g->H));
  const cuda_phiq_out no_phi{};
  const cuda_qshift_out no_shift{};
  const auto kernel = phi ? rowblock_kernel<true> : rowblock_kernel<false>;
  kernel<<<grid, 32 * ROWBLOCK_WARPS, 0, x->dev->stream>>>(in, cuda_t4_vec4(in), (int)g->H, (int)g->N, (int)g->D, block,
                                                           T, mean_out, codes, scales, phi ? *phi : no_phi,
                                                           shift ? *shift : no_shift, g->scale);
  return cuda_check_launch("row blocks");
}
