/* Vulkan backend: registration, instance and device enumeration, and the device interface.
 *
 * init() opens the loader (vk_loader.c), creates a Vulkan 1.2 instance and lists the physical
 * devices that offer Vulkan 1.2 and a compute queue, de-duplicated by deviceUUID (a GPU seen
 * through two ICDs is listed once). Names: vulkan0, vulkan1, ... in the loader's order. Software
 * devices (lavapipe: VK_PHYSICAL_DEVICE_TYPE_CPU) are typed SLA2_DEVICE_CPU with
 * SLA2_CAP_SOFTWARE, so sla2_device_best() never picks them.
 *
 * Environment: SLA2_VULKAN_PATH=baseline forces the baseline kernels on every device (see
 * vk_path.c for the cooperative-matrix path and its requirements). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/vk_attention.h"
#include "backends/vulkan/vk_internal.h"
#include "backends/vulkan/vk_path.h"
#include "core/backend.h"
#include "core/error.h"

#define VK_MAX_DEVICES 16

static vk_context context;
static vk_device devices[VK_MAX_DEVICES];
static sla2_backend_device backend_devices[VK_MAX_DEVICES];

const vk_context *vk_ctx(void) { return &context; }

static const char *result_name(VkResult r) {
  switch (r) {
  case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
  case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
  case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
  case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
  case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
  case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
  case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
  case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
  case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
  case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
  case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
  case VK_TIMEOUT: return "VK_TIMEOUT";
  default: return "VkResult error";
  }
}

sla2_status vk_fail(VkResult result, const char *device, const char *what) {
  sla2_status st = SLA2_ERROR_DEVICE;
  if (result == VK_ERROR_OUT_OF_HOST_MEMORY || result == VK_ERROR_OUT_OF_DEVICE_MEMORY) st = SLA2_ERROR_OUT_OF_MEMORY;
  return sla2_fail(st, "%s: %s failed: %s (%d)", device, what, result_name(result), (int)result);
}

/* --- device interface ------------------------------------------------------------------------ */

static sla2_status vk_buffer_alloc_iface(void *ctx, size_t bytes, void **out_buffer) {
  vk_device *dev = ctx;
  if (!out_buffer) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s buffer_alloc: out_buffer is NULL", dev->name);
  pthread_mutex_lock(&dev->lock);
  sla2_status st = vk_device_ready(dev);
  vk_buffer *buf = NULL;
  if (st == SLA2_OK) st = vk_buffer_create(dev, bytes, dev->device_memory_type, &buf);
  pthread_mutex_unlock(&dev->lock);
  if (st == SLA2_OK) *out_buffer = buf;
  return st;
}

static void vk_buffer_free_iface(void *ctx, void *buffer) {
  vk_device *dev = ctx;
  if (!buffer) return;
  pthread_mutex_lock(&dev->lock);
  vk_device_wait(dev); /* the buffer may still be read by the submission in flight */
  vk_buffer_destroy(dev, buffer);
  pthread_mutex_unlock(&dev->lock);
}

static sla2_status check_range(const vk_device *dev, const char *fn, const vk_buffer *buf, size_t offset,
                               size_t bytes, const void *host) {
  if (!buf || !host) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s %s: NULL buffer or host pointer", dev->name, fn);
  if (offset > buf->size || bytes > buf->size - offset)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s %s: bytes [%zu, %zu + %zu) outside the buffer's %llu bytes",
                     dev->name, fn, offset, offset, bytes, (unsigned long long)buf->size);
  return SLA2_OK;
}

static sla2_status vk_buffer_write_iface(void *ctx, void *buffer, size_t offset, const void *src, size_t bytes) {
  vk_device *dev = ctx;
  if (bytes == 0) return SLA2_OK;
  sla2_status st = check_range(dev, "buffer_write", buffer, offset, bytes, src);
  if (st != SLA2_OK) return st;
  pthread_mutex_lock(&dev->lock);
  st = vk_buffer_upload(dev, buffer, offset, src, bytes);
  pthread_mutex_unlock(&dev->lock);
  return st;
}

static sla2_status vk_buffer_read_iface(void *ctx, const void *buffer, size_t offset, void *dst, size_t bytes) {
  vk_device *dev = ctx;
  if (bytes == 0) return SLA2_OK;
  sla2_status st = check_range(dev, "buffer_read", buffer, offset, bytes, dst);
  if (st != SLA2_OK) return st;
  pthread_mutex_lock(&dev->lock);
  st = vk_buffer_download(dev, buffer, offset, dst, bytes);
  pthread_mutex_unlock(&dev->lock);
  return st;
}

static sla2_status vk_supports_iface(void *ctx, const sla2_graph *g) { return vk_supports_graph(ctx, g); }

