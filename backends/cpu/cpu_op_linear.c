/* CPU backend: the linear branch. KV_STATE (per key block h_j = phiK_j^T V_j and z_j, plus the
 * totals) and LINEAR_ATTN (O_l = phi(q) H_i / (phi(q) . Z_i) over the LUT's complement).
 *
 * Both are small GEMMs through the kernel table: h_j is D x D from bk rows, one work item per
 * (batch, head, key block); O_l is (bq x D) x (D x D) per (batch, head, query block) with
 * H_i = H_tot - sum_{j in LUT_i} h_j built in a per-thread D x D buffer. */
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

/* Work items are (bh, group of consecutive key blocks): an item computes its blocks' h_j, z_j
 * and their sum, and the totals add the STATE_GROUPS group sums, so no pass re-reads HBLK and
 * the result does not depend on the thread count. */
#define STATE_GROUPS 8

sla2_status cpu_op_kv_state(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, Tn = g->Tn, bk = g->bk, BH = g->B * g->H, DD = D * D;
  const int64_t G = Tn < STATE_GROUPS ? Tn : STATE_GROUPS;
  const cpu_tensor4 phik = cpu_tensor4_of(x, node->in[0]), v = cpu_tensor4_of(x, node->in[1]);
  float *hblk = x->buf[node->out[0]], *zblk = x->buf[node->out[1]];
  float *htot = x->buf[node->out[2]], *ztot = x->buf[node->out[3]];
  const size_t per_thread = (size_t)(2 * bk * D);
  const size_t scratch_bytes = cpu_mul_size((size_t)x->threads, per_thread * sizeof(float));
  const size_t partial_bytes = cpu_mul_size((size_t)(BH * G), (size_t)(DD + D) * sizeof(float));
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(scratch_bytes) + cpu_arena_piece(partial_bytes),
                                  "kv_state");
  if (st != SLA2_OK) return st;
  float *scratch = cpu_arena_take(&ar, scratch_bytes), *partial = cpu_arena_take(&ar, partial_bytes);

  CPU_PRAGMA(omp parallel for schedule(dynamic, 1) num_threads(x->threads))
  for (int64_t it = 0; it < BH * G; it++) {
    const int64_t bh = it / G, grp = it % G, b = bh / g->H, h = bh % g->H;
    float *tmp = scratch + (size_t)cpu_thread_id() * per_thread;
    float *hsum = partial + it * (DD + D), *zsum = hsum + DD;
    memset(hsum, 0, sizeof(float) * (size_t)(DD + D));
    for (int64_t j = grp * Tn / G; j < (grp + 1) * Tn / G; j++) {
      const int64_t begin = j * bk, end = cpu_block_end(g, j, bk), len = end - begin;
      int64_t ps, vs;
      const float *p = cpu_load_rows(x, &phik, b, h, begin, end, tmp, &ps);
      const float *vr = cpu_load_rows(x, &v, b, h, begin, end, tmp + bk * D, &vs);
      float *hj = hblk + (bh * Tn + j) * DD, *zj = zblk + (bh * Tn + j) * D;
      /* h_j[d][e] = sum_r phiK[r][d] V[r][e]: A(d, r) = p[r * ps + d]. Plain stores on purpose:
       * the linear branch reads HBLK next and finds the last-written part in L3 (streaming
       * stores measured slower overall). */
      x->kt->gemm((int)D, (int)D, (int)len, p, 1, ps, vr, vs, hj, D, false);
      x->kt->add_rows(hsum, hj, DD);
      memset(zj, 0, sizeof(float) * (size_t)D);
      for (int64_t r = 0; r < len; r++) x->kt->add_rows(zj, p + r * ps, D);
      x->kt->add_rows(zsum, zj, D);
    }
  }
  for (int64_t bh = 0; bh < BH; bh++) {
    float *ht = htot + bh * DD, *zt = ztot + bh * D;
    memcpy(ht, partial + bh * G * (DD + D), sizeof(float) * (size_t)DD);
    memcpy(zt, partial + bh * G * (DD + D) + DD, sizeof(float) * (size_t)D);
    for (int64_t grp = 1; grp < G; grp++) {
      x->kt->add_rows(ht, partial + (bh * G + grp) * (DD + D), DD);
      x->kt->add_rows(zt, partial + (bh * G + grp) * (DD + D) + DD, D);
    }
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}

