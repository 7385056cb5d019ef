/* Builds the forward graphs (core/graph.h) from a config and sizes. */
#include "core/graph.h"

#include <math.h>
#include <string.h>


int sla2_graph_slot_view(const sla2_graph *g, int slot, int64_t strides[4]) {
  const sla2_graph_tensor *t = &g->tensors[slot];
  const bool external = slot <= SLA2_SLOT_O || t->external;
  if (strides) {
    for (int i = 0; i < 4; i++) strides[i] = t->strides[i];
    if (!external) {
      strides[3] = 1;
      strides[2] = g->D;
      strides[1] = g->N * g->D;
      strides[0] = g->H * g->N * g->D;
    }
  }
  return external ? t->dtype : SLA2_F32;
}

size_t sla2_slot_dtype_size(int dtype) {
  switch (dtype) {
  case SLA2_F32: case SLA2_I32: return 4;
  case SLA2_F16: case SLA2_BF16: return 2;
  case SLA2_DT_I8: case SLA2_DT_U8: return 1;
  default: return 0;
  }
}

static const char *const slot_names[SLA2_SLOT_COUNT] = {
    "q",      "k",     "v",     "o",      "k_smooth", "q_bar",   "k_bar",  "w_q",    "w_k",
    "scores", "lut",   "phi_q", "phi_k",  "h_blk",    "z_blk",   "h_tot",  "z_tot",  "q_codes",
    "q_scale", "k_codes", "k_scale", "v_codes", "v_scale", "o_sparse", "lse", "o_linear", "alpha"};

const char *sla2_slot_name(int slot) {
  return slot >= 0 && slot < SLA2_SLOT_COUNT ? slot_names[slot] : "?";
}

const char *sla2_op_name(sla2_op op) {
  static const char *const names[SLA2_OP_COUNT] = {
      "smooth_k", "pool", "feature_map", "route", "kv_state", "quantize_int8", "quantize_fp8",
      "sparse_attn", "linear_attn", "combine", "dense_attn"};
  return (int)op >= 0 && op < SLA2_OP_COUNT ? names[op] : "?";
}

int64_t sla2_blocks_per_row(double topk, int64_t Tn) {
  double f = floor(topk * (double)Tn);
  if (f < 1.0) return 1;
  if (f > (double)Tn) return Tn;
  return (int64_t)f;
}

static void use_slot(sla2_graph *g, int slot, int dtype, size_t count) {
  g->tensors[slot].used = true;
  g->tensors[slot].external = false;
  g->tensors[slot].dtype = dtype;
  g->tensors[slot].count = count;
}

static sla2_node *add_node(sla2_graph *g, sla2_op op, const char *name) {
  sla2_node *n = &g->nodes[g->node_count++];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->name = name;
  for (int i = 0; i < SLA2_NODE_MAX_IN; i++) n->in[i] = -1;
  for (int i = 0; i < SLA2_NODE_MAX_OUT; i++) n->out[i] = -1;
  return n;
}

static void use_external(sla2_graph *g, int slot) {
  g->tensors[slot].used = true;
  g->tensors[slot].external = true;
}

void sla2_graph_set_external(sla2_graph *g, int slot, int dtype, const int64_t strides[4]) {
  sla2_graph_tensor *t = &g->tensors[slot];
  int64_t shape[4] = {g->B, g->H, g->N, g->D};
  t->dtype = dtype;
  t->span = 1;
  for (int i = 0; i < 4; i++) {
    t->strides[i] = strides[i];
    t->span += (size_t)((shape[i] - 1) * strides[i]);
  }
}

static void init_sizes(sla2_graph *g, int64_t B, int64_t H, int64_t N, int64_t D) {
  memset(g, 0, sizeof *g);
  g->B = B;
  g->H = H;
  g->N = N;
  g->D = D;
  use_external(g, SLA2_SLOT_Q);
  use_external(g, SLA2_SLOT_K);
  use_external(g, SLA2_SLOT_V);
  use_external(g, SLA2_SLOT_O);
}

