/* CPU backend: SPARSE_ATTN and DENSE_ATTN through one flash-attention driver.
 *
 * A work item is (batch, head, query block): bq rows for the sparse branch, DENSE_ROWS rows for
 * dense attention. Its keys are a list of segments (row ranges): the LUT's blocks for the sparse
 * branch (blocks outside the LUT are never touched), every DENSE_KEYS-row block for dense; dense
 * attention is exactly the sparse path over all blocks.
 *
 * The rows are split into tiles of W = 16 R rows held in vector lanes (cpu_kernels.h). Per tile:
 * Q is transposed once into qt [D][W] and pre-scaled by s log2(e), so scores come out in log2
 * units and exponentials are exp2; then, per chunk of up to KEY_CHUNK keys, scores ->
 * online-softmax update (running max m, normalizer l, rescale factor corr) -> P V accumulated
 * into ot [D][W]; finally O = ot / l and LSE = (m + log2 l) ln 2.
 *
 * int8 / int8_fp8: scores are exact int32 dots of the INT8 codes (the kernel's u8 x s8 dot with
 * the +128 bias on Q undone by kbias = 128 sum_d k), times s log2(e) sigma_q sigma_k. int8_fp8
 * also rounds 448 P to E4M3 and multiplies it with the FP8 V as bf16 pairs (E4M3 values are
 * exact in bf16, so a bf16 dot-product instruction does two keys per lane), rescaled by
 * sigma_v / 448 at the end. Its P codes depend on the max m, so when a row's keys exceed one
 * chunk a first pass computes the exact row max (the oracle's two-pass semantics). */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

#define KEY_CHUNK 256          /* keys per online-softmax step */
#define FP8_ONE_PASS_KEYS 512  /* int8_fp8: rows with at most this many keys take one pass */
#define DENSE_ROWS 48          /* query rows per dense work item */
#define DENSE_KEYS 128         /* keys per dense segment */
#define TILE_R_PREF 3          /* lane groups per tile (48 rows; 64 measured no faster) */
#define GROUP_BYTES ((size_t)256 << 20) /* converted K / V rows held at once */
#define LOG2E 1.4426950408889634
#define LN2 0.6931471805599453

typedef struct segment {
  int64_t start, len; /* key rows [start, start + len) */
  float ksig;         /* int8: sigma of the key block */
} segment;

typedef struct attn {
  const cpu_exec *x;
  const sla2_graph *g;
  bool dense, int8, fp8;
  int64_t N, D, rows_per_item, items_per_head, nseg_max;
  cpu_tensor4 q, k, v, o;
  float *lse;
  const int32_t *lut;
  const int8_t *qcodes, *kcodes;
  const float *qscale, *kscale, *vscale;
  const uint8_t *vcodes;
  /* Per group of heads [g0, g0 + gn): rows converted to f32 (when not usable in place), the
   * FP8 V as bf16 pairs of rows (int8_fp8), and the int8 key biases. */
  bool k_conv, v_conv;
  int64_t g0;
  float *kbuf, *vbuf;
  uint32_t *v2buf;
  int32_t *kbias;
} attn;

/* Per-thread tile workspace. st (ST_KEYS x W floats) also stages converted Q rows before the
 * scores and O rows after P V: rows x D <= W x SLA2_HEAD_DIM_MAX <= W x ST_KEYS. */
typedef struct tile_ws {
  float *qt, *ot, *st, *m, *l, *mn, *corr, *out;
  uint32_t *p2; /* int8_fp8: P as bf16 pairs */
  uint8_t *qc;
  segment *seg;
} tile_ws;

#define ST_KEYS (KEY_CHUNK > FP8_ONE_PASS_KEYS ? KEY_CHUNK : FP8_ONE_PASS_KEYS)
_Static_assert(SLA2_HEAD_DIM_MAX <= ST_KEYS, "tile st must hold rows x D floats");

static size_t tile_ws_floats(int64_t D) {
  return (size_t)(2 * D * CPU_TILE_WMAX + (ST_KEYS + ST_KEYS / 2) * CPU_TILE_WMAX + 4 * CPU_TILE_WMAX + D);
}

static size_t tile_ws_bytes(int64_t D, int64_t nseg) {
  return tile_ws_floats(D) * sizeof(float) + (size_t)(D * CPU_TILE_WMAX) +
         (size_t)nseg * sizeof(segment) + 128; /* + alignment of qc and seg */
}