static sla2_status record_node(vk_run *r, const sla2_node *node) {
  switch (node->op) {
  case SLA2_OP_SMOOTH_K: return vk_op_smooth_k(r, node);
  case SLA2_OP_POOL: return vk_op_pool(r, node);
  case SLA2_OP_FEATURE_MAP: return vk_op_feature_map(r, node);
  case SLA2_OP_ROUTE: return vk_op_route(r, node);
  case SLA2_OP_KV_STATE: return vk_op_kv_state(r, node);
  case SLA2_OP_QUANTIZE_INT8: return vk_op_quantize_int8(r, node);
  case SLA2_OP_QUANTIZE_FP8: return vk_op_quantize_fp8(r, node);
  case SLA2_OP_SPARSE_ATTN:
  case SLA2_OP_DENSE_ATTN: return vk_op_attention(r, node);
  case SLA2_OP_LINEAR_ATTN: return vk_op_linear_attn(r, node);
  case SLA2_OP_COMBINE: return r->light_combine ? SLA2_OK : vk_op_combine(r, node); /* done in LINEAR_ATTN */
  default: break;
  }
  return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: unknown op %d", r->dev->name, (int)node->op);
}

static sla2_status run_locked(vk_device *dev, const sla2_graph *g, int first, int count, void *const buffers[]) {
  sla2_status st = vk_device_ready(dev);
  if (st != SLA2_OK) return st;
  vk_run r = {.dev = dev, .g = g};
  const bool whole = sla2_graph_is_whole_forward(g, first, count);
  bool light_fits = false;
#ifdef SLA2_VK_HAVE_COOPMAT2
  light_fits = vk_linear_light_fits(dev, g);
  /* No node of a whole forward exposes the codes: the sparse kernel's f16 copies suffice. */
  r.f16_codes = whole && vk_attention_cm2_fp8_runs(dev, g);
  const bool cm2_none = vk_attention_cm2_split_runs(dev, g);
  r.raw_k = whole && cm2_none && vk_attention_cm2_raw_k_fits(g);
  r.k_halves = whole && cm2_none && !r.raw_k;
#endif
#if defined(SLA2_VK_HAVE_COOPMAT_NV) || defined(SLA2_VK_HAVE_COOPMAT_KHR)
  /* without cooperative matrices 2, `none` on the subgroup kernel, else on the baseline one */
  if (!r.raw_k && !r.k_halves) r.raw_k = whole && vk_attention_coopmat_raw_k_fits(dev, g);
#endif
  const sla2_node *sparse = sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN);
  r.lse_shift = r.raw_k && g->smooth_k && sparse->out[1] >= 0;
  r.light_linear = light_fits && whole;
#ifdef SLA2_VK_HAVE_COOPMAT2
  r.light_combine = r.light_linear && vk_linear_light_combines(g);
#endif
  if (vk_profile_on() && sla2_graph_find_node(g, SLA2_OP_LINEAR_ATTN))
    fprintf(stderr, "sla2 vk-profile %s: linear branch %s (light form fits %d, whole forward %d, combine in it %d)\n",
            dev->name, r.light_linear ? "memory-light" : "per-block states", light_fits, whole, r.light_combine);
  for (int i = first; i < first + count; i++) {
    const sla2_node *node = &g->nodes[i];
    for (int s = 0; s < SLA2_NODE_MAX_IN + SLA2_NODE_MAX_OUT; s++) {
      const int slot = s < SLA2_NODE_MAX_IN ? node->in[s] : node->out[s - SLA2_NODE_MAX_IN];
      if (slot >= 0) r.buf[slot] = buffers[slot]; /* bound: checked by sla2_graph_check_run */
    }
  }
  if ((st = vk_device_wait(dev)) != SLA2_OK || (st = vk_descriptors_reset(dev)) != SLA2_OK ||
      (st = vk_scratch_prepare(dev, g)) != SLA2_OK || (st = vk_cmd_begin(dev)) != SLA2_OK)
    return st;
  for (int i = first; i < first + count && st == SLA2_OK; i++) st = record_node(&r, &g->nodes[i]);
  sla2_status submitted = vk_cmd_submit(dev, false); /* ends the command buffer even after an error */
  return st != SLA2_OK ? st : submitted;
}

static sla2_status vk_run_iface(void *ctx, const sla2_graph *g, int first, int count,
                                void *const buffers[SLA2_SLOT_COUNT]) {
  vk_device *dev = ctx;
  sla2_status st = sla2_graph_check_run(g, first, count, buffers, dev->name);
  if (st != SLA2_OK) return st;
  st = vk_supports_graph(dev, g);
  if (st != SLA2_OK) return st;
  pthread_mutex_lock(&dev->lock);
  st = run_locked(dev, g, first, count, buffers);
  pthread_mutex_unlock(&dev->lock);
  return st;
}

