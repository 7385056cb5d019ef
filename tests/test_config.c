/* sla2_config: defaults, validation, enum names, JSON parsing and printing, and every error path
 * (right status, a message naming the key, outputs left untouched). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sla2/config.h"

/* A byte pattern no successful call would write, to prove a failing call wrote nothing. */
#define SENTINEL 0xA5

static void fill_sentinel(void *p, size_t n) { memset(p, SENTINEL, n); }

static bool is_sentinel(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != SENTINEL) return false;
  return true;
}

/* Field by field: struct padding makes memcmp of two separately built configs meaningless. */
static void assert_config_eq(const sla2_config *a, const sla2_config *b, const char *what) {
  /* == on doubles on purpose: the round trip must be exact, and -0.0 keeps its sign bit. */
  ck_assert_msg(a->topk == b->topk && signbit(a->topk) == signbit(b->topk),
                "%s: topk %.17g vs %.17g", what, a->topk, b->topk);
  ck_assert_msg(a->block_q == b->block_q, "%s: block_q %d vs %d", what, a->block_q, b->block_q);
  ck_assert_msg(a->block_k == b->block_k, "%s: block_k %d vs %d", what, a->block_k, b->block_k);
  ck_assert_msg(a->feature_map == b->feature_map, "%s: feature_map", what);
  ck_assert_msg(a->smooth_k == b->smooth_k, "%s: smooth_k", what);
  ck_assert_msg(a->quant == b->quant, "%s: quant", what);
  ck_assert_msg(a->alpha == b->alpha, "%s: alpha", what);
  ck_assert_msg(a->router == b->router, "%s: router", what);
  ck_assert_msg(a->scale == b->scale && signbit(a->scale) == signbit(b->scale),
                "%s: scale %.17g vs %.17g", what, a->scale, b->scale);
}

static void assert_error_mentions(const char *needle, const char *what) {
  if (!needle) return;
  ck_assert_msg(strstr(sla2_last_error(), needle) != NULL,
                "%s: message \"%s\" does not contain \"%s\"", what, sla2_last_error(), needle);
}

/* ---- defaults, validation, names ------------------------------------------------------------- */

START_TEST(test_defaults) {
  sla2_config c = sla2_config_default();
  ck_assert_double_eq(c.topk, 0.05);
  ck_assert_int_eq(c.block_q, 128);
  ck_assert_int_eq(c.block_k, 64);
  ck_assert_int_eq(c.feature_map, SLA2_FEATURE_SOFTMAX);
  ck_assert(c.smooth_k);
  ck_assert_int_eq(c.quant, SLA2_QUANT_INT8_FP8);
  ck_assert_int_eq(c.alpha, SLA2_ALPHA_PER_HEAD);
  ck_assert_int_eq(c.router, SLA2_ROUTER_PER_LAYER);
  ck_assert_double_eq(c.scale, 0.0);
  ck_assert_int_eq(sla2_config_validate(&c), SLA2_OK);
  ck_assert_str_eq(sla2_last_error(), "");
}
END_TEST

START_TEST(test_validate_accepts_edges) {
  static const int blocks[] = {16, 32, 64, 128};
  sla2_config c = sla2_config_default();
  for (int i = 0; i < 4; i++) {
    c.block_q = blocks[i];
    c.block_k = blocks[3 - i];
    ck_assert_int_eq(sla2_config_validate(&c), SLA2_OK);
  }
  c.topk = 1.0; /* every block: dense */
  ck_assert_int_eq(sla2_config_validate(&c), SLA2_OK);
  c.topk = 1e-300;
  ck_assert_int_eq(sla2_config_validate(&c), SLA2_OK);
  c.scale = 0.0;
  ck_assert_int_eq(sla2_config_validate(&c), SLA2_OK);
  c.scale = 1e300;
  ck_assert_int_eq(sla2_config_validate(&c), SLA2_OK);
  c.feature_map = SLA2_FEATURE_RELU;
  c.quant = SLA2_QUANT_NONE;
  c.alpha = SLA2_ALPHA_PER_BLOCK;
  c.router = SLA2_ROUTER_PER_HEAD;
  c.smooth_k = false;
  ck_assert_int_eq(sla2_config_validate(&c), SLA2_OK);
}
END_TEST

