/* Vulkan backend: which attention kernels a device runs (baseline or cooperative matrices), and
 * what its logical device must enable for them.
 *
 * The cooperative-matrix path (attention_coopmat.glsl) needs, besides its shaders having been
 * built (SLA2_VK_HAVE_COOPMAT_NV): VK_NV_cooperative_matrix with 16x16x16 f16 -> f32 and
 * 16x16x32 s8 -> s32 subgroup products, the cooperativeMatrix, shaderFloat16, shaderInt8 and
 * vulkanMemoryModel features, subgroups of 32 with basic and shuffle operations in compute, and
 * 48 KiB of shared memory. SLA2_VULKAN_PATH=baseline keeps every device on the baseline path.
 *
 * Where VK_NV_cooperative_matrix is absent (or SLA2_VULKAN_PATH=coopmat_khr), the same kernels
 * spelled for VK_KHR_cooperative_matrix (built when SLA2_VK_HAVE_COOPMAT_KHR) run on Vulkan 1.3
 * devices with that extension and 16x16x16 f16 -> f32 subgroup products, the same features and
 * shared memory, and subgroups of 32 by default or by Vulkan 1.3's subgroup size control. The
 * int8_fp8 sparse kernel also needs 16x16x32 s8 -> s32 (dev->coopmat_int8); without it that
 * node stays on the baseline kernel.
 *
 * On top of it, workgroup-scope cooperative matrices (attention_cm2_f16.comp, built when
 * SLA2_VK_HAVE_COOPMAT2) need Vulkan 1.3 (instance and device; SPIR-V 1.6 with maintenance4),
 * VK_KHR_cooperative_matrix and VK_NV_cooperative_matrix2 with workgroup scope, flexible
 * dimensions, reductions, conversions, per-element operations and tensor addressing, and
 * f16 x f16 -> f32 workgroup products. SLA2_VULKAN_PATH=coopmat_nv keeps them off. */
#ifndef SLA2_BACKENDS_VULKAN_PATH_H
#define SLA2_BACKENDS_VULKAN_PATH_H

#include "backends/vulkan/vk_internal.h"

/* Sets dev->coopmat_int8 and dev->subgroup_size_control for the path it returns. */
vk_path vk_path_select(vk_device *dev);
/* Whether the device (already on the cooperative-matrix path) runs the cooperative-matrix-2
 * kernels; fills dev->cm2_invocations and dev->cm2_granularity. */
bool vk_path_coopmat2_select(vk_device *dev);
const char *vk_path_name(vk_path path);

/* Extensions and feature structs for vkCreateDevice. */
typedef struct vk_path_device_setup {
  const char *extensions[3];
  uint32_t extension_count;
  VkPhysicalDeviceVulkan12Features features12;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat;
  VkPhysicalDeviceVulkan13Features features13;
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR coopmat_khr;
  VkPhysicalDeviceCooperativeMatrix2FeaturesNV coopmat2;
} vk_path_device_setup;
/* Fills setup for dev->path and returns the pNext chain for VkDeviceCreateInfo (NULL: none). */
const void *vk_path_device_setup_fill(const vk_device *dev, vk_path_device_setup *setup);

#endif
