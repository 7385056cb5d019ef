/* Vulkan backend: the Vulkan loader opened at run time and its entry points in tables.
 *
 * The library never links libvulkan: vk_loader_open() dlopens "libvulkan.so.1" and resolves
 * vkGetInstanceProcAddr; the instance-level and device-level functions are then fetched through
 * it (and vkGetDeviceProcAddr) into vk_instance_fns / vk_device_fns. Where the loader is absent
 * only this backend is UNAVAILABLE. */
#ifndef SLA2_BACKENDS_VULKAN_LOADER_H
#define SLA2_BACKENDS_VULKAN_LOADER_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "backends/vulkan/vk_coopmat2_defs.h"

#include <stdbool.h>
#include <stddef.h>

/* Functions callable without an instance. */
#define VK_GLOBAL_FNS(X)                     \
  X(vkCreateInstance)                        \
  X(vkEnumerateInstanceExtensionProperties)

/* Instance-level functions; the optional ones may be NULL. */
#define VK_INSTANCE_FNS(X)                   \
  X(vkDestroyInstance)                       \
  X(vkEnumeratePhysicalDevices)              \
  X(vkGetPhysicalDeviceProperties)           \
  X(vkGetPhysicalDeviceProperties2)          \
  X(vkGetPhysicalDeviceFeatures2)            \
  X(vkGetPhysicalDeviceMemoryProperties)     \
  X(vkGetPhysicalDeviceQueueFamilyProperties)\
  X(vkEnumerateDeviceExtensionProperties)    \
  X(vkCreateDevice)                          \
  X(vkGetDeviceProcAddr)
#define VK_INSTANCE_OPTIONAL_FNS(X)          \
  X(vkGetPhysicalDeviceCooperativeMatrixPropertiesNV) \
  X(vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR) \
  X(vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV)

#define VK_DEVICE_FNS(X)                     \
  X(vkDestroyDevice)                         \
  X(vkGetDeviceQueue)                        \
  X(vkCreateBuffer)                          \
  X(vkDestroyBuffer)                         \
  X(vkGetBufferMemoryRequirements)           \
  X(vkAllocateMemory)                        \
  X(vkFreeMemory)                            \
  X(vkBindBufferMemory)                      \
  X(vkMapMemory)                             \
  X(vkUnmapMemory)                           \
  X(vkCreateShaderModule)                    \
  X(vkDestroyShaderModule)                   \
  X(vkCreateDescriptorSetLayout)             \
  X(vkDestroyDescriptorSetLayout)            \
  X(vkCreatePipelineLayout)                  \
  X(vkDestroyPipelineLayout)                 \
  X(vkCreateComputePipelines)                \
  X(vkDestroyPipeline)                       \
  X(vkCreateDescriptorPool)                  \
  X(vkDestroyDescriptorPool)                 \
  X(vkResetDescriptorPool)                   \
  X(vkAllocateDescriptorSets)                \
  X(vkUpdateDescriptorSets)                  \
  X(vkCreateCommandPool)                     \
  X(vkDestroyCommandPool)                    \
  X(vkAllocateCommandBuffers)                \
  X(vkResetCommandBuffer)                    \
  X(vkBeginCommandBuffer)                    \
  X(vkEndCommandBuffer)                      \
  X(vkCmdBindPipeline)                       \
  X(vkCmdBindDescriptorSets)                 \
  X(vkCmdPushConstants)                      \
  X(vkCmdDispatch)                           \
  X(vkCmdPipelineBarrier)                    \
  X(vkCmdCopyBuffer)                         \
  X(vkCreateFence)                           \
  X(vkDestroyFence)                          \
  X(vkResetFences)                           \
  X(vkWaitForFences)                         \
  X(vkQueueSubmit)                           \
  X(vkCreateQueryPool)                       \
  X(vkDestroyQueryPool)                      \
  X(vkCmdResetQueryPool)                     \
  X(vkCmdWriteTimestamp)                     \
  X(vkGetQueryPoolResults)

#define VK_DECLARE_FN(name) PFN_##name name;

typedef struct vk_instance_fns {
  VK_INSTANCE_FNS(VK_DECLARE_FN)
  VK_INSTANCE_OPTIONAL_FNS(VK_DECLARE_FN)
} vk_instance_fns;

typedef struct vk_device_fns {
  VK_DEVICE_FNS(VK_DECLARE_FN)
} vk_device_fns;

typedef struct vk_global_fns {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
  PFN_vkEnumerateInstanceVersion vkEnumerateInstanceVersion; /* NULL on a Vulkan 1.0 loader */
  VK_GLOBAL_FNS(VK_DECLARE_FN)
} vk_global_fns;

/* Opens the loader and fills `out`. false with a one-line reason when it cannot. */
bool vk_loader_open(vk_global_fns *out, char *reason, size_t reason_capacity);
/* Instance-level table; false (naming the missing function in reason) when a required one is absent. */
bool vk_loader_instance(const vk_global_fns *g, VkInstance instance, vk_instance_fns *out, char *reason,
                        size_t reason_capacity);
bool vk_loader_device(const vk_instance_fns *inst, VkDevice device, vk_device_fns *out, char *reason,
                      size_t reason_capacity);

#endif