/* One bad field per row, with the field's name and a piece of the allowed-values text that the
 * message must contain. */
#define BAD_CONFIG_ROWS 16
static sla2_config bad_config(int row, const char **field, const char **allowed) {
  static const char *const blocks = "16, 32, 64, 128";
  sla2_config c = sla2_config_default();
  const char *f = "topk", *rule = "(0, 1]";
  switch (row) {
  case 0: c.topk = 0.0; break;
  case 1: c.topk = 1.5; break;
  case 2: c.topk = -0.05; break;
  case 3: c.topk = NAN; break;
  case 4: c.topk = INFINITY; break;
  case 5: c.block_q = 100; f = "block_q"; rule = blocks; break;
  case 6: c.block_q = 0; f = "block_q"; rule = blocks; break;
  case 7: c.block_k = 256; f = "block_k"; rule = blocks; break;
  case 8: c.feature_map = (sla2_feature_map)3; f = "feature_map"; rule = "2 (relu)"; break;
  case 9: c.feature_map = (sla2_feature_map)-1; f = "feature_map"; rule = "0 (softmax)"; break;
  case 10: c.quant = (sla2_quant)3; f = "quant"; rule = "2 (int8_fp8)"; break;
  case 11: c.alpha = (sla2_alpha_granularity)2; f = "alpha"; rule = "1 (per_block)"; break;
  case 12: c.router = (sla2_router_sharing)7; f = "router"; rule = "1 (per_head)"; break;
  case 13: c.scale = -1.0; f = "scale"; rule = ">= 0"; break;
  case 14: c.scale = NAN; f = "scale"; rule = ">= 0"; break;
  case 15: c.scale = -INFINITY; f = "scale"; rule = ">= 0"; break;
  }
  if (field) *field = f;
  if (allowed) *allowed = rule;
  return c;
}

START_TEST(test_validate_rejects) {
  const char *field, *allowed;
  sla2_config c = bad_config(_i, &field, &allowed);
  char what[64];
  snprintf(what, sizeof what, "validate row %d", _i);
  ck_assert_msg(sla2_config_validate(&c) == SLA2_ERROR_INVALID_ARGUMENT, "%s", what);
  char quoted[40];
  snprintf(quoted, sizeof quoted, "\"%s\"", field);
  assert_error_mentions(quoted, what);
  assert_error_mentions(allowed, what);
}
END_TEST

START_TEST(test_validate_null) {
  ck_assert_int_eq(sla2_config_validate(NULL), SLA2_ERROR_INVALID_ARGUMENT);
  assert_error_mentions("config", "validate(NULL)");
}
END_TEST

START_TEST(test_validate_message_values) {
  sla2_config c = sla2_config_default();
  c.block_q = 100;
  ck_assert_int_eq(sla2_config_validate(&c), SLA2_ERROR_INVALID_ARGUMENT);
  ck_assert_str_eq(sla2_last_error(),
                   "config field \"block_q\": must be one of 16, 32, 64, 128 (got 100)");
  c = sla2_config_default();
  c.topk = 1.5;
  ck_assert_int_eq(sla2_config_validate(&c), SLA2_ERROR_INVALID_ARGUMENT);
  ck_assert_str_eq(sla2_last_error(),
                   "config field \"topk\": must be a finite number in (0, 1] (got 1.5)");
  /* A success clears the previous message. */
  ck_assert_int_eq(sla2_config_validate(&(sla2_config){.topk = 0.5, .block_q = 16, .block_k = 16}),
                   SLA2_OK);
  ck_assert_str_eq(sla2_last_error(), "");
}
END_TEST

