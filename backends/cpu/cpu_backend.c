/* CPU backend: registration, the one "cpu" device, host buffers, supports() and graph runs.
 *
 * Buffers are plain 64-byte aligned host memory; run() executes the nodes synchronously with
 * OpenMP (or serially without it). Extension entry points (get_proc_address):
 *   "sla2_cpu_set_num_threads"  sla2_status (*)(int threads)  threads <= 0: OpenMP default
 *   "sla2_cpu_kernel_isa"       const char *(*)(void)          the kernel table the next run
 *                                                              uses: "avx512_bf16", "avx512" or
 *                                                              "portable"
 *   "sla2_cpu_release_scratch"  void (*)(void)                 frees the scratch block kept
 *                                                              between runs (cpu_memory.c)
 * Environment: SLA2_CPU_ISA=portable forces the portable kernels (cpu_isa.c). */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backends/cpu/cpu_internal.h"
#include "core/backend.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

static int cpu_threads_override; /* 0: OpenMP default */

static sla2_status cpu_set_num_threads(int threads) {
  cpu_threads_override = threads > 0 ? threads : 0;
  return SLA2_OK;
}

static const char *cpu_kernel_isa(void) { return cpu_kernels_select()->name; }

static void cpu_release_scratch(void) { cpu_arena_release_cache(); }

/* --- buffers ------------------------------------------------------------------------------- */

static sla2_status cpu_buffer_alloc(void *ctx, size_t bytes, void **out_buffer) {
  (void)ctx;
  if (!out_buffer) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "cpu buffer_alloc: out_buffer is NULL");
  void *p = cpu_alloc(bytes);
  if (!p) return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "cpu buffer_alloc: %zu bytes", bytes);
  *out_buffer = p;
  return SLA2_OK;
}

static void cpu_buffer_free(void *ctx, void *buffer) {
  (void)ctx;
  cpu_free(buffer);
}

static sla2_status cpu_buffer_write(void *ctx, void *buffer, size_t offset, const void *src,
                                    size_t bytes) {
  (void)ctx;
  if (bytes == 0) return SLA2_OK;
  if (!buffer || !src) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "cpu buffer_write: NULL buffer or source");
  memcpy((char *)buffer + offset, src, bytes);
  return SLA2_OK;
}

static sla2_status cpu_buffer_read(void *ctx, const void *buffer, size_t offset, void *dst,
                                   size_t bytes) {
  (void)ctx;
  if (bytes == 0) return SLA2_OK;
  if (!buffer || !dst) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "cpu buffer_read: NULL buffer or destination");
  memcpy(dst, (const char *)buffer + offset, bytes);
  return SLA2_OK;
}

/* --- supports ------------------------------------------------------------------------------ */

static sla2_status cpu_supports(void *ctx, const sla2_graph *g) {
  (void)ctx;
  sla2_status st = sla2_graph_check(g, "cpu");
  if (st != SLA2_OK) return st;
  if (g->N > INT32_MAX)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cpu: N = %lld exceeds %d", (long long)g->N, INT32_MAX);
  return SLA2_OK;
}

/* --- run ----------------------------------------------------------------------------------- */

static sla2_status run_node(const cpu_exec *x, const sla2_node *node) {
  switch (node->op) {
  case SLA2_OP_SMOOTH_K: return cpu_op_smooth_k(x, node);
  case SLA2_OP_POOL: return cpu_op_pool(x, node);
  case SLA2_OP_FEATURE_MAP: return cpu_op_feature_map(x, node);
  case SLA2_OP_ROUTE: return cpu_op_route(x, node);
  case SLA2_OP_KV_STATE: return cpu_op_kv_state(x, node);
  case SLA2_OP_QUANTIZE_INT8: return cpu_op_quantize_int8(x, node);
  case SLA2_OP_QUANTIZE_FP8: return cpu_op_quantize_fp8(x, node);
  case SLA2_OP_SPARSE_ATTN:
  case SLA2_OP_DENSE_ATTN: return cpu_op_attention(x, node);
  case SLA2_OP_LINEAR_ATTN: return cpu_op_linear_attn(x, node);
  case SLA2_OP_COMBINE: return cpu_op_combine(x, node);
  default: break;
  }
  return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cpu: unknown op %d", (int)node->op);
}

