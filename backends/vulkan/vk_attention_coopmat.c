/* Vulkan backend: SPARSE_ATTN (int8_fp8) and DENSE_ATTN (f16 Q, K, V) on subgroup-scope
 * cooperative matrices, NV or KHR (shaders/vulkan/attention_coopmat.glsl), and SPARSE_ATTN of
 * quant `none` with f16 inputs in a whole forward, on the raw K (vk_run.raw_k). Other quant modes
 * and dtypes stay on the baseline kernel: their oracle precision needs f32 operands, which the
 * fp16 matrix units do not take exactly (int8_fp8's E4M3 P and V, and f16 inputs, are exact in
 * fp16; K~ = K - mean is not, which is why `none` takes the raw K and shifts the LSE). */
#include "backends/vulkan/vk_attention.h"

#include <stdlib.h>
#include <string.h>

#include "shaders/common/sla2_constants.h"

#define WG 128u   /* dense: 4 subgroups of 32 */
#define ROWS 64u  /* dense: query rows per workgroup, 16 per subgroup */
#define BC 64u    /* keys per shared-memory tile */

static uint32_t div_up(int64_t a, int64_t b) { return (uint32_t)((a + b - 1) / b); }

/* Shared memory of attention_coopmat.glsl for head dim D (its declarations, in order): the K
 * (or Q) and V tiles with rows padded by 16 bytes, the per-subgroup 16 x 16 scratch, the index
 * tile, per-row (max, rescale) and per-slot scale. */
static uint32_t shared_bytes(bool int8, uint32_t D, uint32_t sg) {
  uint32_t krow = (int8 ? D : 2u * D) + 16u, vrow = 2u * D + 16u;
  return BC * krow + BC * vrow + 4u * sg * 256u + 4u * 256u + 8u * 16u * sg + 4u * BC;
}

/* Sparse: subgroups per workgroup. A workgroup that covers the whole query block (8 subgroups
 * for the default b_q = 128) loads each K / V tile of the block's LUT once instead of once per
 * 64 rows: 3.4 ms against 4.5 ms for 4 subgroups on the H100 (B 1, H 12, N 32760, D 128, topk
 * 0.03), at one 8-warp workgroup per SM (175 registers). 4 where 8 do not fit in shared memory.
 * SLA2_VULKAN_ATTN_SUBGROUPS=4 or 8 overrides (a developer's knob for measuring). */
static uint32_t sparse_subgroups(const vk_device *dev, const sla2_graph *g) {
  const char *v = getenv("SLA2_VULKAN_ATTN_SUBGROUPS");
  if (v && (strcmp(v, "4") == 0 || strcmp(v, "8") == 0)) return (uint32_t)atoi(v);
  const bool int8 = g->quant == SLA2_QUANT_INT8_FP8;
  bool fits8 = shared_bytes(int8, (uint32_t)g->D, 8) <= dev->props.limits.maxComputeSharedMemorySize;
  return g->bq >= 128 && fits8 ? 8u : 4u;
}

bool vk_attention_coopmat_fits(const vk_device *dev, const sla2_graph *g, const sla2_node *node) {
  const bool dense = node->op == SLA2_OP_DENSE_ATTN;
  const uint32_t D = (uint32_t)g->D;
  if (dense) {
    for (int i = 0; i < 3; i++)
      if (vk_slot_dtype(g, node->in[i]) != SLA2_F16) return false;
    if (D % 16 != 0) return false;
  } else if (g->quant != SLA2_QUANT_INT8_FP8 || D % 32 != 0 || !dev->coopmat_int8) {
    return false;
  }
  return shared_bytes(!dense, D, dense ? WG / 32u : sparse_subgroups(dev, g)) <= dev->props.limits.maxComputeSharedMemorySize;
}

bool vk_attention_coopmat_raw_k_fits(const vk_device *dev, const sla2_graph *g) {
  const sla2_node *node = sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN);
  if (!node || dev->path == VK_PATH_BASELINE || g->quant != SLA2_QUANT_NONE || g->D % 16 != 0) return false;
  if (vk_slot_dtype(g, node->in[0]) != SLA2_F16 || vk_slot_dtype(g, SLA2_SLOT_K) != SLA2_F16 ||
      vk_slot_dtype(g, node->in[2]) != SLA2_F16)
    return false;
  return shared_bytes(false, (uint32_t)g->D, sparse_subgroups(dev, g)) <= dev->props.limits.maxComputeSharedMemorySize;
}

