/* CUDA backend: the Hopper (sm_90a) flash-attention kernel for DENSE_ATTN (16-bit Q, K, V) and
 * SPARSE_ATTN (quant none with 16-bit Q, V; int8; int8_fp8), D = 64 or 128, bq = 64 or 128.
 *
 * A CTA owns 64 * NC query rows of one LUT row (a query block of bq = 64 NC rows; dense: any 128
 * rows) and walks the row's selected keys in tiles of 128 key positions. Warp specialization:
 *   warpgroup 0 (producer, 24 registers): one thread issues TMA loads of Q, then K [+ K lo] and V
 *     of each tile into a ring of 2 to 4 stages (as many as shared memory holds), gathering LUT
 *     blocks box by box (rows lut[t] * bk ...);
 *   warpgroups 1..NC (consumers, 240 registers): 64 query rows each. S = Q K^T with wgmma (both
 *     operands from swizzled shared memory), online softmax in registers (log2 units), P rounded
 *     in registers and O += P V with the register-A wgmma, V read MN-major (transposed).
 *     The next tile's S is issued before the previous tile's P V, so the tensor cores run while
 *     the softmax does.
 * mbarriers: full (the copy engine's byte count) and empty (every consumer thread) per stage.
 * Keys past the row's end (partial last tile) are loaded from a valid block and masked to -inf;
 * rows past N come in as TMA's zero fill and are never stored.
 * S by mode, as in cuda_attn_mma.cu: quant none on the raw 16-bit K (the fused forward) takes one
 * product, exact 16-bit products summed in f32 as dense attention; smooth_k's shift q.mean(K) is
 * constant per row, so only the LSE takes it off (a.lse_shift). Quant none with an f32 K~ (the
 * node path) splits it into a 16-bit hi + lo
 * (attn_split_k), two QK^T products summed keep S, and the LSE, at about f32 accuracy; int8 and
 * int8_fp8 take s8 codes (exact s32 sums) scaled per key block by s sigma_q sigma_k. int8_fp8
 * first runs the keys once for the exact row max m (integer maxima per 16 keys), then rounds
 * 448 P~ = 448 exp(S - m) to E4M3 as the oracle does and multiplies with V's E4M3 codes on the
 * FP8 tensor cores (f32 accumulation), V K-major in [D][32] tiles whose key order matches the
 * registers P is rounded in (attn_fp8_vt), so neither side is moved or widened in the kernel. */
#include <string.h>

#include "backends/cuda/cuda_attention.cuh"
#include "core/error.h"

#ifdef SLA2_CUDA_SM90A
#include "backends/cuda/cuda_attn_wgmma.cuh"
#include "backends/cuda/cuda_tma.cuh"

/* What the kernel reads and how it forms S (template parameter MODE). */
enum {
  WG_DENSE = 0, /* 16-bit K as given (dense; quant none on raw K, the LSE less a.lse_shift) */
  WG_SPLIT = 1, /* quant none, f32 K~ as 16-bit hi + lo */
  WG_INT8 = 2,  /* s8 codes of Q and K~, P V in V's type */
  WG_FP8 = 3,   /* int8_fp8: s8 codes, exact row max pass, E4M3 P~ times E4M3 V */
};

/* Shared memory map (offsets from a 1024-aligned base). 16-bit tiles are NP = D / 64 panels of
 * 128-byte rows; s8 tiles are one panel of D-byte rows. */
