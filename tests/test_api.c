/* Bad input for every public entry point: each returns the right status, names the problem in
 * sla2_last_error(), and leaves outputs and state unchanged. Runs on the CPU device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static sla2_device *cpu(void) {
  sla2_device *d = NULL;
  ck_assert_int_eq(sla2_device_by_name("cpu", &d), SLA2_OK);
  return d;
}

#define EXPECT_STATUS(call, status, needle)                                                           \
  do {                                                                                                \
    sla2_status st_ = (call);                                                                         \
    ck_assert_msg(st_ == (status), "%s returned %s, expected %s (%s)", #call, sla2_status_string(st_), \
                  sla2_status_string(status), sla2_last_error());                                    \
    ck_assert_msg(strstr(sla2_last_error(), (needle)) != NULL, "%s: message \"%s\" lacks \"%s\"", #call, \
                  sla2_last_error(), (needle));                                                       \
  } while (0)

START_TEST(status_strings) {
  ck_assert_str_eq(sla2_status_string(SLA2_OK), "OK");
  ck_assert_str_eq(sla2_status_string(SLA2_ERROR_UNAVAILABLE), "UNAVAILABLE");
  ck_assert_str_eq(sla2_status_string(SLA2_ERROR_INVALID_ARGUMENT), "INVALID_ARGUMENT");
  ck_assert_str_eq(sla2_status_string((sla2_status)99), "UNKNOWN_STATUS");
  ck_assert_str_eq(sla2_version(), SLA2_VERSION_STRING);
  size_t n;
  ck_assert_int_eq(sla2_device_count(&n), SLA2_OK);
  ck_assert_str_eq(sla2_last_error(), ""); /* success clears the message */
}
END_TEST

