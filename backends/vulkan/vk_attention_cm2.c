/* Vulkan backend: DENSE_ATTN with f16 Q, K, V on workgroup-scope cooperative matrices
 * (shaders/vulkan/attention_cm2_f16.comp). Devices with dev->coopmat2 only.
 *
 * Tile: BR query rows per workgroup of WG invocations, BC keys per step. The default was the
 * fastest in SLA2_VULKAN_CM2_TILE sweeps on the H100 (backends/vulkan/NOTES.md); that variable,
 * "BRxBCxWG" (e.g. 128x64x256), overrides it for measuring. */
#include "backends/vulkan/vk_attention.h"

#include <stdio.h>
#include <stdlib.h>

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

static cm2_tile tile_of(void) {
  cm2_tile t = DEFAULT_TILE;
  const char *v = getenv("SLA2_VULKAN_CM2_TILE");
  cm2_tile forced;
  if (v && sscanf(v, "%ux%ux%u", &forced.br, &forced.bc, &forced.wg) == 3 && valid_tile(&forced)) t = forced;
  return t;
}

static bool multiple(uint32_t x, uint32_t granularity) { return granularity == 0 || x % granularity == 0; }

bool vk_attention_cm2_fits(const vk_device *dev, const sla2_graph *g, const sla2_node *node) {
  if (!dev->coopmat2 || node->op != SLA2_OP_DENSE_ATTN) return false;
  for (int i = 0; i < 3; i++)
    if (vk_slot_dtype(g, node->in[i]) != SLA2_F16) return false;
  const uint32_t o_dt = vk_slot_dtype(g, node->out[0]);
  if (o_dt != SLA2_F16 && o_dt != SLA2_F32) return false;
  /* Tensor-layout loads and stores take unit channel strides. */
  uint32_t s[4];
  const int slots[4] = {node->in[0], node->in[1], node->in[2], node->out[0]};
  for (int i = 0; i < 4; i++) {
    vk_slot_strides(g, slots[i], s);
    if (s[3] != 1u) return false;
  }
  const cm2_tile t = tile_of();
  const uint32_t D = (uint32_t)g->D;
  uint32_t bit = 0;
  while (bit < 6u && (32u << bit) != t.wg) bit++;
  if (bit == 6u || !(dev->cm2_invocations & (1u << bit))) return false;
  const uint32_t *gr = dev->cm2_granularity;
  /* S = Q K^T is BR x BC over D; O += P V is BR x D over BC. */
  return D % 16u == 0 && D <= 256u && multiple(t.br, gr[0]) && multiple(t.bc, gr[1]) && multiple(D, gr[2]) &&
         multiple(D, gr[1]) && multiple(t.bc, gr[2]);
}

typedef struct cm2_push {
  uint32_t q_strides[4], k_strides[4], v_strides[4], o_strides[4];
  uint32_t N;
  float scale_log2e;
  uint32_t write_lse;
} cm2_push;

/* K and V tiles can be loaded whole from inside the tensors, with rows aligned to 16 bytes. */
static bool inner_kv(const cm2_push *p, int64_t N, uint32_t bc) {
  bool aligned = true;
  for (int i = 0; i < 3; i++) aligned = aligned && p->k_strides[i] % 8u == 0 && p->v_strides[i] % 8u == 0;
  return aligned && N >= (int64_t)bc;
}

sla2_status vk_attention_cm2(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  const cm2_tile t = tile_of();
  cm2_push p = {.N = (uint32_t)g->N, .scale_log2e = (float)((double)g->scale * 1.4426950408889634),
                .write_lse = node->out[1] >= 0};
  vk_slot_strides(g, node->in[0], p.q_strides);
  vk_slot_strides(g, node->in[1], p.k_strides);
  vk_slot_strides(g, node->in[2], p.v_strides);
  vk_slot_strides(g, node->out[0], p.o_strides);
  vk_dispatch_desc d = {.shader = VK_SHADER_attention_cm2_f16};
  for (int i = 0; i < 3; i++) d.bind[i] = r->buf[node->in[i]];
  d.bind[7] = r->buf[node->out[0]];
  if (p.write_lse) d.bind[8] = r->buf[node->out[1]];
  const uint32_t spec[] = {t.wg, (uint32_t)g->D, t.br, t.bc, vk_slot_dtype(g, node->out[0]) == SLA2_F32,
                           inner_kv(&p, g->N, t.bc)};
  for (uint32_t i = 0; i < sizeof spec / sizeof spec[0]; i++) d.spec[i] = spec[i];
  d.spec_count = sizeof spec / sizeof spec[0];
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = (uint32_t)((g->N + t.br - 1) / t.br), d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}
