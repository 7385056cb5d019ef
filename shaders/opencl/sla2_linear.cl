/* Linear branch: KV_STATE (per key block h_j = phiK_j^T V_j, z_j = phiK_j^T 1, and the totals)
 * and LINEAR_ATTN (O_l = phi(q) H_i / (phi(q) . Z_i) with H_i = H_tot - sum_{j in LUT_i} h_j).
 *
 * Both are small GEMMs per block, C[i][e] = sum_k A[i][k] B[k][e], on a work-group of
 * LN_TC x LN_TR work-items: work-item (tc, tr) owns rows i = tr + LN_TR a and the columns
 * e = (g LN_TC + tc) LN_V + c as vectors of LN_V, with A and B staged through local memory
 * KV_CH / LQ_CH steps of k at a time; f32 accumulation (at most 128 or D products per output).
 *   GPUs: 16 x 16 work-items, float4 columns, 16 k-steps per stage.
 *   CPU devices (LN_SERIAL): one work-item per block walking row pairs with float16 (or float8)
 *   columns, operands read in place, no barriers.
 * Build parameters: LN_TR, LN_TC, LN_V, KV_CH (rows staged per step of KV_STATE), LQ_CH
 * (channels staged per step of LINEAR_ATTN), LN_BQ / LN_BK (rows of a query / key block), KT_RUN
 * (elements per work-item of kv_total), plus SLA2_D. */

#define LN_CAT_(a, b) a##b
#define LN_CAT(a, b) LN_CAT_(a, b)
#if LN_V == 1
typedef float lvec;
#define LV_STORE(v, p) (*(p) = (v))
#else
typedef LN_CAT(float, LN_V) lvec;
#define LV_STORE(v, p) LN_CAT(vstore, LN_V)(v, 0, p)
#endif
#define LN_CV (SLA2_D / (LN_TC * LN_V)) /* column vectors per work-item */
#define LN_RA (SLA2_D / LN_TR)          /* KV_STATE: channel rows per work-item */
#define LN_RQ ((LN_BQ + LN_TR - 1) / LN_TR) /* LINEAR_ATTN: query rows per work-item */
#define LN_WG (LN_TR * LN_TC)
#define LN_LDB (SLA2_D + (LN_V > 4 ? 0 : 4)) /* B rows in local memory (padded on GPUs) */

#if LN_SERIAL
/* CPU devices: one work-item per (bh, j) walks h_j in tiles of 4 channel rows x KV_G column
 * vectors (16 accumulators: each V vector loaded serves 4 FMAs) over the block's phi(K) rows A
 * and V rows B, both in local memory. No barriers: PoCL keeps the accumulators in registers only
 * within a barrier-free region. */
#define KV_G (LN_CV % 4 == 0 ? 4 : LN_CV % 2 == 0 ? 2 : 1)
inline void kv_serial(__local const float *A, __local const lvec *Bv, int rn, __global float *hj, __global float *zj) {
  for (int d0 = 0; d0 < SLA2_D; d0 += 4) {
    float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int rr = 0; rr < rn; rr++)
      #pragma unroll
      for (int i = 0; i < 4; i++) z[i] += A[rr * SLA2_D + d0 + i];
    #pragma unroll
    for (int i = 0; i < 4; i++) zj[d0 + i] = z[i];
    for (int g0 = 0; g0 < LN_CV; g0 += KV_G) {
      lvec acc[4][KV_G];
      #pragma unroll
      for (int g = 0; g < KV_G; g++) acc[0][g] = acc[1][g] = acc[2][g] = acc[3][g] = (lvec)(0.0f);
      for (int rr = 0; rr < rn; rr++) {
        const float a0 = A[rr * SLA2_D + d0], a1 = A[rr * SLA2_D + d0 + 1];
        const float a2 = A[rr * SLA2_D + d0 + 2], a3 = A[rr * SLA2_D + d0 + 3];
        #pragma unroll
        for (int g = 0; g < KV_G; g++) {
          const lvec bv = Bv[(rr * SLA2_D) / LN_V + g0 + g];
          acc[0][g] = fma((lvec)(a0), bv, acc[0][g]);
          acc[1][g] = fma((lvec)(a1), bv, acc[1][g]);
          acc[2][g] = fma((lvec)(a2), bv, acc[2][g]);
          acc[3][g] = fma((lvec)(a3), bv, acc[3][g]);
        }
      }
      #pragma unroll
      for (int g = 0; g < KV_G; g++)
        #pragma unroll
        for (int i = 0; i < 4; i++) LV_STORE(acc[i][g], hj + (d0 + i) * SLA2_D + (g0 + g) * LN_V);
    }
  }
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void kv_block(__global const float *phik, __global const uchar *v, int v_dt, long v_sb, long v_sh, long v_sn, long v_sd,
              int H, int N, int bk, int Tn, __global float *hblk, __global float *zblk) {
  __local lvec Av[LN_BK * SLA2_D / LN_V], Bv[LN_BK * SLA2_D / LN_V];
  __local float *A = (__local float *)Av, *B = (__local float *)Bv;
  const int grp = (int)get_group_id(0), j = grp % Tn, bh = grp / Tn, b = bh / H, h = bh % H;
  const int r0 = j * bk, rn = min(N, r0 + bk) - r0;
  const long vbase = (long)b * v_sb + (long)h * v_sh;
  __global const float *pk = phik + ((long)bh * N + r0) * SLA2_D;
  for (int rr = 0; rr < rn; rr++)
    for (int d4 = 0; d4 < SLA2_D; d4 += 4) {
      vstore4(vload4(0, pk + rr * SLA2_D + d4), 0, A + rr * SLA2_D + d4);
      vstore4(load_elem4(v, v_dt, vbase + (long)(r0 + rr) * v_sn + (long)d4 * v_sd, v_sd), 0, B + rr * SLA2_D + d4);
    }
  kv_serial(A, Bv, rn, hblk + ((long)bh * Tn + j) * SLA2_D * SLA2_D, zblk + ((long)bh * Tn + j) * SLA2_D);
}

