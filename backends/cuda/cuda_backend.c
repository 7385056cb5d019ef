/* CUDA backend: registration, devices "cuda0".., device buffers, supports() and graph runs.
 *
 * The CUDA runtime is linked statically. init() asks it for the devices; where there is no
 * driver or no GPU (CI) that fails and the backend reports UNAVAILABLE with the runtime's
 * reason, printing nothing. Each device has one non-blocking stream: every buffer transfer and
 * every kernel of that device goes through it, so the graph's node order is the stream order.
 * run() only enqueues (a whole forward graph as fused passes, anything else node by node);
 * synchronize() waits and reports asynchronous kernel errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_internal.h"
#include "core/backend.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

/* --- errors and scratch ---------------------------------------------------------------------- */

sla2_status cuda_check(cudaError_t err, const char *what) {
  if (err == cudaSuccess) return SLA2_OK;
  if (err == cudaErrorMemoryAllocation)
    return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "cuda %s: %s", what, cudaGetErrorString(err));
  return sla2_fail(SLA2_ERROR_DEVICE, "cuda %s: %s", what, cudaGetErrorString(err));
}

sla2_status cuda_check_launch(const char *what) { return cuda_check(cudaGetLastError(), what); }

sla2_status cuda_scratch(cuda_device_ctx *dev, size_t bytes, void **out) {
  if (bytes == 0) bytes = 256;
  if (dev->scratch_bytes < bytes) {
    /* The old block may still be in use by queued kernels: free it only after they ran. */
    if (dev->scratch) {
      sla2_status st = cuda_check(cudaStreamSynchronize(dev->stream), "scratch resize");
      if (st != SLA2_OK) return st;
      cudaFree(dev->scratch);
      dev->scratch = NULL;
      dev->scratch_bytes = 0;
    }
    size_t rounded = (bytes + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
    sla2_status st = cuda_check(cudaMalloc(&dev->scratch, rounded), "scratch allocation");
    if (st != SLA2_OK) {
      dev->scratch = NULL;
      return st;
    }
    dev->scratch_bytes = rounded;
  }
  *out = dev->scratch;
  return SLA2_OK;
}

cuda_t4 cuda_t4_of(const cuda_exec *x, int slot) {
  cuda_t4 t;
  t.base = x->buf[slot];
  int64_t s[4];
  t.dtype = sla2_graph_slot_view(x->g, slot, s);
  for (int i = 0; i < 4; i++) t.s[i] = s[i];
  return t;
}

/* --- buffers --------------------------------------------------------------------------------- */

static sla2_status use_device(cuda_device_ctx *dev) {
  return cuda_check(cudaSetDevice(dev->ordinal), "set device");
}

static sla2_status cuda_buffer_alloc(void *ctx, size_t bytes, void **out_buffer) {
  cuda_device_ctx *dev = ctx;
  if (!out_buffer) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "cuda buffer_alloc: out_buffer is NULL");
  sla2_status st = use_device(dev);
  if (st != SLA2_OK) return st;
  void *p = NULL;
  cudaError_t err = cudaMalloc(&p, bytes ? bytes : 256);
  if (err != cudaSuccess) {
    cudaGetLastError(); /* an allocation failure is not sticky; clear it */
    return cuda_check(err, "buffer_alloc");
  }
  *out_buffer = p;
  return SLA2_OK;
}

static void cuda_buffer_free(void *ctx, void *buffer) {
  cuda_device_ctx *dev = ctx;
  if (!buffer) return;
  if (use_device(dev) != SLA2_OK) return;
  /* cudaFree synchronizes the device, so queued kernels that use the buffer finish first. */
  cudaFree(buffer);
}

static sla2_status cuda_buffer_write(void *ctx, void *buffer, size_t offset, const void *src,
                                     size_t bytes) {
  cuda_device_ctx *dev = ctx;
  if (bytes == 0) return SLA2_OK;
  if (!buffer || !src) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "cuda buffer_write: NULL buffer or source");
  sla2_status st = use_device(dev);
  if (st != SLA2_OK) return st;
  st = cuda_check(cudaMemcpyAsync((char *)buffer + offset, src, bytes, cudaMemcpyHostToDevice, dev->stream),
                  "buffer_write");
  /* The caller may reuse src as soon as we return (pinned memory would not be copied yet). */
  if (st == SLA2_OK) st = cuda_check(cudaStreamSynchronize(dev->stream), "buffer_write");
  return st;
}

