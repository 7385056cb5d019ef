/* Internal: the tensor object behind the public handle. */
#ifndef SLA2_CORE_TENSOR_INTERNAL_H
#define SLA2_CORE_TENSOR_INTERNAL_H

#include <stdbool.h>

#include "core/backend.h"
#include "sla2/tensor.h"

struct sla2_tensor {
  sla2_device *device;
  sla2_dtype dtype;
  int64_t shape[4];
  int64_t strides[4];
  size_t span;      /* elements from the first to one past the last */
  void *buffer;     /* backend buffer of span * dtype size bytes */
};

/* True when the tensor is laid out contiguously in BHND order. */
bool sla2_tensor_is_contiguous(const sla2_tensor *t);

#endif
