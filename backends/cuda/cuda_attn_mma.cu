/* CUDA backend: the tensor-core flash-attention kernel for SPARSE_ATTN and DENSE_ATTN (sm_80+,
 * mma.sync).
 *
 * A CTA of 4 warps owns 64 query rows of one LUT row (a query block, or a 64-row part of it);
 * each warp owns 16 rows. It walks the row's selected key positions in chunks of 64 keys
 * (gathered across LUT blocks: a chunk may span several small blocks or half of a 128 block):
 *   load K and V rows to shared memory -> S = Q K^T on tensor cores -> online softmax in
 *   registers (log2 units) -> P as the A operand straight from the S accumulators -> O += P V.
 * Types by quant mode (QK x PV):
 *   none      bf16 x bf16 or f16 x f16 (m16n8k16, f32 accumulate). K~ arrives as f32 and is
 *             rounded to Q's type while staged; Q and V are used as given.
 *   int8      s8 x s8 (m16n8k32, exact s32 accumulate), scores scaled per key block by
 *             s sigma_q sigma_k; P V in V's type (bf16 or f16).
 *   int8_fp8  s8 QK^T as int8; P~ rounded to E4M3 of 448 P~ and V's E4M3 codes, both widened
 *             exactly to f16, f16 mma with f32 accumulate (E4M3 x E4M3 products are exact in
 *             f32, so this is the FP8 product); sigma_v / 448 and 1/l applied at the end.
 * Head dims up to 128 (padded with zeros to 64 or 128). */
#include <stdint.h>

#include "backends/cuda/cuda_attention.cuh"
#include "core/error.h"

#define MMA_ROWS 64
#define MMA_KC 64
#define MMA_THREADS 128

enum { T_BF16 = 0, T_F16 = 1, T_S8 = 2 };

template <int T>
__device__ inline uint32_t pack2(float lo, float hi) {
  if (T == T_BF16) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
  }
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&v);
}

template <int T>
__device__ inline void mma16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  if (T == T_BF16)
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ inline void mma_s8(int c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
               "{%0,%1,%2,%3};\n"
               : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ inline void ldmatrix_x4_trans(uint32_t r[4], const void *p) {
  const unsigned addr = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

/* Asynchronous global -> shared copies; a false `valid` zero-fills the destination. */
__device__ inline void cp_async16(void *dst, const void *src, bool valid) {
  const unsigned s = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 16 : 0));
}

__device__ inline void cp_async8(void *dst, const void *src, bool valid) {
  const unsigned s = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 8 : 0));
}

__device__ inline void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ inline void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

template <int DP, int QK>
struct mma_layout {
  static constexpr int KB = QK == T_S8 ? DP + 16 : (DP + 8) * 2; /* Q / K row bytes (padded) */
  static constexpr int VB = (DP + 8) * 2;                        /* V row bytes */
  /* One pipeline stage: K [, K lo], V, per-key score factor and mask. */
  static __host__ __device__ int stage_bytes(bool split) {
    return MMA_KC * KB * (split ? 2 : 1) + MMA_KC * VB + 2 * MMA_KC * (int)sizeof(float);
  }
};

