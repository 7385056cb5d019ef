/* The SLA2 layer: holds the config, router matrices and alpha logits (host copies plus device
 * buffers refreshed when changed) and runs the forward graph. Not thread-safe: one layer is
 * used by one thread at a time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/attention_args.h"
#include "core/error.h"
#include "core/executor.h"
#include "sla2/layer.h"

/* Largest head count accepted: keeps router and alpha sizes far from overflow. */
#define MAX_HEADS ((int64_t)1 << 20)

struct sla2_layer {
  sla2_device *device;
  const sla2_backend_device *backend;
  sla2_config config;
  sla2_layer_desc desc;
  int64_t router_heads;     /* Hw: 1 or H */
  size_t router_count;      /* Hw * D * D */
  size_t alpha_count;       /* H or H * Tm */
  float *w_q, *w_k, *alpha; /* host copies */
  void *w_q_buf, *w_k_buf, *alpha_buf;
  bool params_dirty;
  sla2_workspace workspace;
  bool timing;
  bool have_stats;
  sla2_forward_stats stats;
};

static sla2_status alloc_param(sla2_layer *l, size_t count, float **host, void **buf) {
  *host = malloc(count * sizeof(float));
  if (!*host) return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "sla2_layer_create: out of host memory");
  return l->backend->iface->buffer_alloc(l->backend->ctx, count * sizeof(float), buf);
}

void sla2_layer_destroy(sla2_layer *l) {
  if (!l) return;
  const sla2_device_iface *f = l->backend->iface;
  void *bufs[3] = {l->w_q_buf, l->w_k_buf, l->alpha_buf};
  for (int i = 0; i < 3; i++)
    if (bufs[i]) f->buffer_free(l->backend->ctx, bufs[i]);
  sla2_workspace_release(&l->workspace);
  free(l->w_q);
  free(l->w_k);
  free(l->alpha);
  free(l);
}

static void set_identity(float *w, int64_t heads, int64_t D) {
  memset(w, 0, (size_t)(heads * D * D) * sizeof(float));
  for (int64_t h = 0; h < heads; h++)
    for (int64_t d = 0; d < D; d++) w[(h * D + d) * D + d] = 1.0f;
}

sla2_status sla2_layer_create(sla2_device *device, const sla2_config *config, const sla2_layer_desc *desc,
                              sla2_layer **out_layer) {
  sla2_clear_error();
  if (!device || !config || !desc || !out_layer)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_create: %s is NULL",
                     !device ? "device" : !config ? "config" : !desc ? "desc" : "out_layer");
  sla2_status s = sla2_config_validate(config);
  if (s != SLA2_OK) return s;
  if (desc->num_heads < 1 || desc->num_heads > MAX_HEADS)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_create: num_heads = %lld, must be in [1, 2^20]",
                     (long long)desc->num_heads);
  s = sla2_check_head_dim("sla2_layer_create", desc->head_dim);
  if (s != SLA2_OK) return s;
  if (desc->seq_len < 0 || desc->seq_len > ((int64_t)1 << 40))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_create: seq_len = %lld, must be 0 (any) or positive",
                     (long long)desc->seq_len);
  if (config->alpha == SLA2_ALPHA_PER_BLOCK && desc->seq_len == 0)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                     "sla2_layer_create: per-block alpha needs seq_len > 0 (alpha has one logit per query block)");

  sla2_layer *l = calloc(1, sizeof *l);
  if (!l) return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "sla2_layer_create: out of host memory");
  l->device = device;
  l->backend = sla2_device_backend(device);
  l->config = *config;
  l->desc = *desc;
  int64_t H = desc->num_heads, D = desc->head_dim;
  l->router_heads = config->router == SLA2_ROUTER_PER_HEAD ? H : 1;
  l->router_count = (size_t)(l->router_heads * D * D);
  int64_t tm = config->alpha == SLA2_ALPHA_PER_BLOCK ? (desc->seq_len + config->block_q - 1) / config->block_q : 1;
  l->alpha_count = (size_t)(H * tm);
  sla2_workspace_init(&l->workspace, l->backend);

  if ((s = alloc_param(l, l->router_count, &l->w_q, &l->w_q_buf)) != SLA2_OK ||
      (s = alloc_param(l, l->router_count, &l->w_k, &l->w_k_buf)) != SLA2_OK ||
      (s = alloc_param(l, l->alpha_count, &l->alpha, &l->alpha_buf)) != SLA2_OK) {
    sla2_layer_destroy(l);
    return s;
  }
  set_identity(l->w_q, l->router_heads, D);
  set_identity(l->w_k, l->router_heads, D);
  memset(l->alpha, 0, l->alpha_count * sizeof(float));
  l->params_dirty = true;
  *out_layer = l;
  return SLA2_OK;
}

