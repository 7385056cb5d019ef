/* Vulkan backend: the attention kernels' geometry and the cooperative-matrix path's entry points. */
#ifndef SLA2_BACKENDS_VULKAN_ATTENTION_H
#define SLA2_BACKENDS_VULKAN_ATTENTION_H

#include "backends/vulkan/vk_internal.h"

typedef struct vk_attention_geometry {
  uint32_t tpr;  /* invocations per query row */
  uint32_t rows; /* query rows per workgroup */
  uint32_t kc;   /* keys per shared-memory chunk */
} vk_attention_geometry;

/* Baseline kernel for head dim D within the device's shared memory (at most 32 KiB used). */
vk_attention_geometry vk_attention_baseline_geometry(const vk_device *dev, int64_t D);

/* Cooperative-matrix kernel: whether it takes this node (dtypes, head dim, quant mode), and the
 * recorder. Only called on devices whose path is not the baseline. */
bool vk_attention_coopmat_fits(const vk_device *dev, const sla2_graph *g, const sla2_node *node);
/* ... and whether it can take graph g's SPARSE_ATTN of quant `none` on the raw f16 K in a whole
 * forward (vk_run.raw_k; the recorder then runs it for that node). */
bool vk_attention_coopmat_raw_k_fits(const vk_device *dev, const sla2_graph *g);
sla2_status vk_attention_coopmat(vk_run *r, const sla2_node *node);

/* Workgroup-scope products of a BR x BC tile over head dim D (and BR x D over BC) in workgroups
 * of wg invocations are offered by the device. */
bool vk_cm2_products_fit(const vk_device *dev, uint32_t br, uint32_t bc, uint32_t wg, uint32_t D);
/* A 16-bit tensor's b, h and n strides (elements) are multiples of 8: its rows start on 16-byte
 * boundaries, so tiles can be loaded from inside it without bounds checks. */
bool vk_cm2_rows_aligned(const uint32_t strides[4]);
/* Workgroup-scope cooperative-matrix kernel (vk_attention_cm2.c): f16 DENSE_ATTN and f16
 * SPARSE_ATTN of quant mode `none` on devices with dev->coopmat2. The scratch it needs for graph g
 * (the KSPLIT buffer; 0 when its sparse kernel does not run). */
bool vk_attention_cm2_fits(const vk_device *dev, const sla2_graph *g, const sla2_node *node);
sla2_status vk_attention_cm2(vk_run *r, const sla2_node *node);
size_t vk_attention_cm2_scratch_bytes(const vk_device *dev, const sla2_graph *g);
/* The int8_fp8 sparse kernel on cooperative matrices 2 runs for graph g, so in a whole forward
 * the quantize nodes can write their codes straight into KSPLIT as f16 (vk_run.f16_codes). */
bool vk_attention_cm2_fp8_runs(const vk_device *dev, const sla2_graph *g);
/* The quant `none` sparse kernel on cooperative matrices 2 runs for graph g, so in a whole forward
 * SMOOTH_K can write K~'s f16 halves into KSPLIT itself (vk_run.k_halves). */
bool vk_attention_cm2_split_runs(const vk_device *dev, const sla2_graph *g);
/* ... and can read the raw K (f16, unit channel stride) instead, which a whole forward prefers:
 * its scores then differ from the contract's by smooth_k's per-row constant s q . mean_N(K), which
 * FEATURE_MAP of Q writes into the LSE for the kernel to take off (vk_run.raw_k, lse_shift). */
bool vk_attention_cm2_raw_k_fits(const sla2_graph *g);
/* Where the lo halves of K~ start in KSPLIT, in elements (the hi halves start at 0). */
uint32_t vk_attention_cm2_lo_offset(const sla2_graph *g);
/* Where the f16 copy of codes slot `slot` (QCODES, KCODES or VCODES) starts in KSPLIT, in
 * elements. */
uint32_t vk_attention_cm2_f16_at(const sla2_graph *g, int slot);

/* The memory-light linear branch (vk_linear_light.c, DESIGN §2.5) on cooperative matrices 2:
 * taken for a whole forward (sla2_graph_is_whole_forward) where vk_linear_light_fits holds. Then
 * FEATURE_MAP writes f16 features, KV_STATE only the totals and LINEAR_ATTN walks the LUT row;
 * HBLK and ZBLK are unused by the graph and hold the state kernel's chunk partials. */
bool vk_linear_light_fits(const vk_device *dev, const sla2_graph *g);
size_t vk_linear_light_scratch_bytes(const vk_device *dev, const sla2_graph *g);
sla2_status vk_linear_light_state(vk_run *r, const sla2_node *node);
sla2_status vk_linear_light_attn(vk_run *r, const sla2_node *node);
/* With the light form, COMBINE folds into the LUT-row kernel's epilogue where O is f16 with unit
 * channel stride (the COMBINE node then records nothing). */
bool vk_linear_light_combines(const sla2_graph *g);

#endif
