/* CUDA backend: the K-side pass. h_j = phi(K~_j)^T V_j and z_j per key block on tensor cores
 * (3xTF32, cuda_tf32x3.cuh), the totals from per-group partial sums, and in fused mode everything
 * else that is a function of one key block of K and V:
 *   K~ = K - mean (the oracle's double subtraction, one rounding), KS where a later node reads it,
 *   KBAR (double sums), KCODES/KSCALE (block amax; exact encoders), phi(K~), VCODES/VSCALE.
 * So K and V are read once (K~ waits in shared memory for its block's codes, or with h_j is
 * re-read from L1/L2) and PHIK never exists.
 *
 * One CTA of 16 warps per (b, h, group of G consecutive key blocks); per block:
 *   rows:    warp w takes rows w, w+16, ...; a lane owns channels 4 lane .. 4 lane + 3. phi and V
 *            go to shared memory as f32 rows (stride Mp + 8 floats: conflict-free fragment reads).
 *   columns: z_j, KBAR_j, sigma_k from per-warp partials (fixed order: deterministic).
 *   product: h_j (Mp x D, Mp = D rounded up to 16) over the block's rows; warp (wm, wn) owns
 *            m-tiles wm + 4 mt and n-tiles wn + 4 nt, so all warps work for D = 64 too.
 *   h_j goes to HBLK (where wanted) and is added to the group's running total in registers; the
 *   totals of the groups are summed (double) by a second kernel into HTOT / ZTOT.
 * For the memory-light linear branch (cuda_linear_wgmma.cu) the fused pass writes phi(K~) in V's
 * 16-bit type (softmax with a fast exp: the rounding to 16 bits is coarser) and computes no h_j
 * (no HBLK / ZBLK / HTOT). */
#include "backends/cuda/cuda_common.cuh"
#include "backends/cuda/cuda_tf32x3.cuh"
#include "core/error.h"

#define KV_WARPS 16
#define KV_THREADS (32 * KV_WARPS)
#define KV_MT 2  /* m-tiles (16 rows of h) per warp: 4 x 2 x 16 = 128 */
#define KV_NT 4  /* n-tiles (8 columns of h) per warp: 4 x 4 x 8 = 128 */
#define KV_BATCH 4 /* rows per warp whose loads are in flight together */

struct kv_params {
  cuda_kv_args a;
  int H, N, D, Mp, bk, Tn, G, groups, fmap, stride;
  bool src_vec, v_vec, v_exact;
  float *hpart, *zpart;
};

/* PRODUCT false: no h_j (HTOT comes from elsewhere), so neither the f32 staging of phi and V nor
 * the accumulators exist, and V is read only for its codes. */
