/* Node-level conformance: every slot of the forward graph, computed on each device, against the
 * oracle. One TCase per backend (CK_RUN_CASE=cpu filters). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "core/numeric.h"
#include "problem.h"

#define TAIL 64 /* sentinel bytes after every device buffer */
#define SENTINEL_BYTE 0xA5

typedef struct device_run {
  void *buffers[SLA2_SLOT_COUNT];
  void *host[SLA2_SLOT_COUNT]; /* what the device computed */
} device_run;

static bool is_input(int slot) {
  return slot == SLA2_SLOT_Q || slot == SLA2_SLOT_K || slot == SLA2_SLOT_V || slot == SLA2_SLOT_WQ ||
         slot == SLA2_SLOT_WK || slot == SLA2_SLOT_ALPHA;
}

static void run_on_device(const sla2_backend_device *bd, const problem *p, device_run *out) {
  const sla2_device_iface *f = bd->iface;
  memset(out, 0, sizeof *out);
  unsigned char *fill = malloc(TAIL);
  for (int s = 0; s < SLA2_SLOT_COUNT; s++) {
    if (!p->bytes[s]) continue;
    size_t n = p->bytes[s] + TAIL;
    ck_assert_int_eq(f->buffer_alloc(bd->ctx, n, &out->buffers[s]), SLA2_OK);
    unsigned char *init = malloc(n);
    memset(init, SENTINEL_BYTE, n);
    if (is_input(s)) memcpy(init, p->host[s], p->bytes[s]);
    ck_assert_int_eq(f->buffer_write(bd->ctx, out->buffers[s], 0, init, n), SLA2_OK);
    free(init);
  }
  free(fill);
  sla2_status st = f->supports(bd->ctx, &p->graph);
  ck_assert_msg(st == SLA2_OK, "%s does not support case %s: %s", bd->info.name, p->c->name, sla2_last_error());
  st = f->run(bd->ctx, &p->graph, 0, p->graph.node_count, out->buffers);
  if (st == SLA2_OK) st = f->synchronize(bd->ctx);
  ck_assert_msg(st == SLA2_OK, "%s case %s: run failed: %s", bd->info.name, p->c->name, sla2_last_error());
  for (int s = 0; s < SLA2_SLOT_COUNT; s++) {
    if (!p->bytes[s]) continue;
    size_t n = p->bytes[s] + TAIL;
    unsigned char *back = malloc(n);
    ck_assert_int_eq(f->buffer_read(bd->ctx, out->buffers[s], 0, back, n), SLA2_OK);
    for (size_t i = p->bytes[s]; i < n; i++)
      ck_assert_msg(back[i] == SENTINEL_BYTE, "%s case %s: write past the end of %s (byte %zu)", bd->info.name,
                    p->c->name, sla2_slot_name(s), i - p->bytes[s]);
    out->host[s] = back;
  }
}

static void free_run(const sla2_backend_device *bd, device_run *r) {
  for (int s = 0; s < SLA2_SLOT_COUNT; s++) {
    if (r->buffers[s]) bd->iface->buffer_free(bd->ctx, r->buffers[s]);
    free(r->host[s]);
  }
}

/* INT8 codes: exact, except +-1 where the oracle's x / sigma sits within rounding of a .5 tie. */
static void expect_int8_codes(const problem *p, const device_run *r, int codes_slot, int scale_slot, int src_slot,
                              int block, const char *dev) {
  const sla2_graph *g = &p->graph;
  const int8_t *got = r->host[codes_slot], *ref = p->host[codes_slot];
  const float *sigma = p->host[scale_slot];
  float *src = problem_slot_as_f32(p, src_slot, p->host[src_slot]);
  int64_t per_bh_blocks = (g->N + block - 1) / block;
  for (size_t i = 0; i < g->tensors[codes_slot].count; i++) {
    if (got[i] == ref[i]) continue;
    int64_t row = (int64_t)(i / (size_t)g->D), bh = row / g->N, n = row % g->N;
    float s = sigma[bh * per_bh_blocks + n / block];
    double q = fabs((double)src[i] / (double)s), frac = q - floor(q);
    ck_assert_msg(abs(got[i] - ref[i]) == 1 && fabs(frac - 0.5) < 1e-4,
                  "%s on %s (%s): element %zu is %d, expected %d (x/sigma = %.9g)", sla2_slot_name(codes_slot), dev,
                  p->c->name, i, got[i], ref[i], (double)src[i] / (double)s);
  }
  free(src);
}

static void expect_fp8_codes(const problem *p, const device_run *r, const char *dev) {
  const sla2_graph *g = &p->graph;
  const uint8_t *got = r->host[SLA2_SLOT_VCODES], *ref = p->host[SLA2_SLOT_VCODES];
  const float *sigma = p->host[SLA2_SLOT_VSCALE];
  float *v = problem_slot_as_f32(p, SLA2_SLOT_V, p->host[SLA2_SLOT_V]);
  for (size_t i = 0; i < g->tensors[SLA2_SLOT_VCODES].count; i++) {
    if (got[i] == ref[i]) continue;
    int64_t bh = (int64_t)(i / (size_t)(g->N * g->D)), c = (int64_t)(i % (size_t)g->D);
    float x = v[i] / sigma[bh * g->D + c];
    bool tie = sla2_f32_to_e4m3(x * (1.0f + 1e-6f)) != sla2_f32_to_e4m3(x * (1.0f - 1e-6f));
    ck_assert_msg(tie, "v_codes on %s (%s): element %zu is 0x%02x, expected 0x%02x (x = %.9g)", dev, p->c->name, i,
                  got[i], ref[i], (double)x);
  }
  free(v);
}

