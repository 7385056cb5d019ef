/* sla2-demo: SLA2 attention against dense attention on a video-like problem.
 *
 * Tokens of a T x H x W video latent grid, q and k with 3-D rotary position embeddings so that
 * attention is local (video_qkv.h), v random. Times dense attention and SLA2 at the default
 * config on the best device, and reports speedup, measured density and the error of SLA2
 * against dense. A freshly created layer mixes its branches with alpha = 0.5; the demo also
 * fits alpha per head by least squares against dense (what router calibration learns) and
 * reports the error with that alpha. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sla2/sla2.h>

#include "tool_common.h"
#include "video_qkv.h"

static const char *program = "sla2-demo";

typedef struct demo_options {
  video_qkv_params problem;
  sla2_config config;
  int64_t runs;
  const char *device;   /* NULL: sla2_device_best() */
  bool alpha_set;
  double alpha_logit;
  bool fit_alpha;
} demo_options;

static void print_usage(FILE *out) {
  fprintf(out,
      "usage: %s [options]\n"
      "Runs dense attention and SLA2 on a video-like problem and prints their times, the speedup,\n"
      "the measured density and the error of SLA2 against dense (relative L1 = sum|a-b|/sum|b|,\n"
      "cosine similarity). Each is run once to warm up, then --runs times; the median is shown.\n"
      "\n"
      "  --n-grid T,H,W     token grid: frames, height, width (default 5,39,42: N = 8190)\n"
      "  --frames T  --height H  --width W   the same, one at a time\n"
      "  --heads H          attention heads (default 4)\n"
      "  --dim D            head dimension, a multiple of 8 in [8, 256] (default 128)\n"
      "  --topk F           fraction of key blocks each query block attends to (default 0.05)\n"
      "  --quant Q          sparse-branch precision: none | int8 | int8_fp8 (default int8_fp8)\n"
      "  --locality S       weight of the positional part of q and k (default 4.0; 0 = no locality)\n"
      "  --seed S           random seed (default 42)\n"
      "  --runs R           timed runs of each (default 3)\n"
      "  --device NAME      device to use: cpu, cuda0, vulkan0, ... (default: the best one, or\n"
      "                     the SLA2_DEVICE environment variable; see sla2-devices)\n"
      "  --alpha-logit X    set every alpha logit to X (alpha = sigmoid(X)) instead of 0\n"
      "  --no-fit           skip the per-head alpha fit and its error line\n"
      "  --help             this text\n"
      "\n"
      "Exit status: 0 on success, 1 when the library reports an error, 2 on bad arguments.\n",
      program);
}

static int bad_value(const char *flag, const char *value, const char *expected) {
  fprintf(stderr, "%s: bad value '%s' for %s: expected %s (see --help)\n", program, value, flag,
          expected);
  return TOOL_EXIT_USAGE;
}

/* Returns -1 to go on, or the exit code. */
static int parse_options(int argc, char **argv, demo_options *opt) {
  video_qkv_defaults(&opt->problem);
  opt->config = sla2_config_default();
  opt->runs = 3;
  opt->device = NULL;
  opt->alpha_set = false;
  opt->alpha_logit = 0.0;
  opt->fit_alpha = true;
  video_qkv_params *p = &opt->problem;
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    int m = 0;
#define OPTION(name) ((m = tool_match_option(program, argc, argv, &i, name, &v)) != 0)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_usage(stdout);
      return TOOL_EXIT_OK;
    } else if (strcmp(argv[i], "--no-fit") == 0) {
      opt->fit_alpha = false;
    } else if (OPTION("--n-grid")) {
      int64_t grid[3];
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_triple(v, grid)) return bad_value("--n-grid", v, "T,H,W of positive integers");
      p->frames = grid[0], p->height = grid[1], p->width = grid[2];
    } else if (OPTION("--frames")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_int64(v, 1, 1 << 20, &p->frames)) return bad_value("--frames", v, "a positive integer");
    } else if (OPTION("--height")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_int64(v, 1, 1 << 20, &p->height)) return bad_value("--height", v, "a positive integer");
    } else if (OPTION("--width")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_int64(v, 1, 1 << 20, &p->width)) return bad_value("--width", v, "a positive integer");
    } else if (OPTION("--heads")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_int64(v, 1, 4096, &p->heads)) return bad_value("--heads", v, "an integer in [1, 4096]");
    } else if (OPTION("--dim")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_int64(v, 8, 256, &p->head_dim) || p->head_dim % 8)
        return bad_value("--dim", v, "a multiple of 8 in [8, 256]");
    } else if (OPTION("--topk")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_double(v, &opt->config.topk) || opt->config.topk <= 0 || opt->config.topk > 1)
        return bad_value("--topk", v, "a number in (0, 1]");
    } else if (OPTION("--quant")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_quant(v, &opt->config.quant)) return bad_value("--quant", v, "none, int8 or int8_fp8");
    } else if (OPTION("--locality")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_double(v, &p->position_scale) || p->position_scale < 0)
        return bad_value("--locality", v, "a number >= 0");
    } else if (OPTION("--seed")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_u64(v, &p->seed)) return bad_value("--seed", v, "an unsigned integer");
    } else if (OPTION("--runs")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_int64(v, 1, 1000, &opt->runs)) return bad_value("--runs", v, "an integer in [1, 1000]");
    } else if (OPTION("--device")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      opt->device = v;
    } else if (OPTION("--alpha-logit")) {
      if (m < 0) return TOOL_EXIT_USAGE;
      if (!tool_parse_double(v, &opt->alpha_logit)) return bad_value("--alpha-logit", v, "a finite number");
      opt->alpha_set = true;
    } else {
      fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", program, argv[i]);
      return TOOL_EXIT_USAGE;
    }
