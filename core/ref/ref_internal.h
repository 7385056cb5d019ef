/* Internal to core/ref: the per-node functions behind sla2_ref_run and the slot accessors they
 * share. sla2_ref_run (ref.c) validates the graph, the node's slots and the LUT shape before it
 * calls any of these, so they only compute. */
#ifndef SLA2_CORE_REF_INTERNAL_H
#define SLA2_CORE_REF_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/graph.h"
#include "core/numeric.h"
#include "sla2/status.h"

/* Q, K, V, O are always the caller's strided tensors; later graphs may mark more slots external. */
static inline bool sla2_ref_is_external(const sla2_graph *g, int slot) {
  return slot <= SLA2_SLOT_O || g->tensors[slot].external;
}

/* Element index of [b, h, n, d] in a contiguous [B, H, N, D] intermediate. */
static inline int64_t sla2_ref_bhnd(const sla2_graph *g, int64_t b, int64_t h, int64_t n,
                                    int64_t d) {
  return ((b * g->H + h) * g->N + n) * g->D + d;
}

/* Reads [b, h, n, d] of a [B, H, N, D] float slot: the external view in its dtype, or an f32
 * intermediate (KS, PHIQ, PHIK, OS, OL). Exact: f16/bf16 widen to f32 without rounding. */
static inline float sla2_ref_load(const sla2_graph *g, void *const *host, int slot, int64_t b,
                                  int64_t h, int64_t n, int64_t d) {
  if (sla2_ref_is_external(g, slot)) {
    const sla2_graph_tensor *t = &g->tensors[slot];
    return sla2_load_float(host[slot], t->dtype, sla2_ext_offset(t, b, h, n, d));
  }
  return ((const float *)host[slot])[sla2_ref_bhnd(g, b, h, n, d)];
}

/* Writes [b, h, n, d] of a [B, H, N, D] float slot (external: rounded half to even to its dtype). */
static inline void sla2_ref_store(const sla2_graph *g, void *const *host, int slot, int64_t b,
                                  int64_t h, int64_t n, int64_t d, float value) {
  if (sla2_ref_is_external(g, slot)) {
    const sla2_graph_tensor *t = &g->tensors[slot];
    sla2_store_float(host[slot], t->dtype, sla2_ext_offset(t, b, h, n, d), value);
    return;
  }
  ((float *)host[slot])[sla2_ref_bhnd(g, b, h, n, d)] = value;
}

/* Rows of block t of size `block`: [t * block, min(N, (t + 1) * block)). */
static inline int64_t sla2_ref_block_end(const sla2_graph *g, int64_t t, int64_t block) {
  int64_t end = (t + 1) * block;
  return end < g->N ? end : g->N;
}

/* ref_elementwise.c */
sla2_status sla2_ref_smooth_k(const sla2_graph *g, const sla2_node *node, void *const *host);
sla2_status sla2_ref_pool(const sla2_graph *g, const sla2_node *node, void *const *host);
sla2_status sla2_ref_feature_map(const sla2_graph *g, const sla2_node *node, void *const *host);
sla2_status sla2_ref_combine(const sla2_graph *g, const sla2_node *node, void *const *host);
/* ref_quantize.c */
sla2_status sla2_ref_quantize_int8(const sla2_graph *g, const sla2_node *node, void *const *host);
sla2_status sla2_ref_quantize_fp8(const sla2_graph *g, const sla2_node *node, void *const *host);
/* ref_router.c */
sla2_status sla2_ref_route(const sla2_graph *g, const sla2_node *node, void *const *host);
/* ref_linear.c */
sla2_status sla2_ref_kv_state(const sla2_graph *g, const sla2_node *node, void *const *host);
sla2_status sla2_ref_linear_attn(const sla2_graph *g, const sla2_node *node, void *const *host);
/* ref_attention.c */
sla2_status sla2_ref_sparse_attn(const sla2_graph *g, const sla2_node *node, void *const *host);
sla2_status sla2_ref_dense_attn(const sla2_graph *g, const sla2_node *node, void *const *host);

#endif