void sla2_graph_build_forward(sla2_graph *g, const sla2_config *c, int64_t B, int64_t H, int64_t N,
                              int64_t D, int64_t Hw) {
  init_sizes(g, B, H, N, D);
  g->bq = c->block_q;
  g->bk = c->block_k;
  g->Tm = (N + g->bq - 1) / g->bq;
  g->Tn = (N + g->bk - 1) / g->bk;
  g->k = sla2_blocks_per_row(c->topk, g->Tn);
  g->Hw = Hw;
  g->feature_map = c->feature_map;
  g->smooth_k = c->smooth_k;
  g->quant = c->quant;
  g->alpha_per_block = c->alpha == SLA2_ALPHA_PER_BLOCK;
  g->scale = c->scale > 0.0 ? (float)c->scale : (float)(1.0 / sqrt((double)D));

  size_t bh = (size_t)(B * H), nd = bh * (size_t)(N * D), dd = (size_t)(D * D);
  use_slot(g, SLA2_SLOT_KS, SLA2_F32, nd);
  use_slot(g, SLA2_SLOT_QBAR, SLA2_F32, bh * (size_t)(g->Tm * D));
  use_slot(g, SLA2_SLOT_KBAR, SLA2_F32, bh * (size_t)(g->Tn * D));
  use_slot(g, SLA2_SLOT_WQ, SLA2_F32, (size_t)Hw * dd);
  use_slot(g, SLA2_SLOT_WK, SLA2_F32, (size_t)Hw * dd);
  use_slot(g, SLA2_SLOT_SCORES, SLA2_F32, bh * (size_t)(g->Tm * g->Tn));
  use_slot(g, SLA2_SLOT_LUT, SLA2_I32, bh * (size_t)(g->Tm * g->k));
  use_slot(g, SLA2_SLOT_PHIQ, SLA2_F32, nd);
  use_slot(g, SLA2_SLOT_PHIK, SLA2_F32, nd);
  use_slot(g, SLA2_SLOT_HBLK, SLA2_F32, bh * (size_t)g->Tn * dd);
  use_slot(g, SLA2_SLOT_ZBLK, SLA2_F32, bh * (size_t)(g->Tn * D));
  use_slot(g, SLA2_SLOT_HTOT, SLA2_F32, bh * dd);
  use_slot(g, SLA2_SLOT_ZTOT, SLA2_F32, bh * (size_t)D);
  use_slot(g, SLA2_SLOT_OS, SLA2_F32, nd);
  use_slot(g, SLA2_SLOT_LSE, SLA2_F32, bh * (size_t)N);
  use_slot(g, SLA2_SLOT_OL, SLA2_F32, nd);
  use_slot(g, SLA2_SLOT_ALPHA, SLA2_F32, (size_t)H * (size_t)(g->alpha_per_block ? g->Tm : 1));

  sla2_node *n;
  n = add_node(g, SLA2_OP_SMOOTH_K, "smooth_k");
  n->in[0] = SLA2_SLOT_K, n->out[0] = SLA2_SLOT_KS;
  n = add_node(g, SLA2_OP_POOL, "pool_q");
  n->in[0] = SLA2_SLOT_Q, n->out[0] = SLA2_SLOT_QBAR, n->block = (int)g->bq;
  n = add_node(g, SLA2_OP_POOL, "pool_k");
  n->in[0] = SLA2_SLOT_KS, n->out[0] = SLA2_SLOT_KBAR, n->block = (int)g->bk;
  n = add_node(g, SLA2_OP_ROUTE, "route");
  n->in[0] = SLA2_SLOT_QBAR, n->in[1] = SLA2_SLOT_KBAR, n->in[2] = SLA2_SLOT_WQ,
  n->in[3] = SLA2_SLOT_WK, n->out[0] = SLA2_SLOT_SCORES, n->out[1] = SLA2_SLOT_LUT;
  n = add_node(g, SLA2_OP_FEATURE_MAP, "feature_map_q");
  n->in[0] = SLA2_SLOT_Q, n->out[0] = SLA2_SLOT_PHIQ;
  n = add_node(g, SLA2_OP_FEATURE_MAP, "feature_map_k");
  n->in[0] = SLA2_SLOT_KS, n->out[0] = SLA2_SLOT_PHIK;
  n = add_node(g, SLA2_OP_KV_STATE, "kv_state");
  n->in[0] = SLA2_SLOT_PHIK, n->in[1] = SLA2_SLOT_V, n->out[0] = SLA2_SLOT_HBLK,
  n->out[1] = SLA2_SLOT_ZBLK, n->out[2] = SLA2_SLOT_HTOT, n->out[3] = SLA2_SLOT_ZTOT;

  if (c->quant != SLA2_QUANT_NONE) {
    use_slot(g, SLA2_SLOT_QCODES, SLA2_DT_I8, nd);
    use_slot(g, SLA2_SLOT_QSCALE, SLA2_F32, bh * (size_t)g->Tm);
    use_slot(g, SLA2_SLOT_KCODES, SLA2_DT_I8, nd);
    use_slot(g, SLA2_SLOT_KSCALE, SLA2_F32, bh * (size_t)g->Tn);
    n = add_node(g, SLA2_OP_QUANTIZE_INT8, "quantize_q");
    n->in[0] = SLA2_SLOT_Q, n->out[0] = SLA2_SLOT_QCODES, n->out[1] = SLA2_SLOT_QSCALE,
    n->block = (int)g->bq;
    n = add_node(g, SLA2_OP_QUANTIZE_INT8, "quantize_k");
    n->in[0] = SLA2_SLOT_KS, n->out[0] = SLA2_SLOT_KCODES, n->out[1] = SLA2_SLOT_KSCALE,
    n->block = (int)g->bk;
  }
  if (c->quant == SLA2_QUANT_INT8_FP8) {
    use_slot(g, SLA2_SLOT_VCODES, SLA2_DT_U8, nd);
    use_slot(g, SLA2_SLOT_VSCALE, SLA2_F32, bh * (size_t)D);
    n = add_node(g, SLA2_OP_QUANTIZE_FP8, "quantize_v");
    n->in[0] = SLA2_SLOT_V, n->out[0] = SLA2_SLOT_VCODES, n->out[1] = SLA2_SLOT_VSCALE;
  }

  n = add_node(g, SLA2_OP_SPARSE_ATTN, "sparse_attn");
  n->in[3] = SLA2_SLOT_LUT;
  if (c->quant == SLA2_QUANT_NONE) {
    n->in[0] = SLA2_SLOT_Q, n->in[1] = SLA2_SLOT_KS;
  } else {
    n->in[4] = SLA2_SLOT_QCODES, n->in[5] = SLA2_SLOT_QSCALE;
    n->in[6] = SLA2_SLOT_KCODES, n->in[7] = SLA2_SLOT_KSCALE;
  }
  if (c->quant == SLA2_QUANT_INT8_FP8)
    n->in[8] = SLA2_SLOT_VCODES, n->in[9] = SLA2_SLOT_VSCALE;
  else
    n->in[2] = SLA2_SLOT_V;
  n->out[0] = SLA2_SLOT_OS, n->out[1] = SLA2_SLOT_LSE;

  n = add_node(g, SLA2_OP_LINEAR_ATTN, "linear_attn");
  n->in[0] = SLA2_SLOT_PHIQ, n->in[1] = SLA2_SLOT_HBLK, n->in[2] = SLA2_SLOT_ZBLK,
  n->in[3] = SLA2_SLOT_HTOT, n->in[4] = SLA2_SLOT_ZTOT, n->in[5] = SLA2_SLOT_LUT;
  n->out[0] = SLA2_SLOT_OL;

  n = add_node(g, SLA2_OP_COMBINE, "combine");
  n->in[0] = SLA2_SLOT_OS, n->in[1] = SLA2_SLOT_OL, n->in[2] = SLA2_SLOT_ALPHA;
  n->out[0] = SLA2_SLOT_O;
}

