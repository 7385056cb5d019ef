/* SPARSE_ATTN and DENSE_ATTN: one flash-attention kernel, in two shapes.
 *
 * A work-group owns AT_BQ query rows of one (b, h) (a query block of the sparse branch, or a
 * sub-tile of one) and walks its key slots in tiles of AT_BK: the keys of the LUT row's blocks
 * in ascending order (sparse; unselected blocks are never read) or every key (dense, AT_DENSE).
 * Scores are in log2 units (Q pre-scaled by s log2 e, or the int8 factor), so exponentials are
 * exp2 and LSE = (m + log2 l) ln 2. Per tile: S = Q K^T, the online softmax update (running
 * max m, normalizer l, rescaled output accumulator), O += P V.
 *
 * Work-group kernel (GPUs; the default): AT_TC x AT_TR work-items,
 *   S = Q K^T     Q and K staged through local memory AT_DC channels at a time, transposed
 *                 (Qt[d][row], Kt[d][key]), through registers (AT_PREFETCH: the next chunk's
 *                 global loads overlap this chunk's arithmetic); work-item (tr, tc) holds an
 *                 RM x KN register tile
 *   softmax       row maxima reduced across the AT_TC work-items of a row through local memory;
 *                 per work-item partial l; P to local memory as P[row][key]
 *   O += P V      V staged AT_VC keys at a time; work-item holds an RM x DN tile of O
 * Serial kernel (AT_SERIAL, CPU devices): one work-item per work-group walks its rows AT_RG at a
 * time with wide vectors across keys and channels, no barriers.
 *
 * Quantized modes (AT_QUANT): int8 stages the INT8 codes of Q and K~ as floats; their products
 * are integers below 2^14 and a dot product over D <= 256 channels stays below 2^24, so the f32
 * accumulation is the exact integer dot product; S = dot * s log2 e sigma_q sigma_k afterwards.
 * int8_fp8 also rounds 448 P to the FP8 E4M3 grid before P V (l sums the unrounded P) and
 * decodes V from its FP8 codes, rescaling by sigma_v / 448 at the end; since the rounding
 * depends on the max, a row whose keys span several tiles first runs a scores-only pass for
 * its exact max (the oracle's two-pass semantics).
 *
 * Work-item mapping of the work-group kernel (vector widths AT_RV rows, AT_KV keys, AT_DV
 * channels):
 *   row(i) = ((i / RV) TR + tr) RV + i % RV,  key(j) = ((j / KV) TC + tc) KV + j % KV,
 *   dim(j) = ((j / DV) TC + tc) DV + j % DV
 * so vector loads of neighbouring work-items are contiguous. The host (ocl_op_attention.c)
 * picks the sizes and the local-memory layout (AT_LD*, AT_OFF_*) to fit the device. */

#define RM (AT_BQ / AT_TR)
#define KN (AT_BK / AT_TC)
#define DN (SLA2_D / AT_TC)
#define KNV (KN / AT_KV)
#define DNV (DN / AT_DV)
#define RMV (RM / AT_RV)
#define WG (AT_TR * AT_TC)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#if AT_KV == 1
typedef float kvec;
#define KV_STORE(v, p) (*(p) = (v))
#else
typedef CAT(float, AT_KV) kvec;
#define KV_STORE(v, p) CAT(vstore, AT_KV)(v, 0, p)
#endif
#if AT_DV == 1
typedef float dvec;
#define DV_STORE(v, p) (*(p) = (v))
#else
typedef CAT(float, AT_DV) dvec;
#define DV_STORE(v, p) CAT(vstore, AT_DV)(v, 0, p)
#endif
#if AT_RV == 1
typedef float rvec;
#else
typedef CAT(float, AT_RV) rvec;
#endif
/* Local memory is declared as the widest vector so every region offset (a multiple of it) is
 * aligned for vector access. */
typedef CAT(float, AT_ALIGN) align_vec;

#define QUANT_NONE (AT_QUANT == SLA2_QMODE_NONE)
#define QUANT_FP8 (AT_QUANT == SLA2_QMODE_INT8_FP8)

/* Row rv of a private array `a` of RV floats filled from one rvec. */
#if AT_RV == 1
#define RVEC_SPLIT(a, v) ((a)[0] = (v))
#elif AT_RV == 4
#define RVEC_SPLIT(a, v) ((a)[0] = (v).s0, (a)[1] = (v).s1, (a)[2] = (v).s2, (a)[3] = (v).s3)
#else
#error "AT_RV must be 1 or 4"
#endif

/* round_to_e4m3 (common.cl) on a key vector. */
#if AT_KV == 1
#define round_to_e4m3_v(x) round_to_e4m3(x)
#else
typedef CAT(uint, AT_KV) kuvec;
inline kvec round_to_e4m3_v(kvec x) {
  kuvec u = CAT(as_uint, AT_KV)(x);
  u = (u + 0x7FFFFu + ((u >> 20) & 1u)) & 0xFFF00000u;
  kvec normal = fmin(CAT(as_float, AT_KV)(u), (kvec)(SLA2_FP8_E4M3_MAX));
  kvec sub = rint(x * 0x1p9f) * 0x1p-9f;
  return select(normal, sub, CAT(as_int, AT_KV)(x < 0x1p-6f));
}
#endif

/* Key slot -> key row, or -1 when the slot is past the end or past N. */
inline int slot_row(int slot, int nslots, __global const int *lut_row, int bk_log2, int N) {
  if (slot >= nslots) return -1;
#if AT_DENSE
  int r = slot;
#else
  int r = (lut_row[slot >> bk_log2] << bk_log2) + (slot & ((1 << bk_log2) - 1));
#endif
  return r < N ? r : -1;
}

