/* OpenCL backend: building programs at run time and caching them (in memory per device, and
 * on disk through ocl_cache.c).
 *
 * A program is the shared constants header (shaders/common/sla2_constants.h), the common
 * helpers (sla2_common.cl) and one kernel file, compiled as OpenCL C 1.2 with -D parameters.
 * Device-wide options are added here: -cl-fp32-correctly-rounded-divide-sqrt where the device
 * offers it (the quantizers need x / sigma to be the IEEE division the oracle uses; elsewhere
 * the kernels compute a correctly rounded quotient themselves, SLA2_SOFT_DIV), SLA2_FP64 where
 * cl_khr_fp64 exists, SLA2_CPU_DEVICE on CPU-type devices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/opencl/ocl_internal.h"
#include "core/error.h"

#define LOG_SHOWN 700 /* characters of a build log in the error message */

static void base_options(const ocl_device *dev, const char *options, char *out, size_t cap) {
  snprintf(out, cap, "-cl-std=CL1.2%s%s%s %s",
           dev->correct_div ? " -cl-fp32-correctly-rounded-divide-sqrt" : " -D SLA2_SOFT_DIV=1",
           dev->fp64 ? " -D SLA2_FP64=1" : "", dev->cpu_kernels ? " -D SLA2_CPU_DEVICE=1" : "", options);
}

/* The part of a build log worth showing: from its first "error" when there is one. */
static const char *log_excerpt(const char *log) {
  const char *e = strstr(log, "error");
  if (!e) return log;
  const char *line = e;
  while (line > log && line[-1] != '\n') line--;
  return line;
}

static sla2_status build_failed(ocl_device *dev, cl_program prog, cl_int err, const char *options) {
  size_t len = 0;
  char *log = NULL;
  if (ocl_cl.clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) == CL_SUCCESS && len > 0 &&
      (log = calloc(1, len + 1)) != NULL) {
    if (ocl_cl.clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, len, log, NULL) != CL_SUCCESS) log[0] = '\0';
  }
  const char *shown = log ? log_excerpt(log) : "(no build log)";
  sla2_status st =
      sla2_fail(SLA2_ERROR_COMPILE_FAILED, "%s: kernel build failed (%s, options \"%.160s\"): %.*s%s", dev->name,
                ocl_error_name(err), options, LOG_SHOWN, shown, strlen(shown) > LOG_SHOWN ? " [...]" : "");
  free(log);
  return st;
}

/* From the disk cache: a built program or NULL. */
static cl_program from_cache(ocl_device *dev, const char *key, const char *options) {
  size_t size = 0;
  unsigned char *bin = ocl_cache_load(key, &size);
  if (!bin) return NULL;
  cl_int status = CL_SUCCESS, err;
  const unsigned char *bins[1] = {bin};
  cl_program prog = ocl_cl.clCreateProgramWithBinary(dev->context, 1, &dev->device, &size, bins, &status, &err);
  free(bin);
  if (!prog || err != CL_SUCCESS || status != CL_SUCCESS) {
    if (prog) ocl_cl.clReleaseProgram(prog);
    return NULL;
  }
  if (ocl_cl.clBuildProgram(prog, 1, &dev->device, options, NULL, NULL) != CL_SUCCESS) {
    ocl_cl.clReleaseProgram(prog);
    return NULL;
  }
  return prog;
}

static void to_cache(ocl_device *dev, cl_program prog, const char *key) {
  size_t size = 0;
  if (ocl_cl.clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0) return;
  unsigned char *bin = malloc(size);
  if (!bin) return;
  unsigned char *bins[1] = {bin};
  if (ocl_cl.clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS)
    ocl_cache_store(key, bin, size);
  free(bin);
}

static sla2_status build(ocl_device *dev, const char *source, const char *options, cl_program *out) {
  const char *sources[3] = {sla2_ocl_src_constants, sla2_ocl_src_common, source};
  const bool use_cache = ocl_cache_enabled();
  char key[33];
  if (use_cache) {
    ocl_cache_key(dev, sources, 3, options, key);
    cl_program cached = from_cache(dev, key, options);
    if (cached) {
      *out = cached;
      return SLA2_OK;
    }
  }
  cl_int err;
  cl_program prog = ocl_cl.clCreateProgramWithSource(dev->context, 3, sources, NULL, &err);
  if (!prog || err != CL_SUCCESS) return ocl_fail(dev, err, "clCreateProgramWithSource");
  err = ocl_cl.clBuildProgram(prog, 1, &dev->device, options, NULL, NULL);
  if (err != CL_SUCCESS) {
    sla2_status st = build_failed(dev, prog, err, options);
    ocl_cl.clReleaseProgram(prog);
    return st;
  }
  if (use_cache) to_cache(dev, prog, key);
  *out = prog;
  return SLA2_OK;
}

sla2_status ocl_kernel(ocl_device *dev, const char *source, const char *options, const char *name,
                       cl_kernel *out_kernel) {
  char full[1024];
  base_options(dev, options, full, sizeof full);
  ocl_program *p = dev->programs;
  while (p && !(p->source == source && strcmp(p->options, full) == 0)) p = p->next;
  if (!p) {
    p = calloc(1, sizeof *p);
    char *opts = p ? malloc(strlen(full) + 1) : NULL;
    if (!p || !opts) {
      free(p);
      return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "%s: no host memory for a program entry", dev->name);
    }
    strcpy(opts, full);
    sla2_status st = build(dev, source, full, &p->program);
    if (st != SLA2_OK) {
      free(opts);
      free(p);
      return st;
    }
    p->source = source;
    p->options = opts;
    p->next = dev->programs;
    dev->programs = p;
  }
  for (int i = 0; i < p->kernel_count; i++)
    if (strcmp(p->kernels[i].name, name) == 0) {
      *out_kernel = p->kernels[i].kernel;
      return SLA2_OK;
    }
  if (p->kernel_count == OCL_PROGRAM_KERNELS)
    return sla2_fail(SLA2_ERROR_DEVICE, "%s: too many kernels in one program", dev->name);
  cl_int err;
  cl_kernel k = ocl_cl.clCreateKernel(p->program, name, &err);
  if (!k || err != CL_SUCCESS) return ocl_fail(dev, err, name);
  p->kernels[p->kernel_count].name = name;
  p->kernels[p->kernel_count].kernel = k;
  p->kernel_count++;
  *out_kernel = k;
  return SLA2_OK;
}