START_TEST(test_names) {
  ck_assert_str_eq(sla2_feature_map_name(SLA2_FEATURE_SOFTMAX), "softmax");
  ck_assert_str_eq(sla2_feature_map_name(SLA2_FEATURE_ELU), "elu");
  ck_assert_str_eq(sla2_feature_map_name(SLA2_FEATURE_RELU), "relu");
  ck_assert_str_eq(sla2_last_error(), "");
  ck_assert_str_eq(sla2_quant_name(SLA2_QUANT_NONE), "none");
  ck_assert_str_eq(sla2_quant_name(SLA2_QUANT_INT8), "int8");
  ck_assert_str_eq(sla2_quant_name(SLA2_QUANT_INT8_FP8), "int8_fp8");
  ck_assert_str_eq(sla2_feature_map_name((sla2_feature_map)3), "unknown");
  assert_error_mentions("feature_map", "feature_map_name(3)");
  ck_assert_str_eq(sla2_quant_name((sla2_quant)-1), "unknown");
  assert_error_mentions("quant", "quant_name(-1)");
}
END_TEST

/* ---- JSON parsing -------------------------------------------------------------------------- */

START_TEST(test_from_json_empty_object_is_defaults) {
  /* Not the defaults: from_json must not merge into what out_config held. */
  sla2_config got = bad_config(5, NULL, NULL);
  ck_assert_int_eq(sla2_config_from_json(" {\n} ", &got), SLA2_OK);
  sla2_config want = sla2_config_default();
  assert_config_eq(&got, &want, "{}");
  ck_assert_str_eq(sla2_last_error(), "");
}
END_TEST

START_TEST(test_from_json_each_key) {
  sla2_config c;
  sla2_config want;

  /* Keys left out keep the defaults, not what out_config held before. */
  c = bad_config(7, NULL, NULL);
  ck_assert_int_eq(sla2_config_from_json("{\"topk\": 0.125}", &c), SLA2_OK);
  want = sla2_config_default();
  want.topk = 0.125;
  assert_config_eq(&c, &want, "topk");

  ck_assert_int_eq(sla2_config_from_json("{\"topk\": 1}", &c), SLA2_OK);
  ck_assert_double_eq(c.topk, 1.0);
  ck_assert_int_eq(sla2_config_from_json("{\"topk\": 3e-2}", &c), SLA2_OK);
  ck_assert_double_eq(c.topk, 0.03);

  static const int blocks[] = {16, 32, 64, 128};
  for (int i = 0; i < 4; i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"blkq\": %d, \"blkk\": %d}", blocks[i], blocks[3 - i]);
    ck_assert_int_eq(sla2_config_from_json(json, &c), SLA2_OK);
    ck_assert_int_eq(c.block_q, blocks[i]);
    ck_assert_int_eq(c.block_k, blocks[3 - i]);
  }
  /* JSON has one number type: an integral value written as 64.0 or 6.4e1 is the integer 64. */
  ck_assert_int_eq(sla2_config_from_json("{\"blkq\": 64.0, \"blkk\": 3.2e1}", &c), SLA2_OK);
  ck_assert_int_eq(c.block_q, 64);
  ck_assert_int_eq(c.block_k, 32);

  static const char *const maps[] = {"softmax", "elu", "relu"};
  for (int i = 0; i < 3; i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"feature_map\": \"%s\"}", maps[i]);
    ck_assert_int_eq(sla2_config_from_json(json, &c), SLA2_OK);
    ck_assert_int_eq(c.feature_map, i);
  }
  static const char *const quants[] = {"none", "int8", "int8_fp8"};
  for (int i = 0; i < 3; i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"quant\": \"%s\"}", quants[i]);
    ck_assert_int_eq(sla2_config_from_json(json, &c), SLA2_OK);
    ck_assert_int_eq(c.quant, i);
  }

  ck_assert_int_eq(sla2_config_from_json("{\"tie_feature_map_qk\": true}", &c), SLA2_OK);
  want = sla2_config_default();
  assert_config_eq(&c, &want, "tie_feature_map_qk true changes nothing");

  ck_assert_int_eq(sla2_config_from_json("{\"smooth_k\": false}", &c), SLA2_OK);
  ck_assert(!c.smooth_k);
  ck_assert_int_eq(sla2_config_from_json("{\"smooth_k\": true}", &c), SLA2_OK);
  ck_assert(c.smooth_k);

  ck_assert_int_eq(sla2_config_from_json("{\"alpha\": \"per_block\"}", &c), SLA2_OK);
  ck_assert_int_eq(c.alpha, SLA2_ALPHA_PER_BLOCK);
  ck_assert_int_eq(sla2_config_from_json("{\"alpha\": \"per_head\"}", &c), SLA2_OK);
  ck_assert_int_eq(c.alpha, SLA2_ALPHA_PER_HEAD);
  ck_assert_int_eq(sla2_config_from_json("{\"router\": \"per_head\"}", &c), SLA2_OK);
  ck_assert_int_eq(c.router, SLA2_ROUTER_PER_HEAD);
  ck_assert_int_eq(sla2_config_from_json("{\"router\": \"per_layer\"}", &c), SLA2_OK);
  ck_assert_int_eq(c.router, SLA2_ROUTER_PER_LAYER);

  ck_assert_int_eq(sla2_config_from_json("{\"scale\": 0.125}", &c), SLA2_OK);
  ck_assert_double_eq(c.scale, 0.125);
  ck_assert_int_eq(sla2_config_from_json("{\"scale\": 0}", &c), SLA2_OK);
  ck_assert_double_eq(c.scale, 0.0);
}
END_TEST

