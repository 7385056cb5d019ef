/* The public forward and dense attention on each device against the oracle, through the API a
 * user calls: tensors in BHND/BNHD layouts and every dtype, padded outputs whose gaps hold
 * sentinels, LSE and LUT outputs, and the forward statistics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/numeric.h"
#include "core/ref/ref.h"
#include "problem.h"

#define PAD 8 /* elements of padding after each output row, filled with a sentinel */

static sla2_tensor *make_input(sla2_device *dev, const problem *p, int slot) {
  const conf_case *c = p->c;
  int64_t shape[4] = {c->B, c->H, c->N, c->D};
  sla2_tensor *t = NULL;
  ck_assert_int_eq(sla2_tensor_create(dev, c->dtype, shape, p->in_strides, &t), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_upload(t, p->host[slot], p->bytes[slot]), SLA2_OK);
  return t;
}

/* O with padded rows: [B][H][N][D + PAD]; the padding holds SENTINEL_F32. */
static sla2_tensor *make_padded_output(sla2_device *dev, const conf_case *c, void **host, size_t *bytes) {
  int64_t shape[4] = {c->B, c->H, c->N, c->D};
  int64_t row = c->D + PAD, strides[4] = {c->H * c->N * row, c->N * row, row, 1};
  sla2_tensor *t = NULL;
  ck_assert_int_eq(sla2_tensor_create(dev, c->dtype, shape, strides, &t), SLA2_OK);
  *bytes = sla2_tensor_span_bytes(t);
  *host = malloc(*bytes);
  size_t span = *bytes / sla2_dtype_size(c->dtype);
  for (size_t i = 0; i < span; i++) sla2_store_float(*host, c->dtype, (int64_t)i, SENTINEL_F32);
  ck_assert_int_eq(sla2_tensor_upload(t, *host, *bytes), SLA2_OK);
  return t;
}

static void expect_padding_intact(const conf_case *c, const void *host, size_t bytes, const char *dev) {
  size_t span = bytes / sla2_dtype_size(c->dtype), row = (size_t)(c->D + PAD);
  for (size_t i = 0; i < span; i++)
    if (i % row >= (size_t)c->D)
      ck_assert_msg(sla2_load_float(host, c->dtype, (int64_t)i) == SENTINEL_F32,
                    "%s (%s): padding element %zu of o was overwritten", dev, c->name, i);
}

/* The written part of the padded output, in BHND order. */
static float *unpad(const conf_case *c, const void *host) {
  size_t n = (size_t)(c->B * c->H * c->N * c->D), row = (size_t)(c->D + PAD);
  float *out = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    out[i] = sla2_load_float(host, c->dtype, (int64_t)((i / (size_t)c->D) * row + i % (size_t)c->D));
  return out;
}

static double expected_density(const problem *p) {
  const sla2_graph *g = &p->graph;
  const int32_t *lut = p->host[SLA2_SLOT_LUT];
  double sel = 0.0;
  for (int64_t r = 0; r < g->B * g->H * g->Tm; r++) {
    int64_t i = r % g->Tm, rows = i == g->Tm - 1 ? g->N - i * g->bq : g->bq;
    for (int64_t c = 0; c < g->k; c++) {
      int64_t j = lut[r * g->k + c];
      sel += (double)rows * (double)(j == g->Tn - 1 ? g->N - j * g->bk : g->bk);
    }
  }
  return sel / ((double)(g->B * g->H) * (double)g->N * (double)g->N);
}

static void forward_case(sla2_device *dev, const conf_case *c) {
  problem p;
  problem_init(&p, c, 2000 + (uint64_t)(c - conf_cases));
  const sla2_graph *g = &p.graph;
  const char *name = sla2_device_name(dev);
  sla2_tensor *q = make_input(dev, &p, SLA2_SLOT_Q), *k = make_input(dev, &p, SLA2_SLOT_K),
              *v = make_input(dev, &p, SLA2_SLOT_V);
  void *o_host;
  size_t o_bytes;
  sla2_tensor *o = make_padded_output(dev, c, &o_host, &o_bytes);
  int64_t lse_shape[4] = {c->B, c->H, c->N, 1}, lut_shape[4] = {c->B, c->H, g->Tm, g->k};
  sla2_tensor *lse = NULL, *lut = NULL;
  ck_assert_int_eq(sla2_tensor_create(dev, SLA2_F32, lse_shape, NULL, &lse), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_create(dev, SLA2_I32, lut_shape, NULL, &lut), SLA2_OK);

  sla2_layer_desc desc = {c->H, c->D, c->alpha == SLA2_ALPHA_PER_BLOCK ? c->N : 0};
  sla2_layer *layer = NULL;
  ck_assert_int_eq(sla2_layer_create(dev, &p.config, &desc, &layer), SLA2_OK);
  size_t wn = sla2_layer_router_count(layer), an = sla2_layer_alpha_count(layer);
  ck_assert_uint_eq(wn * sizeof(float), p.bytes[SLA2_SLOT_WQ]);
  ck_assert_uint_eq(an * sizeof(float), p.bytes[SLA2_SLOT_ALPHA]);
  ck_assert_int_eq(sla2_layer_set_router(layer, p.host[SLA2_SLOT_WQ], p.host[SLA2_SLOT_WK], wn), SLA2_OK);
  ck_assert_int_eq(sla2_layer_set_alpha_logits(layer, p.host[SLA2_SLOT_ALPHA], an), SLA2_OK);
  ck_assert_int_eq(sla2_layer_k_for(layer, c->N), g->k);

  sla2_status st = sla2_layer_forward(layer, q, k, v, o, lse, lut);
  ck_assert_msg(st == SLA2_OK, "%s (%s): forward failed: %s", name, c->name, sla2_last_error());
  ck_assert_int_eq(sla2_tensor_download(o, o_host, o_bytes), SLA2_OK);
  expect_padding_intact(c, o_host, o_bytes, name);

  int32_t *lut_host = malloc(p.bytes[SLA2_SLOT_LUT]);
  float *lse_host = malloc(p.bytes[SLA2_SLOT_LSE]);
  ck_assert_int_eq(sla2_tensor_download(lut, lut_host, p.bytes[SLA2_SLOT_LUT]), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_download(lse, lse_host, p.bytes[SLA2_SLOT_LSE]), SLA2_OK);
  if (!lut_differs_by_tie(&p, lut_host, name)) {
    float *got = unpad(c, o_host), *ref = problem_slot_as_f32(&p, SLA2_SLOT_O, p.host[SLA2_SLOT_O]);
    size_t n = (size_t)(c->B * c->H * c->N * c->D);
    char what[96];
    snprintf(what, sizeof what, "forward o (%s)", c->name);
    expect_close(what, name, got, ref, n, output_nmse_bound(c), 0.5, 0.5);
    snprintf(what, sizeof what, "forward lse (%s)", c->name);
    expect_close(what, name, lse_host, p.host[SLA2_SLOT_LSE], (size_t)(c->B * c->H * c->N), 1e-10, 1e-3, 1e-4);
    free(got);
    free(ref);
    sla2_forward_stats stats;
    ck_assert_int_eq(sla2_layer_get_stats(layer, &stats), SLA2_OK);
    ck_assert_int_eq(stats.k_per_row, g->k);
    ck_assert_int_eq(stats.t_m, g->Tm);
    ck_assert_int_eq(stats.t_n, g->Tn);
    ck_assert_double_eq_tol(stats.density, expected_density(&p), 1e-12);
    ck_assert(stats.alpha_min <= stats.alpha_mean && stats.alpha_mean <= stats.alpha_max);
  }
  free(lut_host);
  free(lse_host);
  free(o_host);
  sla2_layer_destroy(layer);
  sla2_tensor *all[] = {q, k, v, o, lse, lut};
  for (size_t i = 0; i < 6; i++) sla2_tensor_destroy(all[i]);
  problem_free(&p);
}

