/* ROUTE: router projections, block scores and the top-k LUT.
 *
 * Like the oracle the projections and scores are taken in double, in the oracle's order, and
 * the ranking uses the double score (SCORES keeps its f32 rounding). Without cl_khr_fp64 the
 * same arithmetic runs in float-float pairs (about 44 bits), so LUTs can differ from the oracle
 * only at genuine near-ties either way.
 *
 * Top-k per row: one work-group radix-selects the k-th largest of the row's 64-bit order keys
 * (8 passes of 8 bits with a local histogram), then writes the selected block indices in
 * ascending order; among equal keys the lower indices are taken (ties to the lower index). */

#pragma OPENCL FP_CONTRACT OFF

#ifdef SLA2_FP64
typedef double real_t;
inline real_t r_zero(void) { return 0.0; }
inline real_t r_fma_ff(real_t acc, float a, float b) { return acc + (double)a * (double)b; }
inline real_t r_add(real_t a, real_t b) { return a + b; }
inline real_t r_mul(real_t a, real_t b) { return a * b; }
inline real_t r_scale(real_t a, float s) { return (double)s * a; }
inline float r_to_float(real_t a) { return (float)a; }
/* Order key: larger score -> larger key; NaN below everything; -0 == +0. */
inline ulong r_key(real_t a) {
  if (isnan(a)) return 0ul;
  if (a == 0.0) a = 0.0;
  ulong u = as_ulong(a);
  return (u >> 63) ? ~u : (u | 0x8000000000000000ul);
}
#else
typedef float2 real_t; /* (hi, lo), |lo| <= ulp(hi) / 2 */
inline real_t r_zero(void) { return (float2)(0.0f, 0.0f); }
inline real_t r_add(real_t a, real_t b) {
  real_t s = two_sum(a.x, b.x);
  return fast_two_sum(s.x, s.y + a.y + b.y);
}
inline real_t two_prod(float a, float b) {
  float p = a * b;
  return (float2)(p, fma(a, b, -p));
}
inline real_t r_fma_ff(real_t acc, float a, float b) { return r_add(acc, two_prod(a, b)); }
inline real_t r_mul(real_t a, real_t b) {
  real_t p = two_prod(a.x, b.x);
  return fast_two_sum(p.x, p.y + (a.x * b.y + a.y * b.x));
}
inline real_t r_scale(real_t a, float s) {
  real_t p = two_prod(a.x, s);
  return fast_two_sum(p.x, p.y + a.y * s);
}
inline float r_to_float(real_t a) { return a.x + a.y; }
inline uint key32(float f) {
  if (f == 0.0f) f = 0.0f;
  uint u = as_uint(f);
  return (u >> 31) ? ~u : (u | 0x80000000u);
}
inline ulong r_key(real_t a) {
  if (isnan(a.x) || isnan(a.y)) return 0ul;
  return ((ulong)key32(a.x) << 32) | (ulong)key32(a.y);
}
#endif

/* out[bh][t][e] = sum_d W[hw][e][d] in[bh][t][d], hw = h when Hw == H else 0. */
__kernel void project(__global const float *in, __global const float *W, int Hw, int H, int T, long total,
                      __global real_t *out) {
  long gid = get_global_id(0);
  if (gid >= total) return;
  int e = (int)(gid % SLA2_D);
  long row = gid / SLA2_D;
  int bh = (int)(row / T), hw = Hw == 1 ? 0 : bh % H;
  __global const float *w = W + ((long)hw * SLA2_D + e) * SLA2_D;
  __global const float *x = in + row * SLA2_D;
#ifdef SLA2_FP64
  /* Four partial sums (the order differs from the oracle's by double roundings only). */
  double4 s4 = (double4)(0.0);
  for (int d = 0; d < SLA2_D; d += 4) s4 += convert_double4(vload4(0, w + d)) * convert_double4(vload4(0, x + d));
  out[gid] = (s4.s0 + s4.s1) + (s4.s2 + s4.s3);
#else
  real_t s = r_zero();
  for (int d = 0; d < SLA2_D; d++) s = r_fma_ff(s, w[d], x[d]);
  out[gid] = s;
#endif
}