/* Stages key positions [p0, p0 + MMA_KC) of K (and K lo, V) into one pipeline stage. */
template <int DP, int QK>
__device__ inline void stage_chunk(const attn_args &a, unsigned char *st, bool split, bool with_v, int p0, int total,
                                   const int *lut_row, int b, int h, int bh, float qfac, float fac) {
  typedef mma_layout<DP, QK> L;
  constexpr int IPR = DP / 8;
  unsigned char *ks = st, *klo = st + MMA_KC * L::KB;
  unsigned char *vs = st + MMA_KC * L::KB * (split ? 2 : 1);
  float *colf = reinterpret_cast<float *>(vs + MMA_KC * L::VB), *colb = colf + MMA_KC;
  for (int it = threadIdx.x; it < MMA_KC * IPR; it += MMA_THREADS) {
    const int r = it / IPR, d = (it % IPR) * 8, p = p0 + r;
    int blk = 0, key = 0;
    const bool in = p < total;
    if (in) key = attn_key(a, lut_row, p, &blk);
    const bool valid = in && d < a.D;
    const long long row = ((long long)bh * a.N + key) * a.D + d; /* contiguous [B,H,N,D] */
    if (QK == T_S8) {
      cp_async8(ks + r * L::KB + d, valid ? a.kc + row : a.kc, valid);
    } else {
      const uint16_t *kb = static_cast<const uint16_t *>(a.k.base);
      cp_async16(ks + r * L::KB + d * 2, valid ? kb + t4_off(a.k, b, h, key, d) : kb, valid);
      if (split) {
        const uint16_t *lb = static_cast<const uint16_t *>(a.klo);
        cp_async16(klo + r * L::KB + d * 2, valid ? lb + row : lb, valid);
      }
    }
    if (with_v) {
      const uint16_t *vb = static_cast<const uint16_t *>(a.v.base);
      cp_async16(vs + r * L::VB + d * 2, valid ? vb + t4_off(a.v, b, h, key, d) : vb, valid);
    }
    if (d == 0) {
      colf[r] = QK == T_S8 ? (in ? qfac * a.ks[(long long)bh * a.Tn + blk] : 0.0f) : fac;
      colb[r] = in ? 0.0f : -INFINITY;
    }
  }
}

