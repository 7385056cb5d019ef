/* sla2-bench: time SLA2 and dense attention per device and config.
 *
 * For every device, dtype, quant mode and topk: the median time of one forward after warm-up,
 * effective throughput 4*B*H*N^2*D / time, the same for the library's dense attention on that
 * device (measured once per device and dtype and reused), the speedup, and the error of SLA2
 * against dense. A human table, or JSON lines with --json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sla2/sla2.h>

#include "bench_compare.h"
#include "tool_common.h"
#include "video_qkv.h"

static const char *program = "sla2-bench";

enum { MAX_LIST = 32 };
static const double sweep_topks[] = {0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0};

typedef struct bench_options {
  const char *device; /* NULL: best; "all": every device; else a comma list of names */
  int64_t batch, heads, seq, dim, blkq, blkk, warmup, runs;
  sla2_dtype dtypes[MAX_LIST];
  size_t dtype_count;
  double topks[MAX_LIST];
  size_t topk_count;
  sla2_quant quants[MAX_LIST];
  size_t quant_count;
  sla2_layout layout;
  bool dense, json, stages, video_data, alpha_set;
  double alpha_logit;
  uint64_t seed;
} bench_options;

static void print_usage(FILE *out) {
  fprintf(out,
      "usage: %s [options]\n"
      "Times SLA2 against the library's dense attention per device and config.\n"
      "\n"
      "  --device LIST      cpu, cuda0, vulkan0, ..., comma list allowed; 'all' = every device\n"
      "                     (default: the best device, or SLA2_DEVICE when set). With several\n"
      "                     devices a last table compares each with the first one named\n"
      "  --batch B          batch size (default 1)\n"
      "  --heads H          heads (default 4)\n"
      "  --seq N            tokens (default 16384)\n"
      "  --dim D            head dimension, a multiple of 8 in [8, 256] (default 128)\n"
      "  --dtype LIST       f32 | f16 | bf16, comma list allowed (default f32)\n"
      "  --layout L         bhnd | bnhd (default bhnd)\n"
      "  --topk LIST        fractions of key blocks kept, e.g. 0.01,0.03,1.0 (default 0.05)\n"
      "  --sweep            topk 0.01,0.02,0.03,0.05,0.1,0.2,0.5,1.0\n"
      "  --quant LIST       none | int8 | int8_fp8, comma list allowed (default int8_fp8)\n"
      "  --blkq B --blkk B  query / key block sizes: 16, 32, 64 or 128 (default 128, 64)\n"
      "  --alpha-logit X    set every alpha logit to X (default: the layer's initial 0, alpha 0.5)\n"
      "  --data KIND        video (q, k with 3-D RoPE, local attention; see sla2-demo) | random\n"
      "                     (i.i.d. normal) (default video)\n"
      "  --seed S           random seed (default 42)\n"
      "  --warmup W         untimed calls before timing (default 1)\n"
      "  --runs R           timed calls; the median is reported (default 3)\n"
      "  --no-dense         skip dense attention (no dense time, speedup or error)\n"
      "  --stages           after timing, one more forward with layer timing on: per-stage ms\n"
      "  --json             JSON lines, one object per measurement, instead of the table\n"
      "  --help             this text\n"
      "\n"
      "Timing: each timed call is one sla2_layer_forward (or sla2_attention_dense) on inputs\n"
      "already on the device, stopped when it returns: the library's contract is that it returns\n"
      "when O is complete. Uploads happen before and downloads (for the error) after timing.\n"
      "Effective throughput = 4*B*H*N^2*D / time for both (what dense attention would need).\n"
      "Error: relative L1 = sum|sla2 - dense| / sum|dense| and cosine similarity, over all of O;\n"
      "it depends on alpha, which a fresh layer sets to 0.5 (see --alpha-logit, sla2-demo).\n"
      "\n"
      "Exit status: 0 when every measurement ran (UNSUPPORTED combinations are reported and\n"
      "skipped), 1 when one failed or nothing ran, 2 on bad arguments.\n",
      program);
}

