/* Tensors of shape [B, H, N, D] living on one device.
 *
 * Strides are in elements, so both BHND (contiguous) and BNHD (interleaved heads) layouts work.
 * Host data passed to upload/download has the tensor's own strided layout and spans
 * sla2_tensor_span_bytes() bytes. */
#ifndef SLA2_TENSOR_H
#define SLA2_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "sla2/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sla2_tensor sla2_tensor;

typedef enum sla2_dtype {
  SLA2_F32 = 0,
  SLA2_F16 = 1,
  SLA2_BF16 = 2,
  SLA2_I32 = 3 /* LUT outputs */
} sla2_dtype;

typedef enum sla2_layout {
  SLA2_LAYOUT_BHND = 0, /* [B][H][N][D], D fastest */
  SLA2_LAYOUT_BNHD = 1  /* [B][N][H][D], the layout of a fused QKV projection */
} sla2_layout;

/* Element size in bytes; 0 for an unknown dtype. */
SLA2_API size_t sla2_dtype_size(sla2_dtype dtype);
SLA2_API const char *sla2_dtype_name(sla2_dtype dtype);

/* shape = {B, H, N, D}; strides = element strides of each dimension, or NULL for contiguous BHND.
 * Strides must be positive and describe non-overlapping elements. */
SLA2_API sla2_status sla2_tensor_create(sla2_device *device, sla2_dtype dtype, const int64_t shape[4],
                                        const int64_t strides[4], sla2_tensor **out_tensor);
/* Convenience: strides from a named layout. */
SLA2_API sla2_status sla2_tensor_create_layout(sla2_device *device, sla2_dtype dtype,
                                               const int64_t shape[4], sla2_layout layout,
                                               sla2_tensor **out_tensor);
SLA2_API void sla2_tensor_destroy(sla2_tensor *tensor); /* NULL is a no-op */

SLA2_API sla2_status sla2_tensor_shape(const sla2_tensor *tensor, int64_t out_shape[4]);
SLA2_API sla2_status sla2_tensor_strides(const sla2_tensor *tensor, int64_t out_strides[4]);
SLA2_API sla2_dtype sla2_tensor_dtype(const sla2_tensor *tensor);
SLA2_API sla2_device *sla2_tensor_device(const sla2_tensor *tensor);
/* Bytes from the first to one past the last element: the host buffer size for upload/download. */
SLA2_API size_t sla2_tensor_span_bytes(const sla2_tensor *tensor);

/* bytes must equal sla2_tensor_span_bytes(tensor). */
SLA2_API sla2_status sla2_tensor_upload(sla2_tensor *tensor, const void *host, size_t bytes);
SLA2_API sla2_status sla2_tensor_download(const sla2_tensor *tensor, void *host, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