template <int DP, int QK, int PV, bool FP8>
__global__ void __launch_bounds__(MMA_THREADS, FP8 ? 1 : 3) attn_mma_kernel(attn_args a) {
  extern __shared__ __align__(16) unsigned char smem[];
  typedef mma_layout<DP, QK> L;
  constexpr int KB = L::KB, VB = L::VB, IPR = DP / 8;
  constexpr int QKK = QK == T_S8 ? DP / 32 : DP / 16;
  const bool split = QK != T_S8 && a.klo != nullptr;
  const int SB = L::stage_bytes(split);

  const int tpb = (a.rows + MMA_ROWS - 1) / MMA_ROWS;
  const int i = blockIdx.x / tpb, sub = blockIdx.x % tpb, bh = blockIdx.y, b = bh / a.H, h = bh % a.H;
  const int n0 = i * a.rows + sub * MMA_ROWS;
  const int nend = min(a.N, min(i * a.rows + a.rows, n0 + MMA_ROWS));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
  const int *lut_row = a.lut ? a.lut + ((long long)bh * a.Tm + i) * a.nsel : nullptr;
  const int total = attn_total_keys(a, bh, i);
  const float fac = a.scale * CUDA_LOG2E;
  const float qfac = QK == T_S8 ? fac * a.qs[(long long)bh * a.Tm + i] : fac;

  /* Q tile -> shared (stage 1's space) -> A fragments in registers. */
  {
    unsigned char *qs = smem + SB;
    for (int it = threadIdx.x; it < MMA_ROWS * IPR; it += MMA_THREADS) {
      const int r = it / IPR, d = (it % IPR) * 8, n = n0 + r;
      const bool valid = n < nend && d < a.D;
      if (QK == T_S8) {
        const int8_t *src = a.qc + ((long long)bh * a.N + n) * a.D + d;
        cp_async8(qs + r * KB + d, valid ? src : a.qc, valid);
      } else {
        const uint16_t *qb = static_cast<const uint16_t *>(a.q.base);
        cp_async16(qs + r * KB + d * 2, valid ? qb + t4_off(a.q, b, h, n, d) : qb, valid);
      }
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
  }
  uint32_t qf[QKK][4];
  {
    const unsigned char *r0 = smem + SB + (warp * 16 + g) * KB, *r1 = r0 + 8 * KB;
#pragma unroll
    for (int kk = 0; kk < QKK; kk++) {
      const int off = QK == T_S8 ? kk * 32 + 4 * t : (kk * 16 + 2 * t) * 2;
      qf[kk][0] = *reinterpret_cast<const uint32_t *>(r0 + off);
      qf[kk][1] = *reinterpret_cast<const uint32_t *>(r1 + off);
      qf[kk][2] = *reinterpret_cast<const uint32_t *>(r0 + off + 16);
      qf[kk][3] = *reinterpret_cast<const uint32_t *>(r1 + off + 16);
    }
  }
  __syncthreads();

  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  float o[DP / 8][4];
#pragma unroll
  for (int dn = 0; dn < DP / 8; dn++) o[dn][0] = o[dn][1] = o[dn][2] = o[dn][3] = 0.0f;
  const int nchunks = (total + MMA_KC - 1) / MMA_KC;

  /* int8_fp8 rounds P~ = exp(S - m) to E4M3 at the exact row max like the oracle: pass 0 finds
   * it (QK^T only), pass 1 accumulates. Other modes take pass 1 alone (online softmax). */
  for (int pass = FP8 ? 0 : 1; pass < 2; pass++) {
    const bool with_v = pass == 1;
    stage_chunk<DP, QK>(a, smem, split, with_v, 0, total, lut_row, b, h, bh, qfac, fac);
    cp_async_commit();
    for (int c = 0; c < nchunks; c++) {
      if (c + 1 < nchunks) {
        stage_chunk<DP, QK>(a, smem + ((c + 1) & 1) * SB, split, with_v, (c + 1) * MMA_KC, total, lut_row, b, h,
                            bh, qfac, fac);
        cp_async_commit();
        cp_async_wait<1>();
      } else {
        cp_async_wait<0>();
      }
      __syncthreads();
      const unsigned char *ks = smem + (c & 1) * SB, *klo = ks + MMA_KC * KB;
      const unsigned char *vs = ks + MMA_KC * KB * (split ? 2 : 1);
      const float *colf = reinterpret_cast<const float *>(vs + MMA_KC * VB), *colb = colf + MMA_KC;

      /* S = Q K^T (16 rows x 64 keys per warp), scaled to log2 units, masked. */
      float s[8][4];
      if (QK == T_S8) {
        int si[8][4];
#pragma unroll
        for (int nt = 0; nt < 8; nt++) si[nt][0] = si[nt][1] = si[nt][2] = si[nt][3] = 0;
#pragma unroll
        for (int kk = 0; kk < QKK; kk++)
#pragma unroll
          for (int nt = 0; nt < 8; nt++) {
            const unsigned char *kr = ks + (nt * 8 + g) * KB + kk * 32 + 4 * t;
            mma_s8(si[nt], qf[kk], *reinterpret_cast<const uint32_t *>(kr),
                   *reinterpret_cast<const uint32_t *>(kr + 16));
          }
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
          for (int e = 0; e < 4; e++) {
            const int col = nt * 8 + 2 * t + (e & 1);
            s[nt][e] = s8dot_to_f32(si[nt][e]) * colf[col] + colb[col];
          }
      } else {
#pragma unroll
        for (int nt = 0; nt < 8; nt++) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < QKK; kk++)
#pragma unroll
          for (int nt = 0; nt < 8; nt++) {
            const int off = (nt * 8 + g) * KB + (kk * 16 + 2 * t) * 2;
            mma16<QK>(s[nt], qf[kk], *reinterpret_cast<const uint32_t *>(ks + off),
                      *reinterpret_cast<const uint32_t *>(ks + off + 16));
            if (split) /* K~ = hi + lo: the f32 K~ to about 16 bits */
              mma16<QK>(s[nt], qf[kk], *reinterpret_cast<const uint32_t *>(klo + off),
                        *reinterpret_cast<const uint32_t *>(klo + off + 16));
          }
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
          for (int e = 0; e < 4; e++) s[nt][e] = s[nt][e] * fac + colb[nt * 8 + 2 * t + (e & 1)];
      }

      /* Row max: rows g (e = 0, 1) and g + 8 (e = 2, 3); a row lives in a quad of lanes. */
      float mx[2] = {m[0], m[1]};
#pragma unroll
      for (int nt = 0; nt < 8; nt++) {
        mx[0] = fmaxf(mx[0], fmaxf(s[nt][0], s[nt][1]));
        mx[1] = fmaxf(mx[1], fmaxf(s[nt][2], s[nt][3]));
      }
#pragma unroll
      for (int r = 0; r < 2; r++) {
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      }
      if (pass == 0) {
        m[0] = mx[0], m[1] = mx[1];
        __syncthreads();
        continue;
      }
      float mu[2];
#pragma unroll
      for (int r = 0; r < 2; r++) {
        mu[r] = mx[r] == -INFINITY ? 0.0f : mx[r];
        const float corr = exp2f(m[r] - mu[r]);
        m[r] = mx[r];
        l[r] *= corr;
#pragma unroll
        for (int dn = 0; dn < DP / 8; dn++) o[dn][2 * r] *= corr, o[dn][2 * r + 1] *= corr;
      }
      uint32_t pa[4][4];
#pragma unroll
      for (int nt = 0; nt < 8; nt++) {
        const float e0 = exp2f(s[nt][0] - mu[0]), e1 = exp2f(s[nt][1] - mu[0]);
        const float e2 = exp2f(s[nt][2] - mu[1]), e3 = exp2f(s[nt][3] - mu[1]);
        l[0] += e0 + e1;
        l[1] += e2 + e3;
        if (FP8) {
          pa[nt / 2][(nt % 2) * 2] = p_fp8_pair(e0, e1);
          pa[nt / 2][(nt % 2) * 2 + 1] = p_fp8_pair(e2, e3);
        } else {
          pa[nt / 2][(nt % 2) * 2] = pack2<PV>(e0, e1);
          pa[nt / 2][(nt % 2) * 2 + 1] = pack2<PV>(e2, e3);
        }
      }

      /* O += P V: V fragments through ldmatrix.trans (keys are the k dimension). */
      const int lj = lane >> 3, lr = lane & 7;
#pragma unroll
      for (int kk = 0; kk < 4; kk++)
#pragma unroll
        for (int dn = 0; dn < DP / 16; dn++) {
          uint32_t vf[4];
          ldmatrix_x4_trans(vf, vs + (kk * 16 + (lj & 1) * 8 + lr) * VB + (dn * 16 + (lj >> 1) * 8) * 2);
          mma16<PV>(o[2 * dn], pa[kk], vf[0], vf[1]);
          mma16<PV>(o[2 * dn + 1], pa[kk], vf[2], vf[3]);
        }
      __syncthreads();
    }
  }

#pragma unroll
  for (int r = 0; r < 2; r++) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
  const int na = n0 + warp * 16 + g, nb = na + 8;
  const float inv0 = 1.0f / l[0], inv1 = 1.0f / l[1];
#pragma unroll
  for (int dn = 0; dn < DP / 8; dn++)
#pragma unroll
    for (int e = 0; e < 2; e++) {
      const int c = dn * 8 + 2 * t + e;
      if (c >= a.D) continue;
      const float cs = FP8 ? a.vs[(long long)bh * a.D + c] / SLA2_FP8_P_SCALE : 1.0f;
      if (na < nend) t4_store(a.o, b, h, na, c, o[dn][e] * cs * inv0);
      if (nb < nend) t4_store(a.o, b, h, nb, c, o[dn][2 + e] * cs * inv1);
    }
  if (a.lse && t == 0) {
    if (na < nend) attn_store_lse(a, bh, na, (m[0] + log2f(l[0])) * CUDA_LN2);
    if (nb < nend) attn_store_lse(a, bh, nb, (m[1] + log2f(l[1])) * CUDA_LN2);
  }
}