static int bad_value(const char *flag, const char *value, const char *expected) {
  fprintf(stderr, "%s: bad value '%s' for %s: expected %s (see --help)\n", program, value, flag,
          expected);
  return TOOL_EXIT_USAGE;
}

/* Comma lists: copy, split, parse each item. */
static bool parse_list(const char *text, size_t *out_count, void *out_items,
                       bool (*parse_item)(const char *item, void *out, size_t index)) {
  char copy[512];
  char *items[MAX_LIST];
  if (strlen(text) >= sizeof copy) return false;
  strcpy(copy, text);
  size_t count = tool_split_list(copy, items, MAX_LIST);
  if (count == 0) return false;
  for (size_t i = 0; i < count; i++)
    if (!parse_item(items[i], out_items, i)) return false;
  *out_count = count;
  return true;
}

static bool parse_topk_item(const char *item, void *out, size_t index) {
  double value;
  if (!tool_parse_double(item, &value) || value <= 0 || value > 1) return false;
  ((double *)out)[index] = value;
  return true;
}

static bool parse_quant_item(const char *item, void *out, size_t index) {
  return tool_parse_quant(item, (sla2_quant *)out + index);
}

static bool parse_dtype_item(const char *item, void *out, size_t index) {
  return tool_parse_dtype(item, (sla2_dtype *)out + index);
}

static bool valid_block(int64_t size) { return size == 16 || size == 32 || size == 64 || size == 128; }

/* Returns -1 to go on, or the exit code. */
static int parse_options(int argc, char **argv, bench_options *opt) {
  sla2_config defaults = sla2_config_default();
  *opt = (bench_options){.device = NULL, .batch = 1, .heads = 4, .seq = 16384, .dim = 128,
                         .blkq = defaults.block_q, .blkk = defaults.block_k, .warmup = 1, .runs = 3,
                         .dtypes = {SLA2_F32}, .dtype_count = 1, .topks = {defaults.topk},
                         .topk_count = 1, .quants = {defaults.quant}, .quant_count = 1,
                         .layout = SLA2_LAYOUT_BHND, .dense = true, .video_data = true, .seed = 42};
  bool sweep = false, topk_given = false;
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    int m = 0;
#define OPTION(name) ((m = tool_match_option(program, argc, argv, &i, name, &v)) != 0)
#define NEED_VALUE() \
  if (m < 0) return TOOL_EXIT_USAGE
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      print_usage(stdout);
      return TOOL_EXIT_OK;
    } else if (strcmp(arg, "--no-dense") == 0) {
      opt->dense = false;
    } else if (strcmp(arg, "--json") == 0) {
      opt->json = true;
    } else if (strcmp(arg, "--stages") == 0) {
      opt->stages = true;
    } else if (strcmp(arg, "--sweep") == 0) {
      sweep = true;
    } else if (OPTION("--device")) {
      NEED_VALUE();
      opt->device = v;
    } else if (OPTION("--batch")) {
      NEED_VALUE();
      if (!tool_parse_int64(v, 1, 4096, &opt->batch)) return bad_value("--batch", v, "an integer in [1, 4096]");
    } else if (OPTION("--heads")) {
      NEED_VALUE();
      if (!tool_parse_int64(v, 1, 4096, &opt->heads)) return bad_value("--heads", v, "an integer in [1, 4096]");
    } else if (OPTION("--seq")) {
      NEED_VALUE();
      if (!tool_parse_int64(v, 1, 1 << 22, &opt->seq)) return bad_value("--seq", v, "an integer in [1, 4194304]");
    } else if (OPTION("--dim")) {
      NEED_VALUE();
      if (!tool_parse_int64(v, 8, 256, &opt->dim) || opt->dim % 8)
        return bad_value("--dim", v, "a multiple of 8 in [8, 256]");
    } else if (OPTION("--dtype")) {
      NEED_VALUE();
      if (!parse_list(v, &opt->dtype_count, opt->dtypes, parse_dtype_item))
        return bad_value("--dtype", v, "f32, f16 or bf16, or a comma list of them");
    } else if (OPTION("--layout")) {
      NEED_VALUE();
      if (!tool_parse_layout(v, &opt->layout)) return bad_value("--layout", v, "bhnd or bnhd");
    } else if (OPTION("--topk")) {
      NEED_VALUE();
      if (!parse_list(v, &opt->topk_count, opt->topks, parse_topk_item))
        return bad_value("--topk", v, "numbers in (0, 1], comma separated");
      topk_given = true;
    } else if (OPTION("--quant")) {
      NEED_VALUE();
      if (!parse_list(v, &opt->quant_count, opt->quants, parse_quant_item))
        return bad_value("--quant", v, "none, int8 or int8_fp8, or a comma list of them");
    } else if (OPTION("--blkq")) {
      NEED_VALUE();
      if (!tool_parse_int64(v, 1, 128, &opt->blkq) || !valid_block(opt->blkq))
        return bad_value("--blkq", v, "16, 32, 64 or 128");
    } else if (OPTION("--blkk")) {
      NEED_VALUE();
      if (!tool_parse_int64(v, 1, 128, &opt->blkk) || !valid_block(opt->blkk))
        return bad_value("--blkk", v, "16, 32, 64 or 128");
    } else if (OPTION("--alpha-logit")) {
      NEED_VALUE();
      if (!tool_parse_double(v, &opt->alpha_logit)) return bad_value("--alpha-logit", v, "a finite number");
      opt->alpha_set = true;
    } else if (OPTION("--data")) {
      NEED_VALUE();
      if (strcmp(v, "video") != 0 && strcmp(v, "random") != 0) return bad_value("--data", v, "video or random");
      opt->video_data = strcmp(v, "video") == 0;
    } else if (OPTION("--seed")) {
      NEED_VALUE();
      if (!tool_parse_u64(v, &opt->seed)) return bad_value("--seed", v, "an unsigned integer");
    } else if (OPTION("--warmup")) {
      NEED_VALUE();
      if (!tool_parse_int64(v, 0, 1000, &opt->warmup)) return bad_value("--warmup", v, "an integer in [0, 1000]");
    } else if (OPTION("--runs")) {
      NEED_VALUE();
      if (!tool_parse_int64(v, 1, 10000, &opt->runs)) return bad_value("--runs", v, "an integer in [1, 10000]");
    } else {
      fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", program, arg);
      return TOOL_EXIT_USAGE;
    }
