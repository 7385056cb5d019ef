/* Test helpers: seeded data, error metrics that name the first bad element, sentinels, and the
 * list of devices a backend's test case must cover (SLA2_TEST_REQUIRE). */
#ifndef SLA2_TESTS_HARNESS_H
#define SLA2_TESTS_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sla2/sla2.h"

typedef struct test_rng {
  uint64_t state;
} test_rng;

void rng_seed(test_rng *r, uint64_t seed);
double rng_uniform(test_rng *r);        /* [0, 1) */
double rng_normal(test_rng *r);         /* N(0, 1) */

/* Normalized mean squared error sum (got-ref)^2 / sum ref^2 (absolute when ref is all zero);
 * +inf when got has a NaN or infinity. */
double nmse(const float *got, const float *ref, size_t n);

/* Fails the test (naming `what`, the device and the first bad index) when NMSE exceeds
 * nmse_bound or any element is off by more than atol + rtol * |ref|. */
void expect_close(const char *what, const char *device, const float *got, const float *ref, size_t n,
                  double nmse_bound, double atol, double rtol);

/* Devices of one backend ("cpu", "cuda", ...). When there are none and the backend is named in
 * SLA2_TEST_REQUIRE (comma list), fails the test; otherwise returns 0 and the caller skips. */
size_t devices_of_backend(const char *backend, sla2_device **out, size_t capacity);

/* True when the backend is listed in SLA2_TEST_REQUIRE. */
bool backend_required(const char *backend);

/* Backends with a conformance test case (one TCase each, so CK_RUN_CASE=<name> filters). */
extern const char *const test_backends[];
extern const size_t test_backend_count;

#define SENTINEL_F32 -12288.0f /* exact in f32, f16 and bf16 */

#endif
