/* OpenCL backend: launches of the row- and element-wise nodes (shaders/opencl/sla2_rows.cl):
 * SMOOTH_K, POOL, FEATURE_MAP, COMBINE, QUANTIZE_INT8, QUANTIZE_FP8. */
#include "backends/opencl/ocl_internal.h"
#include "core/error.h"

#define ELEM_WG 256
#define COL_ROWS 256 /* rows per partial column sum (B * H * N / 256 partial rows) */

/* Work-group size of the element-wise and column kernels. A CPU runtime (PoCL) runs a work-group
 * as one loop on one thread: small groups, so that the few hundred work-items of a column
 * reduction still spread over every core. */
static size_t elem_wg(const ocl_exec *x) { return x->dev->cpu_kernels ? 8 : ELEM_WG; }

sla2_status ocl_rows_kernel(const ocl_exec *x, const char *name, cl_kernel *k) {
  char opts[128];
  ocl_basic_options(x->dev, x->g, opts, sizeof opts);
  return ocl_kernel(x->dev, sla2_ocl_src_rows, opts, name, k);
}

/* Bytes of one sum_t in the kernels: a double, or a float-float pair. */
#define SUM_BYTES ((size_t)8)

/* Column partials of slot `src` into scratch A (mode 0: sums, 1: abs maxima). */
static sla2_status column_partials(const ocl_exec *x, int src, int mode, cl_mem *partial, int *chunks) {
  const sla2_graph *g = x->g;
  *chunks = (int)((g->N + COL_ROWS - 1) / COL_ROWS);
  const size_t rows = (size_t)(g->B * g->H) * (size_t)*chunks;
  const size_t total = rows * (size_t)(g->D / ocl_chunk_width(x->dev, g->D)); /* work-items */
  sla2_status st = ocl_scratch_get(x->dev, OCL_SCRATCH_A, rows * (size_t)g->D * SUM_BYTES, partial);
  if (st != SLA2_OK) return st;
  cl_kernel k;
  if ((st = ocl_rows_kernel(x, "col_partial", &k)) != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, src);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, COL_ROWS);
  ocl_arg_int(&a, *chunks);
  ocl_arg_int(&a, mode);
  ocl_arg_long(&a, (cl_long)total);
  ocl_arg_mem(&a, *partial);
  size_t gs = total, ls = elem_wg(x);
  return ocl_launch(x->dev, &a, "col_partial", 1, &gs, &ls);
}

/* smooth_apply without a mean: the slot as contiguous f32 rows. */
static sla2_status copy_as_f32(const ocl_exec *x, int slot, cl_mem mean, bool has_mean, cl_mem out) {
  const sla2_graph *g = x->g;
  const size_t total = (size_t)(g->B * g->H) * (size_t)g->N * (size_t)(g->D / ocl_elems_per_item(x->dev, g->D));
  cl_kernel k;
  sla2_status st = ocl_rows_kernel(x, "smooth_apply", &k);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, slot);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_long(&a, (cl_long)total);
  ocl_arg_mem(&a, mean);
  ocl_arg_int(&a, has_mean ? 1 : 0);
  ocl_arg_mem(&a, out);
  size_t gs = total, ls = elem_wg(x);
  return ocl_launch(x->dev, &a, "smooth_apply", 1, &gs, &ls);
}

sla2_status ocl_widen_f32(const ocl_exec *x, int slot, cl_mem out) { return copy_as_f32(x, slot, NULL, false, out); }

sla2_status ocl_op_smooth_k(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const size_t BH = (size_t)(g->B * g->H);
  sla2_status st;
  cl_kernel k;
  cl_mem mean = NULL;
  ocl_args a;
  /* The means (acc_t [B*H, D]); with smooth_k off the kernel ignores them. */
  if ((st = ocl_scratch_get(x->dev, OCL_SCRATCH_B, BH * (size_t)g->D * SUM_BYTES, &mean)) != SLA2_OK) return st;
  if (g->smooth_k) {
    cl_mem partial;
    int chunks;
    if ((st = column_partials(x, node->in[0], 0, &partial, &chunks)) != SLA2_OK) return st;
    if ((st = ocl_rows_kernel(x, "col_mean_finish", &k)) != SLA2_OK) return st;
    ocl_args_begin(&a, k);
    ocl_arg_mem(&a, partial);
    ocl_arg_int(&a, chunks);
    ocl_arg_int(&a, (cl_int)g->N);
    ocl_arg_int(&a, (cl_int)BH);
    ocl_arg_mem(&a, mean);
    size_t gs = BH * (size_t)g->D, ls = elem_wg(x);
    if ((st = ocl_launch(x->dev, &a, "col_mean_finish", 1, &gs, &ls)) != SLA2_OK) return st;
  }
  return copy_as_f32(x, node->in[0], mean, g->smooth_k, x->buf[node->out[0]]);
}