START_TEST(devices_enumerate_and_select) {
  size_t n = 0;
  ck_assert_int_eq(sla2_device_count(&n), SLA2_OK);
  ck_assert_uint_ge(n, 1);
  EXPECT_STATUS(sla2_device_count(NULL), SLA2_ERROR_INVALID_ARGUMENT, "out_count");
  sla2_device *d = NULL;
  EXPECT_STATUS(sla2_device_get(n, &d), SLA2_ERROR_INVALID_ARGUMENT, "out of range");
  ck_assert_ptr_null(d);
  EXPECT_STATUS(sla2_device_by_name("nosuch7", &d), SLA2_ERROR_INVALID_ARGUMENT, "cpu"); /* lists devices */
  EXPECT_STATUS(sla2_device_by_name(NULL, &d), SLA2_ERROR_INVALID_ARGUMENT, "name");
  EXPECT_STATUS(sla2_device_get_info(NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "device");
  ck_assert_str_eq(sla2_device_name(NULL), "");

  sla2_device_info info;
  ck_assert_int_eq(sla2_device_get_info(cpu(), &info), SLA2_OK);
  ck_assert_str_eq(info.name, "cpu");
  ck_assert_str_eq(info.backend, "cpu");
  ck_assert_int_eq(info.type, SLA2_DEVICE_CPU);

  /* SLA2_DEVICE forces the choice; an unknown name is an error naming the variable */
  setenv("SLA2_DEVICE", "cpu", 1);
  ck_assert_int_eq(sla2_device_best(&d), SLA2_OK);
  ck_assert_str_eq(sla2_device_name(d), "cpu");
  setenv("SLA2_DEVICE", "nosuch0", 1);
  EXPECT_STATUS(sla2_device_best(&d), SLA2_ERROR_INVALID_ARGUMENT, "SLA2_DEVICE");
  unsetenv("SLA2_DEVICE");
  ck_assert_int_eq(sla2_device_best(&d), SLA2_OK);
  ck_assert_int_eq(sla2_device_get_info(d, &info), SLA2_OK);
  ck_assert_msg(!(info.caps & SLA2_CAP_SOFTWARE), "best device %s is a software device", info.name);

  /* every compiled-in backend reports OK or a reason; cpu is always OK */
  bool saw_cpu = false;
  for (size_t i = 0; i < sla2_backend_count(); i++) {
    const char *name, *why;
    sla2_status st;
    ck_assert_int_eq(sla2_backend_get(i, &name, &st, &why), SLA2_OK);
    if (st != SLA2_OK) ck_assert_msg(why[0] != '\0', "backend %s unavailable without a reason", name);
    if (strcmp(name, "cpu") == 0) {
      saw_cpu = true;
      ck_assert_int_eq(st, SLA2_OK);
    }
  }
  ck_assert(saw_cpu);
  EXPECT_STATUS(sla2_backend_get(sla2_backend_count(), NULL, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "range");
}
END_TEST

START_TEST(tensor_create_rejects_bad_shapes) {
  sla2_device *d = cpu();
  sla2_tensor *t = (sla2_tensor *)0x1; /* must stay untouched on failure */
  int64_t ok[4] = {1, 2, 8, 16};
  EXPECT_STATUS(sla2_tensor_create(NULL, SLA2_F32, ok, NULL, &t), SLA2_ERROR_INVALID_ARGUMENT, "device");
  EXPECT_STATUS(sla2_tensor_create(d, SLA2_F32, NULL, NULL, &t), SLA2_ERROR_INVALID_ARGUMENT, "shape");
  EXPECT_STATUS(sla2_tensor_create(d, SLA2_F32, ok, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "out_tensor");
  EXPECT_STATUS(sla2_tensor_create(d, (sla2_dtype)42, ok, NULL, &t), SLA2_ERROR_INVALID_ARGUMENT, "dtype");
  int64_t zero_n[4] = {1, 2, 0, 16}, neg[4] = {1, -2, 8, 16};
  EXPECT_STATUS(sla2_tensor_create(d, SLA2_F32, zero_n, NULL, &t), SLA2_ERROR_INVALID_ARGUMENT, "(N)");
  EXPECT_STATUS(sla2_tensor_create(d, SLA2_F32, neg, NULL, &t), SLA2_ERROR_INVALID_ARGUMENT, "(H)");
  int64_t huge[4] = {1 << 20, 1 << 20, 1 << 20, 1 << 20};
  EXPECT_STATUS(sla2_tensor_create(d, SLA2_F32, huge, NULL, &t), SLA2_ERROR_INVALID_ARGUMENT, "overflow");
  int64_t big[4] = {(int64_t)1 << 40, (int64_t)1 << 40, 1, 1};
  EXPECT_STATUS(sla2_tensor_create(d, SLA2_F32, big, NULL, &t), SLA2_ERROR_INVALID_ARGUMENT, "overflow");
  int64_t overlap[4] = {128, 16, 1, 1}; /* N stride 1 collides with D stride 1 */
  EXPECT_STATUS(sla2_tensor_create(d, SLA2_F32, ok, overlap, &t), SLA2_ERROR_INVALID_ARGUMENT, "overlap");
  int64_t zero_stride[4] = {256, 128, 0, 1};
  EXPECT_STATUS(sla2_tensor_create(d, SLA2_F32, ok, zero_stride, &t), SLA2_ERROR_INVALID_ARGUMENT, "strides[2]");
  EXPECT_STATUS(sla2_tensor_create_layout(d, SLA2_F32, ok, (sla2_layout)7, &t), SLA2_ERROR_INVALID_ARGUMENT, "layout");
  ck_assert_ptr_eq(t, (sla2_tensor *)0x1);

  /* a BNHD tensor spans exactly B*N*H*D elements */
  ck_assert_int_eq(sla2_tensor_create_layout(d, SLA2_F16, ok, SLA2_LAYOUT_BNHD, &t), SLA2_OK);
  int64_t st[4];
  ck_assert_int_eq(sla2_tensor_strides(t, st), SLA2_OK);
  ck_assert_int_eq(st[2], 2 * 16);
  ck_assert_uint_eq(sla2_tensor_span_bytes(t), 2 * 8 * 16 * 2);
  sla2_tensor_destroy(t);
  sla2_tensor_destroy(NULL);
}
END_TEST

START_TEST(tensor_upload_rejects_nonfinite_and_sizes) {
  sla2_device *d = cpu();
  int64_t shape[4] = {1, 1, 4, 8};
  sla2_tensor *t;
  ck_assert_int_eq(sla2_tensor_create(d, SLA2_F32, shape, NULL, &t), SLA2_OK);
  float good[32], back[32], bad[32];
  for (int i = 0; i < 32; i++) good[i] = (float)i, bad[i] = 1.0f;
  ck_assert_int_eq(sla2_tensor_upload(t, good, sizeof good), SLA2_OK);
  bad[17] = NAN;
  EXPECT_STATUS(sla2_tensor_upload(t, bad, sizeof bad), SLA2_ERROR_INVALID_ARGUMENT, "offset 17");
  bad[17] = INFINITY;
  EXPECT_STATUS(sla2_tensor_upload(t, bad, sizeof bad), SLA2_ERROR_INVALID_ARGUMENT, "NaN or infinite");
  EXPECT_STATUS(sla2_tensor_upload(t, good, sizeof good - 4), SLA2_ERROR_INVALID_ARGUMENT, "bytes");
  EXPECT_STATUS(sla2_tensor_upload(t, NULL, sizeof good), SLA2_ERROR_INVALID_ARGUMENT, "host");
  EXPECT_STATUS(sla2_tensor_download(t, back, sizeof back + 4), SLA2_ERROR_INVALID_ARGUMENT, "bytes");
  ck_assert_int_eq(sla2_tensor_download(t, back, sizeof back), SLA2_OK);
  ck_assert_mem_eq(back, good, sizeof good); /* failed uploads changed nothing */
  sla2_tensor_destroy(t);

  /* f16 infinity (0x7C00) is caught too */
  ck_assert_int_eq(sla2_tensor_create(d, SLA2_F16, shape, NULL, &t), SLA2_OK);
  uint16_t h[32] = {0};
  h[5] = 0x7C00;
  EXPECT_STATUS(sla2_tensor_upload(t, h, sizeof h), SLA2_ERROR_INVALID_ARGUMENT, "offset 5");
  sla2_tensor_destroy(t);
}
END_TEST

typedef struct fixture {
  sla2_device *dev;
  sla2_tensor *q, *k, *v, *o;
  sla2_layer *layer;
  float *o_before;
  size_t o_bytes;
} fixture;

static void fixture_init(fixture *f, sla2_dtype dtype) {
  f->dev = cpu();
  int64_t shape[4] = {1, 2, 96, 32};
  sla2_tensor **ts[4] = {&f->q, &f->k, &f->v, &f->o};
  size_t n = 2 * 96 * 32;
  float *data = malloc(n * sizeof(float));
  test_rng r;
  rng_seed(&r, 7);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(sla2_tensor_create(f->dev, i == 3 ? SLA2_F32 : dtype, shape, NULL, ts[i]), SLA2_OK);
    if (i < 3 && dtype != SLA2_F32) continue;
    for (size_t j = 0; j < n; j++) data[j] = (float)rng_normal(&r);
    ck_assert_int_eq(sla2_tensor_upload(*ts[i], data, n * sizeof(float)), SLA2_OK);
  }
  f->o_before = data; /* o's contents */
  f->o_bytes = n * sizeof(float);
  sla2_config c = sla2_config_default();
  c.block_q = 32, c.block_k = 32;
  sla2_layer_desc desc = {2, 32, 0};
  ck_assert_int_eq(sla2_layer_create(f->dev, &c, &desc, &f->layer), SLA2_OK);
}

static void expect_o_unchanged(const fixture *f) {
  float *now = malloc(f->o_bytes);
  ck_assert_int_eq(sla2_tensor_download(f->o, now, f->o_bytes), SLA2_OK);
  ck_assert_mem_eq(now, f->o_before, f->o_bytes);
  free(now);
}

static void fixture_free(fixture *f) {
  sla2_layer_destroy(f->layer);
  sla2_tensor_destroy(f->q), sla2_tensor_destroy(f->k), sla2_tensor_destroy(f->v), sla2_tensor_destroy(f->o);
  free(f->o_before);
}

START_TEST(forward_rejects_bad_tensors) {
  fixture f;
  fixture_init(&f, SLA2_F32);
  EXPECT_STATUS(sla2_layer_forward(NULL, f.q, f.k, f.v, f.o, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "layer");
  EXPECT_STATUS(sla2_layer_forward(f.layer, NULL, f.k, f.v, f.o, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "q is NULL");
  EXPECT_STATUS(sla2_layer_forward(f.layer, f.q, f.k, f.v, NULL, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "o is NULL");
  EXPECT_STATUS(sla2_layer_forward(f.layer, f.q, f.k, f.v, f.q, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "distinct");
  expect_o_unchanged(&f);
  sla2_forward_stats stats;
  EXPECT_STATUS(sla2_layer_get_stats(f.layer, &stats), SLA2_ERROR_INVALID_ARGUMENT, "no forward");

  /* mismatched shape, dtype, head count */
  sla2_tensor *t;
  int64_t other_n[4] = {1, 2, 64, 32}, other_h[4] = {1, 3, 96, 32};
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F32, other_n, NULL, &t), SLA2_OK);
  EXPECT_STATUS(sla2_layer_forward(f.layer, f.q, t, f.v, f.o, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "k has shape");
  sla2_tensor_destroy(t);
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F32, other_h, NULL, &t), SLA2_OK);
  sla2_tensor *k3, *v3, *o3;
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F32, other_h, NULL, &k3), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F32, other_h, NULL, &v3), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F32, other_h, NULL, &o3), SLA2_OK);
  EXPECT_STATUS(sla2_layer_forward(f.layer, t, k3, v3, o3, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "H = 3");
  sla2_tensor_destroy(t), sla2_tensor_destroy(k3), sla2_tensor_destroy(v3), sla2_tensor_destroy(o3);
  int64_t shape[4] = {1, 2, 96, 32};
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F16, shape, NULL, &t), SLA2_OK);
  EXPECT_STATUS(sla2_layer_forward(f.layer, f.q, f.k, t, f.o, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "one dtype");
  sla2_tensor_destroy(t);
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_I32, shape, NULL, &t), SLA2_OK);
  EXPECT_STATUS(sla2_layer_forward(f.layer, f.q, f.k, f.v, t, NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "o has dtype");
  sla2_tensor_destroy(t);

  /* optional outputs of the wrong shape, dtype or layout */
  int64_t lse_bad[4] = {1, 2, 95, 1}, lut_shape[4] = {1, 2, 3, 1};
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F32, lse_bad, NULL, &t), SLA2_OK);
  EXPECT_STATUS(sla2_layer_forward(f.layer, f.q, f.k, f.v, f.o, t, NULL), SLA2_ERROR_INVALID_ARGUMENT, "lse must have shape");
  sla2_tensor_destroy(t);
  ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F32, lut_shape, NULL, &t), SLA2_OK);
  EXPECT_STATUS(sla2_layer_forward(f.layer, f.q, f.k, f.v, f.o, NULL, t), SLA2_ERROR_INVALID_ARGUMENT, "lut must be i32");
  sla2_tensor_destroy(t);
  expect_o_unchanged(&f);
  EXPECT_STATUS(sla2_layer_get_stats(f.layer, &stats), SLA2_ERROR_INVALID_ARGUMENT, "no forward");

  /* and a good call afterwards works, with stats */
  ck_assert_int_eq(sla2_layer_forward(f.layer, f.q, f.k, f.v, f.o, NULL, NULL), SLA2_OK);
  ck_assert_int_eq(sla2_layer_get_stats(f.layer, &stats), SLA2_OK);
  ck_assert_int_eq(stats.k_per_row, 1); /* floor(0.05 * 3) clamps to 1 */
  ck_assert_double_eq_tol(stats.density, 32.0 / 96.0, 1e-12);
  ck_assert_double_eq_tol(stats.alpha_mean, 0.5, 1e-12);
  fixture_free(&f);
}
END_TEST

