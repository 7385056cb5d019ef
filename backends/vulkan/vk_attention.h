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
sla2_status vk_attention_coopmat(vk_run *r, const sla2_node *node);

/* Workgroup-scope cooperative-matrix kernel (vk_attention_cm2.c): f16 DENSE_ATTN and f16
 * SPARSE_ATTN of quant mode `none` on devices with dev->coopmat2. The scratch it needs for graph g
 * (the KSPLIT buffer; 0 when its sparse kernel does not run). */
bool vk_attention_cm2_fits(const vk_device *dev, const sla2_graph *g, const sla2_node *node);
sla2_status vk_attention_cm2(vk_run *r, const sla2_node *node);
size_t vk_attention_cm2_scratch_bytes(const vk_device *dev, const sla2_graph *g);

#endif