/* Four consecutive channels of a staged row: the caller's tensor, or INT8 codes as floats. */
inline float4 load_q4(__global const uchar *q, long at, long sd) {
#if QUANT_NONE
  return load_elem4(q, AT_Q_DT, at, sd);
#else
  return convert_float4(vload4(0, (__global const char *)q + at));
#endif
}
inline float4 load_k4(__global const uchar *k, long at, long sd) {
#if QUANT_NONE
  return load_elem4(k, AT_K_DT, at, sd);
#else
  return convert_float4(vload4(0, (__global const char *)k + at));
#endif
}
inline float4 load_v4(__global const uchar *v, long at, long sd) {
#if QUANT_FP8
  return e4m3_to_f32_4(vload4(0, v + at));
#else
  return load_elem4(v, AT_V_DT, at, sd);
#endif
}

#define ATTN_ARGS                                                                                \
  __global const uchar *q, long q_sb, long q_sh, long q_sn, long q_sd, __global const uchar *k, long k_sb,   \
      long k_sh, long k_sn, long k_sd, __global const uchar *v, long v_sb, long v_sh, long v_sn, long v_sd,  \
      __global uchar *o, long o_sb, long o_sh, long o_sn, long o_sd, __global float *lse, __global const int *lut, \
      __global const float *qscale, __global const float *kscale, __global const float *vscale, int H, int N,  \
      int bq, int bk_log2, int Tm, int Tn, int kblocks, float scale

#define ATTN_PASS                                                                                \
  q, q_sb, q_sh, q_sn, q_sd, k, k_sb, k_sh, k_sn, k_sd, v, v_sb, v_sh, v_sn, v_sd, o, o_sb, o_sh, o_sn, o_sd, lse,  \
      lut, qscale, kscale, vscale, H, N, bq, bk_log2, Tm, Tn, kblocks, scale

/* What a work-group works on: its rows, its key slots and where its operands start. */
typedef struct attn_setup {
  int bh, b, h, qblock, row0, rows_here, nslots;
  __global const int *lut_row;
  __global const uchar *qb, *kb, *vb; /* Q rows from row0, K and V rows from 0 of (b, h) */
  long qrs, krs, vrs, qsd, ksd, vsd;  /* row and channel strides in elements */
  float qfac;                         /* score factor: s log2 e (folded into Q), x sigma_q for int8 */
} attn_setup;

inline attn_setup attn_begin(ATTN_ARGS) {
  attn_setup S;
  const int grp = (int)get_group_id(0);
#if AT_DENSE
  const int tiles = (N + AT_BQ - 1) / AT_BQ, qt = grp % tiles;
  S.bh = grp / tiles;
  S.qblock = 0;
  S.row0 = qt * AT_BQ;
  S.nslots = N;
  S.lut_row = lut;
#else
  const int subs = bq / AT_BQ, tiles = Tm * subs, qt = grp % tiles;
  S.bh = grp / tiles;
  S.qblock = qt / subs;
  S.row0 = S.qblock * bq + (qt % subs) * AT_BQ;
  S.nslots = kblocks << bk_log2;
  S.lut_row = lut + ((long)S.bh * Tm + S.qblock) * kblocks;
#endif
  S.b = S.bh / H;
  S.h = S.bh % H;
  S.rows_here = min(AT_BQ, N - S.row0);
#if QUANT_NONE
  S.qb = q + (((long)S.b * q_sb + (long)S.h * q_sh + (long)S.row0 * q_sn) * (AT_Q_DT == DT_F32 ? 4 : 2));
  S.kb = k + (((long)S.b * k_sb + (long)S.h * k_sh) * (AT_K_DT == DT_F32 ? 4 : 2));
  S.qrs = q_sn, S.krs = k_sn, S.qsd = q_sd, S.ksd = k_sd;
  S.qfac = scale * LOG2E_F;
#else
  S.qb = q + ((long)S.bh * N + S.row0) * SLA2_D;
  S.kb = k + (long)S.bh * N * SLA2_D;
  S.qrs = SLA2_D, S.krs = SLA2_D, S.qsd = 1, S.ksd = 1;
  S.qfac = scale * LOG2E_F * qscale[(long)S.bh * Tm + S.qblock];
#endif
#if QUANT_FP8
  S.vb = v + (long)S.bh * N * SLA2_D;
  S.vrs = SLA2_D, S.vsd = 1;
#else
  S.vb = v + (((long)S.b * v_sb + (long)S.h * v_sh) * (AT_V_DT == DT_F32 ? 4 : 2));
  S.vrs = v_sn, S.vsd = v_sd;
#endif
  return S;
}

/* The serial walks' online-softmax step for row rg + i of the RG rows in flight, from its
 * scores s[i][*] and their lane-wise maximum mx: the new running max (pass 0 stops there), then
 * P = exp2(s - max) into pa[i] (as 448 P rounded to E4M3 in int8_fp8), the rescale corr[i] and
 * the running sum. A macro, not a function: PoCL compiled an inline-function version of the
 * same code 15 % slower. */
#if QUANT_FP8
#define P_STORED(p) round_to_e4m3_v(SLA2_FP8_P_SCALE * (p))
#else
#define P_STORED(p) (p)
#endif
#define SERIAL_SOFTMAX_ROW(i, mx)                                                     \
  float tmax = -INFINITY;                                                             \
  _Pragma("unroll") for (int c = 0; c < AT_KV; c++) tmax = fmax(tmax, ((float *)&mx)[c]); \
  const int r = rg + i;                                                               \
  const float mold = Ml[r], mnew = fmax(mold, tmax);                                  \
  Ml[r] = mnew;                                                                       \
  if (pass == 0) continue;                                                            \
  const float muse = mnew == -INFINITY ? 0.0f : mnew;                                 \
  corr[i] = exp2(mold - muse);                                                        \
  kvec ps = (kvec)(0.0f);                                                             \
  _Pragma("unroll") for (int j = 0; j < KNS; j++) {                                   \
    kvec p = exp2(s[i][j] - (kvec)(muse));                                            \
    ps += p;                                                                          \
    p = P_STORED(p);                                                                  \
    KV_STORE(p, pa[i] + j * AT_KV);                                                   \
  }                                                                                   \
  float psum = 0.0f;                                                                  \
  _Pragma("unroll") for (int c = 0; c < AT_KV; c++) psum += ((float *)&ps)[c];       \
  Ml[AT_BQ + r] = Ml[AT_BQ + r] * corr[i] + psum