/* Prep: K~ (f32) -> hi = round(K~), lo = round(K~ - hi) in type T (contiguous [B,H,N,D]). */
template <int T>
__global__ void split_k_kernel(cuda_t4 k, int H, int N, int D, uint16_t *hi, uint16_t *lo, long long count) {
  const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= count) return;
  const int d = (int)(idx % D);
  const long long row = idx / D;
  const int n = (int)(row % N);
  const long long bh = row / N;
  const float x = t4_load(k, bh / H, bh % H, n, d);
  const uint32_t hh = pack2<T>(x, 0.0f);
  const float xh = T == T_BF16 ? __uint_as_float(hh << 16) : __half2float(__ushort_as_half((unsigned short)hh));
  hi[idx] = (uint16_t)(hh & 0xffffu);
  lo[idx] = (uint16_t)(pack2<T>(x - xh, 0.0f) & 0xffffu);
}

/* Prep: FP8 V codes -> their exact f16 values (contiguous [B,H,N,D]), 8 per thread. */
__global__ void fp8_to_f16_kernel(const uint8_t *codes, uint16_t *out, long long count8) {
  const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= count8) return;
  const uint2 c = reinterpret_cast<const uint2 *>(codes)[idx];
  uint4 v;
  v.x = fp8x2_to_f16x2((unsigned short)(c.x & 0xffffu)), v.y = fp8x2_to_f16x2((unsigned short)(c.x >> 16));
  v.z = fp8x2_to_f16x2((unsigned short)(c.y & 0xffffu)), v.w = fp8x2_to_f16x2((unsigned short)(c.y >> 16));
  reinterpret_cast<uint4 *>(out)[idx] = v;
}

