/* Vulkan backend: SPARSE_ATTN and DENSE_ATTN. Both run the same flash-attention kernel; dense
 * attention is that kernel over every key block (DENSE: block t of the row is key block t) with
 * the raw K and the caller's O. The device's path picks the baseline kernel (attention.comp) or
 * the cooperative-matrix one (vk_attention_coopmat.c). */
#include "backends/vulkan/vk_attention.h"

#include "shaders/common/sla2_constants.h"

#define WG 128u
#define DENSE_BLOCK 64 /* key rows per dense "block" (any size works; the chunking is KC) */

static uint32_t div_up(int64_t a, int64_t b) { return (uint32_t)((a + b - 1) / b); }

vk_attention_geometry vk_attention_baseline_geometry(const vk_device *dev, int64_t D) {
  vk_attention_geometry geo;
  uint32_t budget = dev->props.limits.maxComputeSharedMemorySize;
  if (budget > 32768) budget = 32768;
  budget -= 1024; /* per-slot key indices and scales, and headroom */
  if (dev->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) {
    /* Software rasterizers (lavapipe) JIT-compile the fully unrolled KC x DL loops: their
     * compile time grows fast with that product, so keep the register tiles small there. */
    geo.tpr = 8, geo.kc = 4;
  } else {
    geo.tpr = D <= 32 ? 1 : D <= 64 ? 2 : D <= 128 ? 4 : 8; /* at most 32 channels per invocation */
    geo.kc = 64;
  }
  geo.rows = WG / geo.tpr;
  while (geo.kc > 1 && 4u * (2u * geo.kc * (uint32_t)D + (geo.tpr > 1 ? WG * geo.kc : 0u)) > budget) geo.kc /= 2;
  return geo;
}

typedef struct attention_push {
  uint32_t q_strides[4], k_strides[4], v_strides[4], o_strides[4];
  uint32_t N, H, bq, bk, Tm, Tn, k, nsub;
  float scale;
  uint32_t write_lse;
} attention_push;

sla2_status vk_op_attention(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  vk_device *dev = r->dev;
  const bool dense = node->op == SLA2_OP_DENSE_ATTN;
  const uint32_t qmode = dense ? SLA2_QMODE_NONE : (uint32_t)g->quant;
#ifdef SLA2_VK_HAVE_COOPMAT2
  if (vk_attention_cm2_fits(dev, g, node)) return vk_attention_cm2(r, node);
#endif
#if defined(SLA2_VK_HAVE_COOPMAT_NV) || defined(SLA2_VK_HAVE_COOPMAT_KHR)
  if (dev->path != VK_PATH_BASELINE && vk_attention_coopmat_fits(dev, g, node)) return vk_attention_coopmat(r, node);
  if (!dense && r->raw_k) return vk_attention_coopmat(r, node); /* vk_attention_coopmat_raw_k_fits */
#endif

  vk_attention_geometry geo = vk_attention_baseline_geometry(dev, g->D);
  attention_push p = {.N = (uint32_t)g->N, .H = (uint32_t)g->H, .scale = g->scale};
  int q = node->in[0], k = node->in[1], v = node->in[2], o = node->out[0];
  vk_dispatch_desc d = {.shader = VK_SHADER_attention};
  if (dense) {
    p.bq = geo.rows, p.Tm = div_up(g->N, geo.rows), p.nsub = 1;
    p.bk = DENSE_BLOCK, p.Tn = div_up(g->N, DENSE_BLOCK), p.k = p.Tn;
    p.write_lse = node->out[1] >= 0;
  } else {
    p.bq = (uint32_t)g->bq, p.Tm = (uint32_t)g->Tm, p.nsub = div_up(g->bq, geo.rows);
    p.bk = (uint32_t)g->bk, p.Tn = (uint32_t)g->Tn, p.k = (uint32_t)g->k;
    p.write_lse = 1;
  }
  uint32_t q_dt = SLA2_F32, k_dt = SLA2_F32, v_dt = SLA2_F32;
  if (qmode == SLA2_QMODE_NONE) {
    vk_slot_strides(g, q, p.q_strides);
    vk_slot_strides(g, k, p.k_strides);
    q_dt = vk_slot_dtype(g, q), k_dt = vk_slot_dtype(g, k);
    d.bind[0] = r->buf[q], d.bind[1] = r->buf[k];
  } else {
    d.bind[0] = r->buf[node->in[4]], d.bind[4] = r->buf[node->in[5]];
    d.bind[1] = r->buf[node->in[6]], d.bind[5] = r->buf[node->in[7]];
  }
  if (qmode == SLA2_QMODE_INT8_FP8) {
    d.bind[2] = r->buf[node->in[8]], d.bind[6] = r->buf[node->in[9]];
  } else {
    vk_slot_strides(g, v, p.v_strides);
    v_dt = vk_slot_dtype(g, v);
    d.bind[2] = r->buf[v];
  }
  if (!dense) d.bind[3] = r->buf[node->in[3]];
  vk_slot_strides(g, o, p.o_strides);
  d.bind[7] = r->buf[o];
  if (p.write_lse) d.bind[8] = r->buf[node->out[1]];
  uint32_t spec[] = {WG, geo.tpr, (uint32_t)g->D, geo.kc, qmode, dense, q_dt, k_dt, v_dt, vk_slot_dtype(g, o)};
  for (uint32_t i = 0; i < sizeof spec / sizeof spec[0]; i++) d.spec[i] = spec[i];
  d.spec_count = sizeof spec / sizeof spec[0];
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = p.Tm * p.nsub, d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}
