/* CPU backend: access to [B, H, N, D] slots (strided caller views or contiguous intermediates)
 * as f32 rows. */
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "core/numeric.h"

cpu_tensor4 cpu_tensor4_of(const cpu_exec *x, int slot) {
  cpu_tensor4 t;
  t.base = x->buf[slot];
  t.dtype = sla2_graph_slot_view(x->g, slot, t.s);
  t.elem = sla2_slot_dtype_size(t.dtype);
  return t;
}

const float *cpu_load_row(const cpu_exec *x, const cpu_tensor4 *t, int64_t b, int64_t h, int64_t n,
                          float *scratch) {
  const int64_t D = x->g->D;
  const void *row = cpu_tensor4_at(t, b, h, n);
  if (t->s[3] == 1) {
    switch (t->dtype) {
    case SLA2_F16: x->kt->f16_to_f32(row, scratch, D); return scratch;
    case SLA2_BF16: x->kt->bf16_to_f32(row, scratch, D); return scratch;
    default: return row;
    }
  }
  for (int64_t d = 0; d < D; d++) scratch[d] = sla2_load_float(row, t->dtype, d * t->s[3]);
  return scratch;
}

const float *cpu_load_rows(const cpu_exec *x, const cpu_tensor4 *t, int64_t b, int64_t h,
                           int64_t begin, int64_t end, float *scratch, int64_t *stride) {
  const int64_t D = x->g->D;
  if (cpu_tensor4_direct(t)) {
    *stride = t->s[2];
    return cpu_tensor4_at(t, b, h, begin);
  }
  for (int64_t n = begin; n < end; n++) {
    float *dst = scratch + (n - begin) * D;
    const float *row = cpu_load_row(x, t, b, h, n, dst);
    if (row != dst) memcpy(dst, row, sizeof(float) * (size_t)D);
  }
  *stride = D;
  return scratch;
}

void cpu_store_row(const cpu_exec *x, const cpu_tensor4 *t, int64_t b, int64_t h, int64_t n,
                   const float *src) {
  const int64_t D = x->g->D;
  void *row = cpu_tensor4_at(t, b, h, n);
  if (t->s[3] == 1) {
    switch (t->dtype) {
    case SLA2_F16: x->kt->f32_to_f16(src, row, D); return;
    case SLA2_BF16: x->kt->f32_to_bf16(src, row, D); return;
    default: memmove(row, src, sizeof(float) * (size_t)D); return;
    }
  }
  for (int64_t d = 0; d < D; d++) sla2_store_float(row, t->dtype, d * t->s[3], src[d]);
}