static bool vec16(const cuda_t4 &t, int dtype) {
  return t.dtype == dtype && t.s[3] == 1 && t.s[2] % 8 == 0 && t.s[1] % 8 == 0 && t.s[0] % 8 == 0 &&
         (uintptr_t)t.base % 16 == 0;
}

static bool vec_f32(const cuda_t4 &t) {
  return t.dtype == SLA2_F32 && t.s[3] == 1 && t.s[2] % 4 == 0 && t.s[1] % 4 == 0 && t.s[0] % 4 == 0 &&
         (uintptr_t)t.base % 16 == 0;
}

/* QK and PV element types of the tensor-core path for these arguments, or false. */
static bool mma_types(const attn_args &a, int *qk, int *pv) {
  if (a.D > 128 || a.D % 8 != 0) return false;
  if (a.quant == SLA2_QMODE_INT8_FP8) {
    *qk = T_S8, *pv = T_F16;
    return true;
  }
  int vt;
  if (vec16(a.v, SLA2_BF16))
    vt = T_BF16;
  else if (vec16(a.v, SLA2_F16))
    vt = T_F16;
  else
    return false;
  if (a.quant == SLA2_QMODE_INT8) {
    *qk = T_S8, *pv = vt;
    return true;
  }
  const int dt = vt == T_BF16 ? SLA2_BF16 : SLA2_F16;
  if (!vec16(a.q, dt) || !(vec16(a.k, dt) || vec_f32(a.k))) return false;
  *qk = vt, *pv = vt;
  return true;
}

bool attn_mma_supported(const attn_args &a, const cuda_device_ctx *dev) {
  int qk, pv;
  return dev->cc_major >= 8 && mma_types(a, &qk, &pv);
}

