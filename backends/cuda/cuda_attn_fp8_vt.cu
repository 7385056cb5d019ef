/* CUDA backend: V's E4M3 codes rearranged for the Hopper kernel's FP8 P V product
 * (cuda_attn_wgmma.cu), built with it only (sm_90a among the architectures).
 *
 * wgmma takes V (keys along k) K-major: per chunk of ATTN_VT_KEYS = 32 keys a [D][32] byte tile,
 * one row per channel, so the layout is [B*H][chunks][D][32]. Within each 16 keys the order is
 * permuted so that the S accumulator fragment a consumer thread holds (keys 2 q4, 2 q4 + 1,
 * 8 + 2 q4, 9 + 2 q4 of each 16, rows g and g + 8) is, rounded to E4M3, the A fragment of the
 * product (k = 4 q4 .. 4 q4 + 3): position l of 16 holds key 2 (l / 4) + l % 2 + 8 ((l / 2) % 2).
 * P V sums over keys, so the order does not change it. Keys past N are zero codes. */
#ifdef SLA2_CUDA_SM90A
#include "backends/cuda/cuda_attention.cuh"

#define VT_CTA_KEYS 128 /* keys (four chunks) per CTA */

/* One CTA per 128 keys of one head: the codes' rows in through shared memory (16-byte loads,
 * D % 16 == 0), each thread then writes 16 positions (a 16-key half) of one channel's row. */
__global__ void __launch_bounds__(256) fp8_vt_kernel(const uint8_t *vc, uint8_t *vt, int N, int D, int chunks) {
  __shared__ __align__(16) uint8_t tile[VT_CTA_KEYS][SLA2_HEAD_DIM_MAX + 16]; /* +16: rows on distinct banks */
  const long long bh = blockIdx.y;
  const int key0 = blockIdx.x * VT_CTA_KEYS, vecs = D / 16;
  const uint8_t *src = vc + bh * N * D;
  for (int i = threadIdx.x; i < VT_CTA_KEYS * vecs; i += blockDim.x) {
    const int r = i / vecs, w = i % vecs;
    *reinterpret_cast<uint4 *>(&tile[r][16 * w]) =
        key0 + r < N ? *reinterpret_cast<const uint4 *>(src + (long long)(key0 + r) * D + 16 * w)
                     : make_uint4(0, 0, 0, 0);
  }
  __syncthreads();
  const int c0 = blockIdx.x * (VT_CTA_KEYS / ATTN_VT_KEYS), nc = min(VT_CTA_KEYS / ATTN_VT_KEYS, chunks - c0);
  for (int i = threadIdx.x; i < nc * D * 2; i += blockDim.x) {
    const int c = i / (2 * D), d = (i / 2) % D, half = i % 2;
    const int k0 = ATTN_VT_KEYS * c + 16 * half;
    uint32_t w[4];
#pragma unroll
    for (int q = 0; q < 4; q++) { /* positions 4 q .. 4 q + 3: keys 2 q, 2 q + 1, 2 q + 8, 2 q + 9 */
      const int k = k0 + 2 * q;
      w[q] = tile[k][d] | (uint32_t)tile[k + 1][d] << 8 | (uint32_t)tile[k + 8][d] << 16 |
             (uint32_t)tile[k + 9][d] << 24;
    }
    *reinterpret_cast<uint4 *>(vt + ((bh * chunks + c0 + c) * D + d) * ATTN_VT_KEYS + 16 * half) =
        make_uint4(w[0], w[1], w[2], w[3]);
  }
}

sla2_status attn_fp8_vt(const attn_args &a, cuda_device_ctx *dev, long long BH, const uint8_t **vt, int *chunks) {
  const int nc = (a.N + ATTN_VT_KEYS - 1) / ATTN_VT_KEYS;
  void *p;
  sla2_status st = cuda_scratch(dev, (size_t)BH * nc * a.D * ATTN_VT_KEYS, &p);
  if (st != SLA2_OK) return st;
  const dim3 grid((unsigned)((a.N + VT_CTA_KEYS - 1) / VT_CTA_KEYS), (unsigned)BH);
  fp8_vt_kernel<<<grid, 256, 0, dev->stream>>>(a.vc, (uint8_t *)p, a.N, a.D, nc);
  *vt = (const uint8_t *)p, *chunks = nc;
  return cuda_check_launch("attention FP8 V transposed");
}

#endif
