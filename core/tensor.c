/* Tensors: shape/stride validation with overflow checks, device buffers, upload/download. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/numeric.h"
#include "core/tensor_internal.h"

/* Per-dimension bound: keeps every product below in 64-bit range before the overflow checks. */
#define MAX_DIM ((int64_t)1 << 40)

size_t sla2_dtype_size(sla2_dtype dtype) {
  switch (dtype) {
  case SLA2_F32: case SLA2_I32: return 4;
  case SLA2_F16: case SLA2_BF16: return 2;
  }
  return 0;
}

const char *sla2_dtype_name(sla2_dtype dtype) {
  switch (dtype) {
  case SLA2_F32: return "f32";
  case SLA2_F16: return "f16";
  case SLA2_BF16: return "bf16";
  case SLA2_I32: return "i32";
  }
  return "unknown";
}

bool sla2_tensor_is_contiguous(const sla2_tensor *t) {
  int64_t expect = 1;
  for (int i = 3; i >= 0; i--) {
    if (t->shape[i] > 1 && t->strides[i] != expect) return false;
    expect *= t->shape[i];
  }
  return true;
}

/* Strided views must not map two indices to one element: sorted by stride, each stride must be
 * at least the extent of the dimensions inside it. */
static bool strides_disjoint(const int64_t shape[4], const int64_t strides[4]) {
  int order[4] = {0, 1, 2, 3};
  for (int i = 1; i < 4; i++)
    for (int j = i; j > 0 && strides[order[j]] < strides[order[j - 1]]; j--) {
      int tmp = order[j];
      order[j] = order[j - 1];
      order[j - 1] = tmp;
    }
  int64_t extent = 1;
  for (int i = 0; i < 4; i++) {
    int d = order[i];
    if (shape[d] == 1) continue;
    if (strides[d] < extent) return false;
    extent = strides[d] * shape[d];
  }
  return true;
}

static sla2_status span_bytes(const int64_t shape[4], const int64_t strides[4], size_t elem,
                              size_t *out_span, size_t *out_bytes) {
  uint64_t span = 1;
  for (int i = 0; i < 4; i++) {
    uint64_t term;
    if (__builtin_mul_overflow((uint64_t)(shape[i] - 1), (uint64_t)strides[i], &term) ||
        __builtin_add_overflow(span, term, &span))
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create: element span overflows 64 bits");
  }
  uint64_t bytes;
  if (__builtin_mul_overflow(span, (uint64_t)elem, &bytes) || bytes > (uint64_t)SIZE_MAX / 2)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create: byte size overflows");
  *out_span = (size_t)span;
  *out_bytes = (size_t)bytes;
  return SLA2_OK;
}

sla2_status sla2_tensor_create(sla2_device *device, sla2_dtype dtype, const int64_t shape[4],
                               const int64_t strides[4], sla2_tensor **out_tensor) {
  sla2_clear_error();
  if (!device || !shape || !out_tensor)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create: %s is NULL",
                     !device ? "device" : !shape ? "shape" : "out_tensor");
  size_t elem = sla2_dtype_size(dtype);
  if (elem == 0)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create: unknown dtype %d (f32, f16, bf16, i32)",
                     (int)dtype);
  static const char *const dim_names[4] = {"B", "H", "N", "D"};
  for (int i = 0; i < 4; i++)
    if (shape[i] < 1 || shape[i] > MAX_DIM)
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create: shape[%d] (%s) = %lld, must be in [1, 2^40]",
                       i, dim_names[i], (long long)shape[i]);
  int64_t st[4];
  if (strides) {
    for (int i = 0; i < 4; i++) {
      if (strides[i] < 1)
        return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create: strides[%d] = %lld, must be positive",
                         i, (long long)strides[i]);
      st[i] = strides[i];
    }
  } else {
    st[3] = 1;
    for (int i = 2; i >= 0; i--) {
      if (__builtin_mul_overflow(st[i + 1], shape[i + 1], &st[i]))
        return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create: element count overflows");
    }
  }
  size_t span = 0, bytes = 0;
  sla2_status s = span_bytes(shape, st, elem, &span, &bytes);
  if (s != SLA2_OK) return s;
  if (!strides_disjoint(shape, st))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create: strides make elements overlap");

  const sla2_backend_device *bd = sla2_device_backend(device);
  sla2_tensor *t = calloc(1, sizeof *t);
  if (!t) return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "sla2_tensor_create: out of host memory");
  s = bd->iface->buffer_alloc(bd->ctx, bytes, &t->buffer);
  if (s != SLA2_OK) {
    free(t);
    if (s == SLA2_ERROR_OUT_OF_MEMORY && sla2_last_error()[0] == '\0')
      return sla2_fail(s, "sla2_tensor_create: %zu bytes on %s", bytes, bd->info.name);
    return s;
  }
  t->device = device;
  t->dtype = dtype;
  memcpy(t->shape, shape, sizeof t->shape);
  memcpy(t->strides, st, sizeof t->strides);
  t->span = span;
  *out_tensor = t;
  return SLA2_OK;
}