static void dense_case(sla2_device *dev, const conf_case *c) {
  problem p;
  problem_init(&p, c, 3000 + (uint64_t)(c - conf_cases));
  sla2_graph g;
  sla2_graph_build_dense(&g, c->B, c->H, c->N, c->D, (float)(1.0 / sqrt((double)c->D)), false);
  for (int s = SLA2_SLOT_Q; s <= SLA2_SLOT_O; s++) g.tensors[s] = p.graph.tensors[s];
  void *host[SLA2_SLOT_COUNT] = {0};
  for (int s = SLA2_SLOT_Q; s <= SLA2_SLOT_O; s++) host[s] = p.host[s];
  ck_assert_int_eq(sla2_ref_run(&g, 0, g.node_count, host), SLA2_OK);

  sla2_tensor *q = make_input(dev, &p, SLA2_SLOT_Q), *k = make_input(dev, &p, SLA2_SLOT_K),
              *v = make_input(dev, &p, SLA2_SLOT_V);
  void *o_host;
  size_t o_bytes;
  sla2_tensor *o = make_padded_output(dev, c, &o_host, &o_bytes);
  sla2_status st = sla2_attention_dense(q, k, v, o, 0.0);
  ck_assert_msg(st == SLA2_OK, "%s (%s): dense failed: %s", sla2_device_name(dev), c->name, sla2_last_error());
  ck_assert_int_eq(sla2_tensor_download(o, o_host, o_bytes), SLA2_OK);
  expect_padding_intact(c, o_host, o_bytes, sla2_device_name(dev));
  float *got = unpad(c, o_host), *ref = problem_slot_as_f32(&p, SLA2_SLOT_O, p.host[SLA2_SLOT_O]);
  char what[96];
  snprintf(what, sizeof what, "dense o (%s)", c->name);
  double bound = c->dtype == SLA2_F32 ? 1e-9 : c->dtype == SLA2_F16 ? 2e-6 : 1e-4;
  expect_close(what, sla2_device_name(dev), got, ref, (size_t)(c->B * c->H * c->N * c->D), bound, 0.05, 0.05);
  free(got);
  free(ref);
  free(o_host);
  sla2_tensor *all[] = {q, k, v, o};
  for (size_t i = 0; i < 4; i++) sla2_tensor_destroy(all[i]);
  problem_free(&p);
}

START_TEST(forward_matches_oracle) {
  sla2_device *devices[16];
  size_t n = devices_of_backend(test_backends[_i], devices, 16);
  for (size_t d = 0; d < n; d++)
    for (size_t i = 0; i < conf_case_count; i++) forward_case(devices[d], &conf_cases[i]);
}
END_TEST

START_TEST(dense_matches_oracle) {
  sla2_device *devices[16];
  size_t n = devices_of_backend(test_backends[_i], devices, 16);
  for (size_t d = 0; d < n; d++)
    for (size_t i = 0; i < conf_case_count; i++) dense_case(devices[d], &conf_cases[i]);
}
END_TEST

Suite *suite_forward(void) {
  Suite *s = suite_create("forward");
  for (size_t b = 0; b < test_backend_count; b++) {
    TCase *tc = tcase_create(test_backends[b]);
    tcase_set_timeout(tc, 1800);
    tcase_add_loop_test(tc, forward_matches_oracle, (int)b, (int)b + 1);
    tcase_add_loop_test(tc, dense_matches_oracle, (int)b, (int)b + 1);
    suite_add_tcase(s, tc);
  }
  return s;
}
