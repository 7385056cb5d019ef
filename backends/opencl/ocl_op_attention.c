/* OpenCL backend: SPARSE_ATTN and DENSE_ATTN through the one flash-attention kernel
 * (shaders/opencl/sla2_attention.cl). Dense attention is the same kernel with every key as a
 * slot (AT_DENSE) instead of the LUT's blocks.
 *
 * The tile configuration (query rows per work-group, keys per tile, work-group shape, vector
 * widths, staging chunk sizes) is chosen per device type, then shrunk until the local-memory
 * layout fits CL_DEVICE_LOCAL_MEM_SIZE:
 *   GPUs: 16 x 16 work-items, 128 (or bq) rows x 64 keys, float4 register tiles (8 x 4 scores,
 *         8 x 8 outputs per work-item at D = 128), Q and K staged 16 channels at a time.
 *   CPU-type devices (PoCL): one work-item per work-group (AT_SERIAL) walking 128 rows two at
 *         a time with float16 vectors across keys and channels; no barriers, whole K / V tiles
 *         staged once per tile. int8_fp8 over >= DIRECT_MIN_SLOTS keys per row: the "direct"
 *         walk (operands laid out once by attn_kt / attn_vf, no staging) keeping the first pass's
 *         scores in a __local buffer for as many rows (128 down to 16) as fit, so the exact-max
 *         pass does not cost a second Q K^T; two passes when not even 16 rows fit.
 * Environment: SLA2_OPENCL_TILE="bq=128,bk=64,tr=16,tc=16,rv=4,kv=4,dv=4,dc=32,vc=16,pf=1,us=1,rg=4"
 * overrides any of these (a key left out keeps the default; an impossible combination is
 * reported as UNSUPPORTED), and "style=gpu" / "style=cpu" picks the defaults of the other
 * device type; "direct=0|1" and "store=0" force the CPU walk's variants (tests run both). For
 * tuning and for testing the GPU tiling on PoCL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/opencl/ocl_internal.h"
#include "core/error.h"
#include "shaders/common/sla2_constants.h"

typedef struct tile_cfg {
  int serial, rg; /* CPU devices: one work-item per work-group, rg rows at a time */
  int direct;     /* serial, quantized: K~ and V laid out once, read without staging (-1: auto) */
  int store;      /* direct int8_fp8: first-pass scores kept in local memory (-1: auto) */
  int bq, bk, tr, tc, rv, kv, dv, dc, vc, prefetch, unroll;
  int pad;                       /* extra floats per local row (bank spread); 0 on CPUs */
  int align, ldq, ldk, ldp, ldv; /* computed layout, in floats */
  int off_p, off_q, off_k, off_v, off_a, smem;
} tile_cfg;

/* Keys per query-block row from which the serial quantized walk lays out its operands first
 * (that pass costs O(N D); below this the staged walk is cheaper). */
#define DIRECT_MIN_SLOTS 256

static int round_up_int(int x, int m) { return (x + m - 1) / m * m; }

/* Largest of 16, 8, 4, 1 dividing n (and not above cap). */
static int vec_width(int n, int cap) {
  static const int widths[] = {16, 8, 4, 1};
  for (int i = 0; i < 4; i++)
    if (widths[i] <= cap && n % widths[i] == 0) return widths[i];
  return 1;
}

/* SLA2_OPENCL_TILE=style=gpu (or cpu) picks the other device type's defaults. */
static bool cpu_style(const ocl_device *dev) {
  const char *env = getenv("SLA2_OPENCL_TILE");
  if (env && strstr(env, "style=gpu")) return false;
  if (env && strstr(env, "style=cpu")) return true;
  return dev->cpu_kernels;
}

