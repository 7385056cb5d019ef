/* Vulkan backend: the row-wise and per-channel nodes: SMOOTH_K, POOL, FEATURE_MAP,
 * QUANTIZE_INT8, QUANTIZE_FP8 and COMBINE. Push-constant structs mirror the shaders' blocks. */
#include <string.h>

#include "backends/vulkan/vk_attention.h"
#include "backends/vulkan/vk_internal.h"
#include "shaders/common/sla2_constants.h"

#define ROWS_PER_GROUP 64u /* smooth_apply, quantize_fp8 */

static uint32_t div_up(int64_t a, int64_t b) { return (uint32_t)((a + b - 1) / b); }

typedef struct colreduce_push {
  uint32_t strides[4];
  uint32_t N, D, H, rows_per_chunk, chunks;
} colreduce_push;

/* Per-(b, h, channel) float-float sum, or max |x| (maxabs), of a [B, H, N, D] slot over N into the
 * COLSTAT scratch: partials per chunk of VK_COLREDUCE_ROWS rows, then the partials reduced. */
static sla2_status column_stats(vk_run *r, int src, bool maxabs) {
  const sla2_graph *g = r->g;
  vk_device *dev = r->dev;
  uint32_t chunks = div_up(g->N, VK_COLREDUCE_ROWS), tiles = div_up(g->D, 128); /* channels per workgroup */
  vk_dispatch_desc d = {.shader = VK_SHADER_colreduce, .spec = {256, maxabs, vk_slot_load_dtype(g, src), 0}, .spec_count = 4};
  colreduce_push p = {.N = (uint32_t)g->N, .D = (uint32_t)g->D, .H = (uint32_t)g->H,
                      .rows_per_chunk = VK_COLREDUCE_ROWS, .chunks = chunks};
  vk_slot_strides(g, src, p.strides);
  d.bind[0] = r->buf[src];
  d.bind[2] = chunks == 1 ? dev->scratch[VK_SCRATCH_COLSTAT] : dev->scratch[VK_SCRATCH_PARTIAL];
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = chunks * tiles, d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  sla2_status st = vk_dispatch(r, &d);
  if (st != SLA2_OK || chunks == 1) return st;
  /* The partials ([B, H, chunks, D] pairs) reduced in one chunk. */
  d.spec[2] = SLA2_F32, d.spec[3] = 1;
  p = (colreduce_push){.N = chunks, .D = (uint32_t)g->D, .H = (uint32_t)g->H, .rows_per_chunk = chunks, .chunks = 1};
  d.bind[0] = NULL;
  d.bind[1] = dev->scratch[VK_SCRATCH_PARTIAL];
  d.bind[2] = dev->scratch[VK_SCRATCH_COLSTAT];
  d.groups[0] = tiles;
  return vk_dispatch(r, &d);
}

typedef struct rows_push {
  uint32_t strides[4];
  uint32_t N, D, H, rows;
  uint32_t f16_at;    /* quantize_fp8 with F16_CODES only */
  uint32_t lo_offset; /* smooth_apply with SPLIT only */
} rows_push;

sla2_status vk_op_smooth_k(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  int src = node->in[0];
  if (g->smooth_k) {
    sla2_status st = column_stats(r, src, false);
    if (st != SLA2_OK) return st;
  }
  vk_dispatch_desc d = {.shader = VK_SHADER_smooth_apply, .spec = {256, vk_slot_load_dtype(g, src), g->smooth_k, r->k_halves},
                        .spec_count = 4};
  rows_push p = {.N = (uint32_t)g->N, .D = (uint32_t)g->D, .H = (uint32_t)g->H, .rows = ROWS_PER_GROUP};
  vk_slot_strides(g, src, p.strides);
  d.bind[0] = r->buf[src];
  d.bind[1] = g->smooth_k ? r->dev->scratch[VK_SCRATCH_COLSTAT] : NULL;
  d.bind[2] = r->buf[node->out[0]];
#ifdef SLA2_VK_HAVE_COOPMAT2
  if (r->k_halves) d.bind[3] = r->dev->scratch[VK_SCRATCH_KSPLIT], p.lo_offset = vk_attention_cm2_lo_offset(g);
#endif
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = div_up(g->N, ROWS_PER_GROUP), d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}

typedef struct block_push {
  uint32_t strides[4];
  uint32_t N, D, H, block, T;
  uint32_t f16_at; /* quantize_int8 with F16_CODES only */
} block_push;

static block_push block_push_of(const sla2_graph *g, int src, int block) {
  block_push p = {.N = (uint32_t)g->N, .D = (uint32_t)g->D, .H = (uint32_t)g->H, .block = (uint32_t)block,
                  .T = div_up(g->N, block)};
  vk_slot_strides(g, src, p.strides);
  return p;
}

