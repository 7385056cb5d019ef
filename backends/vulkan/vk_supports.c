/* Vulkan backend: supports(): which graphs a device can run. sla2_graph_check covers the
 * contract (sizes, head dim, slots, dtypes, blocks, k); on top of it the shaders address tensors
 * with 32-bit element indices through storage-buffer bindings of at most maxStorageBufferRange
 * bytes, and dispatch grids must fit maxComputeWorkGroupCount. */
#include "backends/vulkan/vk_internal.h"
#include "core/error.h"

/* Strides are pushed as 32-bit values and every slot is bound whole. */
static sla2_status check_slot(const vk_device *dev, const sla2_graph *g, int slot) {
  const sla2_graph_tensor *t = &g->tensors[slot];
  const uint64_t range = dev->props.limits.maxStorageBufferRange;
  const bool ext = slot <= SLA2_SLOT_O || t->external;
  if (ext)
    for (int i = 0; i < 4; i++)
      if (t->strides[i] > (int64_t)UINT32_MAX)
        return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: tensor '%s' stride %d = %lld; vulkan takes 0..2^32-1", dev->name,
                         sla2_slot_name(slot), i, (long long)t->strides[i]);
  const uint64_t bytes = (uint64_t)(ext ? t->span : t->count) * sla2_slot_dtype_size(t->dtype);
  if (bytes > range || bytes / 4 >= (uint64_t)INT32_MAX)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: tensor '%s' spans %llu bytes; the device binds at most %llu",
                     dev->name, sla2_slot_name(slot), (unsigned long long)bytes, (unsigned long long)range);
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
  sla2_status st = sla2_graph_check(g, dev->name);
  if (st == SLA2_OK) st = check_grid(dev, g);
  for (int i = 0; i < g->node_count && st == SLA2_OK; i++) {
    const sla2_node *node = &g->nodes[i];
    for (int s = 0; s < SLA2_NODE_MAX_IN + SLA2_NODE_MAX_OUT && st == SLA2_OK; s++) {
      const int slot = s < SLA2_NODE_MAX_IN ? node->in[s] : node->out[s - SLA2_NODE_MAX_IN];
      if (slot >= 0) st = check_slot(dev, g, slot);
    }
  }
  return st;
}
