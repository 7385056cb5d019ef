/* Oracle quantizers: INT8 codes of Q / K~ per row block, FP8 E4M3 codes of V per channel.
 * Every backend must produce these codes bit for bit, so all arithmetic is f32 exactly as
 * core/numeric.h defines it (no double here). */
#include <math.h>

#include "core/ref/ref_internal.h"

/* Per (b, h, block of node->block rows): sigma = max|x| / 127 (1 for an all-zero block),
 * code = clamp(rint(x / sigma), -127, 127). codes [B, H, N, D] i8, scales [B, H, T] f32. */
sla2_status sla2_ref_quantize_int8(const sla2_graph *g, const sla2_node *node, void *const *host) {
  int src = node->in[0];
  int8_t *codes = host[node->out[0]];
  float *scales = host[node->out[1]];
  int64_t block = node->block, T = (g->N + block - 1) / block;
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++)
      for (int64_t t = 0; t < T; t++) {
        int64_t begin = t * block, end = sla2_ref_block_end(g, t, block);
        float amax = 0.0f;
        for (int64_t n = begin; n < end; n++)
          for (int64_t d = 0; d < g->D; d++) {
            float a = fabsf(sla2_ref_load(g, host, src, b, h, n, d));
            if (a > amax) amax = a;
          }
        float sigma = sla2_int8_sigma(amax);
        scales[(b * g->H + h) * T + t] = sigma;
        for (int64_t n = begin; n < end; n++)
          for (int64_t d = 0; d < g->D; d++)
            codes[sla2_ref_bhnd(g, b, h, n, d)] = sla2_int8_code(sla2_ref_load(g, host, src, b, h, n, d), sigma);
      }
  return SLA2_OK;
}

/* Per (b, h, channel c) over all N rows: sigma_v = max|V[:, c]| / 448 (1 when zero),
 * code = e4m3(V / sigma_v) with an f32 division. codes [B, H, N, D] u8, scales [B, H, D] f32. */
sla2_status sla2_ref_quantize_fp8(const sla2_graph *g, const sla2_node *node, void *const *host) {
  int src = node->in[0];
  uint8_t *codes = host[node->out[0]];
  float *scales = host[node->out[1]];
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t h = 0; h < g->H; h++)
      for (int64_t c = 0; c < g->D; c++) {
        float amax = 0.0f;
        for (int64_t n = 0; n < g->N; n++) {
          float a = fabsf(sla2_ref_load(g, host, src, b, h, n, c));
          if (a > amax) amax = a;
        }
        float sigma = sla2_fp8_sigma(amax);
        scales[(b * g->H + h) * g->D + c] = sigma;
        for (int64_t n = 0; n < g->N; n++)
          codes[sla2_ref_bhnd(g, b, h, n, c)] = sla2_f32_to_e4m3(sla2_ref_load(g, host, src, b, h, n, c) / sigma);
      }
  return SLA2_OK;
}