#ifdef SLA2_CPU_DEVICE
/* CPU devices: one work-item per (bh, i) walks all key blocks (no barriers). */
__kernel void route_scores(__global const real_t *qp, __global const real_t *kp, int Tm, int Tn, float scale, int rows,
                           __global float *scores, __global ulong *keys) {
  const int row = (int)get_global_id(0);
  if (row >= rows) return;
  const int bh = row / Tm;
  __global const real_t *q = qp + (long)row * SLA2_D;
  for (int j = 0; j < Tn; j++) {
    __global const real_t *kr = kp + ((long)bh * Tn + j) * SLA2_D;
#ifdef SLA2_FP64
    double4 s4 = (double4)(0.0);
    for (int e = 0; e < SLA2_D; e += 4) s4 += vload4(0, q + e) * vload4(0, kr + e);
    real_t dot = (s4.s0 + s4.s1) + (s4.s2 + s4.s3);
#else
    real_t dot = r_zero();
    for (int e = 0; e < SLA2_D; e++) dot = r_add(dot, r_mul(q[e], kr[e]));
#endif
    real_t sc = r_scale(dot, scale);
    scores[(long)row * Tn + j] = r_to_float(sc);
    keys[(long)row * Tn + j] = r_key(sc);
  }
}
#else
/* scores[bh][i][j] = s * qp_i . kp_j for a 16 x 16 tile of (i, j) per work-group, the
 * projections staged through local memory in chunks of channels. Writes the f32 score and the
 * order key of the full-precision one. */
