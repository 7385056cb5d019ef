/* Internal: device workspaces for graph intermediates, and running a graph on a device. */
#ifndef SLA2_CORE_EXECUTOR_H
#define SLA2_CORE_EXECUTOR_H

#include <stdbool.h>

#include "core/backend.h"

/* Device buffers for the intermediate slots, kept between runs and grown when needed. */
typedef struct sla2_workspace {
  const sla2_backend_device *device;
  void *buffers[SLA2_SLOT_COUNT];
  size_t bytes[SLA2_SLOT_COUNT];
} sla2_workspace;

void sla2_workspace_init(sla2_workspace *ws, const sla2_backend_device *device);
void sla2_workspace_release(sla2_workspace *ws);
/* For every used, non-external slot whose buffers[slot] is NULL, points it at a workspace
 * buffer of the graph's size (allocating or growing it). Caller-bound slots are left alone. */
sla2_status sla2_workspace_bind(sla2_workspace *ws, const sla2_graph *graph,
                                void *buffers[SLA2_SLOT_COUNT]);

typedef struct sla2_run_timing {
  bool enabled;          /* synchronize and time each node */
  double node_ms[16];
  double total_ms;
} sla2_run_timing;

/* Runs the whole graph and waits for it. */
sla2_status sla2_execute(const sla2_backend_device *device, const sla2_graph *graph,
                         void *const buffers[SLA2_SLOT_COUNT], sla2_run_timing *timing);

#endif
