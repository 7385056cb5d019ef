/* CUDA backend: the linear branch on tensor cores, one CTA of 8 warps per (b, h, query block i,
 * slice of NC output columns); two CTAs per multiprocessor.
 *
 *   gather:  H_i[:, slice] = H_tot - sum_{j in LUT_i} h_j (the selected blocks summed first, f32,
 *            then one subtraction, as the CPU backend) into shared memory; Z_i likewise. The grid
 *            runs all query blocks of one (head, slice) together, so the h_j slices they gather
 *            (Tn x D x NC f32: 8 MB at Tn 512, D 128, NC 32) stay in one L2 partition.
 *   rows:    phi(q) per row (node mode reads PHIQ; fused mode computes it from Q) into shared
 *            memory, and den = phi(q) . Z_i per row; LIN_BATCH rows per warp load together.
 *   product: num = phi(Q_i) H_i[:, slice] (bq x D x NC) in 3xTF32 (cuda_tf32x3.cuh).
 *   output:  O_l = num / den (0 where den <= eps; all 0 when k == Tn); fused mode writes
 *            O = a OS + (1 - a) O_l (double, as COMBINE) and never stores O_l. */
#include "backends/cuda/cuda_common.cuh"
#include "backends/cuda/cuda_tf32x3.cuh"
#include "core/error.h"

#define LIN_WARPS 8
#define LIN_THREADS (32 * LIN_WARPS)
#define LIN_TILES 4     /* 16 x 8 output tiles per warp at most (NC / 8 = 4 n-tiles) */
#define LIN_INFLIGHT 4  /* float4 chunks per thread per gather pass (x 4 unrolled blocks) */
#define LIN_BATCH 4     /* rows per warp whose loads are in flight together */

struct lin_params {
  cuda_lin_args a;
  int H, N, D, bq, Tm, Tn, k, fmap, nc, sa, sb;
  bool src_vec, per_block_alpha;
};

template <bool FUSED>
__device__ inline void lin_store(const lin_params &p, int b, int h, int bh, int n, int e, float ol, double alpha) {
  if (FUSED) {
    const double os = (double)p.a.os[((long long)bh * p.N + n) * p.D + e];
    t4_store(p.a.out, b, h, n, e, (float)(alpha * os + (1.0 - alpha) * (double)ol));
  } else {
    t4_store(p.a.out, b, h, n, e, ol);
  }
}

