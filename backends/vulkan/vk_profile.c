/* Vulkan backend: SLA2_VULKAN_PROFILE=1, a developer's view of where the GPU time of a run goes.
 *
 * The layer's stage timing synchronizes per node on the host, so a node of several dispatches
 * (route: three) shows as one figure that includes submission latency. With the variable set,
 * every dispatch of a submission is bracketed by GPU timestamps and, once the submission's fence
 * has signalled, one line per dispatch goes to stderr: shader, workgroups, microseconds. Where
 * the driver offers VK_KHR_pipeline_executable_properties, each new pipeline also prints the
 * driver's statistics (register count, local memory, ...): what occupancy and spills come from.
 * Off (the default), nothing here is created or recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"

bool vk_profile_on(void) {
  static int on = -1;
  if (on < 0) {
    const char *v = getenv("SLA2_VULKAN_PROFILE");
    on = v && v[0] && strcmp(v, "0") != 0;
  }
  return on != 0;
}

const char *vk_profile_device_extension(const vk_device *dev, VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR *f) {
  if (!vk_profile_on()) return NULL;
  const vk_context *c = vk_ctx();
  uint32_t n = 0;
  if (c->fn.vkEnumerateDeviceExtensionProperties(dev->phys, NULL, &n, NULL) != VK_SUCCESS || n == 0) return NULL;
  VkExtensionProperties *ext = calloc(n, sizeof *ext);
  bool found = false;
  if (ext && c->fn.vkEnumerateDeviceExtensionProperties(dev->phys, NULL, &n, ext) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++)
      found = strcmp(ext[i].extensionName, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME) == 0;
  free(ext);
  if (!found) return NULL;
  memset(f, 0, sizeof *f);
  f->sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR;
  f->pipelineExecutableInfo = VK_TRUE;
  return VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
}

void vk_profile_device_created(vk_device *dev) {
  if (!vk_profile_on()) return;
  if (dev->coopmat2)
    fprintf(stderr, "sla2 vk-profile %s: cooperative matrix 2: workgroup sizes 32 << {bits of 0x%x}, f16 granularity M %u N %u K %u\n",
            dev->name, dev->cm2_invocations, dev->cm2_granularity[0], dev->cm2_granularity[1], dev->cm2_granularity[2]);
  VkQueryPoolCreateInfo info = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = 2 * VK_PROFILE_MAX};
  if (dev->fn.vkCreateQueryPool(dev->device, &info, NULL, &dev->profile_pool) != VK_SUCCESS)
    dev->profile_pool = VK_NULL_HANDLE;
}

void vk_profile_cmd_begin(vk_device *dev) {
  dev->profile_count = 0;
  if (dev->profile_pool) dev->fn.vkCmdResetQueryPool(dev->cmd, dev->profile_pool, 0, 2 * VK_PROFILE_MAX);
}

void vk_profile_mark(vk_device *dev, const vk_dispatch_desc *d, bool after) {
  if (!dev->profile_pool || dev->profile_count >= VK_PROFILE_MAX) return;
  uint32_t i = dev->profile_count;
  /* Bottom of pipe: the earlier dispatches (before) or this one (after) have completed. */
  dev->fn.vkCmdWriteTimestamp(dev->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, dev->profile_pool, 2 * i + after);
  if (!after) {
    dev->profile[i].shader = d->shader;
    memcpy(dev->profile[i].groups, d->groups, sizeof d->groups);
  } else {
    dev->profile_count++;
  }
}

void vk_profile_report(vk_device *dev) {
  uint32_t n = dev->profile_count;
  dev->profile_count = 0;
  if (!dev->profile_pool || n == 0) return;
  uint64_t ticks[2 * VK_PROFILE_MAX];
  if (dev->fn.vkGetQueryPoolResults(dev->device, dev->profile_pool, 0, 2 * n, sizeof ticks, ticks, sizeof(uint64_t),
                                    VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
    return;
  double ns = dev->props.limits.timestampPeriod, total = 0.0;
  for (uint32_t i = 0; i < n; i++) {
    double us = (double)(ticks[2 * i + 1] - ticks[2 * i]) * ns * 1e-3;
    total += us;
    fprintf(stderr, "sla2 vk-profile %s: %-22s %6ux%ux%u %9.1f us\n", dev->name, vk_shader_name(dev->profile[i].shader),
            dev->profile[i].groups[0], dev->profile[i].groups[1], dev->profile[i].groups[2], us);
  }
  if (n > 1) fprintf(stderr, "sla2 vk-profile %s: %u dispatches %9.1f us\n", dev->name, n, total);
}

VkPipelineCreateFlags vk_profile_pipeline_flags(const vk_device *dev) {
  return dev->profile_stats ? VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR : 0;
}

void vk_profile_pipeline_created(vk_device *dev, VkPipeline pipeline, vk_shader shader, const uint32_t *spec,
                                 uint32_t spec_count) {
  if (!dev->profile_stats) return;
  const vk_context *c = vk_ctx();
  PFN_vkGetPipelineExecutablePropertiesKHR props_fn =
      (PFN_vkGetPipelineExecutablePropertiesKHR)c->fn.vkGetDeviceProcAddr(dev->device, "vkGetPipelineExecutablePropertiesKHR");
  PFN_vkGetPipelineExecutableStatisticsKHR stats_fn =
      (PFN_vkGetPipelineExecutableStatisticsKHR)c->fn.vkGetDeviceProcAddr(dev->device, "vkGetPipelineExecutableStatisticsKHR");
  if (!props_fn || !stats_fn) return;
  VkPipelineInfoKHR pinfo = {.sType = VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR, .pipeline = pipeline};
  uint32_t nexec = 0;
  if (props_fn(dev->device, &pinfo, &nexec, NULL) != VK_SUCCESS || nexec == 0) return;
  char specs[96] = "";
  for (uint32_t i = 0, at = 0; i < spec_count && at + 12 < sizeof specs; i++)
    at += (uint32_t)snprintf(specs + at, sizeof specs - at, "%s%u", i ? "," : "", spec[i]);
  for (uint32_t e = 0; e < nexec; e++) {
    VkPipelineExecutableInfoKHR einfo = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR,
                                         .pipeline = pipeline,
                                         .executableIndex = e};
    VkPipelineExecutableStatisticKHR st[32];
    uint32_t ns = 32;
    for (uint32_t i = 0; i < ns; i++) st[i] = (VkPipelineExecutableStatisticKHR){.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR};
    VkResult res = stats_fn(dev->device, &einfo, &ns, st);
    if (res != VK_SUCCESS && res != VK_INCOMPLETE) continue;
    fprintf(stderr, "sla2 vk-profile %s: pipeline %s [%s]:", dev->name, vk_shader_name(shader), specs);
    for (uint32_t i = 0; i < ns; i++) {
      fprintf(stderr, " %s=", st[i].name);
      switch (st[i].format) {
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: fprintf(stderr, "%u", st[i].value.b32); break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: fprintf(stderr, "%lld", (long long)st[i].value.i64); break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: fprintf(stderr, "%llu", (unsigned long long)st[i].value.u64); break;
      default: fprintf(stderr, "%g", st[i].value.f64); break;
      }
    }
    fprintf(stderr, "\n");
  }
}
