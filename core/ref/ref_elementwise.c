/* Oracle nodes that work row by row or element by element: SMOOTH_K, POOL, FEATURE_MAP, COMBINE.
 * Sums in double, one rounding to float when a value is stored. */
#include <math.h>

#include "core/ref/ref_internal.h"

/* KS = K - mean_N(K) per (b, h, channel). The mean is a double; each KS element is rounded once.
 * With smooth_k off the mean is 0 and KS is K widened to f32 (x - 0.0 is exact). */
sla2_status sla2_ref_smooth_k(const sla2_graph *g, const sla2_node *node, void *const *host) {
  int src = node->in[0], dst = node->out[0];
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++)
      for (int64_t c = 0; c < g->D; c++) {
        double mean = 0.0;
        if (g->smooth_k) {
          double sum = 0.0;
          for (int64_t n = 0; n < g->N; n++) sum += sla2_ref_load(g, host, src, b, h, n, c);
          mean = sum / (double)g->N;
        }
        for (int64_t n = 0; n < g->N; n++)
          sla2_ref_store(g, host, dst, b, h, n, c,
                         (float)((double)sla2_ref_load(g, host, src, b, h, n, c) - mean));
      }
  return SLA2_OK;
}

/* Block means over node->block rows: out [B, H, ceil(N / block), D]. A partial last block
 * divides by its true length. */
sla2_status sla2_ref_pool(const sla2_graph *g, const sla2_node *node, void *const *host) {
  int src = node->in[0];
  float *out = host[node->out[0]];
  int64_t block = node->block, T = (g->N + block - 1) / block;
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++)
      for (int64_t t = 0; t < T; t++) {
        int64_t begin = t * block, end = sla2_ref_block_end(g, t, block);
        for (int64_t d = 0; d < g->D; d++) {
          double sum = 0.0;
          for (int64_t n = begin; n < end; n++) sum += sla2_ref_load(g, host, src, b, h, n, d);
          out[((b * g->H + h) * T + t) * g->D + d] = (float)(sum / (double)(end - begin));
        }
      }
  return SLA2_OK;
}

/* One row of phi: softmax over the D channels (max-subtracted so large inputs do not overflow),
 * elu(x) + 1 (= x + 1 for x > 0, exp(x) otherwise), or relu. */
static void feature_row(const sla2_graph *g, void *const *host, int src, int dst, int64_t b,
                        int64_t h, int64_t n) {
  if (g->feature_map == SLA2_FEATURE_SOFTMAX) {
    double max = -INFINITY, sum = 0.0;
    for (int64_t d = 0; d < g->D; d++) {
      double x = sla2_ref_load(g, host, src, b, h, n, d);
      if (x > max) max = x;
    }
    for (int64_t d = 0; d < g->D; d++) sum += exp((double)sla2_ref_load(g, host, src, b, h, n, d) - max);
    for (int64_t d = 0; d < g->D; d++)
      sla2_ref_store(g, host, dst, b, h, n, d,
                     (float)(exp((double)sla2_ref_load(g, host, src, b, h, n, d) - max) / sum));
    return;
  }
  for (int64_t d = 0; d < g->D; d++) {
    double x = sla2_ref_load(g, host, src, b, h, n, d);
    double y;
    if (g->feature_map == SLA2_FEATURE_ELU)
      y = x > 0.0 ? x + 1.0 : exp(x);
    else
      y = x > 0.0 ? x : 0.0;
    sla2_ref_store(g, host, dst, b, h, n, d, (float)y);
  }
}

sla2_status sla2_ref_feature_map(const sla2_graph *g, const sla2_node *node, void *const *host) {
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++)
      for (int64_t n = 0; n < g->N; n++) feature_row(g, host, node->in[0], node->out[0], b, h, n);
  return SLA2_OK;
}

/* O = a * OS + (1 - a) * OL with a = sigmoid(logit) in double; the logit is per head, or per
 * (head, query block) with alpha_per_block. Rounded to float, then to O's dtype. */
sla2_status sla2_ref_combine(const sla2_graph *g, const sla2_node *node, void *const *host) {
  int os = node->in[0], ol = node->in[1], out = node->out[0];
  const float *logits = host[node->in[2]];
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++)
      for (int64_t n = 0; n < g->N; n++) {
        double logit = g->alpha_per_block ? logits[h * g->Tm + n / g->bq] : logits[h];
        double a = 1.0 / (1.0 + exp(-logit));
        for (int64_t e = 0; e < g->D; e++) {
          double o = a * sla2_ref_load(g, host, os, b, h, n, e) +
                     (1.0 - a) * sla2_ref_load(g, host, ol, b, h, n, e);
          sla2_ref_store(g, host, out, b, h, n, e, (float)o);
        }
      }
  return SLA2_OK;
}