sla2_status vk_op_pool(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  int src = node->in[0];
  block_push p = block_push_of(g, src, node->block);
  vk_dispatch_desc d = {.shader = VK_SHADER_pool, .spec = {256, vk_slot_load_dtype(g, src)}, .spec_count = 2};
  d.bind[0] = r->buf[src];
  d.bind[1] = r->buf[node->out[0]];
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = p.T, d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}

/* With r->f16_codes the codes go to KSPLIT as f16 (vk_attention_cm2.c); *at: the first uvec2. */
static void f16_codes_target(vk_run *r, const sla2_node *node, vk_buffer **buf, uint32_t *at) {
#ifdef SLA2_VK_HAVE_COOPMAT2
  if (r->f16_codes) *buf = r->dev->scratch[VK_SCRATCH_KSPLIT], *at = vk_attention_cm2_f16_at(r->g, node->out[0]) / 4u;
#else
  (void)r, (void)node, (void)buf, (void)at;
#endif
}

sla2_status vk_op_quantize_int8(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  int src = node->in[0];
  block_push p = block_push_of(g, src, node->block);
  vk_dispatch_desc d = {.shader = VK_SHADER_quantize_int8, .spec = {256, vk_slot_load_dtype(g, src), r->f16_codes},
                        .spec_count = 3};
  d.bind[0] = r->buf[src];
  d.bind[1] = r->buf[node->out[0]];
  d.bind[2] = r->buf[node->out[1]];
  f16_codes_target(r, node, &d.bind[3], &p.f16_at);
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = p.T, d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}

sla2_status vk_op_quantize_fp8(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  int src = node->in[0];
  sla2_status st = column_stats(r, src, true);
  if (st != SLA2_OK) return st;
  vk_dispatch_desc d = {.shader = VK_SHADER_quantize_fp8, .spec = {256, vk_slot_load_dtype(g, src), r->f16_codes},
                        .spec_count = 3};
  rows_push p = {.N = (uint32_t)g->N, .D = (uint32_t)g->D, .H = (uint32_t)g->H, .rows = ROWS_PER_GROUP};
  vk_slot_strides(g, src, p.strides);
  d.bind[0] = r->buf[src];
  d.bind[1] = r->dev->scratch[VK_SCRATCH_COLSTAT];
  d.bind[2] = r->buf[node->out[0]];
  d.bind[3] = r->buf[node->out[1]];
  f16_codes_target(r, node, &d.bind[4], &p.f16_at);
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = div_up(g->N, ROWS_PER_GROUP), d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}

typedef struct feature_push {
  uint32_t strides[4];
  uint32_t N, D, H;
  float scale;
} feature_push;

sla2_status vk_op_feature_map(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  int src = node->in[0];
  /* phi(q) also writes the sparse kernel's LSE shift (vk_run.lse_shift) */
  const bool shift = r->lse_shift && src == SLA2_SLOT_Q;
  vk_dispatch_desc d = {.shader = VK_SHADER_feature_map,
                        .spec = {256, vk_slot_load_dtype(g, src), (uint32_t)g->feature_map, r->light_linear, shift},
                        .spec_count = 5};
  feature_push p = {.N = (uint32_t)g->N, .D = (uint32_t)g->D, .H = (uint32_t)g->H, .scale = g->scale};
  vk_slot_strides(g, src, p.strides);
  d.bind[0] = r->buf[src];
  d.bind[1] = r->buf[node->out[0]];
  if (shift) {
    d.bind[2] = r->dev->scratch[VK_SCRATCH_COLSTAT];
    d.bind[3] = r->buf[sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN)->out[1]];
  }
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = div_up(g->N, 256 / 32), d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}

typedef struct combine_push {
  uint32_t strides[4];
  uint32_t N, D, H, bq, Tm, pairs;
} combine_push;

sla2_status vk_op_combine(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  int out = node->out[0];
  uint32_t dtype = vk_slot_dtype(g, out);
  combine_push p = {.N = (uint32_t)g->N, .D = (uint32_t)g->D, .H = (uint32_t)g->H, .bq = (uint32_t)g->bq,
                    .Tm = (uint32_t)g->Tm};
  vk_slot_strides(g, out, p.strides);
  /* Channels d, d + 1 (d even) share a 32-bit word when every stride keeps offsets even. */
  p.pairs = p.strides[3] == 1 && p.strides[0] % 2 == 0 && p.strides[1] % 2 == 0 && p.strides[2] % 2 == 0;
  vk_dispatch_desc d = {.shader = VK_SHADER_combine, .spec = {256, dtype, g->alpha_per_block}, .spec_count = 3};
  d.bind[0] = r->buf[node->in[0]];
  d.bind[1] = r->buf[node->in[1]];
  d.bind[2] = r->buf[node->in[2]];
  d.bind[3] = r->buf[out];
  d.push = &p, d.push_bytes = sizeof p;
  uint64_t groups = ((uint64_t)g->N * (uint64_t)g->D / 2 + 255) / 256;
  d.groups[0] = groups > 65535 ? 65535 : (uint32_t)groups; /* the shader strides over the rest */
  d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}
