/* Vulkan backend: the embedded SPIR-V (one array per shader, generated at build time from
 * shaders/vulkan/<name>.comp) and compute pipelines, created on first use per device and per set
 * of specialization constants, then cached for the life of the process. */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_internal.h"
#include "core/error.h"

#define SLA2_VK_SHADER(name)                     \
  extern const uint32_t sla2_vk_spv_##name[];    \
  extern const size_t sla2_vk_spv_##name##_words;
#include "vk_shader_list.h"
#undef SLA2_VK_SHADER

typedef struct embedded_shader {
  const char *name;
  const uint32_t *words;
  const size_t *count;
} embedded_shader;

static const embedded_shader shaders[VK_SHADER_COUNT] = {
#define SLA2_VK_SHADER(name) {#name, sla2_vk_spv_##name, &sla2_vk_spv_##name##_words},
#include "vk_shader_list.h"
#undef SLA2_VK_SHADER
};

const char *vk_shader_name(vk_shader shader) {
  return (int)shader >= 0 && shader < VK_SHADER_COUNT ? shaders[shader].name : "?";
}

static sla2_status module_of(vk_device *dev, vk_shader shader, VkShaderModule *out) {
  if (!dev->modules[shader]) {
    VkShaderModuleCreateInfo info = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                     .codeSize = *shaders[shader].count * sizeof(uint32_t),
                                     .pCode = shaders[shader].words};
    VkResult res = dev->fn.vkCreateShaderModule(dev->device, &info, NULL, &dev->modules[shader]);
    if (res != VK_SUCCESS)
      return sla2_fail(SLA2_ERROR_COMPILE_FAILED, "%s: vkCreateShaderModule(%s) failed (%d)", dev->name, shaders[shader].name,
                       (int)res);
  }
  *out = dev->modules[shader];
  return SLA2_OK;
}

/* The KHR attention kernels assume subgroups of 32 (attention_coopmat.glsl); where the device's
 * default size differs, the pipeline requires it (vk_path.c checked that it can). */
static bool needs_subgroups_of_32(const vk_device *dev, vk_shader shader) {
#ifdef SLA2_VK_HAVE_COOPMAT_KHR
  return dev->subgroup_size_control &&
         (shader == VK_SHADER_attention_coopmat_khr_f16 || shader == VK_SHADER_attention_coopmat_khr_i8);
#else
  (void)dev, (void)shader;
  return false;
#endif
}

sla2_status vk_pipeline_get(vk_device *dev, vk_shader shader, const uint32_t *spec, uint32_t spec_count,
                            VkPipeline *out) {
  for (uint32_t i = 0; i < dev->pipeline_count; i++) {
    const vk_pipeline_entry *e = &dev->pipelines[i];
    if (e->shader == shader && e->spec_count == spec_count && memcmp(e->spec, spec, spec_count * sizeof *spec) == 0) {
      *out = e->pipeline;
      return SLA2_OK;
    }
  }
  if (spec_count > VK_SPEC_MAX)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: %u specialization constants for %s", dev->name, spec_count,
                     shaders[shader].name);
  VkShaderModule module = VK_NULL_HANDLE;
  sla2_status st = module_of(dev, shader, &module);
  if (st != SLA2_OK) return st;
  if (dev->pipeline_count == dev->pipeline_capacity) {
    uint32_t cap = dev->pipeline_capacity ? 2 * dev->pipeline_capacity : 32;
    vk_pipeline_entry *grown = realloc(dev->pipelines, cap * sizeof *grown);
    if (!grown) return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "%s: out of host memory for pipelines", dev->name);
    dev->pipelines = grown;
    dev->pipeline_capacity = cap;
  }
  VkSpecializationMapEntry entries[VK_SPEC_MAX];
  for (uint32_t i = 0; i < spec_count; i++)
    entries[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4u, .size = 4};
  VkSpecializationInfo spec_info = {.mapEntryCount = spec_count,
                                    .pMapEntries = entries,
                                    .dataSize = spec_count * sizeof(uint32_t),
                                    .pData = spec};
  VkPipelineShaderStageRequiredSubgroupSizeCreateInfo size32 = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO, .requiredSubgroupSize = 32};
  const bool sized = needs_subgroups_of_32(dev, shader);
  VkComputePipelineCreateInfo info = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .pNext = sized ? &size32 : NULL,
                .flags = sized ? VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT : 0u,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
                .pSpecializationInfo = spec_count ? &spec_info : NULL},
      .flags = vk_profile_pipeline_flags(dev),
      .layout = dev->pipeline_layout};
  vk_pipeline_entry *e = &dev->pipelines[dev->pipeline_count];
  VkResult res = dev->fn.vkCreateComputePipelines(dev->device, VK_NULL_HANDLE, 1, &info, NULL, &e->pipeline);
  if (res != VK_SUCCESS)
    return sla2_fail(SLA2_ERROR_COMPILE_FAILED, "%s: vkCreateComputePipelines(%s) failed (%d)", dev->name,
                     shaders[shader].name, (int)res);
  vk_profile_pipeline_created(dev, e->pipeline, shader, spec, spec_count);
  e->shader = shader;
  e->spec_count = spec_count;
  memcpy(e->spec, spec, spec_count * sizeof *spec);
  dev->pipeline_count++;
  *out = e->pipeline;
  return SLA2_OK;
}
