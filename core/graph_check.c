/* Structural checks of a graph that every backend's `supports` starts with, so each backend only
 * adds its own limits (shared memory, grid sizes, ...). */
#include "core/error.h"
#include "core/graph.h"
#include "shaders/common/sla2_constants.h"

static bool is_float_dtype(int dtype) { return dtype == SLA2_F32 || dtype == SLA2_F16 || dtype == SLA2_BF16; }

static bool valid_block(int64_t b) { return b >= SLA2_BLOCK_MIN && b <= SLA2_BLOCK_MAX; }

static sla2_status check_node(const sla2_graph *g, const sla2_node *node, const char *who) {
  if ((int)node->op < 0 || node->op >= SLA2_OP_COUNT)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: unknown op %d", who, (int)node->op);
  const char *op = sla2_op_name(node->op);
  for (int i = 0; i < SLA2_NODE_MAX_IN + SLA2_NODE_MAX_OUT; i++) {
    const int slot = i < SLA2_NODE_MAX_IN ? node->in[i] : node->out[i - SLA2_NODE_MAX_IN];
    if (slot < 0) continue;
    if (slot >= SLA2_SLOT_COUNT)
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: node '%s' names slot %d", who, op, slot);
    const sla2_graph_tensor *t = &g->tensors[slot];
    if (slot > SLA2_SLOT_O && !t->external) continue;
    if (!is_float_dtype(t->dtype))
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: tensor '%s' has dtype %d; f32, f16 or bf16 expected", who,
                       sla2_slot_name(slot), t->dtype);
    for (int s = 0; s < 4; s++)
      if (t->strides[s] < 0 || (s == 3 && t->strides[s] < 1))
        return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: tensor '%s' has stride %lld in dimension %d", who,
                         sla2_slot_name(slot), (long long)t->strides[s], s);
  }
  switch (node->op) {
  case SLA2_OP_POOL:
  case SLA2_OP_QUANTIZE_INT8:
    if (!valid_block(node->block))
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: node '%s' block = %d; blocks of %d..%d rows", who, op,
                       node->block, SLA2_BLOCK_MIN, SLA2_BLOCK_MAX);
    break;
  case SLA2_OP_ROUTE:
  case SLA2_OP_KV_STATE:
  case SLA2_OP_SPARSE_ATTN:
  case SLA2_OP_LINEAR_ATTN:
  case SLA2_OP_COMBINE:
    if (!valid_block(g->bq) || !valid_block(g->bk))
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: block sizes bq = %lld, bk = %lld; blocks of %d..%d rows", who,
                       (long long)g->bq, (long long)g->bk, SLA2_BLOCK_MIN, SLA2_BLOCK_MAX);
    if (g->Tm != (g->N + g->bq - 1) / g->bq || g->Tn != (g->N + g->bk - 1) / g->bk || g->k < 1 || g->k > g->Tn)
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: Tm = %lld, Tn = %lld, k = %lld do not fit N = %lld", who,
                       (long long)g->Tm, (long long)g->Tn, (long long)g->k, (long long)g->N);
    if (node->op == SLA2_OP_ROUTE && g->Hw != 1 && g->Hw != g->H)
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: Hw = %lld must be 1 or H", who, (long long)g->Hw);
    if (node->op == SLA2_OP_SPARSE_ATTN && (unsigned)g->quant > SLA2_QUANT_INT8_FP8)
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: quant mode %d", who, (int)g->quant);
    break;
  case SLA2_OP_FEATURE_MAP:
    if ((unsigned)g->feature_map > SLA2_FEATURE_RELU)
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: feature map %d", who, (int)g->feature_map);
    break;
  default:
    break;
  }
  return SLA2_OK;
}

sla2_status sla2_graph_check(const sla2_graph *g, const char *who) {
  if (!g) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: graph is NULL", who);
  if (g->B < 1 || g->H < 1 || g->N < 1 || g->D < 1)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: sizes B = %lld, H = %lld, N = %lld, D = %lld must be >= 1", who,
                     (long long)g->B, (long long)g->H, (long long)g->N, (long long)g->D);
  if (g->D % SLA2_HEAD_DIM_ALIGN != 0 || g->D > SLA2_HEAD_DIM_MAX)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: head dim D = %lld; multiples of %d up to %d", who, (long long)g->D,
                     SLA2_HEAD_DIM_ALIGN, SLA2_HEAD_DIM_MAX);
  if (g->node_count < 0 || g->node_count > (int)(sizeof g->nodes / sizeof g->nodes[0]))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: node count %d", who, g->node_count);
  for (int i = 0; i < g->node_count; i++) {
    sla2_status st = check_node(g, &g->nodes[i], who);
    if (st != SLA2_OK) return st;
  }
  return SLA2_OK;
}

sla2_status sla2_graph_check_run(const sla2_graph *g, int first, int count, void *const buffers[SLA2_SLOT_COUNT],
                                 const char *who) {
  if (!g || !buffers) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s run: graph and buffers must not be NULL", who);
  if (first < 0 || count < 0 || first > g->node_count || count > g->node_count - first)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s run: nodes [%d, %d + %d) outside the graph's %d nodes", who,
                     first, first, count, g->node_count);
  for (int i = first; i < first + count; i++) {
    const sla2_node *node = &g->nodes[i];
    for (int s = 0; s < SLA2_NODE_MAX_IN + SLA2_NODE_MAX_OUT; s++) {
      const int slot = s < SLA2_NODE_MAX_IN ? node->in[s] : node->out[s - SLA2_NODE_MAX_IN];
      if (slot >= 0 && slot < SLA2_SLOT_COUNT && !buffers[slot])
        return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s run: node '%s' slot '%s' has no buffer", who,
                         sla2_op_name(node->op), sla2_slot_name(slot));
    }
  }
  return SLA2_OK;
}