#undef OPTION
  }
  p->tokens = p->frames * p->height * p->width;
  if (p->tokens > (1 << 22)) {
    fprintf(stderr, "%s: the grid has %lld tokens; at most %d are allowed\n", program,
            (long long)p->tokens, 1 << 22);
    return TOOL_EXIT_USAGE;
  }
  return -1;
}

/* --- state ------------------------------------------------------------------------------------ */

typedef struct demo_state {
  sla2_tensor *q, *k, *v, *o_dense, *o_sla2;
  sla2_layer *layer;
  float *host_q, *host_k, *host_v, *dense, *sla2, *branch_s, *branch_l; /* B*H*N*D each */
  float *logits;                                                        /* alpha logits */
  size_t alpha_count;
} demo_state;

static void demo_free(demo_state *s) {
  sla2_layer_destroy(s->layer);
  sla2_tensor *tensors[] = {s->q, s->k, s->v, s->o_dense, s->o_sla2};
  for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) sla2_tensor_destroy(tensors[i]);
  float *arrays[] = {s->host_q, s->host_k, s->host_v, s->dense, s->sla2, s->branch_s, s->branch_l};
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
  free(s->logits);
}

/* --- alpha fit --------------------------------------------------------------------------------- */

/* Per head, the alpha minimizing |alpha o_s + (1 - alpha) o_l - dense|^2 over the batch, clamped
 * to (0.001, 0.999) and returned as logits. Arrays are BHND with B * H * n_d elements. */
static void fit_alpha_logits(const float *o_s, const float *o_l, const float *dense, int64_t B,
                             int64_t H, int64_t n_d, float *logits) {
  for (int64_t h = 0; h < H; h++) {
    double numerator = 0, denominator = 0;
    for (int64_t b = 0; b < B; b++)
      for (int64_t i = (b * H + h) * n_d, end = i + n_d; i < end; i++) {
        double diff = (double)o_s[i] - o_l[i];
        numerator += diff * ((double)dense[i] - o_l[i]);
        denominator += diff * diff;
      }
    double alpha = denominator > 0 ? numerator / denominator : 0.5;
    alpha = alpha < 0.001 ? 0.001 : alpha > 0.999 ? 0.999 : alpha;
    logits[h] = (float)log(alpha / (1.0 - alpha));
  }
}

/* Forward with every alpha logit = logit and download O (to isolate one branch). */
static sla2_status forward_with_alpha(tool_attention_call *call, size_t alpha_count, float logit,
                                      float *scratch_logits, float *out) {
  for (size_t i = 0; i < alpha_count; i++) scratch_logits[i] = logit;
  sla2_status status = sla2_layer_set_alpha_logits(call->layer, scratch_logits, alpha_count);
  if (status == SLA2_OK) status = tool_run_attention(call);
  if (status == SLA2_OK) status = tool_tensor_to_f32(call->o, out);
  return status;
}

static void print_error_line(const char *label, const tool_error *error) {
  printf("error     %-36s relative L1 %.4f, cosine %.5f\n", label, error->rel_l1, error->cosine);
}

/* Fit alpha per head against dense (the sparse branch is O at alpha -> 1, the linear branch O at
 * alpha -> 0), run once more with it and print the error; also the sparse branch's own error. */