/* The serial walks' end: each row's O = Acc / l (times sigma_v / 448 in int8_fp8) and LSE. */
#if QUANT_FP8
#define O_SCALED(y, j, c) ((y) * (vscale[(long)bh * SLA2_D + (j) * AT_DV + (c)] / SLA2_FP8_P_SCALE))
#else
#define O_SCALED(y, j, c) (y)
#endif
#define SERIAL_WRITE_ROWS()                                                                                  \
  for (int r = 0; r < rows_here; r++) {                                                                      \
    const float lt = Ml[AT_BQ + r], inv = 1.0f / lt;                                                         \
    const int n = row0 + r;                                                                                  \
    _Pragma("unroll") for (int j = 0; j < DNS; j++) {                                                        \
      dvec y = Acc[r * DNS + j] * inv;                                                                       \
      float ys[AT_DV];                                                                                       \
      DV_STORE(y, ys);                                                                                       \
      _Pragma("unroll") for (int c = 0; c < AT_DV; c++)                                                      \
        store_elem(o, AT_O_DT, (long)b * o_sb + (long)h * o_sh + (long)n * o_sn + (long)(j * AT_DV + c) * o_sd, \
                   O_SCALED(ys[c], j, c));                                                                   \
    }                                                                                                        \
    if (lse) lse[(long)bh * N + n] = (Ml[r] + log2(lt)) * LN2_F;                                             \
  }

#if AT_SERIAL && AT_DIRECT
/* ---- CPU devices, quantized modes over many keys: no staging ------------------------------
 * Two small kernels first lay out the operands for the walk (O(N D), against the walk's
 * O(N keys D)): attn_kt writes the K~ codes as floats transposed per key block,
 * kt[bh][block][d][bk] (zero rows past N), and attn_vf writes V as contiguous f32 rows
 * (decoding the FP8 codes in int8_fp8). The walk then reads its key vectors and V rows straight
 * from them (they stay in cache across the rows of a tile), so the per-tile transposition and
 * decoding of the staged kernel below are gone. With AT_STORE (int8_fp8, when AT_BQ rows of
 * scores fit the __local buffer sc) the first pass keeps the exact scores in sc and the second
 * pass reads them instead of recomputing Q K^T. */

/* One work-item per (bh, key block, AT_DV channels): transposed float codes. */
__kernel void attn_kt(__global const char *kcodes, int BH, int N, int Tn, int bk_log2, __global float *kt) {
  const long gid = get_global_id(0);
  const int dgroups = SLA2_D / AT_DV;
  if (gid >= (long)BH * Tn * dgroups) return;
  const int d0 = (int)(gid % dgroups) * AT_DV;
  const long bt = gid / dgroups; /* bh * Tn + block */
  const int bh = (int)(bt / Tn), blk = (int)(bt % Tn), bk = 1 << bk_log2;
  __global float *out = kt + ((bt * SLA2_D + d0) << bk_log2);
  for (int r = 0; r < bk; r++) {
    const int row = (blk << bk_log2) + r;
    float x[AT_DV];
    if (row < N) {
      DV_STORE(CAT(convert_float, AT_DV)(CAT(vload, AT_DV)(0, kcodes + ((long)bh * N + row) * SLA2_D + d0)), x);
    } else {
      for (int c = 0; c < AT_DV; c++) x[c] = 0.0f;
    }
    #pragma unroll
    for (int c = 0; c < AT_DV; c++) out[((long)c << bk_log2) + r] = x[c];
  }
}

/* One work-item per (bh, row): V as f32 (FP8 codes decoded, or the caller's tensor converted). */
__kernel void attn_vf(__global const uchar *v, long v_sb, long v_sh, long v_sn, long v_sd, int H, int N, long rows,
                      __global float *vf) {
  const long gid = get_global_id(0);
  if (gid >= rows) return;
  const int bh = (int)(gid / N), n = (int)(gid % N);
#if QUANT_FP8
  __global const uchar *src = v + gid * SLA2_D;
  const long sd = 1;
#else
  __global const uchar *src = v + (((long)(bh / H) * v_sb + (long)(bh % H) * v_sh + (long)n * v_sn) *
                                   (AT_V_DT == DT_F32 ? 4 : 2));
  const long sd = v_sd;
#endif
  __global float *out = vf + gid * SLA2_D;
  for (int d4 = 0; d4 < SLA2_D; d4 += 4) vstore4(load_v4(src, d4 * sd, sd), 0, out + d4);
}

