#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const test_backends[] = {"cpu", "cuda", "opencl", "vulkan"};
const size_t test_backend_count = sizeof test_backends / sizeof test_backends[0];

void rng_seed(test_rng *r, uint64_t seed) { r->state = seed * 0x9E3779B97F4A7C15ull + 1; }

static uint64_t rng_next(test_rng *r) {
  /* splitmix64 */
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double rng_uniform(test_rng *r) { return (double)(rng_next(r) >> 11) * 0x1p-53; }

double rng_normal(test_rng *r) {
  double u = rng_uniform(r), v = rng_uniform(r);
  return sqrt(-2.0 * log(u + 0x1p-60)) * cos(6.283185307179586 * v);
}

double nmse(const float *got, const float *ref, size_t n) {
  double err = 0.0, norm = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(got[i])) return INFINITY;
    double d = (double)got[i] - (double)ref[i];
    err += d * d;
    norm += (double)ref[i] * (double)ref[i];
  }
  return norm > 0.0 ? err / norm : err;
}

void expect_close(const char *what, const char *device, const float *got, const float *ref, size_t n,
                  double nmse_bound, double atol, double rtol) {
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)ref[i]);
    if (!isfinite(got[i]) || d > atol + rtol * fabs((double)ref[i]))
      ck_abort_msg("%s on %s: element %zu is %.9g, expected %.9g (atol %g, rtol %g)", what, device, i,
                   (double)got[i], (double)ref[i], atol, rtol);
  }
  double e = nmse(got, ref, n);
  ck_assert_msg(e <= nmse_bound, "%s on %s: NMSE %.3g exceeds %.3g over %zu elements", what, device, e,
                nmse_bound, n);
}

bool backend_required(const char *backend) {
  const char *req = getenv("SLA2_TEST_REQUIRE");
  if (!req) return false;
  size_t len = strlen(backend);
  for (const char *p = req; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == len && strncmp(p, backend, len) == 0) return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}

size_t devices_of_backend(const char *backend, sla2_device **out, size_t capacity) {
  size_t count = 0, found = 0;
  ck_assert_int_eq(sla2_device_count(&count), SLA2_OK);
  for (size_t i = 0; i < count && found < capacity; i++) {
    sla2_device *d;
    sla2_device_info info;
    ck_assert_int_eq(sla2_device_get(i, &d), SLA2_OK);
    ck_assert_int_eq(sla2_device_get_info(d, &info), SLA2_OK);
    if (strcmp(info.backend, backend) == 0) out[found++] = d;
  }
  if (found == 0 && backend_required(backend)) {
    const char *reason = "not compiled into this build";
    for (size_t i = 0; i < sla2_backend_count(); i++) {
      const char *name, *why;
      sla2_status st;
      if (sla2_backend_get(i, &name, &st, &why) == SLA2_OK && strcmp(name, backend) == 0)
        reason = st == SLA2_OK ? "no devices" : why;
    }
    ck_abort_msg("SLA2_TEST_REQUIRE names %s but it has no device here: %s", backend, reason);
  }
  if (found == 0) fprintf(stderr, "note: backend %s has no device here; its conformance case is skipped\n", backend);
  return found;
}