START_TEST(layer_create_rejects_bad_desc) {
  sla2_device *d = cpu();
  sla2_config c = sla2_config_default();
  sla2_layer *l = (sla2_layer *)0x1;
  sla2_layer_desc desc = {4, 64, 0};
  EXPECT_STATUS(sla2_layer_create(NULL, &c, &desc, &l), SLA2_ERROR_INVALID_ARGUMENT, "device");
  EXPECT_STATUS(sla2_layer_create(d, NULL, &desc, &l), SLA2_ERROR_INVALID_ARGUMENT, "config");
  EXPECT_STATUS(sla2_layer_create(d, &c, NULL, &l), SLA2_ERROR_INVALID_ARGUMENT, "desc");
  sla2_layer_desc bad_d = {4, 60, 0}, big_d = {4, 264, 0}, zero_h = {0, 64, 0}, neg_n = {4, 64, -5};
  EXPECT_STATUS(sla2_layer_create(d, &c, &bad_d, &l), SLA2_ERROR_UNSUPPORTED, "D = 60");
  EXPECT_STATUS(sla2_layer_create(d, &c, &big_d, &l), SLA2_ERROR_UNSUPPORTED, "D = 264");
  EXPECT_STATUS(sla2_layer_create(d, &c, &zero_h, &l), SLA2_ERROR_INVALID_ARGUMENT, "num_heads");
  EXPECT_STATUS(sla2_layer_create(d, &c, &neg_n, &l), SLA2_ERROR_INVALID_ARGUMENT, "seq_len");
  c.alpha = SLA2_ALPHA_PER_BLOCK;
  EXPECT_STATUS(sla2_layer_create(d, &c, &desc, &l), SLA2_ERROR_INVALID_ARGUMENT, "per-block alpha");
  c = sla2_config_default();
  c.topk = NAN;
  EXPECT_STATUS(sla2_layer_create(d, &c, &desc, &l), SLA2_ERROR_INVALID_ARGUMENT, "topk");
  c = sla2_config_default();
  c.block_q = 48;
  EXPECT_STATUS(sla2_layer_create(d, &c, &desc, &l), SLA2_ERROR_INVALID_ARGUMENT, "block_q");
  ck_assert_ptr_eq(l, (sla2_layer *)0x1);
  sla2_layer_destroy(NULL);
}
END_TEST

