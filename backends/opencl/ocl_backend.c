/* OpenCL backend: registration, device info, buffers, supports() and graph runs.
 *
 * Devices come from the ICD loader, opened at run time (ocl_loader.c, ocl_device.c), and are
 * named opencl0, opencl1, ... in platform order. CPU-type devices (PoCL) are reported as SLA2_DEVICE_CPU with
 * SLA2_CAP_SOFTWARE, so sla2_device_best never picks them over the native CPU backend; GPUs are
 * integrated when they share host memory (CL_DEVICE_HOST_UNIFIED_MEMORY), else discrete.
 *
 * Buffers are cl_mem handles; run() enqueues one kernel sequence per node on the device's
 * in-order queue (on CPU devices, a whole unobserved forward as fused passes: ocl_fused.c) and
 * returns; synchronize() waits (clFinish).
 *
 * Extension entry points (get_proc_address):
 *   "sla2_opencl_attention_variant"  const char *(*)(const char *device_name)
 *       the attention kernel configuration of the last SPARSE/DENSE run on that device
 *       ("" before the first), e.g. "bq128 bk64 wg16x16 dc32 vc16 rv4 kv4 dv4 prefetch ... unroll".
 * Environment: SLA2_OPENCL_LIBRARY=<loader file> (ocl_loader.c); SLA2_OPENCL_CACHE=0 (ocl_cache.c); SLA2_OPENCL_KERNELS, SLA2_OPENCL_NO_FP64,
 * SLA2_OPENCL_SOFT_DIV, SLA2_OPENCL_LOCAL_MEM (ocl_device.c, for tests); SLA2_OPENCL_TILE
 * (ocl_op_attention.c, for tuning). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backends/opencl/ocl_internal.h"
#include "core/backend.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

static ocl_device *ocl_devices;
static size_t ocl_device_count;

/* --- buffers ------------------------------------------------------------------------------- */

static sla2_status ocl_buffer_alloc(void *ctx, size_t bytes, void **out_buffer) {
  ocl_device *dev = ctx;
  if (!out_buffer) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s buffer_alloc: out_buffer is NULL", dev->name);
  if ((cl_ulong)bytes > dev->max_alloc)
    return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY,
                     "%s buffer_alloc: %zu bytes exceed the device's largest allocation (%llu)", dev->name, bytes,
                     (unsigned long long)dev->max_alloc);
  pthread_mutex_lock(&dev->lock);
  sla2_status st = ocl_open(dev);
  cl_mem mem = NULL;
  if (st == SLA2_OK) {
    cl_int err;
    mem = ocl_cl.clCreateBuffer(dev->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &err);
    if (!mem || err != CL_SUCCESS) {
      mem = NULL;
      st = ocl_fail(dev, err, "clCreateBuffer");
      if (st == SLA2_ERROR_DEVICE)
        st = sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "%s buffer_alloc: %zu bytes: %s", dev->name, bytes,
                       ocl_error_name(err));
    }
  }
  pthread_mutex_unlock(&dev->lock);
  *out_buffer = mem;
  return st;
}

static void ocl_buffer_free(void *ctx, void *buffer) {
  (void)ctx;
  if (buffer) ocl_cl.clReleaseMemObject((cl_mem)buffer);
}

