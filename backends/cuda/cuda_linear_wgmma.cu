/* CUDA backend: the linear branch with COMBINE of the fused forward on Hopper (sm_90a), on the
 * same warp-specialised TMA + wgmma pipeline as the sparse kernel (cuda_attn_wgmma.cu) and over
 * the same LUT row, with the complement's state formed in the CTA (DESIGN §2.5):
 *   G     = sum_{j in LUT_i} phi(K~_j)^T V_j,  z = sum_{j in LUT_i} phi(K~_j)^T 1
 *   H_i   = H_tot - G                           (f32)
 *   num_r = phi(q_r) H_i,  den_r = phi(q_r) . (Z_tot - z)
 *   O     = a OS + (1 - a) num / den          (0 where den <= eps, as COMBINE in double)
 * so no per-block state h_j is written or gathered (the gather form, cuda_fused_linear.cu, reads
 * k D x D f32 states per query block from L2), and the selected keys cost one D x D x 128 product
 * per tile instead of the two of phi(Q) phi(K~)^T and its product with V.
 *
 * Precision: phi(q) and phi(K~) (softmax features, in (0, 1]) are in V's 16-bit type; G and z
 * sum exact products in f32, as H_tot did (cuda_light_htot.cu, from the same rounded phi(K~)), so
 * H_tot - G keeps f32 accuracy; it enters the last product as hi + lo halves of 2^s H_i (s per CTA
 * keeps f16 in range), and den uses the same rounded phi(q). The backend takes this form only
 * while the selected blocks are at most half of the key blocks (2 k <= Tn).
 *
 * Scratch in slots the fused forward does not expose (see cuda_internal.h): PHIK holds phi(K~)
 * (the K pass writes it), PHIQ phi(q) (the Q-block pass, cuda_fused_blocks.cu); HTOT and ZTOT
 * hold H_tot (f32, [bh][channel][dim]) and Z_tot.
 *
 * Kernel: persistent CTAs, one per SM, each walking work items (b, h, query block of 64 NC rows)
 * as the sparse kernel does. Warpgroup 0 (one thread) loads, per item, for each tile of 128
 * selected key positions phi(K~) and V, as many stages deep as shared memory holds (wg_stages),
 * then phi(Q) once the previous item's is no longer read, then hands over one more ring stage
 * for H_i. Consumer warpgroup c sums G and z for the 64-channel panels p = c, c + NC, ... (both
 * operands MN-major; z against a tile of ones), first zeroing in the last tile its panels' rows
 * past the row's blocks (rows past N arrive as TMA's zeros), then every consumer writes its rows
 * of H_i's halves into that stage, and each multiplies its 64 query rows by them. */
#include <string.h>

#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

#ifdef SLA2_CUDA_SM90A
#include "backends/cuda/cuda_attn_wgmma.cuh"
#include "backends/cuda/cuda_tma.cuh"

struct lw_args {
  cuda_t4 o;
  const float *os, *alpha, *ztot, *htot;
  const int *lut;
  int H, N, D, rows, Tm, bk, nsel;
  bool per_block_alpha;
};

struct lw_maps {
  CUtensorMap phiq, phik, v;
};

/* Shared memory map (offsets from a 1024-aligned base): phi(Q), then S stages of [K slot | V
 * slot], each slot NP = DP / 64 panels of 128 rows x 128 bytes (an item's last ring entry holds
 * H_i^T's hi and lo halves there, rows = dims, in the same panels), one swizzle atom of 16-bit
 * ones, Z_i per channel and the largest |H_i| per consumer warp, then the barriers. */
template <int NC, int DP>
struct lw_layout {
  static constexpr int NP = DP / 64;
  static constexpr int BM = 64 * NC;
  static constexpr int Q_BYTES = NP * BM * 128;
  static constexpr int SLOT = NP * WG_PANEL;
  static constexpr int STAGE = 2 * SLOT;
  static constexpr int ONES = 1024;
  static constexpr int SUMS = (DP + 4 * NC) * 4;
  static constexpr int S = wg_stages(Q_BYTES + ONES + SUMS + wg_ring<4>::BARS * 8 + 1024, STAGE);
  static constexpr int ONES_AT = Q_BYTES + S * STAGE;
  static constexpr int SUMS_AT = ONES_AT + ONES;
  static constexpr int BAR = SUMS_AT + SUMS;
  static constexpr int BYTES = BAR + wg_ring<S>::BARS * 8 + 1024; /* alignment slack */
};