static tile_ws tile_ws_at(char *base, int64_t D) {
  tile_ws w;
  float *f = (float *)base;
  w.qt = f, f += D * CPU_TILE_WMAX;
  w.ot = f, f += D * CPU_TILE_WMAX;
  w.st = f, f += ST_KEYS * CPU_TILE_WMAX;
  w.p2 = (uint32_t *)(void *)f, f += ST_KEYS / 2 * CPU_TILE_WMAX;
  w.m = f, f += CPU_TILE_WMAX;
  w.l = f, f += CPU_TILE_WMAX;
  w.mn = f, f += CPU_TILE_WMAX;
  w.corr = f, f += CPU_TILE_WMAX;
  w.out = f, f += D;
  w.qc = (uint8_t *)base + ((size_t)((char *)f - base) + 63) / 64 * 64; /* 64-byte aligned loads */
  w.seg = (segment *)(void *)(w.qc + ((D * CPU_TILE_WMAX + 63) / 64) * 64);
  return w;
}

/* Key rows of head bh for the f32 / int8 score kernels and the value rows for P V. */
typedef struct head_src {
  const float *k, *v;
  int64_t ks, vs;
  const int8_t *kc;
  const int32_t *kbias;
  const uint32_t *v2; /* int8_fp8: rows (2t, 2t + 1) of V as bf16 pairs, D words per t */
} head_src;

static head_src head_sources(const attn *a, int64_t bh) {
  const int64_t b = bh / a->g->H, h = bh % a->g->H, slot = bh - a->g0;
  head_src s = {0};
  if (a->int8) {
    s.kc = a->kcodes + bh * a->N * a->D;
    s.kbias = a->kbias + slot * a->N;
  } else if (a->k_conv) {
    s.k = a->kbuf + slot * a->N * a->D, s.ks = a->D;
  } else {
    s.k = cpu_tensor4_at(&a->k, b, h, 0), s.ks = a->k.s[2];
  }
  if (a->fp8) {
    s.v2 = a->v2buf + slot * ((a->N + 1) / 2) * a->D;
  } else if (a->v_conv) {
    s.v = a->vbuf + slot * a->N * a->D, s.vs = a->D;
  } else {
    s.v = cpu_tensor4_at(&a->v, b, h, 0), s.vs = a->v.s[2];
  }
  return s;
}

/* Fills the group buffers for rows [n0, n1) of head bh (n0 even). */
static void prepare_rows(const attn *a, int64_t bh, int64_t n0, int64_t n1) {
  const cpu_kernels *kt = a->x->kt;
  const int64_t b = bh / a->g->H, h = bh % a->g->H, slot = bh - a->g0, D = a->D;
  for (int64_t n = n0; n < n1; n++) {
    const size_t at = (size_t)((slot * a->N + n) * D);
    if (a->k_conv) {
      const float *r = cpu_load_row(a->x, &a->k, b, h, n, a->kbuf + at);
      if (r != a->kbuf + at) memcpy(a->kbuf + at, r, sizeof(float) * (size_t)D);
    }
    if (a->v_conv && !a->fp8) {
      const float *r = cpu_load_row(a->x, &a->v, b, h, n, a->vbuf + at);
      if (r != a->vbuf + at) memcpy(a->vbuf + at, r, sizeof(float) * (size_t)D);
    }
    if (a->int8) a->kbias[slot * a->N + n] = 128 * kt->sum_i8(a->kcodes + (bh * a->N + n) * D, D);
  }
  if (a->fp8) {
    const uint8_t *codes = a->vcodes + bh * a->N * D;
    uint32_t *v2 = a->v2buf + slot * ((a->N + 1) / 2) * D;
    for (int64_t n = n0; n < n1; n += 2)
      kt->pack_v_pairs(codes + n * D, n + 1 < a->N ? codes + (n + 1) * D : NULL, v2 + (n / 2) * D, (int)D);
  }
}

static void segment_scores(const attn *a, const head_src *src, const tile_ws *w, int R,
                           const segment *s, double qfactor, float *st) {
  const cpu_kernels *kt = a->x->kt;
  if (a->int8)
    kt->scores_i8(w->qc, R, (int)a->D, src->kc + s->start * a->D, a->D, src->kbias + s->start,
                  (int)s->len, (float)(qfactor * (double)s->ksig), st);
  else
    kt->scores_f32(w->qt, R, (int)a->D, src->k + s->start * src->ks, src->ks, (int)s->len, st);
}

/* int8_fp8 takes keys in the pairs of rows (2t, 2t + 1) that the packed V holds, so a segment
 * covers whole pairs: a padding row in front when it starts at an odd row, one behind when it
 * ends at an odd row. lead() is the front padding, seg_rows() all st rows it takes. */
static int64_t lead(const attn *a, const segment *s) { return a->fp8 ? s->start & 1 : 0; }