typedef struct coopmat_push {
  uint32_t q_strides[4], k_strides[4], v_strides[4], o_strides[4];
  uint32_t N, H, bq, bk, Tm, Tn, k, nsub;
  float scale;
  uint32_t write_lse, o_pairs;
} coopmat_push;

/* Every run of 8 channels from a multiple of 8 is one aligned 16-byte word of an f16 tensor. */
static bool runs_are_words(const uint32_t s[4]) {
  return s[3] == 1 && s[0] % 8 == 0 && s[1] % 8 == 0 && s[2] % 8 == 0;
}

/* The kernel for the device's path: dense f16 or sparse int8_fp8. */
static vk_shader kernel_of(const vk_device *dev, bool dense) {
#ifdef SLA2_VK_HAVE_COOPMAT_KHR
  if (dev->path == VK_PATH_COOPMAT_KHR) return dense ? VK_SHADER_attention_coopmat_khr_f16 : VK_SHADER_attention_coopmat_khr_i8;
#endif
#ifdef SLA2_VK_HAVE_COOPMAT_NV
  return dense ? VK_SHADER_attention_coopmat_f16 : VK_SHADER_attention_coopmat_i8;
#else
  (void)dev, (void)dense;
  return VK_SHADER_attention; /* unreachable: without NV shaders the path is KHR or baseline */
#endif
}

sla2_status vk_attention_coopmat(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  const bool dense = node->op == SLA2_OP_DENSE_ATTN, raw_k = !dense && g->quant == SLA2_QUANT_NONE;
  int o = node->out[0];
  coopmat_push p = {.N = (uint32_t)g->N, .H = (uint32_t)g->H, .scale = g->scale};
  const uint32_t wg = dense ? WG : 32u * sparse_subgroups(r->dev, g), rows = wg / 2u;
  vk_dispatch_desc d = {.shader = kernel_of(r->dev, dense || raw_k)};
  if (dense) {
    p.bq = ROWS, p.Tm = div_up(g->N, ROWS), p.nsub = 1;
    p.bk = BC, p.Tn = div_up(g->N, BC), p.k = p.Tn;
  } else { /* keys from the LUT */
    p.bq = (uint32_t)g->bq, p.Tm = (uint32_t)g->Tm, p.nsub = div_up(g->bq, rows);
    p.bk = (uint32_t)g->bk, p.Tn = (uint32_t)g->Tn, p.k = (uint32_t)g->k;
    d.bind[3] = r->buf[node->in[3]];
  }
  if (dense || raw_k) { /* f16 Q, K, V; vk_run.raw_k: the raw K in place of K~ */
    const int k = dense ? node->in[1] : SLA2_SLOT_K;
    p.write_lse = node->out[1] >= 0;
    vk_slot_strides(g, node->in[0], p.q_strides);
    vk_slot_strides(g, k, p.k_strides);
    vk_slot_strides(g, node->in[2], p.v_strides);
    d.bind[0] = r->buf[node->in[0]], d.bind[1] = r->buf[k], d.bind[2] = r->buf[node->in[2]];
  } else { /* int8_fp8: the codes and their scales */
    p.write_lse = 1;
    d.bind[0] = r->buf[node->in[4]], d.bind[4] = r->buf[node->in[5]];
    d.bind[1] = r->buf[node->in[6]], d.bind[5] = r->buf[node->in[7]];
    d.bind[2] = r->buf[node->in[8]], d.bind[6] = r->buf[node->in[9]];
  }
  vk_slot_strides(g, o, p.o_strides);
  p.o_pairs = vk_strides_pair_words(p.o_strides);
  d.bind[7] = r->buf[o];
  if (p.write_lse) d.bind[8] = r->buf[node->out[1]];
  uint32_t spec[] = {wg, (uint32_t)g->D, runs_are_words(p.q_strides), runs_are_words(p.k_strides),
                     runs_are_words(p.v_strides), vk_slot_dtype(g, o), raw_k, raw_k && r->lse_shift};
  for (uint32_t i = 0; i < sizeof spec / sizeof spec[0]; i++) d.spec[i] = spec[i];
  d.spec_count = sizeof spec / sizeof spec[0];
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = p.Tm * p.nsub, d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}