#define RG AT_RG
#define KNS (AT_BK / AT_KV)  /* key vectors per tile row */
#define DNS (SLA2_D / AT_DV) /* channel vectors per row */
#define PVJ (DNS % 4 == 0 ? 4 : DNS % 2 == 0 ? 2 : 1)

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void attention(ATTN_ARGS, __global const float *kt, __global const float *vf, __local float *sc) {
  __local align_vec smem_v[AT_SMEM / AT_ALIGN];
  __local float *smem = (__local float *)smem_v;
  __local float *Qt = smem + AT_OFF_Q;                   /* [AT_BQ][D] codes as floats */
  __local dvec *Acc = (__local dvec *)(smem + AT_OFF_A); /* [AT_BQ][DNS] */
  __local float *Ml = smem + AT_OFF_A + AT_BQ * SLA2_D;  /* m [AT_BQ], then l [AT_BQ] */
  const attn_setup S = attn_begin(ATTN_PASS);
  const int bh = S.bh, b = S.b, h = S.h, row0 = S.row0, rows_here = S.rows_here, nslots = S.nslots;
  __global const int *lut_row = S.lut_row;
  const float qfac = S.qfac;
  __global const float *kt_head = kt + (((long)bh * Tn * SLA2_D) << bk_log2);
  __global const float *vf_head = vf + (long)bh * N * SLA2_D;

  for (int r = 0; r < AT_BQ; r++) {
    Ml[r] = -INFINITY;
    Ml[AT_BQ + r] = 0.0f;
    #pragma unroll
    for (int j = 0; j < DNS; j++) Acc[r * DNS + j] = (dvec)(0.0f);
    const int rr = min(r, rows_here - 1);
    for (int d4 = 0; d4 < SLA2_D; d4 += 4) vstore4(load_q4(S.qb, rr * S.qrs + d4 * S.qsd, S.qsd), 0, Qt + r * SLA2_D + d4);
  }

  const int ntiles = (nslots + AT_BK - 1) / AT_BK;
#if QUANT_FP8
  const int two_pass = ntiles > 1 || AT_STORE ? 1 : 0; /* the max first, as in the kernels below */
#else
  const int two_pass = 0;
#endif
  for (int step = 0; step < (two_pass + 1) * ntiles; step++) {
    const int pass = step < two_pass * ntiles ? 0 : 1, tile = step % ntiles, t0 = tile * AT_BK;
    const int kvalid = min(AT_BK, nslots - t0);
    /* Each AT_KV keys lie in one key block (bk >= 16 = AT_KV): their column of kt. */
    __global const float *kp[KNS];
    #pragma unroll
    for (int j = 0; j < KNS; j++) {
      const int slot = t0 + j * AT_KV;
#if AT_DENSE
      const int blk = slot >> bk_log2;
#else
      const int blk = slot < nslots ? lut_row[slot >> bk_log2] : 0;
#endif
      kp[j] = slot < nslots ? kt_head + (((long)blk * SLA2_D) << bk_log2) + (slot & ((1 << bk_log2) - 1)) : kt_head;
    }
    kvec kf[KNS]; /* per key: the score factor, or -inf where the slot has no key */
    int vrow[AT_BK];
    for (int c = 0; c < AT_BK; c++) {
      const int row = slot_row(t0 + c, nslots, lut_row, bk_log2, N);
      vrow[c] = row >= 0 ? row : 0; /* P is 0 there: any finite row will do */
      ((float *)kf)[c] = row >= 0 ? qfac * kscale[(long)bh * Tn + (row >> bk_log2)] : -INFINITY;
    }
    for (int rg = 0; rg < AT_BQ; rg += RG) {
      kvec s[RG][KNS];
#if AT_STORE
      if (pass == 1) {
        #pragma unroll
        for (int i = 0; i < RG; i++)
          #pragma unroll
          for (int j = 0; j < KNS; j++) /* a vector of AT_KV slots is wholly inside nslots or past it */
            s[i][j] = t0 + j * AT_KV < nslots ? *(__local const kvec *)(sc + (long)(rg + i) * nslots + t0 + j * AT_KV)
                                              : (kvec)(-INFINITY);
      } else
#endif
      {
        #pragma unroll
        for (int i = 0; i < RG; i++)
          #pragma unroll
          for (int j = 0; j < KNS; j++) s[i][j] = (kvec)(0.0f);
        for (int d = 0; d < SLA2_D; d++) {
          kvec kk[KNS];
          #pragma unroll
          for (int j = 0; j < KNS; j++) kk[j] = CAT(vload, AT_KV)(0, kp[j] + (d << bk_log2));
          #pragma unroll
          for (int i = 0; i < RG; i++) {
            const kvec qv = (kvec)(Qt[(rg + i) * SLA2_D + d]);
            #pragma unroll
            for (int j = 0; j < KNS; j++) s[i][j] = fma(qv, kk[j], s[i][j]);
          }
        }
        #pragma unroll
        for (int i = 0; i < RG; i++)
          #pragma unroll
          for (int j = 0; j < KNS; j++) {
            s[i][j] = select(s[i][j] * kf[j], (kvec)(-INFINITY), isinf(kf[j]));
#if AT_STORE
            if (t0 + j * AT_KV < nslots) *(__local kvec *)(sc + (long)(rg + i) * nslots + t0 + j * AT_KV) = s[i][j];
#endif
          }
      }
      float pa[RG][AT_BK], corr[RG];
      #pragma unroll
      for (int i = 0; i < RG; i++) {
        kvec mx = (kvec)(-INFINITY);
        #pragma unroll
        for (int j = 0; j < KNS; j++) mx = fmax(mx, s[i][j]);
        SERIAL_SOFTMAX_ROW(i, mx);
      }
      if (pass == 0) continue;
      for (int j0 = 0; j0 < DNS; j0 += PVJ) {
        dvec a[RG][PVJ];
        #pragma unroll
        for (int i = 0; i < RG; i++)
          #pragma unroll
          for (int j = 0; j < PVJ; j++) a[i][j] = Acc[(rg + i) * DNS + j0 + j] * corr[i];
        for (int c = 0; c < kvalid; c++) {
          __global const float *vr = vf_head + (long)vrow[c] * SLA2_D;
          dvec vv[PVJ];
          #pragma unroll
          for (int j = 0; j < PVJ; j++) vv[j] = CAT(vload, AT_DV)(0, vr + (j0 + j) * AT_DV);
          #pragma unroll
          for (int i = 0; i < RG; i++) {
            const dvec pc = (dvec)(pa[i][c]);
            #pragma unroll
            for (int j = 0; j < PVJ; j++) a[i][j] = fma(pc, vv[j], a[i][j]);
          }
        }
        #pragma unroll
        for (int i = 0; i < RG; i++)
          #pragma unroll
          for (int j = 0; j < PVJ; j++) Acc[(rg + i) * DNS + j0 + j] = a[i][j];
      }
    }
  }

  SERIAL_WRITE_ROWS();
}

