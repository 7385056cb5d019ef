/* OpenCL backend: kernel arguments, launches, and the layout of graph slots as kernels see it.
 * Argument errors are collected in ocl_args and reported once, at launch. */
#include <stdio.h>

#include "backends/opencl/ocl_internal.h"
#include "core/error.h"

void ocl_args_begin(ocl_args *a, cl_kernel kernel) {
  a->kernel = kernel;
  a->index = 0;
  a->err = CL_SUCCESS;
}

static void set_arg(ocl_args *a, size_t size, const void *value) {
  cl_int err = ocl_cl.clSetKernelArg(a->kernel, a->index++, size, value);
  if (a->err == CL_SUCCESS) a->err = err;
}

void ocl_arg_mem(ocl_args *a, cl_mem mem) { set_arg(a, sizeof mem, &mem); }
void ocl_arg_int(ocl_args *a, cl_int v) { set_arg(a, sizeof v, &v); }
void ocl_arg_long(ocl_args *a, cl_long v) { set_arg(a, sizeof v, &v); }
void ocl_arg_float(ocl_args *a, cl_float v) { set_arg(a, sizeof v, &v); }
void ocl_arg_local(ocl_args *a, size_t bytes) { set_arg(a, bytes, NULL); }

void ocl_arg_longs4(ocl_args *a, const int64_t v[4]) {
  for (int i = 0; i < 4; i++) ocl_arg_long(a, (cl_long)v[i]);
}

void ocl_arg_tensor(ocl_args *a, const ocl_exec *x, int slot) {
  int64_t s[4];
  sla2_graph_slot_view(x->g, slot, s);
  ocl_arg_mem(a, x->buf[slot]);
  ocl_arg_int(a, sla2_graph_slot_view(x->g, slot, NULL));
  ocl_arg_longs4(a, s);
}

size_t ocl_round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

sla2_status ocl_launch(ocl_device *dev, ocl_args *a, const char *what, cl_uint dims, const size_t *global,
                       const size_t *local) {
  if (a->err != CL_SUCCESS) return ocl_fail(dev, a->err, what);
  size_t g[2];
  for (cl_uint i = 0; i < dims; i++) {
    g[i] = ocl_round_up(global[i], local[i]);
    if (g[i] == 0) return SLA2_OK; /* nothing to do */
  }
  cl_int err = ocl_cl.clEnqueueNDRangeKernel(dev->queue, a->kernel, dims, NULL, g, local, 0, NULL, NULL);
  if (err != CL_SUCCESS) return ocl_fail(dev, err, what);
  return SLA2_OK;
}

int ocl_chunk_width(const ocl_device *dev, int64_t D) {
  if (!dev->cpu_kernels) return 4;
  return D % 16 == 0 ? 16 : 8;
}

int ocl_elems_per_item(const ocl_device *dev, int64_t D) { return dev->cpu_kernels ? (int)D : ocl_chunk_width(dev, D); }

void ocl_basic_options(const ocl_device *dev, const sla2_graph *g, char *out, size_t cap) {
  snprintf(out, cap, "-D SLA2_D=%lld -D SLA2_EW=%d -D SLA2_QW=%d -D SLA2_EPW=%d", (long long)g->D,
           ocl_chunk_width(dev, g->D), dev->cpu_kernels ? 1 : 256, ocl_elems_per_item(dev, g->D));
}
