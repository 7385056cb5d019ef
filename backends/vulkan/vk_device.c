/* Vulkan backend: the logical device of a vk_device, created on first use, and its command
 * buffer, fence and submission. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"
#include "backends/vulkan/vk_path.h"
#include "core/error.h"

#define DESCRIPTOR_POOL_SETS 64

static sla2_status create_device(vk_device *dev) {
  const vk_context *c = vk_ctx();
  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = dev->queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
  vk_path_device_setup setup; /* extensions and features of the device's attention path */
  const void *features = vk_path_device_setup_fill(dev, &setup);
  const char *extensions[sizeof setup.extensions / sizeof setup.extensions[0] + 1];
  uint32_t extension_count = setup.extension_count;
  for (uint32_t i = 0; i < extension_count; i++) extensions[i] = setup.extensions[i];
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR stats; /* SLA2_VULKAN_PROFILE only */
  const char *stats_ext = vk_profile_device_extension(dev, &stats);
  if (stats_ext) {
    stats.pNext = (void *)features;
    features = &stats;
    extensions[extension_count++] = stats_ext;
  }
  VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                             .pNext = features,
                             .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &queue,
                             .enabledExtensionCount = extension_count,
                             .ppEnabledExtensionNames = extensions};
  VkResult res = c->fn.vkCreateDevice(dev->phys, &info, NULL, &dev->device);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkCreateDevice");
  dev->profile_stats = stats_ext != NULL;
  char reason[160];
  if (!vk_loader_device(&c->fn, dev->device, &dev->fn, reason, sizeof reason))
    return sla2_fail(SLA2_ERROR_DEVICE, "%s: %s", dev->name, reason);
  dev->fn.vkGetDeviceQueue(dev->device, dev->queue_family, 0, &dev->queue);
  vk_profile_device_created(dev);
  return SLA2_OK;
}

static sla2_status create_layouts(vk_device *dev) {
  VkDescriptorSetLayoutBinding bindings[VK_BINDINGS];
  for (uint32_t i = 0; i < VK_BINDINGS; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                                 .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                                 .descriptorCount = 1,
                                                 .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  VkDescriptorSetLayoutCreateInfo set_info = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                              .bindingCount = VK_BINDINGS,
                                              .pBindings = bindings};
  VkResult res = dev->fn.vkCreateDescriptorSetLayout(dev->device, &set_info, NULL, &dev->set_layout);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkCreateDescriptorSetLayout");
  VkPushConstantRange push = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = VK_PUSH_BYTES};
  VkPipelineLayoutCreateInfo layout_info = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                            .setLayoutCount = 1,
                                            .pSetLayouts = &dev->set_layout,
                                            .pushConstantRangeCount = 1,
                                            .pPushConstantRanges = &push};
  res = dev->fn.vkCreatePipelineLayout(dev->device, &layout_info, NULL, &dev->pipeline_layout);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkCreatePipelineLayout");
  return SLA2_OK;
}

static sla2_status create_commands(vk_device *dev) {
  VkCommandPoolCreateInfo pool_info = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                       .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                       .queueFamilyIndex = dev->queue_family};
  VkResult res = dev->fn.vkCreateCommandPool(dev->device, &pool_info, NULL, &dev->command_pool);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkCreateCommandPool");
  VkCommandBufferAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = dev->command_pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
  res = dev->fn.vkAllocateCommandBuffers(dev->device, &alloc, &dev->cmd);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkAllocateCommandBuffers");
  VkFenceCreateInfo fence_info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  res = dev->fn.vkCreateFence(dev->device, &fence_info, NULL, &dev->fence);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkCreateFence");
  return SLA2_OK;
}

static sla2_status make_ready(vk_device *dev) {
  sla2_status st;
  if ((st = create_device(dev)) != SLA2_OK || (st = vk_memory_choose_types(dev)) != SLA2_OK ||
      (st = create_layouts(dev)) != SLA2_OK || (st = create_commands(dev)) != SLA2_OK)
    return st;
  return vk_buffer_create(dev, 16, dev->device_memory_type, &dev->dummy);
}