START_TEST(test_from_json_simpletuner_style) {
  /* SimpleTuner's keys together, plus ours, with whitespace and a UTF-8 BOM-free layout. */
  const char *json = "{\n  \"topk\": 0.2,\n  \"blkq\": 64,\n  \"blkk\": 32,\n"
                     "  \"feature_map\": \"elu\",\n  \"tie_feature_map_qk\": true,\n"
                     "  \"smooth_k\": false,\n  \"quant\": \"int8\",\n  \"alpha\": \"per_block\",\n"
                     "  \"router\": \"per_head\",\n  \"scale\": 0.5\n}\n";
  sla2_config c;
  ck_assert_int_eq(sla2_config_from_json(json, &c), SLA2_OK);
  sla2_config want = {.topk = 0.2, .block_q = 64, .block_k = 32, .feature_map = SLA2_FEATURE_ELU,
                      .smooth_k = false, .quant = SLA2_QUANT_INT8, .alpha = SLA2_ALPHA_PER_BLOCK,
                      .router = SLA2_ROUTER_PER_HEAD, .scale = 0.5};
  assert_config_eq(&c, &want, "all keys");
}
END_TEST

/* One failing JSON per row: the status, and up to two pieces the message must contain (the key
 * name in quotes, and the allowed values or the position). */
