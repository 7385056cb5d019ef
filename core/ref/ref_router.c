/* Oracle router: scores P[i][j] = s * (W_q qbar_i) . (W_k kbar_j) and the top-k LUT per row.
 * The projections and the score stay in double; the ranking uses the double score (the f32 copy
 * in SCORES is for inspection), so backends must agree with the oracle except at near-ties. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/ref/ref_internal.h"

/* out[e] = sum_d W[e][d] x[d] with W row-major D x D. */
static void project(const float *W, const float *x, int64_t D, double *out) {
  for (int64_t e = 0; e < D; e++) {
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) sum += (double)W[e * D + d] * (double)x[d];
    out[e] = sum;
  }
}

/* a ranks strictly above b. NaN ranks below every number (so a NaN score is picked last). */
static bool outranks(double a, double b) {
  if (isnan(a)) return false;
  if (isnan(b)) return true;
  return a > b;
}

/* The k best of score[0..Tn), ties to the lower index (the scan keeps the first of equals),
 * written to lut_row in ascending block order. */
static void select_top_k(const double *score, int64_t Tn, int64_t k, unsigned char *taken,
                         int32_t *lut_row) {
  for (int64_t j = 0; j < Tn; j++) taken[j] = 0;
  for (int64_t t = 0; t < k; t++) {
    int64_t best = -1;
    for (int64_t j = 0; j < Tn; j++)
      if (!taken[j] && (best < 0 || outranks(score[j], score[best]))) best = j;
    if (best < 0) break; /* k <= Tn (checked in ref.c), so never taken */
    taken[best] = 1;
  }
  int64_t w = 0;
  for (int64_t j = 0; j < Tn; j++)
    if (taken[j]) lut_row[w++] = (int32_t)j;
}

sla2_status sla2_ref_route(const sla2_graph *g, const sla2_node *node, void *const *host) {
  const float *qbar = host[node->in[0]], *kbar = host[node->in[1]];
  const float *wq = host[node->in[2]], *wk = host[node->in[3]];
  float *scores = host[node->out[0]];
  int32_t *lut = host[node->out[1]];
  int64_t D = g->D, Tm = g->Tm, Tn = g->Tn;

  double *kp = malloc((size_t)(Tn * D) * sizeof *kp);
  double *qp = malloc((size_t)D * sizeof *qp);
  double *row = malloc((size_t)Tn * sizeof *row);
  unsigned char *taken = malloc((size_t)Tn);
  sla2_status st = SLA2_OK;
  if (!kp || !qp || !row || !taken) {
    st = sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "ref route: no host memory for Tn = %lld, D = %lld",
                   (long long)Tn, (long long)D);
    goto done;
  }
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++) {
      int64_t hw = g->Hw == 1 ? 0 : h, bh = b * g->H + h;
      for (int64_t j = 0; j < Tn; j++) project(wk + hw * D * D, kbar + (bh * Tn + j) * D, D, kp + j * D);
      for (int64_t i = 0; i < Tm; i++) {
        project(wq + hw * D * D, qbar + (bh * Tm + i) * D, D, qp);
        for (int64_t j = 0; j < Tn; j++) {
          double dot = 0.0;
          for (int64_t e = 0; e < D; e++) dot += qp[e] * kp[j * D + e];
          row[j] = (double)g->scale * dot;
          scores[(bh * Tm + i) * Tn + j] = (float)row[j];
        }
        select_top_k(row, Tn, g->k, taken, lut + (bh * Tm + i) * g->k);
      }
    }
done:
  free(kp);
  free(qp);
  free(row);
  free(taken);
  return st;
}