START_TEST(layer_params_reject_bad_values_and_keep_state) {
  sla2_device *d = cpu();
  sla2_config c = sla2_config_default();
  c.router = SLA2_ROUTER_PER_HEAD;
  c.alpha = SLA2_ALPHA_PER_BLOCK;
  sla2_layer_desc desc = {2, 16, 300};
  sla2_layer *l;
  ck_assert_int_eq(sla2_layer_create(d, &c, &desc, &l), SLA2_OK);
  ck_assert_uint_eq(sla2_layer_router_count(l), 2 * 16 * 16);
  ck_assert_uint_eq(sla2_layer_alpha_count(l), 2 * 3); /* ceil(300 / 128) blocks per head */
  float wq[512], wk[512], got_q[512], got_k[512], alpha[6], got_a[6];
  ck_assert_int_eq(sla2_layer_get_router(l, got_q, got_k, 512), SLA2_OK);
  for (int i = 0; i < 512; i++) ck_assert_float_eq(got_q[i], (i % 256) / 16 == (i % 256) % 16 ? 1.0f : 0.0f);
  for (int i = 0; i < 512; i++) wq[i] = (float)i, wk[i] = -(float)i;
  ck_assert_int_eq(sla2_layer_set_router(l, wq, wk, 512), SLA2_OK);
  wq[100] = NAN;
  EXPECT_STATUS(sla2_layer_set_router(l, wq, wk, 512), SLA2_ERROR_INVALID_ARGUMENT, "w_q[100]");
  EXPECT_STATUS(sla2_layer_set_router(l, wq, wk, 256), SLA2_ERROR_INVALID_ARGUMENT, "count");
  EXPECT_STATUS(sla2_layer_set_router(l, NULL, wk, 512), SLA2_ERROR_INVALID_ARGUMENT, "w_q");
  ck_assert_int_eq(sla2_layer_get_router(l, got_q, got_k, 512), SLA2_OK);
  ck_assert_float_eq(got_q[100], 100.0f); /* unchanged by the failed calls */
  ck_assert_float_eq(got_k[7], -7.0f);
  for (int i = 0; i < 6; i++) alpha[i] = (float)i - 3.0f;
  ck_assert_int_eq(sla2_layer_set_alpha_logits(l, alpha, 6), SLA2_OK);
  alpha[2] = INFINITY;
  EXPECT_STATUS(sla2_layer_set_alpha_logits(l, alpha, 6), SLA2_ERROR_INVALID_ARGUMENT, "logits[2]");
  EXPECT_STATUS(sla2_layer_set_alpha_logits(l, alpha, 2), SLA2_ERROR_INVALID_ARGUMENT, "count");
  ck_assert_int_eq(sla2_layer_get_alpha_logits(l, got_a, 6), SLA2_OK);
  ck_assert_float_eq(got_a[2], -1.0f);
  EXPECT_STATUS(sla2_layer_set_timing(NULL, true), SLA2_ERROR_INVALID_ARGUMENT, "layer");
  ck_assert_int_eq(sla2_layer_k_for(l, 0), 0);
  ck_assert_int_eq(sla2_layer_k_for(NULL, 100), 0);

  /* per-block alpha fixes N */
  int64_t shape[4] = {1, 2, 256, 16};
  sla2_tensor *t[4];
  for (int i = 0; i < 4; i++) ck_assert_int_eq(sla2_tensor_create(d, SLA2_F32, shape, NULL, &t[i]), SLA2_OK);
  EXPECT_STATUS(sla2_layer_forward(l, t[0], t[1], t[2], t[3], NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "seq_len 300");
  for (int i = 0; i < 4; i++) sla2_tensor_destroy(t[i]);
  sla2_layer_destroy(l);
}
END_TEST

START_TEST(dense_rejects_bad_input) {
  fixture f;
  fixture_init(&f, SLA2_F32);
  EXPECT_STATUS(sla2_attention_dense(f.q, f.k, f.v, f.o, -1.0), SLA2_ERROR_INVALID_ARGUMENT, "scale");
  EXPECT_STATUS(sla2_attention_dense(f.q, f.k, f.v, f.o, NAN), SLA2_ERROR_INVALID_ARGUMENT, "scale");
  EXPECT_STATUS(sla2_attention_dense(f.q, NULL, f.v, f.o, 0.0), SLA2_ERROR_INVALID_ARGUMENT, "k is NULL");
  expect_o_unchanged(&f);
  /* unsupported head dim through tensors */
  int64_t shape[4] = {1, 1, 8, 12};
  sla2_tensor *t[4];
  for (int i = 0; i < 4; i++) ck_assert_int_eq(sla2_tensor_create(f.dev, SLA2_F32, shape, NULL, &t[i]), SLA2_OK);
  EXPECT_STATUS(sla2_attention_dense(t[0], t[1], t[2], t[3], 0.0), SLA2_ERROR_UNSUPPORTED, "D = 12");
  for (int i = 0; i < 4; i++) sla2_tensor_destroy(t[i]);
  fixture_free(&f);
}
END_TEST

START_TEST(forward_bf16_inputs_f32_output) {
  /* inputs in bf16 (uploaded as raw zeros is not allowed here: use real data) */
  sla2_device *d = cpu();
  int64_t shape[4] = {1, 1, 64, 16};
  sla2_tensor *q, *k, *v, *o;
  uint16_t raw[64 * 16];
  test_rng r;
  rng_seed(&r, 3);
  sla2_tensor **ins[3] = {&q, &k, &v};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(sla2_tensor_create(d, SLA2_BF16, shape, NULL, ins[i]), SLA2_OK);
    for (int j = 0; j < 64 * 16; j++) {
      float x = (float)rng_normal(&r);
      uint32_t bits;
      memcpy(&bits, &x, 4);
      raw[j] = (uint16_t)(bits >> 16);
    }
    ck_assert_int_eq(sla2_tensor_upload(*ins[i], raw, sizeof raw), SLA2_OK);
  }
  ck_assert_int_eq(sla2_tensor_create(d, SLA2_F32, shape, NULL, &o), SLA2_OK);
  ck_assert_int_eq(sla2_attention_dense(q, k, v, o, 0.0), SLA2_OK);
  float out[64 * 16];
  ck_assert_int_eq(sla2_tensor_download(o, out, sizeof out), SLA2_OK);
  for (int j = 0; j < 64 * 16; j++) ck_assert(isfinite(out[j]) && fabsf(out[j]) < 5.0f);
  sla2_tensor_destroy(q), sla2_tensor_destroy(k), sla2_tensor_destroy(v), sla2_tensor_destroy(o);
}
END_TEST

