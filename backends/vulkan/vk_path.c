/* Vulkan backend: choosing the attention path of a device (vk_path.h). */
#include "backends/vulkan/vk_path.h"

#include <stdlib.h>
#include <string.h>

#define COOPMAT_SHARED_BYTES 49152u

const char *vk_path_name(vk_path path) {
  return path == VK_PATH_COOPMAT_NV ? "coopmat_nv" : path == VK_PATH_COOPMAT_KHR ? "coopmat_khr" : "baseline";
}

#if defined(SLA2_VK_HAVE_COOPMAT_NV) || defined(SLA2_VK_HAVE_COOPMAT_KHR)
static bool has_device_extension(VkPhysicalDevice phys, const char *name) {
  const vk_context *c = vk_ctx();
  uint32_t n = 0;
  if (c->fn.vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL) != VK_SUCCESS || n == 0) return false;
  VkExtensionProperties *ext = calloc(n, sizeof *ext);
  bool found = false;
  if (ext && c->fn.vkEnumerateDeviceExtensionProperties(phys, NULL, &n, ext) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = strcmp(ext[i].extensionName, name) == 0;
  free(ext);
  return found;
}

/* What both subgroup-scope kernels need besides their extension (whose feature struct `chain`
 * is, queried through the Vulkan 1.2 features): 48 KiB of shared memory, shaderFloat16,
 * shaderInt8 and vulkanMemoryModel, and subgroups of 32 with basic and shuffle operations in
 * compute. *size_control (may be NULL: then the default size must be 32): the size is 32 because
 * each pipeline requires it (Vulkan 1.3 subgroupSizeControl with full subgroups). */
static bool subgroup_kernels_usable(const vk_device *dev, void *chain, bool *size_control) {
  const vk_context *c = vk_ctx();
  if (dev->props.limits.maxComputeSharedMemorySize < COOPMAT_SHARED_BYTES) return false;
  const bool v13 = c->api_version >= VK_API_VERSION_1_3 && dev->props.apiVersion >= VK_API_VERSION_1_3;
  VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .pNext = chain};
  VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                          .pNext = v13 ? (void *)&f13 : chain};
  VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12};
  c->fn.vkGetPhysicalDeviceFeatures2(dev->phys, &f);
  if (!f12.shaderFloat16 || !f12.shaderInt8 || !f12.vulkanMemoryModel) return false;
  VkPhysicalDeviceVulkan13Properties p13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                            .pNext = v13 ? &p13 : NULL};
  VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub};
  c->fn.vkGetPhysicalDeviceProperties2(dev->phys, &props);
  const VkSubgroupFeatureFlags ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
  if (!(sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) || (sub.supportedOperations & ops) != ops) return false;
  const bool control = v13 && f13.subgroupSizeControl && f13.computeFullSubgroups && p13.minSubgroupSize <= 32 &&
                       p13.maxSubgroupSize >= 32 && (p13.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT);
  if (size_control) *size_control = control;
  return sub.subgroupSize == 32 || (size_control && control);
}
#endif

#ifdef SLA2_VK_HAVE_COOPMAT_NV

/* The subgroup-scope product (M, N, K) with these component types is offered. */
static bool has_product(const VkCooperativeMatrixPropertiesNV *p, uint32_t n, uint32_t M, uint32_t N, uint32_t K,
                        VkComponentTypeNV ab, VkComponentTypeNV cd) {
  for (uint32_t i = 0; i < n; i++)
    if (p[i].MSize == M && p[i].NSize == N && p[i].KSize == K && p[i].AType == ab && p[i].BType == ab &&
        p[i].CType == cd && p[i].DType == cd && p[i].scope == VK_SCOPE_SUBGROUP_NV)
      return true;
  return false;
}

static bool coopmat_usable(const vk_device *dev) {
  const vk_context *c = vk_ctx();
  if (!c->fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV ||
      !has_device_extension(dev->phys, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME))
    return false;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV cm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  if (!subgroup_kernels_usable(dev, &cm, NULL) || !cm.cooperativeMatrix) return false;
  uint32_t n = 0;
  if (c->fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(dev->phys, &n, NULL) != VK_SUCCESS || n == 0) return false;
  VkCooperativeMatrixPropertiesNV *p = calloc(n, sizeof *p);
  if (!p) return false;
  for (uint32_t i = 0; i < n; i++) p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
  bool ok = c->fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(dev->phys, &n, p) == VK_SUCCESS &&
            has_product(p, n, 16, 16, 16, VK_COMPONENT_TYPE_FLOAT16_NV, VK_COMPONENT_TYPE_FLOAT32_NV) &&
            has_product(p, n, 16, 16, 32, VK_COMPONENT_TYPE_SINT8_NV, VK_COMPONENT_TYPE_SINT32_NV);
  free(p);
  return ok;
}
#endif