static int64_t seg_rows(const attn *a, const segment *s) {
  if (!a->fp8) return s->len;
  return ((s->start + s->len + 1) / 2 - s->start / 2) * 2;
}

/* Segments [first, end) of the next chunk: as many whole segments as fit in cap st rows. */
static int64_t chunk_end(const attn *a, const segment *seg, int64_t nseg, int64_t first, int64_t cap,
                         int64_t *rows) {
  int64_t e = first, total = 0;
  while (e < nseg && (e == first || total + seg_rows(a, &seg[e]) <= cap)) total += seg_rows(a, &seg[e++]);
  *rows = total;
  return e;
}

/* Scores of segments [s0, s1) into consecutive st rows (padding rows get -inf). */
static void chunk_scores(const attn *a, const head_src *src, const tile_ws *w, int R, int64_t s0,
                         int64_t s1, double qfactor) {
  const int64_t W = CPU_LANES * R;
  for (int64_t s = s0, off = 0; s < s1; off += seg_rows(a, &w->seg[s]), s++) {
    const int64_t front = lead(a, &w->seg[s]), rows = seg_rows(a, &w->seg[s]);
    segment_scores(a, src, w, R, &w->seg[s], qfactor, w->st + (off + front) * W);
    for (int64_t j = 0; j < rows; j++)
      if (j < front || j >= front + w->seg[s].len)
        for (int64_t i = 0; i < W; i++) w->st[(off + j) * W + i] = -INFINITY;
  }
}

/* One tile: rows [n0, n0 + rows) of head bh (query block qi), R lane groups. */
static void run_tile(const attn *a, const tile_ws *w, int64_t bh, int64_t qi, int64_t n0,
                     int64_t rows, int R, int64_t nseg) {
  const sla2_graph *g = a->g;
  const cpu_kernels *kt = a->x->kt;
  const int64_t D = a->D, W = CPU_LANES * R, b = bh / g->H, h = bh % g->H;
  const head_src src = head_sources(a, bh);
  double qfactor = 0.0;

  if (a->int8) {
    kt->pack_qc(a->qcodes + (bh * a->N + n0) * D, D, (int)rows, (int)D, R, w->qc);
    qfactor = (double)g->scale * LOG2E * (double)a->qscale[bh * g->Tm + qi];
  } else {
    const float qs = (float)((double)g->scale * LOG2E);
    if (cpu_tensor4_direct(&a->q)) {
      kt->pack_qt(cpu_tensor4_at(&a->q, b, h, n0), a->q.s[2], (int)rows, (int)D, qs, R, w->qt);
    } else { /* convert the rows into st (free until the scores) first */
      for (int64_t r = 0; r < rows; r++) {
        const float *row = cpu_load_row(a->x, &a->q, b, h, n0 + r, w->st + r * D);
        if (row != w->st + r * D) memcpy(w->st + r * D, row, sizeof(float) * (size_t)D);
      }
      kt->pack_qt(w->st, D, (int)rows, (int)D, qs, R, w->qt);
    }
  }
  for (int64_t i = 0; i < W; i++) w->m[i] = -INFINITY, w->l[i] = 0.0f;
  memset(w->ot, 0, sizeof(float) * (size_t)(D * W));

  /* st rows per segment include int8_fp8's padding rows (-inf scores, so P = 0). */
  int64_t total = 0;
  for (int64_t s = 0; s < nseg; s++) total += seg_rows(a, &w->seg[s]);
  const bool fixed_max = a->fp8 && total > FP8_ONE_PASS_KEYS;
  const int64_t cap = a->fp8 && !fixed_max ? FP8_ONE_PASS_KEYS : KEY_CHUNK;

  if (fixed_max) { /* pass 1: the exact row max over all selected keys */
    for (int64_t s0 = 0, s1, keys; s0 < nseg; s0 = s1) {
      s1 = chunk_end(a, w->seg, nseg, s0, cap, &keys);
      chunk_scores(a, &src, w, R, s0, s1, qfactor);
      kt->rowmax(w->st, R, (int)keys, w->m);
    }
  }
  bool first = true;
  for (int64_t s0 = 0, s1, keys; s0 < nseg; s0 = s1) {
    s1 = chunk_end(a, w->seg, nseg, s0, cap, &keys);
    chunk_scores(a, &src, w, R, s0, s1, qfactor);
    const float *corr = NULL;
    if (!fixed_max) {
      memcpy(w->mn, w->m, sizeof(float) * (size_t)W);
      kt->rowmax(w->st, R, (int)keys, w->mn);
      for (int64_t i = 0; i < W; i++) {
        w->corr[i] = first ? 0.0f : exp2f(w->m[i] - w->mn[i]);
        w->l[i] *= w->corr[i];
        w->m[i] = w->mn[i];
      }
      corr = first ? NULL : w->corr;
    }
    if (a->fp8) {
      kt->exp_accumulate_fp8_pairs(w->st, R, (int)keys, w->m, w->l, w->p2);
      for (int64_t s = s0, off = 0; s < s1; off += seg_rows(a, &w->seg[s]), s++)
        kt->pv_pairs(w->p2 + off / 2 * W, R, (int)(seg_rows(a, &w->seg[s]) / 2), src.v2 + w->seg[s].start / 2 * D,
                     (int)D, s == s0 ? corr : NULL, w->ot);
    } else {
      kt->exp_accumulate(w->st, R, (int)keys, w->m, w->l);
      for (int64_t s = s0, off = 0; s < s1; off += w->seg[s].len, s++)
        kt->pv(w->st + off * W, R, (int)w->seg[s].len, src.v + w->seg[s].start * src.vs, src.vs,
               (int)D, s == s0 ? corr : NULL, w->ot);
    }
    first = false;
  }

  /* O = ot / l (times sigma_v / 448 for int8_fp8), transposed back to rows; mn is free now
   * and holds 1 / l. */
  for (int64_t r = 0; r < rows; r++) w->mn[r] = 1.0f / w->l[r];
  const float *col_scale = NULL;
  if (a->fp8) {
    for (int64_t e = 0; e < D; e++) w->out[e] = a->vscale[bh * D + e] / SLA2_FP8_P_SCALE;
    col_scale = w->out;
  }
  if (cpu_tensor4_direct(&a->o)) {
    kt->unpack_ot(w->ot, R, (int)rows, (int)D, w->mn, col_scale, cpu_tensor4_at(&a->o, b, h, n0), a->o.s[2]);
  } else {
    kt->unpack_ot(w->ot, R, (int)rows, (int)D, w->mn, col_scale, w->st, D);
    for (int64_t r = 0; r < rows; r++) cpu_store_row(a->x, &a->o, b, h, n0 + r, w->st + r * D);
  }
  if (a->lse)
    for (int64_t r = 0; r < rows; r++)
      a->lse[bh * a->N + n0 + r] = (float)(((double)w->m[r] + log2((double)w->l[r])) * LN2);
}