static void defaults(const ocl_device *dev, int D, int bq_limit, tile_cfg *c) {
  memset(c, 0, sizeof *c);
  c->direct = c->store = -1;
  if (cpu_style(dev)) {
    c->serial = 1;
    c->rg = 4;
    c->tc = 1;
    c->tr = 1;
    c->bq = bq_limit < 128 ? bq_limit : 128;
    c->bk = 64;
    c->rv = 1;
    c->kv = 16;
    c->dv = vec_width(D, 16);
    c->dc = D;
    c->vc = c->bk;
    c->pad = 0;
  } else {
    c->tc = D % 16 == 0 ? 16 : 8;
    c->bq = bq_limit < 128 ? bq_limit : 128;
    c->tr = c->bq < 16 ? c->bq : 16;
    c->bk = 64;
    c->rv = (c->bq / c->tr) % 4 == 0 ? 4 : 1;
    c->kv = vec_width(c->bk / c->tc, 4);
    c->dv = vec_width(D / c->tc, 4);
    c->dc = D % 32 == 0 ? 32 : D % 16 == 0 ? 16 : 8;
    c->vc = 16;
    c->prefetch = 1;
    c->unroll = 1;
    c->pad = 4;
  }
}

/* Applies SLA2_OPENCL_TILE overrides. */
static void overrides(tile_cfg *c) {
  const char *env = getenv("SLA2_OPENCL_TILE");
  if (!env || !env[0]) return;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", env);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    char key[16];
    int value;
    if (sscanf(tok, " %15[a-z] = %d", key, &value) != 2) continue;
    int *field = strcmp(key, "bq") == 0    ? &c->bq
                 : strcmp(key, "bk") == 0  ? &c->bk
                 : strcmp(key, "tr") == 0  ? &c->tr
                 : strcmp(key, "tc") == 0  ? &c->tc
                 : strcmp(key, "rv") == 0  ? &c->rv
                 : strcmp(key, "kv") == 0  ? &c->kv
                 : strcmp(key, "dv") == 0  ? &c->dv
                 : strcmp(key, "dc") == 0  ? &c->dc
                 : strcmp(key, "vc") == 0  ? &c->vc
                 : strcmp(key, "pad") == 0 ? &c->pad
                 : strcmp(key, "rg") == 0  ? &c->rg
                 : strcmp(key, "pf") == 0  ? &c->prefetch
                 : strcmp(key, "us") == 0  ? &c->unroll
                 : strcmp(key, "direct") == 0 ? &c->direct
                 : strcmp(key, "store") == 0 ? &c->store
                                           : NULL;
    if (field) *field = value;
  }
}

static bool valid_width(int w) { return w == 1 || w == 4 || w == 8 || w == 16; }

/* Checks divisibility and computes the local layout; false when the shape is impossible. */
static bool layout_serial(tile_cfg *c, int D) {
  if (c->bq < 1 || c->rg < 1 || c->bq % c->rg || c->bk % 16 || D % 8 || (c->kv != 8 && c->kv != 16) ||
      (c->dv != 8 && c->dv != 16) || c->bk % c->kv || D % c->dv)
    return false;
  const int a = c->kv > c->dv ? c->kv : c->dv;
  c->tr = c->tc = 1;
  c->align = a;
  c->ldq = round_up_int(c->bq, a);
  c->ldk = round_up_int(c->bk, a);
  c->ldv = round_up_int(D, a);
  c->ldp = a;
  c->off_p = 0;
  c->off_q = 0;
  c->off_k = round_up_int(c->off_q + c->bq * D, a);
  c->off_v = c->off_k + (c->direct == 1 ? 0 : D * c->ldk); /* direct: no staged K or V */
  c->off_a = round_up_int(c->off_v + (c->direct == 1 ? 0 : c->bk * c->ldv), a);
  c->smem = round_up_int(c->off_a + c->bq * D + 2 * c->bq, a);
  return true;
}

