/* Internal: the backend-agnostic description of one SLA2 (or dense) forward.
 *
 * The graph is a short list of typed nodes over a fixed set of tensor slots. Every backend runs
 * the same list; a backend may fuse a run of nodes as long as every slot a later node or the
 * caller reads ends up holding the value specified here. The oracle (core/ref) defines each
 * node's exact value; DESIGN.md section 2 is the math.
 *
 * Slots Q, K, V, O are the caller's tensors: any float dtype (f32, f16, bf16), strided views
 * (sla2_graph_tensor.view). Every other slot is an intermediate: contiguous, row-major, in the
 * dtype and shape listed below, allocated by the core on the device.
 *
 * Shapes use B, H, N, D, Tm = ceil(N/bq), Tn = ceil(N/bk), k (blocks per row), Hw (1 or H). */
#ifndef SLA2_CORE_GRAPH_H
#define SLA2_CORE_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sla2/config.h"
#include "sla2/status.h"
#include "sla2/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sla2_slot {
  SLA2_SLOT_Q = 0,   /* ext  [B,H,N,D] */
  SLA2_SLOT_K,       /* ext  [B,H,N,D] */
  SLA2_SLOT_V,       /* ext  [B,H,N,D] */
  SLA2_SLOT_O,       /* ext  [B,H,N,D] */
  SLA2_SLOT_KS,      /* f32  [B,H,N,D]    smoothed K~ */
  SLA2_SLOT_QBAR,    /* f32  [B,H,Tm,D]   block means of Q */
  SLA2_SLOT_KBAR,    /* f32  [B,H,Tn,D]   block means of K~ */
  SLA2_SLOT_WQ,      /* f32  [Hw,D,D]     router W_q, row-major: (W x)[e] = sum_d W[e][d] x[d] */
  SLA2_SLOT_WK,      /* f32  [Hw,D,D] */
  SLA2_SLOT_SCORES,  /* f32  [B,H,Tm,Tn]  s * (W_q qbar_i).(W_k kbar_j) */
  SLA2_SLOT_LUT,     /* i32  [B,H,Tm,k]   selected key blocks, ascending */
  SLA2_SLOT_PHIQ,    /* f32  [B,H,N,D]    phi(Q) */
  SLA2_SLOT_PHIK,    /* f32  [B,H,N,D]    phi(K~) */
  SLA2_SLOT_HBLK,    /* f32  [B,H,Tn,D,D] h_j[d][e] = sum_{r in j} phiK[r][d] V[r][e] */
  SLA2_SLOT_ZBLK,    /* f32  [B,H,Tn,D]   z_j[d] = sum_{r in j} phiK[r][d] */
  SLA2_SLOT_HTOT,    /* f32  [B,H,D,D]    sum over all N rows */
  SLA2_SLOT_ZTOT,    /* f32  [B,H,D] */
  SLA2_SLOT_QCODES,  /* i8   [B,H,N,D]    INT8 codes of Q, per query block */
  SLA2_SLOT_QSCALE,  /* f32  [B,H,Tm] */
  SLA2_SLOT_KCODES,  /* i8   [B,H,N,D]    INT8 codes of K~, per key block */
  SLA2_SLOT_KSCALE,  /* f32  [B,H,Tn] */
  SLA2_SLOT_VCODES,  /* u8   [B,H,N,D]    FP8 E4M3 codes of V / sigma_v */
  SLA2_SLOT_VSCALE,  /* f32  [B,H,D]      sigma_v per channel */
  SLA2_SLOT_OS,      /* f32  [B,H,N,D]    sparse-branch output */
  SLA2_SLOT_LSE,     /* f32  [B,H,N]      log-sum-exp of the selected scores (natural log) */
  SLA2_SLOT_OL,      /* f32  [B,H,N,D]    linear-branch output */
  SLA2_SLOT_ALPHA,   /* f32  [H] or [H,Tm] alpha logits */
  SLA2_SLOT_COUNT
} sla2_slot;

