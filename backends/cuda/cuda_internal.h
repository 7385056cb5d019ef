/* CUDA backend internals shared by the host driver (cuda_backend.c, C) and the op launchers
 * (cuda_op_*.cu, CUDA C++).
 *
 * One run of a graph is a cuda_exec: the graph, the bound device buffers, the device context
 * (stream, properties, scratch). Each launcher enqueues its kernels on the device's stream and
 * returns without waiting; errors of the launch itself come back as a status. */
#ifndef SLA2_BACKENDS_CUDA_INTERNAL_H
#define SLA2_BACKENDS_CUDA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "core/graph.h"
#include "sla2/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cuda_device_ctx {
  int ordinal;
  int cc_major, cc_minor;
  int sm_count;
  size_t smem_optin;      /* max dynamic shared memory per block after opt-in */
  cudaStream_t stream;    /* every command of this device goes here, in order */
  void *scratch;          /* grows on demand; only touched by work on `stream` */
  size_t scratch_bytes;
} cuda_device_ctx;

typedef struct cuda_exec {
  const sla2_graph *g;
  void *const *buf;       /* buffers[slot], device memory */
  cuda_device_ctx *dev;
} cuda_exec;

/* A [B, H, N, D] float slot as the kernels see it: the caller's strided view in f32/f16/bf16,
 * or a contiguous f32 intermediate. */
typedef struct cuda_t4 {
  void *base;
  int dtype;              /* SLA2_F32, SLA2_F16, SLA2_BF16 */
  long long s[4];         /* element strides of B, H, N, D */
} cuda_t4;

cuda_t4 cuda_t4_of(const cuda_exec *x, int slot);

/* Maps a CUDA error to a status with the CUDA message ("what" names the operation). */
sla2_status cuda_check(cudaError_t err, const char *what);
/* The last launch error (cudaGetLastError) as a status. */
sla2_status cuda_check_launch(const char *what);
/* At least `bytes` of device scratch, valid until the next call on this device. */
sla2_status cuda_scratch(cuda_device_ctx *dev, size_t bytes, void **out);

/* Op launchers (cuda_op_*.cu). */
sla2_status cuda_op_smooth_k(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_pool(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_feature_map(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_combine(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_route(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_kv_state(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_linear_attn(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_quantize_int8(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_quantize_fp8(const cuda_exec *x, const sla2_node *node);
sla2_status cuda_op_attention(const cuda_exec *x, const sla2_node *node); /* SPARSE and DENSE */
/* "mma" when SPARSE/DENSE of this graph would run on tensor cores, else "simt" (for tools). */
const char *cuda_attention_path(const cuda_exec *x, const sla2_node *node);

#ifdef __cplusplus
}
#endif
#endif