/* The fused K-side pass (ocl_fused.c; see the fused passes in sla2_rows.cl): one work-item per
 * key block forms K~ = K - mean (SMOOTH_K; written to ks only when ks != NULL), KBAR (POOL),
 * phi(K~) (FEATURE_MAP) into local memory, the INT8 codes of K~ when kcodes != NULL
 * (QUANTIZE_INT8), the FP8 codes of V when vcodes != NULL (QUANTIZE_FP8), and h_j, z_j
 * (KV_STATE). The smooth_k means and sigma_v come from colstats' partials (NULL when off). Same operations, same order as those nodes. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void kpass(TENSOR_ARGS(k), TENSOR_ARGS(v), int H, int N, int bk, int Tn, int fmap, __global const sum_t *ksum,
           __global const sum_t *vmax, int chunks, __global float *ks, __global float *kbar, __global char *kcodes,
           __global float *kscale, __global float *vsigma, __global uchar *vcodes, __global float *hblk,
           __global float *zblk) {
  __local lvec Av[LN_BK * SLA2_D / LN_V], Bv[LN_BK * SLA2_D / LN_V], Kv[LN_BK * SLA2_D / LN_V];
  __local float *A = (__local float *)Av, *B = (__local float *)Bv, *KS = (__local float *)Kv;
  const int grp = (int)get_group_id(0), j = grp % Tn, bh = grp / Tn, b = bh / H, h = bh % H;
  const int r0 = j * bk, rn = min(N, r0 + bk) - r0;
  sum_t s[SLA2_D], mean[SLA2_D];
  float r[SLA2_D], m[EW], sig[SLA2_D];
  /* The column statistics from colstats' partials, merged in col_mean_finish's and
   * col_fp8_sigma's order; the first block of each bh publishes sigma_v. */
  for (int d = 0; d < SLA2_D; d++) {
    sum_t t = sum_zero();
    float mx = 0.0f;
    for (int c = 0; c < chunks; c++) {
      if (ksum) t = sum_merge(t, ksum[((long)bh * chunks + c) * SLA2_D + d]);
      if (vmax) mx = fmax(mx, sum_to_float(vmax[((long)bh * chunks + c) * SLA2_D + d]));
    }
    mean[d] = sum_div(t, N);
    sig[d] = fp8_sigma(mx);
    if (vmax && j == 0) vsigma[bh * SLA2_D + d] = sig[d];
  }
  for (int d = 0; d < SLA2_D; d++) s[d] = sum_zero();
  for (int e = 0; e < EW; e++) m[e] = 0.0f;
  for (int rr = 0; rr < rn; rr++) {
    const int n = r0 + rr;
    for (int d = 0; d < SLA2_D; d += EW) {
      load_chunk(k, k_dt, AT(k, b, h, n, d), k_sd, r + d);
      if (ksum)
        for (int e = 0; e < EW; e++) r[d + e] = sum_sub_from(r[d + e], mean[d + e]);
    }
    if (ks) {
      __global float *o = ks + ((long)bh * N + n) * SLA2_D;
      for (int d = 0; d < SLA2_D; d += EW) EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, r + d), 0, o + d);
    }
    for (int d = 0; d < SLA2_D; d++) s[d] = sum_add(s[d], r[d]);
    if (kcodes) {
      for (int d = 0; d < SLA2_D; d += EW) {
        for (int e = 0; e < EW; e++) m[e] = fmax(m[e], fabs(r[d + e]));
        EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, r + d), 0, KS + rr * SLA2_D + d);
      }
    }
    fmap_row(r, fmap);
    for (int d = 0; d < SLA2_D; d += EW) EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, r + d), 0, A + rr * SLA2_D + d);
    for (int d = 0; d < SLA2_D; d += EW) {
      load_chunk(v, v_dt, AT(v, b, h, n, d), v_sd, r + d);
      EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, r + d), 0, B + rr * SLA2_D + d);
      if (vcodes) e4m3_codes_chunk(r + d, sig + d, vcodes + ((long)bh * N + n) * SLA2_D + d);
    }
  }
  for (int d = 0; d < SLA2_D; d++) kbar[((long)bh * Tn + j) * SLA2_D + d] = sum_to_float(sum_div(s[d], rn));
  if (kcodes) {
    float amax = 0.0f;
    for (int e = 0; e < EW; e++) amax = fmax(amax, m[e]);
    const float sigma = int8_sigma(amax);
    kscale[(long)bh * Tn + j] = sigma;
    for (int rr = 0; rr < rn; rr++)
      for (int d = 0; d < SLA2_D; d += EW) {
        float t[EW];
        EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, KS + rr * SLA2_D + d), 0, t);
        int8_codes_chunk(t, sigma, kcodes + ((long)bh * N + r0 + rr) * SLA2_D + d);
      }
  }
  kv_serial(A, Bv, rn, hblk + ((long)bh * Tn + j) * SLA2_D * SLA2_D, zblk + ((long)bh * Tn + j) * SLA2_D);
}
#else
/* One work-group per (bh, key block j). A = phiK rows (k = row), B = V rows. */
__kernel __attribute__((reqd_work_group_size(LN_TC, LN_TR, 1)))
void kv_block(__global const float *phik, __global const uchar *v, int v_dt, long v_sb, long v_sh, long v_sn, long v_sd,
              int H, int N, int bk, int Tn, __global float *hblk, __global float *zblk) {
  __local lvec Bv[KV_CH * LN_LDB / LN_V];
  __local float A[KV_CH][SLA2_D];
  __local float *B = (__local float *)Bv;
  const int tc = (int)get_local_id(0), tr = (int)get_local_id(1), lid = tr * LN_TC + tc;
  const int grp = (int)get_group_id(0), j = grp % Tn, bh = grp / Tn, b = bh / H, h = bh % H;
  const int r0 = j * bk, r1 = min(N, r0 + bk);
  lvec acc[LN_RA][LN_CV];
  float z[LN_RA];
  #pragma unroll
  for (int a = 0; a < LN_RA; a++) {
    z[a] = 0.0f;
    #pragma unroll
    for (int g = 0; g < LN_CV; g++) acc[a][g] = (lvec)(0.0f);
  }
  const long vbase = (long)b * v_sb + (long)h * v_sh;
  for (int rs = r0; rs < r1; rs += KV_CH) {
    const int rn = min(KV_CH, r1 - rs);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int it = lid; it < KV_CH * (SLA2_D / 4); it += LN_WG) {
      int rr = it / (SLA2_D / 4), d4 = (it % (SLA2_D / 4)) * 4;
      bool ok = rr < rn;
      float4 pa = ok ? vload4(0, phik + ((long)bh * N + rs + rr) * SLA2_D + d4) : (float4)(0.0f);
      float4 pb = ok ? load_elem4(v, v_dt, vbase + (long)(rs + rr) * v_sn + (long)d4 * v_sd, v_sd) : (float4)(0.0f);
      vstore4(pa, 0, &A[rr][d4]);
      vstore4(pb, 0, B + rr * LN_LDB + d4);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int rr = 0; rr < rn; rr++) {
      float av[LN_RA];
      lvec bv[LN_CV];
      #pragma unroll
      for (int a = 0; a < LN_RA; a++) av[a] = A[rr][tr + LN_TR * a];
      #pragma unroll
      for (int g = 0; g < LN_CV; g++) bv[g] = Bv[(rr * LN_LDB + (g * LN_TC + tc) * LN_V) / LN_V];
      #pragma unroll
      for (int a = 0; a < LN_RA; a++) {
        z[a] += av[a];
        #pragma unroll
        for (int g = 0; g < LN_CV; g++) acc[a][g] = fma((lvec)(av[a]), bv[g], acc[a][g]);
      }
    }
  }
  __global float *hj = hblk + ((long)bh * Tn + j) * SLA2_D * SLA2_D;
  #pragma unroll
  for (int a = 0; a < LN_RA; a++) {
    const int d = tr + LN_TR * a;
    #pragma unroll
    for (int g = 0; g < LN_CV; g++) LV_STORE(acc[a][g], hj + d * SLA2_D + (g * LN_TC + tc) * LN_V);
    if (tc == 0) zblk[((long)bh * Tn + j) * SLA2_D + d] = z[a];
  }
}

