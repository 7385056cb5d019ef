/* Argument checks shared by the SLA2 forward and dense attention. */
#include "core/attention_args.h"

#include "core/error.h"
#include "shaders/common/sla2_constants.h"

static bool is_float_dtype(sla2_dtype d) { return d == SLA2_F32 || d == SLA2_F16 || d == SLA2_BF16; }

sla2_status sla2_check_head_dim(const char *fn, int64_t D) {
  if (D < SLA2_HEAD_DIM_ALIGN || D > SLA2_HEAD_DIM_MAX || D % SLA2_HEAD_DIM_ALIGN != 0)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "%s: head dim D = %lld unsupported (multiples of %d up to %d)", fn,
                     (long long)D, SLA2_HEAD_DIM_ALIGN, SLA2_HEAD_DIM_MAX);
  return SLA2_OK;
}

sla2_status sla2_check_attention_tensors(const char *fn, const sla2_tensor *q, const sla2_tensor *k,
                                         const sla2_tensor *v, const sla2_tensor *o, int64_t out_shape[4]) {
  const sla2_tensor *all[4] = {q, k, v, o};
  static const char *const names[4] = {"q", "k", "v", "o"};
  for (int i = 0; i < 4; i++)
    if (!all[i]) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn, names[i]);
  for (int i = 1; i < 4; i++) {
    if (all[i]->device != q->device)
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: %s is on %s but q is on %s", fn, names[i],
                       sla2_device_name(all[i]->device), sla2_device_name(q->device));
    for (int d = 0; d < 4; d++)
      if (all[i]->shape[d] != q->shape[d])
        return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                         "%s: %s has shape [%lld,%lld,%lld,%lld] but q has [%lld,%lld,%lld,%lld]", fn, names[i],
                         (long long)all[i]->shape[0], (long long)all[i]->shape[1], (long long)all[i]->shape[2],
                         (long long)all[i]->shape[3], (long long)q->shape[0], (long long)q->shape[1],
                         (long long)q->shape[2], (long long)q->shape[3]);
  }
  if (!is_float_dtype(q->dtype))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: q has dtype %s; inputs must be f32, f16 or bf16", fn,
                     sla2_dtype_name(q->dtype));
  if (k->dtype != q->dtype || v->dtype != q->dtype)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: q, k, v must share one dtype (q %s, k %s, v %s)", fn,
                     sla2_dtype_name(q->dtype), sla2_dtype_name(k->dtype), sla2_dtype_name(v->dtype));
  if (!is_float_dtype(o->dtype))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: o has dtype %s; must be f32, f16 or bf16", fn,
                     sla2_dtype_name(o->dtype));
  if (o == q || o == k || o == v)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: o must be a tensor distinct from q, k and v", fn);
  sla2_status s = sla2_check_head_dim(fn, q->shape[3]);
  if (s != SLA2_OK) return s;
  for (int d = 0; d < 4; d++) out_shape[d] = q->shape[d];
  return SLA2_OK;
}

void sla2_bind_attention_tensors(sla2_graph *g, const sla2_tensor *q, const sla2_tensor *k,
                                 const sla2_tensor *v, const sla2_tensor *o, void *buffers[SLA2_SLOT_COUNT]) {
  const sla2_tensor *all[4] = {q, k, v, o};
  static const int slots[4] = {SLA2_SLOT_Q, SLA2_SLOT_K, SLA2_SLOT_V, SLA2_SLOT_O};
  for (int i = 0; i < 4; i++) {
    sla2_graph_set_external(g, slots[i], all[i]->dtype, all[i]->strides);
    buffers[slots[i]] = all[i]->buffer;
  }
}
