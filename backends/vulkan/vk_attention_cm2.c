/* Vulkan backend: DENSE_ATTN with f16 Q, K, V, and SPARSE_ATTN of quant mode `none` with f16 Q
 * and V, on workgroup-scope cooperative matrices (shaders/vulkan/attention_cm2_f16.comp); and
 * SPARSE_ATTN of quant mode int8_fp8 (shaders/vulkan/sparse_fp8_cm2.comp). Devices with
 * dev->coopmat2 only. Their f16 operands go to the KSPLIT scratch buffer first: for `none` the
 * f32 K~ split into f16 hi and lo halves (split_f16.comp), for int8_fp8 the codes of Q, K~ and V
 * as f16 (codes_f16.comp).
 *
 * Tile: BR query rows per workgroup of WG invocations, BC keys per step. The default was the
 * fastest in SLA2_VULKAN_CM2_TILE sweeps on the H100 (backends/vulkan/NOTES.md); that variable,
 * "BRxBCxWG" (e.g. 128x64x256), overrides it for measuring. Sparse attention caps BR at the
 * query block and BC at the key block; query blocks of 16 rows stay on the other kernels (the
 * H100 ran tiles of 32 x 16 and up in the suite, none smaller). */
#include "backends/vulkan/vk_attention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shaders/common/sla2_constants.h"

typedef struct cm2_tile {
  uint32_t br, bc, wg;
} cm2_tile;

static const cm2_tile DEFAULT_TILE = {64u, 64u, 128u};

static bool valid_tile(const cm2_tile *t) {
  const bool rows_ok = t->br == 32u || t->br == 64u || t->br == 128u || t->br == 256u;
  const bool keys_ok = t->bc == 32u || t->bc == 64u || t->bc == 128u;
  const bool wg_ok = t->wg == 64u || t->wg == 128u || t->wg == 256u || t->wg == 512u;
  return rows_ok && keys_ok && wg_ok;
}

static cm2_tile tile_of(const sla2_graph *g, const sla2_node *node) {
  cm2_tile t = DEFAULT_TILE;
  const char *v = getenv("SLA2_VULKAN_CM2_TILE");
  cm2_tile forced;
  if (v && sscanf(v, "%ux%ux%u", &forced.br, &forced.bc, &forced.wg) == 3 && valid_tile(&forced)) t = forced;
  if (node->op == SLA2_OP_SPARSE_ATTN) {
    if (t.br > (uint32_t)g->bq) t.br = (uint32_t)g->bq;
    if (t.bc > (uint32_t)g->bk) t.bc = (uint32_t)g->bk;
  }
  return t;
}

static bool multiple(uint32_t x, uint32_t granularity) { return granularity == 0 || x % granularity == 0; }

static bool unit_channel_stride(const sla2_graph *g, int slot) {
  uint32_t s[4];
  vk_slot_strides(g, slot, s);
  return s[3] == 1u;
}

static bool sparse_fp8(const sla2_graph *g, const sla2_node *node) {
  return node->op == SLA2_OP_SPARSE_ATTN && g->quant == SLA2_QUANT_INT8_FP8;
}

/* Dense: f16 Q, K, V and f16 or f32 O. Sparse, quant `none`: f16 Q and V; K~ and O_s are f32, and
 * the hi and lo halves of K~ are indexed in 32 bits. Sparse, int8_fp8: the (contiguous) codes of
 * Q, K~ and V as f16 are indexed in 32 bits. */