static const struct {
  const char *json;
  sla2_status status;
  const char *needle1;
  const char *needle2;
} bad_json_rows[] = {
    /* syntax: positions as cJSON reports them */
    {"", SLA2_ERROR_INVALID_ARGUMENT, "byte 0", "end of input"},
    {"{\"topk\": }", SLA2_ERROR_INVALID_ARGUMENT, "syntax error at byte 9", NULL},
    {"{} x", SLA2_ERROR_INVALID_ARGUMENT, "syntax error at byte 3", "near \"x\""},
    {"{\"topk\": 0.1", SLA2_ERROR_INVALID_ARGUMENT, "syntax error at byte 12", NULL},
    {"{'topk': 0.1}", SLA2_ERROR_INVALID_ARGUMENT, "syntax error", NULL},
    {"{\"topk\": 0.1,}", SLA2_ERROR_INVALID_ARGUMENT, "syntax error", NULL},
    {"{\"topk\": NaN}", SLA2_ERROR_INVALID_ARGUMENT, "syntax error", NULL},
    /* not an object */
    {"[1, 2]", SLA2_ERROR_INVALID_ARGUMENT, "expected a JSON object", "array"},
    {"0.05", SLA2_ERROR_INVALID_ARGUMENT, "expected a JSON object", "number"},
    {"\"topk\"", SLA2_ERROR_INVALID_ARGUMENT, "expected a JSON object", "string"},
    {"null", SLA2_ERROR_INVALID_ARGUMENT, "expected a JSON object", "null"},
    {"true", SLA2_ERROR_INVALID_ARGUMENT, "expected a JSON object", "boolean"},
    /* unknown keys: named, and the allowed keys listed */
    {"{\"block_q\": 64}", SLA2_ERROR_INVALID_ARGUMENT, "\"block_q\": unknown key", "blkq, blkk"},
    {"{\"TopK\": 0.1}", SLA2_ERROR_INVALID_ARGUMENT, "\"TopK\"", "topk"},
    {"{\"topk\": 0.1, \"lr\": 3}", SLA2_ERROR_INVALID_ARGUMENT, "\"lr\"", "scale"},
    {"{\"\": 1}", SLA2_ERROR_INVALID_ARGUMENT, "unknown key", "feature_map"},
    /* wrong types, one per key */
    {"{\"topk\": \"0.1\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"topk\"", "a number (got string)"},
    {"{\"blkq\": \"64\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkq\"", "integer (got string)"},
    {"{\"blkk\": true}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkk\"", "integer (got boolean)"},
    {"{\"feature_map\": 1}", SLA2_ERROR_INVALID_ARGUMENT, "\"feature_map\"", "(got number)"},
    {"{\"tie_feature_map_qk\": 1}", SLA2_ERROR_INVALID_ARGUMENT, "\"tie_feature_map_qk\"",
     "true or false (got number)"},
    {"{\"smooth_k\": \"true\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"smooth_k\"",
     "true or false (got string)"},
    {"{\"quant\": null}", SLA2_ERROR_INVALID_ARGUMENT, "\"quant\"", "(got null)"},
    {"{\"alpha\": [\"per_head\"]}", SLA2_ERROR_INVALID_ARGUMENT, "\"alpha\"", "(got array)"},
    {"{\"router\": {}}", SLA2_ERROR_INVALID_ARGUMENT, "\"router\"", "(got object)"},
    {"{\"scale\": \"0\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"scale\"", "a number (got string)"},
    /* out of range, per key */
    {"{\"topk\": 0}", SLA2_ERROR_INVALID_ARGUMENT, "\"topk\"", "(0, 1] (got 0)"},
    {"{\"topk\": 1.5}", SLA2_ERROR_INVALID_ARGUMENT, "\"topk\"", "(0, 1] (got 1.5)"},
    {"{\"topk\": -0.05}", SLA2_ERROR_INVALID_ARGUMENT, "\"topk\"", "(got -0.05)"},
    {"{\"topk\": 1e999}", SLA2_ERROR_INVALID_ARGUMENT, "\"topk\"", "(got inf)"},
    {"{\"topk\": 1.0000000000000002}", SLA2_ERROR_INVALID_ARGUMENT, "\"topk\"",
     "(got 1.0000000000000002)"},
    {"{\"blkq\": 100}", SLA2_ERROR_INVALID_ARGUMENT,
     "config key \"blkq\": must be one of 16, 32, 64, 128 (got 100)", NULL},
    {"{\"blkq\": 64.5}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkq\"", "(got 64.5)"},
    {"{\"blkq\": 0}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkq\"", "16, 32, 64, 128"},
    {"{\"blkq\": -64}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkq\"", "(got -64)"},
    {"{\"blkq\": 1e300}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkq\"", "16, 32, 64, 128"},
    {"{\"blkk\": 8}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkk\"", "(got 8)"},
    {"{\"blkk\": 256}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkk\"", "(got 256)"},
    {"{\"feature_map\": \"gelu\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"feature_map\"",
     "\"softmax\", \"elu\", \"relu\" (got \"gelu\")"},
    {"{\"feature_map\": \"Softmax\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"feature_map\"",
     "(got \"Softmax\")"},
    {"{\"feature_map\": \"relu\\u0000x\"}", SLA2_ERROR_INVALID_ARGUMENT, "\\u0000 at byte 21",
     NULL},
    {"{\"topk\\u0000\": 0.1}", SLA2_ERROR_INVALID_ARGUMENT, "\\u0000", NULL},
    {"{\"quant\": \"fp8\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"quant\"",
     "\"none\", \"int8\", \"int8_fp8\""},
    {"{\"alpha\": \"per_token\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"alpha\"",
     "\"per_head\", \"per_block\""},
    {"{\"router\": \"shared\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"router\"",
     "\"per_layer\", \"per_head\""},
    {"{\"scale\": -1}", SLA2_ERROR_INVALID_ARGUMENT, "\"scale\"",
     ">= 0 (0 means 1/sqrt(D)) (got -1)"},
    {"{\"scale\": -1e999}", SLA2_ERROR_INVALID_ARGUMENT, "\"scale\"", "(got -inf)"},
    /* tie_feature_map_qk false: unsupported, with the reason */
    {"{\"tie_feature_map_qk\": false}", SLA2_ERROR_UNSUPPORTED, "\"tie_feature_map_qk\"",
     "no parameters"},
    /* duplicates, even with the same value */
    {"{\"topk\": 0.1, \"topk\": 0.2}", SLA2_ERROR_INVALID_ARGUMENT, "\"topk\"", "more than once"},
    {"{\"blkq\": 64, \"blkk\": 64, \"blkq\": 64}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkq\"",
     "more than once"},
    /* a good key before a bad one must not leak into out_config */
    {"{\"topk\": 0.2, \"blkq\": 64, \"blkk\": 100}", SLA2_ERROR_INVALID_ARGUMENT, "\"blkk\"",
     "(got 100)"},
    {"{\"smooth_k\": false, \"quant\": \"int4\"}", SLA2_ERROR_INVALID_ARGUMENT, "\"quant\"",
     "(got \"int4\")"},
};
#define BAD_JSON_ROWS ((int)(sizeof bad_json_rows / sizeof bad_json_rows[0]))