START_TEST(cpu_extensions_reachable) {
  sla2_device *d = cpu();
  ck_assert_ptr_null(sla2_device_get_proc_address(d, "no_such_entry_point"));
  ck_assert_ptr_null(sla2_device_get_proc_address(NULL, "sla2_cpu_kernel_isa"));
  ck_assert_ptr_nonnull(strstr(sla2_last_error(), "device"));
  const char *(*isa)(void) = (const char *(*)(void))(uintptr_t)sla2_device_get_proc_address(d, "sla2_cpu_kernel_isa");
  sla2_status (*threads)(int) = (sla2_status(*)(int))(uintptr_t)sla2_device_get_proc_address(d, "sla2_cpu_set_num_threads");
  ck_assert_ptr_nonnull(isa);
  ck_assert_ptr_nonnull(threads);
  setenv("SLA2_CPU_ISA", "portable", 1);
  ck_assert_str_eq(isa(), "portable");
  unsetenv("SLA2_CPU_ISA");

  /* one thread and the default agree bit for bit on a forward: parallelism never changes values */
  fixture f;
  fixture_init(&f, SLA2_F32);
  float *one = malloc(f.o_bytes), *many = malloc(f.o_bytes);
  ck_assert_int_eq(threads(1), SLA2_OK);
  ck_assert_int_eq(sla2_layer_forward(f.layer, f.q, f.k, f.v, f.o, NULL, NULL), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_download(f.o, one, f.o_bytes), SLA2_OK);
  ck_assert_int_eq(threads(0), SLA2_OK);
  ck_assert_int_eq(sla2_layer_forward(f.layer, f.q, f.k, f.v, f.o, NULL, NULL), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_download(f.o, many, f.o_bytes), SLA2_OK);
  ck_assert_mem_eq(one, many, f.o_bytes);
  free(one);
  free(many);
  fixture_free(&f);
}
END_TEST