sla2_status sla2_layer_get_config(const sla2_layer *l, sla2_config *out_config) {
  sla2_clear_error();
  if (!l || !out_config)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_get_config: %s is NULL", l ? "out_config" : "layer");
  *out_config = l->config;
  return SLA2_OK;
}

sla2_device *sla2_layer_device(const sla2_layer *l) { return l ? l->device : NULL; }

size_t sla2_layer_router_count(const sla2_layer *l) { return l ? l->router_count : 0; }

size_t sla2_layer_alpha_count(const sla2_layer *l) { return l ? l->alpha_count : 0; }

static sla2_status check_param_args(const char *fn, const sla2_layer *l, const void *a, const char *a_name,
                                    const void *b, const char *b_name, size_t count, size_t expect) {
  if (!l) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: layer is NULL", fn);
  if (!a) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, a_name);
  if (b_name && !b) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, b_name);
  if (count != expect)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: count = %zu, this layer has %zu", fn, count, expect);
  return SLA2_OK;
}

static sla2_status check_finite(const char *fn, const char *name, const float *x, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!isfinite(x[i]))
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: %s[%zu] is NaN or infinite", fn, name, i);
  return SLA2_OK;
}

sla2_status sla2_layer_set_router(sla2_layer *l, const float *w_q, const float *w_k, size_t count) {
  static const char fn[] = "sla2_layer_set_router";
  sla2_clear_error();
  sla2_status s = check_param_args(fn, l, w_q, "w_q", w_k, "w_k", count, l ? l->router_count : 0);
  if (s == SLA2_OK) s = check_finite(fn, "w_q", w_q, count);
  if (s == SLA2_OK) s = check_finite(fn, "w_k", w_k, count);
  if (s != SLA2_OK) return s;
  memcpy(l->w_q, w_q, count * sizeof(float));
  memcpy(l->w_k, w_k, count * sizeof(float));
  l->params_dirty = true;
  return SLA2_OK;
}

sla2_status sla2_layer_get_router(const sla2_layer *l, float *w_q, float *w_k, size_t count) {
  sla2_clear_error();
  sla2_status s = check_param_args("sla2_layer_get_router", l, w_q, "w_q", w_k, "w_k", count,
                                   l ? l->router_count : 0);
  if (s != SLA2_OK) return s;
  memcpy(w_q, l->w_q, count * sizeof(float));
  memcpy(w_k, l->w_k, count * sizeof(float));
  return SLA2_OK;
}

sla2_status sla2_layer_set_alpha_logits(sla2_layer *l, const float *logits, size_t count) {
  static const char fn[] = "sla2_layer_set_alpha_logits";
  sla2_clear_error();
  sla2_status s = check_param_args(fn, l, logits, "logits", NULL, NULL, count, l ? l->alpha_count : 0);
  if (s == SLA2_OK) s = check_finite(fn, "logits", logits, count);
  if (s != SLA2_OK) return s;
  memcpy(l->alpha, logits, count * sizeof(float));
  l->params_dirty = true;
  return SLA2_OK;
}

sla2_status sla2_layer_get_alpha_logits(const sla2_layer *l, float *logits, size_t count) {
  sla2_clear_error();
  sla2_status s = check_param_args("sla2_layer_get_alpha_logits", l, logits, "logits", NULL, NULL, count,
                                   l ? l->alpha_count : 0);
  if (s != SLA2_OK) return s;
  memcpy(logits, l->alpha, count * sizeof(float));
  return SLA2_OK;
}