template <int NC, int DP, int MODE>
struct wg_layout {
  static constexpr bool S8 = MODE >= WG_INT8;
  static constexpr int NP = DP / 64;
  static constexpr int BM = 64 * NC;
  static constexpr int Q_BYTES = S8 ? BM * DP : NP * BM * 128;
  static constexpr int K_BYTES = S8 ? WG_BN * DP : NP * WG_PANEL;
  static constexpr int V_BYTES = MODE == WG_FP8 ? WG_BN * DP : NP * WG_PANEL; /* E4M3 [D][32] tiles, or 16-bit */
  static constexpr int V_OFF = K_BYTES * (MODE == WG_SPLIT ? 2 : 1); /* K [, K lo], V */
  static constexpr int STAGE = V_OFF + V_BYTES;
  static constexpr int S = wg_stages(Q_BYTES + 4 * 8 * 4 + wg_ring<4>::BARS * 8 + NC * 128 * 4 + 1024, STAGE);
  static constexpr int FAC = Q_BYTES + S * STAGE;           /* s8: per-box score factors, 8 per stage */
  static constexpr int BAR = FAC + S * 8 * 4;
  static constexpr int ANCHOR = BAR + wg_ring<S>::BARS * 8; /* one float per consumer thread */
  static constexpr int BYTES = ANCHOR + NC * 128 * 4 + 1024; /* alignment slack */
};

struct wg_maps {
  CUtensorMap q, k, klo, v;
};

/* LUT entry of the TMA box at tile position p (box starts are block-aligned). Past the row's last
 * block: that block again, finite data the mask removes. */
__device__ inline int wg_block(const attn_args &a, const int *lut_row, int p) {
  return lut_row[min(p / a.bk, a.nsel - 1)];
}

template <int NC, int DP, int MODE, bool F16>
__global__ void __launch_bounds__((NC + 1) * 128, 1)
    attn_wgmma_kernel(const __grid_constant__ wg_maps maps, attn_args a, int items) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  typedef wg_layout<NC, DP, MODE> L;
  constexpr bool S8 = L::S8, FP8 = MODE == WG_FP8;
  extern __shared__ unsigned char smem_raw[];
  unsigned char *smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023); /* swizzle atoms: 1024-aligned */
  unsigned char *sq = smem;
  float *fac_s = reinterpret_cast<float *>(smem + L::FAC);
  volatile float *anchor = reinterpret_cast<float *>(smem + L::ANCHOR);
  const wg_ring<L::S> ring{reinterpret_cast<uint64_t *>(smem + L::BAR)};

  const int kpasses = FP8 ? 2 : 1; /* int8_fp8 reads K twice: row max, then the product */
  const float fac = a.scale * CUDA_LOG2E;
  /* Work item `work` (query block i of head bh), in the order the CTAs take them. */