#endif

/* htot / ztot: per (bh, run of KT_RUN elements of the D + 1 rows [h; z]) the sum over the Tn
 * block states, block by block. A run is one chunk on GPUs (neighbouring work-items read
 * neighbouring chunks) and 8 rows on CPU devices: 4 KiB per block state there, as one chunk per
 * work-item walked 64 KiB strides and missed the TLB on every block. */
__kernel void kv_total(__global const float *hblk, __global const float *zblk, int Tn, int BH, __global float *htot,
                       __global float *ztot) {
  const int total = SLA2_D * SLA2_D + SLA2_D, per = (total + KT_RUN - 1) / KT_RUN; /* runs per bh */
  long gid = get_global_id(0);
  if (gid >= (long)BH * per) return;
  const int bh = (int)(gid / per), x0 = (int)(gid % per) * KT_RUN, xn = min(total - x0, KT_RUN);
  sum_t s[KT_RUN];
  for (int e = 0; e < xn; e++) s[e] = sum_zero();
  for (int j = 0; j < Tn; j++)
    for (int c = 0; c < xn; c += EW) {
      const int x = x0 + c;
      __global const float *p = x < SLA2_D * SLA2_D ? hblk + ((long)bh * Tn + j) * SLA2_D * SLA2_D + x
                                                      : zblk + ((long)bh * Tn + j) * SLA2_D + (x - SLA2_D * SLA2_D);
      float t[EW];
      EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, p), 0, t);
      for (int e = 0; e < EW; e++) s[c + e] = sum_add(s[c + e], t[e]);
    }
  for (int c = 0; c < xn; c++) {
    const int x = x0 + c;
    if (x < SLA2_D * SLA2_D)
      htot[(long)bh * SLA2_D * SLA2_D + x] = sum_to_float(s[c]);
    else
      ztot[(long)bh * SLA2_D + (x - SLA2_D * SLA2_D)] = sum_to_float(s[c]);
  }
}

