/* The video-like q/k/v generator; see video_qkv.h for the construction. */
#include "video_qkv.h"

#include <math.h>
#include <stdlib.h>

#include "tool_common.h"

void video_qkv_defaults(video_qkv_params *params) {
  params->frames = 5;
  params->height = 39;
  params->width = 42;
  params->tokens = 5 * 39 * 42;
  params->batch = 1;
  params->heads = 4;
  params->head_dim = 128;
  params->content_scale = 1.0;
  params->position_scale = 4.0;
  params->rope_base = 10000.0;
  params->seed = 42;
}

void video_qkv_grid_for_tokens(int64_t n, int64_t out_grid[3]) {
  int64_t frames = (int64_t)llround(cbrt((double)n) / 3.0);
  if (frames < 1) frames = 1;
  int64_t side = (int64_t)ceil(sqrt((double)n / (double)frames));
  while (frames * side * side < n) side++; /* guard against rounding of sqrt */
  out_grid[0] = frames;
  out_grid[1] = side;
  out_grid[2] = side;
}

void video_qkv_axis_pairs(int64_t head_dim, int64_t out_pairs[3]) {
  int64_t pairs = head_dim / 2, spatial = pairs / 3; /* as Wan: time gets the remainder */
  out_pairs[0] = pairs - 2 * spatial;
  out_pairs[1] = spatial;
  out_pairs[2] = spatial;
}

/* Rotation angle per pair for a unit step along its axis, and the axis of each pair. */
typedef struct rope_table {
  double *frequency; /* [head_dim / 2] */
  int *axis;         /* [head_dim / 2]: 0 = t, 1 = y, 2 = x */
} rope_table;

static int rope_table_make(int64_t head_dim, double base, rope_table *table) {
  int64_t pairs = head_dim / 2, axis_pairs[3];
  video_qkv_axis_pairs(head_dim, axis_pairs);
  table->frequency = malloc((size_t)pairs * sizeof *table->frequency);
  table->axis = malloc((size_t)pairs * sizeof *table->axis);
  if (!table->frequency || !table->axis) return -1;
  int64_t pair = 0;
  for (int axis = 0; axis < 3; axis++)
    for (int64_t i = 0; i < axis_pairs[axis]; i++, pair++) {
      table->axis[pair] = axis;
      table->frequency[pair] = pow(base, -(double)i / (double)axis_pairs[axis]);
    }
  return 0;
}

/* Rotate consecutive pairs (x[2j], x[2j+1]) by position[axis(j)] * frequency(j). */
static void rope_apply(const rope_table *table, const int64_t position[3], int64_t head_dim,
                       const double *in, float *out) {
  for (int64_t j = 0; j < head_dim / 2; j++) {
    double angle = (double)position[table->axis[j]] * table->frequency[j];
    double c = cos(angle), s = sin(angle), a = in[2 * j], b = in[2 * j + 1];
    out[2 * j] = (float)(c * a - s * b);
    out[2 * j + 1] = (float)(s * a + c * b);
  }
}

/* Even rotation pairs carry the positional vector, odd pairs the content: kept apart so that no
 * content x position cross term adds position-independent noise to the scores. */
#define POSITIONAL_PAIR(d) ((((d) / 2) % 2) == 0)

int video_qkv_generate(const video_qkv_params *params, float *q, float *k, float *v) {
  const int64_t B = params->batch, H = params->heads, N = params->tokens, D = params->head_dim;
  if (B < 1 || H < 1 || N < 1 || D < 6 || D % 2 || params->frames < 1 || params->height < 1 ||
      params->width < 1 || N > params->frames * params->height * params->width)
    return -1;
  rope_table table = {NULL, NULL};
  double *position_vector = malloc((size_t)H * (size_t)D * sizeof *position_vector);
  double *row = malloc((size_t)D * sizeof *row);
  int result = (position_vector && row) ? rope_table_make(D, params->rope_base, &table) : -1;
  if (result == 0) {
    tool_rng rng;
    tool_rng_seed(&rng, params->seed);
    /* One positional vector per head, shared by q and k: its self-similarity gives locality. */
    for (int64_t i = 0; i < H * D; i++) position_vector[i] = tool_rng_normal(&rng);
    const double wc = params->content_scale, wp = params->position_scale;
    for (int64_t b = 0; b < B; b++)
      for (int64_t h = 0; h < H; h++) {
        const double *p = position_vector + h * D;
        for (int64_t n = 0; n < N; n++) {
          int64_t position[3] = {n / (params->height * params->width),
                                 (n / params->width) % params->height, n % params->width};
          size_t offset = (size_t)(((b * H + h) * N + n) * D);
          for (int64_t d = 0; d < D; d++) row[d] = POSITIONAL_PAIR(d) ? wp * p[d] : wc * tool_rng_normal(&rng);
          rope_apply(&table, position, D, row, q + offset);
          for (int64_t d = 0; d < D; d++) row[d] = POSITIONAL_PAIR(d) ? wp * p[d] : wc * tool_rng_normal(&rng);
          rope_apply(&table, position, D, row, k + offset);
          for (int64_t d = 0; d < D; d++) v[offset + (size_t)d] = (float)tool_rng_normal(&rng);
        }
      }
  }
  free(table.frequency);
  free(table.axis);
  free(position_vector);
  free(row);
  return result;
}