#undef OPTION
#undef NEED_VALUE
  }
  if (sweep) {
    if (topk_given) {
      fprintf(stderr, "%s: --sweep and --topk both choose topk values; give one\n", program);
      return TOOL_EXIT_USAGE;
    }
    opt->topk_count = sizeof sweep_topks / sizeof sweep_topks[0];
    memcpy(opt->topks, sweep_topks, sizeof sweep_topks);
  }
  double elements = (double)opt->batch * (double)opt->heads * (double)opt->seq * (double)opt->dim;
  if (elements > (double)(1ull << 32)) {
    fprintf(stderr, "%s: B*H*N*D = %.0f elements per tensor; at most 2^32 are allowed\n", program,
            elements);
    return TOOL_EXIT_USAGE;
  }
  return -1;
}

/* --- output ----------------------------------------------------------------------------------- */

static void json_string(const char *text) {
  putchar('"');
  for (const unsigned char *c = (const unsigned char *)(text ? text : ""); *c; c++) {
    if (*c == '"' || *c == '\\') {
      printf("\\%c", *c);
    } else if (*c < 0x20) {
      printf("\\u%04x", *c);
    } else {
      putchar(*c);
    }
  }
  putchar('"');
}

/* A number, or null when not measured or not finite. */
static void json_number(const char *key, double value, bool present) {
  printf(",\"%s\":", key);
  if (present && isfinite(value)) {
    printf("%.6g", value);
  } else {
    printf("null");
  }
}

/* Everything known about one (device, dtype) pass. */
typedef struct bench_target {
  const bench_options *opt;
  sla2_device_info info;
  sla2_dtype dtype;
  bool gpu_units;         /* table rates in TFLOP/s rather than GFLOP/s */
  bool dense_done;
  sla2_status dense_status; /* OK, or why dense attention did not run */
  char dense_message[512];
  double dense_s;
  const float *dense_out; /* BHND f32, valid when dense_done */
} bench_target;