#if LN_SERIAL
#if LN_COMBINE
#if LN_V != EW
#error "the fused combine stores LN_V = EW channels at a time"
#endif
/* COMBINE in the epilogue (the fused CPU forward): one chunk of row n of O from OL's chunk ol. */
inline void combine_chunk(lvec ol, combine_t a, __global const float *os, int H, int N, int bh, int n, int d0,
                          TENSOR_OUT_ARGS(o)) {
  float l[EW], v[EW];
  LV_STORE(ol, l);
  __global const float *ps = os + ((long)bh * N + n) * SLA2_D + d0;
  for (int e = 0; e < EW; e++) v[e] = combine_mix(a, ps[e], l[e]);
  store_chunk(o, o_dt, AT(o, bh / H, bh % H, n, d0), o_sd, v);
}
#endif

/* CPU devices: one work-item per (bh, i) forms H_i, Z_i, then walks the block's rows two at a
 * time reading phi(q) and H_i in place. No barriers (see kv_block). With LN_COMBINE it writes
 * O = a OS + (1 - a) O_l (the COMBINE node) instead of O_l. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void linear_attn(__global const float *phiq, __global const float *hblk, __global const float *zblk,
                 __global const float *htot, __global const float *ztot, __global const int *lut, int H, int N, int bq,
                 int Tm, int Tn, int k, int row0, __global float *scratch,
#if LN_COMBINE
                 __global const float *os, __global const float *logits, int per_block, TENSOR_OUT_ARGS(o)
#else
                 __global float *out
#endif
) {
  const int slot = (int)get_group_id(0), row = row0 + slot, i = row % Tm, bh = row / Tm;
#if LN_COMBINE
  const combine_t a = combine_alpha(per_block ? logits[(bh % H) * Tm + i] : logits[bh % H]);
#endif
  const int per = SLA2_D * SLA2_D + SLA2_D;
  __global float *Hi = scratch + (long)slot * per;
  __global const int *lrow = lut + (long)row * k;
  for (int x = 0; x < per; x += EW) {
    const bool is_h = x < SLA2_D * SLA2_D;
    const int stride = is_h ? SLA2_D * SLA2_D : SLA2_D, at = is_h ? x : x - SLA2_D * SLA2_D;
    __global const float *src = (is_h ? hblk : zblk) + (long)bh * Tn * stride + at;
    ewvec s = EW_CAT(vload, EW)(0, src + (long)lrow[0] * stride);
    for (int t = 1; t < k; t++) s += EW_CAT(vload, EW)(0, src + (long)lrow[t] * stride);
    ewvec tot = EW_CAT(vload, EW)(0, (is_h ? htot : ztot) + (long)bh * stride + at);
    EW_CAT(vstore, EW)(tot - s, 0, Hi + x);
  }
  __global const float *Zi = Hi + SLA2_D * SLA2_D;
  const int r0 = i * bq, rn = min(bq, N - r0);
  for (int rg = 0; rg < rn; rg += 2) {
    const int ra = rg, rb = min(rg + 1, rn - 1); /* an odd last row is computed twice */
    __global const float *qa = phiq + ((long)bh * N + r0 + ra) * SLA2_D, *qb = phiq + ((long)bh * N + r0 + rb) * SLA2_D;
    lvec acc[2][LN_CV];
    float den[2] = {0.0f, 0.0f};
    #pragma unroll
    for (int g = 0; g < LN_CV; g++) acc[0][g] = acc[1][g] = (lvec)(0.0f);
    for (int d = 0; d < SLA2_D; d++) {
      const float a0 = qa[d], a1 = qb[d], zc = Zi[d];
      den[0] = fma(a0, zc, den[0]);
      den[1] = fma(a1, zc, den[1]);
      #pragma unroll
      for (int g = 0; g < LN_CV; g++) {
        const lvec bv = LN_CAT(vload, LN_V)(0, Hi + d * SLA2_D + g * LN_V);
        acc[0][g] = fma((lvec)(a0), bv, acc[0][g]);
        acc[1][g] = fma((lvec)(a1), bv, acc[1][g]);
      }
    }
