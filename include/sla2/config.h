/* The SLA2 configuration: every field changes the computation (see README "Config keys"). */
#ifndef SLA2_CONFIG_H
#define SLA2_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "sla2/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sla2_feature_map {
  SLA2_FEATURE_SOFTMAX = 0, /* softmax over the D channels of each row */
  SLA2_FEATURE_ELU = 1,     /* elu(x) + 1 */
  SLA2_FEATURE_RELU = 2     /* max(x, 0) */
} sla2_feature_map;

typedef enum sla2_quant {
  SLA2_QUANT_NONE = 0,    /* sparse branch in fp32 arithmetic on the input precision */
  SLA2_QUANT_INT8 = 1,    /* INT8 Q and K~ per block; P and V unquantized */
  SLA2_QUANT_INT8_FP8 = 2 /* INT8 Q and K~ per block; FP8 E4M3 P (static 448) and V (per channel) */
} sla2_quant;

typedef enum sla2_alpha_granularity {
  SLA2_ALPHA_PER_HEAD = 0,  /* logits [H] */
  SLA2_ALPHA_PER_BLOCK = 1  /* logits [H, T_m]; fixes the sequence length of the layer */
} sla2_alpha_granularity;

typedef enum sla2_router_sharing {
  SLA2_ROUTER_PER_LAYER = 0, /* one W_q, W_k pair shared by all heads */
  SLA2_ROUTER_PER_HEAD = 1   /* one pair per head */
} sla2_router_sharing;

typedef struct sla2_config {
  double topk;                 /* fraction of key blocks per query-block row, (0, 1]; 0.05 */
  int block_q;                 /* 16, 32, 64 or 128; 128 */
  int block_k;                 /* 16, 32, 64 or 128; 64 */
  sla2_feature_map feature_map;/* softmax */
  bool smooth_k;               /* subtract the token mean of K; true */
  sla2_quant quant;            /* int8_fp8 */
  sla2_alpha_granularity alpha;/* per head */
  sla2_router_sharing router;  /* per layer */
  double scale;                /* softmax scale; 0 means 1/sqrt(D) */
} sla2_config;

/* The defaults listed above. */
SLA2_API sla2_config sla2_config_default(void);
/* Range checks of every field; INVALID_ARGUMENT naming the field and the allowed values
 * (NULL config too). */
SLA2_API sla2_status sla2_config_validate(const sla2_config *config);

/* Parse a JSON object. Keys (SimpleTuner's first): topk (number in (0, 1]), blkq and blkk
 * (16, 32, 64 or 128; 64.0 counts as 64, 64.5 does not), feature_map ("softmax" | "elu" |
 * "relu"), tie_feature_map_qk (true only: false is UNSUPPORTED, as our feature maps have no
 * parameters), smooth_k (true | false), quant ("none" | "int8" | "int8_fp8"), alpha ("per_head" |
 * "per_block"), router ("per_layer" | "per_head"), scale (number >= 0, 0 = 1/sqrt(D)).
 * Keys left out take the defaults (not the values out_config held before).
 * INVALID_ARGUMENT, naming the key and the allowed values, for: NULL arguments, bad JSON syntax
 * (with the byte offset cJSON reports), trailing text, a root that is not an object, unknown or
 * repeated keys, wrong value types, out-of-range values, and strings containing \u0000.
 * out_config is written only on success. */
SLA2_API sla2_status sla2_config_from_json(const char *json, sla2_config *out_config);
/* The config (validated first) as a one-line JSON object with every key, in the order listed
 * above, numbers in the fewest digits that read back exactly; from_json of it gives config back.
 * Writes at most capacity bytes including the terminator. out_needed (optional) receives the
 * size needed including the terminator, also when capacity is too small. Too small (including
 * buffer NULL with capacity 0, which makes a size query) is INVALID_ARGUMENT and writes nothing
 * to buffer; the text is short (under 512 bytes). */
SLA2_API sla2_status sla2_config_to_json(const sla2_config *config, char *buffer, size_t capacity,
                                         size_t *out_needed);

/* The JSON names ("softmax", "int8_fp8", ...); "unknown" (and sla2_last_error set) out of range. */
SLA2_API const char *sla2_feature_map_name(sla2_feature_map feature_map);
SLA2_API const char *sla2_quant_name(sla2_quant quant);

#ifdef __cplusplus
}
#endif
#endif
