/* sla2: SLA2 attention (sparse-linear attention with a learnable router and an INT8/FP8 sparse
 * branch) on CUDA, Vulkan, OpenCL and OpenMP CPU backends chosen at run time. */
#ifndef SLA2_H
#define SLA2_H

#include "sla2/status.h"
#include "sla2/version.h"
#include "sla2/device.h"
#include "sla2/tensor.h"
#include "sla2/config.h"
#include "sla2/layer.h"

#endif
