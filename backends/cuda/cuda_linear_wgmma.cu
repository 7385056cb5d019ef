/* CUDA backend: the linear branch with COMBINE of the fused forward on Hopper (sm_90a), in the
 * memory-light form of DESIGN §2.5, on the same warp-specialised TMA + wgmma pipeline as the
 * sparse kernel (cuda_attn_wgmma.cu) and over the same LUT row:
 *   num_r = phi(q_r) H_tot - sum_{j in LUT_i} (phi(q_r) phi(K~_j)^T) V_j
 *   den_r = phi(q_r) . Z_tot - sum_{j in LUT_i} rowsum(phi(q_r) phi(K~_j)^T)
 *   O     = a OS + (1 - a) num / den          (0 where den <= eps, as COMBINE in double)
 * so no per-block state h_j is written or gathered (the gather form, cuda_fused_linear.cu, reads
 * k D x D f32 states per query block from L2).
 *
 * Precision: every product runs in V's 16-bit type with f32 accumulation: phi(q) and phi(K~)
 * (softmax features, in (0, 1]) are rounded to it, T = phi(Q) phi(K~_j)^T accumulates in f32 and
 * is rounded for T V, H_tot (cuda_light_htot.cu, from the rounded phi(K~)) enters as hi + lo
 * halves of 2^s H_tot (s per head keeps f16 in range), so the total term keeps nearly f32
 * accuracy and only the selected blocks' share carries 16-bit products; den uses the same
 * rounded phi(q). The backend takes this form only while that share is at most half of the key
 * blocks (2 k <= Tn).
 *
 * Scratch in slots the fused forward does not expose (see cuda_internal.h): PHIK holds phi(K~)
 * (the K pass writes it), PHIQ phi(q) and OL phi(q) . Z_tot per row (the Q-block pass writes
 * them, cuda_fused_blocks.cu), HBLK the halves of 2^s H_tot^T and ZBLK 2^-s per head
 * (light_hsplit_kernel).
 *
 * Kernel: one CTA per (b, h, query block of 64 NC rows). Warpgroup 0 (one thread) loads phi(Q)
 * once, then ring entry 0 = the halves of H_tot^T (hi in the K slot, lo in the V slot), then for
 * each tile of 128 selected key positions phi(K~) and V, as many stages deep as shared memory holds
 * (wg_stages). Consumer warpgroups:
 * o = phi(Q) hi^T + phi(Q) lo^T scaled by 2^-s, then per tile T = phi(Q) phi(K~)^T (positions
 * past the row's keys zeroed), row sums of T, o += (-T) V, the next T issued before the
 * previous T V. */
#include <string.h>

#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

#ifdef SLA2_CUDA_SM90A
#include "backends/cuda/cuda_attn_wgmma.cuh"
#include "backends/cuda/cuda_tma.cuh"

struct lw_args {
  cuda_t4 o;
  const float *os, *alpha, *qz, *hinv;
  const int *lut;
  int H, N, D, rows, Tm, bk, nsel;
  bool per_block_alpha;
};

struct lw_maps {
  CUtensorMap phiq, phik, v, hsplit;
};

/* Shared memory map (offsets from a 1024-aligned base): phi(Q), then S stages of [K slot | V
 * slot], each slot NP = DP / 64 panels of 128 rows x 128 bytes, then the barriers. */
template <int NC, int DP>
struct lw_layout {
  static constexpr int NP = DP / 64;
  static constexpr int BM = 64 * NC;
  static constexpr int Q_BYTES = NP * BM * 128;
  static constexpr int SLOT = NP * WG_PANEL;
  static constexpr int STAGE = 2 * SLOT;
  static constexpr int H_BYTES = DP * DP * 2; /* one f16 half of H_tot^T */
  static constexpr int S = wg_stages(Q_BYTES + wg_ring<4>::BARS * 8 + 1024, STAGE);
  static constexpr int BAR = Q_BYTES + S * STAGE;
  static constexpr int BYTES = BAR + wg_ring<S>::BARS * 8 + 1024; /* alignment slack */
};

/* o (+)= A B with B K-major in shared memory: n = 128 or 64 by o's size. */
template <bool F16>
__device__ inline void ss16(float (&d)[64], uint64_t da, uint64_t db, int acc) { wgmma_ss_n128<F16>(d, da, db, acc); }
template <bool F16>
__device__ inline void ss16(float (&d)[32], uint64_t da, uint64_t db, int acc) { wgmma_ss_n64<F16>(d, da, db, acc); }