START_TEST(test_from_json_rejects) {
  const char *json = bad_json_rows[_i].json;
  sla2_config out;
  fill_sentinel(&out, sizeof out);
  sla2_status status = sla2_config_from_json(json, &out);
  ck_assert_msg(status == bad_json_rows[_i].status, "%s: status %d, want %d (%s)", json, status,
                bad_json_rows[_i].status, sla2_last_error());
  assert_error_mentions(bad_json_rows[_i].needle1, json);
  assert_error_mentions(bad_json_rows[_i].needle2, json);
  ck_assert_msg(is_sentinel(&out, sizeof out), "%s: out_config was written", json);
}
END_TEST

START_TEST(test_from_json_null_arguments) {
  sla2_config out;
  fill_sentinel(&out, sizeof out);
  ck_assert_int_eq(sla2_config_from_json(NULL, &out), SLA2_ERROR_INVALID_ARGUMENT);
  assert_error_mentions("json", "from_json(NULL)");
  ck_assert(is_sentinel(&out, sizeof out));
  ck_assert_int_eq(sla2_config_from_json("{}", NULL), SLA2_ERROR_INVALID_ARGUMENT);
  assert_error_mentions("out_config", "from_json(.., NULL)");
}
END_TEST

START_TEST(test_from_json_long_unknown_key_is_cut) {
  /* An attacker-sized key must not blow up the message; it is cut and still reported. */
  static char json[5000];
  strcpy(json, "{\"");
  memset(json + 2, 'k', 4000);
  strcpy(json + 4002, "\": 1}");
  sla2_config out;
  fill_sentinel(&out, sizeof out);
  ck_assert_int_eq(sla2_config_from_json(json, &out), SLA2_ERROR_INVALID_ARGUMENT);
  assert_error_mentions("kkkk...\": unknown key", "long key");
  ck_assert(strlen(sla2_last_error()) < 400);
  ck_assert(is_sentinel(&out, sizeof out));
}
END_TEST

START_TEST(test_error_cleared_by_success) {
  sla2_config out;
  ck_assert_int_eq(sla2_config_from_json("{\"blkq\": 100}", &out), SLA2_ERROR_INVALID_ARGUMENT);
  ck_assert_str_ne(sla2_last_error(), "");
  ck_assert_int_eq(sla2_config_from_json("{\"blkq\": 16}", &out), SLA2_OK);
  ck_assert_str_eq(sla2_last_error(), "");
  ck_assert_int_eq(out.block_q, 16);
}
END_TEST

