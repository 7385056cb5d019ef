/* Initializes each compiled-in backend once; a backend that fails to initialize (missing driver,
 * ICD or loader) is recorded with its reason and the others still enumerate. */
#include "core/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static sla2_registry registry;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

typedef const sla2_backend_reg *(*reg_fn)(void);

/* Order matters only for ties in sla2_device_best: earlier is preferred. */
static const reg_fn compiled_in[] = {
#ifdef SLA2_HAVE_CUDA
    sla2_backend_cuda_reg,
#endif
#ifdef SLA2_HAVE_VULKAN
    sla2_backend_vulkan_reg,
#endif
#ifdef SLA2_HAVE_OPENCL
    sla2_backend_opencl_reg,
#endif
    sla2_backend_cpu_reg,
};

static void add_backend(const sla2_backend_reg *reg) {
  sla2_registry_backend *entry = &registry.backends[registry.backend_count++];
  entry->name = reg->name;
  if (reg->api_version != SLA2_BACKEND_API_VERSION) {
    entry->status = SLA2_ERROR_UNAVAILABLE;
    snprintf(entry->reason, sizeof entry->reason, "backend API version %d, library expects %d",
             reg->api_version, SLA2_BACKEND_API_VERSION);
    return;
  }
  sla2_backend_device *devices = NULL;
  size_t count = 0;
  entry->status = reg->init(&devices, &count, entry->reason, sizeof entry->reason);
  if (entry->status != SLA2_OK) {
    if (entry->reason[0] == '\0') snprintf(entry->reason, sizeof entry->reason, "initialization failed");
    return;
  }
  entry->reason[0] = '\0';
  size_t capacity = sizeof registry.devices / sizeof registry.devices[0];
  for (size_t i = 0; i < count && registry.device_count < capacity; i++) {
    struct sla2_device *d = &registry.devices[registry.device_count];
    d->backend_device = &devices[i];
    d->backend_name = reg->name;
    d->index = registry.device_count++;
  }
}

static void registry_init(void) {
  for (size_t i = 0; i < sizeof compiled_in / sizeof compiled_in[0]; i++) add_backend(compiled_in[i]());
}

const sla2_registry *sla2_registry_get(void) {
  pthread_once(&registry_once, registry_init);
  return &registry;
}