#define WG_ITEM                                                                                  \
  const int i = work % a.Tm, bh = work / a.Tm, b = bh / a.H, h = bh % a.H;                      \
  const int n0 = i * a.rows;                                                                    \
  const int *lut_row = a.lut ? a.lut + ((long long)bh * a.Tm + i) * a.nsel : nullptr;          \
  const int total = attn_total_keys(a, bh, i);                                                  \
  const int ntiles = (total + WG_BN - 1) / WG_BN;                                               \
  (void)lut_row /* the consumers' blocks come through the ring */

  ring.init(NC * 128);

  if (threadIdx.x < 128) { /* producer warpgroup */
    regs_dec<24>();
    if (threadIdx.x != 0) return;
    tma_prefetch_map(&maps.k), tma_prefetch_map(&maps.v);
    const int box = a.lut ? min(a.bk, WG_BN) : WG_BN; /* rows per TMA box (the maps' box height) */
    int ku = 0, vu = 0;                               /* K and V ring entries of earlier items */
    for (int work = blockIdx.x, item = 0; work < items; work += gridDim.x, item++) {
      WG_ITEM;
      if (item > 0) mbar_wait(ring.q_empty(), (item - 1) & 1); /* the consumers' last product with Q */
      mbar_arrive_expect_tx(ring.q_full(), L::Q_BYTES);
      if (S8) {
        for (int c = 0; c < NC; c++) tma_load4(sq + c * 64 * DP, &maps.q, ring.q_full(), 0, n0 + c * 64, h, b);
      } else {
        for (int p = 0; p < L::NP; p++)
          for (int c = 0; c < NC; c++)
            tma_load4(sq + p * L::BM * 128 + c * 64 * 128, &maps.q, ring.q_full(), p * 64, n0 + c * 64, h, b);
      }
      const float qfac = S8 ? fac * a.qs[(long long)bh * a.Tm + i] : 0.0f;
      for (int x = 0; x < kpasses * ntiles; x++) {
        const int u = ku + x, j = x % ntiles, s = ring.stage(u);
        const bool with_v = x >= (kpasses - 1) * ntiles;
        unsigned char *sk = smem + L::Q_BYTES + s * L::STAGE;
        ring.wait_k_free(u);
        if (S8) /* score factor s sigma_q sigma_k per box, published by the full barrier's arrival */
          for (int r = 0; r < WG_BN; r += box)
            fac_s[s * 8 + r / box] = qfac * a.ks[(long long)bh * a.Tn + wg_block(a, lut_row, j * WG_BN + r)];
        mbar_arrive_expect_tx(ring.k_full(u), L::V_OFF);
        for (int r = 0; r < WG_BN; r += box) {
          const int row = lut_row ? wg_block(a, lut_row, j * WG_BN + r) * a.bk : j * WG_BN + r;
          if constexpr (S8) {
            tma_load4(sk + r * DP, &maps.k, ring.k_full(u), 0, row, h, b);
          } else {
            for (int p = 0; p < L::NP; p++) {
              tma_load4(sk + p * WG_PANEL + r * 128, &maps.k, ring.k_full(u), p * 64, row, h, b);
              if (MODE == WG_SPLIT)
                tma_load4(sk + L::K_BYTES + p * WG_PANEL + r * 128, &maps.klo, ring.k_full(u), p * 64, row, h, b);
            }
          }
        }
        if (!with_v) continue;
        const int vj = vu + j;
        unsigned char *vdst = smem + L::Q_BYTES + ring.stage(vj) * L::STAGE + L::V_OFF;
        ring.wait_v_free(vj);
        mbar_arrive_expect_tx(ring.v_full(vj), L::V_BYTES);
        for (int r = 0; r < WG_BN; r += box) {
          const int row = lut_row ? wg_block(a, lut_row, j * WG_BN + r) * a.bk : j * WG_BN + r;
          if constexpr (FP8) /* box / 32 tiles of [D][32] codes (attn_fp8_vt) */
            tma_load4(vdst + (r / ATTN_VT_KEYS) * DP * ATTN_VT_KEYS, &maps.v, ring.v_full(vj), 0, 0,
                      row / ATTN_VT_KEYS, bh);
          else
            for (int p = 0; p < L::NP; p++)
              tma_load4(vdst + p * WG_PANEL + r * 128, &maps.v, ring.v_full(vj), p * 64, row, h, b);
        }
      }
      ku += kpasses * ntiles, vu += ntiles;
    }
    return;
  }

  /* consumer warpgroups */
  regs_inc<240>();
  const int cw = threadIdx.x / 128 - 1, tid = threadIdx.x % 128;
  const int warp = tid / 32, lane = tid % 32, g = lane >> 2, q4 = lane & 3;
  const int lbk = a.lut ? __ffs(min(a.bk, WG_BN)) - 1 : 7; /* log2 of the box height */
  float sacc[64], o[DP / 2];
  int si[64];
  uint32_t pa[8][4];
  int ku = 0, vu = 0; /* K and V ring entries of earlier items */
  for (int work = blockIdx.x, item = 0; work < items; work += gridDim.x, item++) {
    WG_ITEM;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f}, corr[2] = {1.0f, 1.0f};
