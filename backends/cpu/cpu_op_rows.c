/* CPU backend: the row-wise nodes SMOOTH_K, POOL, FEATURE_MAP and COMBINE.
 *
 * Means and the combine mix are taken in double like the oracle (so KS, the pooled means and O
 * match it to the last bit almost always); exponentials use the kernel table. Work items are
 * (batch, head, chunk of rows) so small B * H still fills every thread. */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "core/error.h"

#define ROW_CHUNK 256 /* rows per work item */

/* --- SMOOTH_K: KS = K - mean_N(K) per (b, h, channel) ----------------------------------------- */

sla2_status cpu_op_smooth_k(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, N = g->N, BH = g->B * g->H;
  const int64_t chunks = (N + ROW_CHUNK - 1) / ROW_CHUNK, items = BH * chunks;
  const cpu_tensor4 src = cpu_tensor4_of(x, node->in[0]), dst = cpu_tensor4_of(x, node->out[0]);
  const size_t partial_bytes = cpu_mul_size((size_t)items, (size_t)D * sizeof(double));
  const size_t mean_bytes = cpu_mul_size((size_t)BH, (size_t)D * sizeof(double));
  const size_t scratch_bytes = cpu_mul_size((size_t)x->threads, (size_t)(ROW_CHUNK + 1) * (size_t)D * sizeof(float));
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(partial_bytes) + cpu_arena_piece(mean_bytes) +
                                           cpu_arena_piece(scratch_bytes), "smooth_k");
  if (st != SLA2_OK) return st;
  double *partial = cpu_arena_take(&ar, partial_bytes), *mean = cpu_arena_take(&ar, mean_bytes);
  float *scratch = cpu_arena_take(&ar, scratch_bytes);
  if (g->smooth_k) {
    CPU_PRAGMA(omp parallel for schedule(static) num_threads(x->threads))
    for (int64_t it = 0; it < items; it++) {
      const int64_t bh = it / chunks, c = it % chunks, b = bh / g->H, h = bh % g->H;
      float *tmp = scratch + (size_t)cpu_thread_id() * (size_t)(ROW_CHUNK + 1) * (size_t)D;
      double *acc = partial + it * D;
      for (int64_t d = 0; d < D; d++) acc[d] = 0.0;
      const int64_t begin = c * ROW_CHUNK, end = begin + ROW_CHUNK < N ? begin + ROW_CHUNK : N;
      int64_t stride;
      const float *rows = cpu_load_rows(x, &src, b, h, begin, end, tmp, &stride);
      x->kt->colsum_f64(rows, end - begin, stride, D, acc);
    }
    for (int64_t bh = 0; bh < BH; bh++)
      for (int64_t d = 0; d < D; d++) {
        double s = 0.0;
        for (int64_t c = 0; c < chunks; c++) s += partial[(bh * chunks + c) * D + d];
        mean[bh * D + d] = s / (double)N;
      }
  } else {
    memset(mean, 0, (size_t)(BH * D) * sizeof(double));
  }
  CPU_PRAGMA(omp parallel for schedule(static) num_threads(x->threads))
  for (int64_t it = 0; it < items; it++) {
    const int64_t bh = it / chunks, c = it % chunks, b = bh / g->H, h = bh % g->H;
    float *tmp = scratch + (size_t)cpu_thread_id() * (size_t)(ROW_CHUNK + 1) * (size_t)D, *out = tmp + D;
    const double *mu = mean + bh * D;
    const int64_t end = (c + 1) * ROW_CHUNK < N ? (c + 1) * ROW_CHUNK : N;
    for (int64_t n = c * ROW_CHUNK; n < end; n++) {
      const float *row = cpu_load_row(x, &src, b, h, n, tmp);
      float *o = cpu_tensor4_direct(&dst) ? cpu_tensor4_at(&dst, b, h, n) : out;
      x->kt->sub_mean_f64(row, mu, o, D);
      if (o == out) cpu_store_row(x, &dst, b, h, n, out);
    }
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}

/* --- POOL: means of node->block rows (a partial last block divides by its true length) ------ */

sla2_status cpu_op_pool(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, BH = g->B * g->H, block = node->block;
  const int64_t T = (g->N + block - 1) / block, items = BH * T;
  const cpu_tensor4 src = cpu_tensor4_of(x, node->in[0]);
  float *out = x->buf[node->out[0]];
  const size_t scratch_bytes = cpu_mul_size((size_t)x->threads, (size_t)(block * D) * sizeof(float));
  const size_t sums_bytes = cpu_mul_size((size_t)x->threads, (size_t)D * sizeof(double));
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(scratch_bytes) + cpu_arena_piece(sums_bytes), "pool");
  if (st != SLA2_OK) return st;
  float *scratch = cpu_arena_take(&ar, scratch_bytes);
  double *sums = cpu_arena_take(&ar, sums_bytes);
  CPU_PRAGMA(omp parallel for schedule(static) num_threads(x->threads))
  for (int64_t it = 0; it < items; it++) {
    const int64_t bh = it / T, t = it % T, b = bh / g->H, h = bh % g->H;
    float *tmp = scratch + (size_t)cpu_thread_id() * (size_t)(block * D);
    double *acc = sums + (size_t)cpu_thread_id() * (size_t)D;
    const int64_t begin = t * block, end = cpu_block_end(g, t, block);
    for (int64_t d = 0; d < D; d++) acc[d] = 0.0;
    int64_t stride;
    const float *rows = cpu_load_rows(x, &src, b, h, begin, end, tmp, &stride);
    x->kt->colsum_f64(rows, end - begin, stride, D, acc);
    for (int64_t d = 0; d < D; d++) out[it * D + d] = (float)(acc[d] / (double)(end - begin));
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}