template <int DP, int QK, int PV, bool FP8>
static sla2_status launch(const attn_args &a, cuda_device_ctx *dev, long long BH) {
  const unsigned tpb = (unsigned)((a.rows + MMA_ROWS - 1) / MMA_ROWS);
  const int bytes = 2 * mma_layout<DP, QK>::stage_bytes(QK != T_S8 && a.klo != nullptr);
  sla2_status st = cuda_check(
      cudaFuncSetAttribute(attn_mma_kernel<DP, QK, PV, FP8>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
      "attention shared memory");
  if (st != SLA2_OK) return st;
  dim3 grid((unsigned)a.Tm * tpb, (unsigned)BH);
  attn_mma_kernel<DP, QK, PV, FP8><<<grid, MMA_THREADS, bytes, dev->stream>>>(a);
  return cuda_check_launch("attention (mma)");
}

template <int DP>
static sla2_status launch_dp(const attn_args &a, cuda_device_ctx *dev, long long BH, int qk, int pv) {
  if (a.quant == SLA2_QMODE_INT8_FP8) return launch<DP, T_S8, T_F16, true>(a, dev, BH);
  if (qk == T_S8) return pv == T_BF16 ? launch<DP, T_S8, T_BF16, false>(a, dev, BH)
                                      : launch<DP, T_S8, T_F16, false>(a, dev, BH);
  return qk == T_BF16 ? launch<DP, T_BF16, T_BF16, false>(a, dev, BH) : launch<DP, T_F16, T_F16, false>(a, dev, BH);
}

sla2_status attn_split_k(const attn_args &a, cuda_device_ctx *dev, long long BH, bool bf16, cuda_t4 *hi,
                         const void **lo) {
  const long long count = BH * a.N * a.D;
  void *p;
  sla2_status st = cuda_scratch(dev, (size_t)count * 4, &p);
  if (st != SLA2_OK) return st;
  uint16_t *h = (uint16_t *)p, *l = h + count;
  if (bf16)
    split_k_kernel<T_BF16><<<cdiv_u(count, 256), 256, 0, dev->stream>>>(a.k, a.H, a.N, a.D, h, l, count);
  else
    split_k_kernel<T_F16><<<cdiv_u(count, 256), 256, 0, dev->stream>>>(a.k, a.H, a.N, a.D, h, l, count);
  *hi = cuda_t4_contiguous(h, bf16 ? SLA2_BF16 : SLA2_F16, a.H, a.N, a.D);
  *lo = l;
  return cuda_check_launch("attention split K");
}

sla2_status attn_fp8_v_f16(const attn_args &a, cuda_device_ctx *dev, long long BH, cuda_t4 *v) {
  const long long count = BH * a.N * a.D;
  void *p;
  sla2_status st = cuda_scratch(dev, (size_t)count * 2, &p);
  if (st != SLA2_OK) return st;
  fp8_to_f16_kernel<<<cdiv_u(count / 8, 256), 256, 0, dev->stream>>>(a.vc, (uint16_t *)p, count / 8);
  *v = cuda_t4_contiguous(p, SLA2_F16, a.H, a.N, a.D);
  return cuda_check_launch("attention FP8 V");
}

/* Prepares what the kernel reads directly (K~ split to 16-bit hi + lo, FP8 V as f16) in the
 * device scratch, then launches. */
sla2_status attn_mma_launch(const attn_args &args, cuda_device_ctx *dev, long long BH) {
  int qk, pv;
  if (!mma_types(args, &qk, &pv)) return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: attention arguments not for mma");
  attn_args a = args;
  if (a.quant == SLA2_QMODE_INT8_FP8) {
    sla2_status st = attn_fp8_v_f16(args, dev, BH, &a.v);
    if (st != SLA2_OK) return st;
  } else if (a.quant == SLA2_QMODE_NONE && a.k.dtype == SLA2_F32) {
    sla2_status st = attn_split_k(args, dev, BH, qk == T_BF16, &a.k, &a.klo);
    if (st != SLA2_OK) return st;
  }
  return a.D <= 64 ? launch_dp<64>(a, dev, BH, qk, pv) : launch_dp<128>(a, dev, BH, qk, pv);
}