template <int NC, int DP, bool F16>
__global__ void __launch_bounds__((NC + 1) * 128, 1)
    linear_wgmma_kernel(const __grid_constant__ lw_maps maps, lw_args a) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  typedef lw_layout<NC, DP> L;
  extern __shared__ unsigned char smem_raw[];
  unsigned char *smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023); /* swizzle atoms: 1024-aligned */
  unsigned char *sq = smem;
  const wg_ring<L::S> ring{reinterpret_cast<uint64_t *>(smem + L::BAR)};

  const int i = blockIdx.x, bh = blockIdx.y, b = bh / a.H, h = bh % a.H;
  const int n0 = i * a.rows;
  const int *lut_row = a.lut + ((long long)bh * a.Tm + i) * a.nsel;
  /* selected key positions: only the last LUT entry can be the partial block Tn - 1 */
  const int total = (a.nsel - 1) * a.bk + min(a.N - lut_row[a.nsel - 1] * a.bk, a.bk);
  const int ntiles = (total + WG_BN - 1) / WG_BN;

  ring.init(NC * 128);

  if (threadIdx.x < 128) { /* producer warpgroup */
    regs_dec<24>();
    if (threadIdx.x != 0) return;
    tma_prefetch_map(&maps.phik), tma_prefetch_map(&maps.v);
    mbar_arrive_expect_tx(ring.q_full(), L::Q_BYTES);
    for (int p = 0; p < L::NP; p++)
      for (int c = 0; c < NC; c++)
        tma_load4(sq + p * L::BM * 128 + c * 64 * 128, &maps.phiq, ring.q_full(), p * 64, n0 + c * 64, h, b);
    unsigned char *s0 = smem + L::Q_BYTES; /* ring entry 0: hi and lo of 2^s H_tot^T */
    mbar_arrive_expect_tx(ring.k_full(0), L::H_BYTES);
    for (int p = 0; p < L::NP; p++) tma_load4(s0 + p * WG_PANEL, &maps.hsplit, ring.k_full(0), p * 64, 0, h, b);
    mbar_arrive_expect_tx(ring.v_full(0), L::H_BYTES);
    for (int p = 0; p < L::NP; p++)
      tma_load4(s0 + L::SLOT + p * WG_PANEL, &maps.hsplit, ring.v_full(0), p * 64, DP, h, b);
    for (int j = 0; j < ntiles; j++) {
      const int u = j + 1;
      unsigned char *sk = smem + L::Q_BYTES + ring.stage(u) * L::STAGE;
      ring.wait_k_free(u);
      mbar_arrive_expect_tx(ring.k_full(u), L::SLOT);
      /* boxes of bk rows; past the row's last block that block again (masked by the consumers) */
      for (int r = 0; r < WG_BN; r += a.bk) {
        const int row = lut_row[min((j * WG_BN + r) / a.bk, a.nsel - 1)] * a.bk;
        for (int p = 0; p < L::NP; p++)
          tma_load4(sk + p * WG_PANEL + r * 128, &maps.phik, ring.k_full(u), p * 64, row, h, b);
      }
      ring.wait_v_free(u);
      mbar_arrive_expect_tx(ring.v_full(u), L::SLOT);
      for (int r = 0; r < WG_BN; r += a.bk) {
        const int row = lut_row[min((j * WG_BN + r) / a.bk, a.nsel - 1)] * a.bk;
        for (int p = 0; p < L::NP; p++)
          tma_load4(sk + L::SLOT + p * WG_PANEL + r * 128, &maps.v, ring.v_full(u), p * 64, row, h, b);
      }
    }
    return;
  }

  /* consumer warpgroups: 64 query rows each */
  regs_inc<240>();
  const int cw = threadIdx.x / 128 - 1, tid = threadIdx.x % 128;
  const int warp = tid / 32, lane = tid % 32, g = lane >> 2, q4 = lane & 3;
  float sacc[64], o[DP / 2], rs[2] = {0.0f, 0.0f};
  uint32_t pa[8][4];
  auto qdesc = [&](int kk) { return wg_desc(sq + (kk / 4) * L::BM * 128 + cw * 64 * 128 + (kk % 4) * 32, 16, 128); };
  auto kdesc = [&](const unsigned char *t, int kk) { return wg_desc(t + (kk / 4) * WG_PANEL + (kk % 4) * 32, 16, 128); };

  /* T of ring entry u, asynchronous */
  auto issue_t = [&](int u) {
    const unsigned char *sk = smem + L::Q_BYTES + ring.stage(u) * L::STAGE;
    wg_fence_regs(sacc);
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < DP / 16; kk++) wgmma_ss_n128<F16>(sacc, qdesc(kk), kdesc(sk, kk), kk > 0);
    wg_commit();
  };
  /* o += (-T) V of ring entry u (V MN-major), asynchronous */
  auto issue_tv = [&](int u) { wg_issue_pv_tile<F16>(o, pa, smem + L::Q_BYTES + ring.stage(u) * L::STAGE + L::SLOT); };
  /* T of tile j complete: positions past the row's keys to 0, row sums */
  auto take_t = [&](int j) {
    const int base = j * WG_BN;
    if (base + WG_BN > total) {
#pragma unroll
      for (int e = 0; e < 64; e++)
        if (base + (e / 4) * 8 + 2 * q4 + (e & 1) >= total) sacc[e] = 0.0f;
    }
#pragma unroll
    for (int e = 0; e < 64; e++) rs[(e >> 1) & 1] += sacc[e];
  };
  /* -T as the A fragments of the T V product, in V's type */
  auto pack_neg_t = [&]() {
#pragma unroll
    for (int kk = 0; kk < 8; kk++)
#pragma unroll
      for (int w = 0; w < 4; w++) pa[kk][w] = pack_pair16<F16>(-sacc[8 * kk + 2 * w], -sacc[8 * kk + 2 * w + 1]);
  };

  /* entry 0: o = 2^-s (phi(Q) hi^T + phi(Q) lo^T), with the first tile's T issued behind it */
  mbar_wait(ring.q_full(), 0);
  ring.wait_k(0);
  ring.wait_v(0);
  wg_fence_regs(o);
  wg_fence();
