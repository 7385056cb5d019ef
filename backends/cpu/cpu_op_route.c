/* CPU backend: ROUTE. Router scores s * (W_q qbar_i) . (W_k kbar_j) and the top-k LUT per row.
 *
 * Like the oracle, the projections and scores are double (the ranking uses the double score;
 * SCORES keeps its f32 rounding), so LUTs agree with it except at genuine near-ties. All three
 * products are double GEMMs from the kernel table: kp = kbar W_k^T per head, then per chunk of
 * query blocks qp = qbar W_q^T and scores = qp kp^T. Top-k keeps a heap of the k best. */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "core/error.h"

#define ROUTE_ROWS 16 /* query blocks per work item */

/* a ranks strictly above b; NaN below every number (as the oracle). */
static bool outranks(double a, double b) {
  if (isnan(a)) return false;
  if (isnan(b)) return true;
  return a > b;
}

/* Block a ranks below block b: lower score, or an equal score and the higher index. */
static bool ranks_below(const double *s, int32_t a, int32_t b) {
  if (outranks(s[b], s[a])) return true;
  if (outranks(s[a], s[b])) return false;
  return a > b;
}

static void sift_down(int32_t *heap, int64_t n, int64_t i, const double *s) {
  for (;;) {
    int64_t worst = i, l = 2 * i + 1, r = l + 1;
    if (l < n && ranks_below(s, heap[l], heap[worst])) worst = l;
    if (r < n && ranks_below(s, heap[r], heap[worst])) worst = r;
    if (worst == i) return;
    int32_t t = heap[i];
    heap[i] = heap[worst];
    heap[worst] = t;
    i = worst;
  }
}

/* The k best of s[0..Tn) (ties to the lower index), ascending into lut_row. The heap's root is
 * the worst kept block; a later block (higher index) replaces it only when strictly better. */
static void select_top_k(const double *s, int64_t Tn, int64_t k, int32_t *heap,
                         unsigned char *taken, int32_t *lut_row) {
  if (k >= Tn) {
    for (int64_t j = 0; j < Tn; j++) lut_row[j] = (int32_t)j;
    return;
  }
  for (int64_t j = 0; j < k; j++) heap[j] = (int32_t)j;
  for (int64_t i = k / 2 - 1; i >= 0; i--) sift_down(heap, k, i, s);
  for (int64_t j = k; j < Tn; j++)
    if (outranks(s[j], s[heap[0]])) {
      heap[0] = (int32_t)j;
      sift_down(heap, k, 0, s);
    }
  memset(taken, 0, (size_t)Tn);
  for (int64_t t = 0; t < k; t++) taken[heap[t]] = 1;
  int64_t w = 0;
  for (int64_t j = 0; j < Tn; j++)
    if (taken[j]) lut_row[w++] = (int32_t)j;
}