static bool layout(tile_cfg *c, int D) {
  if (c->serial) return layout_serial(c, D);
  if (c->bq < 1 || c->bk < 4 || c->tr < 1 || c->tc < 1 || c->bq % c->tr || c->bk % c->tc || D % c->tc) return false;
  const int rm = c->bq / c->tr, kn = c->bk / c->tc, dn = D / c->tc;
  if (!(c->rv == 1 || c->rv == 4) || !valid_width(c->kv) || !valid_width(c->dv)) return false;
  if (rm % c->rv || kn % c->kv || dn % c->dv) return false;
  if (c->dc < 4 || c->dc % 4 || D % c->dc || c->vc < 4 || c->vc % 4 || c->bk % c->vc || D % 4) return false;
  int a = 4;
  if (c->kv > a) a = c->kv;
  if (c->dv > a) a = c->dv;
  c->align = a;
  c->ldp = round_up_int(c->bk + c->pad, a);
  c->ldq = round_up_int(c->bq + c->pad, a);
  c->ldk = round_up_int(c->bk + c->pad, a);
  c->ldv = round_up_int(D + c->pad, a);
  /* P (and the row-reduction scratch) from 0, V chunks after it; the Q and K chunks of the score
   * phase reuse the same bytes from 0. */
  int p_size = c->bq * c->ldp;
  if (p_size < c->bq * c->tc) p_size = c->bq * c->tc;
  c->off_p = 0;
  c->off_v = round_up_int(p_size, a);
  c->off_q = 0;
  c->off_k = round_up_int(c->dc * c->ldq, a);
  const int pv_end = c->off_v + c->vc * c->ldv, qk_end = c->off_k + c->dc * c->ldk;
  c->smem = pv_end > qk_end ? pv_end : qk_end;
  c->smem = round_up_int(c->smem, a);
  return true;
}

/* Defaults shrunk to the device's local memory (staging chunks first, then rows). */
static sla2_status choose(const ocl_device *dev, int D, int bq_limit, int quant, int64_t nslots, tile_cfg *c) {
  defaults(dev, D, bq_limit, c);
  overrides(c);
  if (c->bq > bq_limit) c->bq = bq_limit;
  /* Auto: int8_fp8 only, where keeping the scores saves the second Q K^T (measured on PoCL:
   * without it the direct walk is no faster than the staged one). */
  if (c->direct == -1) c->direct = c->serial && quant == SLA2_QMODE_INT8_FP8 && nslots >= DIRECT_MIN_SLOTS;
  if (!c->serial || quant == SLA2_QMODE_NONE) c->direct = 0; /* the operands are laid out for these only */
  if (c->direct != 1 || quant != SLA2_QMODE_INT8_FP8) c->store = 0;
  for (;;) {
    if (!layout(c, D))
      return sla2_fail(SLA2_ERROR_UNSUPPORTED,
                       "%s: attention tiles bq %d bk %d wg %dx%d rv %d kv %d dv %d dc %d vc %d do not fit D = %d",
                       dev->name, c->bq, c->bk, c->tr, c->tc, c->rv, c->kv, c->dv, c->dc, c->vc, D);
    if ((cl_ulong)c->smem * 4u <= dev->local_mem && (size_t)(c->tr * c->tc) <= dev->max_wg) return SLA2_OK;
    const bool qk_larger = c->off_k + c->dc * c->ldk > c->off_v + c->vc * c->ldv;
    if (c->serial && c->bq >= 32) {
      c->bq /= 2;
    } else if (qk_larger && c->dc > 8 && D % (c->dc / 2) == 0) {
      c->dc /= 2;
    } else if (!qk_larger && c->vc > 8) {
      c->vc /= 2;
    } else if (c->bq >= 32 && c->bq / 2 >= c->tr) {
      c->bq /= 2;
      if ((c->bq / c->tr) % c->rv) c->rv = 1;
    } else {
      return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: attention tiles need %d bytes of local memory; the device has %llu",
                       dev->name, c->smem * 4, (unsigned long long)dev->local_mem);
    }
  }
}

/* direct + int8_fp8: the most rows (of 128 down to 16) whose scores fit next to the rest of the
 * layout; none fitting means the two-pass walk (store 0). */