static bool operands_fit(const sla2_graph *g, const sla2_node *node) {
  const bool dense = node->op == SLA2_OP_DENSE_ATTN;
  if (sparse_fp8(g, node)) return 3u * (uint64_t)(g->B * g->H * g->N * g->D) <= UINT32_MAX;
  if (!dense && (node->op != SLA2_OP_SPARSE_ATTN || g->quant != SLA2_QUANT_NONE)) return false;
  if (!dense && 2u * (uint64_t)(g->B * g->H * g->N * g->D) > UINT32_MAX) return false;
  const int q = node->in[0], k = node->in[1], v = node->in[2], o = node->out[0];
  if (vk_slot_dtype(g, q) != SLA2_F16 || vk_slot_dtype(g, v) != SLA2_F16) return false;
  if (dense && vk_slot_dtype(g, k) != SLA2_F16) return false;
  const uint32_t o_dt = vk_slot_dtype(g, o);
  if (o_dt != SLA2_F16 && o_dt != SLA2_F32) return false;
  /* Tensor-layout loads and stores take unit channel strides (the split reads K~ elementwise). */
  return unit_channel_stride(g, q) && unit_channel_stride(g, v) && unit_channel_stride(g, o) &&
         (!dense || unit_channel_stride(g, k));
}

bool vk_cm2_products_fit(const vk_device *dev, uint32_t br, uint32_t bc, uint32_t wg, uint32_t D) {
  if (!dev->coopmat2 || br < 32u) return false;
  uint32_t bit = 0;
  while (bit < 6u && (32u << bit) != wg) bit++;
  if (bit == 6u || !(dev->cm2_invocations & (1u << bit))) return false;
  const uint32_t *gr = dev->cm2_granularity;
  /* S = Q K^T is BR x BC over D; O += P V is BR x D over BC. */
  return D % 16u == 0 && D <= 256u && multiple(br, gr[0]) && multiple(bc, gr[1]) && multiple(D, gr[2]) &&
         multiple(D, gr[1]) && multiple(bc, gr[2]);
}

bool vk_attention_cm2_fits(const vk_device *dev, const sla2_graph *g, const sla2_node *node) {
  if (!dev->coopmat2 || !operands_fit(g, node)) return false;
  const cm2_tile t = tile_of(g, node);
  return vk_cm2_products_fit(dev, t.br, t.bc, t.wg, (uint32_t)g->D);
}

size_t vk_attention_cm2_scratch_bytes(const vk_device *dev, const sla2_graph *g) {
  const sla2_node *node = sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN);
  if (!node || !vk_attention_cm2_fits(dev, g, node)) return 0;
  /* int8_fp8: the codes of Q, K~ and V as f16; `none`: K~'s hi and lo halves */
  const size_t tensors = sparse_fp8(g, node) ? 3u : 2u;
  return tensors * (size_t)(g->B * g->H * g->N * g->D) * sizeof(uint16_t);
}

bool vk_attention_cm2_fp8_runs(const vk_device *dev, const sla2_graph *g) {
  const sla2_node *node = sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN);
  return node && sparse_fp8(g, node) && vk_attention_cm2_fits(dev, g, node);
}

bool vk_attention_cm2_split_runs(const vk_device *dev, const sla2_graph *g) {
  const sla2_node *node = sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN);
  return node && g->quant == SLA2_QUANT_NONE && vk_attention_cm2_fits(dev, g, node);
}

bool vk_attention_cm2_raw_k_fits(const sla2_graph *g) {
  return vk_slot_dtype(g, SLA2_SLOT_K) == SLA2_F16 && unit_channel_stride(g, SLA2_SLOT_K);
}

uint32_t vk_attention_cm2_lo_offset(const sla2_graph *g) { return (uint32_t)(g->B * g->H * g->N * g->D); }

/* KSPLIT of int8_fp8: the sparse node's codes of Q, K~ and V (inputs 4, 6, 8) as f16, in that
 * order. */
uint32_t vk_attention_cm2_f16_at(const sla2_graph *g, int slot) {
  const sla2_node *node = sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN);
  const uint32_t nd = (uint32_t)(g->B * g->H * g->N * g->D);
  return slot == node->in[4] ? 0u : slot == node->in[6] ? nd : 2u * nd;
}

typedef struct cm2_push {
  uint32_t q_strides[4], k_strides[4], v_strides[4], o_strides[4];
  uint32_t N;
  float scale_log2e;
  uint32_t bq, bk, Tm, k, lo_offset;
} cm2_push;

