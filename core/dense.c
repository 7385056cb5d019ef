/* Dense softmax attention on the tensors' device: one DENSE_ATTN node, which backends run as
 * their sparse kernel over every key block. */
#include <math.h>

#include "core/attention_args.h"
#include "core/error.h"
#include "core/executor.h"
#include "sla2/layer.h"

sla2_status sla2_attention_dense(const sla2_tensor *q, const sla2_tensor *k, const sla2_tensor *v,
                                 sla2_tensor *o, double scale) {
  static const char fn[] = "sla2_attention_dense";
  sla2_clear_error();
  int64_t shape[4];
  sla2_status s = sla2_check_attention_tensors(fn, q, k, v, o, shape);
  if (s != SLA2_OK) return s;
  if (!isfinite(scale) || scale < 0.0)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: scale = %g, must be finite and >= 0 (0 = 1/sqrt(D))", fn, scale);
  float s_eff = scale > 0.0 ? (float)scale : (float)(1.0 / sqrt((double)shape[3]));
  sla2_graph g;
  sla2_graph_build_dense(&g, shape[0], shape[1], shape[2], shape[3], s_eff, false);
  void *buffers[SLA2_SLOT_COUNT] = {0};
  sla2_bind_attention_tensors(&g, q, k, v, o, buffers);
  const sla2_backend_device *bd = sla2_device_backend(q->device);
  if ((s = bd->iface->supports(bd->ctx, &g)) != SLA2_OK) return s;
  return sla2_execute(bd, &g, buffers, NULL);
}
