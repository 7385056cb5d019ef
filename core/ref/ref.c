/* The oracle's entry point: checks each node's slots and sizes, then runs it in plain scalar C.
 * Validation lives here so the per-node files (ref_*.c) only compute. */
#include "core/ref/ref.h"

#include <stddef.h>

#include "core/error.h"
#include "core/ref/ref_internal.h"

/* Bit i set: node->in[i] (or out[i]) must name a slot with host memory. */
#define BIT(i) (1u << (i))

typedef struct node_needs {
  unsigned in, out;
  bool rows_block;  /* node->block is its rows per block (POOL, QUANTIZE_INT8) */
  bool blocks;      /* uses g->bq, bk, Tm, Tn, k (and Hw for ROUTE) */
  int lut_in;       /* index of the LUT input whose contents must be valid, or -1 */
} node_needs;

static node_needs needs_of(const sla2_graph *g, const sla2_node *node) {
  node_needs n = {0, 0, false, false, -1};
  switch (node->op) {
  case SLA2_OP_SMOOTH_K:
  case SLA2_OP_FEATURE_MAP:
    n.in = BIT(0), n.out = BIT(0);
    break;
  case SLA2_OP_POOL:
    n.in = BIT(0), n.out = BIT(0), n.rows_block = true;
    break;
  case SLA2_OP_ROUTE:
    n.in = BIT(0) | BIT(1) | BIT(2) | BIT(3), n.out = BIT(0) | BIT(1), n.blocks = true;
    break;
  case SLA2_OP_KV_STATE:
    n.in = BIT(0) | BIT(1), n.out = BIT(0) | BIT(1) | BIT(2) | BIT(3), n.blocks = true;
    break;
  case SLA2_OP_QUANTIZE_INT8:
    n.in = BIT(0), n.out = BIT(0) | BIT(1), n.rows_block = true;
    break;
  case SLA2_OP_QUANTIZE_FP8:
    n.in = BIT(0), n.out = BIT(0) | BIT(1);
    break;
  case SLA2_OP_SPARSE_ATTN:
    /* The inputs follow the quant mode: Q and KS are replaced by their codes, V by FP8 codes. */
    n.in = BIT(3);
    n.in |= g->quant == SLA2_QUANT_NONE ? BIT(0) | BIT(1) : BIT(4) | BIT(5) | BIT(6) | BIT(7);
    n.in |= g->quant == SLA2_QUANT_INT8_FP8 ? BIT(8) | BIT(9) : BIT(2);
    n.out = BIT(0) | BIT(1), n.blocks = true, n.lut_in = 3;
    break;
  case SLA2_OP_LINEAR_ATTN:
    n.in = BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5), n.out = BIT(0), n.blocks = true;
    n.lut_in = 5;
    break;
  case SLA2_OP_COMBINE:
    n.in = BIT(0) | BIT(1) | BIT(2), n.out = BIT(0), n.blocks = true;
    break;
  case SLA2_OP_DENSE_ATTN:
    n.in = BIT(0) | BIT(1) | BIT(2), n.out = BIT(0); /* out[1] (LSE) is optional */
    break;
  default:
    break;
  }
  return n;
}

static bool is_float_dtype(int dtype) {
  return dtype == SLA2_F32 || dtype == SLA2_F16 || dtype == SLA2_BF16;
}

static sla2_status check_slot(const sla2_graph *g, const sla2_node *node, void *const *host,
                              const char *dir, int index, int slot) {
  if (slot < 0 || slot >= SLA2_SLOT_COUNT)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: node '%s' %s[%d] = %d is not a slot",
                     sla2_op_name(node->op), dir, index, slot);
  if (!host[slot])
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: node '%s' %s[%d]: slot '%s' has no host memory",
                     sla2_op_name(node->op), dir, index, sla2_slot_name(slot));
  if (sla2_ref_is_external(g, slot) && !is_float_dtype(g->tensors[slot].dtype))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                     "ref: external slot '%s' has dtype %d; expected f32, f16 or bf16",
                     sla2_slot_name(slot), g->tensors[slot].dtype);
  return SLA2_OK;
}

static sla2_status check_blocks(const sla2_graph *g) {
  if (g->bq < 1 || g->bk < 1)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: block sizes bq = %lld, bk = %lld must be >= 1",
                     (long long)g->bq, (long long)g->bk);
  if (g->Tm != (g->N + g->bq - 1) / g->bq || g->Tn != (g->N + g->bk - 1) / g->bk)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                     "ref: Tm = %lld, Tn = %lld do not match ceil(N / bq), ceil(N / bk)",
                     (long long)g->Tm, (long long)g->Tn);
  if (g->k < 1 || g->k > g->Tn)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: k = %lld must be in [1, Tn = %lld]",
                     (long long)g->k, (long long)g->Tn);
  if (g->Hw != 1 && g->Hw != g->H)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: Hw = %lld must be 1 or H = %lld",
                     (long long)g->Hw, (long long)g->H);
  return SLA2_OK;
}