static double rms(const float *x, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return n ? sqrt(s / (double)n) : 0.0;
}

static void expect_slot(const problem *p, const device_run *r, int slot, double bound, const char *dev) {
  float *got = problem_slot_as_f32(p, slot, r->host[slot]);
  float *ref = problem_slot_as_f32(p, slot, p->host[slot]);
  size_t n = p->graph.tensors[slot].external ? (size_t)(p->graph.B * p->graph.H * p->graph.N * p->graph.D)
                                             : p->graph.tensors[slot].count;
  char what[96];
  snprintf(what, sizeof what, "%s (%s)", sla2_slot_name(slot), p->c->name);
  /* per element: only gross errors; the NMSE bound carries the precision claim */
  expect_close(what, dev, got, ref, n, bound, 0.05 * rms(ref, n) + 1e-6, 0.05);
  free(got);
  free(ref);
}

/* Every slot of run r against the reference values in ref (the oracle's, or another device's
 * when ref->host points at that device's results). */
static void compare_slots(const problem *ref, const device_run *r, const char *dev) {
  const conf_case *c = ref->c;
  const double tight = 1e-9;
  int f32_slots[] = {SLA2_SLOT_KS, SLA2_SLOT_QBAR, SLA2_SLOT_KBAR, SLA2_SLOT_SCORES, SLA2_SLOT_PHIQ,
                     SLA2_SLOT_PHIK, SLA2_SLOT_HBLK, SLA2_SLOT_ZBLK, SLA2_SLOT_HTOT, SLA2_SLOT_ZTOT};
  for (size_t i = 0; i < sizeof f32_slots / sizeof f32_slots[0]; i++) expect_slot(ref, r, f32_slots[i], tight, dev);
  if (c->quant != SLA2_QUANT_NONE) {
    expect_slot(ref, r, SLA2_SLOT_QSCALE, tight, dev);
    expect_slot(ref, r, SLA2_SLOT_KSCALE, tight, dev);
    expect_int8_codes(ref, r, SLA2_SLOT_QCODES, SLA2_SLOT_QSCALE, SLA2_SLOT_Q, c->bq, dev);
    expect_int8_codes(ref, r, SLA2_SLOT_KCODES, SLA2_SLOT_KSCALE, SLA2_SLOT_KS, c->bk, dev);
  }
  if (c->quant == SLA2_QUANT_INT8_FP8) {
    expect_slot(ref, r, SLA2_SLOT_VSCALE, tight, dev);
    expect_fp8_codes(ref, r, dev);
  }
  if (!lut_differs_by_tie(ref, r->host[SLA2_SLOT_LUT], dev)) {
    expect_slot(ref, r, SLA2_SLOT_LSE, 1e-10, dev);
    expect_slot(ref, r, SLA2_SLOT_OS, output_nmse_bound(c), dev);
    expect_slot(ref, r, SLA2_SLOT_OL, 1e-8, dev);
    expect_slot(ref, r, SLA2_SLOT_O, output_nmse_bound(c), dev);
  }
}

/* The first CUDA device, the reference for the portable backends on a GPU machine. */
static const sla2_backend_device *cuda_reference(const sla2_backend_device *bd) {
  size_t count = 0;
  sla2_device_count(&count);
  for (size_t i = 0; i < count; i++) {
    sla2_device *d;
    sla2_device_info info;
    if (sla2_device_get(i, &d) == SLA2_OK && sla2_device_get_info(d, &info) == SLA2_OK &&
        strcmp(info.backend, "cuda") == 0 && sla2_device_backend(d) != bd)
      return sla2_device_backend(d);
  }
  return NULL;
}

static void check_case(const sla2_backend_device *bd, const conf_case *c) {
  problem p;
  problem_init(&p, c, 1000 + (uint64_t)(c - conf_cases));
  device_run r;
  run_on_device(bd, &p, &r);
  compare_slots(&p, &r, bd->info.name);
  const sla2_backend_device *cuda = strcmp(bd->info.backend, "cuda") == 0 ? NULL : cuda_reference(bd);
  if (cuda) {
    device_run rc;
    run_on_device(cuda, &p, &rc);
    problem against_cuda = p; /* same inputs and graph; CUDA's values as the reference */
    for (int s = 0; s < SLA2_SLOT_COUNT; s++)
      if (p.bytes[s]) against_cuda.host[s] = rc.host[s];
    char dev[96];
    snprintf(dev, sizeof dev, "%s against %s", bd->info.name, cuda->info.name);
    compare_slots(&against_cuda, &r, dev);
    free_run(cuda, &rc);
  }
  free_run(bd, &r);
  problem_free(&p);
}

static void conformance_nodes(const char *backend) {
  sla2_device *devices[16];
  size_t n = devices_of_backend(backend, devices, 16);
  for (size_t d = 0; d < n; d++)
    for (size_t i = 0; i < conf_case_count; i++) check_case(sla2_device_backend(devices[d]), &conf_cases[i]);
}

START_TEST(nodes_match_oracle) { conformance_nodes(test_backends[_i]); }
END_TEST

Suite *suite_conformance(void) {
  Suite *s = suite_create("conformance");
  for (size_t b = 0; b < test_backend_count; b++) {
    TCase *tc = tcase_create(test_backends[b]);
    tcase_set_timeout(tc, 1800);
    tcase_add_loop_test(tc, nodes_match_oracle, (int)b, (int)b + 1);
    suite_add_tcase(s, tc);
  }
  return s;
}
