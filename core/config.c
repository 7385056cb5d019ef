/* sla2_config: the defaults, the range checks and the enum names. JSON lives in config_json.c. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_rules.h"
#include "core/error.h"

const char *const sla2_feature_map_names[SLA2_FEATURE_MAP_COUNT] = {"softmax", "elu", "relu"};
const char *const sla2_quant_names[SLA2_QUANT_COUNT] = {"none", "int8", "int8_fp8"};
const char *const sla2_alpha_names[SLA2_ALPHA_COUNT] = {"per_head", "per_block"};
const char *const sla2_router_names[SLA2_ROUTER_COUNT] = {"per_layer", "per_head"};

void sla2_format_double(double value, char out[SLA2_DOUBLE_TEXT_MAX]) {
  /* 17 significant digits always read back exactly; fewer avoid printing 0.05 as
   * 0.050000000000000003. strtod reads with the same locale snprintf wrote with. */
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(out, SLA2_DOUBLE_TEXT_MAX, "%.*g", digits, value);
    if (strtod(out, NULL) == value) break;
  }
  const char *point = localeconv()->decimal_point;
  if (point && strcmp(point, ".") != 0 && point[0] != '\0') {
    char *at = strstr(out, point);
    if (at) {
      size_t len = strlen(point);
      *at = '.';
      memmove(at + 1, at + len, strlen(at + len) + 1);
    }
  }
}

sla2_config sla2_config_default(void) {
  sla2_clear_error();
  sla2_config config = {
      .topk = 0.05,
      .block_q = 128,
      .block_k = 64,
      .feature_map = SLA2_FEATURE_SOFTMAX,
      .smooth_k = true,
      .quant = SLA2_QUANT_INT8_FP8,
      .alpha = SLA2_ALPHA_PER_HEAD,
      .router = SLA2_ROUTER_PER_LAYER,
      .scale = 0.0,
  };
  return config;
}

/* Fails naming the field and listing "0 (softmax), 1 (elu), 2 (relu)". */
static sla2_status enum_out_of_range(const char *field, const char *const *names, int count,
                                     int got) {
  char allowed[160] = "";
  size_t used = 0;
  for (int i = 0; i < count && used < sizeof allowed; i++) {
    int n = snprintf(allowed + used, sizeof allowed - used, "%s%d (%s)", i ? ", " : "", i,
                     names[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
  return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config field \"%s\": must be one of %s (got %d)",
                   field, allowed, got);
}

static bool enum_ok(int value, int count) { return value >= 0 && value < count; }

sla2_status sla2_config_validate(const sla2_config *config) {
  sla2_clear_error();
  if (!config) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config: must not be NULL");
  char text[SLA2_DOUBLE_TEXT_MAX];
  if (!sla2_topk_ok(config->topk)) {
    sla2_format_double(config->topk, text);
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config field \"topk\": " SLA2_TOPK_RULE
                     " (got %s)", text);
  }
  if (!sla2_block_size_ok(config->block_q))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config field \"block_q\": " SLA2_BLOCK_RULE
                     " (got %d)", config->block_q);
  if (!sla2_block_size_ok(config->block_k))
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config field \"block_k\": " SLA2_BLOCK_RULE
                     " (got %d)", config->block_k);
  /* Enums are read as int: a caller may have stored any bit pattern in them. */
  if (!enum_ok((int)config->feature_map, SLA2_FEATURE_MAP_COUNT))
    return enum_out_of_range("feature_map", sla2_feature_map_names, SLA2_FEATURE_MAP_COUNT,
                             (int)config->feature_map);
  if (!enum_ok((int)config->quant, SLA2_QUANT_COUNT))
    return enum_out_of_range("quant", sla2_quant_names, SLA2_QUANT_COUNT, (int)config->quant);
  if (!enum_ok((int)config->alpha, SLA2_ALPHA_COUNT))
    return enum_out_of_range("alpha", sla2_alpha_names, SLA2_ALPHA_COUNT, (int)config->alpha);
  if (!enum_ok((int)config->router, SLA2_ROUTER_COUNT))
    return enum_out_of_range("router", sla2_router_names, SLA2_ROUTER_COUNT, (int)config->router);
  if (!sla2_scale_ok(config->scale)) {
    sla2_format_double(config->scale, text);
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config field \"scale\": " SLA2_SCALE_RULE
                     " (got %s)", text);
  }
  return SLA2_OK;
}

const char *sla2_feature_map_name(sla2_feature_map feature_map) {
  sla2_clear_error();
  if (enum_ok((int)feature_map, SLA2_FEATURE_MAP_COUNT)) return sla2_feature_map_names[feature_map];
  enum_out_of_range("feature_map", sla2_feature_map_names, SLA2_FEATURE_MAP_COUNT,
                    (int)feature_map);
  return "unknown";
}

const char *sla2_quant_name(sla2_quant quant) {
  sla2_clear_error();
  if (enum_ok((int)quant, SLA2_QUANT_COUNT)) return sla2_quant_names[quant];
  enum_out_of_range("quant", sla2_quant_names, SLA2_QUANT_COUNT, (int)quant);
  return "unknown";
}
