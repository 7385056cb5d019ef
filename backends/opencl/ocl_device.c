/* OpenCL backend: platforms and devices through the ICD loader, their capabilities, and the
 * context / queue each device gets on first use.
 *
 * Environment (read once, at enumeration):
 *   SLA2_OPENCL_NO_FP64=1   treat every device as lacking cl_khr_fp64 (tests the float-float
 *                           fallbacks of the router and the means)
 *   SLA2_OPENCL_SOFT_DIV=1  do not ask for -cl-fp32-correctly-rounded-divide-sqrt (tests the
 *                           correctly rounded division written in the kernels)
 *   SLA2_OPENCL_LOCAL_MEM=<bytes>  pretend the device has at most this much local memory
 *                           (tests the tile shrinking, e.g. 49152 as on NVIDIA GPUs)
 *   SLA2_OPENCL_KERNELS=gpu|cpu  the kernel variants to use: by default the CPU ones (one
 *                           work-item per work-group, wide vectors) on CPU-type devices and the
 *                           work-group ones elsewhere; "gpu" on PoCL tests the GPU kernels */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/opencl/ocl_internal.h"
#include "core/error.h"

#define OCL_MAX_DEVICES 16
#define OCL_MAX_PLATFORMS 16

static bool env_flag(const char *name) {
  const char *v = getenv(name);
  return v && v[0] && strcmp(v, "0") != 0;
}

static void device_string(cl_device_id d, cl_device_info what, char *out, size_t cap) {
  size_t got = 0;
  out[0] = '\0';
  if (ocl_cl.clGetDeviceInfo(d, what, cap - 1, out, &got) != CL_SUCCESS) out[0] = '\0';
  out[cap - 1] = '\0';
}

static bool has_extension(const char *list, const char *ext) {
  size_t n = strlen(ext);
  for (const char *p = list; (p = strstr(p, ext)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return true;
  return false;
}

/* Fills the fixed part of dev from the driver's answers. */
static void describe(ocl_device *dev, cl_platform_id platform, cl_device_id device, size_t index, bool no_fp64,
                     bool soft_div) {
  memset(dev, 0, sizeof *dev);
  dev->platform = platform;
  dev->device = device;
  snprintf(dev->name, sizeof dev->name, "opencl%zu", index);
  device_string(device, CL_DEVICE_NAME, dev->cl_device_name, sizeof dev->cl_device_name);
  device_string(device, CL_DRIVER_VERSION, dev->cl_driver_version, sizeof dev->cl_driver_version);
  dev->cl_platform_version[0] = '\0';
  if (ocl_cl.clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof dev->cl_platform_version - 1, dev->cl_platform_version,
                        NULL) != CL_SUCCESS)
    dev->cl_platform_version[0] = '\0';
  dev->cl_platform_version[sizeof dev->cl_platform_version - 1] = '\0';
  /* Through a local buffer: source and destination are fields of one struct (-Wrestrict). */
  char text[sizeof dev->driver];
  snprintf(text, sizeof text, "%s", dev->cl_device_name);
  memcpy(dev->description, text, sizeof dev->description);
  dev->description[sizeof dev->description - 1] = '\0';
  snprintf(text, sizeof text, "%s, driver %s", dev->cl_platform_version, dev->cl_driver_version);
  memcpy(dev->driver, text, sizeof dev->driver);

  cl_device_type type = CL_DEVICE_TYPE_DEFAULT;
  ocl_cl.clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  dev->cl_type = type;
  dev->software = (type & CL_DEVICE_TYPE_CPU) != 0;
  dev->cpu_kernels = dev->software;
  const char *kernels = getenv("SLA2_OPENCL_KERNELS");
  if (kernels && strcmp(kernels, "gpu") == 0) dev->cpu_kernels = false;
  if (kernels && strcmp(kernels, "cpu") == 0) dev->cpu_kernels = true;
  cl_bool unified = CL_FALSE;
  ocl_cl.clGetDeviceInfo(device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
  dev->unified_memory = unified == CL_TRUE;

  size_t ext_len = 0;
  char *ext = NULL;
  if (ocl_cl.clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_len) == CL_SUCCESS && ext_len > 0 &&
      (ext = calloc(1, ext_len + 1)) != NULL) {
    if (ocl_cl.clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, ext_len, ext, NULL) != CL_SUCCESS) ext[0] = '\0';
    dev->fp64 = has_extension(ext, "cl_khr_fp64") && !no_fp64;
    dev->fp16 = has_extension(ext, "cl_khr_fp16");
    dev->int_dot = has_extension(ext, "cl_khr_integer_dot_product");
    free(ext);
  }
  cl_device_fp_config fp = 0;
  ocl_cl.clGetDeviceInfo(device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
  dev->correct_div = (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0 && !soft_div;
  ocl_cl.clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof dev->local_mem, &dev->local_mem, NULL);
  const char *cap = getenv("SLA2_OPENCL_LOCAL_MEM");
  if (cap && atol(cap) > 0 && (cl_ulong)atol(cap) < dev->local_mem) dev->local_mem = (cl_ulong)atol(cap);
  ocl_cl.clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof dev->global_mem, &dev->global_mem, NULL);
  ocl_cl.clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof dev->max_alloc, &dev->max_alloc, NULL);
  ocl_cl.clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof dev->max_wg, &dev->max_wg, NULL);
  ocl_cl.clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof dev->compute_units, &dev->compute_units, NULL);
  pthread_mutex_init(&dev->lock, NULL);
}