#ifdef SLA2_VK_HAVE_COOPMAT2
/* Fills dev->cm2_invocations / cm2_granularity from the f16 x f16 -> f32 workgroup products. */
static bool coopmat2_products(vk_device *dev) {
  const vk_context *c = vk_ctx();
  uint32_t n = 0;
  if (!c->fn.vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV ||
      c->fn.vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV(dev->phys, &n, NULL) != VK_SUCCESS || n == 0)
    return false;
  VkCooperativeMatrixFlexibleDimensionsPropertiesNV *p = calloc(n, sizeof *p);
  if (!p) return false;
  for (uint32_t i = 0; i < n; i++) p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_FLEXIBLE_DIMENSIONS_PROPERTIES_NV;
  dev->cm2_invocations = 0;
  if (c->fn.vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV(dev->phys, &n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n; i++) {
      const VkCooperativeMatrixFlexibleDimensionsPropertiesNV *e = &p[i];
      if (e->scope != VK_SCOPE_WORKGROUP_NV || e->AType != VK_COMPONENT_TYPE_FLOAT16_NV ||
          e->BType != VK_COMPONENT_TYPE_FLOAT16_NV || e->CType != VK_COMPONENT_TYPE_FLOAT32_NV ||
          e->ResultType != VK_COMPONENT_TYPE_FLOAT32_NV || e->saturatingAccumulation)
        continue;
      for (uint32_t bit = 0; bit < 6; bit++)
        if (e->workgroupInvocations == 32u << bit) dev->cm2_invocations |= 1u << bit;
      const uint32_t g[3] = {e->MGranularity, e->NGranularity, e->KGranularity};
      for (int k = 0; k < 3; k++)
        if (g[k] > dev->cm2_granularity[k]) dev->cm2_granularity[k] = g[k];
    }
  free(p);
  return dev->cm2_invocations != 0;
}
#endif

bool vk_path_coopmat2_select(vk_device *dev) {
#ifdef SLA2_VK_HAVE_COOPMAT2
  const char *forced = getenv("SLA2_VULKAN_PATH");
  if (dev->path != VK_PATH_COOPMAT_NV || (forced && strcmp(forced, "coopmat_nv") == 0)) return false;
  if (vk_ctx()->api_version < VK_API_VERSION_1_3 || dev->props.apiVersion < VK_API_VERSION_1_3 ||
      !has_device_extension(dev->phys, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME) ||
      !has_device_extension(dev->phys, VK_NV_COOPERATIVE_MATRIX_2_EXTENSION_NAME))
    return false;
  VkPhysicalDeviceCooperativeMatrix2FeaturesNV cm2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_2_FEATURES_NV};
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR khr = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
                                                      .pNext = &cm2};
  VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .pNext = &khr};
  VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f13};
  vk_ctx()->fn.vkGetPhysicalDeviceFeatures2(dev->phys, &f);
  if (!f13.maintenance4 || !khr.cooperativeMatrix || !cm2.cooperativeMatrixWorkgroupScope ||
      !cm2.cooperativeMatrixFlexibleDimensions || !cm2.cooperativeMatrixReductions ||
      !cm2.cooperativeMatrixConversions || !cm2.cooperativeMatrixPerElementOperations ||
      !cm2.cooperativeMatrixTensorAddressing)
    return false;
  return coopmat2_products(dev);
#else
  (void)dev;
  return false;
#endif
}

#ifdef SLA2_VK_HAVE_COOPMAT_KHR
/* The subgroup-scope product (M, N, K) with these component types is offered (KHR). */
static bool has_khr_product(const VkCooperativeMatrixPropertiesKHR *p, uint32_t n, uint32_t M, uint32_t N,
                            uint32_t K, VkComponentTypeKHR ab, VkComponentTypeKHR cd) {
  for (uint32_t i = 0; i < n; i++)
    if (p[i].MSize == M && p[i].NSize == N && p[i].KSize == K && p[i].AType == ab && p[i].BType == ab &&
        p[i].CType == cd && p[i].ResultType == cd && p[i].scope == VK_SCOPE_SUBGROUP_NV && !p[i].saturatingAccumulation)
      return true;
  return false;
}

/* VK_KHR_cooperative_matrix (Vulkan 1.3) with 16 x 16 x 16 f16 -> f32 subgroup products; sets
 * dev->coopmat_int8 where 16 x 16 x 32 s8 -> s32 is offered too, and dev->subgroup_size_control. */