const sla2_node *sla2_graph_find_node(const sla2_graph *g, sla2_op op) {
  for (int i = 0; i < g->node_count; i++)
    if (g->nodes[i].op == op) return &g->nodes[i];
  return NULL;
}

bool sla2_graph_is_whole_forward(const sla2_graph *g, int first, int count) {
  if (g->keep_intermediates || first != 0 || count != g->node_count || g->node_count == 0) return false;
  if (g->bq <= 0 || g->bk <= 0 || g->nodes[0].op != SLA2_OP_SMOOTH_K) return false; /* not a forward graph */
  /* The reference wiring: the same options through the same builder. */
  sla2_config c = {.topk = 1.0, .block_q = (int)g->bq, .block_k = (int)g->bk, .feature_map = g->feature_map,
                   .smooth_k = g->smooth_k, .quant = g->quant};
  sla2_graph ref;
  memset(&ref, 0, sizeof ref);
  sla2_graph_build_forward(&ref, &c, g->B, g->H, g->N, g->D, g->Hw > 0 ? g->Hw : 1);
  if (ref.node_count != g->node_count) return false;
  for (int i = 0; i < g->node_count; i++) {
    const sla2_node *a = &g->nodes[i], *b = &ref.nodes[i];
    if (a->op != b->op || a->block != b->block || memcmp(a->in, b->in, sizeof a->in) != 0 ||
        memcmp(a->out, b->out, sizeof a->out) != 0)
      return false;
  }
  return true;
}

void sla2_graph_build_dense(sla2_graph *g, int64_t B, int64_t H, int64_t N, int64_t D, float scale,
                            bool with_lse) {
  init_sizes(g, B, H, N, D);
  g->scale = scale;
  g->quant = SLA2_QUANT_NONE;
  sla2_node *n = add_node(g, SLA2_OP_DENSE_ATTN, "dense_attn");
  n->in[0] = SLA2_SLOT_Q, n->in[1] = SLA2_SLOT_K, n->in[2] = SLA2_SLOT_V;
  n->out[0] = SLA2_SLOT_O;
  if (with_lse) {
    use_slot(g, SLA2_SLOT_LSE, SLA2_F32, (size_t)(B * H * N));
    n->out[1] = SLA2_SLOT_LSE;
  }
}
