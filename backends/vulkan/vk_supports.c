/* Vulkan backend: supports(): which graphs a device can run. Besides the contract's limits
 * (head dim, block sizes), the shaders address tensors with 32-bit element indices through
 * storage-buffer bindings of at most maxStorageBufferRange bytes, and dispatch grids must fit
 * maxComputeWorkGroupCount. */
#include "backends/vulkan/vk_internal.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

static bool is_float_dtype(int dtype) { return dtype == SLA2_F32 || dtype == SLA2_F16 || dtype == SLA2_BF16; }
static bool valid_block(int64_t b) { return b >= SLA2_BLOCK_MIN && b <= SLA2_BLOCK_MAX; }

static sla2_status check_slot(const vk_device *dev, const sla2_graph *g, const sla2_node *node, int slot) {
  const char *op = sla2_op_name(node->op);
  if (slot >= SLA2_SLOT_COUNT)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: node '%s' names slot %d", dev->name, op, slot);
  const sla2_graph_tensor *t = &g->tensors[slot];
  const uint64_t range = dev->props.limits.maxStorageBufferRange;
  uint64_t bytes;
  if (slot <= SLA2_SLOT_O || t->external) {
    if (!is_float_dtype(t->dtype))
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: tensor '%s' has dtype %d; vulkan takes f32, f16 or bf16", dev->name,
                       sla2_slot_name(slot), t->dtype);
    for (int i = 0; i < 4; i++)
      if (t->strides[i] < 0 || t->strides[i] > (int64_t)UINT32_MAX)
        return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: tensor '%s' stride %d = %lld; vulkan takes 0..2^32-1", dev->name,
                         sla2_slot_name(slot), i, (long long)t->strides[i]);
    bytes = (uint64_t)t->span * sla2_slot_dtype_size(t->dtype);
  } else {
    bytes = (uint64_t)t->count * sla2_slot_dtype_size(t->dtype);
  }
  if (bytes > range || bytes / 4 >= (uint64_t)INT32_MAX)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: tensor '%s' spans %llu bytes; the device binds at most %llu",
                     dev->name, sla2_slot_name(slot), (unsigned long long)bytes, (unsigned long long)range);
  return SLA2_OK;
}

static sla2_status check_node(const vk_device *dev, const sla2_graph *g, const sla2_node *node) {
  const char *op = sla2_op_name(node->op);
  if ((int)node->op < 0 || node->op >= SLA2_OP_COUNT)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: unknown op %d", dev->name, (int)node->op);
  for (int i = 0; i < SLA2_NODE_MAX_IN + SLA2_NODE_MAX_OUT; i++) {
    const int slot = i < SLA2_NODE_MAX_IN ? node->in[i] : node->out[i - SLA2_NODE_MAX_IN];
    sla2_status st = slot >= 0 ? check_slot(dev, g, node, slot) : SLA2_OK;
    if (st != SLA2_OK) return st;
  }
  switch (node->op) {
  case SLA2_OP_POOL:
  case SLA2_OP_QUANTIZE_INT8:
    if (!valid_block(node->block))
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: node '%s' block = %d; vulkan takes %d..%d rows", dev->name, op,
                       node->block, SLA2_BLOCK_MIN, SLA2_BLOCK_MAX);
    break;
  case SLA2_OP_ROUTE:
  case SLA2_OP_KV_STATE:
  case SLA2_OP_SPARSE_ATTN:
  case SLA2_OP_LINEAR_ATTN:
  case SLA2_OP_COMBINE:
    if (!valid_block(g->bq) || !valid_block(g->bk))
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: block sizes bq = %lld, bk = %lld; vulkan takes %d..%d", dev->name,
                       (long long)g->bq, (long long)g->bk, SLA2_BLOCK_MIN, SLA2_BLOCK_MAX);
    if (g->Tm != (g->N + g->bq - 1) / g->bq || g->Tn != (g->N + g->bk - 1) / g->bk || g->k < 1 || g->k > g->Tn)
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: Tm = %lld, Tn = %lld, k = %lld do not fit N = %lld",
                       dev->name, (long long)g->Tm, (long long)g->Tn, (long long)g->k, (long long)g->N);
    if (node->op == SLA2_OP_ROUTE && g->Hw != 1 && g->Hw != g->H)
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: Hw = %lld must be 1 or H", dev->name, (long long)g->Hw);
    if (node->op == SLA2_OP_SPARSE_ATTN && (unsigned)g->quant > SLA2_QUANT_INT8_FP8)
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: quant mode %d", dev->name, (int)g->quant);
    break;
  case SLA2_OP_FEATURE_MAP:
    if ((unsigned)g->feature_map > SLA2_FEATURE_RELU)
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: feature map %d", dev->name, (int)g->feature_map);
    break;
  default:
    break;
  }
  return SLA2_OK;
}

/* Largest workgroup grid any node dispatches, per dimension: x is at most N / 8 (feature_map),
 * Tm * 8 (attention sub-tiles), Tn * 16 (kv_state tiles), D * D / 256 (kv_total); y is H or B * H;
 * z is B or B * H. */
static sla2_status check_grid(const vk_device *dev, const sla2_graph *g) {
  const uint32_t *max = dev->props.limits.maxComputeWorkGroupCount;
  int64_t x = (g->N + 7) / 8, tiles = (g->D + 63) / 64;
  if (g->bq > 0 && g->Tm * 8 > x) x = g->Tm * 8;
  if (g->bk > 0 && g->Tn * tiles * tiles > x) x = g->Tn * tiles * tiles;
  if (x > (int64_t)max[0] || g->B * g->H > (int64_t)max[1] || g->B * g->H > (int64_t)max[2])
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: B = %lld, H = %lld, N = %lld exceed the device's workgroup grid",
                     dev->name, (long long)g->B, (long long)g->H, (long long)g->N);
  return SLA2_OK;
}

sla2_status vk_supports_graph(const vk_device *dev, const sla2_graph *g) {
  if (!g) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s supports: graph is NULL", dev->name);
  if (g->B < 1 || g->H < 1 || g->N < 1 || g->D < 1)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: sizes B = %lld, H = %lld, N = %lld, D = %lld must be >= 1",
                     dev->name, (long long)g->B, (long long)g->H, (long long)g->N, (long long)g->D);
  if (g->D % SLA2_HEAD_DIM_ALIGN != 0 || g->D > SLA2_HEAD_DIM_MAX)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: head dim D = %lld; vulkan takes multiples of %d up to %d", dev->name,
                     (long long)g->D, SLA2_HEAD_DIM_ALIGN, SLA2_HEAD_DIM_MAX);
  if (g->node_count < 0 || g->node_count > (int)(sizeof g->nodes / sizeof g->nodes[0]))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: node count %d", dev->name, g->node_count);
  sla2_status st = check_grid(dev, g);
  for (int i = 0; i < g->node_count && st == SLA2_OK; i++) st = check_node(dev, g, &g->nodes[i]);
  return st;
}
