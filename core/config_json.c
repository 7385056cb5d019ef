/* sla2_config to and from JSON. Parsing goes through cJSON; printing is a fixed template, so the
 * key order and the number format never depend on the cJSON version. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/config_rules.h"
#include "core/error.h"

/* ---- quoting untrusted text in messages ------------------------------------------------------ */

#define QUOTE_MAX 48

/* Copies at most QUOTE_MAX - 4 bytes of text, control bytes as '?', "..." when cut. */
static void quote_text(const char *text, char out[QUOTE_MAX]) {
  size_t n = 0;
  for (; n < QUOTE_MAX - 4 && text[n]; n++) {
    unsigned char c = (unsigned char)text[n];
    out[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  if (text[n]) memcpy(out + n, "...", 4);
  else out[n] = '\0';
}

static const char *type_name(const cJSON *item) {
  if (cJSON_IsNumber(item)) return "number";
  if (cJSON_IsString(item)) return "string";
  if (cJSON_IsBool(item)) return "boolean";
  if (cJSON_IsNull(item)) return "null";
  if (cJSON_IsArray(item)) return "array";
  if (cJSON_IsObject(item)) return "object";
  return "invalid";
}

/* ---- one reader per value kind; each names the key when it fails ----------------------------- */

static sla2_status wrong_type(const char *key, const char *wanted, const cJSON *item) {
  return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config key \"%s\": must be %s (got %s)", key,
                   wanted, type_name(item));
}

static sla2_status read_topk(const char *key, const cJSON *item, sla2_config *config) {
  if (!cJSON_IsNumber(item)) return wrong_type(key, "a number", item);
  if (!sla2_topk_ok(item->valuedouble)) {
    char text[SLA2_DOUBLE_TEXT_MAX];
    sla2_format_double(item->valuedouble, text);
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config key \"%s\": " SLA2_TOPK_RULE " (got %s)",
                     key, text);
  }
  config->topk = item->valuedouble;
  return SLA2_OK;
}

static sla2_status read_scale(const char *key, const cJSON *item, sla2_config *config) {
  if (!cJSON_IsNumber(item)) return wrong_type(key, "a number", item);
  if (!sla2_scale_ok(item->valuedouble)) {
    char text[SLA2_DOUBLE_TEXT_MAX];
    sla2_format_double(item->valuedouble, text);
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                     "config key \"%s\": " SLA2_SCALE_RULE " (got %s)", key, text);
  }
  config->scale = item->valuedouble;
  return SLA2_OK;
}

/* JSON has one number type: 64, 64.0 and 6.4e1 are the same integer; 64.5 is not one. */
static sla2_status read_block(const char *key, const cJSON *item, int *out) {
  if (!cJSON_IsNumber(item)) return wrong_type(key, "an integer", item);
  double v = item->valuedouble;
  /* Compare as double before converting: (int)v is undefined for 1e300 or NaN. */
  if (!(v == 16.0 || v == 32.0 || v == 64.0 || v == 128.0)) {
    char text[SLA2_DOUBLE_TEXT_MAX];
    sla2_format_double(v, text);
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                     "config key \"%s\": " SLA2_BLOCK_RULE " (got %s)", key, text);
  }
  *out = (int)v;
  return SLA2_OK;
}

static sla2_status read_blkq(const char *key, const cJSON *item, sla2_config *config) {
  return read_block(key, item, &config->block_q);
}

static sla2_status read_blkk(const char *key, const cJSON *item, sla2_config *config) {
  return read_block(key, item, &config->block_k);
}

static sla2_status read_bool(const char *key, const cJSON *item, bool *out) {
  if (!cJSON_IsBool(item)) return wrong_type(key, "true or false", item);
  *out = cJSON_IsTrue(item);
  return SLA2_OK;
}

static sla2_status read_smooth_k(const char *key, const cJSON *item, sla2_config *config) {
  return read_bool(key, item, &config->smooth_k);
}

/* SimpleTuner ties the learnable feature maps of Q and K; ours have no parameters, so the two
 * are always the same function and only true has a meaning here. */
static sla2_status read_tie_feature_map_qk(const char *key, const cJSON *item,
                                           sla2_config *config) {
  (void)config;
  bool tied = true;
  sla2_status status = read_bool(key, item, &tied);
  if (status != SLA2_OK) return status;
  if (!tied)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED,
                     "config key \"%s\": only true is supported: sla2's feature maps (softmax, "
                     "elu, relu) have no parameters, so Q and K always use the same one", key);
  return SLA2_OK;
}