static sla2_status ocl_buffer_write(void *ctx, void *buffer, size_t offset, const void *src, size_t bytes) {
  ocl_device *dev = ctx;
  if (bytes == 0) return SLA2_OK;
  if (!buffer || !src)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s buffer_write: NULL buffer or source", dev->name);
  if (!dev->queue)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s buffer_write: no buffer was allocated here", dev->name);
  pthread_mutex_lock(&dev->lock);
  cl_int err = ocl_cl.clEnqueueWriteBuffer(dev->queue, (cl_mem)buffer, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
  pthread_mutex_unlock(&dev->lock);
  return err == CL_SUCCESS ? SLA2_OK : ocl_fail(dev, err, "clEnqueueWriteBuffer");
}

static sla2_status ocl_buffer_read(void *ctx, const void *buffer, size_t offset, void *dst, size_t bytes) {
  ocl_device *dev = ctx;
  if (bytes == 0) return SLA2_OK;
  if (!buffer || !dst)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s buffer_read: NULL buffer or destination", dev->name);
  if (!dev->queue)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s buffer_read: no buffer was allocated here", dev->name);
  pthread_mutex_lock(&dev->lock);
  cl_int err = ocl_cl.clEnqueueReadBuffer(dev->queue, (cl_mem)buffer, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
  pthread_mutex_unlock(&dev->lock);
  return err == CL_SUCCESS ? SLA2_OK : ocl_fail(dev, err, "clEnqueueReadBuffer");
}

/* --- supports ------------------------------------------------------------------------------ */

/* The kernels index key blocks with shifts: powers of two in [SLA2_BLOCK_MIN, SLA2_BLOCK_MAX]. */
static bool power_of_two(int64_t b) { return (b & (b - 1)) == 0; }

static sla2_status ocl_supports(void *ctx, const sla2_graph *g) {
  ocl_device *dev = ctx;
  sla2_status st = sla2_graph_check(g, dev->name);
  if (st != SLA2_OK) return st;
  if (g->N > INT32_MAX / 2 || g->B * g->H > INT32_MAX / 2)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: N = %lld or B * H = %lld exceeds 2^30", dev->name, (long long)g->N,
                     (long long)(g->B * g->H));
  if (dev->max_wg < 64)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: work-groups of %zu work-items; sla2 needs 64", dev->name,
                     dev->max_wg);
  for (int i = 0; i < g->node_count; i++) {
    const sla2_node *node = &g->nodes[i];
    if ((node->op == SLA2_OP_POOL || node->op == SLA2_OP_QUANTIZE_INT8) && !power_of_two(node->block))
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: node '%s' block = %d; OpenCL devices take 16, 32, 64 or 128 rows",
                       dev->name, sla2_op_name(node->op), node->block);
  }
  if ((g->bq && !power_of_two(g->bq)) || (g->bk && !power_of_two(g->bk)))
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: block sizes bq = %lld, bk = %lld; OpenCL devices take 16, 32, 64 or 128",
                     dev->name, (long long)g->bq, (long long)g->bk);
  for (int slot = SLA2_SLOT_Q; slot < SLA2_SLOT_COUNT; slot++) {
    const sla2_graph_tensor *t = &g->tensors[slot];
    if (!t->used || !(slot <= SLA2_SLOT_O || t->external)) continue;
    for (int d = 0; d < 4; d++) /* kernels index every dimension with a positive stride */
      if (t->strides[d] < 1)
        return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: tensor '%s' has stride %lld in dimension %d", dev->name,
                         sla2_slot_name(slot), (long long)t->strides[d], d);
  }
  return SLA2_OK;
}

/* --- run ----------------------------------------------------------------------------------- */

static sla2_status run_node(const ocl_exec *x, const sla2_node *node) {
  switch (node->op) {
  case SLA2_OP_SMOOTH_K:
    return ocl_op_smooth_k(x, node);
  case SLA2_OP_POOL:
    return ocl_op_pool(x, node);
  case SLA2_OP_FEATURE_MAP:
    return ocl_op_feature_map(x, node);
  case SLA2_OP_ROUTE:
    return ocl_op_route(x, node);
  case SLA2_OP_KV_STATE:
    return ocl_op_kv_state(x, node);
  case SLA2_OP_QUANTIZE_INT8:
    return ocl_op_quantize_int8(x, node);
  case SLA2_OP_QUANTIZE_FP8:
    return ocl_op_quantize_fp8(x, node);
  case SLA2_OP_SPARSE_ATTN:
  case SLA2_OP_DENSE_ATTN:
    return ocl_op_attention(x, node);
  case SLA2_OP_LINEAR_ATTN:
    return ocl_op_linear_attn(x, node);
  case SLA2_OP_COMBINE:
    return ocl_op_combine(x, node);
  default:
    break;
  }
  return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: unknown op %d", x->dev->name, (int)node->op);
}