/* o (+)= A B with B K-major in shared memory: n = 128 or 64 by o's size. */
template <bool F16>
__device__ inline void ss16(float (&d)[64], uint64_t da, uint64_t db, int acc) { wgmma_ss_n128<F16>(d, da, db, acc); }
template <bool F16>
__device__ inline void ss16(float (&d)[32], uint64_t da, uint64_t db, int acc) { wgmma_ss_n64<F16>(d, da, db, acc); }

/* A 16-bit pair (the first in the low half) as two floats. */
template <bool F16>
__device__ inline float2 unpack_pair16(uint32_t w) {
  if (F16) return __half22float2(*reinterpret_cast<const __half2 *>(&w));
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(&w));
}

/* Byte offset of element (row r, column c) in a tile of 64-column panels `panel` bytes apart,
 * 128-byte rows, 128-byte swizzle (as the copy engine writes it). */
__device__ inline int sw128_offset(int r, int c, int panel) {
  return (c / 64) * panel + r * 128 + ((((c & 63) >> 3) ^ (r & 7)) << 4) + (c & 7) * 2;
}

template <int NC, int DP, bool F16>
__global__ void __launch_bounds__((NC + 1) * 128, 1)
    linear_wgmma_kernel(const __grid_constant__ lw_maps maps, lw_args a, int items) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  typedef lw_layout<NC, DP> L;
  constexpr int OWN = (L::NP + NC - 1) / NC; /* G panels per consumer warpgroup, at most */
  static_assert(OWN == 1 || NC == 1, "warpgroup cw owns panels cw + t NC, t < OWN: all of them or none");
  extern __shared__ unsigned char smem_raw[];
  unsigned char *smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023); /* swizzle atoms: 1024-aligned */
  unsigned char *sq = smem;
  uint32_t *ones = reinterpret_cast<uint32_t *>(smem + L::ONES_AT);
  float *zsel = reinterpret_cast<float *>(smem + L::SUMS_AT), *hmax = zsel + DP;
  const wg_ring<L::S> ring{reinterpret_cast<uint64_t *>(smem + L::BAR)};

  /* Work item `work` (query block i of head bh), in the order the CTAs take them; its ring entries
   * are base + j (tile j) and base + ntiles (the stage its H_i halves are written to). */
