/* Internal: argument checks shared by sla2_layer_forward and sla2_attention_dense. */
#ifndef SLA2_CORE_ATTENTION_ARGS_H
#define SLA2_CORE_ATTENTION_ARGS_H

#include "core/graph.h"
#include "core/tensor_internal.h"

/* q, k, v, o non-NULL, on one device, of one shape [B,H,N,D]; q/k/v share a float dtype; o is a
 * float tensor distinct from the inputs; D a supported head dim. Writes the shape. `fn` names
 * the public entry point in the error message. */
sla2_status sla2_check_attention_tensors(const char *fn, const sla2_tensor *q, const sla2_tensor *k,
                                         const sla2_tensor *v, const sla2_tensor *o, int64_t out_shape[4]);
/* UNSUPPORTED unless D is a multiple of SLA2_HEAD_DIM_ALIGN in [ALIGN, SLA2_HEAD_DIM_MAX]. */
sla2_status sla2_check_head_dim(const char *fn, int64_t D);
/* Describes q, k, v, o as the graph's external slots and binds their buffers. */
void sla2_bind_attention_tensors(sla2_graph *g, const sla2_tensor *q, const sla2_tensor *k,
                                 const sla2_tensor *v, const sla2_tensor *o, void *buffers[SLA2_SLOT_COUNT]);

#endif