#elif AT_SERIAL
/* ---- CPU devices: one work-item per work-group ---------------------------------------------
 * The work-item walks its AT_BQ rows in groups of AT_RG: per key tile it stages K (transposed)
 * and V once into local memory, then for each row group computes S (AT_RG x AT_BK in kvec
 * registers), the online softmax and P V, with the output rows kept in local memory between
 * tiles. No barriers: PoCL keeps values in registers only inside barrier-free regions, and a
 * lone work-item needs none. */
#define RG AT_RG
#define KNS (AT_BK / AT_KV)  /* key vectors per row */
#define DNS (SLA2_D / AT_DV) /* channel vectors per row */
#define PVJ (DNS % 4 == 0 ? 4 : DNS % 2 == 0 ? 2 : 1) /* channel vectors per P V pass */

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void attention(ATTN_ARGS) {
  __local align_vec smem_v[AT_SMEM / AT_ALIGN];
  __local float *smem = (__local float *)smem_v;
  __local float *Qt = smem + AT_OFF_Q;                 /* [AT_BQ][D], pre-scaled */
  __local float *Kt = smem + AT_OFF_K;                 /* [D][AT_LDK] */
  __local float *Vl = smem + AT_OFF_V;                 /* [AT_BK][AT_LDV] */
  __local dvec *Acc = (__local dvec *)(smem + AT_OFF_A); /* [AT_BQ][DNS] */
  __local float *Ml = smem + AT_OFF_A + AT_BQ * SLA2_D;  /* m [AT_BQ], then l [AT_BQ] */
  const attn_setup S = attn_begin(ATTN_PASS);
  const int bh = S.bh, b = S.b, h = S.h, row0 = S.row0, rows_here = S.rows_here, nslots = S.nslots;
  __global const int *lut_row = S.lut_row;
  const float qfac = S.qfac;

  for (int r = 0; r < AT_BQ; r++) {
    Ml[r] = -INFINITY;
    Ml[AT_BQ + r] = 0.0f;
    #pragma unroll
    for (int j = 0; j < DNS; j++) Acc[r * DNS + j] = (dvec)(0.0f);
    /* Rows past N repeat the last row (their results are not stored). Q stays row-major:
     * the score loop broadcasts single elements of it. */
    const int rr = min(r, rows_here - 1);
    for (int d4 = 0; d4 < SLA2_D; d4 += 4) {
      float4 x = load_q4(S.qb, rr * S.qrs + d4 * S.qsd, S.qsd);
#if QUANT_NONE
      x *= qfac;
#endif
      vstore4(x, 0, Qt + r * SLA2_D + d4);
    }
  }

  const int ntiles = (nslots + AT_BK - 1) / AT_BK;
#if QUANT_FP8
  const int two_pass = ntiles > 1 ? 1 : 0; /* see the work-group kernel below */
#else
  const int two_pass = 0;
#endif
  for (int step = 0; step < (two_pass + 1) * ntiles; step++) {
    const int pass = step < two_pass * ntiles ? 0 : 1, tile = step % ntiles, t0 = tile * AT_BK;
    const int kvalid = min(AT_BK, nslots - t0);
    kvec kf[KNS]; /* per key: the score factor, or -inf where the slot has no key */
    for (int c = 0; c < AT_BK; c++) {
      const int row = slot_row(t0 + c, nslots, lut_row, bk_log2, N);
      for (int d4 = 0; d4 < SLA2_D; d4 += 4) {
        float4 x = row >= 0 ? load_k4(S.kb, row * S.krs + d4 * S.ksd, S.ksd) : (float4)(0.0f);
        Kt[(d4 + 0) * AT_LDK + c] = x.s0;
        Kt[(d4 + 1) * AT_LDK + c] = x.s1;
        Kt[(d4 + 2) * AT_LDK + c] = x.s2;
        Kt[(d4 + 3) * AT_LDK + c] = x.s3;
        if (pass == 1) {
          float4 y = row >= 0 ? load_v4(S.vb, row * S.vrs + d4 * S.vsd, S.vsd) : (float4)(0.0f);
          vstore4(y, 0, Vl + c * AT_LDV + d4);
        }
      }
#if QUANT_NONE
      ((float *)kf)[c] = row >= 0 ? 1.0f : -INFINITY;
#else
      ((float *)kf)[c] = row >= 0 ? qfac * kscale[(long)bh * Tn + (row >> bk_log2)] : -INFINITY;
#endif
    }
    for (int rg = 0; rg < AT_BQ; rg += RG) {
      kvec s[RG][KNS];
      #pragma unroll
      for (int i = 0; i < RG; i++)
        #pragma unroll
        for (int j = 0; j < KNS; j++) s[i][j] = (kvec)(0.0f);
      for (int d = 0; d < SLA2_D; d++) {
        kvec kk[KNS];
        #pragma unroll
        for (int j = 0; j < KNS; j++) kk[j] = *(__local const kvec *)(Kt + d * AT_LDK + j * AT_KV);
        #pragma unroll
        for (int i = 0; i < RG; i++) {
          const kvec qv = (kvec)(Qt[(rg + i) * SLA2_D + d]);
          #pragma unroll
          for (int j = 0; j < KNS; j++) s[i][j] = fma(qv, kk[j], s[i][j]);
        }
      }
      float pa[RG][AT_BK], corr[RG];
      #pragma unroll
      for (int i = 0; i < RG; i++) {
        kvec mx = (kvec)(-INFINITY);
        #pragma unroll
        for (int j = 0; j < KNS; j++) {
          s[i][j] = select(s[i][j] * kf[j], (kvec)(-INFINITY), isinf(kf[j]));
          mx = fmax(mx, s[i][j]);
        }
        SERIAL_SOFTMAX_ROW(i, mx);
      }
      if (pass == 0) continue;
      /* P V for the RG rows at once, PVJ channel vectors at a time (RG x PVJ accumulators). */
      for (int j0 = 0; j0 < DNS; j0 += PVJ) {
        dvec a[RG][PVJ];
        #pragma unroll
        for (int i = 0; i < RG; i++)
          #pragma unroll
          for (int j = 0; j < PVJ; j++) a[i][j] = Acc[(rg + i) * DNS + j0 + j] * corr[i];
        for (int c = 0; c < kvalid; c++) {
          dvec vv[PVJ];
          #pragma unroll
          for (int j = 0; j < PVJ; j++) vv[j] = *(__local const dvec *)(Vl + c * AT_LDV + (j0 + j) * AT_DV);
          #pragma unroll
          for (int i = 0; i < RG; i++) {
            const dvec pc = (dvec)(pa[i][c]);
            #pragma unroll
            for (int j = 0; j < PVJ; j++) a[i][j] = fma(pc, vv[j], a[i][j]);
          }
        }
        #pragma unroll
        for (int i = 0; i < RG; i++)
          #pragma unroll
          for (int j = 0; j < PVJ; j++) Acc[(rg + i) * DNS + j0 + j] = a[i][j];
      }
    }
  }

  SERIAL_WRITE_ROWS();
}