/* One SLA2 measurement. */
typedef struct bench_result {
  double topk;
  sla2_quant quant;
  sla2_status status;     /* OK, or why it was skipped */
  char message[512];
  char config_json[1024];
  double sla2_s;
  sla2_forward_stats stats, stage_stats;
  bool have_stages, have_error;
  tool_error error;
} bench_result;

static double rate_in_units(const bench_target *t, double seconds) {
  const bench_options *o = t->opt;
  double flops = tool_attention_flops(o->batch, o->heads, o->seq, o->dim);
  return flops / seconds * (t->gpu_units ? 1e-12 : 1e-9);
}

static void print_table_header(const bench_target *t) {
  const bench_options *o = t->opt;
  printf("\ndevice %s: %s (%s backend, %s, %d compute units)\n", t->info.name,
         t->info.description && *t->info.description ? t->info.description : "-", t->info.backend,
         tool_device_type_name(t->info.type), t->info.compute_units);
  printf("shape B %lld  H %lld  N %lld  D %lld, %s %s, blocks %lld x %lld, %s data (seed %llu), "
         "median of %lld after %lld warm-up\n",
         (long long)o->batch, (long long)o->heads, (long long)o->seq, (long long)o->dim,
         sla2_dtype_name(t->dtype), o->layout == SLA2_LAYOUT_BHND ? "bhnd" : "bnhd",
         (long long)o->blkq, (long long)o->blkk, o->video_data ? "video" : "random",
         (unsigned long long)o->seed, (long long)o->runs, (long long)o->warmup);
  const char *unit = t->gpu_units ? "TFLOP/s" : "GFLOP/s";
  if (t->dense_done) {
    printf("dense attention: %.2f ms, %.*f %s effective\n", t->dense_s * 1e3, t->gpu_units ? 2 : 1,
           rate_in_units(t, t->dense_s), unit);
  } else if (t->dense_status != SLA2_OK) {
    printf("dense attention: failed: %s: %s\n", sla2_status_string(t->dense_status), t->dense_message);
  }
  printf("%7s %-8s %9s %8s %10s %9s %8s %8s %8s\n", "topk", "quant", "k/T_n", "density",
         "SLA2 ms", unit, "speedup", "rel L1", "cosine");
}

static void print_table_row(const bench_target *t, const bench_result *r) {
  if (r->status != SLA2_OK) {
    printf("%7.3g %-8s skipped: %s: %s\n", r->topk, sla2_quant_name(r->quant),
           sla2_status_string(r->status), r->message);
    return;
  }
  char k_of[32], speedup[16] = "-", rel[16] = "-", cosine[16] = "-";
  snprintf(k_of, sizeof k_of, "%lld/%lld", (long long)r->stats.k_per_row, (long long)r->stats.t_n);
  if (t->dense_done) snprintf(speedup, sizeof speedup, "%.2fx", t->dense_s / r->sla2_s);
  if (r->have_error) {
    snprintf(rel, sizeof rel, "%.4f", r->error.rel_l1);
    snprintf(cosine, sizeof cosine, "%.5f", r->error.cosine);
  }
  printf("%7.3g %-8s %9s %8.4f %10.2f %9.*f %8s %8s %8s\n", r->topk, sla2_quant_name(r->quant),
         k_of, r->stats.density, r->sla2_s * 1e3, t->gpu_units ? 2 : 1, rate_in_units(t, r->sla2_s),
         speedup, rel, cosine);
  if (r->have_stages) {
    printf("        stages (ms, timing on: %.2f total):", r->stage_stats.total_ms);
    for (int i = 0; i < r->stage_stats.stage_count && i < 16; i++)
      printf(" %s %.2f", r->stage_stats.stage_names[i] ? r->stage_stats.stage_names[i] : "?",
             r->stage_stats.stage_ms[i]);
    printf("\n");
  }
}

