/* Vulkan backend: recording dispatches into the device's command buffer, scratch buffers, and the
 * slot layouts the shaders are given. */
#include <string.h>

#include "backends/vulkan/vk_attention.h"
#include "backends/vulkan/vk_internal.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

sla2_status vk_dispatch(vk_run *r, const vk_dispatch_desc *d) {
  vk_device *dev = r->dev;
  if (d->groups[0] == 0 || d->groups[1] == 0 || d->groups[2] == 0) return SLA2_OK;
  VkPipeline pipeline;
  VkDescriptorSet set;
  sla2_status st = vk_pipeline_get(dev, d->shader, d->spec, d->spec_count, &pipeline);
  if (st == SLA2_OK) st = vk_descriptor_set_alloc(dev, &set);
  if (st != SLA2_OK) return st;

  VkDescriptorBufferInfo infos[VK_BINDINGS];
  VkWriteDescriptorSet writes[VK_BINDINGS];
  for (uint32_t i = 0; i < VK_BINDINGS; i++) {
    const vk_buffer *b = d->bind[i] ? d->bind[i] : dev->dummy;
    infos[i] = (VkDescriptorBufferInfo){.buffer = b->buffer, .offset = 0, .range = VK_WHOLE_SIZE};
    writes[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                       .dstSet = set,
                                       .dstBinding = i,
                                       .descriptorCount = 1,
                                       .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                       .pBufferInfo = &infos[i]};
  }
  dev->fn.vkUpdateDescriptorSets(dev->device, VK_BINDINGS, writes, 0, NULL);

  uint8_t push[VK_PUSH_BYTES];
  memset(push, 0, sizeof push);
  if (d->push_bytes > VK_PUSH_BYTES)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: %u push-constant bytes for %s", dev->name, d->push_bytes,
                     vk_shader_name(d->shader));
  if (d->push) memcpy(push, d->push, d->push_bytes);

  VkCommandBuffer cmd = dev->cmd;
  dev->fn.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  dev->fn.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, dev->pipeline_layout, 0, 1, &set, 0, NULL);
  dev->fn.vkCmdPushConstants(cmd, dev->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, VK_PUSH_BYTES, push);
  vk_profile_mark(dev, d, false);
  dev->fn.vkCmdDispatch(cmd, d->groups[0], d->groups[1], d->groups[2]);
  vk_profile_mark(dev, d, true);
  /* The next dispatch may read what this one wrote. */
  VkMemoryBarrier barrier = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  dev->fn.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                               &barrier, 0, NULL, 0, NULL);
  return SLA2_OK;
}

static bool graph_has(const sla2_graph *g, sla2_op op) {
  for (int i = 0; i < g->node_count; i++)
    if (g->nodes[i].op == op) return true;
  return false;
}

static sla2_status ensure_scratch(vk_device *dev, vk_scratch_id id, VkDeviceSize bytes) {
  if (bytes == 0 || (dev->scratch[id] && dev->scratch[id]->capacity >= bytes)) return SLA2_OK;
  vk_buffer_destroy(dev, dev->scratch[id]);
  dev->scratch[id] = NULL;
  return vk_buffer_create(dev, bytes, dev->device_memory_type, &dev->scratch[id]);
}

sla2_status vk_scratch_prepare(vk_device *dev, const sla2_graph *g) {
  const VkDeviceSize f = sizeof(float), bh = (VkDeviceSize)(g->B * g->H), D = (VkDeviceSize)g->D;
  VkDeviceSize need[VK_SCRATCH_COUNT] = {0};
  if (graph_has(g, SLA2_OP_ROUTE)) {
    need[VK_SCRATCH_QPROJ] = bh * (VkDeviceSize)g->Tm * D * 2 * f;
    need[VK_SCRATCH_KPROJ] = bh * (VkDeviceSize)g->Tn * D * 2 * f;
    need[VK_SCRATCH_PAIRS] = bh * (VkDeviceSize)(g->Tm * g->Tn) * 2 * f;
  }
  if (graph_has(g, SLA2_OP_SMOOTH_K) || graph_has(g, SLA2_OP_QUANTIZE_FP8)) {
    VkDeviceSize chunks = (VkDeviceSize)((g->N + VK_COLREDUCE_ROWS - 1) / VK_COLREDUCE_ROWS);
    need[VK_SCRATCH_PARTIAL] = bh * chunks * D * 2 * f; /* float-float pairs */
    need[VK_SCRATCH_COLSTAT] = bh * D * 2 * f;
  }
#ifdef SLA2_VK_HAVE_COOPMAT2
  need[VK_SCRATCH_KSPLIT] = vk_attention_cm2_scratch_bytes(dev, g);
  need[VK_SCRATCH_LIGHT] = vk_linear_light_scratch_bytes(dev, g);
#endif
  for (int id = 0; id < VK_SCRATCH_COUNT; id++) {
    sla2_status st = ensure_scratch(dev, (vk_scratch_id)id, need[id]);
    if (st != SLA2_OK) return st;
  }
  return SLA2_OK;
}

/* The shaders take 32-bit strides (vk_supports_graph checks that they fit). */
void vk_slot_strides(const sla2_graph *g, int slot, uint32_t out[4]) {
  int64_t s[4];
  sla2_graph_slot_view(g, slot, s);
  for (int i = 0; i < 4; i++) out[i] = (uint32_t)s[i];
}

uint32_t vk_slot_dtype(const sla2_graph *g, int slot) { return (uint32_t)sla2_graph_slot_view(g, slot, NULL); }

bool vk_strides_pair_words(const uint32_t s[4]) {
  return s[3] == 1u && s[0] % 2u == 0u && s[1] % 2u == 0u && s[2] % 2u == 0u;
}

uint32_t vk_slot_load_dtype(const sla2_graph *g, int slot) {
  const uint32_t dt = vk_slot_dtype(g, slot);
  uint32_t s[4];
  vk_slot_strides(g, slot, s);
  const bool paired = dt != SLA2_F32 && vk_strides_pair_words(s);
  return paired ? dt | SLA2_VK_DT_PAIRED : dt;
}