#define LW_ITEM                                                                                  \
  const int i = work % a.Tm, bh = work / a.Tm, b = bh / a.H, h = bh % a.H;                      \
  const int n0 = i * a.rows;                                                                    \
  const int *lut_row = a.lut + ((long long)bh * a.Tm + i) * a.nsel;                             \
  const int total = lut_row_keys(lut_row, a.nsel, a.bk, a.N);                                  \
  const int ntiles = (total + WG_BN - 1) / WG_BN

  for (int x = threadIdx.x; x < L::ONES / 4; x += blockDim.x) ones[x] = F16 ? 0x3C003C00u : 0x3F803F80u;
  fence_proxy_async(); /* the z products read the ones through the async proxy */
  ring.init(NC * 128);

  if (threadIdx.x < 128) { /* producer warpgroup */
    regs_dec<24>();
    if (threadIdx.x != 0) return;
    tma_prefetch_map(&maps.phik), tma_prefetch_map(&maps.v);
    int base = 0; /* ring entries of earlier items */
    for (int work = blockIdx.x, item = 0; work < items; work += gridDim.x, item++) {
      LW_ITEM;
      for (int j = 0; j < ntiles; j++) {
        const int u = base + j;
        unsigned char *sk = smem + L::Q_BYTES + ring.stage(u) * L::STAGE;
        ring.wait_k_free(u);
        mbar_arrive_expect_tx(ring.k_full(u), L::SLOT);
        /* boxes of bk rows; past the row's last block that block again (zeroed by the consumers) */
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
      /* phi(Q) once the consumers' last product with the previous item's is done (its tiles
       * load meanwhile), then the stage for H_i: handed over empty, no copy */
      if (item > 0) mbar_wait(ring.q_empty(), (item - 1) & 1);
      mbar_arrive_expect_tx(ring.q_full(), L::Q_BYTES);
      for (int p = 0; p < L::NP; p++)
        for (int c = 0; c < NC; c++)
          tma_load4(sq + p * L::BM * 128 + c * 64 * 128, &maps.phiq, ring.q_full(), p * 64, n0 + c * 64, h, b);
      const int eh = base + ntiles;
      ring.wait_k_free(eh);
      mbar_arrive(ring.k_full(eh));
      ring.wait_v_free(eh);
      mbar_arrive(ring.v_full(eh));
      base = eh + 1;
    }
    return;
  }

  /* consumer warpgroups */
  regs_inc<240>();
  const int cw = threadIdx.x / 128 - 1, tid = threadIdx.x % 128;
  const int warp = tid / 32, lane = tid % 32, g = lane >> 2, q4 = lane & 3;
  /* owns G panels p = cw + t NC, t < OWN (known at compile time but for D 64, NC 2, where the
   * second warpgroup owns none); a test per panel inside the products would serialise them */
  const bool owner = NC <= L::NP || cw < L::NP;
  /* phi(K~)^T's channels 64 p .. 64 p + 63 for keys 16 kk .. 16 kk + 15 (MN-major) */
  auto kt_desc = [&](const unsigned char *sk, int p, int kk) { return wg_desc(sk + p * WG_PANEL + kk * 2048, WG_PANEL, 128); };
  auto qdesc = [&](int kk) { return wg_desc(sq + (kk / 4) * L::BM * 128 + cw * 64 * 128 + (kk % 4) * 32, 16, 128); };
  auto hdesc = [&](const unsigned char *t, int kk) { return wg_desc(t + (kk / 4) * WG_PANEL + (kk % 4) * 32, 16, 128); };
  const uint64_t ones_desc = wg_desc(ones, 16, 128);
  int base = 0; /* ring entries of earlier items */
  for (int work = blockIdx.x, item = 0; work < items; work += gridDim.x, item++) {
    LW_ITEM;
    float gs[OWN][DP / 2], zs[OWN][4];
#pragma unroll
    for (int t = 0; t < OWN; t++) {
#pragma unroll
      for (int e = 0; e < DP / 2; e++) gs[t][e] = 0.0f;
#pragma unroll
      for (int e = 0; e < 4; e++) zs[t][e] = 0.0f;
    }

    /* G and z over the tiles; the product of tile j runs while tile j - 1's stage is released */
    for (int j = 0; j < ntiles; j++) {
      const int u = base + j;
      unsigned char *sk = smem + L::Q_BYTES + ring.stage(u) * L::STAGE;
      ring.wait_k(u);
      ring.wait_v(u);
      const int valid = min(WG_BN, a.nsel * a.bk - j * WG_BN); /* rows from the row's blocks */
      if (valid < WG_BN) { /* the rest repeat the last block: each owner zeroes them in its panels */
#pragma unroll
        for (int t = 0; t < OWN && owner; t++) {
          uint4 *rest = reinterpret_cast<uint4 *>(sk + (cw + t * NC) * WG_PANEL + valid * 128);
          for (int x = tid; x < (WG_BN - valid) * 8; x += 128) rest[x] = make_uint4(0u, 0u, 0u, 0u);
        }
        fence_proxy_async(); /* the products read them through the async proxy */
        named_barrier(1, NC * 128);
      }
      if (owner) {
#pragma unroll
        for (int t = 0; t < OWN; t++) wg_fence_regs(gs[t]), wg_fence_regs(zs[t]);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < WG_BN / 16; kk++)
#pragma unroll
          for (int t = 0; t < OWN; t++) {
            const int p = cw + t * NC;
            wgmma_tt<F16>(gs[t], kt_desc(sk, p, kk), wg_desc(sk + L::SLOT + kk * 2048, WG_PANEL, 128), 1);
            wgmma_tk_n8<F16>(zs[t], kt_desc(sk, p, kk), ones_desc, 1);
          }
        wg_commit();
        wg_wait<1>();
#pragma unroll
        for (int t = 0; t < OWN; t++) wg_fence_regs(gs[t]), wg_fence_regs(zs[t]);
      }
      if (j > 0) ring.release_k(u - 1), ring.release_v(u - 1);
    }
    wg_wait<0>();
#pragma unroll
    for (int t = 0; t < OWN; t++) wg_fence_regs(gs[t]), wg_fence_regs(zs[t]);
    ring.release_k(base + ntiles - 1), ring.release_v(base + ntiles - 1);

    /* H_i = H_tot - G in f32; Z_i and the largest |H_i| of each warp to shared memory */
    const float *ht = a.htot + (long long)bh * DP * DP;
    float hm = 0.0f;
#pragma unroll
    for (int t = 0; t < OWN; t++) {
      const int p = cw + t * NC;
      if (!owner) break;
      const int d0 = 64 * p + 16 * warp + g;
#pragma unroll
      for (int e = 0; e < DP / 2; e += 2) {
        const int d = d0 + ((e & 2) ? 8 : 0), col = (e / 4) * 8 + 2 * q4;
        const float2 tv = *reinterpret_cast<const float2 *>(ht + d * DP + col);
        gs[t][e] = tv.x - gs[t][e], gs[t][e + 1] = tv.y - gs[t][e + 1];
        hm = fmaxf(hm, fmaxf(fabsf(gs[t][e]), fabsf(gs[t][e + 1])));
      }
      if (q4 == 0) { /* Z_i = Z_tot - z, per channel */
      const float *zt = a.ztot + (long long)bh * DP;
      zsel[d0] = zt[d0] - zs[t][0], zsel[d0 + 8] = zt[d0 + 8] - zs[t][2];
    }
    }
    hm = warp_max(hm);
    if (lane == 0) hmax[cw * 4 + warp] = hm;
    named_barrier(1, NC * 128);

    /* 2^s H_i^T as hi + lo halves in V's type, max |2^s H_i| < 2^14 (f16's range), in the stage
     * of ring entry base + ntiles */
    float m = 0.0f;
#pragma unroll
    for (int w = 0; w < 4 * NC; w++) m = fmaxf(m, hmax[w]);
    int ex = 0;
    frexpf(m, &ex); /* m < 2^ex */
    const int s = m > 0.0f ? max(-100, min(100, 14 - ex)) : 0;
    const float scale = ldexpf(1.0f, s);
    const int eh = base + ntiles;
    unsigned char *hs = smem + L::Q_BYTES + ring.stage(eh) * L::STAGE; /* hi in the K slot, lo in the V slot */
    ring.wait_k(eh);
    ring.wait_v(eh);
#pragma unroll
    for (int t = 0; t < OWN; t++) {
      const int p = cw + t * NC;
      if (!owner) break;
#pragma unroll
      for (int e = 0; e < DP / 2; e++) {
        const int d = 64 * p + 16 * warp + g + ((e & 2) ? 8 : 0), col = (e / 4) * 8 + 2 * q4 + (e & 1);
        const float v = gs[t][e] * scale;
        uint16_t hi, lo;
        if (F16) {
          const __half vh = __float2half_rn(v);
          hi = __half_as_ushort(vh), lo = __half_as_ushort(__float2half_rn(v - __half2float(vh)));
        } else {
          const __nv_bfloat16 vh = __float2bfloat16_rn(v);
          hi = __bfloat16_as_ushort(vh), lo = __bfloat16_as_ushort(__float2bfloat16_rn(v - __bfloat162float(vh)));
        }
        const int off = sw128_offset(col, d, WG_PANEL);
        *reinterpret_cast<uint16_t *>(hs + off) = hi;
        *reinterpret_cast<uint16_t *>(hs + L::SLOT + off) = lo;
      }
    }
    fence_proxy_async(); /* the halves are read by wgmma */
    named_barrier(1, NC * 128);

    /* o = 2^-s phi(Q) (hi + lo); den = phi(q) . Z_i per row while it runs */
    mbar_wait(ring.q_full(), item & 1);
    float o[DP / 2];
    wg_fence_regs(o);
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < DP / 16; kk++) {
      ss16<F16>(o, qdesc(kk), hdesc(hs, kk), kk > 0);
      ss16<F16>(o, qdesc(kk), hdesc(hs + L::SLOT, kk), 1);
    }
    wg_commit();
    float den[2] = {0.0f, 0.0f};