#pragma unroll
  for (int kk = 0; kk < DP / 16; kk++) {
    ss16<F16>(o, qdesc(kk), kdesc(smem + L::Q_BYTES, kk), kk > 0);
    ss16<F16>(o, qdesc(kk), kdesc(smem + L::Q_BYTES + L::SLOT, kk), 1);
  }
  wg_commit();
  ring.wait_k(1);
  issue_t(1);
  wg_wait<0>();
  wg_fence_regs(o);
  wg_fence_regs(sacc);
  ring.release_k(0), ring.release_v(0);
  const float hinv = a.hinv[bh];
#pragma unroll
  for (int e = 0; e < DP / 2; e++) o[e] *= hinv;
  take_t(0);
  ring.release_k(1);
  pack_neg_t();
  for (int j = 1; j < ntiles; j++) {
    const int u = j + 1;
    ring.wait_k(u);
    issue_t(u);
    ring.wait_v(u - 1);
    issue_tv(u - 1);
    wg_wait<1>();
    wg_fence_regs(sacc);
    take_t(j);
    ring.release_k(u);
    wg_wait<0>();
    wg_fence_regs(o);
#pragma unroll
    for (int kk = 0; kk < 8; kk++) wg_fence_regs(pa[kk]); /* -T stays live until its product completed */
    ring.release_v(u - 1);
    pack_neg_t();
  }
  ring.wait_v(ntiles);
  issue_tv(ntiles);
  wg_wait<0>();
  wg_fence_regs(o);
  ring.release_v(ntiles);

  /* epilogue: O_l = num / den, O = a OS + (1 - a) O_l */
#pragma unroll
  for (int r = 0; r < 2; r++) {
    rs[r] += __shfl_xor_sync(0xffffffffu, rs[r], 1);
    rs[r] += __shfl_xor_sync(0xffffffffu, rs[r], 2);
  }
  const int nend = min(a.N, n0 + a.rows);
  const int na = n0 + cw * 64 + warp * 16 + g, nb = na + 8;
  const float den0 = na < nend ? a.qz[(long long)bh * a.N + na] - rs[0] : 0.0f;
  const float den1 = nb < nend ? a.qz[(long long)bh * a.N + nb] - rs[1] : 0.0f;
  const double logit = a.per_block_alpha ? a.alpha[h * a.Tm + i] : a.alpha[h];
  const double alpha = 1.0 / (1.0 + exp(-logit));
  /* every OS pair is loaded before the first store: stores to O could alias them otherwise, and
   * each load would wait for the one before */
  float2 os[DP / 4];
#pragma unroll
  for (int e = 0; e < DP / 2; e += 2) {
    const int n = (e & 2) ? nb : na;
    os[e / 2] = n < nend ? *reinterpret_cast<const float2 *>(a.os + ((long long)bh * a.N + n) * a.D + (e / 4) * 8 + 2 * q4)
                         : make_float2(0.0f, 0.0f);
  }
