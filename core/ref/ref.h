/* Internal: the oracle. Every graph node in plain scalar C with f64 accumulation, exactly as
 * DESIGN.md section 2 and core/graph.h define it. Slow on purpose; the truth for every backend. */
#ifndef SLA2_CORE_REF_H
#define SLA2_CORE_REF_H

#include "core/graph.h"
#include "sla2/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs nodes [first, first + count) on host memory. host[slot] is the slot's data: for external
 * slots the base of the strided view, for intermediates a contiguous array (core/graph.h). */
sla2_status sla2_ref_run(const sla2_graph *graph, int first, int count, void *const host[SLA2_SLOT_COUNT]);

#ifdef __cplusplus
}
#endif
#endif