typedef enum sla2_op {
  /* in[0]=K (ext)                 out[0]=KS. K~ = K - mean_N(K); a plain f32 copy when !smooth_k. */
  SLA2_OP_SMOOTH_K = 0,
  /* in[0]=Q (ext) or KS           out[0]=QBAR or KBAR. Means over `block` rows (partial: true len). */
  SLA2_OP_POOL,
  /* in[0]=Q (ext) or KS           out[0]=PHIQ or PHIK. feature_map per row. */
  SLA2_OP_FEATURE_MAP,
  /* in[0]=QBAR in[1]=KBAR in[2]=WQ in[3]=WK   out[0]=SCORES out[1]=LUT. Top k per row, ties to
   * the lower block index, LUT sorted ascending. Head h uses W[h] when Hw = H, else W[0]. */
  SLA2_OP_ROUTE,
  /* in[0]=PHIK in[1]=V (ext)      out[0]=HBLK out[1]=ZBLK out[2]=HTOT out[3]=ZTOT */
  SLA2_OP_KV_STATE,
  /* in[0]=Q (ext) or KS           out[0]=codes i8 out[1]=scales, one per `block` rows:
   * sigma = max|x| / 127 (f32 division; 1 when all zero), code = clamp(rint(x / sigma), -127, 127)
   * with x / sigma an f32 division and rint rounding half to even. */
  SLA2_OP_QUANTIZE_INT8,
  /* in[0]=V (ext)                 out[0]=VCODES out[1]=VSCALE:
   * sigma_v[c] = max_N |V[:,c]| / 448 (f32; 1 when zero), code = e4m3(V / sigma_v) (f32 division). */
  SLA2_OP_QUANTIZE_FP8,
  /* in[0]=Q (ext) in[1]=KS in[2]=V (ext) in[3]=LUT in[4]=QCODES in[5]=QSCALE in[6]=KCODES
   * in[7]=KSCALE in[8]=VCODES in[9]=VSCALE (unused inputs -1 by quant mode)
   * out[0]=OS out[1]=LSE. Softmax restricted to the keys of the LUT blocks; see sla2_ref. */
  SLA2_OP_SPARSE_ATTN,
  /* in[0]=PHIQ in[1]=HBLK in[2]=ZBLK in[3]=HTOT in[4]=ZTOT in[5]=LUT   out[0]=OL.
   * H_i = HTOT - sum_{j in LUT_i} h_j (likewise Z_i); O_l = phiq H_i / (phiq . Z_i), 0 where the
   * denominator <= SLA2_LINEAR_DEN_EPS, and 0 for every row when k == Tn (empty complement). */
  SLA2_OP_LINEAR_ATTN,
  /* in[0]=OS in[1]=OL in[2]=ALPHA   out[0]=O (ext). O = a Os + (1 - a) Ol, a = sigmoid(logit). */
  SLA2_OP_COMBINE,
  /* in[0]=Q in[1]=K in[2]=V (ext)  out[0]=O (ext) out[1]=LSE or -1. Full softmax attention. */
  SLA2_OP_DENSE_ATTN,
  SLA2_OP_COUNT
} sla2_op;

#define SLA2_NODE_MAX_IN 10
#define SLA2_NODE_MAX_OUT 4

typedef struct sla2_node {
  sla2_op op;
  int in[SLA2_NODE_MAX_IN];   /* sla2_slot values, -1 where unused */
  int out[SLA2_NODE_MAX_OUT];
  int block;                  /* POOL, QUANTIZE_INT8: rows per block (bq for Q, bk for K~) */
  const char *name;           /* stage name for timing ("pool_q", "sparse_attn", ...) */
} sla2_node;

/* Where a slot lives and how it is laid out. Ext slots carry a strided view; intermediates are
 * contiguous with `count` elements of `dtype`. */
typedef struct sla2_graph_tensor {
  bool used;
  bool external;
  int dtype;             /* sla2_dtype for float/i32 slots, or SLA2_DT_I8 / SLA2_DT_U8 below */
  size_t count;          /* elements (intermediates) */
  int64_t strides[4];    /* ext only: element strides of B, H, N, D */
  size_t span;           /* ext only: elements from first to one past last */
} sla2_graph_tensor;