sla2_status cpu_op_route(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, Tm = g->Tm, Tn = g->Tn, BH = g->B * g->H, k = g->k, Hw = g->Hw;
  const float *qbar = x->buf[node->in[0]], *kbar = x->buf[node->in[1]];
  const float *wq = x->buf[node->in[2]], *wk = x->buf[node->in[3]];
  float *scores = x->buf[node->out[0]];
  int32_t *lut = x->buf[node->out[1]];
  const int64_t row_chunks = (Tm + ROUTE_ROWS - 1) / ROUTE_ROWS;
  /* per thread: ROUTE_ROWS x D qbar, ROUTE_ROWS x D qp, ROUTE_ROWS x Tn scores, kbar rows */
  const size_t per_thread = (size_t)(2 * ROUTE_ROWS * D + ROUTE_ROWS * Tn) * sizeof(double);
  const size_t wt_bytes = cpu_mul_size((size_t)(2 * Hw * D), (size_t)D * sizeof(double));
  const size_t kpt_bytes = cpu_mul_size((size_t)(BH * D), (size_t)Tn * sizeof(double));
  const size_t work_bytes = cpu_mul_size((size_t)x->threads, per_thread);
  const size_t heap_bytes = cpu_mul_size((size_t)x->threads, (size_t)(k + 1) * sizeof(int32_t));
  const size_t taken_bytes = cpu_mul_size((size_t)x->threads, (size_t)Tn);
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(wt_bytes) + cpu_arena_piece(kpt_bytes) +
                                           cpu_arena_piece(work_bytes) + cpu_arena_piece(heap_bytes) +
                                           cpu_arena_piece(taken_bytes), "route");
  if (st != SLA2_OK) return st;
  double *wt = cpu_arena_take(&ar, wt_bytes), *kpt = cpu_arena_take(&ar, kpt_bytes);
  double *work = cpu_arena_take(&ar, work_bytes);
  int32_t *heaps = cpu_arena_take(&ar, heap_bytes);
  unsigned char *taken = cpu_arena_take(&ar, taken_bytes);
  /* W^T in double: wt[0] = W_q^T for every router head, then W_k^T. */
  double *wqt = wt, *wkt = wt + Hw * D * D;
  for (int64_t hw = 0; hw < Hw; hw++)
    for (int64_t e = 0; e < D; e++)
      for (int64_t d = 0; d < D; d++) {
        wqt[(hw * D + d) * D + e] = (double)wq[(hw * D + e) * D + d];
        wkt[(hw * D + d) * D + e] = (double)wk[(hw * D + e) * D + d];
      }

  /* kp^T per head: kpt[bh][e][j] = sum_d W_k[e][d] kbar[j][d]. */
  const int64_t key_chunks = (Tn + ROUTE_ROWS - 1) / ROUTE_ROWS;
  CPU_PRAGMA(omp parallel for schedule(dynamic, 1) num_threads(x->threads))
  for (int64_t it = 0; it < BH * key_chunks; it++) {
    const int64_t bh = it / key_chunks, j0 = (it % key_chunks) * ROUTE_ROWS;
    const int64_t rows = Tn - j0 < ROUTE_ROWS ? Tn - j0 : ROUTE_ROWS;
    const int64_t hw = Hw == 1 ? 0 : bh % g->H;
    double *kb = work + (size_t)cpu_thread_id() * (per_thread / sizeof(double)), *kp = kb + ROUTE_ROWS * D;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t d = 0; d < D; d++) kb[r * D + d] = (double)kbar[(bh * Tn + j0 + r) * D + d];
    x->kt->dgemm((int)rows, (int)D, (int)D, kb, D, wkt + hw * D * D, D, kp, D);
    for (int64_t r = 0; r < rows; r++)
      for (int64_t e = 0; e < D; e++) kpt[(bh * D + e) * Tn + j0 + r] = kp[r * D + e];
  }

  /* Per chunk of query blocks: qp, the scores against every key block, the LUT rows. */
  CPU_PRAGMA(omp parallel for schedule(dynamic, 1) num_threads(x->threads))
  for (int64_t it = 0; it < BH * row_chunks; it++) {
    const int64_t bh = it / row_chunks, i0 = (it % row_chunks) * ROUTE_ROWS;
    const int64_t rows = Tm - i0 < ROUTE_ROWS ? Tm - i0 : ROUTE_ROWS;
    const int64_t hw = Hw == 1 ? 0 : bh % g->H;
    const int tid = cpu_thread_id();
    double *qb = work + (size_t)tid * (per_thread / sizeof(double)), *qp = qb + ROUTE_ROWS * D,
           *s = qp + ROUTE_ROWS * D;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t d = 0; d < D; d++) qb[r * D + d] = (double)qbar[(bh * Tm + i0 + r) * D + d];
    x->kt->dgemm((int)rows, (int)D, (int)D, qb, D, wqt + hw * D * D, D, qp, D);
    x->kt->dgemm((int)rows, (int)Tn, (int)D, qp, D, kpt + bh * D * Tn, Tn, s, Tn);
    for (int64_t r = 0; r < rows; r++) {
      double *row = s + r * Tn;
      for (int64_t j = 0; j < Tn; j++) {
        row[j] *= (double)g->scale;
        scores[(bh * Tm + i0 + r) * Tn + j] = (float)row[j];
      }
      select_top_k(row, Tn, k, heaps + (size_t)tid * (size_t)(k + 1), taken + (size_t)tid * (size_t)Tn,
                   lut + (bh * Tm + i0 + r) * k);
    }
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}
