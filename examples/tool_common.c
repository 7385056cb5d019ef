/* Helpers shared by the example programs and the bench; see tool_common.h. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200112L /* clock_gettime under -std=c11 */
#endif

#include "tool_common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- time ---------------------------------------------------------------------------------- */

double tool_now_seconds(void) {
#if defined(CLOCK_MONOTONIC)
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
#else
  struct timespec ts; /* C11 fallback: wall clock, fine for timings of a few seconds */
  timespec_get(&ts, TIME_UTC);
#endif
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double tool_median(double *values, size_t count) {
  if (count == 0) return 0.0;
  qsort(values, count, sizeof *values, compare_doubles);
  if (count % 2) return values[count / 2];
  return 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

sla2_status tool_time_median(sla2_status (*run)(void *context), void *context, int64_t warmup,
                             int64_t runs, double *out_median_s) {
  for (int64_t i = 0; i < warmup; i++) {
    sla2_status status = run(context);
    if (status != SLA2_OK) return status;
  }
  double *times = malloc((size_t)(runs > 0 ? runs : 1) * sizeof *times);
  if (!times) return SLA2_ERROR_OUT_OF_MEMORY;
  sla2_status status = SLA2_OK;
  for (int64_t i = 0; i < runs && status == SLA2_OK; i++) {
    double start = tool_now_seconds();
    status = run(context);
    times[i] = tool_now_seconds() - start;
  }
  if (status == SLA2_OK) *out_median_s = tool_median(times, (size_t)runs);
  free(times);
  return status;
}

sla2_status tool_run_attention(void *call) {
  tool_attention_call *c = call;
  if (c->layer) return sla2_layer_forward(c->layer, c->q, c->k, c->v, c->o, NULL, NULL);
  return sla2_attention_dense(c->q, c->k, c->v, c->o, 0.0);
}

/* --- random numbers ------------------------------------------------------------------------ */

void tool_rng_seed(tool_rng *rng, uint64_t seed) {
  rng->state = seed;
  rng->has_spare = false;
  rng->spare = 0.0;
}

uint64_t tool_rng_next(tool_rng *rng) {
  uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double tool_rng_uniform(tool_rng *rng) { return (double)(tool_rng_next(rng) >> 11) * 0x1.0p-53; }

double tool_rng_normal(tool_rng *rng) {
  if (rng->has_spare) {
    rng->has_spare = false;
    return rng->spare;
  }
  double u1 = tool_rng_uniform(rng), u2 = tool_rng_uniform(rng);
  double radius = sqrt(-2.0 * log(1.0 - u1)); /* 1 - u1 is in (0, 1]: log is finite */
  double angle = 6.283185307179586 * u2;
  rng->spare = radius * sin(angle);
  rng->has_spare = true;
  return radius * cos(angle);
}

/* --- parsing ------------------------------------------------------------------------------- */

bool tool_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out) {
  if (!text || !*text) return false;
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno || *end || value < min || value > max) return false;
  *out = (int64_t)value;
  return true;
}

bool tool_parse_u64(const char *text, uint64_t *out) {
  if (!text || !*text || *text == '-') return false;
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 0);
  if (errno || *end) return false;
  *out = (uint64_t)value;
  return true;
}

bool tool_parse_double(const char *text, double *out) {
  if (!text || !*text) return false;
  char *end = NULL;
  errno = 0;
  double value = strtod(text, &end);
  if (errno || *end || !isfinite(value)) return false;
  *out = value;
  return true;
}

bool tool_parse_quant(const char *text, sla2_quant *out) {
  static const struct { const char *name; sla2_quant value; } names[] = {
      {"none", SLA2_QUANT_NONE}, {"int8", SLA2_QUANT_INT8}, {"int8_fp8", SLA2_QUANT_INT8_FP8}};
  for (size_t i = 0; text && i < sizeof names / sizeof names[0]; i++)
    if (strcmp(text, names[i].name) == 0) {
      *out = names[i].value;
      return true;
    }
  return false;
}