/* --- FEATURE_MAP: softmax over D / elu(x) + 1 / relu per row -------------------------------- */

static void feature_row(const cpu_exec *x, const float *in, float *out, float *tmp) {
  const int64_t D = x->g->D;
  switch (x->g->feature_map) {
  case SLA2_FEATURE_SOFTMAX:
    x->kt->softmax_row(in, out, D);
    break;
  case SLA2_FEATURE_ELU:
    x->kt->exp_row(in, tmp, D);
    for (int64_t d = 0; d < D; d++) out[d] = in[d] > 0.0f ? in[d] + 1.0f : tmp[d];
    break;
  default:
    for (int64_t d = 0; d < D; d++) out[d] = in[d] > 0.0f ? in[d] : 0.0f;
    break;
  }
}

sla2_status cpu_op_feature_map(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, N = g->N, BH = g->B * g->H;
  const int64_t chunks = (N + ROW_CHUNK - 1) / ROW_CHUNK, items = BH * chunks;
  const cpu_tensor4 src = cpu_tensor4_of(x, node->in[0]), dst = cpu_tensor4_of(x, node->out[0]);
  const size_t scratch_bytes = cpu_mul_size((size_t)x->threads, 3 * (size_t)D * sizeof(float));
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(scratch_bytes), "feature_map");
  if (st != SLA2_OK) return st;
  float *scratch = cpu_arena_take(&ar, scratch_bytes);
  CPU_PRAGMA(omp parallel for schedule(static) num_threads(x->threads))
  for (int64_t it = 0; it < items; it++) {
    const int64_t bh = it / chunks, c = it % chunks, b = bh / g->H, h = bh % g->H;
    float *in_tmp = scratch + (size_t)cpu_thread_id() * 3 * (size_t)D, *tmp = in_tmp + D,
          *out = tmp + D;
    const int64_t end = (c + 1) * ROW_CHUNK < N ? (c + 1) * ROW_CHUNK : N;
    for (int64_t n = c * ROW_CHUNK; n < end; n++) {
      const float *row = cpu_load_row(x, &src, b, h, n, in_tmp);
      float *o = cpu_tensor4_direct(&dst) ? cpu_tensor4_at(&dst, b, h, n) : out;
      feature_row(x, row, o, tmp);
      if (o == out) cpu_store_row(x, &dst, b, h, n, out);
    }
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}

/* --- COMBINE: O = a OS + (1 - a) OL, a = sigmoid(logit) per head or per (head, query block) -- */

sla2_status cpu_op_combine(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, N = g->N, BH = g->B * g->H;
  const int64_t chunks = (N + ROW_CHUNK - 1) / ROW_CHUNK, items = BH * chunks;
  const cpu_tensor4 os = cpu_tensor4_of(x, node->in[0]), ol = cpu_tensor4_of(x, node->in[1]);
  const cpu_tensor4 dst = cpu_tensor4_of(x, node->out[0]);
  const float *logits = x->buf[node->in[2]];
  const size_t scratch_bytes = cpu_mul_size((size_t)x->threads, 3 * (size_t)D * sizeof(float));
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(scratch_bytes), "combine");
  if (st != SLA2_OK) return st;
  float *scratch = cpu_arena_take(&ar, scratch_bytes);
  CPU_PRAGMA(omp parallel for schedule(static) num_threads(x->threads))
  for (int64_t it = 0; it < items; it++) {
    const int64_t bh = it / chunks, c = it % chunks, b = bh / g->H, h = bh % g->H;
    float *t0 = scratch + (size_t)cpu_thread_id() * 3 * (size_t)D, *t1 = t0 + D, *out = t1 + D;
    const int64_t end = (c + 1) * ROW_CHUNK < N ? (c + 1) * ROW_CHUNK : N;
    int64_t block = -1;
    double a = 0.0;
    for (int64_t n = c * ROW_CHUNK; n < end; n++) {
      const int64_t blk = g->alpha_per_block ? n / g->bq : 0;
      if (blk != block) {
        block = blk;
        const double logit = g->alpha_per_block ? logits[h * g->Tm + blk] : logits[h];
        a = 1.0 / (1.0 + exp(-logit));
      }
      const float *rs = cpu_load_row(x, &os, b, h, n, t0), *rl = cpu_load_row(x, &ol, b, h, n, t1);
      float *o = cpu_tensor4_direct(&dst) ? cpu_tensor4_at(&dst, b, h, n) : out;
      x->kt->mix_f64(rs, rl, a, 1.0 - a, o, D);
      if (o == out) cpu_store_row(x, &dst, b, h, n, out);
    }
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}
