/* sm_90a building blocks for the Hopper kernels (cuda_attn_wgmma.cu, cuda_linear_wgmma.cu):
 * mbarriers, TMA tile loads, warpgroup MMA (wgmma) and its shared-memory descriptors, and the
 * tile sizes both kernels share. Device code only; every function here is compiled for sm_90a
 * alone (the caller guards its use). */
#ifndef SLA2_BACKENDS_CUDA_ATTN_WGMMA_CUH
#define SLA2_BACKENDS_CUDA_ATTN_WGMMA_CUH

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#define WG_BN 128       /* key positions per tile */
#define WG_PANEL 16384  /* one 64-column panel of a 128-row 16-bit tile: 128 rows x 128 bytes */

__device__ inline uint32_t smem_u32(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

/* ---- mbarriers ---- */
__device__ inline void mbar_init(uint64_t *bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(count) : "memory");
}

/* Makes the initialised barriers visible to the copy engine before any thread uses them. */
__device__ inline void mbar_init_fence() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }

__device__ inline void mbar_arrive_expect_tx(uint64_t *bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(bytes)
               : "memory");
}

__device__ inline void mbar_arrive(uint64_t *bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_u32(bar)) : "memory");
}

/* Spins until the phase of parity `parity` has completed. */
__device__ inline void mbar_wait(uint64_t *bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\n"
      "wait_again:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait_again;\n}\n" ::"r"(smem_u32(bar)),
      "r"(parity)
      : "memory");
}

/* The LUT-row kernels' Q buffer and K / V ring of S stages: 2 + 4 S consecutive barriers q_full,
 * q_empty, k_full[S], k_empty[S], v_full[S], v_empty[S]. Full barriers complete on the copy
 * engine's byte count (one arrival by the producer thread), empty ones on an arrival of each of
 * the consumer threads. The Q of a CTA's work item t completes q_full's phase t and frees the
 * buffer with q_empty's phase t. Ring entry u (K and V entries counted separately, across work
 * items) lives in stage u % S, where its barriers complete phase u / S: consumers wait for that
 * phase's parity, the producer refilling the stage for the phase before. */
template <int S>
struct wg_ring {
  static constexpr int BARS = 2 + 4 * S;
  uint64_t *bars;
  __device__ static int stage(int u) { return u % S; }
  __device__ static uint32_t parity(int u) { return (uint32_t)(u / S) & 1u; }
  __device__ uint64_t *q_full() const { return bars; }
  __device__ uint64_t *q_empty() const { return bars + 1; }
  __device__ uint64_t *k_full(int u) const { return bars + 2 + stage(u); }
  __device__ uint64_t *k_empty(int u) const { return bars + 2 + S + stage(u); }
  __device__ uint64_t *v_full(int u) const { return bars + 2 + 2 * S + stage(u); }
  __device__ uint64_t *v_empty(int u) const { return bars + 2 + 3 * S + stage(u); }
  __device__ void wait_k(int u) const { mbar_wait(k_full(u), parity(u)); }
  __device__ void wait_v(int u) const { mbar_wait(v_full(u), parity(u)); }
  __device__ void wait_k_free(int u) const { mbar_wait(k_empty(u), parity(u) ^ 1u); }
  __device__ void wait_v_free(int u) const { mbar_wait(v_empty(u), parity(u) ^ 1u); }
  __device__ void release_k(int u) const { mbar_arrive(k_empty(u)); }
  __device__ void release_v(int u) const { mbar_arrive(v_empty(u)); }
  /* Every thread of the CTA calls this. */
  __device__ void init(int consumers) const {
    if (threadIdx.x == 0) {
      mbar_init(q_full(), 1), mbar_init(q_empty(), consumers);
      for (int s = 0; s < S; s++) {
        mbar_init(k_full(s), 1), mbar_init(v_full(s), 1);
        mbar_init(k_empty(s), consumers), mbar_init(v_empty(s), consumers);
      }
      mbar_init_fence();
    }
    __syncthreads();
  }
};

/* sm_90's opt-in shared memory per CTA; the ring stages of a kernel whose other shared memory
 * takes `fixed` bytes: as many stages of `stage` bytes as fit, at least 2 and at most 4. */
#define WG_SMEM_MAX 232448
__host__ __device__ constexpr int wg_stages(int fixed, int stage) {
  return (WG_SMEM_MAX - fixed) / stage >= 4 ? 4 : (WG_SMEM_MAX - fixed) / stage >= 3 ? 3 : 2;
}