static void choose_store(const ocl_device *dev, int D, int64_t nslots, tile_cfg *c) {
  if (c->store == 0) return;
  tile_cfg t = *c;
  for (t.bq = c->bq; t.bq >= 16; t.bq /= 2) {
    if (!layout(&t, D)) break;
    if ((cl_ulong)(t.smem + (int64_t)t.bq * nslots) * 4u <= dev->local_mem) {
      *c = t;
      c->store = 1;
      return;
    }
  }
  c->store = 0;
}

static int log2_int(int64_t x) {
  int l = 0;
  while ((1ll << l) < x) l++;
  return l;
}

/* The direct walk's operands (sla2_attention.cl, attn_kt / attn_vf): K~ codes as floats
 * transposed per key block into scratch B, V as f32 rows into scratch C. */
static sla2_status lay_out_operands(const ocl_exec *x, const sla2_node *node, const char *opts, int quant, int dv,
                                    cl_mem *kt, cl_mem *vf) {
  const sla2_graph *g = x->g;
  ocl_device *dev = x->dev;
  const size_t BH = (size_t)(g->B * g->H), D = (size_t)g->D;
  sla2_status st;
  if ((st = ocl_scratch_get(dev, OCL_SCRATCH_B, BH * (size_t)(g->Tn * g->bk) * D * sizeof(float), kt)) != SLA2_OK ||
      (st = ocl_scratch_get(dev, OCL_SCRATCH_C, BH * (size_t)g->N * D * sizeof(float), vf)) != SLA2_OK)
    return st;
  cl_kernel k;
  ocl_args a;
  if ((st = ocl_kernel(dev, sla2_ocl_src_attention, opts, "attn_kt", &k)) != SLA2_OK) return st;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, x->buf[node->in[6]]);
  ocl_arg_int(&a, (cl_int)BH);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, (cl_int)g->Tn);
  ocl_arg_int(&a, log2_int(g->bk));
  ocl_arg_mem(&a, *kt);
  size_t gs = BH * (size_t)g->Tn * (D / (size_t)dv), ls = 16;
  if ((st = ocl_launch(dev, &a, "attn_kt", 1, &gs, &ls)) != SLA2_OK) return st;
  const int v_slot = quant == SLA2_QMODE_INT8_FP8 ? node->in[8] : node->in[2];
  int64_t vs[4];
  sla2_graph_slot_view(g, v_slot, vs);
  if ((st = ocl_kernel(dev, sla2_ocl_src_attention, opts, "attn_vf", &k)) != SLA2_OK) return st;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, x->buf[v_slot]);
  ocl_arg_longs4(&a, vs);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_long(&a, (cl_long)(BH * (size_t)g->N));
  ocl_arg_mem(&a, *vf);
  gs = BH * (size_t)g->N;
  return ocl_launch(dev, &a, "attn_vf", 1, &gs, &ls);
}

/* An operand of the attention kernel: a slot, or its f32 copy. */
typedef struct operand {
  int slot;
  bool codes; /* INT8 / FP8 codes, read as bytes */
  cl_mem mem;
  int dtype; /* of a tensor: f32 / f16 / bf16 (0 for codes, which the kernel ignores) */
  int64_t strides[4];
} operand;

static operand operand_of(const ocl_exec *x, int slot, bool codes) {
  operand o;
  memset(&o, 0, sizeof o);
  o.slot = slot, o.codes = codes, o.mem = x->buf[slot];
  const int dtype = sla2_graph_slot_view(x->g, slot, o.strides);
  o.dtype = codes ? 0 : dtype;
  return o;
}

/* GPUs: a 16-bit operand copied to contiguous f32 in scratch `which` first. NVIDIA's OpenCL
 * stages 16-bit tiles slower than f32 ones (H100, dense N = 32760: f16 28.6, bf16 28.4, f32 31.7
 * TFLOP/s), and the copy costs one pass over N x D. Kept as it is when the copy would not fit
 * one allocation. */