sla2_status cpu_op_linear_attn(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, Tm = g->Tm, Tn = g->Tn, bq = g->bq, k = g->k, BH = g->B * g->H, DD = D * D;
  const cpu_tensor4 phiq = cpu_tensor4_of(x, node->in[0]), out = cpu_tensor4_of(x, node->out[0]);
  const float *hblk = x->buf[node->in[1]], *zblk = x->buf[node->in[2]];
  const float *htot = x->buf[node->in[3]], *ztot = x->buf[node->in[4]];
  const int32_t *lut = x->buf[node->in[5]];
  /* per thread: H_i (D x D), Z_i (D), phi(q) rows (bq x D), O rows (bq x D) */
  const size_t per_thread = (size_t)(DD + D + 2 * bq * D);
  const size_t scratch_bytes = cpu_mul_size((size_t)x->threads, per_thread * sizeof(float));
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(scratch_bytes), "linear_attn");
  if (st != SLA2_OK) return st;
  float *scratch = cpu_arena_take(&ar, scratch_bytes);

  CPU_PRAGMA(omp parallel for schedule(dynamic, 1) num_threads(x->threads))
  for (int64_t it = 0; it < BH * Tm; it++) {
    const int64_t bh = it / Tm, i = it % Tm, b = bh / g->H, h = bh % g->H;
    const int64_t begin = i * bq, end = cpu_block_end(g, i, bq), rows = end - begin;
    float *hi = scratch + (size_t)cpu_thread_id() * per_thread, *zi = hi + DD, *qrows = zi + D,
          *orows = qrows + bq * D;
    if (k == Tn) { /* empty complement: O_l = 0 */
      memset(orows, 0, sizeof(float) * (size_t)D);
      for (int64_t n = begin; n < end; n++) cpu_store_row(x, &out, b, h, n, orows);
      continue;
    }
    const int32_t *lut_row = lut + it * k;
    /* H_i = H_tot - sum_j h_j: the (small) sum of the selected blocks first, then one
     * subtraction, which keeps the cancellation error at one rounding of H_tot. */
    memcpy(hi, hblk + (bh * Tn + lut_row[0]) * DD, sizeof(float) * (size_t)DD);
    for (int64_t t = 1; t < k; t++) x->kt->add_rows(hi, hblk + (bh * Tn + lut_row[t]) * DD, DD);
    x->kt->rsub_rows(hi, htot + bh * DD, DD);
    memcpy(zi, zblk + (bh * Tn + lut_row[0]) * D, sizeof(float) * (size_t)D);
    for (int64_t t = 1; t < k; t++) x->kt->add_rows(zi, zblk + (bh * Tn + lut_row[t]) * D, D);
    x->kt->rsub_rows(zi, ztot + bh * D, D);

    int64_t qs;
    const float *q = cpu_load_rows(x, &phiq, b, h, begin, end, qrows, &qs);
    const bool direct = cpu_tensor4_direct(&out);
    float *o0 = direct ? cpu_tensor4_at(&out, b, h, begin) : orows;
    const int64_t os = direct ? out.s[2] : D;
    x->kt->gemm((int)rows, (int)D, (int)D, q, qs, 1, hi, D, o0, os, false);
    for (int64_t r = 0; r < rows; r++) {
      const float den = x->kt->dot(q + r * qs, zi, D);
      float *o = o0 + r * os;
      if (den <= SLA2_LINEAR_DEN_EPS)
        memset(o, 0, sizeof(float) * (size_t)D);
      else
        for (int64_t e = 0; e < D; e++) o[e] = o[e] / den;
      if (!direct) cpu_store_row(x, &out, b, h, begin + r, o);
    }
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}
