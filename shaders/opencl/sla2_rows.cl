/* Row- and element-wise nodes: SMOOTH_K (column means, then K - mean), POOL, FEATURE_MAP,
 * COMBINE, QUANTIZE_INT8, QUANTIZE_FP8 (column abs-max, then encode).
 *
 * Tensors [B,H,N,D] come as (bytes, dtype, strides sb, sh, sn, sd in elements); intermediates
 * are contiguous f32 and are passed the same way (dtype 0, contiguous strides). A work-item
 * handles a chunk of EW consecutive channels (common.cl), so index arithmetic is per chunk and
 * the per-element loops vectorize on CPU devices. Means and the mix are taken in sum_t (double
 * where the device has it, like the oracle). Work-items past the end return early: launches
 * round the global size up. Needs SLA2_D % EW == 0 (the host picks EW so).
 *
 * Build parameters: SLA2_QW, work-items per QUANTIZE_INT8 work-group (1 on CPU devices: one
 * work-item walks the block, no barriers); SLA2_EPW, channels per work-item of the element-wise
 * kernels (EW on GPUs, a whole row on CPU devices). */
#define EPW SLA2_EPW


/* ---- column reductions over N (SMOOTH_K means, QUANTIZE_FP8 maxima) ------------------------ */

/* partial[(bh * chunks + c) * D + d] = sum (mode 0) or max |x| (mode 1) of column d over rows
 * [c * rows, min(N, (c + 1) * rows)); one work-item per (bh, c, channel chunk). */
__kernel void col_partial(TENSOR_ARGS(x), int H, int N, int rows, int chunks, int mode, long total,
                          __global sum_t *partial) {
  long gid = get_global_id(0);
  if (gid >= total) return;
  int d0 = (int)(gid % CHUNKS) * EW;
  long t = gid / CHUNKS;
  int c = (int)(t % chunks);
  int bh = (int)(t / chunks), b = bh / H, h = bh % H;
  int n0 = c * rows, n1 = min(N, n0 + rows);
  float v[EW];
  __global sum_t *out = partial + t * SLA2_D + d0;
  if (mode == 0) {
    sum_t s[EW];
    for (int e = 0; e < EW; e++) s[e] = sum_zero();
    for (int n = n0; n < n1; n++) {
      load_chunk(x, x_dt, AT(x, b, h, n, d0), x_sd, v);
      for (int e = 0; e < EW; e++) s[e] = sum_add(s[e], v[e]);
    }
    for (int e = 0; e < EW; e++) out[e] = s[e];
  } else {
    float m[EW];
    for (int e = 0; e < EW; e++) m[e] = 0.0f;
    for (int n = n0; n < n1; n++) {
      load_chunk(x, x_dt, AT(x, b, h, n, d0), x_sd, v);
      for (int e = 0; e < EW; e++) m[e] = fmax(m[e], fabs(v[e]));
    }
    for (int e = 0; e < EW; e++) out[e] = sum_of(m[e]);
  }
}

/* mean[bh * D + d] = (sum of the chunk sums) / N. */
__kernel void col_mean_finish(__global const sum_t *partial, int chunks, int N, int BH, __global sum_t *mean) {
  int gid = (int)get_global_id(0);
  if (gid >= BH * SLA2_D) return;
  int d = gid % SLA2_D, bh = gid / SLA2_D;
  sum_t s = sum_zero();
  for (int c = 0; c < chunks; c++) s = sum_merge(s, partial[((long)bh * chunks + c) * SLA2_D + d]);
  mean[gid] = sum_div(s, N);
}

/* sigma_v[bh * D + d] = max |V[:, d]| / 448 (1 when zero). */
__kernel void col_fp8_sigma(__global const sum_t *partial, int chunks, int BH, __global float *sigma) {
  int gid = (int)get_global_id(0);
  if (gid >= BH * SLA2_D) return;
  int d = gid % SLA2_D, bh = gid / SLA2_D;
  float m = 0.0f;
  for (int c = 0; c < chunks; c++) m = fmax(m, sum_to_float(partial[((long)bh * chunks + c) * SLA2_D + d]));
  sigma[gid] = fp8_sigma(m);
}