static void print_json_line(const bench_target *t, const bench_result *r) {
  const bench_options *o = t->opt;
  double flops = tool_attention_flops(o->batch, o->heads, o->seq, o->dim);
  bool ok = r->status == SLA2_OK;
  printf("{\"device\":");
  json_string(t->info.name);
  printf(",\"backend\":");
  json_string(t->info.backend);
  printf(",\"device_type\":");
  json_string(tool_device_type_name(t->info.type));
  printf(",\"description\":");
  json_string(t->info.description);
  printf(",\"batch\":%lld,\"heads\":%lld,\"seq\":%lld,\"dim\":%lld", (long long)o->batch,
         (long long)o->heads, (long long)o->seq, (long long)o->dim);
  printf(",\"dtype\":\"%s\",\"layout\":\"%s\",\"data\":\"%s\",\"seed\":%llu",
         sla2_dtype_name(t->dtype), o->layout == SLA2_LAYOUT_BHND ? "bhnd" : "bnhd",
         o->video_data ? "video" : "random", (unsigned long long)o->seed);
  printf(",\"topk\":%.6g,\"quant\":\"%s\",\"blkq\":%lld,\"blkk\":%lld", r->topk,
         sla2_quant_name(r->quant), (long long)o->blkq, (long long)o->blkk);
  printf(",\"config\":%s", r->config_json[0] ? r->config_json : "null");
  json_number("alpha_logit", o->alpha_logit, o->alpha_set);
  printf(",\"warmup\":%lld,\"runs\":%lld,\"flops\":%.6g", (long long)o->warmup, (long long)o->runs, flops);
  printf(",\"status\":\"%s\"", sla2_status_string(r->status));
  if (!ok) {
    printf(",\"error\":");
    json_string(r->message);
  }
  json_number("k_per_row", (double)r->stats.k_per_row, ok);
  json_number("t_m", (double)r->stats.t_m, ok);
  json_number("t_n", (double)r->stats.t_n, ok);
  json_number("density", r->stats.density, ok);
  json_number("alpha_mean", r->stats.alpha_mean, ok);
  json_number("sla2_ms", r->sla2_s * 1e3, ok);
  json_number("sla2_tflops", flops / r->sla2_s * 1e-12, ok);
  if (t->dense_status != SLA2_OK) {
    printf(",\"dense_status\":\"%s\",\"dense_error\":", sla2_status_string(t->dense_status));
    json_string(t->dense_message);
  }
  json_number("dense_ms", t->dense_s * 1e3, t->dense_done);
  json_number("dense_tflops", flops / t->dense_s * 1e-12, t->dense_done);
  json_number("speedup", t->dense_s / r->sla2_s, ok && t->dense_done);
  json_number("rel_l1", r->error.rel_l1, ok && r->have_error);
  json_number("cosine", r->error.cosine, ok && r->have_error);
  json_number("max_abs_error", r->error.max_abs, ok && r->have_error);
  if (r->have_stages) {
    printf(",\"stages_total_ms\":%.6g,\"stages\":[", r->stage_stats.total_ms);
    for (int i = 0; i < r->stage_stats.stage_count && i < 16; i++) {
      printf("%s{\"name\":", i ? "," : "");
      json_string(r->stage_stats.stage_names[i]);
      printf(",\"ms\":%.6g}", r->stage_stats.stage_ms[i]);
    }
    printf("]");
  }
  printf("}\n");
}

/* --- measuring -------------------------------------------------------------------------------- */

/* Keep a copy of the last error (it lives only until the next sla2 call). */
static sla2_status remember(sla2_status status, bench_result *r) {
  if (status != SLA2_OK && r->status == SLA2_OK) {
    snprintf(r->message, sizeof r->message, "%s", sla2_last_error());
    r->status = status;
  }
  return status;
}

/* The config JSON on one line (the library may pretty-print it). */
static void config_json_line(const sla2_config *config, char *buffer, size_t capacity) {
  if (sla2_config_to_json(config, buffer, capacity, NULL) != SLA2_OK) {
    buffer[0] = '\0';
    return;
  }
  size_t out = 0;
  for (size_t in = 0; buffer[in]; in++)
    if (buffer[in] != '\n' && buffer[in] != '\r') buffer[out++] = buffer[in];
  buffer[out] = '\0';
}

