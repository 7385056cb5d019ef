/* Oracle softmax attention: the sparse branch over the keys of the LUT blocks (in three quant
 * modes) and full dense attention. Scores, exponentials and sums in double. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/ref/ref_internal.h"
#include "shaders/common/sla2_constants.h"

/* S for query row r (query block i) and key c (key block j).
 * none: s * q . k~ from Q and KS. int8 modes: s * sigma_q[i] * sigma_k[j] * (exact integer dot
 * product of the codes). */
static double sparse_score(const sla2_graph *g, const sla2_node *node, void *const *host, int64_t b,
                           int64_t h, int64_t r, int64_t c, int64_t i, int64_t j) {
  int64_t bh = b * g->H + h;
  if (g->quant == SLA2_QUANT_NONE) {
    double dot = 0.0;
    for (int64_t d = 0; d < g->D; d++)
      dot += (double)sla2_ref_load(g, host, node->in[0], b, h, r, d) *
             (double)sla2_ref_load(g, host, node->in[1], b, h, c, d);
    return (double)g->scale * dot;
  }
  const int8_t *qc = host[node->in[4]], *kc = host[node->in[6]];
  const float *qs = host[node->in[5]], *ks = host[node->in[7]];
  int64_t dot = 0;
  for (int64_t d = 0; d < g->D; d++)
    dot += (int64_t)qc[sla2_ref_bhnd(g, b, h, r, d)] * (int64_t)kc[sla2_ref_bhnd(g, b, h, c, d)];
  return (double)g->scale * (double)qs[bh * g->Tm + i] * (double)ks[bh * g->Tn + j] * (double)dot;
}

/* O_s and LSE of one query row from its selected scores S[0..count) over keys key[0..count).
 * none / int8: P = exp(S - m) in double, O_s = sum P v / l with v the V value.
 * int8_fp8: P~ = (float)exp(S - m); l sums P~; the numerator uses e4m3(448 P~) times the FP8 codes
 * of V, rescaled by sigma_v / 448. acc holds D doubles. */
static void sparse_row(const sla2_graph *g, const sla2_node *node, void *const *host, int64_t b,
                       int64_t h, int64_t r, const double *S, const int64_t *key, int64_t count,
                       double *acc) {
  int64_t D = g->D;
  double m = -INFINITY, l = 0.0;
  for (int64_t t = 0; t < count; t++)
    if (S[t] > m) m = S[t];
  for (int64_t e = 0; e < D; e++) acc[e] = 0.0;

  if (g->quant == SLA2_QUANT_INT8_FP8) {
    const uint8_t *vcodes = host[node->in[8]];
    const float *vscale = host[node->in[9]];
    for (int64_t t = 0; t < count; t++) {
      float pt = (float)exp(S[t] - m);
      l += (double)pt;
      double p8 = sla2_e4m3_to_f32(sla2_f32_to_e4m3(SLA2_FP8_P_SCALE * pt));
      for (int64_t e = 0; e < D; e++)
        acc[e] += p8 * (double)sla2_e4m3_to_f32(vcodes[sla2_ref_bhnd(g, b, h, key[t], e)]);
    }
    for (int64_t e = 0; e < D; e++)
      sla2_ref_store(g, host, node->out[0], b, h, r, e,
                     (float)(acc[e] * (double)vscale[(b * g->H + h) * D + e] / (double)SLA2_FP8_P_SCALE / l));
  } else {
    for (int64_t t = 0; t < count; t++) {
      double p = exp(S[t] - m);
      l += p;
      for (int64_t e = 0; e < D; e++) acc[e] += p * (double)sla2_ref_load(g, host, node->in[2], b, h, key[t], e);
    }
    for (int64_t e = 0; e < D; e++) sla2_ref_store(g, host, node->out[0], b, h, r, e, (float)(acc[e] / l));
  }
  ((float *)host[node->out[1]])[(b * g->H + h) * g->N + r] = (float)(m + log(l));
}

sla2_status sla2_ref_sparse_attn(const sla2_graph *g, const sla2_node *node, void *const *host) {
  const int32_t *lut = host[node->in[3]];
  int64_t max_keys = g->k * g->bk;
  double *S = malloc((size_t)max_keys * sizeof *S);
  int64_t *key = malloc((size_t)max_keys * sizeof *key);
  double *acc = malloc((size_t)g->D * sizeof *acc);
  sla2_status st = SLA2_OK;
  if (!S || !key || !acc) {
    st = sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "ref sparse_attn: no host memory for %lld keys",
                   (long long)max_keys);
    goto done;
  }
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++)
      for (int64_t r = 0; r < g->N; r++) {
        int64_t i = r / g->bq, count = 0;
        const int32_t *lut_row = lut + ((b * g->H + h) * g->Tm + i) * g->k;
        /* Only the keys of the selected blocks, in ascending order. */
        for (int64_t t = 0; t < g->k; t++) {
          int64_t j = lut_row[t];
          for (int64_t c = j * g->bk; c < sla2_ref_block_end(g, j, g->bk); c++) {
            key[count] = c;
            S[count++] = sparse_score(g, node, host, b, h, r, c, i, j);
          }
        }
        sparse_row(g, node, host, b, h, r, S, key, count, acc);
      }
done:
  free(S);
  free(key);
  free(acc);
  return st;
}

/* Full softmax attention over all N keys with the raw K (no smoothing). LSE when out[1] != -1. */
sla2_status sla2_ref_dense_attn(const sla2_graph *g, const sla2_node *node, void *const *host) {
  int q = node->in[0], k = node->in[1], v = node->in[2], o = node->out[0];
  float *lse = node->out[1] >= 0 ? host[node->out[1]] : NULL;
  double *S = malloc((size_t)g->N * sizeof *S);
  double *acc = malloc((size_t)g->D * sizeof *acc);
  if (!S || !acc) {
    free(S);
    free(acc);
    return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "ref dense_attn: no host memory for N = %lld", (long long)g->N);
  }
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++)
      for (int64_t r = 0; r < g->N; r++) {
        double m = -INFINITY, l = 0.0;
        for (int64_t c = 0; c < g->N; c++) {
          double dot = 0.0;
          for (int64_t d = 0; d < g->D; d++)
            dot += (double)sla2_ref_load(g, host, q, b, h, r, d) * (double)sla2_ref_load(g, host, k, b, h, c, d);
          S[c] = (double)g->scale * dot;
          if (S[c] > m) m = S[c];
        }
        for (int64_t e = 0; e < g->D; e++) acc[e] = 0.0;
        for (int64_t c = 0; c < g->N; c++) {
          double p = exp(S[c] - m);
          l += p;
          for (int64_t e = 0; e < g->D; e++) acc[e] += p * (double)sla2_ref_load(g, host, v, b, h, c, e);
        }
        for (int64_t e = 0; e < g->D; e++) sla2_ref_store(g, host, o, b, h, r, e, (float)(acc[e] / l));
        if (lse) lse[(b * g->H + h) * g->N + r] = (float)(m + log(l));
      }
  free(S);
  free(acc);
  return SLA2_OK;
}
