/* f32-accurate matrix products on tensor cores: the 3xTF32 scheme.
 *
 * Each f32 operand x is split into big = tf32(x) and small = tf32(x - big) (x - big is exact in
 * f32), so x = big + small to about 2^-20 relative. A product a b is taken as
 * a_small b_big + a_big b_small + a_big b_big on m16n8k8 TF32 mma.sync with f32 accumulation;
 * the dropped a_small b_small is below 2^-20 |a b|. That keeps the f32 states of the linear
 * branch within the suite's NMSE 1e-9 where plain bf16 or tf32 products (~1e-5, ~1e-7) do not.
 * An operand that is already exact in tf32 (bf16 or f16 data widened) has small = 0 and the
 * middle product can be skipped. */
#ifndef SLA2_BACKENDS_CUDA_TF32X3_CUH
#define SLA2_BACKENDS_CUDA_TF32X3_CUH

#include <stdint.h>

struct tf32_pair {
  uint32_t big, small;
};

/* The split by truncation: big keeps the top 19 bits of x (a tf32 value), small = x - big is
 * exact in f32 and truncated to tf32 too, so x - big - small < 2^-20 |x|. Two logic ops and a
 * subtraction: cvt.rna.tf32 runs on the conversion pipe (16 lanes per clock per SM), which
 * bounded both product kernels when the split used it. */
__device__ inline tf32_pair tf32_split(float x) {
  tf32_pair p;
  p.big = __float_as_uint(x) & 0xffffe000u;
  p.small = __float_as_uint(x - __uint_as_float(p.big)) & 0xffffe000u;
  return p;
}

/* d += a b for one m16n8k8 tile: a rows (g, g+8) x cols (t, t+4), b rows (t, t+4) x col g. */
__device__ inline void mma_tf32(float d[4], const uint32_t a[4], const uint32_t b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/* d += a b in 3xTF32 from split fragments; b_exact skips a_big b_small (b's small parts are 0). */
__device__ inline void mma_tf32x3(float d[4], const tf32_pair a[4], const tf32_pair b[2], bool b_exact) {
  const uint32_t ab[4] = {a[0].big, a[1].big, a[2].big, a[3].big};
  const uint32_t as[4] = {a[0].small, a[1].small, a[2].small, a[3].small};
  const uint32_t bb[2] = {b[0].big, b[1].big};
  mma_tf32(d, as, bb);
  if (!b_exact) {
    const uint32_t bs[2] = {b[0].small, b[1].small};
    mma_tf32(d, ab, bs);
  }
  mma_tf32(d, ab, bb);
}

#endif