static sla2_status cpu_run(void *ctx, const sla2_graph *g, int first, int count,
                           void *const buffers[SLA2_SLOT_COUNT]) {
  (void)ctx;
  sla2_status st = sla2_graph_check_run(g, first, count, buffers, "cpu");
  if (st != SLA2_OK) return st;
  st = cpu_supports(ctx, g);
  if (st != SLA2_OK) return st;

  cpu_exec x;
  x.g = g;
  x.buf = buffers;
  x.kt = cpu_kernels_select();
  x.threads = cpu_threads_override > 0 ? cpu_threads_override : cpu_default_threads();
  if (x.threads < 1) x.threads = 1;
  for (int i = first; i < first + count; i++) {
    st = run_node(&x, &g->nodes[i]);
    if (st != SLA2_OK) return st;
  }
  return SLA2_OK;
}

static sla2_status cpu_synchronize(void *ctx) {
  (void)ctx;
  return SLA2_OK;
}

static void *cpu_get_proc_address(void *ctx, const char *name) {
  (void)ctx;
  if (!name) return NULL;
  if (strcmp(name, "sla2_cpu_set_num_threads") == 0) return (void *)(uintptr_t)&cpu_set_num_threads;
  if (strcmp(name, "sla2_cpu_kernel_isa") == 0) return (void *)(uintptr_t)&cpu_kernel_isa;
  if (strcmp(name, "sla2_cpu_release_scratch") == 0) return (void *)(uintptr_t)&cpu_release_scratch;
  return NULL;
}

static const sla2_device_iface cpu_iface = {
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .buffer_write = cpu_buffer_write,
    .buffer_read = cpu_buffer_read,
    .supports = cpu_supports,
    .run = cpu_run,
    .synchronize = cpu_synchronize,
    .get_proc_address = cpu_get_proc_address,
};

/* --- registration -------------------------------------------------------------------------- */

static char cpu_description[128];
static char cpu_driver[64];
static sla2_backend_device cpu_device;

static void read_model_name(char *out, size_t cap) {
  snprintf(out, cap, "host CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    const char *colon = strchr(line, ':');
    if (!colon) break;
    colon++;
    while (*colon == ' ' || *colon == '\t') colon++;
    size_t len = strcspn(colon, "\n");
    if (len > 0) snprintf(out, cap, "%.*s", (int)len, colon);
    break;
  }
  fclose(f);
}

static const char *openmp_version(void) {
#ifdef _OPENMP
  switch (_OPENMP) {
  case 201107: return "OpenMP 3.1";
  case 201307: return "OpenMP 4.0";
  case 201511: return "OpenMP 4.5";
  case 201811: return "OpenMP 5.0";
  case 202011: return "OpenMP 5.1";
  case 202111: return "OpenMP 5.2";
  default: return "OpenMP";
  }
#else
  return "serial";
#endif
}

static sla2_status cpu_init(sla2_backend_device **out_devices, size_t *out_count, char *reason,
                            size_t reason_capacity) {
  if (reason && reason_capacity) reason[0] = '\0';
  read_model_name(cpu_description, sizeof cpu_description);
  const cpu_kernels *kt = cpu_kernels_select();
  snprintf(cpu_driver, sizeof cpu_driver, "%s, %s kernels", openmp_version(), kt->name);
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  cpu_device.iface = &cpu_iface;
  cpu_device.ctx = NULL;
  cpu_device.info.name = "cpu";
  cpu_device.info.backend = "cpu";
  cpu_device.info.description = cpu_description;
  cpu_device.info.driver = cpu_driver;
  cpu_device.info.type = SLA2_DEVICE_CPU;
  cpu_device.info.caps = 0u;
  if (strncmp(kt->name, "avx512", 6) == 0) cpu_device.info.caps |= SLA2_CAP_INT8_DOT;
  if (strcmp(kt->name, "avx512_bf16") == 0) cpu_device.info.caps |= SLA2_CAP_BF16;
  cpu_device.info.memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
  cpu_device.info.compute_units = cpu_default_threads();
  *out_devices = &cpu_device;
  *out_count = 1;
  return SLA2_OK;
}

const sla2_backend_reg *sla2_backend_cpu_reg(void) {
  static const sla2_backend_reg reg = {
      .api_version = SLA2_BACKEND_API_VERSION,
      .name = "cpu",
      .init = cpu_init,
  };
  return &reg;
}