/* Matches a string against names[0..count) and stores the index; the message lists the names. */
static sla2_status read_enum(const char *key, const cJSON *item, const char *const *names,
                             int count, int *out) {
  char allowed[128] = "";
  size_t used = 0;
  for (int i = 0; i < count && used < sizeof allowed; i++) {
    int n = snprintf(allowed + used, sizeof allowed - used, "%s\"%s\"", i ? ", " : "", names[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
  if (!cJSON_IsString(item) || !item->valuestring)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config key \"%s\": must be one of the strings "
                     "%s (got %s)", key, allowed, type_name(item));
  for (int i = 0; i < count; i++) {
    if (strcmp(item->valuestring, names[i]) == 0) {
      *out = i;
      return SLA2_OK;
    }
  }
  char got[QUOTE_MAX];
  quote_text(item->valuestring, got);
  return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config key \"%s\": must be one of %s (got \"%s\")",
                   key, allowed, got);
}

static sla2_status read_feature_map(const char *key, const cJSON *item, sla2_config *config) {
  int value = 0;
  sla2_status status = read_enum(key, item, sla2_feature_map_names, SLA2_FEATURE_MAP_COUNT, &value);
  if (status == SLA2_OK) config->feature_map = (sla2_feature_map)value;
  return status;
}

static sla2_status read_quant(const char *key, const cJSON *item, sla2_config *config) {
  int value = 0;
  sla2_status status = read_enum(key, item, sla2_quant_names, SLA2_QUANT_COUNT, &value);
  if (status == SLA2_OK) config->quant = (sla2_quant)value;
  return status;
}

static sla2_status read_alpha(const char *key, const cJSON *item, sla2_config *config) {
  int value = 0;
  sla2_status status = read_enum(key, item, sla2_alpha_names, SLA2_ALPHA_COUNT, &value);
  if (status == SLA2_OK) config->alpha = (sla2_alpha_granularity)value;
  return status;
}

static sla2_status read_router(const char *key, const cJSON *item, sla2_config *config) {
  int value = 0;
  sla2_status status = read_enum(key, item, sla2_router_names, SLA2_ROUTER_COUNT, &value);
  if (status == SLA2_OK) config->router = (sla2_router_sharing)value;
  return status;
}

/* ---- the key table: one name per key, in the order sla2_config_to_json prints them ----------- */

typedef sla2_status (*key_reader)(const char *key, const cJSON *item, sla2_config *config);

static const struct {
  const char *name;
  key_reader read;
} config_keys[] = {
    {"topk", read_topk},
    {"blkq", read_blkq},
    {"blkk", read_blkk},
    {"feature_map", read_feature_map},
    {"tie_feature_map_qk", read_tie_feature_map_qk},
    {"smooth_k", read_smooth_k},
    {"quant", read_quant},
    {"alpha", read_alpha},
    {"router", read_router},
    {"scale", read_scale},
};
#define CONFIG_KEY_COUNT ((int)(sizeof config_keys / sizeof config_keys[0]))

static int find_key(const char *name) {
  for (int i = 0; i < CONFIG_KEY_COUNT; i++)
    if (strcmp(name, config_keys[i].name) == 0) return i;
  return -1;
}

static sla2_status unknown_key(const char *name) {
  char allowed[256] = "";
  size_t used = 0;
  for (int i = 0; i < CONFIG_KEY_COUNT && used < sizeof allowed; i++) {
    int n = snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "",
                     config_keys[i].name);
    if (n < 0) break;
    used += (size_t)n;
  }
  char got[QUOTE_MAX];
  quote_text(name, got);
  return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config key \"%s\": unknown key; the keys are %s",
                   got, allowed);
}

/* ---- parsing --------------------------------------------------------------------------------- */

/* Byte offset of the first \u0000 escape inside a string of a JSON text cJSON accepted, or -1.
 * cJSON decodes it to a NUL byte that silently cuts the C string, so "relu\u0000x" would read
 * as "relu" and "topk\u0000x" as the key topk. */
static long find_nul_escape(const char *json) {
  bool in_string = false;
  for (const char *p = json; *p; p++) {
    if (!in_string) {
      in_string = *p == '"';
    } else if (*p == '"') {
      in_string = false;
    } else if (*p == '\\') {
      if (strncmp(p + 1, "u0000", 5) == 0) return (long)(p - json);
      if (p[1] == '\0') break;
      p++; /* skip the escaped character, which may be a quote */
    }
  }
  return -1;
}

