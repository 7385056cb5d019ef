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
/* SPARSE_ATTN in quant none on the raw K (Q's 16-bit type) instead of K~: the scores differ from
 * the contract's by smooth_k's per-row constant s q . mean_N(K), which leaves the softmax as it is;
 * lse_shift [B, H, N] holds that constant (NULL: none, K~ = K) and may be the LSE output itself. */
sla2_status cuda_op_attention_raw_k(const cuda_exec *x, const sla2_node *node, cuda_t4 k, const float *lse_shift);
/* The kernel SPARSE/DENSE of this graph would run on: "wgmma" (Hopper), "mma" or "simt" (tools). */
const char *cuda_attention_path(const cuda_exec *x, const sla2_node *node);

/* Shared kernels of the node path and the fused forward (cuda_fused_*.cu). */

/* Column statistics over all N rows (cuda_fused_blocks.cu): ksum[bh * D + d] += sum of K (double)
 * when ksum is non-NULL; vamax[bh * D + d] = max |V| as f32 bits when vamax is non-NULL. Both must
 * be zeroed first. */
sla2_status cuda_colstats_launch(const cuda_exec *x, cuda_t4 k, double *ksum, cuda_t4 v, unsigned *vamax);
/* The Hopper linear branch's query features, made by the pass over Q blocks: phi(q) (softmax
 * over the D <= 128 channels) rounded to V's 16-bit type into phiq [BH, N, D]. */
typedef struct cuda_phiq_out {
  void *phiq;
  bool bf16;
} cuda_phiq_out;

/* The sparse branch's LSE shift on raw K (cuda_op_attention_raw_k), made by the pass over Q blocks:
 * out [BH, N] = s q . (ksum / N), ksum the column sums of K [BH, D] (D <= 128). */
typedef struct cuda_qshift_out {
  const double *ksum;
  float *out;
} cuda_qshift_out;

/* Per block of `block` rows of `in`: means (mean_out, [BH, T, D]) and/or INT8 codes and scales
 * (codes [BH, N, D], scales [BH, T]) and/or (phi non-NULL) the light branch's phi(q) and/or
 * (shift non-NULL) the LSE shift; NULL outputs are skipped. */
sla2_status cuda_rowblock_launch(const cuda_exec *x, cuda_t4 in, int block, float *mean_out, int8_t *codes,
                                 float *scales, const cuda_phiq_out *phi, const cuda_qshift_out *shift);

/* The K-side pass (cuda_fused_kv.cu): h_j, z_j and their totals on tensor cores (3xTF32).
 * Node mode reads phi(K~) from PHIK; fused mode reads K and computes K~ (smooth_k), KBAR, phi,
 * KCODES/KSCALE and VCODES/VSCALE on the way, so none of KS (unless quant none needs it), PHIK or
 * a separate pass over V exists. D <= 128. */
typedef struct cuda_kv_args {
  cuda_t4 src;              /* PHIK (node) or K (fused) */
  cuda_t4 v;
  int fused;
  const double *ksum;       /* fused, smooth_k: column sums of K [BH, D]; NULL: K~ = K */
  const unsigned *vamax;    /* fused int8_fp8: column amax of V [BH, D]; NULL: no V codes */
  float *ks;                /* fused: KS out where a later node reads it, else NULL */
  float *kbar;              /* fused: KBAR out */
  int8_t *kcodes;           /* fused int8 modes: KCODES / KSCALE out, else NULL */
  float *kscale;
  uint8_t *vcodes;          /* fused int8_fp8: VCODES / VSCALE out, else NULL */
  float *vscale;
  void *phik16;             /* fused: phi(K~) in V's 16-bit type, contiguous [BH, N, D], else NULL */
  float *hblk, *zblk;       /* per-block states; NULL with htot NULL */
  float *htot, *ztot;       /* htot NULL (fused only): no h_j products at all; z and the rest */
} cuda_kv_args;
#define CUDA_KV_MAX_D 128
/* Scratch bytes the pass needs for its per-group partial totals. */
size_t cuda_kv_scratch_bytes(const cuda_exec *x);
sla2_status cuda_kv_launch(const cuda_exec *x, const cuda_kv_args *a, void *scratch);
/* tot[bh, i] = sum over g < groups of part[bh, g, i] for i < per, in double and a fixed order. */
sla2_status cuda_sum_partials(const cuda_exec *x, const float *part, int groups, long long per, float *tot);

/* The linear branch (cuda_fused_linear.cu) on tensor cores (3xTF32), one CTA per query block.
 * Node mode reads PHIQ and writes OL; fused mode computes phi(Q) from Q and writes
 * O = a OS + (1 - a) OL directly (COMBINE in the epilogue). D <= 128. */
typedef struct cuda_lin_args {
  cuda_t4 src;              /* PHIQ (node) or Q (fused) */
  cuda_t4 out;              /* OL (node) or O (fused) */
  int fused;
  const float *hblk, *zblk, *htot, *ztot;
  const int *lut;
  const float *os;          /* fused: OS */
  const float *alpha;       /* fused: alpha logits */
} cuda_lin_args;
#define CUDA_LIN_MAX_D 128
sla2_status cuda_linear_launch(const cuda_exec *x, const cuda_lin_args *a);

/* The memory-light linear branch with COMBINE on Hopper (cuda_linear_wgmma.cu): whether this
 * graph's fused forward takes it (sm_90a build on a cc 9.0 device, softmax features, D 64 or 128,
 * bq 64 or 128, bk dividing 128, 2 k <= Tn, a TMA-aligned 16-bit V), the preparation after the K
 * pass, and the launch after SPARSE_ATTN. Its scratch lives in slots the fused forward does not
 * expose: PHIK holds phi(K~) in V's type (the K pass writes it, cuda_kv_args.phik16), PHIQ phi(q)
 * likewise (the Q-block pass, cuda_phiq_out), HTOT H_tot (the preparation writes it). */
bool cuda_linear_light_applies(const cuda_exec *x);
/* scratch: cuda_light_htot_scratch_bytes, for the partial sums of H_tot (cuda_light_htot.cu) */
sla2_status cuda_linear_light_prepare(const cuda_exec *x, void *scratch);
sla2_status cuda_linear_light_launch(const cuda_exec *x);
/* H_tot = phi(K~)^T V into htot from phi(K~) in V's 16-bit type ([BH, N, D]) on Hopper. */
size_t cuda_light_htot_scratch_bytes(const cuda_exec *x);
sla2_status cuda_light_htot_launch(const cuda_exec *x, const void *phik, void *scratch, float *htot);

/* The whole forward graph as a few fused passes (cuda_fused_forward.c): used for run() over all
 * nodes of a forward graph without keep_intermediates. */
bool cuda_fused_forward_applies(const sla2_graph *g, int first, int count);
sla2_status cuda_fused_forward(const cuda_exec *x);

#ifdef __cplusplus
}
#endif
#endif