static sla2_status ocl_run(void *ctx, const sla2_graph *g, int first, int count, void *const buffers[SLA2_SLOT_COUNT]) {
  ocl_device *dev = ctx;
  sla2_status st = sla2_graph_check_run(g, first, count, buffers, dev->name);
  if (st != SLA2_OK) return st;
  st = ocl_supports(ctx, g);
  if (st != SLA2_OK) return st;

  ocl_exec x;
  x.dev = dev;
  x.g = g;
  for (int s = 0; s < SLA2_SLOT_COUNT; s++) x.buf[s] = (cl_mem)buffers[s];
  pthread_mutex_lock(&dev->lock);
  st = ocl_open(dev);
  if (st == SLA2_OK && ocl_fused_forward_applies(&x, first, count))
    st = ocl_fused_forward(&x);
  else
    for (int i = first; st == SLA2_OK && i < first + count; i++) st = run_node(&x, &g->nodes[i]);
  pthread_mutex_unlock(&dev->lock);
  return st;
}

static sla2_status ocl_synchronize(void *ctx) {
  ocl_device *dev = ctx;
  pthread_mutex_lock(&dev->lock);
  cl_int err = dev->queue ? ocl_cl.clFinish(dev->queue) : CL_SUCCESS;
  pthread_mutex_unlock(&dev->lock);
  return err == CL_SUCCESS ? SLA2_OK : ocl_fail(dev, err, "clFinish");
}

static const char *attention_variant(const char *device_name) {
  for (size_t i = 0; device_name && i < ocl_device_count; i++)
    if (strcmp(ocl_devices[i].name, device_name) == 0) return ocl_devices[i].last_variant;
  return "";
}

static void *ocl_get_proc_address(void *ctx, const char *name) {
  (void)ctx;
  if (!name) return NULL;
  if (strcmp(name, "sla2_opencl_attention_variant") == 0) return (void *)(uintptr_t)&attention_variant;
  return NULL;
}

static const sla2_device_iface ocl_iface = {
    .buffer_alloc = ocl_buffer_alloc,
    .buffer_free = ocl_buffer_free,
    .buffer_write = ocl_buffer_write,
    .buffer_read = ocl_buffer_read,
    .supports = ocl_supports,
    .run = ocl_run,
    .synchronize = ocl_synchronize,
    .get_proc_address = ocl_get_proc_address,
};

/* --- registration -------------------------------------------------------------------------- */

static sla2_backend_device backend_devices[16];

static sla2_status ocl_init(sla2_backend_device **out_devices, size_t *out_count, char *reason,
                            size_t reason_capacity) {
  if (reason && reason_capacity) reason[0] = '\0';
  char why[256] = "";
  if (!ocl_loader_open(why, sizeof why)) {
    if (reason && reason_capacity) snprintf(reason, reason_capacity, "%s", why);
    ocl_device_count = 0;
    return SLA2_ERROR_UNAVAILABLE;
  }
  sla2_status st = ocl_enumerate(&ocl_devices, &ocl_device_count, why, sizeof why);
  if (st != SLA2_OK) {
    if (reason && reason_capacity) snprintf(reason, reason_capacity, "%s", why);
    ocl_device_count = 0;
    return st;
  }
  for (size_t i = 0; i < ocl_device_count; i++) {
    ocl_device *d = &ocl_devices[i];
    sla2_backend_device *bd = &backend_devices[i];
    bd->iface = &ocl_iface;
    bd->ctx = d;
    bd->info.name = d->name;
    bd->info.backend = "opencl";
    bd->info.description = d->description;
    bd->info.driver = d->driver;
    if (d->software)
      bd->info.type = SLA2_DEVICE_CPU;
    else if (d->cl_type & CL_DEVICE_TYPE_GPU)
      bd->info.type = d->unified_memory ? SLA2_DEVICE_GPU_INTEGRATED : SLA2_DEVICE_GPU_DISCRETE;
    else
      bd->info.type = SLA2_DEVICE_OTHER;
    bd->info.caps = 0u;
    if (d->software) bd->info.caps |= SLA2_CAP_SOFTWARE;
    if (d->fp16) bd->info.caps |= SLA2_CAP_FP16;
    if (d->int_dot) bd->info.caps |= SLA2_CAP_INT8_DOT;
    bd->info.memory_bytes = d->global_mem;
    bd->info.compute_units = (int)d->compute_units;
  }
  *out_devices = backend_devices;
  *out_count = ocl_device_count;
  return SLA2_OK;
}

const sla2_backend_reg *sla2_backend_opencl_reg(void) {
  static const sla2_backend_reg reg = {
      .api_version = SLA2_BACKEND_API_VERSION,
      .name = "opencl",
      .init = ocl_init,
  };
  return &reg;
}