static sla2_status cuda_buffer_read(void *ctx, const void *buffer, size_t offset, void *dst,
                                    size_t bytes) {
  cuda_device_ctx *dev = ctx;
  if (bytes == 0) return SLA2_OK;
  if (!buffer || !dst) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "cuda buffer_read: NULL buffer or destination");
  sla2_status st = use_device(dev);
  if (st != SLA2_OK) return st;
  st = cuda_check(cudaMemcpyAsync(dst, (const char *)buffer + offset, bytes, cudaMemcpyDeviceToHost, dev->stream),
                  "buffer_read");
  if (st == SLA2_OK) st = cuda_check(cudaStreamSynchronize(dev->stream), "buffer_read");
  return st;
}

/* --- supports -------------------------------------------------------------------------------- */

static sla2_status cuda_supports(void *ctx, const sla2_graph *g) {
  (void)ctx;
  sla2_status st = sla2_graph_check(g, "cuda");
  if (st != SLA2_OK) return st;
  if (g->N > INT32_MAX / 2 || g->B * g->H > 65535)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: N = %lld or B*H = %lld too large", (long long)g->N,
                     (long long)(g->B * g->H));
  return SLA2_OK;
}

/* --- run ------------------------------------------------------------------------------------- */

static sla2_status run_node(const cuda_exec *x, const sla2_node *node) {
  switch (node->op) {
  case SLA2_OP_SMOOTH_K: return cuda_op_smooth_k(x, node);
  case SLA2_OP_POOL: return cuda_op_pool(x, node);
  case SLA2_OP_FEATURE_MAP: return cuda_op_feature_map(x, node);
  case SLA2_OP_ROUTE: return cuda_op_route(x, node);
  case SLA2_OP_KV_STATE: return cuda_op_kv_state(x, node);
  case SLA2_OP_QUANTIZE_INT8: return cuda_op_quantize_int8(x, node);
  case SLA2_OP_QUANTIZE_FP8: return cuda_op_quantize_fp8(x, node);
  case SLA2_OP_SPARSE_ATTN:
  case SLA2_OP_DENSE_ATTN: return cuda_op_attention(x, node);
  case SLA2_OP_LINEAR_ATTN: return cuda_op_linear_attn(x, node);
  case SLA2_OP_COMBINE: return cuda_op_combine(x, node);
  default: break;
  }
  return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: unknown op %d", (int)node->op);
}

static sla2_status cuda_run(void *ctx, const sla2_graph *g, int first, int count,
                            void *const buffers[SLA2_SLOT_COUNT]) {
  cuda_device_ctx *dev = ctx;
  sla2_status st = sla2_graph_check_run(g, first, count, buffers, "cuda");
  if (st != SLA2_OK) return st;
  st = cuda_supports(ctx, g);
  if (st != SLA2_OK) return st;

  st = use_device(dev);
  if (st != SLA2_OK) return st;
  cuda_exec x = {g, buffers, dev};
  /* The whole forward without observers of the intermediates: fused passes (cuda_fused_forward.c). */
  if (cuda_fused_forward_applies(g, first, count)) return cuda_fused_forward(&x);
  for (int i = first; i < first + count; i++) {
    st = run_node(&x, &g->nodes[i]);
    if (st != SLA2_OK) return st;
  }
  return SLA2_OK;
}

static sla2_status cuda_synchronize(void *ctx) {
  cuda_device_ctx *dev = ctx;
  sla2_status st = use_device(dev);
  if (st != SLA2_OK) return st;
  return cuda_check(cudaStreamSynchronize(dev->stream), "synchronize");
}

/* Extension: "sla2_cuda_stream" -> cudaStream_t (*)(const sla2_device *) is not offered; the
 * stream stays internal so that ordering guarantees hold. */
static void *cuda_get_proc_address(void *ctx, const char *name) {
  (void)ctx;
  (void)name;
  return NULL;
}