static sla2_status widen(const ocl_exec *x, operand *o, int which) {
  const sla2_graph *g = x->g;
  const size_t bytes = (size_t)(g->B * g->H * g->N * g->D) * sizeof(float);
  if (o->codes || o->dtype == SLA2_F32 || (cl_ulong)bytes > x->dev->max_alloc) return SLA2_OK;
  cl_mem f32;
  sla2_status st = ocl_scratch_get(x->dev, which, bytes, &f32);
  if (st == SLA2_OK) st = ocl_widen_f32(x, o->slot, f32);
  if (st != SLA2_OK) return st;
  const int64_t contiguous[4] = {g->H * g->N * g->D, g->N * g->D, g->D, 1};
  o->mem = f32;
  o->dtype = SLA2_F32;
  memcpy(o->strides, contiguous, sizeof contiguous);
  return SLA2_OK;
}

sla2_status ocl_op_attention(const ocl_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  ocl_device *dev = x->dev;
  const bool dense = node->op == SLA2_OP_DENSE_ATTN;
  const int quant = dense ? SLA2_QMODE_NONE : (int)g->quant;
  const int D = (int)g->D;
  const int64_t nslots = dense ? g->N : g->k * g->bk;
  tile_cfg c;
  sla2_status st = choose(dev, D, dense ? 128 : (int)g->bq, quant, nslots, &c);
  if (st != SLA2_OK) return st;
  if (c.direct == 1) choose_store(dev, D, nslots, &c);

  /* Slots per quant mode: q/k are the tensors or their INT8 codes, v the tensor or FP8 codes. */
  const int q_slot = quant == SLA2_QMODE_NONE ? node->in[0] : node->in[4];
  const int k_slot = quant == SLA2_QMODE_NONE ? node->in[1] : node->in[6];
  const int v_slot = quant == SLA2_QMODE_INT8_FP8 ? node->in[8] : node->in[2];
  operand kop = operand_of(x, k_slot, quant != SLA2_QMODE_NONE);
  operand vop = operand_of(x, v_slot, quant == SLA2_QMODE_INT8_FP8);
  if (!c.serial) { /* GPUs: 16-bit K and V widened once (see widen) */
    if ((st = widen(x, &kop, OCL_SCRATCH_B)) != SLA2_OK || (st = widen(x, &vop, OCL_SCRATCH_C)) != SLA2_OK) return st;
  }
  char opts[768];
  snprintf(opts, sizeof opts,
           "-D SLA2_D=%d -D AT_BQ=%d -D AT_BK=%d -D AT_TR=%d -D AT_TC=%d -D AT_RV=%d -D AT_KV=%d -D AT_DV=%d "
           "-D AT_DC=%d -D AT_VC=%d -D AT_ALIGN=%d -D AT_LDQ=%d -D AT_LDK=%d -D AT_LDP=%d -D AT_LDV=%d "
           "-D AT_OFF_P=%d -D AT_OFF_Q=%d -D AT_OFF_K=%d -D AT_OFF_V=%d -D AT_SMEM=%d -D AT_QUANT=%d -D AT_DENSE=%d "
           "-D AT_Q_DT=%d -D AT_K_DT=%d -D AT_V_DT=%d -D AT_O_DT=%d -D AT_SERIAL=%d -D AT_RG=%d -D AT_OFF_A=%d -D "
           "AT_PREFETCH=%d -D AT_UNROLL=%d -D AT_DIRECT=%d -D AT_STORE=%d",
           D, c.bq, c.bk, c.tr, c.tc, c.rv, c.kv, c.dv, c.dc, c.vc, c.align, c.ldq, c.ldk, c.ldp, c.ldv, c.off_p,
           c.off_q, c.off_k, c.off_v, c.smem, quant, dense ? 1 : 0,
           quant == SLA2_QMODE_NONE ? sla2_graph_slot_view(g, q_slot, NULL) : 0,
           kop.dtype, vop.dtype,
           sla2_graph_slot_view(g, node->out[0], NULL), c.serial,
           c.rg, c.off_a, c.prefetch, c.unroll, c.direct, c.store);
  snprintf(dev->last_variant, sizeof dev->last_variant, "%s%s%sbq%d bk%d wg%dx%d dc%d vc%d rv%d kv%d dv%d%s smem%d",
           c.serial ? "serial " : "", c.direct == 1 ? "direct " : "", c.store == 1 ? "store " : "", c.bq, c.bk, c.tr, c.tc, c.dc, c.vc, c.rv, c.kv, c.dv,
           c.prefetch ? " prefetch" : "", c.smem * 4);
  if (!c.serial && c.unroll)
    strncat(dev->last_variant, " unroll", sizeof dev->last_variant - strlen(dev->last_variant) - 1);
  cl_kernel k;
  if ((st = ocl_kernel(dev, sla2_ocl_src_attention, opts, "attention", &k)) != SLA2_OK) return st;
  cl_mem kt = NULL, vf = NULL;
  if (c.direct == 1 && (st = lay_out_operands(x, node, opts, quant, c.dv, &kt, &vf)) != SLA2_OK) return st;

  int64_t qs[4], os[4];
  sla2_graph_slot_view(g, q_slot, qs);
  sla2_graph_slot_view(g, node->out[0], os);
  const int64_t bk = dense ? c.bk : g->bk;
  ocl_args a;
  ocl_args_begin(&a, k);
  ocl_arg_mem(&a, x->buf[q_slot]);
  ocl_arg_longs4(&a, qs);
  ocl_arg_mem(&a, kop.mem);
  ocl_arg_longs4(&a, kop.strides);
  ocl_arg_mem(&a, vop.mem);
  ocl_arg_longs4(&a, vop.strides);
  ocl_arg_mem(&a, x->buf[node->out[0]]);
  ocl_arg_longs4(&a, os);
  ocl_arg_mem(&a, node->out[1] >= 0 ? x->buf[node->out[1]] : NULL);
  ocl_arg_mem(&a, dense ? NULL : x->buf[node->in[3]]);
  ocl_arg_mem(&a, quant != SLA2_QMODE_NONE ? x->buf[node->in[5]] : NULL);
  ocl_arg_mem(&a, quant != SLA2_QMODE_NONE ? x->buf[node->in[7]] : NULL);
  ocl_arg_mem(&a, quant == SLA2_QMODE_INT8_FP8 ? x->buf[node->in[9]] : NULL);
  ocl_arg_int(&a, (cl_int)g->H);
  ocl_arg_int(&a, (cl_int)g->N);
  ocl_arg_int(&a, dense ? c.bq : (cl_int)g->bq);
  ocl_arg_int(&a, log2_int(bk));
  ocl_arg_int(&a, dense ? 1 : (cl_int)g->Tm);
  ocl_arg_int(&a, dense ? 1 : (cl_int)g->Tn);
  ocl_arg_int(&a, dense ? 1 : (cl_int)g->k);
  ocl_arg_float(&a, g->scale);
  if (c.direct == 1) {
    ocl_arg_mem(&a, kt);
    ocl_arg_mem(&a, vf);
    ocl_arg_local(&a, c.store == 1 ? (size_t)c.bq * (size_t)nslots * sizeof(float) : sizeof(float));
  }
  const size_t BH = (size_t)(g->B * g->H);
  const size_t tiles = dense ? (size_t)((g->N + c.bq - 1) / c.bq) : (size_t)g->Tm * (size_t)(g->bq / c.bq);
  size_t gs[2] = {BH * tiles * (size_t)c.tc, (size_t)c.tr}, ls[2] = {(size_t)c.tc, (size_t)c.tr};
  return ocl_launch(dev, &a, "attention", 2, gs, ls);
}
