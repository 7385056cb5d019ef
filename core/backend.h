/* Internal: the interface every backend implements (cpu, cuda, opencl, vulkan).
 *
 * Two tiers. A backend registration (sla2_backend_reg) initializes once and lists its devices;
 * each device (sla2_backend_device) is {iface, ctx} with buffers, graph execution and sync.
 * Backend-specific knobs go through get_proc_address, never into the public headers. */
#ifndef SLA2_CORE_BACKEND_H
#define SLA2_CORE_BACKEND_H

#include <stddef.h>

#include "core/graph.h"
#include "sla2/device.h"
#include "sla2/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SLA2_BACKEND_API_VERSION 1

typedef struct sla2_device_iface {
  /* Device memory. Buffers are opaque handles. write/read are ordered after all work queued
   * before them; read returns when the data is on the host. */
  sla2_status (*buffer_alloc)(void *ctx, size_t bytes, void **out_buffer);
  void (*buffer_free)(void *ctx, void *buffer);
  sla2_status (*buffer_write)(void *ctx, void *buffer, size_t offset, const void *src, size_t bytes);
  sla2_status (*buffer_read)(void *ctx, const void *buffer, size_t offset, void *dst, size_t bytes);
  /* OK when the device can run every node of the graph, else UNSUPPORTED via sla2_fail naming
   * what is missing (dtype, head dim, block size, ...). */
  sla2_status (*supports)(void *ctx, const sla2_graph *graph);
  /* Runs nodes [first, first + count) with buffers[slot] bound to each used slot (NULL for
   * unused). May return before the work finishes; synchronize waits for it. */
  sla2_status (*run)(void *ctx, const sla2_graph *graph, int first, int count,
                     void *const buffers[SLA2_SLOT_COUNT]);
  sla2_status (*synchronize)(void *ctx);
  /* Backend-specific extension entry points by name, or NULL. */
  void *(*get_proc_address)(void *ctx, const char *name);
} sla2_device_iface;

typedef struct sla2_backend_device {
  const sla2_device_iface *iface;
  void *ctx;
  sla2_device_info info; /* strings owned by the backend, valid until exit */
} sla2_backend_device;

typedef struct sla2_backend_reg {
  int api_version;  /* SLA2_BACKEND_API_VERSION */
  const char *name; /* "cpu", "cuda", "opencl", "vulkan" */
  /* Called once under a lock. On success *out_devices points to an array the backend owns for
   * the life of the process (count may be 0). UNAVAILABLE, with a one-line reason written to
   * `reason`, when the driver, ICD or loader is missing; the other backends still enumerate. */
  sla2_status (*init)(sla2_backend_device **out_devices, size_t *out_count, char *reason,
                      size_t reason_capacity);
} sla2_backend_reg;

/* Registrations compiled in; each backend folder defines its own. */
const sla2_backend_reg *sla2_backend_cpu_reg(void);
const sla2_backend_reg *sla2_backend_cuda_reg(void);
const sla2_backend_reg *sla2_backend_opencl_reg(void);
const sla2_backend_reg *sla2_backend_vulkan_reg(void);

/* The device behind a public handle (core/device.c). */
const sla2_backend_device *sla2_device_backend(const sla2_device *device);

#ifdef __cplusplus
}
#endif
#endif