static void measure_sla2(bench_target *t, tool_attention_call *call, float *host_out,
                         bench_result *r) {
  const bench_options *o = t->opt;
  sla2_config config = sla2_config_default();
  config.topk = r->topk;
  config.quant = r->quant;
  config.block_q = (int)o->blkq;
  config.block_k = (int)o->blkk;
  if (remember(sla2_config_validate(&config), r) != SLA2_OK) return;
  config_json_line(&config, r->config_json, sizeof r->config_json);

  sla2_layer_desc desc = {.num_heads = o->heads, .head_dim = o->dim, .seq_len = 0};
  sla2_device *device = sla2_tensor_device(call->q);
  if (remember(sla2_layer_create(device, &config, &desc, &call->layer), r) != SLA2_OK) return;
  sla2_status status = SLA2_OK;
  if (o->alpha_set) {
    size_t count = sla2_layer_alpha_count(call->layer);
    float *logits = malloc((count ? count : 1) * sizeof *logits);
    if (!logits) {
      status = SLA2_ERROR_OUT_OF_MEMORY;
    } else {
      for (size_t i = 0; i < count; i++) logits[i] = (float)o->alpha_logit;
      status = remember(sla2_layer_set_alpha_logits(call->layer, logits, count), r);
      free(logits);
    }
  }
  if (status == SLA2_OK)
    status = remember(tool_time_median(tool_run_attention, call, o->warmup, o->runs, &r->sla2_s), r);
  if (status == SLA2_OK) status = remember(sla2_layer_get_stats(call->layer, &r->stats), r);
  if (status == SLA2_OK && t->dense_done) {
    status = remember(tool_tensor_to_f32(call->o, host_out), r);
    if (status == SLA2_OK) {
      size_t count = (size_t)(o->batch * o->heads * o->seq * o->dim);
      tool_compare(host_out, t->dense_out, count, &r->error);
      r->have_error = true;
    }
  }
  if (status == SLA2_OK && o->stages) {
    /* A separate forward, so that synchronizing per stage does not skew the median. */
    status = remember(sla2_layer_set_timing(call->layer, true), r);
    if (status == SLA2_OK) status = remember(tool_run_attention(call), r);
    if (status == SLA2_OK) status = remember(sla2_layer_get_stats(call->layer, &r->stage_stats), r);
    if (status == SLA2_OK) r->have_stages = r->stage_stats.timed;
  }
  sla2_layer_destroy(call->layer);
  call->layer = NULL;
}

/* Host inputs, shared by every device and dtype. */
typedef struct bench_inputs {
  float *q, *k, *v, *dense, *sla2;
} bench_inputs;

/* Skipped combinations count as failures only when they are not UNSUPPORTED. */
typedef struct bench_tally {
  int measured, unsupported, failed;
} bench_tally;

static void tally(bench_tally *tally_, sla2_status status) {
  if (status == SLA2_OK) {
    tally_->measured++;
  } else if (status == SLA2_ERROR_UNSUPPORTED) {
    tally_->unsupported++;
  } else {
    tally_->failed++;
  }
}

/* Keeps a successful measurement for the cross-device table. */
static void compare_add(bench_compare *compare, size_t device, sla2_dtype dtype, bool dense,
                        double topk, sla2_quant quant, double seconds) {
  const bench_compare_entry entry = {device, dtype, dense, topk, quant, seconds};
  if (!bench_compare_add(compare, &entry))
    fprintf(stderr, "%s: warning: out of memory: the comparison table lacks a row\n", program);
}

