/* The OpenCL backend without its ICD loader: a separate program (the registry initialises once
 * per process, so the loader path must be set before the first sla2 call), run by ctest with
 * SLA2_OPENCL_LIBRARY naming a file that is no OpenCL loader (a missing path, or a library
 * without the entry points). Expected: the opencl backend reports UNAVAILABLE with a reason
 * naming that file, no opencl device is listed, and the cpu device still computes. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sla2/sla2.h"

/* The loader path the test runs with; its absence is a set-up error, not a pass. */
static const char *loader_path(void) {
  const char *p = getenv("SLA2_OPENCL_LIBRARY");
  ck_assert_msg(p && p[0], "run through ctest: SLA2_OPENCL_LIBRARY must name a file that is no OpenCL loader");
  return p;
}

START_TEST(opencl_unavailable_with_reason) {
  const char *path = loader_path();
  bool seen = false;
  for (size_t i = 0; i < sla2_backend_count(); i++) {
    const char *name = NULL, *why = NULL;
    sla2_status st = SLA2_OK;
    ck_assert_int_eq(sla2_backend_get(i, &name, &st, &why), SLA2_OK);
    if (strcmp(name, "opencl") != 0) continue;
    seen = true;
    ck_assert_int_eq(st, SLA2_ERROR_UNAVAILABLE);
    ck_assert_msg(strstr(why, "OpenCL loader") && strstr(why, path), "reason \"%s\" does not name the loader %s",
                  why, path);
    ck_assert_msg(!strchr(why, '\n'), "reason \"%s\" is more than one line", why);
  }
  ck_assert_msg(seen, "the opencl backend is not compiled in");
  sla2_device *d = NULL;
  ck_assert_int_eq(sla2_device_by_name("opencl0", &d), SLA2_ERROR_UNAVAILABLE);
  size_t count = 0;
  ck_assert_int_eq(sla2_device_count(&count), SLA2_OK);
  for (size_t i = 0; i < count; i++) {
    sla2_device_info info;
    ck_assert_int_eq(sla2_device_get(i, &d), SLA2_OK);
    ck_assert_int_eq(sla2_device_get_info(d, &info), SLA2_OK);
    ck_assert_msg(strcmp(info.backend, "opencl") != 0, "device %s listed without a loader", info.name);
  }
}
END_TEST

/* With Q = 0 every score is 0, so each output row is the mean of the V rows. */
START_TEST(cpu_still_computes) {
  (void)loader_path();
  enum { N = 4, D = 8 };
  sla2_device *cpu = NULL;
  ck_assert_int_eq(sla2_device_by_name("cpu", &cpu), SLA2_OK);
  const int64_t shape[4] = {1, 1, N, D};
  float q[N * D] = {0}, k[N * D], v[N * D], o[N * D], mean[D] = {0};
  for (int i = 0; i < N * D; i++) {
    k[i] = (float)((i * 7) % 11) - 5.0f;
    v[i] = (float)((i * 5) % 13) - 6.0f;
    mean[i % D] += v[i] / N;
  }
  sla2_tensor *t[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < 4; i++) ck_assert_int_eq(sla2_tensor_create(cpu, SLA2_F32, shape, NULL, &t[i]), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_upload(t[0], q, sizeof q), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_upload(t[1], k, sizeof k), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_upload(t[2], v, sizeof v), SLA2_OK);
  ck_assert_int_eq(sla2_attention_dense(t[0], t[1], t[2], t[3], 0.0), SLA2_OK);
  ck_assert_int_eq(sla2_tensor_download(t[3], o, sizeof o), SLA2_OK);
  for (int i = 0; i < N * D; i++)
    ck_assert_msg(fabsf(o[i] - mean[i % D]) <= 1e-5f, "O[%d] = %g, expected the mean of V %g", i, o[i],
                  mean[i % D]);
  for (int i = 0; i < 4; i++) sla2_tensor_destroy(t[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("opencl_loader");
  TCase *tc = tcase_create("opencl_loader");
  tcase_add_test(tc, opencl_unavailable_with_reason);
  tcase_add_test(tc, cpu_still_computes);
  suite_add_tcase(s, tc);
  SRunner *runner = srunner_create(s);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