static sla2_status vk_synchronize_iface(void *ctx) {
  vk_device *dev = ctx;
  pthread_mutex_lock(&dev->lock);
  sla2_status st = vk_device_wait(dev);
  pthread_mutex_unlock(&dev->lock);
  return st;
}

static void *vk_get_proc_address_iface(void *ctx, const char *name) {
  (void)ctx;
  (void)name;
  return NULL;
}

static const sla2_device_iface vk_iface = {
    .buffer_alloc = vk_buffer_alloc_iface,
    .buffer_free = vk_buffer_free_iface,
    .buffer_write = vk_buffer_write_iface,
    .buffer_read = vk_buffer_read_iface,
    .supports = vk_supports_iface,
    .run = vk_run_iface,
    .synchronize = vk_synchronize_iface,
    .get_proc_address = vk_get_proc_address_iface,
};

/* --- enumeration ----------------------------------------------------------------------------- */

static bool instance_has_extension(const char *name) {
  uint32_t n = 0;
  if (context.global.vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || n == 0) return false;
  VkExtensionProperties *ext = calloc(n, sizeof *ext);
  bool found = false;
  if (ext && context.global.vkEnumerateInstanceExtensionProperties(NULL, &n, ext) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = strcmp(ext[i].extensionName, name) == 0;
  free(ext);
  return found;
}

static sla2_status create_instance(char *reason, size_t cap) {
  uint32_t version = VK_API_VERSION_1_0;
  if (context.global.vkEnumerateInstanceVersion) context.global.vkEnumerateInstanceVersion(&version);
  if (version < VK_API_VERSION_1_2) {
    snprintf(reason, cap, "the Vulkan loader offers version %u.%u; sla2 needs Vulkan 1.2",
             VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version));
    return SLA2_ERROR_UNAVAILABLE;
  }
  /* 1.3 where the loader has it: the cooperative-matrix-2 shaders are SPIR-V 1.6. */
  context.api_version = version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2;
  /* MoltenVK and other portability drivers are listed only with this extension and flag. */
  bool portability = instance_has_extension("VK_KHR_portability_enumeration");
  const char *extensions[] = {"VK_KHR_portability_enumeration"};
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                           .pApplicationName = "sla2",
                           .pEngineName = "sla2",
                           .apiVersion = context.api_version};
  VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pApplicationInfo = &app,
                               .enabledExtensionCount = portability ? 1u : 0u,
                               .ppEnabledExtensionNames = extensions,
                               .flags = portability ? VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR : 0u};
  VkResult res = context.global.vkCreateInstance(&info, NULL, &context.instance);
  if (res == VK_ERROR_INCOMPATIBLE_DRIVER) {
    snprintf(reason, cap, "no Vulkan driver (ICD) is installed (VK_ERROR_INCOMPATIBLE_DRIVER)");
    return SLA2_ERROR_UNAVAILABLE;
  }
  if (res != VK_SUCCESS) {
    snprintf(reason, cap, "vkCreateInstance failed: %s (%d)", result_name(res), (int)res);
    return SLA2_ERROR_UNAVAILABLE;
  }
  if (!vk_loader_instance(&context.global, context.instance, &context.fn, reason, cap)) return SLA2_ERROR_UNAVAILABLE;
  return SLA2_OK;
}

static bool find_compute_queue(VkPhysicalDevice phys, uint32_t *out_family) {
  uint32_t n = 0;
  context.fn.vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
  VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
  bool found = false;
  if (q) {
    context.fn.vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, q);
    /* A compute-only family is often the asynchronous compute engine; any compute family works. */
    for (uint32_t i = 0; i < n && !found; i++)
      if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) *out_family = i, found = true;
  }
  free(q);
  return found;
}

static sla2_device_type device_type(VkPhysicalDeviceType t) {
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return SLA2_DEVICE_GPU_DISCRETE;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return SLA2_DEVICE_GPU_INTEGRATED;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return SLA2_DEVICE_CPU;
  default: return SLA2_DEVICE_OTHER;
  }
}