#if LN_COMBINE
    #pragma unroll
    for (int g = 0; g < LN_CV; g++) {
      combine_chunk(den[0] <= SLA2_LINEAR_DEN_EPS ? (lvec)(0.0f) : acc[0][g] / den[0], a, os, H, N, bh, r0 + ra, g * LN_V,
                    o, o_dt, o_sb, o_sh, o_sn, o_sd);
      combine_chunk(den[1] <= SLA2_LINEAR_DEN_EPS ? (lvec)(0.0f) : acc[1][g] / den[1], a, os, H, N, bh, r0 + rb, g * LN_V,
                    o, o_dt, o_sb, o_sh, o_sn, o_sd);
    }
#else
    __global float *oa = out + ((long)bh * N + r0 + ra) * SLA2_D, *ob = out + ((long)bh * N + r0 + rb) * SLA2_D;
    #pragma unroll
    for (int g = 0; g < LN_CV; g++) {
      LV_STORE(den[0] <= SLA2_LINEAR_DEN_EPS ? (lvec)(0.0f) : acc[0][g] / den[0], oa + g * LN_V);
      LV_STORE(den[1] <= SLA2_LINEAR_DEN_EPS ? (lvec)(0.0f) : acc[1][g] / den[1], ob + g * LN_V);
    }
#endif
  }
}
#else
/* One work-group per query-block row (bh, i) = row0 + group: first H_i, Z_i into this group's
 * scratch slot (the f32 sum of the selected blocks, then one subtraction from the totals, which
 * keeps the cancellation error at one rounding), then O_l for the block's rows with A = phi(q)
 * (k = channel) and B = H_i. Rows past N are clamped to the last row (its value written twice)
 * rather than skipped. */