START_TEST(getters_reject_null) {
  int64_t v[4];
  EXPECT_STATUS(sla2_tensor_shape(NULL, v), SLA2_ERROR_INVALID_ARGUMENT, "tensor");
  EXPECT_STATUS(sla2_tensor_strides(NULL, v), SLA2_ERROR_INVALID_ARGUMENT, "tensor");
  EXPECT_STATUS(sla2_tensor_download(NULL, v, sizeof v), SLA2_ERROR_INVALID_ARGUMENT, "tensor");
  ck_assert_ptr_null(sla2_tensor_device(NULL));
  ck_assert_uint_eq(sla2_tensor_span_bytes(NULL), 0);
  ck_assert_uint_eq(sla2_dtype_size((sla2_dtype)9), 0);
  ck_assert_str_eq(sla2_dtype_name((sla2_dtype)9), "unknown");
  sla2_config c;
  EXPECT_STATUS(sla2_layer_get_config(NULL, &c), SLA2_ERROR_INVALID_ARGUMENT, "layer");
  EXPECT_STATUS(sla2_layer_get_stats(NULL, NULL), SLA2_ERROR_INVALID_ARGUMENT, "layer");
  float w[4];
  EXPECT_STATUS(sla2_layer_get_router(NULL, w, w, 4), SLA2_ERROR_INVALID_ARGUMENT, "layer");
  EXPECT_STATUS(sla2_layer_get_alpha_logits(NULL, w, 4), SLA2_ERROR_INVALID_ARGUMENT, "layer");
  ck_assert_uint_eq(sla2_layer_router_count(NULL), 0);
  ck_assert_uint_eq(sla2_layer_alpha_count(NULL), 0);
  ck_assert_ptr_null(sla2_layer_device(NULL));

  /* a layer's getters hand back what it was created with */
  sla2_config want = sla2_config_default();
  want.topk = 0.125;
  want.quant = SLA2_QUANT_INT8;
  sla2_layer_desc desc = {3, 24, 0};
  sla2_layer *l;
  ck_assert_int_eq(sla2_layer_create(cpu(), &want, &desc, &l), SLA2_OK);
  ck_assert_int_eq(sla2_layer_get_config(l, &c), SLA2_OK);
  ck_assert_mem_eq(&c, &want, sizeof c);
  ck_assert_ptr_eq(sla2_layer_device(l), cpu());
  ck_assert_int_eq(sla2_layer_k_for(l, 900), 1); /* floor(0.125 * ceil(900 / 64)) = floor(1.875) */
  ck_assert_int_eq(sla2_layer_k_for(l, 1024), 2);
  sla2_layer_destroy(l);
}
END_TEST