static int fit_alpha_and_report(demo_state *s, tool_attention_call *sla2_call, int64_t B, int64_t H,
                                int64_t n_d) {
  const size_t count = (size_t)(B * H * n_d);
  sla2_status status = forward_with_alpha(sla2_call, s->alpha_count, 40.0f, s->logits, s->branch_s);
  if (status == SLA2_OK) status = forward_with_alpha(sla2_call, s->alpha_count, -40.0f, s->logits, s->branch_l);
  if (status == SLA2_OK) {
    fit_alpha_logits(s->branch_s, s->branch_l, s->dense, B, H, n_d, s->logits);
    status = sla2_layer_set_alpha_logits(s->layer, s->logits, s->alpha_count);
  }
  if (status == SLA2_OK) status = tool_run_attention(sla2_call);
  if (status == SLA2_OK) status = tool_tensor_to_f32(sla2_call->o, s->sla2);
  if (status != SLA2_OK) return tool_report(program, "fitting alpha", status);
  sla2_forward_stats stats;
  status = sla2_layer_get_stats(s->layer, &stats);
  if (status != SLA2_OK) return tool_report(program, "SLA2 statistics", status);

  tool_error error;
  char label[64];
  tool_compare(s->sla2, s->dense, count, &error);
  if (stats.alpha_max - stats.alpha_min < 0.0005) {
    snprintf(label, sizeof label, "alpha %.3f (fitted per head)", stats.alpha_mean);
  } else {
    snprintf(label, sizeof label, "alpha %.3f..%.3f (fitted per head)", stats.alpha_min, stats.alpha_max);
  }
  print_error_line(label, &error);
  tool_compare(s->branch_s, s->dense, count, &error);
  print_error_line("sparse branch alone (alpha 1)", &error);
  return TOOL_EXIT_OK;
}

/* --- main ------------------------------------------------------------------------------------- */