/* ---- TMA: one box of a 4-D tensor map (D, N, H, B) into shared memory, completing on `bar` ---- */
__device__ inline void tma_load4(void *dst, const CUtensorMap *map, uint64_t *bar, int d, int n, int h, int b) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], "
      "[%6];\n" ::"r"(smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(d), "r"(n), "r"(h), "r"(b), "r"(smem_u32(bar))
      : "memory");
}

__device__ inline void tma_prefetch_map(const CUtensorMap *map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

/* 2^x in one MUFU op (subnormal results flush to zero: probabilities below 2^-126). */
__device__ inline float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/* ---- register budget per warpgroup role ---- */
template <int N>
__device__ inline void regs_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N)); }
template <int N>
__device__ inline void regs_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N)); }

/* ---- ordering among roles ---- */
/* Shared-memory writes by threads (generic proxy) made visible to later wgmma / TMA accesses
 * (async proxy); a barrier after it orders them for the other threads. */
__device__ inline void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
/* Named barrier `id` (1 to 15; 0 is __syncthreads) among `count` threads, a multiple of 32. */
__device__ inline void named_barrier(int id, int count) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}

/* ---- wgmma ---- */
/* Descriptor of a swizzled tile in shared memory: rows of `row` = 128, 64 or 32 bytes, 8-row
 * groups of 8 * row bytes, aligned to that size (the copy engine wrote them with the same swizzle).
 * K-major operands (rows along k): lbo unused, sbo = 8 * row (next 8 rows).
 * MN-major operands (rows along k, 64 16-bit values of n each, row 128): lbo = bytes to the next
 * 64 n values, sbo = 1024 (next 8 k rows). */
__device__ inline uint64_t wg_desc(const void *p, uint32_t lbo, int row) {
  uint64_t d = (uint64_t)((smem_u32(p) & 0x3FFFF) >> 4);
  d |= (uint64_t)((lbo >> 4) & 0x3FFF) << 16;
  d |= (uint64_t)(((8 * row) >> 4) & 0x3FFF) << 32;
  d |= (uint64_t)(row == 128 ? 1 : row == 64 ? 2 : 3) << 62; /* 128-, 64- or 32-byte swizzle */
  return d;
}

__device__ inline void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ inline void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ inline void wg_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }

/* Keeps the compiler from moving accesses of accumulator registers across an asynchronous
 * wgmma's issue or wait. */
template <int N>
__device__ inline void wg_fence_regs(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+f"(d[i])::"memory");
}
template <int N>
__device__ inline void wg_fence_regs(uint32_t (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+r"(d[i])::"memory");
}
template <int N>
__device__ inline void wg_fence_regs(int (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+r"(d[i])::"memory");
}

/* Operand lists of the 32 or 64 accumulator registers (f32, or s32 for WG_OUT64I). */
#define WG_ACC32 "{" \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15" ", " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31" "}"
#define WG_OUT32(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
  "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
  "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
  "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define WG_ACC64 "{" \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15" ", " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31" ", " \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47" ", " \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63" "}"
#define WG_OUT64(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
  "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
  "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
  "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
  "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
  "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
  "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
  "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])

#define WG_OUT64I(d) \
  "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), \
  "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), \
  "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), \
  "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), \
  "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), \
  "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), \
  "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), \
  "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63])

/* D[64x128] (+)= A[64x16] B[16x128], A and B from shared memory, both K-major. */
template <bool F16>
__device__ inline void wgmma_ss_n128(float (&d)[64], uint64_t da, uint64_t db, int accumulate) {
  if (F16)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " WG_ACC64 ", %64, %65, p, 1, 1, 0, 0;\n}\n"
                 : WG_OUT64(d)
                 : "l"(da), "l"(db), "r"(accumulate));
  else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " WG_ACC64 ", %64, %65, p, 1, 1, 0, 0;\n}\n"
                 : WG_OUT64(d)
                 : "l"(da), "l"(db), "r"(accumulate));
}

/* D[64x64] (+)= A[64x16] B[16x64], A and B from shared memory, both K-major. */
template <bool F16>
__device__ inline void wgmma_ss_n64(float (&d)[32], uint64_t da, uint64_t db, int accumulate) {
  if (F16)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " WG_ACC32 ", %32, %33, p, 1, 1, 0, 0;\n}\n"
                 : WG_OUT32(d)
                 : "l"(da), "l"(db), "r"(accumulate));
  else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " WG_ACC32 ", %32, %33, p, 1, 1, 0, 0;\n}\n"
                 : WG_OUT32(d)
                 : "l"(da), "l"(db), "r"(accumulate));
}

/* D[64xN] (+)= A[64x16] B[16xN], A and B from shared memory, both MN-major (transposed: rows
 * along k, 64 m or n values each). N = 128 or 64 by d's size. */