template <bool FUSED, bool PRODUCT>
__global__ void __launch_bounds__(KV_THREADS, PRODUCT ? 1 : 2) kv_mma_kernel(kv_params p) {
  constexpr int BATCH = PRODUCT ? KV_BATCH : 2; /* two CTAs per multiprocessor hide latency instead */
  extern __shared__ __align__(16) float kv_smem[];
  const int staged = PRODUCT ? p.bk * p.stride : 0;
  float *phis = kv_smem;                          /* [bk][stride] phi rows */
  float *vs = phis + staged;                      /* [bk][stride] V rows */
  float *zred = vs + staged;                      /* [KV_WARPS][128] */
  double *kred = (double *)(zred + KV_WARPS * 128); /* [KV_WARPS][128] */
  float *ared = (float *)(kred + KV_WARPS * 128);   /* [KV_WARPS] */
  float *ktil = ared + KV_WARPS;                    /* !PRODUCT: [bk][D] K~ of the block, for its codes */
  __shared__ float s_sigma;

  const cuda_kv_args &a = p.a;
  const int grp = blockIdx.x, bh = blockIdx.y, b = bh / p.H, h = bh % p.H;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  const int wm = warp / 4, wn = warp % 4, d4 = 4 * lane;
  const bool on = d4 < p.D;
  const int D = p.D, S = p.stride;

  /* Padding columns [D, Mp) of phi are never written: zero them (and everything) once. */
  for (int i = tid; i < 2 * staged; i += KV_THREADS) phis[i] = 0.0f;
  /* the K mean and sigma_v per channel, in shared memory to spare registers */
  __shared__ double mean_s[CUDA_KV_MAX_D];
  __shared__ float vsig_s[CUDA_KV_MAX_D], vrcp_s[CUDA_KV_MAX_D];
  if (FUSED && tid < D) {
    mean_s[tid] = a.ksum ? a.ksum[(long long)bh * D + tid] / (double)p.N : 0.0;
    float sig = 1.0f;
    if (a.vamax) {
      const float m = __uint_as_float(a.vamax[(long long)bh * D + tid]);
      sig = m > 0.0f ? __fdiv_rn(m, SLA2_FP8_E4M3_MAX) : 1.0f;
    }
    vsig_s[tid] = sig, vrcp_s[tid] = 1.0f / sig;
    if (a.vscale && grp == 0) a.vscale[(long long)bh * D + tid] = sig;
  }

  float part[PRODUCT ? KV_MT : 1][KV_NT][4];
  if constexpr (PRODUCT) {
#pragma unroll
    for (int mt = 0; mt < KV_MT; mt++)
#pragma unroll
      for (int nt = 0; nt < KV_NT; nt++)
#pragma unroll
        for (int i = 0; i < 4; i++) part[mt][nt][i] = 0.0f;
  }
  const bool need_v = PRODUCT || a.vcodes;
  float zsum = 0.0f; /* thread tid < D owns column tid of the group's z total */
  __syncthreads();

  const int j1 = min(p.Tn, (grp + 1) * p.G);
  for (int j = grp * p.G; j < j1; j++) {
    const int begin = j * p.bk, len = min(p.N, begin + p.bk) - begin, rows8 = (len + 7) & ~7;
    float zp[4] = {0.0f, 0.0f, 0.0f, 0.0f}, amax = 0.0f;
    double kp[4] = {0.0, 0.0, 0.0, 0.0};
    /* rows: phi and V to shared memory, column partials, V codes. BATCH rows per warp are
     * loaded before any is used, so their global latencies overlap. */
    for (int r_base = warp; r_base < rows8; r_base += BATCH * KV_WARPS) {
      float x[BATCH][4], vv[BATCH][4];
#pragma unroll
      for (int q = 0; q < BATCH; q++) {
        const int r = r_base + q * KV_WARPS;
#pragma unroll
        for (int u = 0; u < 4; u++) x[q][u] = 0.0f, vv[q][u] = 0.0f;
        if (on && r < len) {
          t4_load4(a.src, b, h, begin + r, d4, p.src_vec, x[q]);
          if (need_v) t4_load4(a.v, b, h, begin + r, d4, p.v_vec, vv[q]);
        }
      }
#pragma unroll
      for (int q = 0; q < BATCH; q++) {
        const int r = r_base + q * KV_WARPS, n = begin + r;
        if (r >= rows8) break;
        float phi[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (r < len) {
          if (FUSED) {
#pragma unroll
            for (int u = 0; u < 4; u++) x[q][u] = on ? (float)((double)x[q][u] - mean_s[d4 + u]) : 0.0f;
            if (on) {
              if (a.ks) *reinterpret_cast<float4 *>(a.ks + ((long long)bh * p.N + n) * D + d4) =
                  make_float4(x[q][0], x[q][1], x[q][2], x[q][3]);
#pragma unroll
              for (int u = 0; u < 4; u++) kp[u] += (double)x[q][u], amax = fmaxf(amax, fabsf(x[q][u]));
              if (!PRODUCT && a.kcodes)
                *reinterpret_cast<float4 *>(ktil + r * D + d4) = make_float4(x[q][0], x[q][1], x[q][2], x[q][3]);
            }
            if (PRODUCT) phi_row4(x[q], on, p.fmap, phi);
            else softmax_row4_fast(x[q], on, phi); /* the light path: softmax features, phi(K~) rounded to 16 bits */
            if (on && a.phik16)
              store4_16(a.phik16, ((long long)bh * p.N + n) * D + d4, phi, a.v.dtype == SLA2_BF16, nullptr);
            if (on && a.vcodes) {
              unsigned packed = 0;
#pragma unroll
              for (int u = 0; u < 4; u++)
                packed |= (unsigned)e4m3_code_rcp(vv[q][u], vsig_s[d4 + u], vrcp_s[d4 + u]) << (8 * u);
              *reinterpret_cast<unsigned *>(a.vcodes + ((long long)bh * p.N + n) * D + d4) = packed;
            }
          } else {
#pragma unroll
            for (int u = 0; u < 4; u++) phi[u] = x[q][u];
          }
#pragma unroll
          for (int u = 0; u < 4; u++) zp[u] += phi[u];
        }
        if (PRODUCT && on) {
          *reinterpret_cast<float4 *>(phis + r * S + d4) = make_float4(phi[0], phi[1], phi[2], phi[3]);
          *reinterpret_cast<float4 *>(vs + r * S + d4) = make_float4(vv[q][0], vv[q][1], vv[q][2], vv[q][3]);
        }
      }
    }
    if (on) {
#pragma unroll
      for (int u = 0; u < 4; u++) {
        zred[warp * 128 + d4 + u] = zp[u];
        if (FUSED) kred[warp * 128 + d4 + u] = kp[u];
      }
    }
    if (FUSED) {
      amax = warp_max(amax);
      if (lane == 0) ared[warp] = amax;
    }
    __syncthreads();

    /* columns: z_j, KBAR_j, sigma_k */
    if (tid < D) {
      float z = 0.0f;
      for (int w = 0; w < KV_WARPS; w++) z += zred[w * 128 + tid];
      if (a.zblk) a.zblk[((long long)bh * p.Tn + j) * D + tid] = z;
      zsum += z;
      if (FUSED) {
        double s = 0.0;
        for (int w = 0; w < KV_WARPS; w++) s += kred[w * 128 + tid];
        a.kbar[((long long)bh * p.Tn + j) * D + tid] = (float)(s / (double)len);
      }
    }
    if (FUSED && a.kcodes && tid == 0) {
      float m = 0.0f;
      for (int w = 0; w < KV_WARPS; w++) m = fmaxf(m, ared[w]);
      s_sigma = m > 0.0f ? __fdiv_rn(m, (float)SLA2_INT8_MAX) : 1.0f;
      a.kscale[(long long)bh * p.Tn + j] = s_sigma;
    }

    if constexpr (PRODUCT) {
      /* product: h_j = phi^T V over the block's rows (zero rows pad it to a multiple of 8) */
      float acc[KV_MT][KV_NT][4];
#pragma unroll
      for (int mt = 0; mt < KV_MT; mt++)
#pragma unroll
        for (int nt = 0; nt < KV_NT; nt++)
#pragma unroll
          for (int i = 0; i < 4; i++) acc[mt][nt][i] = 0.0f;
      for (int r0 = 0; r0 < rows8; r0 += 8) {
        tf32_pair af[KV_MT][4];
#pragma unroll
        for (int mt = 0; mt < KV_MT; mt++) {
          const int d0 = min(16 * (wm + 4 * mt), p.Mp - 16); /* clamped: unused tiles read valid rows */
          af[mt][0] = tf32_split(phis[(r0 + t) * S + d0 + g]);
          af[mt][1] = tf32_split(phis[(r0 + t) * S + d0 + g + 8]);
          af[mt][2] = tf32_split(phis[(r0 + t + 4) * S + d0 + g]);
          af[mt][3] = tf32_split(phis[(r0 + t + 4) * S + d0 + g + 8]);
        }
#pragma unroll
        for (int nt = 0; nt < KV_NT; nt++) {
          const int e0 = 8 * (wn + 4 * nt);
          if (e0 >= D) continue;
          tf32_pair bf[2];
          bf[0] = tf32_split(vs[(r0 + t) * S + e0 + g]);
          bf[1] = tf32_split(vs[(r0 + t + 4) * S + e0 + g]);
#pragma unroll
          for (int mt = 0; mt < KV_MT; mt++)
            if (16 * (wm + 4 * mt) < p.Mp) mma_tf32x3(acc[mt][nt], af[mt], bf, p.v_exact);
        }
      }
      float *hb = a.hblk + ((long long)bh * p.Tn + j) * D * D;
#pragma unroll
      for (int mt = 0; mt < KV_MT; mt++)
#pragma unroll
        for (int nt = 0; nt < KV_NT; nt++) {
          const int d = 16 * (wm + 4 * mt) + g, e = 8 * (wn + 4 * nt) + 2 * t;
          if (e >= D) continue;
          if (d < D)
            *reinterpret_cast<float2 *>(hb + (long long)d * D + e) = make_float2(acc[mt][nt][0], acc[mt][nt][1]);
          if (d + 8 < D)
            *reinterpret_cast<float2 *>(hb + (long long)(d + 8) * D + e) = make_float2(acc[mt][nt][2], acc[mt][nt][3]);
#pragma unroll
          for (int i = 0; i < 4; i++) part[mt][nt][i] += acc[mt][nt][i];
        }
    }
    __syncthreads(); /* phis / vs / reductions are rewritten by the next block; s_sigma is final */

    /* INT8 codes of K~: from the block's rows kept in shared memory, or (PRODUCT, whose staging
     * leaves no room for them on every device) re-read from L1/L2 with the mean subtracted again */
    if (FUSED && a.kcodes && on) {
      const float sigma = s_sigma, rcp = 1.0f / sigma;
      if constexpr (PRODUCT) {
        for (int r_base = warp; r_base < len; r_base += BATCH * KV_WARPS) {
          float x[BATCH][4];
#pragma unroll
          for (int q = 0; q < BATCH; q++)
            if (r_base + q * KV_WARPS < len) t4_load4(a.src, b, h, begin + r_base + q * KV_WARPS, d4, p.src_vec, x[q]);
#pragma unroll
          for (int q = 0; q < BATCH; q++) {
            const int n = begin + r_base + q * KV_WARPS;
            if (r_base + q * KV_WARPS >= len) break;
#pragma unroll
            for (int u = 0; u < 4; u++) x[q][u] = (float)((double)x[q][u] - mean_s[d4 + u]);
            *reinterpret_cast<unsigned *>(a.kcodes + ((long long)bh * p.N + n) * D + d4) = int8_codes4(x[q], sigma, rcp);
          }
        }
      } else {
        for (int r = warp; r < len; r += KV_WARPS) {
          const float4 x = *reinterpret_cast<const float4 *>(ktil + r * D + d4);
          const float xs[4] = {x.x, x.y, x.z, x.w};
          *reinterpret_cast<unsigned *>(a.kcodes + ((long long)bh * p.N + begin + r) * D + d4) = int8_codes4(xs, sigma, rcp);
        }
      }
    }
    if (FUSED && !PRODUCT && a.kcodes) __syncthreads(); /* ktil is rewritten by the next block */
  }

  /* the group's totals */
  if constexpr (PRODUCT) {
    float *hp = p.hpart + ((long long)bh * p.groups + grp) * D * D;
#pragma unroll
    for (int mt = 0; mt < KV_MT; mt++)
#pragma unroll
      for (int nt = 0; nt < KV_NT; nt++) {
        const int d = 16 * (wm + 4 * mt) + g, e = 8 * (wn + 4 * nt) + 2 * t;
        if (e >= D) continue;
        if (d < D) *reinterpret_cast<float2 *>(hp + (long long)d * D + e) = make_float2(part[mt][nt][0], part[mt][nt][1]);
        if (d + 8 < D)
          *reinterpret_cast<float2 *>(hp + (long long)(d + 8) * D + e) = make_float2(part[mt][nt][2], part[mt][nt][3]);
      }
  }
  if (tid < D) p.zpart[((long long)bh * p.groups + grp) * D + tid] = zsum;
}

/* tot[bh, x] = sum over groups of part[bh, group, x] (double, fixed order). */
__global__ void kv_total_kernel(const float *part, int groups, long long per, float *tot) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x, bh = blockIdx.y;
  if (i >= per) return;
  double s = 0.0;
  for (int q = 0; q < groups; q++) s += (double)part[(bh * groups + q) * per + i];
  tot[bh * per + i] = (float)s;
}