#pragma unroll
    for (int e = 0; e < DP / 2; e++) o[e] = 0.0f;

    /* S = Q K^T of K-ring entry u, asynchronous. */
    auto issue_qk = [&](int u) {
      const unsigned char *sk = smem + L::Q_BYTES + ring.stage(u) * L::STAGE;
      if (S8) {
        wg_fence_regs(si);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < DP / 32; kk++)
          wgmma_s8_n128(si, wg_desc(sq + cw * 64 * DP + kk * 32, 16, DP), wg_desc(sk + kk * 32, 16, DP), kk > 0);
      } else {
        wg_fence_regs(sacc);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < DP / 16; kk++) {
          const int p = kk / 4, kin = (kk % 4) * 32;
          const uint64_t da = wg_desc(sq + p * L::BM * 128 + cw * 64 * 128 + kin, 16, 128);
          wgmma_ss_n128<F16>(sacc, da, wg_desc(sk + p * WG_PANEL + kin, 16, 128), kk > 0);
          if (MODE == WG_SPLIT) wgmma_ss_n128<F16>(sacc, da, wg_desc(sk + L::K_BYTES + p * WG_PANEL + kin, 16, 128), 1);
        }
      }
      wg_commit();
    };
    auto issue_pv = [&](int j) { /* tile j of this item: V-ring entry vu + j */
      const unsigned char *sv = smem + L::Q_BYTES + ring.stage(vu + j) * L::STAGE + L::V_OFF;
      if (FP8) { /* E4M3 P (pa[0..3], 32 keys each) times V's K-major [D][32] tiles */
        wg_fence_regs(o);
        wg_fence();
#pragma unroll
        for (int kc = 0; kc < WG_BN / ATTN_VT_KEYS; kc++)
          wgmma_e4m3_rs(o, pa[kc], wg_desc(sv + kc * DP * ATTN_VT_KEYS, 16, ATTN_VT_KEYS));
        wg_commit();
      } else {
        wg_issue_pv_tile<F16>(o, pa, sv);
      }
    };
    /* After S of tile j (K-ring entry u) completed: positions past the row's end -inf; s8 modes
     * scale to log2 units here (per-box factors, read before the stage is released), 16-bit modes
     * leave raw S (the softmax folds the scale into one FFMA). */
    constexpr bool RAW = !S8;
    auto scores = [&](int j, int u) {
      const int base = j * WG_BN;
      if (S8) {
#pragma unroll
        for (int e = 0; e < 64; e++) sacc[e] = s8dot_to_f32(si[e]) * fac_s[ring.stage(u) * 8 + (((e / 4) * 8) >> lbk)];
      }
      if (base + WG_BN > total) {
#pragma unroll
        for (int e = 0; e < 64; e++)
          if (base + (e / 4) * 8 + 2 * q4 + (e & 1) >= total) sacc[e] = -INFINITY;
      }
    };
    /* Running max in log2 units: mx = max(mx, this quad's maxima t [x fac]). */
    auto merge_max = [&](float (&t)[2], float (&mx)[2]) {
#pragma unroll
      for (int r = 0; r < 2; r++) {
        t[r] = fmaxf(t[r], __shfl_xor_sync(0xffffffffu, t[r], 1));
        t[r] = fmaxf(t[r], __shfl_xor_sync(0xffffffffu, t[r], 2));
        mx[r] = fmaxf(mx[r], RAW ? t[r] * fac : t[r]);
      }
    };
    auto update_max = [&](float (&mx)[2]) {
      float t[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int e = 0; e < 64; e++) t[(e >> 1) & 1] = fmaxf(t[(e >> 1) & 1], sacc[e]);
      merge_max(t, mx);
    };
    /* int8_fp8's max pass: this thread's row maxima of tile j's scores (K-ring entry u) from the
     * s32 sums. The integer max of each 16 keys (a TMA box holds whole groups: bk >= 16) scaled
     * by its box's factor (> 0, so monotone) is the max of the scaled scores, bit for bit:
     * 16 conversions and products per thread instead of 64. Keys past the row's end are skipped. */
    auto codes_max = [&](int j, int u, float (&t)[2]) {
      const int base = j * WG_BN;
      const bool partial = base + WG_BN > total;
      t[0] = t[1] = -INFINITY;
#pragma unroll
      for (int g16 = 0; g16 < 8; g16++) {
        int im[2] = {INT_MIN, INT_MIN};
#pragma unroll
        for (int k = 0; k < 8; k++) {
          const int e = 8 * g16 + k;
          const bool past = partial && base + (e / 4) * 8 + 2 * q4 + (e & 1) >= total;
          im[(e >> 1) & 1] = max(im[(e >> 1) & 1], past ? INT_MIN : si[e]);
        }
        const float f = fac_s[ring.stage(u) * 8 + ((g16 * 16) >> lbk)];
#pragma unroll
        for (int r = 0; r < 2; r++)
          if (im[r] != INT_MIN) t[r] = fmaxf(t[r], s8dot_to_f32(im[r]) * f);
      }
    };
    /* exp2(S - m) into sacc and the running sums; online max unless int8_fp8 (the final max is
     * known: P~ rounds at it, as the oracle's; exp2f as the mma kernel for the same E4M3 codes). */
    auto softmax = [&]() {
      float mu[2];
      if (FP8) {
        mu[0] = m[0], mu[1] = m[1];
      } else {
        float mx[2] = {m[0], m[1]};
        update_max(mx);
#pragma unroll
        for (int r = 0; r < 2; r++) {
          mu[r] = mx[r] == -INFINITY ? 0.0f : mx[r];
          corr[r] = fast_exp2(m[r] - mu[r]);
          m[r] = mx[r];
        }
      }
      float sum[2] = {0.0f, 0.0f};
#pragma unroll
      for (int e = 0; e < 64; e++) {
        const int r = (e >> 1) & 1;
        sacc[e] = FP8 ? exp2f(sacc[e] - mu[r]) : fast_exp2(fmaf(sacc[e], RAW ? fac : 1.0f, -mu[r]));
        sum[r] += sacc[e];
      }
      l[0] = l[0] * corr[0] + sum[0];
      l[1] = l[1] * corr[1] + sum[1];
    };
    /* P as the A fragments of the P V product: in V's type (keys 16 kk .. 16 kk + 15 in pa[kk]),
     * or int8_fp8's E4M3 codes of 448 P~ (P~ in (0, 1]), 32 keys in pa[kc]:
     * word w holds elements e, e + 1, e + 4, e + 5 of the accumulator, e = 16 kc + 8 (w / 2) +
     * 2 (w % 2), the key order attn_fp8_vt gives V. */
    auto pack_p = [&]() {
      if (FP8) {
#pragma unroll
        for (int kc = 0; kc < WG_BN / ATTN_VT_KEYS; kc++)
#pragma unroll
          for (int w = 0; w < 4; w++) {
            const int e = 16 * kc + 8 * (w >> 1) + 2 * (w & 1);
            pa[kc][w] = p_fp8_quad(sacc[e], sacc[e + 1], sacc[e + 4], sacc[e + 5]);
          }
      } else {
#pragma unroll
        for (int kk = 0; kk < 8; kk++)
#pragma unroll
          for (int w = 0; w < 4; w++) pa[kk][w] = pack_pair16<F16>(sacc[8 * kk + 2 * w], sacc[8 * kk + 2 * w + 1]);
      }
    };
    auto wait_s = [&]() {
      if (S8) wg_fence_regs(si);
      else wg_fence_regs(sacc);
    };

    mbar_wait(ring.q_full(), item & 1);
    const int u0 = ku + (FP8 ? ntiles : 0); /* K-ring entry of the product pass's first tile */
    if (FP8) { /* pass 0: the exact row max; the next tile's S runs during this one's max */
      ring.wait_k(ku);
      issue_qk(ku);
      for (int j = 0; j < ntiles; j++) {
        wg_wait<0>();
        wait_s();
        float t[2];
        codes_max(j, ku + j, t); /* si is free after this */
        ring.release_k(ku + j);
        if (j + 1 < ntiles) {
          ring.wait_k(ku + j + 1);
          issue_qk(ku + j + 1);
        }
        merge_max(t, m);
      }
    }
    ring.wait_k(u0);
    issue_qk(u0);
    wg_wait<0>();
    wait_s();
    scores(0, u0);
    ring.release_k(u0);
    softmax();
    pack_p();
    for (int j = 1; j < ntiles; j++) {
      const int u = u0 + j;
      ring.wait_k(u);
      issue_qk(u);
      ring.wait_v(vu + j - 1);
      issue_pv(j - 1);
      wg_wait<1>();
      wait_s();
      scores(j, u);
      ring.release_k(u);
      softmax();
      /* A store of the softmax's result before the wait keeps the scheduler from sinking the
       * softmax below it: it runs while P V is in flight. */
      anchor[threadIdx.x - 128] = l[0] + l[1];
      wg_wait<0>();
      wg_fence_regs(o);
#pragma unroll
      for (int kk = 0; kk < 8; kk++) wg_fence_regs(pa[kk]); /* P stays live until its product completed */
      ring.release_v(vu + j - 1);
      if (!FP8) {
#pragma unroll
        for (int e = 0; e < DP / 2; e++) o[e] *= corr[(e >> 1) & 1];
      }
      pack_p();
    }
    mbar_arrive(ring.q_empty()); /* every product with this item's Q has completed */
    ring.wait_v(vu + ntiles - 1);
    issue_pv(ntiles - 1);
    wg_wait<0>();
    wg_fence_regs(o);
    ring.release_v(vu + ntiles - 1);

