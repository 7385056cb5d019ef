/* Vulkan backend: the linear branch in the memory-light form of DESIGN §2.5 on workgroup-scope
 * cooperative matrices (VK_NV_cooperative_matrix2), for a whole forward on f16 V with softmax
 * features while the selected blocks are at most half of the key blocks (2 k <= Tn):
 *   KV_STATE     light_state_cm2.comp: per chunk of rows, partial phi(K~)^T V and phi(K~)^T 1
 *                (into the HBLK buffer, which the light form leaves unused); light_total.comp:
 *                H_tot, Z_tot (f32 slots) and their f16 halves for the kernel below (LIGHT scratch);
 *   LINEAR_ATTN  linear_light_cm2.comp: phi(q) H_tot minus the selected blocks' T V, over the LUT
 *                row, so the k D x D states per query block are never gathered (the node path
 *                reads them from memory: 2.3 ms of a 6.8 ms forward on the H100 at N = 32760).
 * FEATURE_MAP then writes phi(q) and phi(K~) as f16 into their (f32-sized) slots; no node of a
 * whole forward exposes them. */
#include <math.h>

#include "backends/vulkan/vk_attention.h"

#define LIGHT_TILE 64u       /* keys per tile of the LUT-row kernel, capped by the key block */
#define STATE_WG 256u        /* invocations of the state kernel */
#define STATE_BC 64u         /* rows per product of the state kernel */
#define STATE_CHUNK_ROWS 1024u /* rows per state workgroup, unless the HBLK buffer is smaller */

static uint32_t div_up(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }
static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* Query rows per workgroup of the LUT-row kernel, and its invocations: a whole 128-row query block
 * per workgroup of 256, which took that kernel from 1.62 to 1.16 ms on the H100 (N = 32760,
 * H = 12) against 64 rows per 128 (each tile of phi(K~) and V read serves twice the rows);
 * smaller query blocks keep 64 rows (at most) per 128, the form measured before. */
static uint32_t light_rows(const sla2_graph *g) { return g->bq >= 128 ? 128u : min_u32(64u, (uint32_t)g->bq); }
static uint32_t light_wg(uint32_t br) { return br == 128u ? 256u : 128u; }

/* Columns of the Z products: 16, or the device's N granularity where that is coarser. */
static uint32_t z_columns(const vk_device *dev) {
  const uint32_t n = dev->cm2_granularity[1];
  return n > 16u ? n : 16u;
}

/* Row chunks of the state kernel: their partials (D x D + D x zc floats each) must fit in HBLK
 * (Tn x D x D floats per (b, h)). *rows: rows per chunk, a multiple of STATE_BC. */
static uint32_t state_chunks(const sla2_graph *g, uint32_t zc, uint32_t *rows) {
  const uint64_t N = (uint64_t)g->N, D = (uint64_t)g->D, cap = (uint64_t)g->Tn * D / (D + zc);
  uint32_t r = STATE_CHUNK_ROWS;
  if (cap > 0 && div_up(N, r) > cap) r = div_up(div_up(N, cap), STATE_BC) * STATE_BC;
  *rows = r;
  return cap > 0 ? div_up(N, r) : 0;
}

/* 2^s with 2^s N <= 1 (light_total.comp), and its inverse. */
static int scale_exponent(int64_t N) {
  int s = 0;
  while (((int64_t)1 << s) < N) s++;
  return s;
}

bool vk_linear_light_fits(const vk_device *dev, const sla2_graph *g) {
  if (!dev->coopmat2 || !sla2_graph_find_node(g, SLA2_OP_LINEAR_ATTN)) return false;
  if (g->feature_map != SLA2_FEATURE_SOFTMAX || g->k < 1 || 2 * g->k > g->Tn) return false;
  if (g->D > 128 || g->D % 16 != 0 || (uint64_t)(g->B * g->H * g->N * g->D) > UINT32_MAX) return false;
  uint32_t v[4];
  vk_slot_strides(g, SLA2_SLOT_V, v);
  if (vk_slot_dtype(g, SLA2_SLOT_V) != SLA2_F16 || v[3] != 1u) return false;
  const uint32_t D = (uint32_t)g->D, br = light_rows(g), bc = min_u32(LIGHT_TILE, (uint32_t)g->bk);
  uint32_t rows;
  return vk_cm2_products_fit(dev, br, bc, light_wg(br), D) && vk_cm2_products_fit(dev, D, STATE_BC, STATE_WG, D) &&
         state_chunks(g, z_columns(dev), &rows) > 0;
}

size_t vk_linear_light_scratch_bytes(const vk_device *dev, const sla2_graph *g) {
  if (!vk_linear_light_fits(dev, g)) return 0;
  const size_t D = (size_t)g->D;
  return (size_t)(g->B * g->H) * (2u * D * D + z_columns(dev) * D) * sizeof(uint16_t);
}