extern "C" sla2_status cuda_sum_partials(const cuda_exec *x, const float *part, int groups, long long per, float *tot) {
  const unsigned BH = (unsigned)(x->g->B * x->g->H);
  kv_total_kernel<<<dim3(cdiv_u(per, 256), BH), 256, 0, x->dev->stream>>>(part, groups, per, tot);
  return cuda_check_launch("partial sums");
}

template <bool FUSED, bool PRODUCT>
static sla2_status kv_run(const kv_params &p, dim3 grid, size_t smem, cudaStream_t s) {
  sla2_status st = cuda_check(
      cudaFuncSetAttribute(kv_mma_kernel<FUSED, PRODUCT>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
      "kv_state smem");
  if (st != SLA2_OK) return st;
  kv_mma_kernel<FUSED, PRODUCT><<<grid, KV_THREADS, smem, s>>>(p);
  return cuda_check_launch("kv_state");
}

/* Key blocks per CTA: about four CTAs' worth of blocks per multiprocessor in all. */
static int kv_group(const cuda_exec *x) {
  const long long blocks = x->g->Tn * x->g->B * x->g->H, want = 4LL * (x->dev->sm_count > 0 ? x->dev->sm_count : 1);
  long long G = (blocks + want - 1) / want;
  if (G < 1) G = 1;
  if (G > x->g->Tn) G = x->g->Tn;
  return (int)G;
}

extern "C" size_t cuda_kv_scratch_bytes(const cuda_exec *x) {
  const sla2_graph *g = x->g;
  const long long groups = (g->Tn + kv_group(x) - 1) / kv_group(x);
  return (size_t)(g->B * g->H) * (size_t)groups * (size_t)(g->D * g->D + g->D) * sizeof(float);
}

extern "C" sla2_status cuda_kv_launch(const cuda_exec *x, const cuda_kv_args *a, void *scratch) {
  const sla2_graph *g = x->g;
  kv_params p;
  p.a = *a;
  p.H = (int)g->H, p.N = (int)g->N, p.D = (int)g->D, p.bk = (int)g->bk, p.Tn = (int)g->Tn;
  p.Mp = (p.D + 15) & ~15;
  p.stride = p.Mp + 8;
  p.G = kv_group(x);
  p.groups = (p.Tn + p.G - 1) / p.G;
  p.fmap = (int)g->feature_map;
  p.src_vec = cuda_t4_vec4(a->src);
  p.v_vec = cuda_t4_vec4(a->v);
  p.v_exact = a->v.dtype != SLA2_F32; /* f16 / bf16 values are exact in tf32 */
  const long long BH = g->B * g->H, DD = (long long)p.D * p.D;
  p.hpart = (float *)scratch;
  p.zpart = p.hpart + BH * p.groups * DD;
  const bool product = a->htot != NULL; /* else only z and the per-row outputs */
  const size_t smem = (product ? (size_t)2 * p.bk * p.stride * sizeof(float) : 0) +
                      KV_WARPS * 128 * (sizeof(float) + sizeof(double)) + KV_WARPS * sizeof(float) +
                      (a->fused && a->kcodes && !product ? (size_t)p.bk * p.D * sizeof(float) : 0);
  if (smem + 2048 > x->dev->smem_optin) /* + the static mean / sigma_v arrays */
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda kv_state: %zu bytes of shared memory needed", smem);
  cudaStream_t s = x->dev->stream;
  dim3 grid((unsigned)p.groups, (unsigned)BH);
  sla2_status st;
  if (!product) /* the fused forward's memory-light path: phi(K~) out, HTOT from its own pass */
    st = a->fused ? kv_run<true, false>(p, grid, smem, s)
                  : sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "cuda kv_state: node mode needs HTOT");
  else
    st = a->fused ? kv_run<true, true>(p, grid, smem, s) : kv_run<false, true>(p, grid, smem, s);
  if (st == SLA2_OK && product) st = cuda_sum_partials(x, p.hpart, p.groups, DD, a->htot);
  return st == SLA2_OK ? cuda_sum_partials(x, p.zpart, p.groups, p.D, a->ztot) : st;
}