/* ---- JSON printing and the round trip -------------------------------------------------------- */

START_TEST(test_to_json_defaults_text) {
  char buffer[512];
  size_t needed = 0;
  sla2_config c = sla2_config_default();
  ck_assert_int_eq(sla2_config_to_json(&c, buffer, sizeof buffer, &needed), SLA2_OK);
  const char *want =
      "{\"topk\": 0.05, \"blkq\": 128, \"blkk\": 64, \"feature_map\": \"softmax\", "
      "\"tie_feature_map_qk\": true, \"smooth_k\": true, \"quant\": \"int8_fp8\", "
      "\"alpha\": \"per_head\", \"router\": \"per_layer\", \"scale\": 0}";
  ck_assert_str_eq(buffer, want);
  ck_assert_uint_eq(needed, strlen(want) + 1);
  ck_assert_str_eq(sla2_last_error(), "");
}
END_TEST

START_TEST(test_to_json_other_text) {
  char buffer[512];
  sla2_config c = {.topk = 0.03, .block_q = 16, .block_k = 128, .feature_map = SLA2_FEATURE_RELU,
                   .smooth_k = false, .quant = SLA2_QUANT_NONE, .alpha = SLA2_ALPHA_PER_BLOCK,
                   .router = SLA2_ROUTER_PER_HEAD, .scale = 1.0 / 3.0};
  ck_assert_int_eq(sla2_config_to_json(&c, buffer, sizeof buffer, NULL), SLA2_OK);
  /* 1/3 needs 16 significant digits to read back exactly; 0.03 needs only its own two. */
  ck_assert_str_eq(buffer,
                   "{\"topk\": 0.03, \"blkq\": 16, \"blkk\": 128, \"feature_map\": \"relu\", "
                   "\"tie_feature_map_qk\": true, \"smooth_k\": false, \"quant\": \"none\", "
                   "\"alpha\": \"per_block\", \"router\": \"per_head\", "
                   "\"scale\": 0.3333333333333333}");
}
END_TEST

static sla2_config round_trip_config(int row) {
  sla2_config c = sla2_config_default();
  switch (row) {
  case 0: break;
  case 1: c.topk = 0.03; break;
  case 2: c.scale = 0.08838834764831845; break; /* 1/sqrt(128) */
  case 3:
    c = (sla2_config){.topk = 0.1 + 0.2, .block_q = 32, .block_k = 16,
                      .feature_map = SLA2_FEATURE_ELU, .smooth_k = false,
                      .quant = SLA2_QUANT_INT8, .alpha = SLA2_ALPHA_PER_BLOCK,
                      .router = SLA2_ROUTER_PER_HEAD, .scale = 1e-310}; /* a subnormal */
    break;
  case 4: c.topk = 1.0; c.scale = 1e300; c.feature_map = SLA2_FEATURE_RELU; break;
  case 5: c.topk = nextafter(1.0, 0.0); c.scale = 2.0 / 3.0; c.quant = SLA2_QUANT_NONE; break;
  case 6: c.topk = 4.9406564584124654e-324; break; /* the smallest double */
  case 7: c.scale = -0.0; break;
  }
  return c;
}
#define ROUND_TRIP_ROWS 8

START_TEST(test_round_trip) {
  sla2_config c = round_trip_config(_i);
  char buffer[512];
  ck_assert_int_eq(sla2_config_to_json(&c, buffer, sizeof buffer, NULL), SLA2_OK);
  sla2_config back;
  ck_assert_msg(sla2_config_from_json(buffer, &back) == SLA2_OK, "%s: %s", buffer,
                sla2_last_error());
  assert_config_eq(&back, &c, buffer);
}
END_TEST