/* Internal dtypes beyond the public ones (quantized codes). */
#define SLA2_DT_I8 16
#define SLA2_DT_U8 17

typedef struct sla2_graph {
  /* Sizes. */
  int64_t B, H, N, D;
  int64_t bq, bk, Tm, Tn;
  int64_t k;              /* key blocks per query-block row (ROUTE, SPARSE, LINEAR) */
  int64_t Hw;             /* router matrices: 1 (per layer) or H (per head) */
  /* Options. */
  sla2_feature_map feature_map;
  bool smooth_k;
  sla2_quant quant;
  bool alpha_per_block;   /* ALPHA is [H,Tm] rather than [H] */
  float scale;            /* softmax scale s */
  bool keep_intermediates;/* every slot's value is observed (tests): no fusion that skips one */
  /* Nodes and slots. */
  sla2_node nodes[16];
  int node_count;
  sla2_graph_tensor tensors[SLA2_SLOT_COUNT];
} sla2_graph;

/* Byte size of one element of a slot dtype (public or SLA2_DT_*). */
size_t sla2_slot_dtype_size(int dtype);
const char *sla2_slot_name(int slot);
const char *sla2_op_name(sla2_op op);

/* Build the SLA2 forward graph for the given sizes and config. q_dtype/o_dtype and the strides of
 * the external tensors are filled in by the caller afterwards via sla2_graph_set_external. */
void sla2_graph_build_forward(sla2_graph *graph, const sla2_config *config, int64_t B, int64_t H,
                              int64_t N, int64_t D, int64_t Hw);
/* True when nodes [first, first + count) are the whole graph, the graph is the forward graph
 * exactly as sla2_graph_build_forward wires it for its options, and keep_intermediates is off:
 * then only the caller's slots (O, LSE, LUT, ...) are observed, and a backend may run the graph
 * as fused passes that never write some intermediates. */
bool sla2_graph_is_whole_forward(const sla2_graph *graph, int first, int count);
/* The first node with this op, or NULL (fused backends find ROUTE, SPARSE_ATTN, ... this way). */
const sla2_node *sla2_graph_find_node(const sla2_graph *graph, sla2_op op);
/* Dense attention: one DENSE_ATTN node (LSE optional). */
void sla2_graph_build_dense(sla2_graph *graph, int64_t B, int64_t H, int64_t N, int64_t D,
                            float scale, bool with_lse);
void sla2_graph_set_external(sla2_graph *graph, int slot, int dtype, const int64_t strides[4]);

/* The checks every backend's `supports` starts with: sizes, head dim, node slots, external
 * dtypes and strides, block sizes, Tm/Tn/k consistency, Hw, quant and feature map. `who` prefixes
 * the message (the device name). OK, UNSUPPORTED or INVALID_ARGUMENT via sla2_fail. */
sla2_status sla2_graph_check(const sla2_graph *graph, const char *who);

/* The checks every backend's `run` starts with: graph and buffers non-NULL, nodes
 * [first, first + count) inside the graph, and a buffer bound to every slot those nodes name. */
sla2_status sla2_graph_check_run(const sla2_graph *graph, int first, int count,
                                 void *const buffers[SLA2_SLOT_COUNT], const char *who);

/* How a backend reads a [B,H,N,D] slot: fills `strides` (may be NULL) with its element strides
 * of B, H, N, D and returns its dtype. External slots are the caller's views; the float
 * intermediates (KS, PHIQ, PHIK, OS, OL) are contiguous f32. */
int sla2_graph_slot_view(const sla2_graph *graph, int slot, int64_t strides[4]);

/* k = clamp(floor(topk * Tn), 1, Tn). */
int64_t sla2_blocks_per_row(double topk, int64_t Tn);

/* Element offset of [b, h, n, d] in an external slot. */
static inline int64_t sla2_ext_offset(const sla2_graph_tensor *t, int64_t b, int64_t h, int64_t n,
                                      int64_t d) {
  return b * t->strides[0] + h * t->strides[1] + n * t->strides[2] + d * t->strides[3];
}

#ifdef __cplusplus
}
#endif
#endif
