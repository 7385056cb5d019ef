/* CPU backend: QUANTIZE_INT8 (Q or K~ per row block) and QUANTIZE_FP8 (V per channel).
 *
 * The codes must equal the oracle's bit for bit, so the arithmetic is the f32 arithmetic of
 * core/numeric.c: max |x| (exact), sigma by an f32 division, code = rint(x / sigma) by an IEEE
 * division (never a reciprocal multiply). The vector kernels do exactly that. */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "core/error.h"
#include "core/numeric.h"

#define ROW_CHUNK 256

sla2_status cpu_op_quantize_int8(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, N = g->N, BH = g->B * g->H, block = node->block;
  const int64_t T = (N + block - 1) / block;
  const cpu_tensor4 src = cpu_tensor4_of(x, node->in[0]);
  int8_t *codes = x->buf[node->out[0]];
  float *scales = x->buf[node->out[1]];
  const size_t scratch_bytes = cpu_mul_size((size_t)x->threads, (size_t)D * sizeof(float));
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(scratch_bytes), "quantize_int8");
  if (st != SLA2_OK) return st;
  float *scratch = cpu_arena_take(&ar, scratch_bytes);

  CPU_PRAGMA(omp parallel for schedule(dynamic, 1) num_threads(x->threads))
  for (int64_t it = 0; it < BH * T; it++) {
    const int64_t bh = it / T, t = it % T, b = bh / g->H, h = bh % g->H;
    const int64_t begin = t * block, end = cpu_block_end(g, t, block);
    float *tmp = scratch + (size_t)cpu_thread_id() * (size_t)D;
    float amax = 0.0f;
    for (int64_t n = begin; n < end; n++) {
      const float m = x->kt->absmax(cpu_load_row(x, &src, b, h, n, tmp), D);
      amax = m > amax ? m : amax;
    }
    const float sigma = sla2_int8_sigma(amax);
    scales[it] = sigma;
    for (int64_t n = begin; n < end; n++)
      x->kt->int8_codes(cpu_load_row(x, &src, b, h, n, tmp), sigma, codes + (bh * N + n) * D, D);
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}

sla2_status cpu_op_quantize_fp8(const cpu_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  const int64_t D = g->D, N = g->N, BH = g->B * g->H;
  const int64_t chunks = (N + ROW_CHUNK - 1) / ROW_CHUNK, items = BH * chunks;
  const cpu_tensor4 src = cpu_tensor4_of(x, node->in[0]);
  uint8_t *codes = x->buf[node->out[0]];
  float *scales = x->buf[node->out[1]];
  const size_t partial_bytes = cpu_mul_size((size_t)items, (size_t)D * sizeof(float));
  const size_t scratch_bytes = cpu_mul_size((size_t)x->threads, (size_t)D * sizeof(float));
  cpu_arena ar;
  sla2_status st = cpu_arena_open(&ar, cpu_arena_piece(partial_bytes) + cpu_arena_piece(scratch_bytes),
                                  "quantize_fp8");
  if (st != SLA2_OK) return st;
  float *partial = cpu_arena_take(&ar, partial_bytes), *scratch = cpu_arena_take(&ar, scratch_bytes);
  /* Per-channel max |V| of each chunk of rows, then over the chunks. */
  CPU_PRAGMA(omp parallel for schedule(static) num_threads(x->threads))
  for (int64_t it = 0; it < items; it++) {
    const int64_t bh = it / chunks, c = it % chunks, b = bh / g->H, h = bh % g->H;
    float *tmp = scratch + (size_t)cpu_thread_id() * (size_t)D, *amax = partial + it * D;
    const int64_t end = (c + 1) * ROW_CHUNK < N ? (c + 1) * ROW_CHUNK : N;
    for (int64_t d = 0; d < D; d++) amax[d] = 0.0f;
    for (int64_t n = c * ROW_CHUNK; n < end; n++) {
      const float *row = cpu_load_row(x, &src, b, h, n, tmp);
      for (int64_t d = 0; d < D; d++) {
        const float a = fabsf(row[d]);
        amax[d] = a > amax[d] ? a : amax[d];
      }
    }
  }
  for (int64_t bh = 0; bh < BH; bh++)
    for (int64_t d = 0; d < D; d++) {
      float m = 0.0f;
      for (int64_t c = 0; c < chunks; c++) {
        const float a = partial[(bh * chunks + c) * D + d];
        m = a > m ? a : m;
      }
      scales[bh * D + d] = sla2_fp8_sigma(m);
    }
  CPU_PRAGMA(omp parallel for schedule(static) num_threads(x->threads))
  for (int64_t it = 0; it < items; it++) {
    const int64_t bh = it / chunks, c = it % chunks, b = bh / g->H, h = bh % g->H;
    float *tmp = scratch + (size_t)cpu_thread_id() * (size_t)D;
    const int64_t end = (c + 1) * ROW_CHUNK < N ? (c + 1) * ROW_CHUNK : N;
    for (int64_t n = c * ROW_CHUNK; n < end; n++)
      x->kt->e4m3_codes(cpu_load_row(x, &src, b, h, n, tmp), scales + bh * D,
                        codes + (bh * N + n) * D, D);
  }
  cpu_arena_close(&ar);
  return SLA2_OK;
}