sla2_status sla2_tensor_create_layout(sla2_device *device, sla2_dtype dtype, const int64_t shape[4],
                                      sla2_layout layout, sla2_tensor **out_tensor) {
  sla2_clear_error();
  if (!shape) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create_layout: shape is NULL");
  if (layout == SLA2_LAYOUT_BHND) return sla2_tensor_create(device, dtype, shape, NULL, out_tensor);
  if (layout != SLA2_LAYOUT_BNHD)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create_layout: unknown layout %d (BHND, BNHD)",
                     (int)layout);
  for (int i = 0; i < 4; i++)
    if (shape[i] < 1 || shape[i] > MAX_DIM)
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create_layout: shape[%d] = %lld, must be in [1, 2^40]",
                       i, (long long)shape[i]);
  int64_t hd, nhd, st[4];
  if (__builtin_mul_overflow(shape[1], shape[3], &hd) || __builtin_mul_overflow(shape[2], hd, &nhd))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_create_layout: element count overflows");
  st[0] = nhd, st[1] = shape[3], st[2] = hd, st[3] = 1;
  return sla2_tensor_create(device, dtype, shape, st, out_tensor);
}

void sla2_tensor_destroy(sla2_tensor *t) {
  if (!t) return;
  const sla2_backend_device *bd = sla2_device_backend(t->device);
  bd->iface->buffer_free(bd->ctx, t->buffer);
  free(t);
}

sla2_status sla2_tensor_shape(const sla2_tensor *t, int64_t out_shape[4]) {
  sla2_clear_error();
  if (!t || !out_shape) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_shape: %s is NULL", t ? "out_shape" : "tensor");
  memcpy(out_shape, t->shape, sizeof t->shape);
  return SLA2_OK;
}

sla2_status sla2_tensor_strides(const sla2_tensor *t, int64_t out_strides[4]) {
  sla2_clear_error();
  if (!t || !out_strides)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_strides: %s is NULL", t ? "out_strides" : "tensor");
  memcpy(out_strides, t->strides, sizeof t->strides);
  return SLA2_OK;
}

sla2_dtype sla2_tensor_dtype(const sla2_tensor *t) { return t ? t->dtype : SLA2_F32; }

sla2_device *sla2_tensor_device(const sla2_tensor *t) { return t ? t->device : NULL; }

size_t sla2_tensor_span_bytes(const sla2_tensor *t) { return t ? t->span * sla2_dtype_size(t->dtype) : 0; }

/* Non-finite floats are rejected at upload, so device data is always finite and a forward can
 * never turn one bad element into a NaN output silently. Returns the first bad element or -1. */
static int64_t first_nonfinite(const sla2_tensor *t, const void *host) {
  if (t->dtype == SLA2_I32) return -1;
  for (int64_t b = 0; b < t->shape[0]; b++)
    for (int64_t h = 0; h < t->shape[1]; h++)
      for (int64_t n = 0; n < t->shape[2]; n++) {
        int64_t row = b * t->strides[0] + h * t->strides[1] + n * t->strides[2];
        for (int64_t d = 0; d < t->shape[3]; d++) {
          int64_t at = row + d * t->strides[3];
          if (!isfinite(sla2_load_float(host, t->dtype, at))) return at;
        }
      }
  return -1;
}

sla2_status sla2_tensor_upload(sla2_tensor *t, const void *host, size_t bytes) {
  sla2_clear_error();
  if (!t || !host) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_upload: %s is NULL", t ? "host" : "tensor");
  size_t need = sla2_tensor_span_bytes(t);
  if (bytes != need)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_upload: bytes = %zu, the tensor spans %zu bytes",
                     bytes, need);
  int64_t bad = first_nonfinite(t, host);
  if (bad >= 0)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                     "sla2_tensor_upload: element at offset %lld is NaN or infinite; inputs must be finite",
                     (long long)bad);
  const sla2_backend_device *bd = sla2_device_backend(t->device);
  return bd->iface->buffer_write(bd->ctx, t->buffer, 0, host, bytes);
}

sla2_status sla2_tensor_download(const sla2_tensor *t, void *host, size_t bytes) {
  sla2_clear_error();
  if (!t || !host) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_download: %s is NULL", t ? "host" : "tensor");
  size_t need = sla2_tensor_span_bytes(t);
  if (bytes != need)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_tensor_download: bytes = %zu, the tensor spans %zu bytes",
                     bytes, need);
  const sla2_backend_device *bd = sla2_device_backend(t->device);
  return bd->iface->buffer_read(bd->ctx, t->buffer, 0, host, bytes);
}