START_TEST(test_to_json_too_small) {
  sla2_config c = sla2_config_default();
  char full[512];
  size_t needed = 0;
  ck_assert_int_eq(sla2_config_to_json(&c, full, sizeof full, &needed), SLA2_OK);
  ck_assert_uint_eq(needed, strlen(full) + 1);

  /* One byte short, and much too short: the status, the size, and not one byte written. */
  size_t capacities[] = {needed - 1, 1};
  for (int i = 0; i < 2; i++) {
    char buffer[512];
    fill_sentinel(buffer, sizeof buffer);
    size_t got = 0;
    ck_assert_int_eq(sla2_config_to_json(&c, buffer, capacities[i], &got),
                     SLA2_ERROR_INVALID_ARGUMENT);
    ck_assert_uint_eq(got, needed);
    ck_assert(is_sentinel(buffer, sizeof buffer));
    assert_error_mentions("capacity", "to_json too small");
  }

  /* Exactly enough: the same text, and the byte after the terminator untouched. */
  char exact[512];
  fill_sentinel(exact, sizeof exact);
  size_t got = 0;
  ck_assert_int_eq(sla2_config_to_json(&c, exact, needed, &got), SLA2_OK);
  ck_assert_uint_eq(got, needed);
  ck_assert_str_eq(exact, full);
  ck_assert(is_sentinel(exact + needed, sizeof exact - needed));

  /* The size query: no buffer, capacity 0. */
  got = 0;
  ck_assert_int_eq(sla2_config_to_json(&c, NULL, 0, &got), SLA2_ERROR_INVALID_ARGUMENT);
  ck_assert_uint_eq(got, needed);
}
END_TEST

START_TEST(test_to_json_bad_arguments) {
  char buffer[512];
  size_t needed = 12345;
  fill_sentinel(buffer, sizeof buffer);

  ck_assert_int_eq(sla2_config_to_json(NULL, buffer, sizeof buffer, &needed),
                   SLA2_ERROR_INVALID_ARGUMENT);
  assert_error_mentions("config", "to_json(NULL)");

  sla2_config c = bad_config(5, NULL, NULL); /* block_q 100 */
  ck_assert_int_eq(sla2_config_to_json(&c, buffer, sizeof buffer, &needed),
                   SLA2_ERROR_INVALID_ARGUMENT);
  assert_error_mentions("\"block_q\"", "to_json invalid config");

  c = sla2_config_default();
  ck_assert_int_eq(sla2_config_to_json(&c, NULL, 64, &needed), SLA2_ERROR_INVALID_ARGUMENT);
  assert_error_mentions("buffer", "to_json NULL buffer");

  ck_assert(is_sentinel(buffer, sizeof buffer));
  ck_assert_uint_eq(needed, 12345);
}
END_TEST

Suite *suite_config(void) {
  Suite *s = suite_create("config");

  TCase *basics = tcase_create("basics");
  tcase_add_test(basics, test_defaults);
  tcase_add_test(basics, test_validate_accepts_edges);
  tcase_add_loop_test(basics, test_validate_rejects, 0, BAD_CONFIG_ROWS);
  tcase_add_test(basics, test_validate_null);
  tcase_add_test(basics, test_validate_message_values);
  tcase_add_test(basics, test_names);
  suite_add_tcase(s, basics);

  TCase *parse = tcase_create("from_json");
  tcase_add_test(parse, test_from_json_empty_object_is_defaults);
  tcase_add_test(parse, test_from_json_each_key);
  tcase_add_test(parse, test_from_json_simpletuner_style);
  tcase_add_loop_test(parse, test_from_json_rejects, 0, BAD_JSON_ROWS);
  tcase_add_test(parse, test_from_json_null_arguments);
  tcase_add_test(parse, test_from_json_long_unknown_key_is_cut);
  tcase_add_test(parse, test_error_cleared_by_success);
  suite_add_tcase(s, parse);

  TCase *print = tcase_create("to_json");
  tcase_add_test(print, test_to_json_defaults_text);
  tcase_add_test(print, test_to_json_other_text);
  tcase_add_loop_test(print, test_round_trip, 0, ROUND_TRIP_ROWS);
  tcase_add_test(print, test_to_json_too_small);
  tcase_add_test(print, test_to_json_bad_arguments);
  suite_add_tcase(s, print);
  return s;
}
