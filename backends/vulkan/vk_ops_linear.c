/* Vulkan backend: the linear branch: KV_STATE (per-block states, then their totals) and
 * LINEAR_ATTN (complement state per query block, applied to phi(q)); the memory-light form
 * (vk_linear_light.c) where a whole forward runs on cooperative matrices 2. */
#include "backends/vulkan/vk_attention.h"

static uint32_t div_up(int64_t a, int64_t b) { return (uint32_t)((a + b - 1) / b); }

typedef struct kv_state_push {
  uint32_t v_strides[4];
  uint32_t N, D, H, bk, Tn;
} kv_state_push;

typedef struct kv_total_push {
  uint32_t D, Tn;
} kv_total_push;

typedef struct linear_push {
  uint32_t N, H, bq, Tm, Tn, k;
} linear_push;

sla2_status vk_op_kv_state(vk_run *r, const sla2_node *node) {
#ifdef SLA2_VK_HAVE_COOPMAT2
  if (r->light_linear) return vk_linear_light_state(r, node);
#endif
  const sla2_graph *g = r->g;
  int v = node->in[1];
  kv_state_push p = {.N = (uint32_t)g->N, .D = (uint32_t)g->D, .H = (uint32_t)g->H, .bk = (uint32_t)g->bk,
                     .Tn = (uint32_t)g->Tn};
  vk_slot_strides(g, v, p.v_strides);
  /* 8 x 8 outputs per invocation (128 x 128 per workgroup) past D = 64, else 4 x 4 (64 x 64). */
  uint32_t tm = g->D > 64 ? 8 : 4, tiles = div_up(g->D, 16 * tm);
  vk_dispatch_desc d = {.shader = VK_SHADER_kv_state, .spec = {vk_slot_dtype(g, v), tm}, .spec_count = 2};
  d.bind[0] = r->buf[node->in[0]];
  d.bind[1] = r->buf[v];
  d.bind[2] = r->buf[node->out[0]];
  d.bind[3] = r->buf[node->out[1]];
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = (uint32_t)g->Tn * tiles * tiles, d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  sla2_status st = vk_dispatch(r, &d);
  if (st != SLA2_OK) return st;

  kv_total_push tp = {.D = (uint32_t)g->D, .Tn = (uint32_t)g->Tn};
  vk_dispatch_desc t = {.shader = VK_SHADER_kv_total};
  t.bind[0] = r->buf[node->out[0]];
  t.bind[1] = r->buf[node->out[1]];
  t.bind[2] = r->buf[node->out[2]];
  t.bind[3] = r->buf[node->out[3]];
  t.push = &tp, t.push_bytes = sizeof tp;
  t.groups[0] = div_up(g->D * g->D + g->D, 256), t.groups[1] = (uint32_t)(g->B * g->H), t.groups[2] = 1;
  return vk_dispatch(r, &t);
}

sla2_status vk_op_linear_attn(vk_run *r, const sla2_node *node) {
#ifdef SLA2_VK_HAVE_COOPMAT2
  if (r->light_linear) return vk_linear_light_attn(r, node);
#endif
  const sla2_graph *g = r->g;
  /* Output channels per workgroup, a multiple of 4: the D x ET tile of H_i takes at most 16 KiB
   * of shared memory. */
  uint32_t et = (4096u / (uint32_t)g->D) & ~3u;
  if (et > 32) et = 32;
  linear_push p = {.N = (uint32_t)g->N, .H = (uint32_t)g->H, .bq = (uint32_t)g->bq, .Tm = (uint32_t)g->Tm,
                   .Tn = (uint32_t)g->Tn, .k = (uint32_t)g->k};
  vk_dispatch_desc d = {.shader = VK_SHADER_linear_attn, .spec = {256, (uint32_t)g->D, et}, .spec_count = 3};
  for (int i = 0; i < 6; i++) d.bind[i] = r->buf[node->in[i]];
  d.bind[6] = r->buf[node->out[0]];
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = (uint32_t)g->Tm * div_up(g->D, et), d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}
