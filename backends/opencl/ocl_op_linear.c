/* OpenCL backend: KV_STATE and LINEAR_ATTN (shaders/opencl/sla2_linear.cl).
 *
 * LINEAR_ATTN forms each query block's complement state H_i (D x D) in scratch and multiplies;
 * the scratch holds one slot per work-group, so the query-block rows go in batches that keep it
 * under LINEAR_SCRATCH_BYTES. */
#include "backends/opencl/ocl_internal.h"
#include <stdio.h>

#include "core/error.h"
#include "shaders/common/sla2_constants.h"

#define LINEAR_SCRATCH_BYTES ((size_t)128 << 20)

/* The GEMM tiling of sla2_linear.cl (see there) for this device and head dim. */
typedef struct lin_cfg {
  int tr, tc, v, kv_ch, lq_ch, serial;
  int kt_run; /* kv_total: elements per work-item */
} lin_cfg;

static lin_cfg linear_config(const ocl_device *dev, int D) {
  lin_cfg c;
  if (dev->cpu_kernels) { /* LN_SERIAL: one work-item per work-group */
    c.tc = 1;
    c.tr = 1;
    c.v = D % 16 == 0 ? 16 : 8;
    c.kv_ch = 16;
    c.lq_ch = 16;
    c.serial = 1;
    c.kt_run = 8 * D;
  } else {
    c.serial = 0;
    c.tc = D % 16 == 0 ? 16 : 8;
    c.tr = c.tc;
    c.v = (D / c.tc) % 4 == 0 ? 4 : 1;
    c.kv_ch = 16;
    c.lq_ch = D % 16 == 0 ? 16 : 8;
    c.kt_run = ocl_chunk_width(dev, D);
  }
  return c;
}

/* `combine`: linear_attn with the COMBINE node in its epilogue (LN_COMBINE; CPU devices). */
static sla2_status linear_kernel_as(const ocl_exec *x, const char *name, cl_kernel *k, lin_cfg *out_cfg, bool combine) {
  const lin_cfg c = linear_config(x->dev, (int)x->g->D);
  char opts[320], base[128];
  ocl_basic_options(x->dev, x->g, base, sizeof base);
  snprintf(opts, sizeof opts,
           "%s -D LN_TR=%d -D LN_TC=%d -D LN_V=%d -D KV_CH=%d -D LQ_CH=%d -D LN_BQ=%d -D LN_BK=%d -D LN_SERIAL=%d "
           "-D KT_RUN=%d -D LN_COMBINE=%d",
           base, c.tr, c.tc, c.v, c.kv_ch, c.lq_ch, (int)x->g->bq, (int)x->g->bk, c.serial, c.kt_run, combine ? 1 : 0);
  if (out_cfg) *out_cfg = c;
  return ocl_kernel(x->dev, sla2_ocl_src_linear, opts, name, k);
}

static sla2_status linear_kernel(const ocl_exec *x, const char *name, cl_kernel *k, lin_cfg *out_cfg) {
  return linear_kernel_as(x, name, k, out_cfg, false);
}

sla2_status ocl_linear_kernel(const ocl_exec *x, const char *name, cl_kernel *k) {
  return linear_kernel(x, name, k, NULL);
}

sla2_status ocl_kv_total(const ocl_exec *x, cl_mem hblk, cl_mem zblk, cl_mem htot, cl_mem ztot) {
  const sla2_graph *g = x->g;
  const size_t BH = (size_t)(g->B * g->H), D = (size_t)g->D;
  cl_kernel k;
  lin_cfg c;
  sla2_status st = linear_kernel(x, "kv_total", &k, &c);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, hblk);
  ocl_arg_mem(&a, zblk);
  ocl_arg_int(&a, (cl_int)g->Tn);
  ocl_arg_int(&a, (cl_int)BH);
  ocl_arg_mem(&a, htot);
  ocl_arg_mem(&a, ztot);
  /* CPU devices: groups of one (a few dozen long work-items, each on its own core) */
  size_t gs = BH * ((D * D + D + (size_t)c.kt_run - 1) / (size_t)c.kt_run), ls = c.serial ? 1 : 256;
  return ocl_launch(x->dev, &a, "kv_total", 1, &gs, &ls);
}