#pragma unroll
    for (int r = 0; r < 2; r++) {
      l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
      l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    }
    const int nend = min(a.N, n0 + a.rows);
    const int na = n0 + cw * 64 + warp * 16 + g, nb = na + 8;
    const float inv0 = 1.0f / l[0], inv1 = 1.0f / l[1];
    /* int8_fp8: sigma_v / 448 of this thread's column pairs, loaded before the first store (loads
     * between stores to O would each wait: the compiler cannot tell they do not alias) */
    float2 cs2[DP / 8];
#pragma unroll
    for (int t = 0; t < DP / 8; t++) {
      cs2[t] = make_float2(1.0f, 1.0f);
      if (FP8) {
        const float2 sv = *reinterpret_cast<const float2 *>(a.vs + (long long)bh * a.D + t * 8 + 2 * q4);
        cs2[t] = make_float2(sv.x / SLA2_FP8_P_SCALE, sv.y / SLA2_FP8_P_SCALE);
      }
    }
#pragma unroll
    for (int e = 0; e < DP / 2; e++) {
      const int c = (e / 4) * 8 + 2 * q4 + (e & 1);
      const float cs = (e & 1) ? cs2[e / 4].y : cs2[e / 4].x;
      if (e & 2) {
        if (nb < nend) t4_store(a.o, b, h, nb, c, o[e] * cs * inv1);
      } else if (na < nend) {
        t4_store(a.o, b, h, na, c, o[e] * cs * inv0);
      }
    }
    if (a.lse && q4 == 0) {
      if (na < nend) attn_store_lse(a, bh, na, (m[0] + log2f(l[0])) * CUDA_LN2);
      if (nb < nend) attn_store_lse(a, bh, nb, (m[1] + log2f(l[1])) * CUDA_LN2);
    }
    ku += kpasses * ntiles, vu += ntiles;
  }
