/* CUDA backend: the whole SLA2 forward graph as a few fused passes instead of one launch per node.
 *
 * core/graph.h lets a backend fuse nodes as long as every slot a later node or the caller reads
 * holds its specified value. Without keep_intermediates the caller reads O, LSE and LUT, and the
 * sparse node reads Q/KS/V or the codes; so this plan writes those and skips KS (int8 modes),
 * PHIQ, PHIK and OL (the light path below keeps its scratch in PHIQ and PHIK):
 *   1. column statistics: sum of K (smooth_k mean) and max |V| (sigma_v), one pass over K and V
 *   2. K blocks (cuda_fused_kv.cu): KBAR, KS (quant none with f32 inputs), KCODES/KSCALE,
 *      VCODES/VSCALE, HBLK, ZBLK, HTOT, ZTOT from K and V directly (phi(K~) never leaves the chip)
 *   3. Q blocks: QBAR and, in int8 modes, QCODES/QSCALE, one pass over Q (on the light path
 *      also phi(q); in quant none with 16-bit inputs the LSE shift s q . mean_N(K) per row, as
 *      the sparse branch then reads the raw K)
 *   4. ROUTE and 5. SPARSE_ATTN as nodes
 *   6. the linear branch with phi(Q) computed in place and COMBINE in its epilogue: O written once
 * On Hopper, where cuda_linear_light_applies, step 2 writes phi(K~) in V's type and no h_j at all
 * (so no HBLK / ZBLK), H_tot comes from one tensor-core pass over phi(K~) and V
 * (cuda_light_htot.cu), and step 6 is the memory-light form on the sparse kernel's pipeline
 * (cuda_linear_wgmma.cu: each CTA forms its H_i = H_tot - sum over its LUT row), prepared
 * (H_tot) right after step 3.
 * Per-stage timing and keep_intermediates run node by node instead (cuda_backend.c). */
#include <string.h>

#include "backends/cuda/cuda_internal.h"
#include "core/error.h"

bool cuda_fused_forward_applies(const sla2_graph *g, int first, int count) {
  return g->D <= CUDA_KV_MAX_D && g->D <= CUDA_LIN_MAX_D && sla2_graph_is_whole_forward(g, first, count);
}

