/* OpenCL backend: ROUTE (shaders/opencl/sla2_route.cl). Projections of the block means into
 * scratch, scores with their order keys, then one work-group per LUT row for the top-k (on CPU
 * devices the serial variants: one work-item per row for the scores and for the top-k). */
#include "backends/opencl/ocl_internal.h"
#include "core/error.h"

sla2_status ocl_op_route(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const size_t BH = (size_t)(g->B * g->H), D = (size_t)g->D, Tm = (size_t)g->Tm, Tn = (size_t)g->Tn;
  const size_t real_bytes = 8; /* double, or a float-float pair */
  const size_t qp_bytes = BH * Tm * D * real_bytes, kp_bytes = BH * Tn * D * real_bytes;
  const size_t keys_bytes = BH * Tm * Tn * sizeof(cl_ulong);
  char opts[128];
  ocl_basic_options(x->dev, g, opts, sizeof opts);
  cl_mem qp, kp, keys;
  sla2_status st;
  if ((st = ocl_scratch_get(x->dev, OCL_SCRATCH_A, qp_bytes, &qp)) != SLA2_OK ||
      (st = ocl_scratch_get(x->dev, OCL_SCRATCH_B, kp_bytes, &kp)) != SLA2_OK ||
      (st = ocl_scratch_get(x->dev, OCL_SCRATCH_C, keys_bytes, &keys)) != SLA2_OK)
    return st;

  cl_kernel k;
  ocl_args a;
  const int ins[2] = {node->in[0], node->in[1]}, ws[2] = {node->in[2], node->in[3]};
  const cl_mem outs[2] = {qp, kp};
  const size_t Ts[2] = {Tm, Tn};
  for (int p = 0; p < 2; p++) {
    if ((st = ocl_kernel(x->dev, sla2_ocl_src_route, opts, "project", &k)) != SLA2_OK) return st;
    const size_t total = BH * Ts[p] * D;
    ocl_args_begin(&a, k);
    ocl_arg_mem(&a, x->buf[ins[p]]);
    ocl_arg_mem(&a, x->buf[ws[p]]);
    ocl_arg_int(&a, (cl_int)g->Hw);
    ocl_arg_int(&a, (cl_int)g->H);
    ocl_arg_int(&a, (cl_int)Ts[p]);
    ocl_arg_long(&a, (cl_long)total);
    ocl_arg_mem(&a, outs[p]);
    size_t gs = total, ls = 64;
    if ((st = ocl_launch(x->dev, &a, "project", 1, &gs, &ls)) != SLA2_OK) return st;
  }

  if ((st = ocl_kernel(x->dev, sla2_ocl_src_route, opts, "route_scores", &k)) != SLA2_OK) return st;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, qp);
  ocl_arg_mem(&a, kp);
  ocl_arg_int(&a, (cl_int)Tm);
  ocl_arg_int(&a, (cl_int)Tn);
  ocl_arg_float(&a, g->scale);
  if (x->dev->cpu_kernels) ocl_arg_int(&a, (cl_int)(BH * Tm)); /* serial variant: one work-item per row */
  ocl_arg_mem(&a, x->buf[node->out[0]]);
  ocl_arg_mem(&a, keys);
  if (x->dev->cpu_kernels) {
    size_t gs1 = BH * Tm, ls1 = 1;
    if ((st = ocl_launch(x->dev, &a, "route_scores", 1, &gs1, &ls1)) != SLA2_OK) return st;
  } else {
    const size_t tiles = BH * ((Tm + 15) / 16) * ((Tn + 15) / 16);
    size_t gs2[2] = {tiles * 16, 16}, ls2[2] = {16, 16};
    if ((st = ocl_launch(x->dev, &a, "route_scores", 2, gs2, ls2)) != SLA2_OK) return st;
  }

  if ((st = ocl_kernel(x->dev, sla2_ocl_src_route, opts, "route_topk", &k)) != SLA2_OK) return st;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, keys);
  ocl_arg_int(&a, (cl_int)Tn);
  ocl_arg_int(&a, (cl_int)g->k);
  if (x->dev->cpu_kernels) ocl_arg_int(&a, (cl_int)(BH * Tm));
  ocl_arg_mem(&a, x->buf[node->out[1]]);
  size_t gs = BH * Tm * (x->dev->cpu_kernels ? 1 : 256), ls = x->dev->cpu_kernels ? 1 : 256;
  return ocl_launch(x->dev, &a, "route_topk", 1, &gs, &ls);
}