#undef WG_ITEM
#elif defined(__CUDA_ARCH__)
  __trap(); /* only the sm_90a build has this kernel: a launch of any other fails loudly */
#endif
}

static bool is16(int dtype) { return dtype == SLA2_BF16 || dtype == SLA2_F16; }

/* The kernel variant for these arguments: mode and consumer warpgroups, or false. */
static bool wg_variant(const attn_args &a, int *mode, int *nc) {
  if (a.D != 64 && a.D != 128) return false;
  if (!a.lut) {
    *mode = WG_DENSE, *nc = 2;
    return is16(a.q.dtype) && cuda_tma_ok(a.q, a.q.dtype) && cuda_tma_ok(a.k, a.q.dtype) && cuda_tma_ok(a.v, a.q.dtype);
  }
  if ((a.rows != 64 && a.rows != 128) || a.bk > WG_BN || WG_BN % a.bk != 0) return false;
  *nc = a.rows / 64;
  if (a.quant == SLA2_QMODE_INT8_FP8) { /* V's tiles are 32 keys (attn_fp8_vt): bk >= 32 */
    *mode = WG_FP8;
    return a.bk % ATTN_VT_KEYS == 0 && a.scale > 0.0f; /* the max pass scales monotonically */
  }
  if (!is16(a.v.dtype) || !cuda_tma_ok(a.v, a.v.dtype)) return false;
  if (a.quant == SLA2_QMODE_INT8) {
    *mode = WG_INT8;
    return true;
  }
  if (a.quant != SLA2_QMODE_NONE || a.q.dtype != a.v.dtype || !cuda_tma_ok(a.q, a.q.dtype)) return false;
  if (a.k.dtype == a.q.dtype && !a.klo) { /* raw 16-bit K, smooth_k's shift in a.lse_shift */
    *mode = WG_DENSE;
    return cuda_tma_ok(a.k, a.q.dtype);
  }
  *mode = WG_SPLIT; /* f32 K~, or its halves already split (a.klo) */
  return a.k.dtype == SLA2_F32 || (a.klo && cuda_tma_ok(a.k, a.q.dtype));
}

