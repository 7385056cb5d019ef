/* CUDA backend: H_tot = phi(K~)^T V per head for the fused forward's memory-light linear branch
 * (Hopper; cuda_linear_wgmma.cu uses it). The K pass wrote phi(K~) in V's 16-bit type; this pass
 * reads it and V once with TMA and multiplies on tensor cores (both operands MN-major, f32
 * accumulation), one CTA per (b, h, chunk of keys); the chunks' partial sums are added in double
 * in a fixed order (cuda_sum_partials), so the result does not depend on scheduling.
 * Warpgroup 0 (one thread) streams 64-key tiles of phi(K~) and V through HT_STAGES stages;
 * consumer warpgroup c owns rows d = 64 c .. 64 c + 63 of the D x D sum. */
#include <string.h>

#include "backends/cuda/cuda_common.cuh"
#include "core/error.h"

#ifdef SLA2_CUDA_SM90A
#include "backends/cuda/cuda_attn_wgmma.cuh"
#include "backends/cuda/cuda_tma.cuh"

#define HT_TK 64     /* keys per tile */
#define HT_STAGES 3

struct ht_maps {
  CUtensorMap phik, v;
};

template <int DP>
struct ht_layout {
  static constexpr int NP = DP / 64;
  static constexpr int PANEL = HT_TK * 128; /* 64 keys x 64 channels of 16 bits */
  static constexpr int TILE = NP * PANEL;
  static constexpr int STAGE = 2 * TILE;    /* phi(K~) tile, V tile */
  static constexpr int BAR = HT_STAGES * STAGE;
  static constexpr int BYTES = BAR + 2 * HT_STAGES * 8 + 1024;
};

template <int DP, bool F16>
__global__ void __launch_bounds__((DP / 64 + 1) * 128, 1)
    light_htot_gemm_kernel(const __grid_constant__ ht_maps maps, int H, int N, int chunk_keys, int chunks, float *part) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  typedef ht_layout<DP> L;
  constexpr int NC = DP / 64;
  extern __shared__ unsigned char smem_raw[];
  unsigned char *smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023);
  uint64_t *full = reinterpret_cast<uint64_t *>(smem + L::BAR), *empty = full + HT_STAGES;
  const int c = blockIdx.x, bh = blockIdx.y, b = bh / H, h = bh % H;
  const int k0 = c * chunk_keys, ntiles = (min(N, k0 + chunk_keys) - k0 + HT_TK - 1) / HT_TK;

  if (threadIdx.x == 0) {
    for (int s = 0; s < HT_STAGES; s++) mbar_init(full + s, 1), mbar_init(empty + s, NC * 128);
    mbar_init_fence();
  }
  __syncthreads();

  if (threadIdx.x < 128) { /* producer: rows past N arrive as TMA's zeros */
    if (threadIdx.x != 0) return;
    for (int t = 0; t < ntiles; t++) {
      const int s = t % HT_STAGES;
      unsigned char *st = smem + s * L::STAGE;
      mbar_wait(empty + s, ((t / HT_STAGES) & 1) ^ 1);
      mbar_arrive_expect_tx(full + s, L::STAGE);
      for (int p = 0; p < L::NP; p++) {
        tma_load4(st + p * L::PANEL, &maps.phik, full + s, p * 64, k0 + t * HT_TK, h, b);
        tma_load4(st + L::TILE + p * L::PANEL, &maps.v, full + s, p * 64, k0 + t * HT_TK, h, b);
      }
    }
    return;
  }

  const int cw = threadIdx.x / 128 - 1, tid = threadIdx.x % 128;
  const int warp = tid / 32, lane = tid % 32, g = lane >> 2, q4 = lane & 3;
  float acc[DP / 2];
  for (int t = 0; t < ntiles; t++) {
    const int s = t % HT_STAGES;
    const unsigned char *st = smem + s * L::STAGE;
    mbar_wait(full + s, (t / HT_STAGES) & 1);
    wg_fence_regs(acc);
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < HT_TK / 16; kk++)
      wgmma_tt<F16>(acc, wg_desc(st + cw * L::PANEL + kk * 2048, L::PANEL, 128),
                    wg_desc(st + L::TILE + kk * 2048, L::PANEL, 128), t > 0 || kk > 0);
    wg_commit();
    wg_wait<0>();
    wg_fence_regs(acc);
    mbar_arrive(empty + s);
  }
  float *out = part + ((long long)bh * chunks + c) * DP * DP;