template <bool FUSED>
__global__ void __launch_bounds__(LIN_THREADS, 2) linear_mma_kernel(lin_params p) {
  extern __shared__ __align__(16) float lin_smem[];
  float *As = lin_smem;             /* [bq][sa] phi(q) rows */
  float *Hs = As + p.bq * p.sa;     /* [D][sb]  H_i[:, slice] */
  float *zs = Hs + p.D * p.sb;      /* [D]      Z_i */
  float *dens = zs + p.D;           /* [bq]     phi(q) . Z_i */
  const cuda_lin_args &a = p.a;
  const int i = blockIdx.x, e_base = blockIdx.y * p.nc, bh = blockIdx.z, b = bh / p.H, h = bh % p.H;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int D = p.D, NC = p.nc, begin = i * p.bq, len = min(p.N, begin + p.bq) - begin;
  double alpha = 0.0;
  if (FUSED) {
    const double logit = p.per_block_alpha ? a.alpha[h * p.Tm + i] : a.alpha[h];
    alpha = 1.0 / (1.0 + exp(-logit));
  }

  if (p.k == p.Tn) { /* empty complement: O_l = 0 */
    for (int x = tid; x < len * NC; x += LIN_THREADS)
      lin_store<FUSED>(p, b, h, bh, begin + x / NC, e_base + x % NC, 0.0f, alpha);
    return;
  }

  /* gather H_i[:, slice] and Z_i */
  const int *lr = a.lut + ((long long)bh * p.Tm + i) * p.k;
  const long long DD = (long long)D * D;
  const float *hb = a.hblk + (long long)bh * p.Tn * DD;
  const float *ht = a.htot + (long long)bh * DD;
  const int cpr = NC / 4, chunks = D * cpr; /* float4 chunks per row of the slice, in all */
  for (int c0 = tid; c0 < chunks; c0 += LIN_THREADS * LIN_INFLIGHT) {
    float4 s[LIN_INFLIGHT];
    long long off[LIN_INFLIGHT];
#pragma unroll
    for (int q = 0; q < LIN_INFLIGHT; q++) {
      const int c = min(c0 + q * LIN_THREADS, chunks - 1);
      off[q] = (long long)(c / cpr) * D + e_base + 4 * (c % cpr);
      s[q] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
#pragma unroll 4
    for (int tt = 0; tt < p.k; tt++) {
      const float *hj = hb + (long long)lr[tt] * DD;
#pragma unroll
      for (int q = 0; q < LIN_INFLIGHT; q++) {
        const float4 x = *reinterpret_cast<const float4 *>(hj + off[q]);
        s[q].x += x.x, s[q].y += x.y, s[q].z += x.z, s[q].w += x.w;
      }
    }
#pragma unroll
    for (int q = 0; q < LIN_INFLIGHT; q++) {
      const int c = c0 + q * LIN_THREADS;
      if (c >= chunks) continue;
      const float4 tot = *reinterpret_cast<const float4 *>(ht + off[q]);
      *reinterpret_cast<float4 *>(Hs + (c / cpr) * p.sb + 4 * (c % cpr)) =
          make_float4(tot.x - s[q].x, tot.y - s[q].y, tot.z - s[q].z, tot.w - s[q].w);
    }
  }
  for (int d = tid; d < D; d += LIN_THREADS) {
    float s = 0.0f;
    for (int tt = 0; tt < p.k; tt++) s += a.zblk[((long long)bh * p.Tn + lr[tt]) * D + d];
    zs[d] = a.ztot[(long long)bh * D + d] - s;
  }
  __syncthreads();

  /* phi(q) rows and their denominators; rows up to a multiple of 16 (zeros past len) */
  const int rows16 = (len + 15) & ~15, d4 = 4 * lane;
  const bool on = d4 < D;
  for (int r_base = warp; r_base < rows16; r_base += LIN_BATCH * LIN_WARPS) {
    float x[LIN_BATCH][4];
#pragma unroll
    for (int q = 0; q < LIN_BATCH; q++) {
      const int r = r_base + q * LIN_WARPS;
#pragma unroll
      for (int u = 0; u < 4; u++) x[q][u] = 0.0f;
      if (on && r < len) t4_load4(a.src, b, h, begin + r, d4, p.src_vec, x[q]);
    }
#pragma unroll
    for (int q = 0; q < LIN_BATCH; q++) {
      const int r = r_base + q * LIN_WARPS;
      if (r >= rows16) break;
      float phi[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (r < len) {
        if (FUSED)
          phi_row4(x[q], on, p.fmap, phi);
        else
#pragma unroll
          for (int u = 0; u < 4; u++) phi[u] = x[q][u];
        float den = 0.0f;
#pragma unroll
        for (int u = 0; u < 4; u++) den += on ? phi[u] * zs[d4 + u] : 0.0f;
        den = warp_sum(den);
        if (lane == 0) dens[r] = den;
      }
      if (on) *reinterpret_cast<float4 *>(As + r * p.sa + d4) = make_float4(phi[0], phi[1], phi[2], phi[3]);
    }
  }
  __syncthreads();

  /* num = phi(Q_i) H_i[:, slice]: warp -> m-tile w % Mt, n-tiles w / Mt + (8 / Mt) u, so a warp's
   * tiles share their A fragments (split once per k-step) */
  const int Mt = p.bq / 16, wpm = LIN_WARPS / Mt, r0 = 16 * (warp % Mt), ng = warp / Mt, ntc = NC / 8;
  if (r0 >= rows16 || ng >= ntc) return;
  float acc[LIN_TILES][4];
#pragma unroll
  for (int u = 0; u < LIN_TILES; u++)
#pragma unroll
    for (int v = 0; v < 4; v++) acc[u][v] = 0.0f;
  for (int k0 = 0; k0 < D; k0 += 8) {
    tf32_pair af[4];
    af[0] = tf32_split(As[(r0 + g) * p.sa + k0 + t]);
    af[1] = tf32_split(As[(r0 + g + 8) * p.sa + k0 + t]);
    af[2] = tf32_split(As[(r0 + g) * p.sa + k0 + t + 4]);
    af[3] = tf32_split(As[(r0 + g + 8) * p.sa + k0 + t + 4]);
#pragma unroll
    for (int u = 0; u < LIN_TILES; u++) {
      const int e0 = 8 * (ng + wpm * u);
      if (e0 >= NC) break;
      tf32_pair bf[2];
      bf[0] = tf32_split(Hs[(k0 + t) * p.sb + e0 + g]);
      bf[1] = tf32_split(Hs[(k0 + t + 4) * p.sb + e0 + g]);
      mma_tf32x3(acc[u], af, bf, false);
    }
  }
#pragma unroll
  for (int u = 0; u < LIN_TILES; u++) {
    const int e = e_base + 8 * (ng + wpm * u) + 2 * t;
    if (e >= e_base + NC) break;
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int r = r0 + g + 8 * half;
      if (r >= len) continue;
      const float den = dens[r];
      const bool zero = den <= SLA2_LINEAR_DEN_EPS;
      lin_store<FUSED>(p, b, h, bh, begin + r, e, zero ? 0.0f : acc[u][2 * half] / den, alpha);
      lin_store<FUSED>(p, b, h, bh, begin + r, e + 1, zero ? 0.0f : acc[u][2 * half + 1] / den, alpha);
    }
  }
}

extern "C" sla2_status cuda_linear_launch(const cuda_exec *x, const cuda_lin_args *a) {
  const sla2_graph *g = x->g;
  lin_params p;
  p.a = *a;
  p.H = (int)g->H, p.N = (int)g->N, p.D = (int)g->D, p.bq = (int)g->bq, p.Tm = (int)g->Tm, p.Tn = (int)g->Tn;
  p.k = (int)g->k, p.fmap = (int)g->feature_map;
  p.nc = p.D % 32 == 0 ? 32 : p.D % 16 == 0 ? 16 : 8; /* output columns per CTA */
  p.sa = p.D + 4;                          /* conflict-free A fragments (row-major phi) */
  p.sb = p.nc == 8 ? 24 : p.nc + 8;        /* conflict-free B fragments (H rows) */
  p.src_vec = cuda_t4_vec4(a->src);
  p.per_block_alpha = g->alpha_per_block;
  const size_t smem = ((size_t)p.bq * p.sa + (size_t)p.D * p.sb + (size_t)p.D + (size_t)p.bq) * sizeof(float);
  if (smem > x->dev->smem_optin)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda linear_attn: %zu bytes of shared memory needed", smem);
  dim3 grid((unsigned)g->Tm, (unsigned)(p.D / p.nc), (unsigned)(g->B * g->H));
  cudaStream_t s = x->dev->stream;
  sla2_status st;
  if (a->fused) {
    st = cuda_check(cudaFuncSetAttribute(linear_mma_kernel<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
                    "linear_attn smem");
    if (st != SLA2_OK) return st;
    linear_mma_kernel<true><<<grid, LIN_THREADS, smem, s>>>(p);
  } else {
    st = cuda_check(cudaFuncSetAttribute(linear_mma_kernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
                    "linear_attn smem");
    if (st != SLA2_OK) return st;
    linear_mma_kernel<false><<<grid, LIN_THREADS, smem, s>>>(p);
  }
  return cuda_check_launch("linear_attn");
}