/* wg_layout<nc, dp, mode>::BYTES at run time. */
template <int NC, int DP>
static int wg_smem_bytes_of(int mode) {
  switch (mode) {
  case WG_DENSE: return wg_layout<NC, DP, WG_DENSE>::BYTES;
  case WG_SPLIT: return wg_layout<NC, DP, WG_SPLIT>::BYTES;
  case WG_INT8: return wg_layout<NC, DP, WG_INT8>::BYTES;
  default: return wg_layout<NC, DP, WG_FP8>::BYTES;
  }
}
static int wg_smem_bytes(int nc, int dp, int mode) {
  if (nc == 2) return dp == 128 ? wg_smem_bytes_of<2, 128>(mode) : wg_smem_bytes_of<2, 64>(mode);
  return dp == 128 ? wg_smem_bytes_of<1, 128>(mode) : wg_smem_bytes_of<1, 64>(mode);
}

bool attn_wgmma_supported(const attn_args &a, const cuda_device_ctx *dev) {
  int mode, nc;
  if (dev->cc_major != 9 || dev->cc_minor != 0 || !wg_variant(a, &mode, &nc)) return false;
  return (size_t)wg_smem_bytes(nc, a.D, mode) <= dev->smem_optin;
}

static sla2_status map_codes(CUtensorMap *map, const int8_t *codes, long long B, const attn_args &a, int rows) {
  const long long s[4] = {(long long)a.H * a.N * a.D, (long long)a.N * a.D, a.D, 1};
  return cuda_tma_map(map, codes, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, s, B, a.H, a.N, a.D, a.D, rows);
}

static sla2_status map16(CUtensorMap *map, const cuda_t4 &t, long long B, const attn_args &a, int rows) {
  return cuda_tma_map16(map, t, B, a.H, a.N, a.D, rows);
}

