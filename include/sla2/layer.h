/* The SLA2 attention layer: config, router matrices and alpha logits, bound to one device. */
#ifndef SLA2_LAYER_H
#define SLA2_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sla2/config.h"
#include "sla2/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sla2_layer sla2_layer;

typedef struct sla2_layer_desc {
  int64_t num_heads;  /* H */
  int64_t head_dim;   /* D: a multiple of 8 in [8, 256] */
  int64_t seq_len;    /* N: required (> 0) with per-block alpha, otherwise 0 (any N) */
} sla2_layer_desc;

/* Router W_q = W_k = identity, alpha logits 0 (alpha = 0.5). */
SLA2_API sla2_status sla2_layer_create(sla2_device *device, const sla2_config *config,
                                       const sla2_layer_desc *desc, sla2_layer **out_layer);
SLA2_API void sla2_layer_destroy(sla2_layer *layer); /* NULL is a no-op */

SLA2_API sla2_status sla2_layer_get_config(const sla2_layer *layer, sla2_config *out_config);
SLA2_API sla2_device *sla2_layer_device(const sla2_layer *layer);

/* Router matrices, row-major D x D each (scores use W q-bar), count = D*D per layer or H*D*D per
 * head. Non-finite values are INVALID_ARGUMENT. */
SLA2_API size_t sla2_layer_router_count(const sla2_layer *layer);
SLA2_API sla2_status sla2_layer_set_router(sla2_layer *layer, const float *w_q, const float *w_k,
                                           size_t count);
SLA2_API sla2_status sla2_layer_get_router(const sla2_layer *layer, float *w_q, float *w_k,
                                           size_t count);

/* Alpha logits (alpha = sigmoid(logit)): count = H per head, or H * ceil(N / block_q) per block. */
SLA2_API size_t sla2_layer_alpha_count(const sla2_layer *layer);
SLA2_API sla2_status sla2_layer_set_alpha_logits(sla2_layer *layer, const float *logits, size_t count);
SLA2_API sla2_status sla2_layer_get_alpha_logits(const sla2_layer *layer, float *logits, size_t count);

/* O = SLA2(Q, K, V). q, k, v, o: [B, H, N, D] on the layer's device, q/k/v of one dtype, o of any
 * float dtype. Optional: lse [B, H, N, 1] f32 (log-sum-exp of the sparse branch), lut
 * [B, H, T_m, k] i32 (selected key blocks, ascending). On error nothing is written. */
SLA2_API sla2_status sla2_layer_forward(sla2_layer *layer, const sla2_tensor *q, const sla2_tensor *k,
                                        const sla2_tensor *v, sla2_tensor *o, sla2_tensor *lse,
                                        sla2_tensor *lut);

/* Key blocks each query-block row keeps for a sequence of n tokens: clamp(floor(topk*T_n), 1, T_n). */
SLA2_API int64_t sla2_layer_k_for(const sla2_layer *layer, int64_t n);

typedef struct sla2_forward_stats {
  double density;        /* selected key tokens / all key tokens, over all rows of the last forward */
  int64_t k_per_row;     /* key blocks selected per query-block row */
  int64_t t_m, t_n;      /* query and key block counts */
  double alpha_mean, alpha_min, alpha_max;
  bool timed;            /* stage times below are filled when timing is enabled */
  double total_ms;
  double stage_ms[16];   /* per graph node, in order; see stage_names */
  const char *stage_names[16];
  int stage_count;
} sla2_forward_stats;

/* Statistics of the last successful forward; INVALID_ARGUMENT before the first. */
SLA2_API sla2_status sla2_layer_get_stats(const sla2_layer *layer, sla2_forward_stats *out_stats);
/* When on, forward synchronizes after every stage to time it (slower). Off by default. */
SLA2_API sla2_status sla2_layer_set_timing(sla2_layer *layer, bool enabled);

/* Dense softmax attention O = softmax(scale Q K^T) V on the tensors' device; scale 0 means
 * 1/sqrt(D). Same tensor rules as sla2_layer_forward. */
SLA2_API sla2_status sla2_attention_dense(const sla2_tensor *q, const sla2_tensor *k,
                                          const sla2_tensor *v, sla2_tensor *o, double scale);

#ifdef __cplusplus
}
#endif
#endif