/* Work item (bh, query block qi): its key segments, then its rows tile by tile. */
static void run_item(const attn *a, const tile_ws *w, int64_t bh, int64_t qi) {
  const sla2_graph *g = a->g;
  int64_t nseg = 0;
  if (a->dense) {
    for (int64_t s = 0; s * DENSE_KEYS < a->N; s++, nseg++) {
      w->seg[nseg].start = s * DENSE_KEYS;
      w->seg[nseg].len = (a->N - s * DENSE_KEYS) < DENSE_KEYS ? a->N - s * DENSE_KEYS : DENSE_KEYS;
      w->seg[nseg].ksig = 1.0f;
    }
  } else {
    const int32_t *lut_row = a->lut + (bh * g->Tm + qi) * g->k;
    for (int64_t t = 0; t < g->k; t++, nseg++) {
      const int64_t j = lut_row[t];
      w->seg[nseg].start = j * g->bk;
      w->seg[nseg].len = cpu_block_end(g, j, g->bk) - j * g->bk;
      w->seg[nseg].ksig = a->int8 ? a->kscale[bh * g->Tn + j] : 1.0f;
    }
  }
  const int64_t n0 = qi * a->rows_per_item;
  const int64_t rows = (a->N - n0) < a->rows_per_item ? a->N - n0 : a->rows_per_item;
  const int64_t groups = (rows + CPU_LANES - 1) / CPU_LANES;
  const int64_t ntiles = (groups + TILE_R_PREF - 1) / TILE_R_PREF;
  int64_t n = n0;
  for (int64_t t = 0; t < ntiles; t++) {
    const int R = (int)(groups / ntiles + (t < groups % ntiles ? 1 : 0));
    const int64_t tr = (n0 + rows - n) < CPU_LANES * R ? n0 + rows - n : CPU_LANES * R;
    run_tile(a, w, bh, qi, n, tr, R, nseg);
    n += tr;
  }
}