#else /* work-group kernel */

/* Global -> register -> local staging of one chunk: each work-item carries up to IT float4
 * items; with AT_PREFETCH the loads of chunk c + 1 are issued before the arithmetic on chunk c
 * (register double buffering), otherwise right before they are stored. */
/* GPUs: the hardware exp2 (relative error ~2^-22, far below every bound; a full-precision
 * exp2 costs about a tenth of the arithmetic per score). */
#define SCORE_EXP2(x) native_exp2(x)
#define QIT ((AT_BQ * (AT_DC / 4) + WG - 1) / WG)
#define KIT ((AT_BK * (AT_DC / 4) + WG - 1) / WG)
#define VIT ((AT_VC * (SLA2_D / 4) + WG - 1) / WG)

__kernel __attribute__((reqd_work_group_size(AT_TC, AT_TR, 1)))
void attention(ATTN_ARGS) {
  /* Local memory: P [AT_BQ][AT_LDP] from offset 0 (also the row-reduction scratch), V chunks
   * [AT_VC][AT_LDV] after it; during the score phase the Q and K chunks (Qt [AT_DC][AT_LDQ],
   * Kt [AT_DC][AT_LDK]) reuse the same bytes (P and V are dead then). */
  __local align_vec smem_v[AT_SMEM / AT_ALIGN];
  __local float *smem = (__local float *)smem_v;
  __local float *P = smem + AT_OFF_P;
  __local float *Qt = smem + AT_OFF_Q;
  __local float *Kt = smem + AT_OFF_K;
  __local float *Vl = smem + AT_OFF_V;

  const int tc = (int)get_local_id(0), tr = (int)get_local_id(1), lid = tr * AT_TC + tc;
  const attn_setup S = attn_begin(ATTN_PASS);
  const int bh = S.bh, b = S.b, h = S.h, row0 = S.row0, rows_here = S.rows_here, nslots = S.nslots;
  __global const int *lut_row = S.lut_row;
  __global const uchar *qb = S.qb, *kb = S.kb, *vb = S.vb;
  const long qrs = S.qrs, krs = S.krs, vrs = S.vrs, qsd = S.qsd, ksd = S.ksd, vsd = S.vsd;
  const float qfac = S.qfac;

  float m[RM], l[RM];
  dvec acc[RM][DNV];
  #pragma unroll
  for (int i = 0; i < RM; i++) {
    m[i] = -INFINITY;
    l[i] = 0.0f;
    #pragma unroll
    for (int j = 0; j < DNV; j++) acc[i][j] = (dvec)(0.0f);
  }

  const int ntiles = (nslots + AT_BK - 1) / AT_BK;
  /* int8_fp8 rounds P at the row's final max like the oracle: when the keys span several
   * tiles, a first pass (scores only) finds that max; the second pass then never rescales. */
#if QUANT_FP8
  const int two_pass = ntiles > 1 ? 1 : 0;
#else
  const int two_pass = 0;
#endif
  for (int step = 0; step < (two_pass + 1) * ntiles; step++) {
    /* One loop with uniform bounds (no continue around barriers: PoCL is strict about it). */
    const int pass = step < two_pass * ntiles ? 0 : 1, tile = step % ntiles;
    const int t0 = tile * AT_BK;

    /* ---- S = Q K^T for this work-item's RM x KN tile ---- */
    kvec s[RM][KNV];
    #pragma unroll
    for (int i = 0; i < RM; i++)
      #pragma unroll
      for (int j = 0; j < KNV; j++) s[i][j] = (kvec)(0.0f);
    float4 qr[QIT], kr[KIT];
#define LOAD_QK(dc0)                                                                             \
  {                                                                                              \
    _Pragma("unroll") for (int u = 0; u < QIT; u++) {                                            \
      const int it = lid + u * WG, r = it / (AT_DC / 4), d4 = (it % (AT_DC / 4)) * 4;              \
      qr[u] = (it < AT_BQ * (AT_DC / 4) && r < rows_here) ? load_q4(qb, r * qrs + ((dc0) + d4) * qsd, qsd) \
                                                           : (float4)(0.0f);                      \
    }                                                                                            \
    _Pragma("unroll") for (int u = 0; u < KIT; u++) {                                            \
      const int it = lid + u * WG, c = it / (AT_DC / 4), d4 = (it % (AT_DC / 4)) * 4;              \
      const int row = it < AT_BK * (AT_DC / 4) ? slot_row(t0 + c, nslots, lut_row, bk_log2, N) : -1; \
      kr[u] = row >= 0 ? load_k4(kb, row * krs + ((dc0) + d4) * ksd, ksd) : (float4)(0.0f);      \
    }                                                                                            \
  }
    LOAD_QK(0)
    for (int dc0 = 0; dc0 < SLA2_D; dc0 += AT_DC) {
#if !AT_PREFETCH
      if (dc0 > 0) LOAD_QK(dc0)
#endif
      barrier(CLK_LOCAL_MEM_FENCE);
      #pragma unroll
      for (int u = 0; u < QIT; u++) {
        const int it = lid + u * WG, r = it / (AT_DC / 4), d4 = (it % (AT_DC / 4)) * 4;
        if (it < AT_BQ * (AT_DC / 4)) {
#if QUANT_NONE
          const float4 x = qr[u] * qfac;
#else
          const float4 x = qr[u];
#endif
          Qt[(d4 + 0) * AT_LDQ + r] = x.s0;
          Qt[(d4 + 1) * AT_LDQ + r] = x.s1;
          Qt[(d4 + 2) * AT_LDQ + r] = x.s2;
          Qt[(d4 + 3) * AT_LDQ + r] = x.s3;
        }
      }
      #pragma unroll
      for (int u = 0; u < KIT; u++) {
        const int it = lid + u * WG, c = it / (AT_DC / 4), d4 = (it % (AT_DC / 4)) * 4;
        if (it < AT_BK * (AT_DC / 4)) {
          Kt[(d4 + 0) * AT_LDK + c] = kr[u].s0;
          Kt[(d4 + 1) * AT_LDK + c] = kr[u].s1;
          Kt[(d4 + 2) * AT_LDK + c] = kr[u].s2;
          Kt[(d4 + 3) * AT_LDK + c] = kr[u].s3;
        }
      }
      barrier(CLK_LOCAL_MEM_FENCE);
#if AT_PREFETCH
      if (dc0 + AT_DC < SLA2_D) LOAD_QK(dc0 + AT_DC)
#endif
#if AT_UNROLL
      #pragma unroll
#else
      #pragma unroll 4
#endif
      for (int d = 0; d < AT_DC; d++) {
        float qa[RM];
        #pragma unroll
        for (int g = 0; g < RMV; g++) {
          rvec t = *(__local const rvec *)(Qt + d * AT_LDQ + (g * AT_TR + tr) * AT_RV);
          RVEC_SPLIT(qa + g * AT_RV, t);
        }
        kvec kk[KNV];
        #pragma unroll
        for (int j = 0; j < KNV; j++) kk[j] = *(__local const kvec *)(Kt + d * AT_LDK + (j * AT_TC + tc) * AT_KV);
        #pragma unroll
        for (int i = 0; i < RM; i++)
          #pragma unroll
          for (int j = 0; j < KNV; j++) s[i][j] = fma((kvec)(qa[i]), kk[j], s[i][j]);
      }
    }
#undef LOAD_QK

    /* ---- scale, mask, row maxima ---- */
    kvec kf[KNV]; /* per key: the score factor, or -inf for a slot without a key */
    #pragma unroll
    for (int j = 0; j < KNV; j++) {
      float f[AT_KV];
      #pragma unroll
      for (int c = 0; c < AT_KV; c++) {
        int slot = t0 + (j * AT_TC + tc) * AT_KV + c;
        int row = slot_row(slot, nslots, lut_row, bk_log2, N);
#if QUANT_NONE
        f[c] = row >= 0 ? 1.0f : -INFINITY;
#else
        f[c] = row >= 0 ? qfac * kscale[(long)bh * Tn + (row >> bk_log2)] : -INFINITY;
#endif
      }
#if AT_KV == 1
      kf[j] = f[0];
#else
      kf[j] = CAT(vload, AT_KV)(0, f);
#endif
    }
    float tmax[RM];
    #pragma unroll
    for (int i = 0; i < RM; i++) {
      float mx = -INFINITY;
      #pragma unroll
      for (int j = 0; j < KNV; j++) {
        /* -inf factor: the key does not exist (its staged values are 0, so s is 0 there). */
        kvec x = select(s[i][j] * kf[j], (kvec)(-INFINITY), isinf(kf[j]));
        s[i][j] = x;
#if AT_KV == 1
        mx = fmax(mx, x);
#else
        float tmp[AT_KV];
        KV_STORE(x, tmp);
        #pragma unroll
        for (int c = 0; c < AT_KV; c++) mx = fmax(mx, tmp[c]);
#endif
      }
      tmax[i] = mx;
    }
    /* Row maxima across the AT_TC work-items of each row. The scratch aliases the Q/K chunks:
     * every work-item must be done reading them first. */
    barrier(CLK_LOCAL_MEM_FENCE);
    #pragma unroll
    for (int g = 0; g < RMV; g++)
      #pragma unroll
      for (int c = 0; c < AT_RV; c++) P[((g * AT_TR + tr) * AT_RV + c) * AT_TC + tc] = tmax[g * AT_RV + c];
    barrier(CLK_LOCAL_MEM_FENCE);
    #pragma unroll
    for (int g = 0; g < RMV; g++)
      #pragma unroll
      for (int c = 0; c < AT_RV; c++) {
        __local const float *red = P + ((g * AT_TR + tr) * AT_RV + c) * AT_TC;
        float mx = -INFINITY;
        #pragma unroll
        for (int t = 0; t < AT_TC; t++) mx = fmax(mx, red[t]);
        tmax[g * AT_RV + c] = mx;
      }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (pass == 0) {
      #pragma unroll
      for (int i = 0; i < RM; i++) m[i] = fmax(m[i], tmax[i]);
    }

    /* ---- online softmax update; P to local memory as P[row][key] ---- */
    if (pass == 1) {
      #pragma unroll
      for (int i = 0; i < RM; i++) {
        const int row = ((i / AT_RV) * AT_TR + tr) * AT_RV + i % AT_RV;
        float mnew = fmax(m[i], tmax[i]);
        float muse = mnew == -INFINITY ? 0.0f : mnew;
        float corr = SCORE_EXP2(m[i] - muse);
        m[i] = mnew;
        float psum = 0.0f;
        #pragma unroll
        for (int j = 0; j < KNV; j++) {
          kvec p = SCORE_EXP2(s[i][j] - (kvec)(muse));
#if AT_KV == 1
          psum += p;
#else
          float tmp[AT_KV];
          KV_STORE(p, tmp);
          #pragma unroll
          for (int c = 0; c < AT_KV; c++) psum += tmp[c];
#endif
#if QUANT_FP8
          p = round_to_e4m3_v(SLA2_FP8_P_SCALE * p);
#endif
          *(__local kvec *)(P + row * AT_LDP + (j * AT_TC + tc) * AT_KV) = p;
        }
        l[i] = l[i] * corr + psum;
        #pragma unroll
        for (int j = 0; j < DNV; j++) acc[i][j] *= corr;
      }
    }

    /* ---- O += P V ---- */
    const int kvalid = pass == 1 ? min(AT_BK, nslots - t0) : 0;
    float4 vr[VIT];
#define LOAD_V(vc0)                                                                              \
  {                                                                                              \
    _Pragma("unroll") for (int u = 0; u < VIT; u++) {                                            \
      const int it = lid + u * WG, c = it / (SLA2_D / 4), d4 = (it % (SLA2_D / 4)) * 4;            \
      const int row = it < AT_VC * (SLA2_D / 4) ? slot_row(t0 + (vc0) + c, nslots, lut_row, bk_log2, N) : -1; \
      vr[u] = row >= 0 ? load_v4(vb, row * vrs + d4 * vsd, vsd) : (float4)(0.0f);                 \
    }                                                                                            \
  }
    if (kvalid > 0) LOAD_V(0)
    for (int vc0 = 0; vc0 < kvalid; vc0 += AT_VC) {
#if !AT_PREFETCH
      if (vc0 > 0) LOAD_V(vc0)
#endif
      barrier(CLK_LOCAL_MEM_FENCE);
      #pragma unroll
      for (int u = 0; u < VIT; u++) {
        const int it = lid + u * WG, c = it / (SLA2_D / 4), d4 = (it % (SLA2_D / 4)) * 4;
        if (it < AT_VC * (SLA2_D / 4)) vstore4(vr[u], 0, Vl + c * AT_LDV + d4);
      }
      barrier(CLK_LOCAL_MEM_FENCE);
#if AT_PREFETCH
      if (vc0 + AT_VC < kvalid) LOAD_V(vc0 + AT_VC)
#endif
#if AT_UNROLL
      #pragma unroll
#endif
      for (int c4 = 0; c4 < AT_VC; c4 += 4) {
        float4 pv[RM];
        #pragma unroll
        for (int i = 0; i < RM; i++) {
          const int row = ((i / AT_RV) * AT_TR + tr) * AT_RV + i % AT_RV;
          pv[i] = *(__local const float4 *)(P + row * AT_LDP + vc0 + c4);
        }
#define PV_STEP(comp, cc)                                                                        \
  {                                                                                              \
    dvec vv[DNV];                                                                                \
    _Pragma("unroll") for (int j = 0; j < DNV; j++)                                              \
      vv[j] = *(__local const dvec *)(Vl + (c4 + cc) * AT_LDV + (j * AT_TC + tc) * AT_DV);       \
    _Pragma("unroll") for (int i = 0; i < RM; i++)                                               \
      _Pragma("unroll") for (int j = 0; j < DNV; j++) acc[i][j] = fma((dvec)(pv[i].comp), vv[j], acc[i][j]); \
  }
        PV_STEP(s0, 0)
        PV_STEP(s1, 1)
        PV_STEP(s2, 2)
        PV_STEP(s3, 3)
#undef PV_STEP
      }
    }
#undef LOAD_V
  }

  /* ---- l across the row's work-items, normalize, store O and LSE ---- */
  barrier(CLK_LOCAL_MEM_FENCE);
  #pragma unroll
  for (int i = 0; i < RM; i++) {
    const int row = ((i / AT_RV) * AT_TR + tr) * AT_RV + i % AT_RV;
    P[row * AT_TC + tc] = l[i];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  #pragma unroll
  for (int i = 0; i < RM; i++) {
    const int row = ((i / AT_RV) * AT_TR + tr) * AT_RV + i % AT_RV;
    float lt = 0.0f;
    #pragma unroll
    for (int t = 0; t < AT_TC; t++) lt += P[row * AT_TC + t];
    if (row >= rows_here) continue;
    const int n = row0 + row;
    float inv = 1.0f / lt;
    #pragma unroll
    for (int j = 0; j < DNV; j++) {
      const int d0 = (j * AT_TC + tc) * AT_DV;
      dvec y = acc[i][j] * inv;
#if QUANT_FP8 && AT_DV == 1
      y = y * (vscale[(long)bh * SLA2_D + d0] / SLA2_FP8_P_SCALE);
#elif QUANT_FP8
      y = y * (CAT(vload, AT_DV)(0, vscale + (long)bh * SLA2_D + d0) / SLA2_FP8_P_SCALE);
#endif
      float ys[AT_DV];
      DV_STORE(y, ys);
      #pragma unroll
      for (int c = 0; c < AT_DV; c++)
        store_elem(o, AT_O_DT, (long)b * o_sb + (long)h * o_sh + (long)n * o_sn + (long)(d0 + c) * o_sd, ys[c]);
    }
    if (lse && tc == 0) lse[(long)bh * N + n] = (m[i] + log2(lt)) * LN2_F;
  }
}
#endif
