/* Vulkan backend: ROUTE in three dispatches: float-float projections of the block means, the
 * float-float scores (SCORES keeps their f32 rounding), then the top-k LUT per row. Float-float
 * (about 44 bits) makes the ranking agree with the oracle's double scores except at genuine
 * near-ties, without needing shaderFloat64. */
#include "backends/vulkan/vk_internal.h"

static uint32_t div_up(int64_t a, int64_t b) { return (uint32_t)((a + b - 1) / b); }

typedef struct project_push {
  uint32_t T, D, H, per_head_w;
} project_push;

typedef struct scores_push {
  uint32_t Tm, Tn, D;
  float scale;
} scores_push;

typedef struct topk_push {
  uint32_t Tm, Tn, k, H;
} topk_push;

/* Float-float products with one fma (floatfloat.glsl) on the cooperative-matrix path: its devices
 * are NVIDIA GPUs, whose fma is fused. Elsewhere Dekker's exact product (Vulkan does not promise a
 * fused fma). Same values either way. */
static uint32_t ff_fma(const vk_device *dev) { return dev->path == VK_PATH_COOPMAT_NV; }

static sla2_status project(vk_run *r, int means, int w, int64_t T, vk_buffer *out) {
  const sla2_graph *g = r->g;
  project_push p = {.T = (uint32_t)T, .D = (uint32_t)g->D, .H = (uint32_t)g->H, .per_head_w = g->Hw != 1};
  vk_dispatch_desc d = {.shader = VK_SHADER_route_project, .spec = {ff_fma(r->dev)}, .spec_count = 1};
  d.bind[0] = r->buf[means];
  d.bind[1] = r->buf[w];
  d.bind[2] = out;
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = div_up(T, 8) /* route_project's RT */, d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}

sla2_status vk_op_route(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  vk_device *dev = r->dev;
  sla2_status st = project(r, node->in[0], node->in[2], g->Tm, dev->scratch[VK_SCRATCH_QPROJ]);
  if (st == SLA2_OK) st = project(r, node->in[1], node->in[3], g->Tn, dev->scratch[VK_SCRATCH_KPROJ]);
  if (st != SLA2_OK) return st;

  scores_push sp = {.Tm = (uint32_t)g->Tm, .Tn = (uint32_t)g->Tn, .D = (uint32_t)g->D, .scale = g->scale};
  vk_dispatch_desc d = {.shader = VK_SHADER_route_scores, .spec = {ff_fma(dev)}, .spec_count = 1};
  d.bind[0] = dev->scratch[VK_SCRATCH_QPROJ];
  d.bind[1] = dev->scratch[VK_SCRATCH_KPROJ];
  d.bind[2] = r->buf[node->out[0]];
  d.bind[3] = dev->scratch[VK_SCRATCH_PAIRS];
  d.push = &sp, d.push_bytes = sizeof sp;
  d.groups[0] = div_up(g->Tn, 64), d.groups[1] = div_up(g->Tm, 64), /* route_scores' TILE */ d.groups[2] = (uint32_t)(g->B * g->H);
  if ((st = vk_dispatch(r, &d)) != SLA2_OK) return st;

  topk_push tp = {.Tm = (uint32_t)g->Tm, .Tn = (uint32_t)g->Tn, .k = (uint32_t)g->k, .H = (uint32_t)g->H};
  uint32_t pmax = 256; /* route_topk's sort capacity: T_n rounded up to a power of two */
  while (pmax < (uint32_t)g->Tn && pmax < 2048) pmax *= 2;
  if (pmax < (uint32_t)g->Tn) pmax = 1024; /* longer rows: the ranking fallback's tile */
  vk_dispatch_desc t = {.shader = VK_SHADER_route_topk, .spec = {pmax}, .spec_count = 1};
  t.bind[0] = dev->scratch[VK_SCRATCH_PAIRS];
  t.bind[1] = r->buf[node->out[1]];
  t.push = &tp, t.push_bytes = sizeof tp;
  t.groups[0] = (uint32_t)g->Tm, t.groups[1] = (uint32_t)g->H, t.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &t);
}