bool tool_parse_dtype(const char *text, sla2_dtype *out) {
  static const struct { const char *name; sla2_dtype value; } names[] = {
      {"f32", SLA2_F32}, {"f16", SLA2_F16}, {"bf16", SLA2_BF16}};
  for (size_t i = 0; text && i < sizeof names / sizeof names[0]; i++)
    if (strcmp(text, names[i].name) == 0) {
      *out = names[i].value;
      return true;
    }
  return false;
}

bool tool_parse_layout(const char *text, sla2_layout *out) {
  if (text && strcmp(text, "bhnd") == 0) {
    *out = SLA2_LAYOUT_BHND;
    return true;
  }
  if (text && strcmp(text, "bnhd") == 0) {
    *out = SLA2_LAYOUT_BNHD;
    return true;
  }
  return false;
}

int tool_match_option(const char *program, int argc, char **argv, int *index, const char *name,
                      const char **out_value) {
  const char *arg = argv[*index];
  size_t length = strlen(name);
  if (strncmp(arg, name, length) != 0) return 0;
  if (arg[length] == '=') {
    *out_value = arg + length + 1;
    return 1;
  }
  if (arg[length] != '\0') return 0;
  if (*index + 1 >= argc) {
    fprintf(stderr, "%s: %s needs a value (see --help)\n", program, name);
    return -1;
  }
  *out_value = argv[++*index];
  return 1;
}

size_t tool_split_list(char *text, char **items, size_t max) {
  size_t count = 0;
  for (char *start = text;;) {
    char *comma = strchr(start, ',');
    if (comma) *comma = '\0';
    if (!*start || count == max) return 0;
    items[count++] = start;
    if (!comma) return count;
    start = comma + 1;
  }
}

bool tool_parse_triple(const char *text, int64_t out[3]) {
  char copy[128];
  if (!text || strlen(text) >= sizeof copy) return false;
  strcpy(copy, text);
  char *items[3];
  int64_t values[3];
  if (tool_split_list(copy, items, 3) != 3) return false;
  for (int i = 0; i < 3; i++)
    if (!tool_parse_int64(items[i], 1, 1 << 20, &values[i])) return false;
  memcpy(out, values, sizeof values);
  return true;
}

/* --- dtype conversion (round to nearest even, as the library does) ------------------------- */

static uint16_t f32_to_f16_bits(float value) {
  uint32_t x;
  memcpy(&x, &value, sizeof x);
  uint32_t sign = (x >> 16) & 0x8000u, magnitude = x & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return (uint16_t)(sign | 0x7E00u); /* NaN */
  if (magnitude >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* rounds past 65504: Inf */
  if (magnitude >= 0x38800000u) {                                   /* normal half */
    uint32_t rebased = magnitude - 0x38000000u;                      /* exponent bias 127 -> 15 */
    return (uint16_t)(sign | ((rebased + 0x0FFFu + ((rebased >> 13) & 1u)) >> 13));
  }
  /* Subnormal half: units of 2^-24; the float mantissa (with its implicit bit) shifted down. */
  int exponent = (int)(magnitude >> 23);
  if (exponent < 102) return (uint16_t)sign; /* below 2^-25: rounds to zero */
  uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
  int shift = 126 - exponent;
  uint32_t kept = mantissa >> shift, rest = mantissa & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (kept & 1u))) kept++;
  return (uint16_t)(sign | kept);
}