#pragma unroll
  for (int e = 0; e < DP / 2; e++) {
    const int c = (e / 4) * 8 + 2 * q4 + (e & 1), n = (e & 2) ? nb : na;
    if (n >= nend) continue;
    const float den = (e & 2) ? den1 : den0;
    const float ol = den <= SLA2_LINEAR_DEN_EPS ? 0.0f : o[e] / den;
    const double osv = (e & 1) ? os[e / 2].y : os[e / 2].x;
    t4_store(a.o, b, h, n, c, (float)(alpha * osv + (1.0 - alpha) * (double)ol));
  }
#elif defined(__CUDA_ARCH__)
  __trap(); /* only the sm_90a build has this kernel: a launch of any other fails loudly */
#endif
}

/* Per head: 2^s H_tot^T as hi + lo halves in the 16-bit type ([bh][2][D][D], row e holds column e
 * of H_tot) with s such that max |2^s H_tot| < 2^14 (f16's range), and 2^-s. */
__global__ void __launch_bounds__(256) light_hsplit_kernel(const float *htot, int D, bool bf16, uint16_t *out,
                                                           float *hinv) {
  __shared__ float red[8];
  const int bh = blockIdx.x, tid = threadIdx.x, DD = D * D;
  const float *src = htot + (long long)bh * DD;
  float m = 0.0f;
  for (int x = tid; x < DD; x += 256) m = fmaxf(m, fabsf(src[x]));
  m = warp_max(m);
  if (tid % 32 == 0) red[tid / 32] = m;
  __syncthreads();
  m = 0.0f;
  for (int w = 0; w < 8; w++) m = fmaxf(m, red[w]);
  int ex = 0;
  frexpf(m, &ex); /* m < 2^ex */
  const int s = m > 0.0f ? max(-100, min(100, 14 - ex)) : 0;
  const float scale = ldexpf(1.0f, s);
  uint16_t *hi = out + (long long)bh * 2 * DD, *lo = hi + DD;
  for (int x = tid; x < DD; x += 256) {
    const int e = x / D, d = x % D;
    const float v = src[d * D + e] * scale;
    if (bf16) {
      const __nv_bfloat16 vh = __float2bfloat16_rn(v);
      hi[x] = __bfloat16_as_ushort(vh), lo[x] = __bfloat16_as_ushort(__float2bfloat16_rn(v - __bfloat162float(vh)));
    } else {
      const __half vh = __float2half_rn(v);
      hi[x] = __half_as_ushort(vh), lo[x] = __half_as_ushort(__float2half_rn(v - __half2float(vh)));
    }
  }
  if (tid == 0) hinv[bh] = ldexpf(1.0f, -s);
}