sla2_status ocl_enumerate(ocl_device **out_devices, size_t *out_count, char *reason, size_t reason_capacity) {
  static ocl_device devices[OCL_MAX_DEVICES];
  *out_devices = devices;
  *out_count = 0;
  cl_platform_id platforms[OCL_MAX_PLATFORMS];
  cl_uint platform_count = 0;
  cl_int err = ocl_cl.clGetPlatformIDs(OCL_MAX_PLATFORMS, platforms, &platform_count);
  if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && platform_count == 0)) {
    snprintf(reason, reason_capacity, "no OpenCL platform: the ICD loader found no driver (CL_PLATFORM_NOT_FOUND_KHR)");
    return SLA2_ERROR_UNAVAILABLE;
  }
  if (err != CL_SUCCESS) {
    snprintf(reason, reason_capacity, "clGetPlatformIDs failed: %s (%d)", ocl_error_name(err), (int)err);
    return SLA2_ERROR_UNAVAILABLE;
  }
  if (platform_count > OCL_MAX_PLATFORMS) platform_count = OCL_MAX_PLATFORMS;
  const bool no_fp64 = env_flag("SLA2_OPENCL_NO_FP64"), soft_div = env_flag("SLA2_OPENCL_SOFT_DIV");
  size_t count = 0;
  for (cl_uint p = 0; p < platform_count && count < OCL_MAX_DEVICES; p++) {
    cl_device_id ids[OCL_MAX_DEVICES];
    cl_uint n = 0;
    if (ocl_cl.clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, OCL_MAX_DEVICES, ids, &n) != CL_SUCCESS) continue;
    if (n > OCL_MAX_DEVICES) n = OCL_MAX_DEVICES;
    for (cl_uint i = 0; i < n && count < OCL_MAX_DEVICES; i++) {
      cl_bool available = CL_FALSE, compiler = CL_FALSE;
      ocl_cl.clGetDeviceInfo(ids[i], CL_DEVICE_AVAILABLE, sizeof available, &available, NULL);
      ocl_cl.clGetDeviceInfo(ids[i], CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
      if (!available || !compiler) continue; /* sla2 builds its kernels at run time */
      describe(&devices[count], platforms[p], ids[i], count, no_fp64, soft_div);
      count++;
    }
  }
  if (count == 0) {
    snprintf(reason, reason_capacity, "%u OpenCL platform(s) but no available device with a compiler",
             (unsigned)platform_count);
    return SLA2_ERROR_UNAVAILABLE;
  }
  *out_count = count;
  return SLA2_OK;
}

sla2_status ocl_open(ocl_device *dev) {
  if (dev->opened)
    return dev->open_status == SLA2_OK
               ? SLA2_OK
               : sla2_fail(dev->open_status, "%s: device could not be opened earlier", dev->name);
  dev->opened = true;
  cl_int err;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
  dev->context = ocl_cl.clCreateContext(props, 1, &dev->device, NULL, NULL, &err);
  if (!dev->context || err != CL_SUCCESS) {
    dev->open_status = ocl_fail(dev, err, "clCreateContext");
    return dev->open_status;
  }
  dev->queue = ocl_cl.clCreateCommandQueue(dev->context, dev->device, 0, &err);
  if (!dev->queue || err != CL_SUCCESS) {
    dev->open_status = ocl_fail(dev, err, "clCreateCommandQueue");
    ocl_cl.clReleaseContext(dev->context);
    dev->context = NULL;
    return dev->open_status;
  }
  dev->open_status = SLA2_OK;
  return SLA2_OK;
}

sla2_status ocl_scratch_get(ocl_device *dev, int which, size_t bytes, cl_mem *out) {
  ocl_scratch *s = &dev->scratch[which];
  if (bytes == 0) bytes = 1;
  if (s->bytes < bytes) {
    /* Work already queued keeps the old buffer alive: release is deferred by OpenCL. */
    if (s->mem) ocl_cl.clReleaseMemObject(s->mem);
    s->mem = NULL;
    s->bytes = 0;
    if ((cl_ulong)bytes > dev->max_alloc)
      return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY,
                       "%s: scratch of %zu bytes exceeds the device's largest allocation (%llu)", dev->name, bytes,
                       (unsigned long long)dev->max_alloc);
    cl_int err;
    s->mem = ocl_cl.clCreateBuffer(dev->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (!s->mem || err != CL_SUCCESS) {
      s->mem = NULL;
      return ocl_fail(dev, err, "clCreateBuffer (scratch)");
    }
    s->bytes = bytes;
  }
  *out = s->mem;
  return SLA2_OK;
}