#define RT 16
#define RC 16
__kernel __attribute__((reqd_work_group_size(RT, RT, 1)))
void route_scores(__global const real_t *qp, __global const real_t *kp, int Tm, int Tn, float scale,
                  __global float *scores, __global ulong *keys) {
  __local real_t qs[RT][RC], ks[RT][RC + 1];
  int lj = (int)get_local_id(0), li = (int)get_local_id(1);
  int tiles_j = (Tn + RT - 1) / RT, tiles_i = (Tm + RT - 1) / RT;
  int grp = (int)get_group_id(0);
  int tj = grp % tiles_j, ti = (grp / tiles_j) % tiles_i, bh = grp / (tiles_j * tiles_i);
  int i = ti * RT + li, j = tj * RT + lj;
  __global const real_t *qrow = qp + ((long)bh * Tm + ti * RT) * SLA2_D;
  __global const real_t *krow = kp + ((long)bh * Tn + tj * RT) * SLA2_D;
  real_t dot = r_zero();
  for (int c0 = 0; c0 < SLA2_D; c0 += RC) {
    /* Stage rows (ti * RT + li) of qp and (tj * RT + li) of kp, channels c0 + lj. */
    int c = c0 + lj;
    qs[li][lj] = (ti * RT + li < Tm && c < SLA2_D) ? qrow[li * SLA2_D + c] : r_zero();
    ks[li][lj] = (tj * RT + li < Tn && c < SLA2_D) ? krow[li * SLA2_D + c] : r_zero();
    barrier(CLK_LOCAL_MEM_FENCE);
    int cn = min(RC, SLA2_D - c0);
    for (int cc = 0; cc < cn; cc++) dot = r_add(dot, r_mul(qs[li][cc], ks[lj][cc]));
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (i < Tm && j < Tn) {
    real_t s = r_scale(dot, scale);
    long at = ((long)bh * Tm + i) * Tn + j;
    scores[at] = r_to_float(s);
    keys[at] = r_key(s);
  }
}

#endif

#ifdef SLA2_CPU_DEVICE
/* CPU devices: one work-item per LUT row, the same radix select with a private histogram. */
__kernel void route_topk(__global const ulong *keys, int Tn, int k, int rows, __global int *lut) {
  const int row = (int)get_global_id(0);
  if (row >= rows) return;
  __global const ulong *key = keys + (long)row * Tn;
  __global int *out = lut + (long)row * k;
  if (k >= Tn) {
    for (int j = 0; j < Tn; j++) out[j] = j;
    return;
  }
  uint hist[256];
  ulong prefix = 0ul, mask = 0ul;
  int want = k;
  for (int shift = 56; shift >= 0; shift -= 8) {
    for (int i = 0; i < 256; i++) hist[i] = 0u;
    for (int j = 0; j < Tn; j++) {
      ulong v = key[j];
      if ((v & mask) == prefix) hist[(uint)(v >> shift) & 255u]++;
    }
    int above = 0, bin = 255;
    for (; bin > 0; bin--) {
      if (above + (int)hist[bin] >= want) break;
      above += (int)hist[bin];
    }
    want -= above;
    prefix |= (ulong)bin << shift;
    mask |= 0xFFul << shift;
  }
  int pos = 0;
  for (int j = 0; j < Tn; j++) {
    ulong v = key[j];
    if (v > prefix || (v == prefix && want-- > 0)) out[pos++] = j;
  }
}
#else
#define TK_WG 256

/* Exclusive prefix sum of v over the work-group (Hillis-Steele in local memory); *total gets
 * the sum. */
inline int wg_exclusive_scan(__local int *buf, int lid, int v, int *total) {
  buf[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int off = 1; off < TK_WG; off <<= 1) {
    int add = lid >= off ? buf[lid - off] : 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    buf[lid] += add;
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  int inclusive = buf[lid];
  *total = buf[TK_WG - 1];
  barrier(CLK_LOCAL_MEM_FENCE);
  return inclusive - v;
}

/* One work-group per (bh, i): lut row = the k best of keys[row][0..Tn), ascending. */
__kernel __attribute__((reqd_work_group_size(TK_WG, 1, 1)))
void route_topk(__global const ulong *keys, int Tn, int k, __global int *lut) {
  __local uint hist[256];
  __local int scan[TK_WG];
  __local ulong sel_prefix;
  __local int sel_want;
  int lid = (int)get_local_id(0);
  long row = get_group_id(0);
  __global const ulong *key = keys + row * Tn;
  __global int *out = lut + row * k;
  if (k >= Tn) {
    for (int j = lid; j < Tn; j += TK_WG) out[j] = j;
    return;
  }
  ulong prefix = 0ul, mask = 0ul;
  int want = k; /* how many still to take among keys that match prefix under mask */
  for (int shift = 56; shift >= 0; shift -= 8) {
    hist[lid] = 0u; /* TK_WG == 256 bins */
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = lid; j < Tn; j += TK_WG) {
      ulong v = key[j];
      if ((v & mask) == prefix) atomic_inc(&hist[(uint)(v >> shift) & 255u]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
      int above = 0, bin = 255;
      for (; bin > 0; bin--) {
        if (above + (int)hist[bin] >= want) break;
        above += (int)hist[bin];
      }
      sel_want = want - above;
      sel_prefix = prefix | ((ulong)bin << shift);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    want = sel_want;
    prefix = sel_prefix;
    mask |= 0xFFul << shift;
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  /* prefix is the k-th largest key; take every larger key and the first `want` equal ones. */
  int eq_before = 0, sel_before = 0;
  for (int base = 0; base < Tn; base += TK_WG) {
    int j = base + lid;
    ulong v = j < Tn ? key[j] : 0ul;
    int gt = j < Tn && v > prefix, eq = j < Tn && v == prefix;
    int eq_total, sel_total;
    int eq_rank = eq_before + wg_exclusive_scan(scan, lid, eq, &eq_total);
    int sel = gt || (eq && eq_rank < want);
    int pos = sel_before + wg_exclusive_scan(scan, lid, sel, &sel_total);
    if (sel) out[pos] = j;
    eq_before += eq_total;
    sel_before += sel_total;
  }
}
#endif
