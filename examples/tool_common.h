/* Helpers shared by sla2-demo, sla2-devices and sla2-bench: command-line parsing, a monotonic
 * clock, a seeded random generator, host <-> tensor transfers in any dtype and layout, error
 * metrics and printing. Written against the public API only (<sla2/sla2.h>). */
#ifndef SLA2_TOOL_COMMON_H
#define SLA2_TOOL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sla2/sla2.h>

/* Exit codes of the programs. */
enum { TOOL_EXIT_OK = 0, TOOL_EXIT_FAILURE = 1, TOOL_EXIT_USAGE = 2 };

/* --- time ---------------------------------------------------------------------------------- */
double tool_now_seconds(void);                      /* monotonic clock */
double tool_median(double *values, size_t count);   /* sorts values in place; 0 for count 0 */

/* Call run(context) warmup times, then runs times under the monotonic clock; *out_median_s is
 * the median of the timed calls. Stops at the first failing call and returns its status. */
sla2_status tool_time_median(sla2_status (*run)(void *context), void *context, int64_t warmup,
                             int64_t runs, double *out_median_s);

/* One attention call to time: SLA2 through a layer, or dense attention when layer is NULL. */
typedef struct tool_attention_call {
  sla2_layer *layer;
  const sla2_tensor *q, *k, *v;
  sla2_tensor *o;
} tool_attention_call;
sla2_status tool_run_attention(void *call); /* a tool_attention_call; fits tool_time_median */

/* --- random numbers (splitmix64: tiny, seedable, same stream on every platform) ------------- */
typedef struct tool_rng {
  uint64_t state;
  bool has_spare;
  double spare;
} tool_rng;
void tool_rng_seed(tool_rng *rng, uint64_t seed);
uint64_t tool_rng_next(tool_rng *rng);
double tool_rng_uniform(tool_rng *rng); /* [0, 1) */
double tool_rng_normal(tool_rng *rng);  /* standard normal (Box-Muller) */

/* --- parsing (each returns false and leaves *out unchanged on bad text) ---------------------- */
bool tool_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);
bool tool_parse_u64(const char *text, uint64_t *out);
bool tool_parse_double(const char *text, double *out);
bool tool_parse_quant(const char *text, sla2_quant *out);      /* none | int8 | int8_fp8 */
bool tool_parse_dtype(const char *text, sla2_dtype *out);      /* f32 | f16 | bf16 */
bool tool_parse_layout(const char *text, sla2_layout *out);    /* bhnd | bnhd */
/* Parse "a,b,c" of positive int64 values into out[3] (grid shapes). */
bool tool_parse_triple(const char *text, int64_t out[3]);
/* Match argv[*index] against "--name VALUE" or "--name=VALUE". Returns 1 on a match with
 * *out_value set (and *index advanced past a separate value), 0 when it is another argument,
 * -1 (after printing a message) when the value is missing. */
int tool_match_option(const char *program, int argc, char **argv, int *index, const char *name,
                      const char **out_value);
/* Split a comma list in place; returns the number of items, 0 when more than max or one empty. */
size_t tool_split_list(char *text, char **items, size_t max);

/* --- tensors --------------------------------------------------------------------------------- */
/* Create a tensor of the given dtype and layout on the device and upload host data given as f32
 * in BHND order (converted to the dtype, scattered through the tensor's strides). */
sla2_status tool_tensor_from_f32(sla2_device *device, sla2_dtype dtype, sla2_layout layout,
                                 const int64_t shape[4], const float *bhnd, sla2_tensor **out_tensor);
/* Download a float tensor and return its values as f32 in BHND order (count = B*H*N*D). */
sla2_status tool_tensor_to_f32(const sla2_tensor *tensor, float *bhnd);

/* --- metrics ----------------------------------------------------------------------------------- */
typedef struct tool_error {
  double rel_l1;  /* sum|a - ref| / sum|ref| */
  double cosine;  /* a.ref / (|a| |ref|) over the whole tensor */
  double max_abs; /* max |a - ref| */
  bool finite;    /* false when a holds NaN or Inf */
} tool_error;
void tool_compare(const float *a, const float *ref, size_t count, tool_error *out);

/* 4 * B * H * N^2 * D: the FLOP count of attention (two matmuls, multiply-add = 2 FLOP). */
double tool_attention_flops(int64_t batch, int64_t heads, int64_t seq, int64_t dim);

/* --- printing ---------------------------------------------------------------------------------- */
const char *tool_device_type_name(sla2_device_type type);
void tool_format_caps(uint32_t caps, char *buffer, size_t capacity);    /* "fp16 int8-dot" or "-" */
void tool_format_bytes(uint64_t bytes, char *buffer, size_t capacity);  /* "15.6 GiB" or "unknown" */
void tool_format_rate(double flop_per_s, char *buffer, size_t capacity);/* "135.2 GFLOP/s" */
/* Print "<program>: error: <what>: <STATUS>: <last error>" to stderr; returns TOOL_EXIT_FAILURE.
 * Call it right after the failing sla2 call (the last-error text lives until the next call). */
int tool_report(const char *program, const char *what, sla2_status status);
/* Pick --device NAME (NULL: sla2_device_best, which honors SLA2_DEVICE). Reports failures. */
sla2_status tool_pick_device(const char *program, const char *name, sla2_device **out_device);

#endif