#pragma unroll
  for (int e = 0; e < DP / 2; e += 2) {
    const int d = 64 * cw + 16 * warp + g + ((e & 2) ? 8 : 0), col = (e / 4) * 8 + 2 * q4;
    *reinterpret_cast<float2 *>(out + (long long)d * DP + col) = make_float2(acc[e], acc[e + 1]);
  }
#elif defined(__CUDA_ARCH__)
  __trap(); /* only the sm_90a build has this kernel */
#endif
}

/* Chunks per head: about two CTAs per multiprocessor in all; chunk lengths are whole tiles. */
static void ht_chunks(const cuda_exec *x, int *chunk_keys, int *chunks) {
  const sla2_graph *g = x->g;
  const long long BH = g->B * g->H, sms = x->dev->sm_count > 0 ? x->dev->sm_count : 1;
  const long long tiles = (g->N + HT_TK - 1) / HT_TK;
  long long want = (2 * sms + BH - 1) / BH;
  if (want > tiles) want = tiles;
  const long long per = (tiles + want - 1) / want; /* tiles per chunk */
  *chunk_keys = (int)(per * HT_TK);
  *chunks = (int)((tiles + per - 1) / per);
}

extern "C" size_t cuda_light_htot_scratch_bytes(const cuda_exec *x) {
  int ck, chunks;
  ht_chunks(x, &ck, &chunks);
  return (size_t)(x->g->B * x->g->H) * (size_t)chunks * (size_t)(x->g->D * x->g->D) * sizeof(float);
}

template <int DP, bool F16>
static sla2_status ht_launch(const ht_maps &maps, const cuda_exec *x, int ck, int chunks, float *part) {
  constexpr int bytes = ht_layout<DP>::BYTES;
  sla2_status st = cuda_check(
      cudaFuncSetAttribute(light_htot_gemm_kernel<DP, F16>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
      "H_tot (wgmma) shared memory");
  if (st != SLA2_OK) return st;
  const dim3 grid((unsigned)chunks, (unsigned)(x->g->B * x->g->H));
  light_htot_gemm_kernel<DP, F16><<<grid, (DP / 64 + 1) * 128, bytes, x->dev->stream>>>(maps, (int)x->g->H, (int)x->g->N,
                                                                                      ck, chunks, part);
  return cuda_check_launch("H_tot (wgmma)");
}

extern "C" sla2_status cuda_light_htot_launch(const cuda_exec *x, const void *phik, void *scratch, float *htot) {
  const sla2_graph *g = x->g;
  const int H = (int)g->H, N = (int)g->N, D = (int)g->D;
  const cuda_t4 v = cuda_t4_of(x, SLA2_SLOT_V);
  const cuda_t4 pk = cuda_t4_contiguous(const_cast<void *>(phik), v.dtype, H, N, D);
  ht_maps maps;
  memset(&maps, 0, sizeof maps);
  sla2_status st = cuda_tma_map16(&maps.phik, pk, g->B, H, N, D, HT_TK);
  if (st == SLA2_OK) st = cuda_tma_map16(&maps.v, v, g->B, H, N, D, HT_TK);
  if (st != SLA2_OK) return st;
  int ck, chunks;
  ht_chunks(x, &ck, &chunks);
  float *part = (float *)scratch;
  const bool f16 = v.dtype == SLA2_F16;
  if (D == 128) st = f16 ? ht_launch<128, true>(maps, x, ck, chunks, part) : ht_launch<128, false>(maps, x, ck, chunks, part);
  else st = f16 ? ht_launch<64, true>(maps, x, ck, chunks, part) : ht_launch<64, false>(maps, x, ck, chunks, part);
  return st == SLA2_OK ? cuda_sum_partials(x, part, chunks, (long long)D * D, htot) : st;
}

#else

extern "C" size_t cuda_light_htot_scratch_bytes(const cuda_exec *) { return 0; }
extern "C" sla2_status cuda_light_htot_launch(const cuda_exec *, const void *, void *, float *) {
  return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: built without sm_90a (wgmma)");
}

#endif