sla2_status ocl_op_kv_state(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const size_t BH = (size_t)(g->B * g->H);
  int64_t vs[4];
  sla2_graph_slot_view(g, node->in[1], vs);
  cl_kernel k;
  lin_cfg c;
  sla2_status st = linear_kernel(x, "kv_block", &k, &c);
  if (st != SLA2_OK) return st;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, x->buf[node->in[0]]);
  ocl_arg_mem(&a, x->buf[node->in[1]]);
  ocl_arg_int(&a, sla2_graph_slot_view(g, node->in[1], NULL));
  ocl_arg_longs4(&a, vs);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, (cl_int)g->bk);
  ocl_arg_int(&a, (cl_int)g->Tn);
  ocl_arg_mem(&a, x->buf[node->out[0]]);
  ocl_arg_mem(&a, x->buf[node->out[1]]);
  size_t gs[2] = {BH * (size_t)g->Tn * (size_t)c.tc, (size_t)c.tr}, ls[2] = {(size_t)c.tc, (size_t)c.tr};
  if ((st = ocl_launch(x->dev, &a, "kv_block", 2, gs, ls)) != SLA2_OK) return st;

  return ocl_kv_total(x, x->buf[node->out[0]], x->buf[node->out[1]], x->buf[node->out[2]], x->buf[node->out[3]]);
}

/* LINEAR_ATTN, and with `comb` the COMBINE node too (O written directly; CPU devices, k < Tn). */
static sla2_status linear_run(const ocl_exec *x, const sla2_node *node, const sla2_node *comb) {
  const sla2_graph *g = x->g;
  const size_t BH = (size_t)(g->B * g->H), D = (size_t)g->D, rows = BH * (size_t)g->Tm;
  sla2_status st;
  if (g->k == g->Tn) { /* empty complement: O_l = 0 */
    const cl_float zero = 0.0f;
    cl_int err = ocl_cl.clEnqueueFillBuffer(x->dev->queue, x->buf[node->out[0]], &zero, sizeof zero, 0,
                                     BH * (size_t)(g->N * g->D) * sizeof(float), 0, NULL, NULL);
    return err == CL_SUCCESS ? SLA2_OK : ocl_fail(x->dev, err, "clEnqueueFillBuffer (o_linear)");
  }
  const size_t per = (D * D + D) * sizeof(float);
  size_t batch = LINEAR_SCRATCH_BYTES / per;
  if (batch < 1) batch = 1;
  if (batch > rows) batch = rows;
  cl_mem scratch;
  if ((st = ocl_scratch_get(x->dev, OCL_SCRATCH_A, batch * per, &scratch)) != SLA2_OK) return st;
  cl_kernel k;
  lin_cfg c;
  if ((st = linear_kernel_as(x, "linear_attn", &k, &c, comb != NULL)) != SLA2_OK) return st;
  for (size_t row0 = 0; row0 < rows; row0 += batch) {
    const size_t count = rows - row0 < batch ? rows - row0 : batch;
    ocl_args a;
    ocl_args_begin(&a, k);
    for (int i = 0; i < 6; i++) ocl_arg_mem(&a, x->buf[node->in[i]]);
    ocl_arg_int(&a, (cl_int)g->H);
    ocl_arg_int(&a, (cl_int)g->N);
    ocl_arg_int(&a, (cl_int)g->bq);
    ocl_arg_int(&a, (cl_int)g->Tm);
    ocl_arg_int(&a, (cl_int)g->Tn);
    ocl_arg_int(&a, (cl_int)g->k);
    ocl_arg_int(&a, (cl_int)row0);
    ocl_arg_mem(&a, scratch);
    if (comb) {
      ocl_arg_mem(&a, x->buf[comb->in[0]]); /* OS */
      ocl_arg_mem(&a, x->buf[comb->in[2]]); /* alpha logits */
      ocl_arg_int(&a, g->alpha_per_block ? 1 : 0);
      ocl_arg_tensor(&a, x, comb->out[0]);
    } else {
      ocl_arg_mem(&a, x->buf[node->out[0]]);
    }
    size_t gs[2] = {count * (size_t)c.tc, (size_t)c.tr}, ls[2] = {(size_t)c.tc, (size_t)c.tr};
    if ((st = ocl_launch(x->dev, &a, "linear_attn", 2, gs, ls)) != SLA2_OK) return st;
  }
  return SLA2_OK;
}

sla2_status ocl_op_linear_attn(const ocl_exec *x, const sla2_node *node) { return linear_run(x, node, NULL); }

sla2_status ocl_linear_combine(const ocl_exec *x, const sla2_node *lin, const sla2_node *comb) {
  if (!x->dev->cpu_kernels || x->g->k == x->g->Tn) { /* the GPU kernels and the empty complement: two nodes */
    sla2_status st = linear_run(x, lin, NULL);
    return st != SLA2_OK ? st : ocl_op_combine(x, comb);
  }
  return linear_run(x, lin, comb);
}