typedef struct split_push {
  uint32_t strides[4];
  uint32_t N, D, lo_offset;
} split_push;

/* K~ into f16 hi and lo halves, contiguous [B, H, N, D], in the KSPLIT scratch. */
static sla2_status split_k(vk_run *r, int ks, uint32_t lo_offset) {
  const sla2_graph *g = r->g;
  split_push p = {.N = (uint32_t)g->N, .D = (uint32_t)g->D, .lo_offset = lo_offset};
  vk_slot_strides(g, ks, p.strides);
  vk_dispatch_desc d = {.shader = VK_SHADER_split_f16, .push = &p, .push_bytes = sizeof p};
  d.bind[0] = r->buf[ks], d.bind[1] = r->dev->scratch[VK_SCRATCH_KSPLIT];
  const uint64_t per_bh = (uint64_t)g->N * (uint64_t)g->D, groups = (per_bh + 255u) / 256u;
  d.groups[0] = groups < 65535u ? (uint32_t)groups : 65535u;
  d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}

bool vk_cm2_rows_aligned(const uint32_t strides[4]) {
  return strides[0] % 8u == 0 && strides[1] % 8u == 0 && strides[2] % 8u == 0;
}

/* K and V tiles can be loaded whole from inside the tensors, with rows aligned to 16 bytes. */
static bool inner_kv(const cm2_push *p, int64_t N, uint32_t bc) {
  return vk_cm2_rows_aligned(p->k_strides) && vk_cm2_rows_aligned(p->v_strides) && N >= (int64_t)bc;
}

/* The INT8 (or E4M3) codes of an intermediate slot as f16 values (or 2^-8 times their values)
 * into the KSPLIT scratch from element `at` on (codes_f16.comp). */
static sla2_status codes_to_f16(vk_run *r, int slot, bool e4m3, uint32_t at) {
  const sla2_graph *g = r->g;
  const uint32_t push[2] = {(uint32_t)(g->B * g->H * g->N * g->D / 4), at / 4u}; /* words; out offset */
  vk_dispatch_desc d = {.shader = VK_SHADER_codes_f16, .spec = {e4m3}, .spec_count = 1, .push = push,
                        .push_bytes = sizeof push};
  d.bind[0] = r->buf[slot], d.bind[1] = r->dev->scratch[VK_SCRATCH_KSPLIT];
  const uint32_t groups = (push[0] + 255u) / 256u;
  d.groups[0] = groups < 65535u ? groups : 65535u, d.groups[1] = 1, d.groups[2] = 1;
  return vk_dispatch(r, &d);
}

typedef struct fp8_push {
  uint32_t N, bq, bk, Tm, Tn, k;
  float scale;
  uint32_t k_offset, v_offset;
} fp8_push;

/* SPARSE_ATTN of int8_fp8 (sparse_fp8_cm2.comp) on the codes converted to f16. */
static sla2_status sparse_fp8_cm2(vk_run *r, const sla2_node *node, cm2_tile t) {
  const sla2_graph *g = r->g;
  fp8_push p = {.N = (uint32_t)g->N, .bq = (uint32_t)g->bq, .bk = (uint32_t)g->bk, .Tm = (uint32_t)g->Tm,
                .Tn = (uint32_t)g->Tn, .k = (uint32_t)g->k, .scale = g->scale,
                .k_offset = vk_attention_cm2_f16_at(g, node->in[6]), .v_offset = vk_attention_cm2_f16_at(g, node->in[8])};
  if (!r->f16_codes) { /* else the quantize nodes wrote them (vk_ops_rows.c) */
    sla2_status st = codes_to_f16(r, node->in[4], false, vk_attention_cm2_f16_at(g, node->in[4]));
    if (st == SLA2_OK) st = codes_to_f16(r, node->in[6], false, vk_attention_cm2_f16_at(g, node->in[6]));
    if (st == SLA2_OK) st = codes_to_f16(r, node->in[8], true, vk_attention_cm2_f16_at(g, node->in[8]));
    if (st != SLA2_OK) return st;
  }
  vk_dispatch_desc d = {.shader = VK_SHADER_sparse_fp8_cm2,
                        .spec = {t.wg, (uint32_t)g->D, t.br, t.bc, g->N >= (int64_t)t.bc},
                        .spec_count = 5, .push = &p, .push_bytes = sizeof p};
  d.bind[0] = r->dev->scratch[VK_SCRATCH_KSPLIT], d.bind[3] = r->buf[node->in[3]];
  d.bind[4] = r->buf[node->in[5]], d.bind[5] = r->buf[node->in[7]], d.bind[6] = r->buf[node->in[9]];
  d.bind[7] = r->buf[node->out[0]], d.bind[8] = r->buf[node->out[1]];
  d.groups[0] = (uint32_t)g->Tm * ((uint32_t)g->bq / t.br), d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}