/* KS = K - mean (rounded once to f32); a plain f32 copy when has_mean == 0. */
__kernel void smooth_apply(TENSOR_ARGS(x), int H, int N, long total, __global const sum_t *mean, int has_mean,
                           __global float *ks) {
  long gid = get_global_id(0);
  if (gid >= total) return;
  const long row = gid / (SLA2_D / EPW);
  const int c0 = (int)(gid % (SLA2_D / EPW)) * EPW;
  int n = (int)(row % N), bh = (int)(row / N), b = bh / H, h = bh % H;
  for (int d0 = c0; d0 < c0 + EPW; d0 += EW) {
    float v[EW];
    load_chunk(x, x_dt, AT(x, b, h, n, d0), x_sd, v);
    if (has_mean) {
      __global const sum_t *mu = mean + bh * SLA2_D + d0;
      for (int e = 0; e < EW; e++) v[e] = sum_sub_from(v[e], mu[e]);
    }
    EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, v), 0, ks + row * SLA2_D + d0);
  }
}

/* ---- POOL: block means ------------------------------------------------------------------- */

__kernel void pool(TENSOR_ARGS(x), int H, int N, int block, int T, long total, __global float *out) {
  long gid = get_global_id(0);
  if (gid >= total) return;
  int d0 = (int)(gid % CHUNKS) * EW;
  long r = gid / CHUNKS;
  int t = (int)(r % T), bh = (int)(r / T), b = bh / H, h = bh % H;
  int n0 = t * block, n1 = min(N, n0 + block);
  float v[EW];
  sum_t s[EW];
  for (int e = 0; e < EW; e++) s[e] = sum_zero();
  for (int n = n0; n < n1; n++) {
    load_chunk(x, x_dt, AT(x, b, h, n, d0), x_sd, v);
    for (int e = 0; e < EW; e++) s[e] = sum_add(s[e], v[e]);
  }
  for (int e = 0; e < EW; e++) out[r * SLA2_D + d0 + e] = sum_to_float(sum_div(s[e], n1 - n0));
}

/* ---- FEATURE_MAP ---------------------------------------------------------------------------
 * Softmax: max, then exp(x - max) with their sum, then each divided by the sum; elu / relu
 * element-wise. */
#ifdef SLA2_CPU_DEVICE
/* CPU devices: one work-item per row, EW channels at a time (no barriers: a work-group version
 * with lanes across the channels and local reductions was mis-compiled by PoCL 3.1). */
__kernel void feature_map(TENSOR_ARGS(x), int H, int N, int rows_total, int fmap, __global float *out) {
  int row = (int)get_global_id(0);
  if (row >= rows_total) return;
  int n = row % N, bh = row / N, b = bh / H, h = bh % H;
  float r[SLA2_D];
  for (int d = 0; d < SLA2_D; d += EW) load_chunk(x, x_dt, AT(x, b, h, n, d), x_sd, r + d);
  fmap_row(r, fmap);
  __global float *o = out + (long)row * SLA2_D;
  for (int d = 0; d < SLA2_D; d += EW) EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, r + d), 0, o + d);
}
#else
/* GPUs: FM_ROWS rows per work-group of 64, staged through local memory so that global loads and
 * stores are coalesced (one work-item per row reads 512 bytes apart from its neighbours);
 * each work-item then does its own row from local memory (rows padded by one float: no bank
 * conflicts). Rows past the end are clamped to the last row (computed twice, same values). */