int64_t sla2_layer_k_for(const sla2_layer *l, int64_t n) {
  if (!l || n < 1) return 0;
  return sla2_blocks_per_row(l->config.topk, (n + l->config.block_k - 1) / l->config.block_k);
}

sla2_status sla2_layer_set_timing(sla2_layer *l, bool enabled) {
  sla2_clear_error();
  if (!l) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_set_timing: layer is NULL");
  l->timing = enabled;
  return SLA2_OK;
}

sla2_status sla2_layer_get_stats(const sla2_layer *l, sla2_forward_stats *out) {
  sla2_clear_error();
  if (!l || !out) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_get_stats: %s is NULL", l ? "out_stats" : "layer");
  if (!l->have_stats) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_get_stats: no forward has run yet");
  *out = l->stats;
  return SLA2_OK;
}

/* An optional output must be a contiguous tensor of the exact shape and dtype. */
static sla2_status check_optional_output(const sla2_layer *l, const sla2_tensor *t, const char *name,
                                         sla2_dtype dtype, const int64_t shape[4]) {
  if (!t) return SLA2_OK;
  if (t->device != l->device)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_forward: %s is on %s, the layer on %s", name,
                     sla2_device_name(t->device), sla2_device_name(l->device));
  if (t->dtype != dtype)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_forward: %s must be %s (got %s)", name,
                     sla2_dtype_name(dtype), sla2_dtype_name(t->dtype));
  for (int d = 0; d < 4; d++)
    if (t->shape[d] != shape[d])
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                       "sla2_layer_forward: %s must have shape [%lld,%lld,%lld,%lld] (got [%lld,%lld,%lld,%lld])",
                       name, (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)shape[3],
                       (long long)t->shape[0], (long long)t->shape[1], (long long)t->shape[2], (long long)t->shape[3]);
  if (!sla2_tensor_is_contiguous(t))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_layer_forward: %s must be contiguous", name);
  return SLA2_OK;
}

static sla2_status upload_params(sla2_layer *l) {
  if (!l->params_dirty) return SLA2_OK;
  const sla2_device_iface *f = l->backend->iface;
  void *ctx = l->backend->ctx;
  sla2_status s = f->buffer_write(ctx, l->w_q_buf, 0, l->w_q, l->router_count * sizeof(float));
  if (s == SLA2_OK) s = f->buffer_write(ctx, l->w_k_buf, 0, l->w_k, l->router_count * sizeof(float));
  if (s == SLA2_OK) s = f->buffer_write(ctx, l->alpha_buf, 0, l->alpha, l->alpha_count * sizeof(float));
  if (s == SLA2_OK) l->params_dirty = false;
  return s;
}

/* Selected key tokens / all key tokens, weighting each query block by its rows. All key blocks
 * are bk long except perhaps the last, so the LUT is read only when that one is partial. */
static sla2_status measure_density(const sla2_layer *l, const sla2_graph *g, const void *lut_buf, double *out) {
  int64_t last_len = g->N - (g->Tn - 1) * g->bk;
  double full = (double)g->k * (double)g->bk;
  if (last_len == g->bk || g->k == g->Tn) {
    *out = fmin(full, (double)g->N) / (double)g->N;
    return SLA2_OK;
  }
  size_t count = g->tensors[SLA2_SLOT_LUT].count;
  int32_t *lut = malloc(count * sizeof(int32_t));
  if (!lut) return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "sla2_layer_forward: out of host memory");
  sla2_status s = l->backend->iface->buffer_read(l->backend->ctx, lut_buf, 0, lut, count * sizeof(int32_t));
  if (s != SLA2_OK) {
    free(lut);
    return s;
  }
  double selected = 0.0;
  for (size_t row = 0; row < count / (size_t)g->k; row++) {
    int64_t i = (int64_t)(row % (size_t)g->Tm);
    int64_t rows = i == g->Tm - 1 ? g->N - i * g->bq : g->bq;
    double keys = 0.0;
    for (int64_t c = 0; c < g->k; c++) keys += lut[row * (size_t)g->k + (size_t)c] == g->Tn - 1 ? last_len : g->bk;
    selected += keys * (double)rows;
  }
  free(lut);
  *out = selected / ((double)(g->B * g->H) * (double)g->N * (double)g->N);
  return SLA2_OK;
}