static uint64_t device_local_bytes(const VkPhysicalDeviceMemoryProperties *m) {
  uint64_t best = 0;
  for (uint32_t i = 0; i < m->memoryHeapCount; i++)
    if ((m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && m->memoryHeaps[i].size > best)
      best = m->memoryHeaps[i].size;
  return best;
}

/* Fills dev from phys; false when the device does not qualify. uuid receives its deviceUUID. */
static bool describe_device(VkPhysicalDevice phys, vk_device *dev, uint8_t uuid[VK_UUID_SIZE]) {
  memset(dev, 0, sizeof *dev);
  dev->phys = phys;
  context.fn.vkGetPhysicalDeviceProperties(phys, &dev->props);
  if (dev->props.apiVersion < VK_API_VERSION_1_2 || !find_compute_queue(phys, &dev->queue_family)) return false;
  VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceIDProperties id = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES, .pNext = &driver};
  VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &id};
  context.fn.vkGetPhysicalDeviceProperties2(phys, &props2);
  memcpy(uuid, id.deviceUUID, VK_UUID_SIZE);
  VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f16i8};
  context.fn.vkGetPhysicalDeviceFeatures2(phys, &features);
  dev->has_fp16 = f16i8.shaderFloat16;
  context.fn.vkGetPhysicalDeviceMemoryProperties(phys, &dev->memory_props);
  memcpy(dev->description, dev->props.deviceName, sizeof dev->description);
  dev->description[sizeof dev->description - 1] = '\0';
  dev->path = vk_path_select(dev);
  dev->coopmat2 = vk_path_coopmat2_select(dev);
  snprintf(dev->driver, sizeof dev->driver, "Vulkan %u.%u.%u, %.63s %.95s, %s path%s%s",
           VK_API_VERSION_MAJOR(dev->props.apiVersion), VK_API_VERSION_MINOR(dev->props.apiVersion),
           VK_API_VERSION_PATCH(dev->props.apiVersion), driver.driverName, driver.driverInfo,
           vk_path_name(dev->path), dev->path == VK_PATH_COOPMAT_KHR && !dev->coopmat_int8 ? " (no int8)" : "",
           dev->coopmat2 ? " + coopmat2" : "");
  return true;
}

static sla2_status vk_init(sla2_backend_device **out_devices, size_t *out_count, char *reason, size_t cap) {
  if (reason && cap) reason[0] = '\0';
  *out_devices = NULL;
  *out_count = 0;
  if (!vk_loader_open(&context.global, reason, cap)) return SLA2_ERROR_UNAVAILABLE;
  sla2_status st = create_instance(reason, cap);
  if (st != SLA2_OK) return st;

  uint32_t n = 0;
  VkResult res = context.fn.vkEnumeratePhysicalDevices(context.instance, &n, NULL);
  VkPhysicalDevice *phys = calloc(n ? n : 1, sizeof *phys);
  if (!phys) {
    snprintf(reason, cap, "out of host memory listing %u Vulkan devices", n);
    return SLA2_ERROR_UNAVAILABLE;
  }
  if (res == VK_SUCCESS || res == VK_INCOMPLETE) res = context.fn.vkEnumeratePhysicalDevices(context.instance, &n, phys);
  if (res != VK_SUCCESS && res != VK_INCOMPLETE) {
    free(phys);
    snprintf(reason, cap, "vkEnumeratePhysicalDevices failed: %s (%d)", result_name(res), (int)res);
    return SLA2_ERROR_UNAVAILABLE;
  }
  uint8_t uuids[VK_MAX_DEVICES][VK_UUID_SIZE];
  size_t count = 0;
  for (uint32_t i = 0; i < n && count < VK_MAX_DEVICES; i++) {
    vk_device *dev = &devices[count];
    if (!describe_device(phys[i], dev, uuids[count])) continue;
    bool duplicate = false;
    for (size_t k = 0; k < count && !duplicate; k++) duplicate = memcmp(uuids[k], uuids[count], VK_UUID_SIZE) == 0;
    if (duplicate) continue;
    snprintf(dev->name, sizeof dev->name, "vulkan%zu", count);
    pthread_mutex_init(&dev->lock, NULL);
    sla2_backend_device *bd = &backend_devices[count];
    bd->iface = &vk_iface;
    bd->ctx = dev;
    bd->info.name = dev->name;
    bd->info.backend = "vulkan";
    bd->info.description = dev->description;
    bd->info.driver = dev->driver;
    bd->info.type = device_type(dev->props.deviceType);
    bd->info.caps = 0u;
    if (dev->has_fp16) bd->info.caps |= SLA2_CAP_FP16;
    if (dev->path != VK_PATH_BASELINE) bd->info.caps |= SLA2_CAP_TENSOR_CORES;
    if (dev->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) bd->info.caps |= SLA2_CAP_SOFTWARE;
    bd->info.memory_bytes = device_local_bytes(&dev->memory_props);
    bd->info.compute_units = 0; /* core Vulkan does not report it */
    count++;
  }
  free(phys);
  if (count == 0) {
    snprintf(reason, cap, "no Vulkan 1.2 device with a compute queue (%u device%s listed)", n, n == 1 ? "" : "s");
    return SLA2_ERROR_UNAVAILABLE;
  }
  *out_devices = backend_devices;
  *out_count = count;
  return SLA2_OK;
}

const sla2_backend_reg *sla2_backend_vulkan_reg(void) {
  static const sla2_backend_reg reg = {
      .api_version = SLA2_BACKEND_API_VERSION,
      .name = "vulkan",
      .init = vk_init,
  };
  return &reg;
}
