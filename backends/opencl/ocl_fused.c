/* OpenCL backend: the whole forward graph on CPU devices (PoCL) in fewer, fuller launches.
 *
 * On a 16-core machine PoCL spends about 0.1 ms on every kernel launch however small, and the
 * node sequence makes 24 of them, each re-reading an [N, D] tensor. When the run is the whole
 * forward graph with no intermediate observed (sla2_graph_is_whole_forward), the row and block
 * nodes go in three passes instead (sla2_rows.cl, sla2_linear.cl):
 *   1. colstats: partial column sums of K (smooth_k) and maxima of |V| (int8_fp8) per run of
 *      rows, one pass over K and V;
 *   2. qpass: QBAR, PHIQ and the Q codes, one pass over Q;
 *   3. kpass: merges the partials into the means and sigma_v (VSCALE), then KBAR, the K~ and V
 *      codes, HBLK and ZBLK (and KS in quant none, where the sparse node reads it), one pass
 *      over K and V with phi(K~) kept in local memory;
 * then kv_total, ROUTE and SPARSE_ATTN as nodes, and LINEAR_ATTN with COMBINE in its epilogue.
 * PHIK and OL are never written; every slot that is written holds the node path's bits. */
#include "backends/opencl/ocl_internal.h"
#include "core/error.h"

#define SUM_BYTES ((size_t)8) /* one sum_t in the kernels */

/* Local memory of kpass: phi(K~), V and K~ rows of one key block. */
static size_t kpass_local_bytes(const sla2_graph *g) { return 3 * (size_t)(g->bk * g->D) * sizeof(float); }

bool ocl_fused_forward_applies(const ocl_exec *x, int first, int count) {
  return x->dev->cpu_kernels && sla2_graph_is_whole_forward(x->g, first, count) &&
         kpass_local_bytes(x->g) <= x->dev->local_mem;
}

#define COL_ROWS 256 /* rows per column partial, as ocl_op_rows.c */

/* Partial column sums of K / maxima of |V| per (bh, run of COL_ROWS rows). */
static sla2_status colstats(const ocl_exec *x, cl_mem ksum, cl_mem vmax, int chunks) {
  const sla2_graph *g = x->g;
  cl_kernel k;
  sla2_status st = ocl_rows_kernel(x, "colstats", &k);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, SLA2_SLOT_K);
  ocl_arg_tensor(&a, x, SLA2_SLOT_V);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, COL_ROWS);
  ocl_arg_int(&a, chunks);
  ocl_arg_mem(&a, ksum);
  ocl_arg_mem(&a, vmax);
  size_t gs = (size_t)(g->B * g->H) * (size_t)chunks, ls = 1;
  return ocl_launch(x->dev, &a, "colstats", 1, &gs, &ls);
}

static sla2_status qpass(const ocl_exec *x, bool quant) {
  const sla2_graph *g = x->g;
  cl_kernel k;
  sla2_status st = ocl_rows_kernel(x, "qpass", &k);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, SLA2_SLOT_Q);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, (cl_int)g->bq);
  ocl_arg_int(&a, (cl_int)g->Tm);
  ocl_arg_int(&a, (cl_int)g->feature_map);
  ocl_arg_mem(&a, x->buf[SLA2_SLOT_QBAR]);
  ocl_arg_mem(&a, x->buf[SLA2_SLOT_PHIQ]);
  ocl_arg_mem(&a, quant ? x->buf[SLA2_SLOT_QCODES] : NULL);
  ocl_arg_mem(&a, quant ? x->buf[SLA2_SLOT_QSCALE] : NULL);
  size_t gs = (size_t)(g->B * g->H) * (size_t)g->Tm, ls = 1;
  return ocl_launch(x->dev, &a, "qpass", 1, &gs, &ls);
}

static sla2_status kpass(const ocl_exec *x, cl_mem ksum, cl_mem vmax, int chunks, bool quant) {
  const sla2_graph *g = x->g;
  cl_kernel k;
  sla2_status st = ocl_linear_kernel(x, "kpass", &k);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, SLA2_SLOT_K);
  ocl_arg_tensor(&a, x, SLA2_SLOT_V);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, (cl_int)g->bk);
  ocl_arg_int(&a, (cl_int)g->Tn);
  ocl_arg_int(&a, (cl_int)g->feature_map);
  ocl_arg_mem(&a, ksum);
  ocl_arg_mem(&a, vmax);
  ocl_arg_int(&a, chunks);
  ocl_arg_mem(&a, quant ? NULL : x->buf[SLA2_SLOT_KS]); /* the sparse node reads KS only in quant none */
  ocl_arg_mem(&a, x->buf[SLA2_SLOT_KBAR]);
  ocl_arg_mem(&a, quant ? x->buf[SLA2_SLOT_KCODES] : NULL);
  ocl_arg_mem(&a, quant ? x->buf[SLA2_SLOT_KSCALE] : NULL);
  ocl_arg_mem(&a, vmax ? x->buf[SLA2_SLOT_VSCALE] : NULL);
  ocl_arg_mem(&a, vmax ? x->buf[SLA2_SLOT_VCODES] : NULL);
  ocl_arg_mem(&a, x->buf[SLA2_SLOT_HBLK]);
  ocl_arg_mem(&a, x->buf[SLA2_SLOT_ZBLK]);
  size_t gs = (size_t)(g->B * g->H) * (size_t)g->Tn, ls = 1;
  return ocl_launch(x->dev, &a, "kpass", 1, &gs, &ls);
}

sla2_status ocl_fused_forward(const ocl_exec *x) {
  const sla2_graph *g = x->g;
  const bool quant = g->quant != SLA2_QUANT_NONE, fp8 = g->quant == SLA2_QUANT_INT8_FP8;
  const int chunks = (int)((g->N + COL_ROWS - 1) / COL_ROWS);
  const size_t partial_bytes = (size_t)(g->B * g->H) * (size_t)chunks * (size_t)g->D * SUM_BYTES;
  cl_mem ksum = NULL, vmax = NULL;
  sla2_status st;
  /* The column partials live in scratch A and C from colstats to kpass; later nodes reuse them. */
  if (g->smooth_k && (st = ocl_scratch_get(x->dev, OCL_SCRATCH_A, partial_bytes, &ksum)) != SLA2_OK) return st;
  if (fp8 && (st = ocl_scratch_get(x->dev, OCL_SCRATCH_C, partial_bytes, &vmax)) != SLA2_OK) return st;
  if ((ksum || vmax) && (st = colstats(x, ksum, vmax, chunks)) != SLA2_OK) return st;
  if ((st = qpass(x, quant)) != SLA2_OK) return st;
  if ((st = kpass(x, ksum, vmax, chunks, quant)) != SLA2_OK) return st;
  if ((st = ocl_kv_total(x, x->buf[SLA2_SLOT_HBLK], x->buf[SLA2_SLOT_ZBLK], x->buf[SLA2_SLOT_HTOT],
                         x->buf[SLA2_SLOT_ZTOT])) != SLA2_OK)
    return st;
  if ((st = ocl_op_route(x, sla2_graph_find_node(g, SLA2_OP_ROUTE))) != SLA2_OK) return st;
  if ((st = ocl_op_attention(x, sla2_graph_find_node(g, SLA2_OP_SPARSE_ATTN))) != SLA2_OK) return st;
  return ocl_linear_combine(x, sla2_graph_find_node(g, SLA2_OP_LINEAR_ATTN), sla2_graph_find_node(g, SLA2_OP_COMBINE));
}