template <int NC, int DP, int MODE, bool F16>
static sla2_status launch(const wg_maps &maps, const attn_args &a, cuda_device_ctx *dev, long long BH) {
  constexpr int bytes = wg_layout<NC, DP, MODE>::BYTES;
  static_assert(bytes <= WG_SMEM_MAX, "the ring does not fit shared memory");
  sla2_status st = cuda_check(cudaFuncSetAttribute(attn_wgmma_kernel<NC, DP, MODE, F16>,
                                                   cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
                              "attention shared memory");
  if (st != SLA2_OK) return st;
  /* persistent CTAs, one per SM (the shared memory allows no more): each walks work items
   * blockIdx.x, + gridDim.x, ..., and its producer loads the next item's Q and first tiles while
   * the consumers finish the last one */
  const long long items = (long long)a.Tm * BH;
  unsigned ctas = 0;
  if ((st = cuda_persistent_ctas(items, dev, &ctas)) != SLA2_OK) return st;
  attn_wgmma_kernel<NC, DP, MODE, F16><<<ctas, (NC + 1) * 128, bytes, dev->stream>>>(maps, a, (int)items);
  return cuda_check_launch("attention (wgmma)");
}

template <int NC, int MODE, bool F16>
static sla2_status launch_dp(const wg_maps &maps, const attn_args &a, cuda_device_ctx *dev, long long BH) {
  return a.D == 128 ? launch<NC, 128, MODE, F16>(maps, a, dev, BH) : launch<NC, 64, MODE, F16>(maps, a, dev, BH);
}

template <int NC>
static sla2_status launch_mode(const wg_maps &maps, const attn_args &a, cuda_device_ctx *dev, long long BH, int mode) {
  const bool f16 = a.v.dtype == SLA2_F16;
  switch (mode) {
  case WG_DENSE:
    return f16 ? launch_dp<NC, WG_DENSE, true>(maps, a, dev, BH) : launch_dp<NC, WG_DENSE, false>(maps, a, dev, BH);
  case WG_SPLIT:
    return f16 ? launch_dp<NC, WG_SPLIT, true>(maps, a, dev, BH) : launch_dp<NC, WG_SPLIT, false>(maps, a, dev, BH);
  case WG_INT8:
    return f16 ? launch_dp<NC, WG_INT8, true>(maps, a, dev, BH) : launch_dp<NC, WG_INT8, false>(maps, a, dev, BH);
  default:
    return launch_dp<NC, WG_FP8, true>(maps, a, dev, BH);
  }
}

sla2_status attn_wgmma_launch(const attn_args &args, cuda_device_ctx *dev, long long BH) {
  int mode, nc;
  if (!wg_variant(args, &mode, &nc))
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: attention arguments not for wgmma");
  attn_args a = args;
  if (!a.lut) a.rows = 128, a.Tm = (a.N + 127) / 128;
  const long long B = BH / a.H;
  const int box = a.lut ? a.bk : WG_BN;
  const void *klo = a.klo;
  sla2_status st = SLA2_OK;
  if (mode == WG_SPLIT && a.k.dtype == SLA2_F32) st = attn_split_k(a, dev, BH, a.q.dtype == SLA2_BF16, &a.k, &klo);
  const uint8_t *vt = nullptr;
  int vt_chunks = 0;
  if (mode == WG_FP8) st = attn_fp8_vt(a, dev, BH, &vt, &vt_chunks);
  if (st != SLA2_OK) return st;
  wg_maps maps;
  memset(&maps, 0, sizeof maps);
  if (mode >= WG_INT8) {
    st = map_codes(&maps.q, a.qc, B, a, 64);
    if (st == SLA2_OK) st = map_codes(&maps.k, a.kc, B, a, box);
  } else {
    st = map16(&maps.q, a.q, B, a, 64);
    if (st == SLA2_OK) st = map16(&maps.k, a.k, B, a, box);
  }
  if (st == SLA2_OK)
    st = mode == WG_FP8 ? cuda_tma_map_vt(&maps.v, vt, BH, a.D, vt_chunks, box / ATTN_VT_KEYS)
                        : map16(&maps.v, a.v, B, a, box);
  if (st == SLA2_OK && mode == WG_SPLIT) {
    cuda_t4 lo = a.k;
    lo.base = const_cast<void *>(klo);
    st = map16(&maps.klo, lo, B, a, box);
  }
  if (st != SLA2_OK) return st;
  return nc == 2 ? launch_mode<2>(maps, a, dev, BH, mode) : launch_mode<1>(maps, a, dev, BH, mode);
}

#else /* built without sm_90a: the mma.sync kernel serves Hopper too */

bool attn_wgmma_supported(const attn_args &, const cuda_device_ctx *) { return false; }

sla2_status attn_wgmma_launch(const attn_args &, cuda_device_ctx *, long long) {
  return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: built without sm_90a (wgmma)");
}

#endif