typedef struct state_push {
  uint32_t v_strides[4];
  uint32_t N, rows_per_chunk;
} state_push;

typedef struct total_push {
  uint32_t D, chunks, zc;
  float h_scale;
} total_push;

sla2_status vk_linear_light_state(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  const uint32_t D = (uint32_t)g->D, zc = z_columns(r->dev);
  uint32_t rows;
  const uint32_t chunks = state_chunks(g, zc, &rows);
  state_push sp = {.N = (uint32_t)g->N, .rows_per_chunk = rows};
  vk_slot_strides(g, node->in[1], sp.v_strides);
  vk_dispatch_desc s = {.shader = VK_SHADER_light_state_cm2, .spec = {STATE_WG, D, STATE_BC, zc}, .spec_count = 4};
  s.bind[0] = r->buf[node->in[0]], s.bind[1] = r->buf[node->in[1]], s.bind[2] = r->buf[node->out[0]];
  s.push = &sp, s.push_bytes = sizeof sp;
  s.groups[0] = chunks, s.groups[1] = (uint32_t)g->H, s.groups[2] = (uint32_t)g->B;
  sla2_status st = vk_dispatch(r, &s);
  if (st != SLA2_OK) return st;

  total_push tp = {.D = D, .chunks = chunks, .zc = zc, .h_scale = ldexpf(1.0f, -scale_exponent(g->N))};
  vk_dispatch_desc t = {.shader = VK_SHADER_light_total};
  t.bind[0] = r->buf[node->out[0]], t.bind[1] = r->buf[node->out[2]], t.bind[2] = r->buf[node->out[3]];
  t.bind[3] = r->dev->scratch[VK_SCRATCH_LIGHT];
  t.push = &tp, t.push_bytes = sizeof tp;
  t.groups[0] = div_up(D * D / 2u + zc / 2u * D, 256u), t.groups[1] = (uint32_t)(g->B * g->H), t.groups[2] = 1;
  return vk_dispatch(r, &t);
}

typedef struct light_push {
  uint32_t v_strides[4];
  uint32_t N, bq, bk, Tm, k;
  float h_unscale;
  uint32_t pad[2]; /* o_strides is a uvec4: 16-byte aligned in the shader's block */
  uint32_t o_strides[4];
} light_push;

bool vk_linear_light_combines(const sla2_graph *g) {
  uint32_t s[4];
  vk_slot_strides(g, SLA2_SLOT_O, s);
  return vk_slot_dtype(g, SLA2_SLOT_O) == SLA2_F16 && s[3] == 1u && sla2_graph_find_node(g, SLA2_OP_COMBINE);
}

sla2_status vk_linear_light_attn(vk_run *r, const sla2_node *node) {
  const sla2_graph *g = r->g;
  const uint32_t br = light_rows(g), bc = min_u32(LIGHT_TILE, (uint32_t)g->bk);
  light_push p = {.N = (uint32_t)g->N, .bq = (uint32_t)g->bq, .bk = (uint32_t)g->bk, .Tm = (uint32_t)g->Tm,
                  .k = (uint32_t)g->k, .h_unscale = ldexpf(1.0f, scale_exponent(g->N))};
  vk_slot_strides(g, SLA2_SLOT_V, p.v_strides);
  const bool inner = g->N >= (int64_t)bc && vk_cm2_rows_aligned(p.v_strides);
  const bool combine = r->light_combine;
  vk_dispatch_desc d = {.shader = VK_SHADER_linear_light_cm2,
                        .spec = {light_wg(br), (uint32_t)g->D, br, bc, inner, z_columns(r->dev), combine,
                                 combine && g->alpha_per_block},
                        .spec_count = 8};
  d.bind[0] = r->buf[node->in[0]];            /* phi(q), f16 */
  d.bind[1] = r->buf[SLA2_SLOT_PHIK];         /* phi(K~), f16: bound for the whole forward */
  d.bind[2] = r->buf[SLA2_SLOT_V];
  d.bind[3] = r->buf[node->in[5]];            /* LUT */
  d.bind[4] = r->dev->scratch[VK_SCRATCH_LIGHT];
  d.bind[7] = r->buf[node->out[0]];
  if (combine) { /* the COMBINE node's operands: O_s, the alpha logits, O */
    d.bind[5] = r->buf[SLA2_SLOT_OS], d.bind[6] = r->buf[SLA2_SLOT_ALPHA], d.bind[7] = r->buf[SLA2_SLOT_O];
    vk_slot_strides(g, SLA2_SLOT_O, p.o_strides);
  }
  d.push = &p, d.push_bytes = sizeof p;
  d.groups[0] = (uint32_t)g->Tm * ((uint32_t)g->bq / br), d.groups[1] = (uint32_t)g->H, d.groups[2] = (uint32_t)g->B;
  return vk_dispatch(r, &d);
}