static void bench_device_dtype(const bench_options *o, sla2_device *device, size_t device_index,
                               sla2_dtype dtype, const bench_inputs *in, bench_tally *counts,
                               bench_compare *compare) {
  bench_target t = {.opt = o, .dtype = dtype};
  bench_result setup = {.status = SLA2_OK};
  if (remember(sla2_device_get_info(device, &t.info), &setup) != SLA2_OK) {
    fprintf(stderr, "%s: error: device information: %s: %s\n", program,
            sla2_status_string(setup.status), setup.message);
    counts->failed++;
    return;
  }
  t.gpu_units = t.info.type == SLA2_DEVICE_GPU_DISCRETE || t.info.type == SLA2_DEVICE_GPU_INTEGRATED;

  const int64_t shape[4] = {o->batch, o->heads, o->seq, o->dim};
  sla2_tensor *q = NULL, *k = NULL, *v = NULL, *o_sla2 = NULL, *o_dense = NULL;
  sla2_status status = remember(tool_tensor_from_f32(device, dtype, o->layout, shape, in->q, &q), &setup);
  if (status == SLA2_OK) status = remember(tool_tensor_from_f32(device, dtype, o->layout, shape, in->k, &k), &setup);
  if (status == SLA2_OK) status = remember(tool_tensor_from_f32(device, dtype, o->layout, shape, in->v, &v), &setup);
  if (status == SLA2_OK) status = remember(sla2_tensor_create_layout(device, dtype, shape, o->layout, &o_sla2), &setup);
  if (status == SLA2_OK && o->dense)
    status = remember(sla2_tensor_create_layout(device, dtype, shape, o->layout, &o_dense), &setup);
  if (status == SLA2_OK && o->dense) {
    /* A dense failure (say, a dtype it does not support) leaves the SLA2 rows to run without it. */
    bench_result dense = {.status = SLA2_OK};
    tool_attention_call dense_call = {NULL, q, k, v, o_dense};
    sla2_status dense_status =
        remember(tool_time_median(tool_run_attention, &dense_call, o->warmup, o->runs, &t.dense_s), &dense);
    if (dense_status == SLA2_OK) dense_status = remember(tool_tensor_to_f32(o_dense, in->dense), &dense);
    t.dense_done = dense_status == SLA2_OK;
    t.dense_out = in->dense;
    t.dense_status = dense_status;
    snprintf(t.dense_message, sizeof t.dense_message, "%s", dense.message);
    if (dense_status != SLA2_OK) tally(counts, dense_status);
    if (t.dense_done) compare_add(compare, device_index, dtype, true, 0.0, SLA2_QUANT_NONE, t.dense_s);
  }

  if (!o->json) print_table_header(&t);
  if (status != SLA2_OK && !o->json)
    printf("skipped (%s, %s): %s: %s\n", t.info.name, sla2_dtype_name(dtype),
           sla2_status_string(setup.status), setup.message);
  for (size_t qi = 0; qi < o->quant_count; qi++)
    for (size_t ki = 0; ki < o->topk_count; ki++) {
      bench_result r = {.topk = o->topks[ki], .quant = o->quants[qi], .status = SLA2_OK};
      if (status != SLA2_OK) { /* the tensors could not be made: every row shares that reason */
        r.status = setup.status;
        snprintf(r.message, sizeof r.message, "%s", setup.message);
        if (o->json) print_json_line(&t, &r);
        tally(counts, r.status);
        continue;
      }
      tool_attention_call call = {NULL, q, k, v, o_sla2};
      measure_sla2(&t, &call, in->sla2, &r);
      if (r.status == SLA2_OK) compare_add(compare, device_index, dtype, false, r.topk, r.quant, r.sla2_s);
      if (o->json) {
        print_json_line(&t, &r);
      } else {
        print_table_row(&t, &r);
      }
      fflush(stdout);
      tally(counts, r.status);
    }
  sla2_tensor *tensors[] = {q, k, v, o_sla2, o_dense};
  for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) sla2_tensor_destroy(tensors[i]);
}