sla2_status vk_device_ready(vk_device *dev) {
  if (dev->ready) {
    if (dev->ready_status != SLA2_OK) return sla2_fail(dev->ready_status, "%s", dev->ready_error);
    return SLA2_OK;
  }
  dev->ready = true;
  dev->ready_status = make_ready(dev);
  if (dev->ready_status != SLA2_OK) {
    /* Every later call reports the same failure; the half-made objects stay (process lifetime). */
    snprintf(dev->ready_error, sizeof dev->ready_error, "%s", sla2_last_error());
  }
  return dev->ready_status;
}

sla2_status vk_device_wait(vk_device *dev) {
  if (!dev->pending) return SLA2_OK;
  dev->pending = false;
  VkResult res = dev->fn.vkWaitForFences(dev->device, 1, &dev->fence, VK_TRUE, UINT64_MAX);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkWaitForFences");
  res = dev->fn.vkResetFences(dev->device, 1, &dev->fence);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkResetFences");
  vk_profile_report(dev);
  return SLA2_OK;
}

sla2_status vk_cmd_begin(vk_device *dev) {
  VkResult res = dev->fn.vkResetCommandBuffer(dev->cmd, 0);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkResetCommandBuffer");
  VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  res = dev->fn.vkBeginCommandBuffer(dev->cmd, &begin);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkBeginCommandBuffer");
  /* Earlier submissions' shader and transfer writes become visible to this one. */
  VkMemoryBarrier barrier = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT};
  dev->fn.vkCmdPipelineBarrier(dev->cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1,
                               &barrier, 0, NULL, 0, NULL);
  vk_profile_cmd_begin(dev);
  return SLA2_OK;
}

sla2_status vk_cmd_submit(vk_device *dev, bool wait) {
  /* This submission's writes become visible to the host once its fence has signalled. */
  VkMemoryBarrier barrier = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
  dev->fn.vkCmdPipelineBarrier(dev->cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier,
                               0, NULL, 0, NULL);
  VkResult res = dev->fn.vkEndCommandBuffer(dev->cmd);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkEndCommandBuffer");
  VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &dev->cmd};
  res = dev->fn.vkQueueSubmit(dev->queue, 1, &submit, dev->fence);
  if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkQueueSubmit");
  dev->pending = true;
  return wait ? vk_device_wait(dev) : SLA2_OK;
}

sla2_status vk_descriptors_reset(vk_device *dev) {
  for (uint32_t i = 0; i < dev->descriptor_pool_count; i++) {
    VkResult res = dev->fn.vkResetDescriptorPool(dev->device, dev->descriptor_pools[i], 0);
    if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkResetDescriptorPool");
  }
  dev->descriptor_pool_used = 0;
  return SLA2_OK;
}

sla2_status vk_descriptor_set_alloc(vk_device *dev, VkDescriptorSet *out) {
  for (;;) {
    if (dev->descriptor_pool_used == dev->descriptor_pool_count) {
      VkDescriptorPool *grown = realloc(dev->descriptor_pools, (dev->descriptor_pool_count + 1) * sizeof *grown);
      if (!grown) return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "%s: out of host memory for descriptor pools", dev->name);
      dev->descriptor_pools = grown;
      VkDescriptorPoolSize size = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                   .descriptorCount = DESCRIPTOR_POOL_SETS * VK_BINDINGS};
      VkDescriptorPoolCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                         .maxSets = DESCRIPTOR_POOL_SETS,
                                         .poolSizeCount = 1,
                                         .pPoolSizes = &size};
      VkResult res = dev->fn.vkCreateDescriptorPool(dev->device, &info, NULL, &grown[dev->descriptor_pool_count]);
      if (res != VK_SUCCESS) return vk_fail(res, dev->name, "vkCreateDescriptorPool");
      dev->descriptor_pool_count++;
    }
    VkDescriptorSetAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                         .descriptorPool = dev->descriptor_pools[dev->descriptor_pool_used],
                                         .descriptorSetCount = 1,
                                         .pSetLayouts = &dev->set_layout};
    VkResult res = dev->fn.vkAllocateDescriptorSets(dev->device, &alloc, out);
    if (res == VK_SUCCESS) return SLA2_OK;
    if (res != VK_ERROR_OUT_OF_POOL_MEMORY && res != VK_ERROR_FRAGMENTED_POOL)
      return vk_fail(res, dev->name, "vkAllocateDescriptorSets");
    dev->descriptor_pool_used++; /* this pool is full: the next one */
  }
}