/* Every LUT row must list k distinct key blocks in ascending order: the sparse branch reads
 * exactly those blocks and the linear branch subtracts each once. */
static sla2_status check_lut(const sla2_graph *g, const int32_t *lut) {
  int64_t rows = g->B * g->H * g->Tm;
  for (int64_t row = 0; row < rows; row++) {
    const int32_t *r = lut + row * g->k;
    for (int64_t t = 0; t < g->k; t++) {
      if (r[t] < 0 || r[t] >= g->Tn || (t > 0 && r[t] <= r[t - 1]))
        return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                         "ref: LUT row %lld entry %lld = %d: entries must ascend strictly in [0, Tn = %lld)",
                         (long long)row, (long long)t, (int)r[t], (long long)g->Tn);
    }
  }
  return SLA2_OK;
}

static sla2_status check_node(const sla2_graph *g, const sla2_node *node, void *const *host) {
  if ((int)node->op < 0 || node->op >= SLA2_OP_COUNT)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: unknown op %d", (int)node->op);
  node_needs n = needs_of(g, node);
  sla2_status st;
  for (int i = 0; i < SLA2_NODE_MAX_IN; i++)
    if ((n.in & BIT(i)) && (st = check_slot(g, node, host, "in", i, node->in[i])) != SLA2_OK) return st;
  for (int i = 0; i < SLA2_NODE_MAX_OUT; i++)
    if ((n.out & BIT(i)) && (st = check_slot(g, node, host, "out", i, node->out[i])) != SLA2_OK) return st;
  if (node->op == SLA2_OP_DENSE_ATTN && node->out[1] != -1 &&
      (st = check_slot(g, node, host, "out", 1, node->out[1])) != SLA2_OK)
    return st;
  if (n.rows_block && node->block < 1)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: node '%s' block = %d must be >= 1",
                     sla2_op_name(node->op), node->block);
  if (n.blocks && (st = check_blocks(g)) != SLA2_OK) return st;
  if (node->op == SLA2_OP_SPARSE_ATTN && (unsigned)g->quant > SLA2_QUANT_INT8_FP8)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: quant %d is not none, int8 or int8_fp8",
                     (int)g->quant);
  if (node->op == SLA2_OP_FEATURE_MAP && (unsigned)g->feature_map > SLA2_FEATURE_RELU)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: feature_map %d is not softmax, elu or relu",
                     (int)g->feature_map);
  if (n.lut_in >= 0) return check_lut(g, (const int32_t *)host[node->in[n.lut_in]]);
  return SLA2_OK;
}

static sla2_status run_node(const sla2_graph *g, const sla2_node *node, void *const *host) {
  switch (node->op) {
  case SLA2_OP_SMOOTH_K: return sla2_ref_smooth_k(g, node, host);
  case SLA2_OP_POOL: return sla2_ref_pool(g, node, host);
  case SLA2_OP_FEATURE_MAP: return sla2_ref_feature_map(g, node, host);
  case SLA2_OP_ROUTE: return sla2_ref_route(g, node, host);
  case SLA2_OP_KV_STATE: return sla2_ref_kv_state(g, node, host);
  case SLA2_OP_QUANTIZE_INT8: return sla2_ref_quantize_int8(g, node, host);
  case SLA2_OP_QUANTIZE_FP8: return sla2_ref_quantize_fp8(g, node, host);
  case SLA2_OP_SPARSE_ATTN: return sla2_ref_sparse_attn(g, node, host);
  case SLA2_OP_LINEAR_ATTN: return sla2_ref_linear_attn(g, node, host);
  case SLA2_OP_COMBINE: return sla2_ref_combine(g, node, host);
  case SLA2_OP_DENSE_ATTN: return sla2_ref_dense_attn(g, node, host);
  default: break;
  }
  return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: unknown op %d", (int)node->op);
}

sla2_status sla2_ref_run(const sla2_graph *g, int first, int count, void *const host[SLA2_SLOT_COUNT]) {
  if (!g || !host) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: graph and host must not be NULL");
  if (g->node_count < 0 || g->node_count > (int)(sizeof g->nodes / sizeof g->nodes[0]) || first < 0 ||
      count < 0 || first > g->node_count || count > g->node_count - first)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: nodes [%d, %d + %d) outside the graph's %d nodes",
                     first, first, count, g->node_count);
  if (g->B < 1 || g->H < 1 || g->N < 1 || g->D < 1)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "ref: sizes B = %lld, H = %lld, N = %lld, D = %lld must be >= 1",
                     (long long)g->B, (long long)g->H, (long long)g->N, (long long)g->D);
  for (int i = first; i < first + count; i++) {
    const sla2_node *node = &g->nodes[i];
    sla2_status st = check_node(g, node, host);
    if (st == SLA2_OK) st = run_node(g, node, host);
    if (st != SLA2_OK) return st;
  }
  return SLA2_OK;
}