#pragma unroll
    for (int r2 = 0; r2 < 2; r2++) {
      const int r = cw * 64 + warp * 16 + g + 8 * r2;
#pragma unroll
      for (int c = q4 * (DP / 4); c < (q4 + 1) * (DP / 4); c += 8) {
        const uint4 w = *reinterpret_cast<const uint4 *>(sq + sw128_offset(r, c, L::BM * 128));
        const uint32_t wv[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int k = 0; k < 4; k++) {
          const float2 f = unpack_pair16<F16>(wv[k]);
          den[r2] += f.x * zsel[c + 2 * k] + f.y * zsel[c + 2 * k + 1];
        }
      }
      den[r2] += __shfl_xor_sync(0xffffffffu, den[r2], 1);
      den[r2] += __shfl_xor_sync(0xffffffffu, den[r2], 2);
    }
    wg_wait<0>();
    wg_fence_regs(o);
    ring.release_k(eh), ring.release_v(eh);
    mbar_arrive(ring.q_empty()); /* every read of this item's phi(Q) is done */
    const float hinv = ldexpf(1.0f, -s);
#pragma unroll
    for (int e = 0; e < DP / 2; e++) o[e] *= hinv;

    /* epilogue: O_l = num / den, O = a OS + (1 - a) O_l */
    const int nend = min(a.N, n0 + a.rows);
    const int na = n0 + cw * 64 + warp * 16 + g, nb = na + 8;
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
      const float d = den[(e >> 1) & 1];
      const float ol = d <= SLA2_LINEAR_DEN_EPS ? 0.0f : o[e] / d;
      const double osv = (e & 1) ? os[e / 2].y : os[e / 2].x;
      t4_store(a.o, b, h, n, c, (float)(alpha * osv + (1.0 - alpha) * (double)ol));
    }
    named_barrier(1, NC * 128); /* zsel is read: the next item may write it */
    base = eh + 1;
  }