static sla2_status syntax_error(const char *json, const char *error_at) {
  if (!error_at) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config JSON: not valid JSON");
  size_t offset = (size_t)(error_at - json);
  if (*error_at == '\0')
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                     "config JSON: syntax error at byte %zu (unexpected end of input)", offset);
  char near[QUOTE_MAX];
  quote_text(error_at, near);
  return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                   "config JSON: syntax error at byte %zu (near \"%s\")", offset, near);
}

/* Applies every member of object to config, which the caller set to the defaults. */
static sla2_status read_object(const cJSON *object, sla2_config *config) {
  bool seen[CONFIG_KEY_COUNT] = {false};
  for (const cJSON *item = object->child; item; item = item->next) {
    const char *name = item->string ? item->string : "";
    int index = find_key(name);
    if (index < 0) return unknown_key(name);
    /* cJSON keeps both members of {"topk":0.1,"topk":0.2}; which one wins would be a guess. */
    if (seen[index])
      return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config key \"%s\": appears more than once",
                       name);
    seen[index] = true;
    sla2_status status = config_keys[index].read(name, item, config);
    if (status != SLA2_OK) return status;
  }
  return SLA2_OK;
}

sla2_status sla2_config_from_json(const char *json, sla2_config *out_config) {
  sla2_clear_error();
  if (!json) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "json: must not be NULL");
  if (!out_config) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "out_config: must not be NULL");

  /* The end pointer cJSON returns on failure is the position cJSON_GetErrorPtr() would give,
   * without that function's process-wide (thread-unsafe) state. Trailing text is an error. */
  const char *error_at = NULL;
  cJSON *root = cJSON_ParseWithOpts(json, &error_at, true);
  if (!root) return syntax_error(json, error_at);

  sla2_status status = SLA2_OK;
  long nul_at = find_nul_escape(json);
  if (nul_at >= 0) {
    status = sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                       "config JSON: \\u0000 at byte %ld: keys and values may not contain NUL",
                       nul_at);
  } else if (!cJSON_IsObject(root)) {
    status = sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config JSON: expected a JSON object (got %s)",
                       type_name(root));
  } else {
    sla2_config config = sla2_config_default();
    status = read_object(root, &config);
    /* Each reader checked its range already; this keeps the two rule sets honest. */
    if (status == SLA2_OK) status = sla2_config_validate(&config);
    if (status == SLA2_OK) *out_config = config;
  }
  cJSON_Delete(root);
  return status;
}

/* ---- printing -------------------------------------------------------------------------------- */

sla2_status sla2_config_to_json(const sla2_config *config, char *buffer, size_t capacity,
                                size_t *out_needed) {
  sla2_clear_error();
  sla2_status status = sla2_config_validate(config);
  if (status != SLA2_OK) return status;
  if (!buffer && capacity > 0)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "buffer: must not be NULL when capacity is %zu",
                     capacity);

  char topk[SLA2_DOUBLE_TEXT_MAX], scale[SLA2_DOUBLE_TEXT_MAX];
  sla2_format_double(config->topk, topk);
  sla2_format_double(config->scale, scale);
  /* Every field is bounded (two numbers of < 40 characters, fixed names), so this always fits. */
  char text[512];
  int length = snprintf(text, sizeof text,
                        "{\"topk\": %s, \"blkq\": %d, \"blkk\": %d, \"feature_map\": \"%s\", "
                        "\"tie_feature_map_qk\": true, \"smooth_k\": %s, \"quant\": \"%s\", "
                        "\"alpha\": \"%s\", \"router\": \"%s\", \"scale\": %s}",
                        topk, config->block_q, config->block_k,
                        sla2_feature_map_names[config->feature_map],
                        config->smooth_k ? "true" : "false", sla2_quant_names[config->quant],
                        sla2_alpha_names[config->alpha], sla2_router_names[config->router], scale);
  if (length < 0 || (size_t)length >= sizeof text)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "config: JSON text longer than %zu bytes",
                     sizeof text);

  size_t needed = (size_t)length + 1;
  if (out_needed) *out_needed = needed;
  if (capacity < needed)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT,
                     "capacity: %zu bytes is too small, the config JSON needs %zu including the "
                     "terminator", capacity, needed);
  memcpy(buffer, text, needed);
  return SLA2_OK;
}