sla2_status ocl_op_pool(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int T = (int)((g->N + node->block - 1) / node->block);
  const size_t total = (size_t)(g->B * g->H) * (size_t)T * (size_t)(g->D / ocl_chunk_width(x->dev, g->D));
  cl_kernel k;
  sla2_status st = ocl_rows_kernel(x, "pool", &k);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, node->in[0]);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, node->block);
  ocl_arg_int(&a, T);
  ocl_arg_long(&a, (cl_long)total);
  ocl_arg_mem(&a, x->buf[node->out[0]]);
  size_t gs = total, ls = elem_wg(x);
  return ocl_launch(x->dev, &a, "pool", 1, &gs, &ls);
}

sla2_status ocl_op_feature_map(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const size_t rows = (size_t)(g->B * g->H * g->N);
  cl_kernel k;
  sla2_status st = ocl_rows_kernel(x, "feature_map", &k);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, node->in[0]);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, (cl_int)rows);
  ocl_arg_int(&a, (cl_int)g->feature_map);
  ocl_arg_mem(&a, x->buf[node->out[0]]);
  /* CPU devices: one work-item per row; GPUs: work-groups of 64 over 64 rows (32 when D > 128). */
  const size_t rows_per_group = g->D > 128 ? 32 : 64;
  size_t gs = x->dev->cpu_kernels ? rows : (rows + rows_per_group - 1) / rows_per_group * 64, ls = 64;
  return ocl_launch(x->dev, &a, "feature_map", 1, &gs, &ls);
}

sla2_status ocl_op_combine(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const size_t total = (size_t)(g->B * g->H * g->N) * (size_t)(g->D / ocl_elems_per_item(x->dev, g->D));
  cl_kernel k;
  sla2_status st = ocl_rows_kernel(x, "combine", &k);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, x->buf[node->in[0]]);
  ocl_arg_mem(&a, x->buf[node->in[1]]);
  ocl_arg_mem(&a, x->buf[node->in[2]]);
  ocl_arg_int(&a, g->alpha_per_block ? 1 : 0);
  ocl_arg_int(&a, (cl_int)g->Tm);
  ocl_arg_int(&a, (cl_int)g->bq);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_long(&a, (cl_long)total);
  ocl_arg_tensor(&a, x, node->out[0]);
  size_t gs = total, ls = elem_wg(x);
  return ocl_launch(x->dev, &a, "combine", 1, &gs, &ls);
}

sla2_status ocl_op_quantize_int8(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int T = (int)((g->N + node->block - 1) / node->block);
  cl_kernel k;
  sla2_status st = ocl_rows_kernel(x, "quantize_int8", &k);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, node->in[0]);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, node->block);
  ocl_arg_int(&a, T);
  ocl_arg_mem(&a, x->buf[node->out[0]]);
  ocl_arg_mem(&a, x->buf[node->out[1]]);
  const size_t qw = x->dev->cpu_kernels ? 1 : 256; /* SLA2_QW */
  size_t gs = (size_t)(g->B * g->H) * (size_t)T * qw, ls = qw;
  return ocl_launch(x->dev, &a, "quantize_int8", 1, &gs, &ls);
}

sla2_status ocl_op_quantize_fp8(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const size_t BH = (size_t)(g->B * g->H),
               total = BH * (size_t)g->N * (size_t)(g->D / ocl_elems_per_item(x->dev, g->D));
  cl_mem partial;
  int chunks;
  sla2_status st = column_partials(x, node->in[0], 1, &partial, &chunks);
  if (st != SLA2_OK) return st;
  cl_kernel k;
  if ((st = ocl_rows_kernel(x, "col_fp8_sigma", &k)) != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, partial);
  ocl_arg_int(&a, chunks);
  ocl_arg_int(&a, (cl_int)BH);
  ocl_arg_mem(&a, x->buf[node->out[1]]);
  size_t gs = BH * (size_t)g->D, ls = elem_wg(x);
  if ((st = ocl_launch(x->dev, &a, "col_fp8_sigma", 1, &gs, &ls)) != SLA2_OK) return st;
  if ((st = ocl_rows_kernel(x, "fp8_encode", &k)) != SLA2_OK) return st;
  ocl_args_begin(&a, k);
  ocl_arg_tensor(&a, x, node->in[0]);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_long(&a, (cl_long)total);
  ocl_arg_mem(&a, x->buf[node->out[1]]);
  ocl_arg_mem(&a, x->buf[node->out[0]]);
  gs = total;
  return ocl_launch(x->dev, &a, "fp8_encode", 1, &gs, &ls);
}