template <bool F16>
__device__ inline void wgmma_tt(float (&d)[64], uint64_t da, uint64_t db, int accumulate) {
  if (F16)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " WG_ACC64 ", %64, %65, p, 1, 1, 1, 1;\n}\n"
                 : WG_OUT64(d)
                 : "l"(da), "l"(db), "r"(accumulate));
  else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " WG_ACC64 ", %64, %65, p, 1, 1, 1, 1;\n}\n"
                 : WG_OUT64(d)
                 : "l"(da), "l"(db), "r"(accumulate));
}
template <bool F16>
__device__ inline void wgmma_tt(float (&d)[32], uint64_t da, uint64_t db, int accumulate) {
  if (F16)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " WG_ACC32 ", %32, %33, p, 1, 1, 1, 1;\n}\n"
                 : WG_OUT32(d)
                 : "l"(da), "l"(db), "r"(accumulate));
  else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " WG_ACC32 ", %32, %33, p, 1, 1, 1, 1;\n}\n"
                 : WG_OUT32(d)
                 : "l"(da), "l"(db), "r"(accumulate));
}

/* D[64x8] (+)= A[64x16] B[16x8], A from shared memory MN-major (as wgmma_tt), B K-major. */
template <bool F16>
__device__ inline void wgmma_tk_n8(float (&d)[4], uint64_t da, uint64_t db, int accumulate) {
  if (F16)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %6, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16 {%0, %1, %2, %3}, %4, %5, p, 1, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "l"(da), "l"(db), "r"(accumulate));
  else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %6, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {%0, %1, %2, %3}, %4, %5, p, 1, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "l"(da), "l"(db), "r"(accumulate));
}

/* D[64x128] (+)= A[64x32] B[32x128] in s8 with an exact s32 sum, A and B from shared memory. */
__device__ inline void wgmma_s8_n128(int (&d)[64], uint64_t da, uint64_t db, int accumulate) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " WG_ACC64 ", %64, %65, p;\n}\n"
               : WG_OUT64I(d)
               : "l"(da), "l"(db), "r"(accumulate));
}

/* D[64xN] += A[64x16] B[16xN], A in registers (the m16n8k16 A fragment per warp), B from shared
 * memory MN-major (transposed). N = 128 or 64. */
template <bool F16>
__device__ inline void wgmma_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t db) {
  if (F16)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " WG_ACC64
                 ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
                 : WG_OUT64(d)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
  else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " WG_ACC64
                 ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
                 : WG_OUT64(d)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}
template <bool F16>
__device__ inline void wgmma_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t db) {
  if (F16)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " WG_ACC32
                 ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
                 : WG_OUT32(d)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
  else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " WG_ACC32
                 ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
                 : WG_OUT32(d)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}

/* D[64xN] += A[64x32] B[32xN] in E4M3 with f32 accumulation, A in registers (per warp rows g and
 * g + 8; a[0] / a[1]: k = 4 q4 .. 4 q4 + 3 of rows g / g + 8, a[2] / a[3]: k + 16; the lowest k in
 * the low byte), B K-major from shared memory. N = 128 or 64. */
__device__ inline void wgmma_e4m3_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t db) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 " WG_ACC64
               ", {%64, %65, %66, %67}, %68, p, 1, 1;\n}\n"
               : WG_OUT64(d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}
__device__ inline void wgmma_e4m3_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t db) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 " WG_ACC32
               ", {%32, %33, %34, %35}, %36, p, 1, 1;\n}\n"
               : WG_OUT32(d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}

/* Two floats rounded to a 16-bit pair (f16 or bf16), the first in the low half: one register
 * of a wgmma A fragment. */
template <bool F16>
__device__ inline uint32_t pack_pair16(float lo, float hi) {
  if (F16) {
    const __half2 x = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t *>(&x);
  }
  const __nv_bfloat162 x = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t *>(&x);
}

/* o += P V over one tile of WG_BN keys: P as A fragments in registers (16 keys per kk), V
 * MN-major at sv (WG_BN rows, 64-channel panels of WG_PANEL bytes). Issued and committed, not
 * waited for. */
template <bool F16, int N>
__device__ inline void wg_issue_pv_tile(float (&o)[N], const uint32_t (&pa)[WG_BN / 16][4], const unsigned char *sv) {
  wg_fence_regs(o);
  wg_fence();
#pragma unroll
  for (int kk = 0; kk < WG_BN / 16; kk++) wgmma_rs<F16>(o, pa[kk], wg_desc(sv + kk * 2048, WG_PANEL, 128));
  wg_commit();
}

#endif