static int run_demo(const demo_options *opt, demo_state *s) {
  const video_qkv_params *p = &opt->problem;
  const int64_t B = p->batch, H = p->heads, N = p->tokens, D = p->head_dim;
  const int64_t shape[4] = {B, H, N, D};
  const size_t count = (size_t)(B * H * N * D);
  sla2_status status;

  sla2_device *device = NULL;
  if (tool_pick_device(program, opt->device, &device) != SLA2_OK) return TOOL_EXIT_FAILURE;
  sla2_device_info info;
  status = sla2_device_get_info(device, &info);
  if (status != SLA2_OK) return tool_report(program, "device information", status);

  sla2_config config = opt->config;
  status = sla2_config_validate(&config);
  if (status != SLA2_OK) return tool_report(program, "config", status);

  float **arrays[] = {&s->host_q, &s->host_k, &s->host_v, &s->dense, &s->sla2, &s->branch_s, &s->branch_l};
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
    *arrays[i] = malloc(count * sizeof(float));
    if (!*arrays[i]) {
      fprintf(stderr, "%s: error: out of host memory for %zu floats\n", program, count);
      return TOOL_EXIT_FAILURE;
    }
  }
  if (video_qkv_generate(p, s->host_q, s->host_k, s->host_v) != 0) {
    fprintf(stderr, "%s: error: cannot generate the problem (head dim %lld)\n", program, (long long)D);
    return TOOL_EXIT_FAILURE;
  }

  status = tool_tensor_from_f32(device, SLA2_F32, SLA2_LAYOUT_BHND, shape, s->host_q, &s->q);
  if (status == SLA2_OK) status = tool_tensor_from_f32(device, SLA2_F32, SLA2_LAYOUT_BHND, shape, s->host_k, &s->k);
  if (status == SLA2_OK) status = tool_tensor_from_f32(device, SLA2_F32, SLA2_LAYOUT_BHND, shape, s->host_v, &s->v);
  if (status == SLA2_OK) status = sla2_tensor_create(device, SLA2_F32, shape, NULL, &s->o_dense);
  if (status == SLA2_OK) status = sla2_tensor_create(device, SLA2_F32, shape, NULL, &s->o_sla2);
  if (status != SLA2_OK) return tool_report(program, "creating and uploading tensors", status);

  sla2_layer_desc desc = {.num_heads = H, .head_dim = D, .seq_len = 0};
  status = sla2_layer_create(device, &config, &desc, &s->layer);
  if (status != SLA2_OK) return tool_report(program, "creating the SLA2 layer", status);
  s->alpha_count = sla2_layer_alpha_count(s->layer);
  s->logits = malloc((s->alpha_count ? s->alpha_count : 1) * sizeof *s->logits);
  if (!s->logits) return TOOL_EXIT_FAILURE;
  if (opt->alpha_set) {
    for (size_t i = 0; i < s->alpha_count; i++) s->logits[i] = (float)opt->alpha_logit;
    status = sla2_layer_set_alpha_logits(s->layer, s->logits, s->alpha_count);
    if (status != SLA2_OK) return tool_report(program, "--alpha-logit", status);
  }

  printf("sla2-demo %s: SLA2 against dense attention on a video-like problem\n", sla2_version());
  printf("device    %s: %s (%s backend, %s, %d compute units)\n", info.name,
         info.description && *info.description ? info.description : "-", info.backend,
         tool_device_type_name(info.type), info.compute_units);
  printf("problem   %lld x %lld x %lld grid = %lld tokens; B %lld, H %lld, D %lld, f32; "
         "q and k with 3-D RoPE (locality %.2g), seed %llu\n",
         (long long)p->frames, (long long)p->height, (long long)p->width, (long long)N, (long long)B,
         (long long)H, (long long)D, p->position_scale, (unsigned long long)p->seed);
  int64_t k_blocks = sla2_layer_k_for(s->layer, N), t_n = (N + config.block_k - 1) / config.block_k;
  printf("config    topk %.3g: %lld of %lld key blocks per query block (blocks %d x %d tokens), "
         "%s feature map, smooth K %s, quant %s\n",
         config.topk, (long long)k_blocks, (long long)t_n, config.block_q, config.block_k,
         sla2_feature_map_name(config.feature_map), config.smooth_k ? "on" : "off",
         sla2_quant_name(config.quant));
  fflush(stdout);

  const double flops = tool_attention_flops(B, H, N, D);
  tool_attention_call dense_call = {NULL, s->q, s->k, s->v, s->o_dense};
  tool_attention_call sla2_call = {s->layer, s->q, s->k, s->v, s->o_sla2};
  double dense_s = 0, sla2_s = 0;
  char rate[32];

  status = tool_time_median(tool_run_attention, &dense_call, 1, opt->runs, &dense_s);
  if (status != SLA2_OK) return tool_report(program, "dense attention", status);
  tool_format_rate(flops / dense_s, rate, sizeof rate);
  printf("dense     %10.2f ms   %s effective (median of %lld runs after a warm-up)\n", dense_s * 1e3,
         rate, (long long)opt->runs);
  fflush(stdout);

  status = tool_time_median(tool_run_attention, &sla2_call, 1, opt->runs, &sla2_s);
  if (status != SLA2_OK) return tool_report(program, "SLA2 forward", status);
  sla2_forward_stats stats;
  status = sla2_layer_get_stats(s->layer, &stats);
  if (status != SLA2_OK) return tool_report(program, "SLA2 statistics", status);
  tool_format_rate(flops / sla2_s, rate, sizeof rate);
  printf("SLA2      %10.2f ms   %s effective (4*B*H*N^2*D / time)\n", sla2_s * 1e3, rate);
  printf("speedup   %.2fx\n", dense_s / sla2_s);
  printf("density   %.4f of key tokens (%lld key blocks per query-block row; T_m %lld, T_n %lld)\n",
         stats.density, (long long)stats.k_per_row, (long long)stats.t_m, (long long)stats.t_n);

  status = tool_tensor_to_f32(s->o_dense, s->dense);
  if (status == SLA2_OK) status = tool_tensor_to_f32(s->o_sla2, s->sla2);
  if (status != SLA2_OK) return tool_report(program, "downloading the outputs", status);
  tool_error error;
  tool_compare(s->sla2, s->dense, count, &error);
  char label[64];
  snprintf(label, sizeof label, "alpha %.3f (%s)", stats.alpha_mean,
           opt->alpha_set ? "--alpha-logit" : "as created");
  print_error_line(label, &error);
  if (!error.finite) {
    fprintf(stderr, "%s: error: the SLA2 output holds NaN or Inf\n", program);
    return TOOL_EXIT_FAILURE;
  }

  if (opt->fit_alpha && s->alpha_count == (size_t)H) return fit_alpha_and_report(s, &sla2_call, B, H, N * D);
  return TOOL_EXIT_OK;
}

int main(int argc, char **argv) {
  demo_options options;
  int code = parse_options(argc, argv, &options);
  if (code >= 0) return code;
  demo_state state = {0};
  code = run_demo(&options, &state);
  demo_free(&state);
  return code;
}