static int make_inputs(const bench_options *o, bench_inputs *in) {
  size_t count = (size_t)(o->batch * o->heads * o->seq * o->dim);
  float **arrays[] = {&in->q, &in->k, &in->v, &in->dense, &in->sla2};
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
    *arrays[i] = malloc(count * sizeof(float));
    if (!*arrays[i]) {
      fprintf(stderr, "%s: error: out of host memory for %zu floats\n", program, count);
      return -1;
    }
  }
  if (o->video_data) {
    video_qkv_params p;
    video_qkv_defaults(&p);
    int64_t grid[3];
    video_qkv_grid_for_tokens(o->seq, grid);
    p.frames = grid[0], p.height = grid[1], p.width = grid[2];
    p.tokens = o->seq, p.batch = o->batch, p.heads = o->heads, p.head_dim = o->dim, p.seed = o->seed;
    return video_qkv_generate(&p, in->q, in->k, in->v);
  }
  tool_rng rng;
  tool_rng_seed(&rng, o->seed);
  for (size_t i = 0; i < count; i++) in->q[i] = (float)tool_rng_normal(&rng);
  for (size_t i = 0; i < count; i++) in->k[i] = (float)tool_rng_normal(&rng);
  for (size_t i = 0; i < count; i++) in->v[i] = (float)tool_rng_normal(&rng);
  return 0;
}

/* Resolves --device (a name, a comma list or "all") into devices[] and compare->names. */
static int pick_devices(const bench_options *o, sla2_device *devices[64], bench_compare *compare) {
  size_t count = 0;
  if (o->device && strcmp(o->device, "all") == 0) {
    size_t total = 0;
    sla2_status status = sla2_device_count(&total);
    if (status != SLA2_OK) return tool_report(program, "counting devices", status);
    for (; count < total && count < 64; count++) {
      status = sla2_device_get(count, &devices[count]);
      if (status != SLA2_OK) return tool_report(program, "listing devices", status);
    }
    if (count == 0) {
      fprintf(stderr, "%s: error: no device is available (see sla2-devices)\n", program);
      return TOOL_EXIT_FAILURE;
    }
  } else if (o->device && strchr(o->device, ',')) {
    char copy[512];
    char *names[64];
    size_t named = strlen(o->device) < sizeof copy ? tool_split_list(strcpy(copy, o->device), names, 64) : 0;
    if (named == 0) {
      fprintf(stderr, "%s: bad value '%s' for --device: expected names separated by commas\n",
              program, o->device);
      return TOOL_EXIT_USAGE;
    }
    for (; count < named; count++)
      if (tool_pick_device(program, names[count], &devices[count]) != SLA2_OK) return TOOL_EXIT_FAILURE;
  } else {
    if (tool_pick_device(program, o->device, &devices[0]) != SLA2_OK) return TOOL_EXIT_FAILURE;
    count = 1;
  }
  for (size_t d = 0; d < count; d++) compare->names[d] = sla2_device_name(devices[d]);
  compare->device_count = count;
  return 0;
}

int main(int argc, char **argv) {
  bench_options opt;
  int code = parse_options(argc, argv, &opt);
  if (code >= 0) return code;

  /* The devices to run on. */
  sla2_device *devices[64];
  bench_compare compare = {.device_count = 0};
  if (pick_devices(&opt, devices, &compare) != 0) return TOOL_EXIT_FAILURE;

  bench_inputs inputs = {NULL, NULL, NULL, NULL, NULL};
  bench_tally counts = {0, 0, 0};
  if (make_inputs(&opt, &inputs) != 0) {
    fprintf(stderr, "%s: error: cannot make the inputs\n", program);
    counts.failed++;
  } else {
    if (!opt.json) {
      printf("sla2-bench %s: SLA2 against dense attention; effective throughput = "
             "4*B*H*N^2*D / time\n", sla2_version());
    }
    for (size_t d = 0; d < compare.device_count; d++)
      for (size_t i = 0; i < opt.dtype_count; i++)
        bench_device_dtype(&opt, devices[d], d, opt.dtypes[i], &inputs, &counts, &compare);
  }
  bench_compare_finish(&compare, !opt.json);
  free(inputs.q);
  free(inputs.k);
  free(inputs.v);
  free(inputs.dense);
  free(inputs.sla2);
  if (!opt.json && counts.unsupported)
    printf("\n%d combination(s) skipped as UNSUPPORTED on their device.\n", counts.unsupported);
  if (counts.failed || counts.measured == 0) return TOOL_EXIT_FAILURE;
  return TOOL_EXIT_OK;
}
