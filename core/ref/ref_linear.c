/* Oracle linear branch over the complement of the LUT: per-key-block states h_j, z_j, their
 * totals, and O_l = phi(q) H_i / (phi(q) . Z_i) with H_i = H_tot - sum_{j in LUT_i} h_j. */
#include <stdlib.h>

#include "core/error.h"
#include "core/ref/ref_internal.h"
#include "shaders/common/sla2_constants.h"

/* Sum over rows [begin, end) of phiK[r][d] * V[r][e] (or of phiK[r][d] when e < 0), in double. */
static double state_sum(const sla2_graph *g, void *const *host, int phik, int v, int64_t b,
                        int64_t h, int64_t begin, int64_t end, int64_t d, int64_t e) {
  double sum = 0.0;
  for (int64_t r = begin; r < end; r++) {
    double p = sla2_ref_load(g, host, phik, b, h, r, d);
    sum += e < 0 ? p : p * (double)sla2_ref_load(g, host, v, b, h, r, e);
  }
  return sum;
}

/* HBLK [B,H,Tn,D,D], ZBLK [B,H,Tn,D] per key block of bk rows; HTOT [B,H,D,D], ZTOT [B,H,D]
 * summed directly over all N rows (not from the rounded block values). */
sla2_status sla2_ref_kv_state(const sla2_graph *g, const sla2_node *node, void *const *host) {
  int phik = node->in[0], v = node->in[1];
  float *hblk = host[node->out[0]], *zblk = host[node->out[1]];
  float *htot = host[node->out[2]], *ztot = host[node->out[3]];
  int64_t D = g->D;
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++) {
      int64_t bh = b * g->H + h;
      for (int64_t j = 0; j < g->Tn; j++) {
        int64_t begin = j * g->bk, end = sla2_ref_block_end(g, j, g->bk);
        for (int64_t d = 0; d < D; d++) {
          for (int64_t e = 0; e < D; e++)
            hblk[((bh * g->Tn + j) * D + d) * D + e] = (float)state_sum(g, host, phik, v, b, h, begin, end, d, e);
          zblk[(bh * g->Tn + j) * D + d] = (float)state_sum(g, host, phik, v, b, h, begin, end, d, -1);
        }
      }
      for (int64_t d = 0; d < D; d++) {
        for (int64_t e = 0; e < D; e++)
          htot[(bh * D + d) * D + e] = (float)state_sum(g, host, phik, v, b, h, 0, g->N, d, e);
        ztot[bh * D + d] = (float)state_sum(g, host, phik, v, b, h, 0, g->N, d, -1);
      }
    }
  return SLA2_OK;
}

/* With k == Tn the complement is empty: O_l = 0 everywhere. Otherwise per query block i the
 * complement state (double) and per row num / den, 0 where den <= SLA2_LINEAR_DEN_EPS. */
sla2_status sla2_ref_linear_attn(const sla2_graph *g, const sla2_node *node, void *const *host) {
  int phiq = node->in[0], out = node->out[0];
  const float *hblk = host[node->in[1]], *zblk = host[node->in[2]];
  const float *htot = host[node->in[3]], *ztot = host[node->in[4]];
  const int32_t *lut = host[node->in[5]];
  int64_t D = g->D;

  if (g->k == g->Tn) {
    for (int64_t b = 0; b < g->B; b++)
      for (int64_t h = 0; h < g->H; h++)
        for (int64_t n = 0; n < g->N; n++)
          for (int64_t e = 0; e < D; e++) sla2_ref_store(g, host, out, b, h, n, e, 0.0f);
    return SLA2_OK;
  }

  double *Hi = malloc((size_t)(D * D) * sizeof *Hi);
  double *Zi = malloc((size_t)D * sizeof *Zi);
  if (!Hi || !Zi) {
    free(Hi);
    free(Zi);
    return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "ref linear_attn: no host memory for D = %lld", (long long)D);
  }
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++) {
      int64_t bh = b * g->H + h;
      for (int64_t i = 0; i < g->Tm; i++) {
        const int32_t *lut_row = lut + (bh * g->Tm + i) * g->k;
        for (int64_t x = 0; x < D * D; x++) Hi[x] = htot[bh * D * D + x];
        for (int64_t d = 0; d < D; d++) Zi[d] = ztot[bh * D + d];
        for (int64_t t = 0; t < g->k; t++) {
          int64_t j = lut_row[t];
          for (int64_t x = 0; x < D * D; x++) Hi[x] -= hblk[(bh * g->Tn + j) * D * D + x];
          for (int64_t d = 0; d < D; d++) Zi[d] -= zblk[(bh * g->Tn + j) * D + d];
        }
        for (int64_t r = i * g->bq; r < sla2_ref_block_end(g, i, g->bq); r++) {
          double den = 0.0;
          for (int64_t d = 0; d < D; d++) den += (double)sla2_ref_load(g, host, phiq, b, h, r, d) * Zi[d];
          for (int64_t e = 0; e < D; e++) {
            double num = 0.0;
            for (int64_t d = 0; d < D; d++) num += (double)sla2_ref_load(g, host, phiq, b, h, r, d) * Hi[d * D + e];
            float o = den <= (double)SLA2_LINEAR_DEN_EPS ? 0.0f : (float)(num / den);
            sla2_ref_store(g, host, out, b, h, r, e, o);
          }
        }
      }
    }
  free(Hi);
  free(Zi);
  return SLA2_OK;
}