sla2_status cpu_op_attention(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  attn a;
  memset(&a, 0, sizeof a);
  a.x = x, a.g = g, a.N = g->N, a.D = g->D;
  a.dense = node->op == SLA2_OP_DENSE_ATTN;
  a.int8 = !a.dense && g->quant != SLA2_QUANT_NONE;
  a.fp8 = !a.dense && g->quant == SLA2_QUANT_INT8_FP8;
  a.rows_per_item = a.dense ? DENSE_ROWS : g->bq;
  a.items_per_head = (a.N + a.rows_per_item - 1) / a.rows_per_item;
  a.nseg_max = a.dense ? (a.N + DENSE_KEYS - 1) / DENSE_KEYS : g->k;
  a.o = cpu_tensor4_of(x, node->out[0]);
  a.lse = node->out[1] >= 0 ? x->buf[node->out[1]] : NULL;
  if (!a.dense) a.lut = x->buf[node->in[3]];
  if (a.int8) {
    a.qcodes = x->buf[node->in[4]], a.qscale = x->buf[node->in[5]];
    a.kcodes = x->buf[node->in[6]], a.kscale = x->buf[node->in[7]];
  } else {
    a.q = cpu_tensor4_of(x, node->in[0]);
    a.k = cpu_tensor4_of(x, node->in[1]);
    a.k_conv = !cpu_tensor4_direct(&a.k);
  }
  if (a.fp8) {
    a.vcodes = x->buf[node->in[8]], a.vscale = x->buf[node->in[9]];
  } else {
    a.v = cpu_tensor4_of(x, node->in[2]);
    a.v_conv = !cpu_tensor4_direct(&a.v);
  }

  const int64_t BH = g->B * g->H, N = a.N, D = a.D;
  const size_t v2_bytes = (size_t)((N + 1) / 2 * D) * sizeof(uint32_t);
  const size_t head_bytes = (size_t)(N * D) * sizeof(float) * ((a.k_conv ? 1 : 0) + (a.v_conv ? 1 : 0)) +
                            (a.int8 ? (size_t)N * sizeof(int32_t) : 0) + (a.fp8 ? v2_bytes : 0);
  int64_t G = BH;
  if (head_bytes > 0 && (size_t)BH * head_bytes > GROUP_BYTES) G = (int64_t)(GROUP_BYTES / head_bytes);
  if (G < 1) G = 1;
  const size_t ws_bytes = cpu_arena_piece(tile_ws_bytes(D, a.nseg_max));
  const size_t ws_all = cpu_mul_size((size_t)x->threads, ws_bytes);
  const size_t rows_bytes = cpu_mul_size((size_t)G, (size_t)(N * D) * sizeof(float));
  const size_t kbias_bytes = cpu_mul_size((size_t)G, (size_t)N * sizeof(int32_t));
  const size_t v2_all = cpu_mul_size((size_t)G, v2_bytes);
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(ws_all) + (a.k_conv ? cpu_arena_piece(rows_bytes) : 0) +
                                           (a.v_conv ? cpu_arena_piece(rows_bytes) : 0) +
                                           (a.int8 ? cpu_arena_piece(kbias_bytes) : 0) +
                                           (a.fp8 ? cpu_arena_piece(v2_all) : 0), sla2_op_name(node->op));
  if (st != SLA2_OK) return st;
  char *ws = cpu_arena_take(&ar, ws_all);
  if (a.k_conv) a.kbuf = cpu_arena_take(&ar, rows_bytes);
  if (a.v_conv) a.vbuf = cpu_arena_take(&ar, rows_bytes);
  if (a.int8) a.kbias = cpu_arena_take(&ar, kbias_bytes);
  if (a.fp8) a.v2buf = cpu_arena_take(&ar, v2_all);

  const int64_t prep_rows = 512, prep_chunks = (N + prep_rows - 1) / prep_rows;
  for (int64_t g0 = 0; g0 < BH; g0 += G) {
    const int64_t gn = BH - g0 < G ? BH - g0 : G;
    a.g0 = g0;
    if (a.k_conv || a.v_conv || a.int8 || a.fp8) {
      CPU_PRAGMA(omp parallel for schedule(dynamic, 1) num_threads(x->threads))
      for (int64_t it = 0; it < gn * prep_chunks; it++) {
        const int64_t n0 = (it % prep_chunks) * prep_rows;
        prepare_rows(&a, g0 + it / prep_chunks, n0, n0 + prep_rows < N ? n0 + prep_rows : N);
      }
    }
    CPU_PRAGMA(omp parallel for schedule(dynamic, 1) num_threads(x->threads))
    for (int64_t it = 0; it < gn * a.items_per_head; it++) {
      const tile_ws w = tile_ws_at(ws + (size_t)cpu_thread_id() * ws_bytes, D);
      run_item(&a, &w, g0 + it / a.items_per_head, it % a.items_per_head);
    }
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}