#undef LW_ITEM
#elif defined(__CUDA_ARCH__)
  __trap(); /* only the sm_90a build has this kernel: a launch of any other fails loudly */
#endif
}

template <int NC, int DP, bool F16>
static sla2_status light_launch(const lw_maps &maps, const lw_args &a, cuda_device_ctx *dev, long long BH) {
  constexpr int bytes = lw_layout<NC, DP>::BYTES;
  sla2_status st = cuda_check(
      cudaFuncSetAttribute(linear_wgmma_kernel<NC, DP, F16>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
      "linear (wgmma) shared memory");
  if (st != SLA2_OK) return st;
  /* persistent CTAs, as the sparse kernel (cuda_attn_wgmma.cu) */
  const long long items = (long long)a.Tm * BH;
  unsigned ctas = 0;
  if ((st = cuda_persistent_ctas(items, dev, &ctas)) != SLA2_OK) return st;
  linear_wgmma_kernel<NC, DP, F16><<<ctas, (NC + 1) * 128, bytes, dev->stream>>>(maps, a, (int)items);
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
  return cuda_light_htot_launch(x, x->buf[SLA2_SLOT_PHIK], scratch, (float *)x->buf[SLA2_SLOT_HTOT]);
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
  a.ztot = (const float *)x->buf[SLA2_SLOT_ZTOT];
  a.htot = (const float *)x->buf[SLA2_SLOT_HTOT];
  a.lut = (const int *)x->buf[SLA2_SLOT_LUT];
  a.H = H, a.N = N, a.D = D, a.rows = (int)g->bq, a.Tm = (int)g->Tm, a.bk = (int)g->bk, a.nsel = (int)g->k;
  a.per_block_alpha = g->alpha_per_block;
  const long long B = g->B;
  lw_maps maps;
  memset(&maps, 0, sizeof maps);
  const cuda_t4 v = cuda_t4_of(x, SLA2_SLOT_V);
  const cuda_t4 phiq = cuda_t4_contiguous(x->buf[SLA2_SLOT_PHIQ], v.dtype, H, N, D);
  const cuda_t4 phik = cuda_t4_contiguous(x->buf[SLA2_SLOT_PHIK], v.dtype, H, N, D);
  sla2_status st = cuda_tma_map16(&maps.phiq, phiq, B, H, N, D, 64);
  if (st == SLA2_OK) st = cuda_tma_map16(&maps.phik, phik, B, H, N, D, a.bk);
  if (st == SLA2_OK) st = cuda_tma_map16(&maps.v, v, B, H, N, D, a.bk);
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