static bool khr_usable(vk_device *dev) {
  const vk_context *c = vk_ctx();
  if (c->api_version < VK_API_VERSION_1_3 || dev->props.apiVersion < VK_API_VERSION_1_3 ||
      !c->fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR ||
      !has_device_extension(dev->phys, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME))
    return false;
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR cm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  if (!subgroup_kernels_usable(dev, &cm, &dev->subgroup_size_control) || !cm.cooperativeMatrix) return false;
  uint32_t n = 0;
  if (c->fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR(dev->phys, &n, NULL) != VK_SUCCESS || n == 0) return false;
  VkCooperativeMatrixPropertiesKHR *p = calloc(n, sizeof *p);
  if (!p) return false;
  for (uint32_t i = 0; i < n; i++) p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR;
  bool ok = c->fn.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR(dev->phys, &n, p) == VK_SUCCESS &&
            has_khr_product(p, n, 16, 16, 16, VK_COMPONENT_TYPE_FLOAT16_NV, VK_COMPONENT_TYPE_FLOAT32_NV);
  dev->coopmat_int8 = ok && has_khr_product(p, n, 16, 16, 32, VK_COMPONENT_TYPE_SINT8_NV, VK_COMPONENT_TYPE_SINT32_NV);
  free(p);
  return ok;
}
#endif

vk_path vk_path_select(vk_device *dev) {
  const char *forced = getenv("SLA2_VULKAN_PATH");
  dev->coopmat_int8 = false, dev->subgroup_size_control = false;
  if (forced && strcmp(forced, "baseline") == 0) return VK_PATH_BASELINE;
  const bool khr_only = forced && strcmp(forced, "coopmat_khr") == 0;
#ifdef SLA2_VK_HAVE_COOPMAT_NV
  if (!khr_only && coopmat_usable(dev)) {
    dev->coopmat_int8 = true;
    return VK_PATH_COOPMAT_NV;
  }
#endif
#ifdef SLA2_VK_HAVE_COOPMAT_KHR
  if (khr_usable(dev)) return VK_PATH_COOPMAT_KHR;
#endif
  (void)dev, (void)khr_only;
  return VK_PATH_BASELINE;
}

/* VK_KHR_cooperative_matrix with Vulkan 1.3's subgroup size control where it is used. */
static const void *khr_setup_fill(const vk_device *dev, vk_path_device_setup *setup) {
  setup->extensions[setup->extension_count++] = VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME;
  setup->coopmat_khr.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR;
  setup->coopmat_khr.cooperativeMatrix = VK_TRUE;
  setup->features13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
  setup->features13.pNext = &setup->coopmat_khr;
  setup->features13.subgroupSizeControl = dev->subgroup_size_control;
  setup->features13.computeFullSubgroups = dev->subgroup_size_control;
  setup->features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  setup->features12.pNext = &setup->features13;
  setup->features12.shaderFloat16 = VK_TRUE;
  setup->features12.shaderInt8 = VK_TRUE;
  setup->features12.vulkanMemoryModel = VK_TRUE;
  return &setup->features12;
}

const void *vk_path_device_setup_fill(const vk_device *dev, vk_path_device_setup *setup) {
  memset(setup, 0, sizeof *setup);
  if (dev->path == VK_PATH_COOPMAT_KHR) return khr_setup_fill(dev, setup);
  if (dev->path != VK_PATH_COOPMAT_NV) return NULL;
  setup->extensions[0] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
  setup->extension_count = 1;
  setup->coopmat.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV;
  setup->coopmat.cooperativeMatrix = VK_TRUE;
  setup->features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  setup->features12.pNext = &setup->coopmat;
  setup->features12.shaderFloat16 = VK_TRUE;
  setup->features12.shaderInt8 = VK_TRUE;
  setup->features12.vulkanMemoryModel = VK_TRUE;
  if (dev->coopmat2) {
    setup->extensions[setup->extension_count++] = VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME;
    setup->extensions[setup->extension_count++] = VK_NV_COOPERATIVE_MATRIX_2_EXTENSION_NAME;
    setup->coopmat2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_2_FEATURES_NV;
    setup->coopmat2.cooperativeMatrixWorkgroupScope = VK_TRUE;
    setup->coopmat2.cooperativeMatrixFlexibleDimensions = VK_TRUE;
    setup->coopmat2.cooperativeMatrixReductions = VK_TRUE;
    setup->coopmat2.cooperativeMatrixConversions = VK_TRUE;
    setup->coopmat2.cooperativeMatrixPerElementOperations = VK_TRUE;
    setup->coopmat2.cooperativeMatrixTensorAddressing = VK_TRUE;
    setup->coopmat_khr.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR;
    setup->coopmat_khr.pNext = &setup->coopmat2;
    setup->coopmat_khr.cooperativeMatrix = VK_TRUE;
    setup->features13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
    setup->features13.pNext = &setup->coopmat_khr;
    setup->features13.maintenance4 = VK_TRUE;
    setup->coopmat.pNext = &setup->features13;
  }
  return &setup->features12;
}
