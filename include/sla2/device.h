/* Devices: enumeration and selection across the backends compiled into the library.
 *
 * Devices are owned by the library and live until the process exits; there is nothing to free.
 * Names are stable: "cpu", "cuda0", "vulkan0", "opencl0", ... */
#ifndef SLA2_DEVICE_H
#define SLA2_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "sla2/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sla2_device sla2_device;

typedef enum sla2_device_type {
  SLA2_DEVICE_CPU = 0,            /* host CPU, or a CPU-backed runtime (PoCL, lavapipe) */
  SLA2_DEVICE_GPU_INTEGRATED = 1,
  SLA2_DEVICE_GPU_DISCRETE = 2,
  SLA2_DEVICE_OTHER = 3
} sla2_device_type;

/* Capability bits reported in sla2_device_info.caps. */
#define SLA2_CAP_FP16 (1u << 0)        /* native fp16 arithmetic */
#define SLA2_CAP_BF16 (1u << 1)        /* native bf16 arithmetic */
#define SLA2_CAP_INT8_DOT (1u << 2)    /* hardware int8 dot products */
#define SLA2_CAP_FP8 (1u << 3)         /* hardware FP8 E4M3 arithmetic */
#define SLA2_CAP_TENSOR_CORES (1u << 4)/* matrix units (tensor cores, cooperative matrices) */
#define SLA2_CAP_SOFTWARE (1u << 5)    /* software implementation of a GPU API (lavapipe, PoCL) */

typedef struct sla2_device_info {
  const char *name;        /* "cpu", "cuda0", ... */
  const char *backend;     /* "cpu", "cuda", "vulkan", "opencl" */
  const char *description; /* the hardware, e.g. "NVIDIA H100 80GB HBM3" */
  const char *driver;      /* driver / runtime version string */
  sla2_device_type type;
  uint32_t caps;           /* SLA2_CAP_* bits */
  uint64_t memory_bytes;   /* device memory, 0 when unknown */
  int compute_units;       /* cores, SMs or compute units */
} sla2_device_info;

/* Number of devices over all available backends. */
SLA2_API sla2_status sla2_device_count(size_t *out_count);
SLA2_API sla2_status sla2_device_get(size_t index, sla2_device **out_device);
/* Look up by stable name; INVALID_ARGUMENT when no such device exists (the message lists the
 * devices there are), UNAVAILABLE when the name's backend is compiled in but cannot run here. */
SLA2_API sla2_status sla2_device_by_name(const char *name, sla2_device **out_device);
/* SLA2_DEVICE=<name> when set; otherwise discrete GPU > integrated GPU > CPU, never a software
 * device (PoCL, lavapipe) over the native CPU backend. */
SLA2_API sla2_status sla2_device_best(sla2_device **out_device);
SLA2_API sla2_status sla2_device_get_info(const sla2_device *device, sla2_device_info *out_info);
SLA2_API const char *sla2_device_name(const sla2_device *device); /* "" for NULL */

/* A backend-specific extension entry point by name, or NULL when the device's backend has none.
 * Cast to the documented type. The CPU backend offers
 *   "sla2_cpu_set_num_threads"  sla2_status (*)(int threads)  threads <= 0: the OpenMP default
 *   "sla2_cpu_kernel_isa"       const char *(*)(void)          the kernels the next run uses */
SLA2_API void *sla2_device_get_proc_address(const sla2_device *device, const char *name);

/* Backends compiled into this build, available or not, with the reason when not. */
SLA2_API size_t sla2_backend_count(void);
/* out_status: OK or UNAVAILABLE; out_reason: "" when available, otherwise why not. */
SLA2_API sla2_status sla2_backend_get(size_t index, const char **out_name, sla2_status *out_status,
                                      const char **out_reason);

#ifdef __cplusplus
}
#endif
#endif