template <int NC, int DP, bool F16>
static sla2_status light_launch(const lw_maps &maps, const lw_args &a, cuda_device_ctx *dev, long long BH) {
  constexpr int bytes = lw_layout<NC, DP>::BYTES;
  sla2_status st = cuda_check(
      cudaFuncSetAttribute(linear_wgmma_kernel<NC, DP, F16>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
      "linear (wgmma) shared memory");
  if (st != SLA2_OK) return st;
  linear_wgmma_kernel<NC, DP, F16><<<dim3((unsigned)a.Tm, (unsigned)BH), (NC + 1) * 128, bytes, dev->stream>>>(maps, a);
  return cuda_check_launch("linear (wgmma)");
}

template <int NC, int DP>
static sla2_status light_launch_v(const lw_maps &maps, const lw_args &a, cuda_device_ctx *dev, long long BH, bool f16) {
  return f16 ? light_launch<NC, DP, true>(maps, a, dev, BH) : light_launch<NC, DP, false>(maps, a, dev, BH);
}

extern "C" bool cuda_linear_light_applies(const cuda_exec *x) {
  const sla2_graph *g = x->g;
  const cuda_t4 v = cuda_t4_of(x, SLA2_SLOT_V);
  if (x->dev->cc_major != 9 || x->dev->cc_minor != 0) return false;
  if (g->feature_map != SLA2_FEATURE_SOFTMAX || (g->D != 64 && g->D != 128) || (g->bq != 64 && g->bq != 128)) return false;
  if (g->bk > WG_BN || WG_BN % g->bk != 0 || 2 * g->k > g->Tn) return false;
  if ((v.dtype != SLA2_F16 && v.dtype != SLA2_BF16) || !cuda_tma_ok(v, v.dtype)) return false;
  const int bytes = g->D == 128 ? (g->bq == 128 ? lw_layout<2, 128>::BYTES : lw_layout<1, 128>::BYTES)
                                : (g->bq == 128 ? lw_layout<2, 64>::BYTES : lw_layout<1, 64>::BYTES);
  return (size_t)bytes <= x->dev->smem_optin;
}

extern "C" sla2_status cuda_linear_light_prepare(const cuda_exec *x, void *scratch) {
  const sla2_graph *g = x->g;
  const long long BH = g->B * g->H;
  const bool bf16 = cuda_t4_of(x, SLA2_SLOT_V).dtype == SLA2_BF16;
  float *htot = (float *)x->buf[SLA2_SLOT_HTOT];
  sla2_status st = cuda_light_htot_launch(x, x->buf[SLA2_SLOT_PHIK], scratch, htot);
  if (st != SLA2_OK) return st;
  cudaStream_t s = x->dev->stream;
  light_hsplit_kernel<<<(unsigned)BH, 256, 0, s>>>(htot, (int)g->D, bf16, (uint16_t *)x->buf[SLA2_SLOT_HBLK],
                                                   (float *)x->buf[SLA2_SLOT_ZBLK]);
  return cuda_check_launch("linear (wgmma) preparation");
}

extern "C" sla2_status cuda_linear_light_launch(const cuda_exec *x) {
  const sla2_graph *g = x->g;
  const long long BH = g->B * g->H;
  const int H = (int)g->H, N = (int)g->N, D = (int)g->D;
  lw_args a;
  memset(&a, 0, sizeof a);
  a.o = cuda_t4_of(x, SLA2_SLOT_O);
  a.os = (const float *)x->buf[SLA2_SLOT_OS];
  a.alpha = (const float *)x->buf[SLA2_SLOT_ALPHA];
  a.qz = (const float *)x->buf[SLA2_SLOT_OL];
  a.hinv = (const float *)x->buf[SLA2_SLOT_ZBLK];
  a.lut = (const int *)x->buf[SLA2_SLOT_LUT];
  a.H = H, a.N = N, a.D = D, a.rows = (int)g->bq, a.Tm = (int)g->Tm, a.bk = (int)g->bk, a.nsel = (int)g->k;
  a.per_block_alpha = g->alpha_per_block;
  const long long B = g->B;
  lw_maps maps;
  memset(&maps, 0, sizeof maps);
  const cuda_t4 v = cuda_t4_of(x, SLA2_SLOT_V);
  const cuda_t4 phiq = cuda_t4_contiguous(x->buf[SLA2_SLOT_PHIQ], v.dtype, H, N, D);
  const cuda_t4 phik = cuda_t4_contiguous(x->buf[SLA2_SLOT_PHIK], v.dtype, H, N, D);
  const cuda_t4 hsplit = cuda_t4_contiguous(x->buf[SLA2_SLOT_HBLK], v.dtype, H, 2 * D, D); /* hi rows, lo rows */
  sla2_status st = cuda_tma_map16(&maps.phiq, phiq, B, H, N, D, 64);
  if (st == SLA2_OK) st = cuda_tma_map16(&maps.phik, phik, B, H, N, D, a.bk);
  if (st == SLA2_OK) st = cuda_tma_map16(&maps.v, v, B, H, N, D, a.bk);
  if (st == SLA2_OK) st = cuda_tma_map16(&maps.hsplit, hsplit, B, H, 2 * D, D, D);
  if (st != SLA2_OK) return st;
  const bool f16 = v.dtype == SLA2_F16;
  if (D == 128)
    return g->bq == 128 ? light_launch_v<2, 128>(maps, a, x->dev, BH, f16) : light_launch_v<1, 128>(maps, a, x->dev, BH, f16);
  return g->bq == 128 ? light_launch_v<2, 64>(maps, a, x->dev, BH, f16) : light_launch_v<1, 64>(maps, a, x->dev, BH, f16);
}

#else /* built without sm_90a: the gather form serves every device */

extern "C" bool cuda_linear_light_applies(const cuda_exec *) { return false; }
extern "C" sla2_status cuda_linear_light_prepare(const cuda_exec *, void *) {
  return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: built without sm_90a (wgmma)");
}
extern "C" sla2_status cuda_linear_light_launch(const cuda_exec *) {
  return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: built without sm_90a (wgmma)");
}

#endif