__kernel __attribute__((reqd_work_group_size(LN_TC, LN_TR, 1)))
void linear_attn(__global const float *phiq, __global const float *hblk, __global const float *zblk,
                 __global const float *htot, __global const float *ztot, __global const int *lut, int H, int N, int bq,
                 int Tm, int Tn, int k, int row0, __global float *scratch, __global float *out) {
  __local lvec Bv[LQ_CH * LN_LDB / LN_V];
  __local float A[LN_BQ][LQ_CH + 1], Zc[LQ_CH];
  __local float *B = (__local float *)Bv;
  const int tc = (int)get_local_id(0), tr = (int)get_local_id(1), lid = tr * LN_TC + tc;
  const int slot = (int)get_group_id(0), row = row0 + slot, i = row % Tm, bh = row / Tm;
  const int per = SLA2_D * SLA2_D + SLA2_D;
  __global float *Hi = scratch + (long)slot * per;
  __global const int *lrow = lut + (long)row * k;
  for (int x = lid * EW; x < per; x += LN_WG * EW) {
    const bool is_h = x < SLA2_D * SLA2_D;
    const int stride = is_h ? SLA2_D * SLA2_D : SLA2_D, at = is_h ? x : x - SLA2_D * SLA2_D;
    __global const float *src = (is_h ? hblk : zblk) + (long)bh * Tn * stride + at;
    ewvec s = EW_CAT(vload, EW)(0, src + (long)lrow[0] * stride);
    for (int t = 1; t < k; t++) s += EW_CAT(vload, EW)(0, src + (long)lrow[t] * stride);
    ewvec tot = EW_CAT(vload, EW)(0, (is_h ? htot : ztot) + (long)bh * stride + at);
    EW_CAT(vstore, EW)(tot - s, 0, Hi + x);
  }
  barrier(CLK_GLOBAL_MEM_FENCE);

  const int r0 = i * bq, rn = min(bq, N - r0);
  lvec acc[LN_RQ][LN_CV];
  float den[LN_RQ];
  #pragma unroll
  for (int a = 0; a < LN_RQ; a++) {
    den[a] = 0.0f;
    #pragma unroll
    for (int g = 0; g < LN_CV; g++) acc[a][g] = (lvec)(0.0f);
  }
  for (int d0 = 0; d0 < SLA2_D; d0 += LQ_CH) {
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int it = lid; it < LN_BQ * (LQ_CH / 4); it += LN_WG) {
      int rr = it / (LQ_CH / 4), d4 = (it % (LQ_CH / 4)) * 4;
      float4 q = vload4(0, phiq + ((long)bh * N + r0 + min(rr, rn - 1)) * SLA2_D + d0 + d4);
      A[rr][d4] = q.s0, A[rr][d4 + 1] = q.s1, A[rr][d4 + 2] = q.s2, A[rr][d4 + 3] = q.s3;
    }
    for (int it = lid; it < LQ_CH * (SLA2_D / 4); it += LN_WG) {
      int dd = it / (SLA2_D / 4), c4 = (it % (SLA2_D / 4)) * 4;
      vstore4(vload4(0, Hi + (d0 + dd) * SLA2_D + c4), 0, B + dd * LN_LDB + c4);
    }
    for (int dd = lid; dd < LQ_CH; dd += LN_WG) Zc[dd] = Hi[SLA2_D * SLA2_D + d0 + dd];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int dd = 0; dd < LQ_CH; dd++) {
      lvec bv[LN_CV];
      #pragma unroll
      for (int g = 0; g < LN_CV; g++) bv[g] = Bv[(dd * LN_LDB + (g * LN_TC + tc) * LN_V) / LN_V];
      const float zc = Zc[dd];
      #pragma unroll
      for (int a = 0; a < LN_RQ; a++) {
        const float q = A[min(tr + LN_TR * a, LN_BQ - 1)][dd];
        den[a] = fma(q, zc, den[a]);
        #pragma unroll
        for (int g = 0; g < LN_CV; g++) acc[a][g] = fma((lvec)(q), bv[g], acc[a][g]);
      }
    }
  }
  #pragma unroll
  for (int a = 0; a < LN_RQ; a++) {
    const int rr = min(min(tr + LN_TR * a, LN_BQ - 1), rn - 1);
    __global float *o = out + ((long)bh * N + r0 + rr) * SLA2_D;
    const float dv = den[a];
    #pragma unroll
    for (int g = 0; g < LN_CV; g++)
      LV_STORE(dv <= SLA2_LINEAR_DEN_EPS ? (lvec)(0.0f) : acc[a][g] / dv, o + (g * LN_TC + tc) * LN_V);
  }
}
#endif
