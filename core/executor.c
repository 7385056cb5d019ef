/* Runs graphs on a backend device: binds intermediates to workspace buffers, then runs the
 * node list in one call (the backend may fuse) or node by node when timing stages. */
#include "core/executor.h"

#include <string.h>
#include <time.h>

#include "core/error.h"

void sla2_workspace_init(sla2_workspace *ws, const sla2_backend_device *device) {
  memset(ws, 0, sizeof *ws);
  ws->device = device;
}

void sla2_workspace_release(sla2_workspace *ws) {
  for (int s = 0; s < SLA2_SLOT_COUNT; s++)
    if (ws->buffers[s]) ws->device->iface->buffer_free(ws->device->ctx, ws->buffers[s]);
  memset(ws->buffers, 0, sizeof ws->buffers);
  memset(ws->bytes, 0, sizeof ws->bytes);
}

sla2_status sla2_workspace_bind(sla2_workspace *ws, const sla2_graph *g, void *buffers[SLA2_SLOT_COUNT]) {
  for (int s = 0; s < SLA2_SLOT_COUNT; s++) {
    const sla2_graph_tensor *t = &g->tensors[s];
    if (!t->used || t->external || buffers[s]) continue;
    size_t need = t->count * sla2_slot_dtype_size(t->dtype);
    if (need == 0) need = 1;
    if (ws->bytes[s] < need) {
      if (ws->buffers[s]) ws->device->iface->buffer_free(ws->device->ctx, ws->buffers[s]);
      ws->buffers[s] = NULL;
      ws->bytes[s] = 0;
      sla2_status st = ws->device->iface->buffer_alloc(ws->device->ctx, need, &ws->buffers[s]);
      if (st != SLA2_OK) {
        if (sla2_last_error()[0] == '\0')
          sla2_fail(st, "workspace: cannot allocate %zu bytes for %s on %s", need, sla2_slot_name(s),
                    ws->device->info.name);
        return st;
      }
      ws->bytes[s] = need;
    }
    buffers[s] = ws->buffers[s];
  }
  return SLA2_OK;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

sla2_status sla2_execute(const sla2_backend_device *dev, const sla2_graph *g,
                         void *const buffers[SLA2_SLOT_COUNT], sla2_run_timing *timing) {
  const sla2_device_iface *f = dev->iface;
  sla2_status s;
  if (!timing || !timing->enabled) {
    s = f->run(dev->ctx, g, 0, g->node_count, buffers);
    return s != SLA2_OK ? s : f->synchronize(dev->ctx);
  }
  double start = now_ms();
  for (int i = 0; i < g->node_count; i++) {
    double t0 = now_ms();
    s = f->run(dev->ctx, g, i, 1, buffers);
    if (s == SLA2_OK) s = f->synchronize(dev->ctx);
    if (s != SLA2_OK) return s;
    timing->node_ms[i] = now_ms() - t0;
  }
  timing->total_ms = now_ms() - start;
  return SLA2_OK;
}
