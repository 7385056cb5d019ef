/* CPU backend internals shared by the op drivers (cpu_op_*.c).
 *
 * One run of a graph is described by a cpu_exec (graph, bound buffers, kernel table, thread
 * count). Each op driver parallelizes with OpenMP over (batch, head, block) work items and calls
 * the kernel table (cpu_kernels.h) for its inner loops. Without OpenMP everything runs serially
 * through the same code. */
#ifndef SLA2_BACKENDS_CPU_INTERNAL_H
#define SLA2_BACKENDS_CPU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/cpu/cpu_kernels.h"
#include "core/graph.h"
#include "sla2/status.h"

#ifdef _OPENMP
#include <omp.h>
#define CPU_PRAGMA(x) _Pragma(#x)
static inline int cpu_thread_id(void) { return omp_get_thread_num(); }
static inline int cpu_default_threads(void) { return omp_get_max_threads(); }
#else
#define CPU_PRAGMA(x)
static inline int cpu_thread_id(void) { return 0; }
static inline int cpu_default_threads(void) { return 1; }
#endif

/* Everything one node needs. */
typedef struct cpu_exec {
  const sla2_graph *g;
  void *const *buf;      /* buffers[slot], host memory */
  const cpu_kernels *kt;
  int threads;           /* OpenMP team size (1 without OpenMP) */
} cpu_exec;

/* A [B, H, N, D] float slot: the caller's strided view in f32/f16/bf16, or a contiguous f32
 * intermediate (strides filled in). */
typedef struct cpu_tensor4 {
  char *base;
  int dtype;
  size_t elem;           /* bytes per element */
  int64_t s[4];          /* element strides of B, H, N, D */
} cpu_tensor4;

cpu_tensor4 cpu_tensor4_of(const cpu_exec *x, int slot);
/* f32 with unit channel stride: rows can be used in place. */
static inline bool cpu_tensor4_direct(const cpu_tensor4 *t) {
  return t->dtype == SLA2_F32 && t->s[3] == 1;
}
static inline void *cpu_tensor4_at(const cpu_tensor4 *t, int64_t b, int64_t h, int64_t n) {
  return t->base + (size_t)(b * t->s[0] + h * t->s[1] + n * t->s[2]) * t->elem;
}
/* Row (b, h, n) as D floats: a pointer into the tensor when direct, else converted into
 * scratch (D floats) and scratch returned. */
const float *cpu_load_row(const cpu_exec *x, const cpu_tensor4 *t, int64_t b, int64_t h, int64_t n,
                          float *scratch);
/* Rows [begin, end) of (b, h) as f32 rows with a row stride: in place when direct, else
 * converted into scratch ((end - begin) x D floats) with stride D. */
const float *cpu_load_rows(const cpu_exec *x, const cpu_tensor4 *t, int64_t b, int64_t h,
                           int64_t begin, int64_t end, float *scratch, int64_t *stride);
/* Writes D floats to row (b, h, n), rounding half to even to the tensor's dtype. */
void cpu_store_row(const cpu_exec *x, const cpu_tensor4 *t, int64_t b, int64_t h, int64_t n,
                   const float *src);

/* 64-byte aligned host memory (NULL on failure; bytes may be 0). */
void *cpu_alloc(size_t bytes);
void cpu_free(void *p);

/* a * b, or SIZE_MAX on overflow (so the allocation fails cleanly). */
size_t cpu_mul_size(size_t a, size_t b);

/* Scratch for one op (cpu_memory.c): open with the sum of cpu_arena_piece() of every piece,
 * take the pieces (64-byte aligned) in any order, close when the op is done. */
typedef struct cpu_arena {
  char *base;
  size_t size, used;
  bool cached;
} cpu_arena;
size_t cpu_arena_piece(size_t bytes);
sla2_status cpu_arena_open(cpu_arena *a, size_t bytes, const char *what);
void *cpu_arena_take(cpu_arena *a, size_t bytes);
void cpu_arena_close(cpu_arena *a);
/* Frees the cached block (get_proc_address "sla2_cpu_release_scratch"). */
void cpu_arena_release_cache(void);

/* Rows of block t of `block` rows: [t * block, min(N, (t + 1) * block)). */
static inline int64_t cpu_block_end(const sla2_graph *g, int64_t t, int64_t block) {
  int64_t end = (t + 1) * block;
  return end < g->N ? end : g->N;
}

/* Op drivers. Each validates nothing the backend's supports() already checked. */
sla2_status cpu_op_smooth_k(const cpu_exec *x, const sla2_node *node);
sla2_status cpu_op_pool(const cpu_exec *x, const sla2_node *node);
sla2_status cpu_op_feature_map(const cpu_exec *x, const sla2_node *node);
sla2_status cpu_op_combine(const cpu_exec *x, const sla2_node *node);
sla2_status cpu_op_route(const cpu_exec *x, const sla2_node *node);
sla2_status cpu_op_kv_state(const cpu_exec *x, const sla2_node *node);
sla2_status cpu_op_quantize_int8(const cpu_exec *x, const sla2_node *node);
sla2_status cpu_op_quantize_fp8(const cpu_exec *x, const sla2_node *node);
sla2_status cpu_op_attention(const cpu_exec *x, const sla2_node *node); /* SPARSE and DENSE */
sla2_status cpu_op_linear_attn(const cpu_exec *x, const sla2_node *node);

#endif