static float f16_bits_to_f32(uint16_t bits) {
  uint32_t sign = (uint32_t)(bits & 0x8000u) << 16, exponent = (bits >> 10) & 0x1Fu,
           mantissa = bits & 0x3FFu, x;
  if (exponent == 0x1F) {
    x = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    x = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else { /* zero or subnormal: mantissa * 2^-24, exact in f32 */
    float value = (float)mantissa * 0x1.0p-24f;
    return sign ? -value : value;
  }
  float value;
  memcpy(&value, &x, sizeof value);
  return value;
}

static uint16_t f32_to_bf16_bits(float value) {
  uint32_t x;
  memcpy(&x, &value, sizeof x);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
  return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

static float bf16_bits_to_f32(uint16_t bits) {
  uint32_t x = (uint32_t)bits << 16;
  float value;
  memcpy(&value, &x, sizeof value);
  return value;
}

static void store_element(unsigned char *dst, sla2_dtype dtype, float value) {
  uint16_t half;
  switch (dtype) {
    case SLA2_F16: half = f32_to_f16_bits(value); memcpy(dst, &half, 2); break;
    case SLA2_BF16: half = f32_to_bf16_bits(value); memcpy(dst, &half, 2); break;
    default: memcpy(dst, &value, 4); break;
  }
}

static float load_element(const unsigned char *src, sla2_dtype dtype) {
  uint16_t half;
  float value;
  switch (dtype) {
    case SLA2_F16: memcpy(&half, src, 2); return f16_bits_to_f32(half);
    case SLA2_BF16: memcpy(&half, src, 2); return bf16_bits_to_f32(half);
    default: memcpy(&value, src, 4); return value;
  }
}

/* --- tensors ------------------------------------------------------------------------------- */

/* Host staging buffer in the tensor's own strided layout. */
typedef struct staging {
  int64_t shape[4], strides[4];
  sla2_dtype dtype;
  size_t element_size, bytes;
  unsigned char *data;
} staging;

static sla2_status staging_open(const sla2_tensor *tensor, staging *out) {
  sla2_status status = sla2_tensor_shape(tensor, out->shape);
  if (status == SLA2_OK) status = sla2_tensor_strides(tensor, out->strides);
  if (status != SLA2_OK) return status;
  out->dtype = sla2_tensor_dtype(tensor);
  out->element_size = sla2_dtype_size(out->dtype);
  out->bytes = sla2_tensor_span_bytes(tensor);
  out->data = calloc(out->bytes ? out->bytes : 1, 1);
  return out->data ? SLA2_OK : SLA2_ERROR_OUT_OF_MEMORY;
}

/* Byte offset in staging of element (b, h, n, d). */
static size_t staging_offset(const staging *st, int64_t b, int64_t h, int64_t n, int64_t d) {
  int64_t element = b * st->strides[0] + h * st->strides[1] + n * st->strides[2] + d * st->strides[3];
  return (size_t)element * st->element_size;
}

sla2_status tool_tensor_from_f32(sla2_device *device, sla2_dtype dtype, sla2_layout layout,
                                 const int64_t shape[4], const float *bhnd, sla2_tensor **out_tensor) {
  sla2_tensor *tensor = NULL;
  sla2_status status = sla2_tensor_create_layout(device, dtype, shape, layout, &tensor);
  if (status != SLA2_OK) return status;
  staging st = {0};
  status = staging_open(tensor, &st);
  if (status == SLA2_OK) {
    size_t flat = 0; /* bhnd is contiguous BHND: visit in that order */
    for (int64_t b = 0; b < st.shape[0]; b++)
      for (int64_t h = 0; h < st.shape[1]; h++)
        for (int64_t n = 0; n < st.shape[2]; n++)
          for (int64_t d = 0; d < st.shape[3]; d++)
            store_element(st.data + staging_offset(&st, b, h, n, d), st.dtype, bhnd[flat++]);
    status = sla2_tensor_upload(tensor, st.data, st.bytes);
  }
  free(st.data);
  if (status != SLA2_OK) {
    sla2_tensor_destroy(tensor);
    return status;
  }
  *out_tensor = tensor;
  return SLA2_OK;
}

sla2_status tool_tensor_to_f32(const sla2_tensor *tensor, float *bhnd) {
  staging st = {0};
  sla2_status status = staging_open(tensor, &st);
  if (status == SLA2_OK) status = sla2_tensor_download(tensor, st.data, st.bytes);
  if (status == SLA2_OK) {
    size_t flat = 0;
    for (int64_t b = 0; b < st.shape[0]; b++)
      for (int64_t h = 0; h < st.shape[1]; h++)
        for (int64_t n = 0; n < st.shape[2]; n++)
          for (int64_t d = 0; d < st.shape[3]; d++)
            bhnd[flat++] = load_element(st.data + staging_offset(&st, b, h, n, d), st.dtype);
  }
  free(st.data);
  return status;
}

/* --- metrics ------------------------------------------------------------------------------- */

void tool_compare(const float *a, const float *ref, size_t count, tool_error *out) {
  double diff_l1 = 0, ref_l1 = 0, dot = 0, norm_a = 0, norm_ref = 0, max_abs = 0;
  bool finite = true;
  for (size_t i = 0; i < count; i++) {
    double x = a[i], y = ref[i], diff = fabs(x - y);
    if (!isfinite(x)) finite = false;
    diff_l1 += diff;
    ref_l1 += fabs(y);
    dot += x * y;
    norm_a += x * x;
    norm_ref += y * y;
    if (diff > max_abs) max_abs = diff;
  }
  out->finite = finite;
  out->rel_l1 = ref_l1 > 0 ? diff_l1 / ref_l1 : (diff_l1 > 0 ? INFINITY : 0.0);
  out->cosine = (norm_a > 0 && norm_ref > 0) ? dot / (sqrt(norm_a) * sqrt(norm_ref))
                                             : (norm_a == norm_ref ? 1.0 : 0.0);
  out->max_abs = max_abs;
  if (!finite) out->rel_l1 = out->cosine = out->max_abs = NAN;
}

double tool_attention_flops(int64_t batch, int64_t heads, int64_t seq, int64_t dim) {
  return 4.0 * (double)batch * (double)heads * (double)seq * (double)seq * (double)dim;
}

/* --- printing ------------------------------------------------------------------------------ */

const char *tool_device_type_name(sla2_device_type type) {
  switch (type) {
    case SLA2_DEVICE_CPU: return "cpu";
    case SLA2_DEVICE_GPU_INTEGRATED: return "integrated-gpu";
    case SLA2_DEVICE_GPU_DISCRETE: return "discrete-gpu";
    default: return "other";
  }
}

void tool_format_caps(uint32_t caps, char *buffer, size_t capacity) {
  static const struct { uint32_t bit; const char *word; } words[] = {
      {SLA2_CAP_FP16, "fp16"},          {SLA2_CAP_BF16, "bf16"}, {SLA2_CAP_INT8_DOT, "int8-dot"},
      {SLA2_CAP_FP8, "fp8"},            {SLA2_CAP_TENSOR_CORES, "matrix-units"},
      {SLA2_CAP_SOFTWARE, "software"}};
  size_t used = 0;
  if (capacity == 0) return;
  buffer[0] = '\0';
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    if (!(caps & words[i].bit)) continue;
    int n = snprintf(buffer + used, capacity - used, "%s%s", used ? " " : "", words[i].word);
    if (n < 0 || (size_t)n >= capacity - used) return;
    used += (size_t)n;
  }
  if (used == 0) snprintf(buffer, capacity, "-");
}

void tool_format_bytes(uint64_t bytes, char *buffer, size_t capacity) {
  if (bytes == 0) {
    snprintf(buffer, capacity, "unknown");
  } else if (bytes >= (1ull << 30)) {
    snprintf(buffer, capacity, "%.1f GiB", (double)bytes / (double)(1ull << 30));
  } else {
    snprintf(buffer, capacity, "%.1f MiB", (double)bytes / (double)(1ull << 20));
  }
}

void tool_format_rate(double flop_per_s, char *buffer, size_t capacity) {
  if (flop_per_s >= 1e12) {
    snprintf(buffer, capacity, "%.2f TFLOP/s", flop_per_s * 1e-12);
  } else {
    snprintf(buffer, capacity, "%.1f GFLOP/s", flop_per_s * 1e-9);
  }
}

int tool_report(const char *program, const char *what, sla2_status status) {
  char message[1024];
  snprintf(message, sizeof message, "%s", sla2_last_error()); /* read before any other sla2 call */
  fprintf(stderr, "%s: error: %s: %s%s%s\n", program, what, sla2_status_string(status),
          message[0] ? ": " : "", message);
  return TOOL_EXIT_FAILURE;
}

sla2_status tool_pick_device(const char *program, const char *name, sla2_device **out_device) {
  sla2_status status = name ? sla2_device_by_name(name, out_device) : sla2_device_best(out_device);
  if (status != SLA2_OK) {
    char what[256];
    if (name) {
      snprintf(what, sizeof what, "device '%s'", name);
    } else {
      snprintf(what, sizeof what, "picking the best device");
    }
    tool_report(program, what, status);
  }
  return status;
}
