/* Vulkan backend: buffers and host transfers.
 *
 * Every buffer gets its own allocation of the device's preferred memory type (device local).
 * Where that type is also host visible and coherent (lavapipe, integrated GPUs) the buffer stays
 * mapped and transfers are memcpy; otherwise they go through a host-visible staging buffer and
 * vkCmdCopyBuffer, in pieces of at most STAGING_MAX bytes. Buffers are rounded up to 16 bytes so
 * shaders can read a tensor's last 16-bit element as part of a full 32-bit word. */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"
#include "core/error.h"

#define STAGING_MAX ((VkDeviceSize)64 << 20)

static bool find_type(const vk_device *dev, VkMemoryPropertyFlags want, uint32_t *out) {
  const VkPhysicalDeviceMemoryProperties *m = &dev->memory_props;
  for (uint32_t i = 0; i < m->memoryTypeCount; i++)
    if ((m->memoryTypes[i].propertyFlags & want) == want) {
      *out = i;
      return true;
    }
  return false;
}

sla2_status vk_memory_choose_types(vk_device *dev) {
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  if (!find_type(dev, host, &dev->staging_memory_type))
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: no host-visible coherent memory type", dev->name);
  /* Device-local and host-visible together: one copy fewer. Else plain device local. */
  if (!find_type(dev, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | host, &dev->device_memory_type) ||
      dev->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU) {
    /* On a discrete GPU the host-visible device-local window (BAR) is small and slow to read. */
    if (!find_type(dev, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &dev->device_memory_type))
      dev->device_memory_type = dev->staging_memory_type;
  }
  return SLA2_OK;
}

static bool type_is_host_visible(const vk_device *dev, uint32_t type) {
  VkMemoryPropertyFlags f = dev->memory_props.memoryTypes[type].propertyFlags;
  return (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
}

sla2_status vk_buffer_create(vk_device *dev, VkDeviceSize bytes, uint32_t memory_type, vk_buffer **out) {
  vk_buffer *b = calloc(1, sizeof *b);
  if (!b) return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "%s: out of host memory", dev->name);
  b->size = bytes;
  b->capacity = (bytes + 15) / 16 * 16;
  if (b->capacity == 0) b->capacity = 16;
  VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = b->capacity,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  VkResult res = dev->fn.vkCreateBuffer(dev->device, &info, NULL, &b->buffer);
  if (res != VK_SUCCESS) {
    free(b);
    return vk_fail(res, dev->name, "vkCreateBuffer");
  }
  VkMemoryRequirements req;
  dev->fn.vkGetBufferMemoryRequirements(dev->device, b->buffer, &req);
  if (!(req.memoryTypeBits & (1u << memory_type))) {
    vk_buffer_destroy(dev, b);
    return sla2_fail(SLA2_ERROR_DEVICE, "%s: memory type %u cannot back a storage buffer", dev->name, memory_type);
  }
  VkMemoryAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = memory_type};
  res = dev->fn.vkAllocateMemory(dev->device, &alloc, NULL, &b->memory);
  if (res != VK_SUCCESS) {
    vk_buffer_destroy(dev, b);
    return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes of device memory (%d)", dev->name,
                     (unsigned long long)req.size, (int)res);
  }
  res = dev->fn.vkBindBufferMemory(dev->device, b->buffer, b->memory, 0);
  if (res == VK_SUCCESS && type_is_host_visible(dev, memory_type))
    res = dev->fn.vkMapMemory(dev->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
  if (res != VK_SUCCESS) {
    vk_buffer_destroy(dev, b);
    return vk_fail(res, dev->name, "binding or mapping buffer memory");
  }
  *out = b;
  return SLA2_OK;
}

void vk_buffer_destroy(vk_device *dev, vk_buffer *b) {
  if (!b) return;
  if (b->mapped) dev->fn.vkUnmapMemory(dev->device, b->memory);
  if (b->buffer) dev->fn.vkDestroyBuffer(dev->device, b->buffer, NULL);
  if (b->memory) dev->fn.vkFreeMemory(dev->device, b->memory, NULL);
  free(b);
}

static sla2_status ensure_staging(vk_device *dev, VkDeviceSize bytes) {
  if (dev->staging && dev->staging->capacity >= bytes) return SLA2_OK;
  vk_buffer_destroy(dev, dev->staging);
  dev->staging = NULL;
  return vk_buffer_create(dev, bytes, dev->staging_memory_type, &dev->staging);
}

static sla2_status copy_buffer(vk_device *dev, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
                               VkDeviceSize bytes) {
  sla2_status st = vk_cmd_begin(dev);
  if (st != SLA2_OK) return st;
  VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = bytes};
  dev->fn.vkCmdCopyBuffer(dev->cmd, src, dst, 1, &region);
  return vk_cmd_submit(dev, true);
}

sla2_status vk_buffer_upload(vk_device *dev, vk_buffer *dst, size_t offset, const void *src, size_t bytes) {
  sla2_status st = vk_device_wait(dev);
  if (st != SLA2_OK) return st;
  if (dst->mapped) {
    memcpy((char *)dst->mapped + offset, src, bytes);
    return SLA2_OK;
  }
  for (size_t done = 0; done < bytes;) {
    VkDeviceSize piece = bytes - done < STAGING_MAX ? bytes - done : STAGING_MAX;
    if ((st = ensure_staging(dev, piece)) != SLA2_OK) return st;
    memcpy(dev->staging->mapped, (const char *)src + done, piece);
    if ((st = copy_buffer(dev, dev->staging->buffer, 0, dst->buffer, offset + done, piece)) != SLA2_OK) return st;
    done += piece;
  }
  return SLA2_OK;
}

sla2_status vk_buffer_download(vk_device *dev, const vk_buffer *src, size_t offset, void *dst, size_t bytes) {
  sla2_status st = vk_device_wait(dev);
  if (st != SLA2_OK) return st;
  if (src->mapped) {
    memcpy(dst, (const char *)src->mapped + offset, bytes);
    return SLA2_OK;
  }
  for (size_t done = 0; done < bytes;) {
    VkDeviceSize piece = bytes - done < STAGING_MAX ? bytes - done : STAGING_MAX;
    if ((st = ensure_staging(dev, piece)) != SLA2_OK) return st;
    if ((st = copy_buffer(dev, src->buffer, offset + done, dev->staging->buffer, 0, piece)) != SLA2_OK) return st;
    memcpy((char *)dst + done, dev->staging->mapped, piece);
    done += piece;
  }
  return SLA2_OK;
}
