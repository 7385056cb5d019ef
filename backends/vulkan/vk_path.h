/* Vulkan backend: which attention kernels a device runs (baseline or cooperative matrices), and
 * what its logical device must enable for them.
 *
 * The cooperative-matrix path (attention_coopmat.glsl) needs, besides its shaders having been
 * built (SLA2_VK_HAVE_COOPMAT_NV): VK_NV_cooperative_matrix with 16x16x16 f16 -> f32 and
 * 16x16x32 s8 -> s32 subgroup products, the cooperativeMatrix, shaderFloat16, shaderInt8 and
 * vulkanMemoryModel features, subgroups of 32 with basic and shuffle operations in compute, and
 * 48 KiB of shared memory. SLA2_VULKAN_PATH=baseline keeps every device on the baseline path. */
#ifndef SLA2_BACKENDS_VULKAN_PATH_H
#define SLA2_BACKENDS_VULKAN_PATH_H

#include "backends/vulkan/vk_internal.h"

vk_path vk_path_select(const vk_device *dev);
const char *vk_path_name(vk_path path);

/* Extensions and feature structs for vkCreateDevice. */
typedef struct vk_path_device_setup {
  const char *extensions[1];
  uint32_t extension_count;
  VkPhysicalDeviceVulkan12Features features12;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat;
} vk_path_device_setup;
/* Fills setup for dev->path and returns the pNext chain for VkDeviceCreateInfo (NULL: none). */
const void *vk_path_device_setup_fill(const vk_device *dev, vk_path_device_setup *setup);

#endif
