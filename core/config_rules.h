/* Internal: the allowed values of each sla2_config field, shared by sla2_config_validate
 * (core/config.c) and the JSON parser (core/config_json.c) so the two can never disagree. */
#ifndef SLA2_CORE_CONFIG_RULES_H
#define SLA2_CORE_CONFIG_RULES_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "sla2/config.h"

/* Enum names as they appear in JSON, indexed by the enum value. Defined in core/config.c. */
#define SLA2_FEATURE_MAP_COUNT 3
#define SLA2_QUANT_COUNT 3
#define SLA2_ALPHA_COUNT 2
#define SLA2_ROUTER_COUNT 2
extern const char *const sla2_feature_map_names[SLA2_FEATURE_MAP_COUNT];
extern const char *const sla2_quant_names[SLA2_QUANT_COUNT];
extern const char *const sla2_alpha_names[SLA2_ALPHA_COUNT];
extern const char *const sla2_router_names[SLA2_ROUTER_COUNT];

/* The "allowed values" halves of the error messages. */
#define SLA2_TOPK_RULE "must be a finite number in (0, 1]"
#define SLA2_BLOCK_RULE "must be one of 16, 32, 64, 128"
#define SLA2_SCALE_RULE "must be a finite number >= 0 (0 means 1/sqrt(D))"

/* topk is the fraction of key blocks kept per query-block row: 0 would keep none. */
static inline bool sla2_topk_ok(double topk) { return isfinite(topk) && topk > 0.0 && topk <= 1.0; }

/* The kernels tile by these sizes only. */
static inline bool sla2_block_size_ok(int block) {
  return block == 16 || block == 32 || block == 64 || block == 128;
}

/* NaN fails both comparisons, so it is rejected too. */
static inline bool sla2_scale_ok(double scale) { return isfinite(scale) && scale >= 0.0; }

/* The shortest of %.15g, %.16g, %.17g that reads back as exactly value, with '.' as the decimal
 * point whatever the C locale says (JSON needs '.'). out needs SLA2_DOUBLE_TEXT_MAX bytes. */
#define SLA2_DOUBLE_TEXT_MAX 40
void sla2_format_double(double value, char out[SLA2_DOUBLE_TEXT_MAX]);

#endif