START_TEST(scale_changes_the_computation) {
  fixture f;
  fixture_init(&f, SLA2_F32);
  size_t n = f.o_bytes / sizeof(float);
  float *a = malloc(f.o_bytes), *b = malloc(f.o_bytes);
  /* scale 0 means 1/sqrt(D): the same bits as passing it explicitly */
  ck_assert_int_eq(sla2_attention_dense(f.q, f.k, f.v, f.o, 0.0), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_download(f.o, a, f.o_bytes), SLA2_OK);
  ck_assert_int_eq(sla2_attention_dense(f.q, f.k, f.v, f.o, 1.0 / sqrt(32.0)), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_download(f.o, b, f.o_bytes), SLA2_OK);
  ck_assert_mem_eq(a, b, f.o_bytes);
  /* a layer with a larger config scale gives a sharper softmax: a different O */
  ck_assert_int_eq(sla2_layer_forward(f.layer, f.q, f.k, f.v, f.o, NULL, NULL), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_download(f.o, a, f.o_bytes), SLA2_OK);
  sla2_config c = sla2_config_default();
  c.block_q = 32, c.block_k = 32, c.scale = 4.0 / sqrt(32.0);
  sla2_layer_desc desc = {2, 32, 0};
  sla2_layer *sharp;
  ck_assert_int_eq(sla2_layer_create(f.dev, &c, &desc, &sharp), SLA2_OK);
  ck_assert_int_eq(sla2_layer_forward(sharp, f.q, f.k, f.v, f.o, NULL, NULL), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_download(f.o, b, f.o_bytes), SLA2_OK);
  double diff = 0.0;
  for (size_t i = 0; i < n; i++) diff += fabs((double)a[i] - (double)b[i]);
  ck_assert_msg(diff > 1e-3 * (double)n, "config scale did not change O (mean |diff| %g)", diff / (double)n);
  sla2_layer_destroy(sharp);
  free(a);
  free(b);
  fixture_free(&f);
}
END_TEST

Suite *suite_api(void) {
  Suite *s = suite_create("api");
  TCase *tc = tcase_create("bad_input");
  tcase_add_test(tc, status_strings);
  tcase_add_test(tc, devices_enumerate_and_select);
  tcase_add_test(tc, tensor_create_rejects_bad_shapes);
  tcase_add_test(tc, tensor_upload_rejects_nonfinite_and_sizes);
  tcase_add_test(tc, forward_rejects_bad_tensors);
  tcase_add_test(tc, layer_create_rejects_bad_desc);
  tcase_add_test(tc, layer_params_reject_bad_values_and_keep_state);
  tcase_add_test(tc, dense_rejects_bad_input);
  tcase_add_test(tc, forward_bf16_inputs_f32_output);
  tcase_add_test(tc, cpu_extensions_reachable);
  tcase_add_test(tc, getters_reject_null);
  tcase_add_test(tc, scale_changes_the_computation);
  suite_add_tcase(s, tc);
  return s;
}