sla2_status vk_attention_cm2(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  const bool sparse = node->op == SLA2_OP_SPARSE_ATTN;
  const cm2_tile t = tile_of(g, node);
  if (sparse_fp8(g, node)) return sparse_fp8_cm2(r, node, t);
  const bool write_lse = node->out[1] >= 0;
  cm2_push p = {.N = (uint32_t)g->N, .scale_log2e = (float)((double)g->scale * 1.4426950408889634)};
  vk_dispatch_desc d = {.shader = VK_SHADER_attention_cm2_f16};
  vk_slot_strides(g, node->in[0], p.q_strides);
  vk_slot_strides(g, node->in[2], p.v_strides);
  vk_slot_strides(g, node->out[0], p.o_strides);
  d.bind[0] = r->buf[node->in[0]], d.bind[2] = r->buf[node->in[2]];
  if (sparse) {
    p.bq = (uint32_t)g->bq, p.bk = (uint32_t)g->bk, p.Tm = (uint32_t)g->Tm, p.k = (uint32_t)g->k;
    d.bind[3] = r->buf[node->in[3]];
  }
  if (sparse && r->raw_k) {
    vk_slot_strides(g, SLA2_SLOT_K, p.k_strides);
    d.bind[1] = r->buf[SLA2_SLOT_K];
  } else if (sparse) {
    const uint32_t N = (uint32_t)g->N, D = (uint32_t)g->D;
    p.lo_offset = vk_attention_cm2_lo_offset(g);
    p.scale_log2e *= 2.0f; /* the split halves K~ (sla2_split_k) */
    if (!r->k_halves) { /* else SMOOTH_K wrote them (vk_ops_rows.c) */
      sla2_status st = split_k(r, node->in[1], p.lo_offset);
      if (st != SLA2_OK) return st;
    }
    const uint32_t halves[4] = {(uint32_t)g->H * N * D, N * D, D, 1u};
    memcpy(p.k_strides, halves, sizeof halves);
    d.bind[1] = r->dev->scratch[VK_SCRATCH_KSPLIT];
  } else {
    vk_slot_strides(g, node->in[1], p.k_strides);
    d.bind[1] = r->buf[node->in[1]];
  }
  d.bind[7] = r->buf[node->out[0]];
  if (write_lse) d.bind[8] = r->buf[node->out[1]];
  const uint32_t spec[] = {t.wg, (uint32_t)g->D, t.br, t.bc, vk_slot_dtype(g, node->out[0]) == SLA2_F32,
                           inner_kv(&p, g->N, t.bc), sparse, write_lse, !r->raw_k, sparse && r->lse_shift};
  for (uint32_t i = 0; i < sizeof spec / sizeof spec[0]; i++) d.spec[i] = spec[i];
  d.spec_count = sizeof spec / sizeof spec[0];
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = sparse ? (uint32_t)g->Tm * ((uint32_t)g->bq / t.br) : (uint32_t)((g->N + t.br - 1) / t.br);
  d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}