#define FM_WG 64
#define FM_LD (SLA2_D + 1)
#define FM_ROWS (SLA2_D > 128 ? 32 : 64)
__kernel __attribute__((reqd_work_group_size(FM_WG, 1, 1)))
void feature_map(TENSOR_ARGS(x), int H, int N, int rows_total, int fmap, __global float *out) {
  __local float rows[FM_ROWS * FM_LD];
  const int lid = (int)get_local_id(0), row0 = (int)get_group_id(0) * FM_ROWS;
  for (int it = lid; it < FM_ROWS * (SLA2_D / 4); it += FM_WG) {
    const int r = it / (SLA2_D / 4), d4 = (it % (SLA2_D / 4)) * 4, row = min(row0 + r, rows_total - 1);
    const int n = row % N, bh = row / N;
    float4 v = load_elem4(x, x_dt, AT(x, bh / H, bh % H, n, d4), x_sd);
    __local float *dst = rows + r * FM_LD + d4;
    dst[0] = v.s0, dst[1] = v.s1, dst[2] = v.s2, dst[3] = v.s3;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int r = lid; r < FM_ROWS; r += FM_WG) {
    __local float *v = rows + r * FM_LD;
    if (fmap == SLA2_FMAP_SOFTMAX) {
      float m = -INFINITY, s = 0.0f;
      for (int d = 0; d < SLA2_D; d++) m = fmax(m, v[d]);
      for (int d = 0; d < SLA2_D; d++) {
        const float e = exp(v[d] - m);
        v[d] = e;
        s += e;
      }
      for (int d = 0; d < SLA2_D; d++) v[d] = v[d] / s;
    } else {
      for (int d = 0; d < SLA2_D; d++)
        v[d] = fmap == SLA2_FMAP_ELU ? (v[d] > 0.0f ? v[d] + 1.0f : exp(v[d])) : fmax(v[d], 0.0f);
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int it = lid; it < FM_ROWS * SLA2_D; it += FM_WG) {
    const int r = it / SLA2_D, d = it % SLA2_D, row = min(row0 + r, rows_total - 1);
    out[(long)row * SLA2_D + d] = rows[r * FM_LD + d];
  }
}
#endif

/* ---- COMBINE: O = a OS + (1 - a) OL, a = sigmoid(logit) ----------------------------------- */

__kernel void combine(__global const float *os, __global const float *ol, __global const float *logits, int per_block,
                      int Tm, int bq, int H, int N, long total, TENSOR_OUT_ARGS(o)) {
  long gid = get_global_id(0);
  if (gid >= total) return;
  const long row = gid / (SLA2_D / EPW);
  const int c0 = (int)(gid % (SLA2_D / EPW)) * EPW;
  int n = (int)(row % N), bh = (int)(row / N), b = bh / H, h = bh % H;
  const combine_t a = combine_alpha(per_block ? logits[h * Tm + n / bq] : logits[h]);
  for (int d0 = c0; d0 < c0 + EPW; d0 += EW) {
    float v[EW];
    __global const float *ps = os + row * SLA2_D + d0, *pl = ol + row * SLA2_D + d0;
    for (int e = 0; e < EW; e++) v[e] = combine_mix(a, ps[e], pl[e]);
    store_chunk(o, o_dt, AT(o, b, h, n, d0), o_sd, v);
  }
}

/* ---- QUANTIZE_INT8: one work-group of SLA2_QW work-items per (b, h, block) ----------------- */

__kernel __attribute__((reqd_work_group_size(SLA2_QW, 1, 1)))
void quantize_int8(TENSOR_ARGS(x), int H, int N, int block, int T, __global char *codes, __global float *scales) {
  int lid = (int)get_local_id(0);
  int blk = (int)get_group_id(0), t = blk % T, bh = blk / T, b = bh / H, h = bh % H;
  int n0 = t * block, n1 = min(N, n0 + block);
  int count = (n1 - n0) * CHUNKS; /* chunks of EW channels in the block */
  float v[EW], m[EW];
  for (int e = 0; e < EW; e++) m[e] = 0.0f;
  for (int c = lid; c < count; c += SLA2_QW) {
    load_chunk(x, x_dt, AT(x, b, h, n0 + c / CHUNKS, (c % CHUNKS) * EW), x_sd, v);
    for (int e = 0; e < EW; e++) m[e] = fmax(m[e], fabs(v[e]));
  }
  float amax = 0.0f;
  for (int e = 0; e < EW; e++) amax = fmax(amax, m[e]);
#if SLA2_QW > 1
  __local float red[SLA2_QW];
  red[lid] = amax;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = SLA2_QW / 2; s > 0; s >>= 1) {
    if (lid < s) red[lid] = fmax(red[lid], red[lid + s]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  amax = red[0];
#endif
  float sigma = int8_sigma(amax);
  if (lid == 0) scales[blk] = sigma;
  __global char *out = codes + ((long)bh * N + n0) * SLA2_D;
  for (int c = lid; c < count; c += SLA2_QW) {
    load_chunk(x, x_dt, AT(x, b, h, n0 + c / CHUNKS, (c % CHUNKS) * EW), x_sd, v);
    int8_codes_chunk(v, sigma, out + c * EW);
  }
}

/* ---- QUANTIZE_FP8: codes of V / sigma_v[channel] ------------------------------------------- */

__kernel void fp8_encode(TENSOR_ARGS(x), int H, int N, long total, __global const float *sigma, __global uchar *codes) {
  long gid = get_global_id(0);
  if (gid >= total) return;
  const long row = gid / (SLA2_D / EPW);
  const int c0 = (int)(gid % (SLA2_D / EPW)) * EPW;
  int n = (int)(row % N), bh = (int)(row / N), b = bh / H, h = bh % H;
  for (int d0 = c0; d0 < c0 + EPW; d0 += EW) {
    float v[EW];
    load_chunk(x, x_dt, AT(x, b, h, n, d0), x_sd, v);
    float sg[EW];
    for (int e = 0; e < EW; e++) sg[e] = sigma[bh * SLA2_D + d0 + e];
    e4m3_codes_chunk(v, sg, codes + row * SLA2_D + d0);
  }
}

/* ---- fused passes for CPU devices (ocl_fused.c) ---------------------------------------------
 * The whole forward graph's row and block nodes in three launches: PoCL pays about 0.1 ms per
 * launch on a 16-core machine, and each node re-reads its [N, D] input. Each value is formed by
 * the same operations in the same order as in the node kernels above, so the slots come out
 * bit-identical (KPASS, the K-side pass, is in sla2_linear.cl next to KV_STATE). */
#ifdef SLA2_CPU_DEVICE
/* Column statistics of one run of `rows` rows [c rows, (c + 1) rows) over all channels, per
 * (bh, c): the partial sums of K (when ksum != NULL) and partial maxima of |V| (when vmax !=
 * NULL), the same values col_partial gives; kpass merges them as col_mean_finish and
 * col_fp8_sigma do. Whole rows per work-item: reads stay sequential. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void colstats(TENSOR_ARGS(k), TENSOR_ARGS(v), int H, int N, int rows, int chunks, __global sum_t *ksum,
              __global sum_t *vmax) {
  const int t = (int)get_group_id(0), c = t % chunks, bh = t / chunks, b = bh / H, h = bh % H;
  const int n0 = c * rows, n1 = min(N, n0 + rows);
  float r[SLA2_D];
  if (ksum) {
    sum_t s[SLA2_D];
    for (int d = 0; d < SLA2_D; d++) s[d] = sum_zero();
    for (int n = n0; n < n1; n++) {
      for (int d = 0; d < SLA2_D; d += EW) load_chunk(k, k_dt, AT(k, b, h, n, d), k_sd, r + d);
      for (int d = 0; d < SLA2_D; d++) s[d] = sum_add(s[d], r[d]);
    }
    for (int d = 0; d < SLA2_D; d++) ksum[(long)t * SLA2_D + d] = s[d];
  }
  if (vmax) {
    float m[SLA2_D];
    for (int d = 0; d < SLA2_D; d++) m[d] = 0.0f;
    for (int n = n0; n < n1; n++) {
      for (int d = 0; d < SLA2_D; d += EW) load_chunk(v, v_dt, AT(v, b, h, n, d), v_sd, r + d);
      for (int d = 0; d < SLA2_D; d++) m[d] = fmax(m[d], fabs(r[d]));
    }
    for (int d = 0; d < SLA2_D; d++) vmax[(long)t * SLA2_D + d] = sum_of(m[d]);
  }
}

/* One work-item per query block: QBAR (POOL), PHIQ (FEATURE_MAP) and, when qcodes != NULL,
 * QCODES / QSCALE (QUANTIZE_INT8), reading Q once (twice for the codes, from cache). */
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void qpass(TENSOR_ARGS(q), int H, int N, int bq, int Tm, int fmap, __global float *qbar, __global float *phiq,
           __global char *qcodes, __global float *qscale) {
  const int blk = (int)get_group_id(0), t = blk % Tm, bh = blk / Tm, b = bh / H, h = bh % H;
  const int n0 = t * bq, n1 = min(N, n0 + bq);
  sum_t s[SLA2_D];
  float r[SLA2_D], m[EW];
  for (int d = 0; d < SLA2_D; d++) s[d] = sum_zero();
  for (int e = 0; e < EW; e++) m[e] = 0.0f;
  for (int n = n0; n < n1; n++) {
    for (int d = 0; d < SLA2_D; d += EW) load_chunk(q, q_dt, AT(q, b, h, n, d), q_sd, r + d);
    for (int d = 0; d < SLA2_D; d++) s[d] = sum_add(s[d], r[d]);
    for (int d = 0; d < SLA2_D; d += EW)
      for (int e = 0; e < EW; e++) m[e] = fmax(m[e], fabs(r[d + e]));
    fmap_row(r, fmap);
    __global float *o = phiq + ((long)bh * N + n) * SLA2_D;
    for (int d = 0; d < SLA2_D; d += EW) EW_CAT(vstore, EW)(EW_CAT(vload, EW)(0, r + d), 0, o + d);
  }
  for (int d = 0; d < SLA2_D; d++) qbar[(long)blk * SLA2_D + d] = sum_to_float(sum_div(s[d], n1 - n0));
  if (!qcodes) return;
  float amax = 0.0f;
  for (int e = 0; e < EW; e++) amax = fmax(amax, m[e]);
  const float sigma = int8_sigma(amax);
  qscale[blk] = sigma;
  for (int n = n0; n < n1; n++)
    for (int d = 0; d < SLA2_D; d += EW) {
      float v[EW];
      load_chunk(q, q_dt, AT(q, b, h, n, d), q_sd, v);
      int8_codes_chunk(v, sigma, qcodes + ((long)bh * N + n) * SLA2_D + d);
    }
}
#endif