static const sla2_device_iface cuda_iface = {
    .buffer_alloc = cuda_buffer_alloc,
    .buffer_free = cuda_buffer_free,
    .buffer_write = cuda_buffer_write,
    .buffer_read = cuda_buffer_read,
    .supports = cuda_supports,
    .run = cuda_run,
    .synchronize = cuda_synchronize,
    .get_proc_address = cuda_get_proc_address,
};

/* --- registration ---------------------------------------------------------------------------- */

#define CUDA_MAX_DEVICES 16

typedef struct cuda_device_strings {
  char name[16];
  char description[320];
  char driver[96];
} cuda_device_strings;

static sla2_backend_device cuda_devices[CUDA_MAX_DEVICES];
static cuda_device_ctx cuda_ctx[CUDA_MAX_DEVICES];
static cuda_device_strings cuda_strings[CUDA_MAX_DEVICES];

static void set_reason(char *reason, size_t cap, const char *what, cudaError_t err) {
  if (reason && cap) snprintf(reason, cap, "%s: %s", what, cudaGetErrorString(err));
}

static sla2_status cuda_init(sla2_backend_device **out_devices, size_t *out_count, char *reason,
                             size_t reason_capacity) {
  if (reason && reason_capacity) reason[0] = '\0';
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    set_reason(reason, reason_capacity, "cudaGetDeviceCount", err);
    cudaGetLastError();
    return SLA2_ERROR_UNAVAILABLE;
  }
  if (count <= 0) {
    if (reason && reason_capacity) snprintf(reason, reason_capacity, "no CUDA device");
    return SLA2_ERROR_UNAVAILABLE;
  }
  if (count > CUDA_MAX_DEVICES) count = CUDA_MAX_DEVICES;
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  size_t n = 0;
  for (int i = 0; i < count; i++) {
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess || cudaSetDevice(i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    if (prop.major < 8) continue; /* the library carries code for sm_80 and newer only */
    cuda_device_ctx *c = &cuda_ctx[n];
    memset(c, 0, sizeof *c);
    c->ordinal = i;
    c->cc_major = prop.major;
    c->cc_minor = prop.minor;
    c->sm_count = prop.multiProcessorCount;
    c->smem_optin = prop.sharedMemPerBlockOptin;
    if (cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    cuda_device_strings *s = &cuda_strings[n];
    snprintf(s->name, sizeof s->name, "cuda%zu", n);
    snprintf(s->description, sizeof s->description, "%s (sm_%d%d, %d SMs)", prop.name, prop.major, prop.minor,
             prop.multiProcessorCount);
    snprintf(s->driver, sizeof s->driver, "CUDA driver %d.%d, runtime %d.%d", driver / 1000, (driver % 1000) / 10,
             runtime / 1000, (runtime % 1000) / 10);
    sla2_backend_device *d = &cuda_devices[n];
    d->iface = &cuda_iface;
    d->ctx = c;
    d->info.name = s->name;
    d->info.backend = "cuda";
    d->info.description = s->description;
    d->info.driver = s->driver;
    d->info.type = prop.integrated ? SLA2_DEVICE_GPU_INTEGRATED : SLA2_DEVICE_GPU_DISCRETE;
    d->info.caps = SLA2_CAP_FP16 | SLA2_CAP_INT8_DOT;
    if (prop.major >= 8) d->info.caps |= SLA2_CAP_BF16 | SLA2_CAP_TENSOR_CORES;
    if (prop.major * 10 + prop.minor >= 89) d->info.caps |= SLA2_CAP_FP8;
    d->info.memory_bytes = (uint64_t)prop.totalGlobalMem;
    d->info.compute_units = prop.multiProcessorCount;
    n++;
  }
  if (n == 0) {
    if (reason && reason_capacity) snprintf(reason, reason_capacity, "no usable CUDA device");
    return SLA2_ERROR_UNAVAILABLE;
  }
  *out_devices = cuda_devices;
  *out_count = n;
  return SLA2_OK;
}

const sla2_backend_reg *sla2_backend_cuda_reg(void) {
  static const sla2_backend_reg reg = {
      .api_version = SLA2_BACKEND_API_VERSION,
      .name = "cuda",
      .init = cuda_init,
  };
  return &reg;
}
