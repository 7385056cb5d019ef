/* Vulkan backend: dlopen of the Vulkan loader and the entry-point tables (vk_loader.h). */
#include "backends/vulkan/vk_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The loader's SONAME on Linux; a development symlink (libvulkan.so) is not needed. */
static const char *const loader_names[] = {"libvulkan.so.1", "libvulkan.so"};

bool vk_loader_open(vk_global_fns *out, char *reason, size_t reason_capacity) {
  static void *handle; /* kept for the life of the process: devices live until exit */
  memset(out, 0, sizeof *out);
  if (!handle)
    for (size_t i = 0; i < sizeof loader_names / sizeof loader_names[0] && !handle; i++)
      handle = dlopen(loader_names[i], RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    snprintf(reason, reason_capacity, "the Vulkan loader libvulkan.so.1 is not installed (Debian: libvulkan1)");
    return false;
  }
  void *sym = dlsym(handle, "vkGetInstanceProcAddr");
  if (!sym) {
    snprintf(reason, reason_capacity, "libvulkan.so.1 has no vkGetInstanceProcAddr");
    return false;
  }
  memcpy(&out->vkGetInstanceProcAddr, &sym, sizeof sym); /* object -> function pointer, POSIX */
  out->vkEnumerateInstanceVersion =
      (PFN_vkEnumerateInstanceVersion)out->vkGetInstanceProcAddr(NULL, "vkEnumerateInstanceVersion");
#define VK_LOAD_GLOBAL(name)                                                      \
  out->name = (PFN_##name)out->vkGetInstanceProcAddr(NULL, #name);                \
  if (!out->name) {                                                               \
    snprintf(reason, reason_capacity, "the Vulkan loader does not export %s", #name); \
    return false;                                                                 \
  }
  VK_GLOBAL_FNS(VK_LOAD_GLOBAL)
#undef VK_LOAD_GLOBAL
  return true;
}

bool vk_loader_instance(const vk_global_fns *g, VkInstance instance, vk_instance_fns *out, char *reason,
                        size_t reason_capacity) {
  memset(out, 0, sizeof *out);
#define VK_LOAD_INSTANCE(name)                                                    \
  out->name = (PFN_##name)g->vkGetInstanceProcAddr(instance, #name);              \
  if (!out->name) {                                                               \
    snprintf(reason, reason_capacity, "the Vulkan instance has no %s", #name);    \
    return false;                                                                 \
  }
  VK_INSTANCE_FNS(VK_LOAD_INSTANCE)
#undef VK_LOAD_INSTANCE
#define VK_LOAD_OPTIONAL(name) out->name = (PFN_##name)g->vkGetInstanceProcAddr(instance, #name);
  VK_INSTANCE_OPTIONAL_FNS(VK_LOAD_OPTIONAL)
#undef VK_LOAD_OPTIONAL
  return true;
}

bool vk_loader_device(const vk_instance_fns *inst, VkDevice device, vk_device_fns *out, char *reason,
                      size_t reason_capacity) {
  memset(out, 0, sizeof *out);
#define VK_LOAD_DEVICE(name)                                                      \
  out->name = (PFN_##name)inst->vkGetDeviceProcAddr(device, #name);               \
  if (!out->name) {                                                               \
    snprintf(reason, reason_capacity, "the Vulkan device has no %s", #name);      \
    return false;                                                                 \
  }
  VK_DEVICE_FNS(VK_LOAD_DEVICE)
#undef VK_LOAD_DEVICE
  return true;
}