static void alpha_stats(const sla2_layer *l, sla2_forward_stats *st) {
  double sum = 0.0, lo = 1.0, hi = 0.0;
  for (size_t i = 0; i < l->alpha_count; i++) {
    double a = 1.0 / (1.0 + exp(-(double)l->alpha[i]));
    sum += a;
    lo = fmin(lo, a);
    hi = fmax(hi, a);
  }
  st->alpha_mean = sum / (double)l->alpha_count;
  st->alpha_min = lo;
  st->alpha_max = hi;
}

sla2_status sla2_layer_forward(sla2_layer *l, const sla2_tensor *q, const sla2_tensor *k, const sla2_tensor *v,
                               sla2_tensor *o, sla2_tensor *lse, sla2_tensor *lut) {
  static const char fn[] = "sla2_layer_forward";
  sla2_clear_error();
  if (!l) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: layer is NULL", fn);
  int64_t shape[4];
  sla2_status s = sla2_check_attention_tensors(fn, q, k, v, o, shape);
  if (s != SLA2_OK) return s;
  if (q->device != l->device)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: tensors are on %s, the layer on %s", fn,
                     sla2_device_name(q->device), sla2_device_name(l->device));
  if (shape[1] != l->desc.num_heads || shape[3] != l->desc.head_dim)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: tensors have H = %lld, D = %lld; the layer H = %lld, D = %lld",
                     fn, (long long)shape[1], (long long)shape[3], (long long)l->desc.num_heads,
                     (long long)l->desc.head_dim);
  if (l->desc.seq_len > 0 && shape[2] != l->desc.seq_len)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: N = %lld but the layer was created for seq_len %lld", fn,
                     (long long)shape[2], (long long)l->desc.seq_len);

  sla2_graph g;
  sla2_graph_build_forward(&g, &l->config, shape[0], shape[1], shape[2], shape[3], l->router_heads);
  const int64_t lse_shape[4] = {g.B, g.H, g.N, 1}, lut_shape[4] = {g.B, g.H, g.Tm, g.k};
  if ((s = check_optional_output(l, lse, "lse", SLA2_F32, lse_shape)) != SLA2_OK ||
      (s = check_optional_output(l, lut, "lut", SLA2_I32, lut_shape)) != SLA2_OK)
    return s;
  if (lse && (lse == q || lse == k || lse == v || lse == o || lse == lut))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: lse must be a tensor of its own", fn);

  void *buffers[SLA2_SLOT_COUNT] = {0};
  sla2_bind_attention_tensors(&g, q, k, v, o, buffers);
  if ((s = l->backend->iface->supports(l->backend->ctx, &g)) != SLA2_OK) return s;
  buffers[SLA2_SLOT_WQ] = l->w_q_buf;
  buffers[SLA2_SLOT_WK] = l->w_k_buf;
  buffers[SLA2_SLOT_ALPHA] = l->alpha_buf;
  if (lse) buffers[SLA2_SLOT_LSE] = lse->buffer;
  if (lut) buffers[SLA2_SLOT_LUT] = lut->buffer;
  if ((s = sla2_workspace_bind(&l->workspace, &g, buffers)) != SLA2_OK) return s;
  if ((s = upload_params(l)) != SLA2_OK) return s;

  sla2_run_timing timing = {.enabled = l->timing};
  if ((s = sla2_execute(l->backend, &g, buffers, &timing)) != SLA2_OK) return s;

  sla2_forward_stats st;
  memset(&st, 0, sizeof st);
  if ((s = measure_density(l, &g, buffers[SLA2_SLOT_LUT], &st.density)) != SLA2_OK) return s;
  st.k_per_row = g.k;
  st.t_m = g.Tm;
  st.t_n = g.Tn;
  alpha_stats(l, &st);
  st.timed = l->timing;
  st.stage_count = g.node_count;
  for (int i = 0; i < g.node_count; i++) {
    st.stage_names[i] = g.nodes[i].name;
    st.stage_ms[i] = timing.node_ms[i];
  }
  st.total_ms = timing.total_ms;
  l->stats = st;
  l->have_stats = true;
  return SLA2_OK;
}