sla2_status cuda_fused_forward(const cuda_exec *x) {
  const sla2_graph *g = x->g;
  void *const *buf = x->buf;
  const size_t BHD = (size_t)(g->B * g->H) * (size_t)g->D;
  const bool quant = g->quant != SLA2_QUANT_NONE, fp8 = g->quant == SLA2_QUANT_INT8_FP8;
  const bool light = cuda_linear_light_applies(x);
  cudaStream_t s = x->dev->stream;

  /* scratch: [K column sums (double) | V column amax | kv partial totals] */
  const size_t sums_bytes = BHD * sizeof(double), amax_bytes = (BHD * sizeof(unsigned) + 15) & ~(size_t)15;
  size_t part_bytes = cuda_kv_scratch_bytes(x); /* the K pass's partial totals, then H_tot's */
  const size_t htot_part_bytes = light ? cuda_light_htot_scratch_bytes(x) : 0;
  if (htot_part_bytes > part_bytes) part_bytes = htot_part_bytes;
  void *scratch;
  sla2_status st = cuda_scratch(x->dev, sums_bytes + amax_bytes + part_bytes, &scratch);
  if (st != SLA2_OK) return st;
  double *ksum = g->smooth_k ? (double *)scratch : NULL;
  unsigned *vamax = fp8 ? (unsigned *)((char *)scratch + sums_bytes) : NULL;
  void *kv_part = (char *)scratch + sums_bytes + amax_bytes;

  /* 1. column statistics */
  cuda_t4 k = cuda_t4_of(x, SLA2_SLOT_K), v = cuda_t4_of(x, SLA2_SLOT_V), q = cuda_t4_of(x, SLA2_SLOT_Q);
  if (ksum || vamax) {
    st = cuda_check(cudaMemsetAsync(scratch, 0, sums_bytes + amax_bytes, s), "fused forward");
    if (st == SLA2_OK) st = cuda_colstats_launch(x, k, ksum, v, vamax);
    if (st != SLA2_OK) return st;
  }
  /* 2. K blocks */
  cuda_kv_args ka;
  memset(&ka, 0, sizeof ka);
  ka.src = k, ka.v = v, ka.fused = 1, ka.ksum = ksum, ka.vamax = vamax;
  /* The sparse node reads KS only in quant none, and with 16-bit inputs not even there: it takes
   * the raw K (exact 16-bit products, as dense attention) and the Q-block pass's per-row LSE
   * shift, written into the LSE output that the sparse kernel then overwrites row by row. */
  const sla2_node *sparse = sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN);
  const bool raw_k = !quant && k.dtype != SLA2_F32 && k.dtype == q.dtype;
  float *lse_shift = raw_k && ksum && sparse->out[1] >= 0 ? (float *)buf[sparse->out[1]] : NULL;
  ka.ks = quant || raw_k ? NULL : (float *)buf[SLA2_SLOT_KS];
  ka.kbar = (float *)buf[SLA2_SLOT_KBAR];
  if (quant) ka.kcodes = (int8_t *)buf[SLA2_SLOT_KCODES], ka.kscale = (float *)buf[SLA2_SLOT_KSCALE];
  if (fp8) ka.vcodes = (uint8_t *)buf[SLA2_SLOT_VCODES], ka.vscale = (float *)buf[SLA2_SLOT_VSCALE];
  if (light) {
    ka.phik16 = buf[SLA2_SLOT_PHIK];
  } else {
    ka.hblk = (float *)buf[SLA2_SLOT_HBLK], ka.zblk = (float *)buf[SLA2_SLOT_ZBLK];
  }
  ka.htot = light ? NULL : (float *)buf[SLA2_SLOT_HTOT], ka.ztot = (float *)buf[SLA2_SLOT_ZTOT];
  if ((st = cuda_kv_launch(x, &ka, kv_part)) != SLA2_OK) return st;
  /* 3. Q blocks, on the light path with phi(q) */
  cuda_phiq_out phi;
  phi.phiq = buf[SLA2_SLOT_PHIQ], phi.bf16 = v.dtype == SLA2_BF16;
  const cuda_qshift_out shift = {ksum, lse_shift};
  st = cuda_rowblock_launch(x, q, (int)g->bq, (float *)buf[SLA2_SLOT_QBAR], quant ? (int8_t *)buf[SLA2_SLOT_QCODES] : NULL,
                            quant ? (float *)buf[SLA2_SLOT_QSCALE] : NULL, light ? &phi : NULL,
                            lse_shift ? &shift : NULL);
  if (st != SLA2_OK) return st;
  if (light && (st = cuda_linear_light_prepare(x, kv_part)) != SLA2_OK) return st;
  /* 4. route, 5. sparse branch */
  if ((st = cuda_op_route(x, sla2_graph_find_node(g, SLA2_OP_ROUTE))) != SLA2_OK) return st;
  st = raw_k ? cuda_op_attention_raw_k(x, sparse, k, lse_shift) : cuda_op_attention(x, sparse);
  if (st != SLA2_OK) return st;
  /* 6. linear branch + combine */
  if (light) return cuda_linear_light_launch(x);
  cuda_lin_args la;
  memset(&la, 0, sizeof la);
  la.src = q, la.out = cuda_t4_of(x, SLA2_SLOT_O), la.fused = 1;
  la.hblk = ka.hblk, la.zblk = ka.zblk, la.htot = ka.htot, la.ztot = ka.ztot;
  la.lut = (const int *)buf[SLA2_SLOT_LUT];
  la.os = (const float *)buf[SLA2_SLOT_OS];
  la.alpha = (const float *)buf[SLA2_SLOT_ALPHA];
  return cuda_linear_launch(x, &la);
}
