/* Hand-derived tests of the oracle (core/ref) and the scalar number formats it is built on.
 * Every expected value below is worked out by hand in the comment next to it, or follows from an
 * identity of DESIGN.md section 2 (k = T_n is dense attention, alpha -> 1 is the sparse branch). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph.h"
#include "core/numeric.h"
#include "core/ref/ref.h"
#include "sla2/status.h"

/* ---- helpers ----------------------------------------------------------------------------------- */

/* A graph with no nodes: sizes, blocks, f32 contiguous BHND external Q, K, V, O, scale 1. */
static void graph_init(sla2_graph *g, int64_t B, int64_t H, int64_t N, int64_t D, int64_t bq,
                       int64_t bk, int64_t k) {
  memset(g, 0, sizeof *g);
  g->B = B, g->H = H, g->N = N, g->D = D;
  g->bq = bq, g->bk = bk, g->Tm = (N + bq - 1) / bq, g->Tn = (N + bk - 1) / bk, g->k = k;
  g->Hw = 1, g->scale = 1.0f, g->smooth_k = true, g->feature_map = SLA2_FEATURE_SOFTMAX;
  g->quant = SLA2_QUANT_NONE;
  const int64_t bhnd[4] = {H * N * D, N * D, D, 1};
  for (int slot = SLA2_SLOT_Q; slot <= SLA2_SLOT_O; slot++) {
    g->tensors[slot].used = true;
    g->tensors[slot].external = true;
    sla2_graph_set_external(g, slot, SLA2_F32, bhnd);
  }
}

static sla2_node *graph_add(sla2_graph *g, sla2_op op) {
  sla2_node *n = &g->nodes[g->node_count++];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->name = sla2_op_name(op);
  for (int i = 0; i < SLA2_NODE_MAX_IN; i++) n->in[i] = -1;
  for (int i = 0; i < SLA2_NODE_MAX_OUT; i++) n->out[i] = -1;
  return n;
}

static void run_all(const sla2_graph *g, void *const *host) {
  sla2_status st = sla2_ref_run(g, 0, g->node_count, host);
  ck_assert_msg(st == SLA2_OK, "sla2_ref_run: %s: %s", sla2_status_string(st), sla2_last_error());
}

/* Deterministic values in [-1, 1). */
static float next_value(uint64_t *state) {
  *state = *state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(*state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

#define ASSERT_NEAR(got, want, tol)                                                                 \
  ck_assert_msg(fabs((double)(got) - (double)(want)) <= (tol), "%s = %.9g, expected %.9g (tol %g)", \
                #got, (double)(got), (double)(want), (double)(tol))

/* ---- FP8 E4M3 ---------------------------------------------------------------------------------- */

START_TEST(test_e4m3_known_values) {
  ck_assert_uint_eq(sla2_f32_to_e4m3(0.0f), 0x00);
  ck_assert_uint_eq(sla2_f32_to_e4m3(-0.0f), 0x80);
  ck_assert_uint_eq(sla2_f32_to_e4m3(1.0f), 0x38);        /* exponent 0 + bias 7 = 7: 0 0111 000 */
  ck_assert_uint_eq(sla2_f32_to_e4m3(1.0625f), 0x38);     /* halfway 1 | 1.125: mantissa 0 is even */
  ck_assert_uint_eq(sla2_f32_to_e4m3(1.1875f), 0x3A);     /* halfway 1.125 | 1.25: to 1.25 (m = 2) */
  ck_assert_uint_eq(sla2_f32_to_e4m3(1.5f), 0x3C);
  ck_assert_uint_eq(sla2_f32_to_e4m3(-1.0f), 0xB8);
  ck_assert_uint_eq(sla2_f32_to_e4m3(-1.1875f), 0xBA);
  ck_assert_uint_eq(sla2_f32_to_e4m3(0.5f), 0x30);
  ck_assert_uint_eq(sla2_f32_to_e4m3(224.0f), 0x76);      /* 1.75 * 2^7: 0 1110 110 */
  ck_assert_uint_eq(sla2_f32_to_e4m3(164.8f), 0x72);      /* spacing 16 in [128, 256): 160 */
  ck_assert_uint_eq(sla2_f32_to_e4m3(448.0f), 0x7E);      /* max: 0 1111 110 */
  ck_assert_uint_eq(sla2_f32_to_e4m3(449.0f), 0x7E);      /* saturate */
  ck_assert_uint_eq(sla2_f32_to_e4m3(464.0f), 0x7E);      /* halfway to 480 (NaN's slot): saturate */
  ck_assert_uint_eq(sla2_f32_to_e4m3(1e9f), 0x7E);
  ck_assert_uint_eq(sla2_f32_to_e4m3(INFINITY), 0x7E);
  ck_assert_uint_eq(sla2_f32_to_e4m3(-448.0f), 0xFE);
  ck_assert_uint_eq(sla2_f32_to_e4m3(-1e9f), 0xFE);
  ck_assert_uint_eq(sla2_f32_to_e4m3(-INFINITY), 0xFE);
  /* Subnormals: multiples of 2^-9 below 2^-6. */
  ck_assert_uint_eq(sla2_f32_to_e4m3(0x1p-9f), 0x01);
  ck_assert_uint_eq(sla2_f32_to_e4m3(3 * 0x1p-10f), 0x02);  /* 1.5 * 2^-9: tie to 2 (even) */
  ck_assert_uint_eq(sla2_f32_to_e4m3(0x1p-10f), 0x00);      /* 0.5 * 2^-9: tie to 0 (even) */
  ck_assert_uint_eq(sla2_f32_to_e4m3(-0x1p-10f), 0x80);
  ck_assert_uint_eq(sla2_f32_to_e4m3(-3 * 0x1p-10f), 0x82);
  ck_assert_uint_eq(sla2_f32_to_e4m3(7 * 0x1p-9f), 0x07);   /* largest subnormal */
  ck_assert_uint_eq(sla2_f32_to_e4m3(15 * 0x1p-10f), 0x08); /* 7.5 * 2^-9: tie to 8 = 2^-6, normal */
  ck_assert_uint_eq(sla2_f32_to_e4m3(0x1p-6f), 0x08);       /* smallest normal: 0 0001 000 */
  ck_assert_uint_eq(sla2_f32_to_e4m3(0x1p-20f), 0x00);      /* underflow */
  ck_assert_uint_eq(sla2_f32_to_e4m3(NAN), 0x7F);
}
END_TEST

START_TEST(test_e4m3_decode_round_trip) {
  ck_assert_float_eq(sla2_e4m3_to_f32(0x38), 1.0f);
  ck_assert_float_eq(sla2_e4m3_to_f32(0x7E), 448.0f);
  ck_assert_float_eq(sla2_e4m3_to_f32(0xFE), -448.0f);
  ck_assert_float_eq(sla2_e4m3_to_f32(0x01), 0x1p-9f);
  ck_assert_float_eq(sla2_e4m3_to_f32(0x08), 0x1p-6f);
  ck_assert_float_eq(sla2_e4m3_to_f32(0x72), 160.0f);
  ck_assert(isnan(sla2_e4m3_to_f32(0x7F)));
  ck_assert(isnan(sla2_e4m3_to_f32(0xFF)));
  for (int code = 0; code < 256; code++) {
    if ((code & 0x7F) == 0x7F) continue;
    float v = sla2_e4m3_to_f32((uint8_t)code);
    ck_assert_msg(sla2_f32_to_e4m3(v) == code, "code 0x%02X -> %g -> 0x%02X", code, (double)v,
                  sla2_f32_to_e4m3(v));
  }
}
END_TEST

/* ---- f16 / bf16 -------------------------------------------------------------------------------- */

START_TEST(test_f16_known_values) {
  ck_assert_uint_eq(sla2_f32_to_f16(1.0f), 0x3C00);
  ck_assert_uint_eq(sla2_f32_to_f16(1.0f + 0x1p-11f), 0x3C00);      /* tie to even mantissa 0 */
  ck_assert_uint_eq(sla2_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3C02);  /* tie 1+2^-10 | 1+2^-9: even */
  ck_assert_uint_eq(sla2_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01); /* above the tie */
  ck_assert_uint_eq(sla2_f32_to_f16(-2.0f), 0xC000);
  ck_assert_uint_eq(sla2_f32_to_f16(65504.0f), 0x7BFF);
  ck_assert_uint_eq(sla2_f32_to_f16(65519.0f), 0x7BFF);
  ck_assert_uint_eq(sla2_f32_to_f16(65520.0f), 0x7C00);  /* halfway past the max: infinity */
  ck_assert_uint_eq(sla2_f32_to_f16(0x1p-14f), 0x0400);  /* smallest normal */
  ck_assert_uint_eq(sla2_f32_to_f16(0x1p-24f), 0x0001);  /* smallest subnormal */
  ck_assert_uint_eq(sla2_f32_to_f16(0x1p-25f), 0x0000);  /* tie to 0 */
  ck_assert_uint_eq(sla2_f32_to_f16(3 * 0x1p-25f), 0x0002);
  ck_assert_float_eq(sla2_f16_to_f32(0x3C00), 1.0f);
  ck_assert_float_eq(sla2_f16_to_f32(0x0001), 0x1p-24f);
  ck_assert_float_eq(sla2_f16_to_f32(0xC000), -2.0f);
  ck_assert(isinf(sla2_f16_to_f32(0x7C00)));
  ck_assert(isnan(sla2_f16_to_f32(sla2_f32_to_f16(NAN))));
}
END_TEST

START_TEST(test_bf16_known_values) {
  ck_assert_uint_eq(sla2_f32_to_bf16(1.0f), 0x3F80);
  ck_assert_uint_eq(sla2_f32_to_bf16(1.0f + 0x1p-8f), 0x3F80);      /* tie to even */
  ck_assert_uint_eq(sla2_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);  /* tie to even (up) */
  ck_assert_uint_eq(sla2_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81);
  ck_assert_uint_eq(sla2_f32_to_bf16(-2.0f), 0xC000);
  ck_assert_float_eq(sla2_bf16_to_f32(0x3F80), 1.0f);
  ck_assert_float_eq(sla2_bf16_to_f32(0x4300), 128.0f);
  ck_assert(isnan(sla2_bf16_to_f32(sla2_f32_to_bf16(NAN))));
}
END_TEST

START_TEST(test_half_round_trip) {
  /* Every finite or infinite code converts to f32 exactly and back to itself. */
  for (uint32_t h = 0; h < 0x10000u; h++) {
    if ((h & 0x7C00u) != 0x7C00u || (h & 0x3FFu) == 0) {
      uint16_t back = sla2_f32_to_f16(sla2_f16_to_f32((uint16_t)h));
      ck_assert_msg(back == h, "f16 0x%04X -> 0x%04X", (unsigned)h, (unsigned)back);
    }
    if ((h & 0x7F80u) != 0x7F80u || (h & 0x7Fu) == 0) {
      uint16_t back = sla2_f32_to_bf16(sla2_bf16_to_f32((uint16_t)h));
      ck_assert_msg(back == h, "bf16 0x%04X -> 0x%04X", (unsigned)h, (unsigned)back);
    }
  }
}
END_TEST

/* ---- quantizers -------------------------------------------------------------------------------- */

START_TEST(test_quantize_int8_known_blocks) {
  /* Q in bf16 (all values exact), N = 10, D = 2, blocks of 4 rows: 4 + 4 + a partial block of 2. */
  static const float q[10][2] = {
      {127, -63.5f}, {0.5f, 1.5f}, {2.5f, -127}, {64, 0},     /* amax 127: sigma 1, codes = rint */
      {254, 3},      {5, -1},      {7, -254},    {0.25f, 1},  /* amax 254: sigma 2 */
      {0, 0},        {0, 0}};                                 /* all zero: sigma 1 */
  static const int8_t want[10][2] = {
      {127, -64}, {0, 2}, {2, -127}, {64, 0},  /* -63.5 -> -64, 0.5 -> 0, 1.5 -> 2, 2.5 -> 2 */
      {127, 2},   {2, 0}, {4, -127}, {0, 0},   /* 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, 3.5 -> 4, .125, .5 -> 0 */
      {0, 0},     {0, 0}};
  uint16_t qb[20];
  for (int i = 0; i < 20; i++) qb[i] = sla2_f32_to_bf16(q[i / 2][i % 2]);
  sla2_graph g;
  graph_init(&g, 1, 1, 10, 2, 4, 4, 1);
  const int64_t strides[4] = {20, 20, 2, 1};
  sla2_graph_set_external(&g, SLA2_SLOT_Q, SLA2_BF16, strides);
  sla2_node *n = graph_add(&g, SLA2_OP_QUANTIZE_INT8);
  n->in[0] = SLA2_SLOT_Q, n->out[0] = SLA2_SLOT_QCODES, n->out[1] = SLA2_SLOT_QSCALE, n->block = 4;
  int8_t codes[20];
  float scales[3];
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_Q] = qb, host[SLA2_SLOT_QCODES] = codes, host[SLA2_SLOT_QSCALE] = scales;
  run_all(&g, host);
  ck_assert_float_eq(scales[0], 1.0f);
  ck_assert_float_eq(scales[1], 2.0f);
  ck_assert_float_eq(scales[2], 1.0f);
  for (int i = 0; i < 20; i++)
    ck_assert_msg(codes[i] == want[i / 2][i % 2], "code[%d] = %d, expected %d", i, codes[i], want[i / 2][i % 2]);
  ck_assert_float_eq(sla2_int8_sigma(0.0f), 1.0f);
}
END_TEST

START_TEST(test_quantize_fp8_known_channels) {
  /* V in f16, N = 3, D = 3. Channel 0: amax 896, sigma 2 -> 448, 0.5, -1.5. Channel 1: zero,
   * sigma 1. Channel 2: amax 448, sigma 1 -> 448, 2^-9 (subnormal 0x01), -3*2^-10 (tie -> -2^-8). */
  static const float v[3][3] = {{896, 0, 448}, {1, 0, 0x1p-9f}, {-3, 0, -3 * 0x1p-10f}};
  static const uint8_t want[3][3] = {{0x7E, 0x00, 0x7E}, {0x30, 0x00, 0x01}, {0xBC, 0x00, 0x82}};
  uint16_t vh[9];
  for (int i = 0; i < 9; i++) vh[i] = sla2_f32_to_f16(v[i / 3][i % 3]);
  sla2_graph g;
  graph_init(&g, 1, 1, 3, 3, 16, 16, 1);
  const int64_t strides[4] = {9, 9, 3, 1};
  sla2_graph_set_external(&g, SLA2_SLOT_V, SLA2_F16, strides);
  sla2_node *n = graph_add(&g, SLA2_OP_QUANTIZE_FP8);
  n->in[0] = SLA2_SLOT_V, n->out[0] = SLA2_SLOT_VCODES, n->out[1] = SLA2_SLOT_VSCALE;
  uint8_t codes[9];
  float scales[3];
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_V] = vh, host[SLA2_SLOT_VCODES] = codes, host[SLA2_SLOT_VSCALE] = scales;
  run_all(&g, host);
  ck_assert_float_eq(scales[0], 2.0f);
  ck_assert_float_eq(scales[1], 1.0f);
  ck_assert_float_eq(scales[2], 1.0f);
  for (int i = 0; i < 9; i++)
    ck_assert_msg(codes[i] == want[i / 3][i % 3], "code[%d] = 0x%02X, expected 0x%02X", i, codes[i], want[i / 3][i % 3]);
}
END_TEST

/* ---- pooling, smoothing, feature maps ---------------------------------------------------------- */

START_TEST(test_pool_partial_block) {
  /* N = 5, D = 2. Q (external) in blocks of 4: rows 0-3 and row 4 alone (divides by 1, not 4).
   * The same values as an intermediate (KS) in blocks of 2: {0,1}, {2,3}, {4}. */
  float x[5][2] = {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {10, -3}};
  sla2_graph g;
  graph_init(&g, 1, 1, 5, 2, 4, 2, 1);
  sla2_node *n = graph_add(&g, SLA2_OP_POOL);
  n->in[0] = SLA2_SLOT_Q, n->out[0] = SLA2_SLOT_QBAR, n->block = 4;
  n = graph_add(&g, SLA2_OP_POOL);
  n->in[0] = SLA2_SLOT_KS, n->out[0] = SLA2_SLOT_KBAR, n->block = 2;
  float qbar[2][2], kbar[3][2];
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_Q] = x, host[SLA2_SLOT_KS] = x, host[SLA2_SLOT_QBAR] = qbar, host[SLA2_SLOT_KBAR] = kbar;
  run_all(&g, host);
  ck_assert_float_eq(qbar[0][0], 2.5f);
  ck_assert_float_eq(qbar[0][1], 0.0f);
  ck_assert_float_eq(qbar[1][0], 10.0f);
  ck_assert_float_eq(qbar[1][1], -3.0f);
  ck_assert_float_eq(kbar[0][0], 1.5f);
  ck_assert_float_eq(kbar[1][0], 3.5f);
  ck_assert_float_eq(kbar[2][0], 10.0f);
  ck_assert_float_eq(kbar[2][1], -3.0f);
}
END_TEST

START_TEST(test_smooth_k_zero_means) {
  /* K in BNHD layout (B = 1, H = 2, N = 5, D = 3). */
  enum { H = 2, N = 5, D = 3 };
  float k[N][H][D];
  uint64_t seed = 7;
  for (int i = 0; i < N * H * D; i++) (&k[0][0][0])[i] = 3.0f + 2.0f * next_value(&seed);
  sla2_graph g;
  graph_init(&g, 1, H, N, D, 16, 16, 1);
  const int64_t bnhd[4] = {N * H * D, D, H * D, 1};
  sla2_graph_set_external(&g, SLA2_SLOT_K, SLA2_F32, bnhd);
  sla2_node *n = graph_add(&g, SLA2_OP_SMOOTH_K);
  n->in[0] = SLA2_SLOT_K, n->out[0] = SLA2_SLOT_KS;
  float ks[H][N][D];
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_K] = k, host[SLA2_SLOT_KS] = ks;
  run_all(&g, host);
  for (int h = 0; h < H; h++)
    for (int c = 0; c < D; c++) {
      double mean = 0.0, smooth_mean = 0.0;
      for (int r = 0; r < N; r++) mean += k[r][h][c];
      mean /= N;
      for (int r = 0; r < N; r++) {
        ck_assert_float_eq(ks[h][r][c], (float)((double)k[r][h][c] - mean));
        smooth_mean += ks[h][r][c];
      }
      ASSERT_NEAR(smooth_mean / N, 0.0, 1e-6);
    }
  /* smooth_k off: a plain copy. */
  g.smooth_k = false;
  run_all(&g, host);
  for (int h = 0; h < H; h++)
    for (int r = 0; r < N; r++)
      for (int c = 0; c < D; c++) ck_assert_float_eq(ks[h][r][c], k[r][h][c]);
}
END_TEST

START_TEST(test_feature_maps) {
  static const float x[3][4] = {{0, 0, 0, 0}, {1000, 0, 0, 0}, {-1, 2, 0, -0.5f}};
  sla2_graph g;
  graph_init(&g, 1, 1, 3, 4, 16, 16, 1);
  sla2_node *n = graph_add(&g, SLA2_OP_FEATURE_MAP);
  n->in[0] = SLA2_SLOT_Q, n->out[0] = SLA2_SLOT_PHIQ;
  float phi[3][4];
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_Q] = (void *)x, host[SLA2_SLOT_PHIQ] = phi;

  g.feature_map = SLA2_FEATURE_SOFTMAX;
  run_all(&g, host);
  for (int d = 0; d < 4; d++) ck_assert_float_eq(phi[0][d], 0.25f);
  ck_assert_float_eq(phi[1][0], 1.0f);  /* max-subtracted: no overflow at 1000 */
  ck_assert_float_eq(phi[1][1], 0.0f);
  /* Row 2: e^x / sum with sum = e^-1 + e^2 + 1 + e^-0.5. */
  double sum = exp(-1.0) + exp(2.0) + 1.0 + exp(-0.5), row_sum = 0.0;
  ASSERT_NEAR(phi[2][1], exp(2.0) / sum, 1e-7);
  ASSERT_NEAR(phi[2][2], 1.0 / sum, 1e-7);
  for (int d = 0; d < 4; d++) row_sum += phi[2][d];
  ASSERT_NEAR(row_sum, 1.0, 1e-6);

  g.feature_map = SLA2_FEATURE_ELU;  /* elu(x) + 1: x + 1 for x > 0, e^x otherwise */
  run_all(&g, host);
  ck_assert_float_eq(phi[0][0], 1.0f);
  ck_assert_float_eq(phi[2][0], (float)exp(-1.0));
  ck_assert_float_eq(phi[2][1], 3.0f);
  ck_assert_float_eq(phi[2][2], 1.0f);
  ck_assert_float_eq(phi[2][3], (float)exp(-0.5));
  ck_assert_float_eq(phi[1][0], 1001.0f);

  g.feature_map = SLA2_FEATURE_RELU;
  run_all(&g, host);
  ck_assert_float_eq(phi[2][0], 0.0f);
  ck_assert_float_eq(phi[2][1], 2.0f);
  ck_assert_float_eq(phi[2][2], 0.0f);
  ck_assert_float_eq(phi[2][3], 0.0f);
  ck_assert_float_eq(phi[1][0], 1000.0f);
}
END_TEST

/* ---- router ------------------------------------------------------------------------------------ */

/* Query-block means (1, 0), (0, 1); key-block means (4,1), (1,5), (5,3), (4,5). With W = I the
 * score rows are the x components [4, 1, 5, 4] and the y components [1, 5, 3, 5], times scale. */
static float route_qbar[2][2][2] = {{{1, 0}, {0, 1}}, {{1, 0}, {0, 1}}};
static float route_kbar[2][4][2] = {{{4, 1}, {1, 5}, {5, 3}, {4, 5}}, {{4, 1}, {1, 5}, {5, 3}, {4, 5}}};

static void route_graph(sla2_graph *g, int64_t H, int64_t k, int64_t Hw) {
  graph_init(g, 1, H, 8, 2, 4, 2, k);  /* Tm = 2, Tn = 4 */
  g->Hw = Hw;
  sla2_node *n = graph_add(g, SLA2_OP_ROUTE);
  n->in[0] = SLA2_SLOT_QBAR, n->in[1] = SLA2_SLOT_KBAR, n->in[2] = SLA2_SLOT_WQ, n->in[3] = SLA2_SLOT_WK;
  n->out[0] = SLA2_SLOT_SCORES, n->out[1] = SLA2_SLOT_LUT;
}

START_TEST(test_route_ties_and_order) {
  static const float eye[4] = {1, 0, 0, 1};
  float scores[2][4];
  int32_t lut[8];
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_QBAR] = route_qbar, host[SLA2_SLOT_KBAR] = route_kbar;
  host[SLA2_SLOT_WQ] = (void *)eye, host[SLA2_SLOT_WK] = (void *)eye;
  host[SLA2_SLOT_SCORES] = scores, host[SLA2_SLOT_LUT] = lut;
  sla2_graph g;

  /* k = 2, scale 0.5: row 0 = [2, .5, 2.5, 2]: 2.5 (block 2), then 2 at blocks 0 and 3 tie -> 0;
   * LUT ascending {0, 2} (rank order would be {2, 0}). Row 1 = [.5, 2.5, 1.5, 2.5] -> {1, 3}. */
  route_graph(&g, 1, 2, 1);
  g.scale = 0.5f;
  run_all(&g, host);
  static const float want_scores[2][4] = {{2, 0.5f, 2.5f, 2}, {0.5f, 2.5f, 1.5f, 2.5f}};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++) ck_assert_float_eq(scores[i][j], want_scores[i][j]);
  static const int32_t want2[4] = {0, 2, 1, 3};
  for (int i = 0; i < 4; i++) ck_assert_int_eq(lut[i], want2[i]);

  /* k = 3: row 0 {2, 0, 3} -> {0, 2, 3}; row 1 {1, 3, 2} -> {1, 2, 3}. */
  route_graph(&g, 1, 3, 1);
  run_all(&g, host);
  static const int32_t want3[6] = {0, 2, 3, 1, 2, 3};
  for (int i = 0; i < 6; i++) ck_assert_int_eq(lut[i], want3[i]);

  /* k = Tn: every block. */
  route_graph(&g, 1, 4, 1);
  run_all(&g, host);
  for (int i = 0; i < 8; i++) ck_assert_int_eq(lut[i], i % 4);
}
END_TEST

START_TEST(test_route_ranks_by_double) {
  /* qbar = (1, 2^-30), kbar_0 = (1, 0), kbar_1 = (1, 1): scores 1 and 1 + 2^-30, both 1.0f as
   * floats; the double ranking picks block 1 (a float ranking would tie and pick block 0). */
  static const float qbar[2] = {1, 0x1p-30f}, kbar[2][2] = {{1, 0}, {1, 1}}, eye[4] = {1, 0, 0, 1};
  float scores[2];
  int32_t lut[1] = {-1};
  sla2_graph g;
  graph_init(&g, 1, 1, 2, 2, 2, 1, 1);  /* Tm = 1, Tn = 2, k = 1 */
  sla2_node *n = graph_add(&g, SLA2_OP_ROUTE);
  n->in[0] = SLA2_SLOT_QBAR, n->in[1] = SLA2_SLOT_KBAR, n->in[2] = SLA2_SLOT_WQ, n->in[3] = SLA2_SLOT_WK;
  n->out[0] = SLA2_SLOT_SCORES, n->out[1] = SLA2_SLOT_LUT;
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_QBAR] = (void *)qbar, host[SLA2_SLOT_KBAR] = (void *)kbar;
  host[SLA2_SLOT_WQ] = (void *)eye, host[SLA2_SLOT_WK] = (void *)eye;
  host[SLA2_SLOT_SCORES] = scores, host[SLA2_SLOT_LUT] = lut;
  run_all(&g, host);
  ck_assert_float_eq(scores[0], 1.0f);
  ck_assert_float_eq(scores[1], 1.0f);
  ck_assert_int_eq(lut[0], 1);
}
END_TEST

START_TEST(test_route_per_head_weights) {
  /* Two heads with the same block means. Head 0: W = I. Head 1: W_q = [[0,1],[0,0]] so
   * W_q x = (x_y, 0); W_k = [[0,2],[0,0]] so W_k x = (2 x_y, 0) (row-major: (W x)[e] = sum_d W[e][d] x[d]).
   * Head 1, row 0: qbar (1,0) -> (0,0): all scores 0, ties -> {0, 1}.
   * Head 1, row 1: qbar (0,1) -> (1,0): scores 2 * kbar_y = [2, 10, 6, 10] -> {1, 3}.
   * (Either matrix transposed would make row 1 all zero -> {0, 1}.) */
  static const float wq[2][4] = {{1, 0, 0, 1}, {0, 1, 0, 0}}, wk[2][4] = {{1, 0, 0, 1}, {0, 2, 0, 0}};
  float scores[2][2][4];
  int32_t lut[2][2][2];
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_QBAR] = route_qbar, host[SLA2_SLOT_KBAR] = route_kbar;
  host[SLA2_SLOT_WQ] = (void *)wq, host[SLA2_SLOT_WK] = (void *)wk;
  host[SLA2_SLOT_SCORES] = scores, host[SLA2_SLOT_LUT] = lut;
  sla2_graph g;
  route_graph(&g, 2, 2, 2);
  run_all(&g, host);
  static const int32_t want_per_head[2][2][2] = {{{0, 2}, {1, 3}}, {{0, 1}, {1, 3}}};
  static const float want_h1[2][4] = {{0, 0, 0, 0}, {2, 10, 6, 10}};
  for (int i = 0; i < 8; i++) ck_assert_int_eq((&lut[0][0][0])[i], (&want_per_head[0][0][0])[i]);
  for (int i = 0; i < 8; i++) ck_assert_float_eq((&scores[1][0][0])[i], (&want_h1[0][0])[i]);

  /* Shared W (Hw = 1): both heads use W[0] = I and route alike. */
  route_graph(&g, 2, 2, 1);
  run_all(&g, host);
  for (int h = 0; h < 2; h++)
    for (int i = 0; i < 4; i++) ck_assert_int_eq((&lut[h][0][0])[i], (&want_per_head[0][0][0])[i]);
  for (int i = 0; i < 8; i++) ck_assert_float_eq((&scores[1][0][0])[i], (&scores[0][0][0])[i]);
}
END_TEST

/* ---- linear branch ----------------------------------------------------------------------------- */

START_TEST(test_linear_branch_by_hand) {
  /* N = 4, D = 2, bq = bk = 2, k = 1.
   * phiK rows (1,0), (0,1) | (.5,.5), (1,1); V rows (1,2), (3,4) | (5,6), (7,8).
   * h_0 = [[1,2],[3,4]], z_0 = (1,1); h_1 = [[9.5,11],[9.5,11]], z_1 = (1.5,1.5);
   * H_tot = [[10.5,13],[12.5,15]], Z_tot = (2.5,2.5).
   * LUT: query block 0 -> {0}, so H_0 = h_1, Z_0 = z_1; query block 1 -> {1}, so H_1 = h_0, Z_1 = z_0.
   * phiQ rows: (1,0) -> (9.5,11)/1.5; (0,0) -> den 0 -> 0; (1,0) -> (1,2)/1; (1,3) -> (10,14)/4. */
  static const float phik[4][2] = {{1, 0}, {0, 1}, {0.5f, 0.5f}, {1, 1}};
  static const float v[4][2] = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
  static const float phiq[4][2] = {{1, 0}, {0, 0}, {1, 0}, {1, 3}};
  int32_t lut[2] = {0, 1};
  float hblk[2][2][2], zblk[2][2], htot[2][2], ztot[2], ol[4][2];
  sla2_graph g;
  graph_init(&g, 1, 1, 4, 2, 2, 2, 1);
  sla2_node *n = graph_add(&g, SLA2_OP_KV_STATE);
  n->in[0] = SLA2_SLOT_PHIK, n->in[1] = SLA2_SLOT_V;
  n->out[0] = SLA2_SLOT_HBLK, n->out[1] = SLA2_SLOT_ZBLK, n->out[2] = SLA2_SLOT_HTOT, n->out[3] = SLA2_SLOT_ZTOT;
  n = graph_add(&g, SLA2_OP_LINEAR_ATTN);
  n->in[0] = SLA2_SLOT_PHIQ, n->in[1] = SLA2_SLOT_HBLK, n->in[2] = SLA2_SLOT_ZBLK;
  n->in[3] = SLA2_SLOT_HTOT, n->in[4] = SLA2_SLOT_ZTOT, n->in[5] = SLA2_SLOT_LUT, n->out[0] = SLA2_SLOT_OL;
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_PHIK] = (void *)phik, host[SLA2_SLOT_V] = (void *)v, host[SLA2_SLOT_PHIQ] = (void *)phiq;
  host[SLA2_SLOT_HBLK] = hblk, host[SLA2_SLOT_ZBLK] = zblk, host[SLA2_SLOT_HTOT] = htot;
  host[SLA2_SLOT_ZTOT] = ztot, host[SLA2_SLOT_LUT] = lut, host[SLA2_SLOT_OL] = ol;
  run_all(&g, host);

  static const float want_h[2][2][2] = {{{1, 2}, {3, 4}}, {{9.5f, 11}, {9.5f, 11}}};
  static const float want_z[2][2] = {{1, 1}, {1.5f, 1.5f}};
  static const float want_htot[2][2] = {{10.5f, 13}, {12.5f, 15}};
  for (int i = 0; i < 8; i++) ck_assert_float_eq((&hblk[0][0][0])[i], (&want_h[0][0][0])[i]);
  for (int i = 0; i < 4; i++) ck_assert_float_eq((&zblk[0][0])[i], (&want_z[0][0])[i]);
  for (int i = 0; i < 4; i++) ck_assert_float_eq((&htot[0][0])[i], (&want_htot[0][0])[i]);
  ck_assert_float_eq(ztot[0], 2.5f);
  ck_assert_float_eq(ztot[1], 2.5f);
  const float want_ol[4][2] = {{(float)(9.5 / 1.5), (float)(11.0 / 1.5)}, {0, 0}, {1, 2}, {2.5f, 3.5f}};
  for (int i = 0; i < 8; i++) ck_assert_float_eq((&ol[0][0])[i], (&want_ol[0][0])[i]);

  /* k = Tn: the complement is empty and O_l is 0 for every row. */
  int32_t lut_all[4] = {0, 1, 0, 1};
  for (int i = 0; i < 8; i++) (&ol[0][0])[i] = 99.0f;
  g.k = 2;
  host[SLA2_SLOT_LUT] = lut_all;
  ck_assert_int_eq(sla2_ref_run(&g, 1, 1, host), SLA2_OK);
  for (int i = 0; i < 8; i++) ck_assert_float_eq((&ol[0][0])[i], 0.0f);
}
END_TEST

/* ---- sparse branch ----------------------------------------------------------------------------- */

/* Nodes: QUANTIZE_INT8 on Q and on KS (when quantized), QUANTIZE_FP8 on V (int8_fp8), SPARSE_ATTN. */
static void sparse_graph(sla2_graph *g, sla2_quant quant) {
  g->quant = quant;
  sla2_node *n;
  if (quant != SLA2_QUANT_NONE) {
    n = graph_add(g, SLA2_OP_QUANTIZE_INT8);
    n->in[0] = SLA2_SLOT_Q, n->out[0] = SLA2_SLOT_QCODES, n->out[1] = SLA2_SLOT_QSCALE, n->block = (int)g->bq;
    n = graph_add(g, SLA2_OP_QUANTIZE_INT8);
    n->in[0] = SLA2_SLOT_KS, n->out[0] = SLA2_SLOT_KCODES, n->out[1] = SLA2_SLOT_KSCALE, n->block = (int)g->bk;
  }
  if (quant == SLA2_QUANT_INT8_FP8) {
    n = graph_add(g, SLA2_OP_QUANTIZE_FP8);
    n->in[0] = SLA2_SLOT_V, n->out[0] = SLA2_SLOT_VCODES, n->out[1] = SLA2_SLOT_VSCALE;
  }
  n = graph_add(g, SLA2_OP_SPARSE_ATTN);
  n->in[3] = SLA2_SLOT_LUT, n->out[0] = SLA2_SLOT_OS, n->out[1] = SLA2_SLOT_LSE;
  if (quant == SLA2_QUANT_NONE)
    n->in[0] = SLA2_SLOT_Q, n->in[1] = SLA2_SLOT_KS;
  else
    n->in[4] = SLA2_SLOT_QCODES, n->in[5] = SLA2_SLOT_QSCALE, n->in[6] = SLA2_SLOT_KCODES, n->in[7] = SLA2_SLOT_KSCALE;
  if (quant == SLA2_QUANT_INT8_FP8)
    n->in[8] = SLA2_SLOT_VCODES, n->in[9] = SLA2_SLOT_VSCALE;
  else
    n->in[2] = SLA2_SLOT_V;
}

START_TEST(test_sparse_int8_one_key) {
  /* One query, one key, scale 0.5. Q (127, 0, -63.5, 1): sigma 1, codes (127, 0, -64, 1).
   * KS (2, 4, -2, 254): sigma 2, codes (1, 2, -1, 127). Integer dot 127 + 0 + 64 + 127 = 318,
   * S = 0.5 * 1 * 2 * 318 = 318 (the float dot q . ks would give 317.5). One key: P = 1, l = 1, so
   * O_s is the V row exactly and LSE = S. */
  static const float q[4] = {127, 0, -63.5f, 1}, ks[4] = {2, 4, -2, 254}, v[4] = {0.1f, -2, 3.25f, 1e-3f};
  sla2_graph g;
  graph_init(&g, 1, 1, 1, 4, 1, 1, 1);
  g.scale = 0.5f;
  sparse_graph(&g, SLA2_QUANT_INT8);
  int8_t qc[4], kc[4];
  float qs, kss, os[4], lse;
  int32_t lut = 0;
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_Q] = (void *)q, host[SLA2_SLOT_KS] = (void *)ks, host[SLA2_SLOT_V] = (void *)v;
  host[SLA2_SLOT_QCODES] = qc, host[SLA2_SLOT_QSCALE] = &qs, host[SLA2_SLOT_KCODES] = kc;
  host[SLA2_SLOT_KSCALE] = &kss, host[SLA2_SLOT_LUT] = &lut, host[SLA2_SLOT_OS] = os, host[SLA2_SLOT_LSE] = &lse;
  run_all(&g, host);
  ck_assert_int_eq(qc[2], -64);
  ck_assert_int_eq(kc[3], 127);
  ck_assert_float_eq(lse, 318.0f);
  for (int e = 0; e < 4; e++) ck_assert_float_eq(os[e], v[e]);
}
END_TEST

/* Two queries, two keys in one block (bq = bk = 2), D = 2, scale 128. All values are codes times
 * 2^-7, so sigma_q = sigma_k = 2^-7 exactly:
 *   Q rows (127, 1) * 2^-7 and (0, 0); KS rows (127, 0) * 2^-7 and (126, -1) * 2^-7.
 *   Row 0: integer dots 16129 and 16001, S = 128 * 2^-14 * dot = 126.0078125 and 125.0078125, so
 *   S - m = 0 and -1 exactly. Row 1: S = 0, 0.
 * V rows (448, -7), (224, 1.75): sigma_v = (1, 2^-6), codes exact: (448, -448), (224, 112). */
static const float two_q[2][2] = {{127 * 0x1p-7f, 0x1p-7f}, {0, 0}};
static const float two_ks[2][2] = {{127 * 0x1p-7f, 0}, {126 * 0x1p-7f, -0x1p-7f}};
static const float two_v[2][2] = {{448, -7}, {224, 1.75f}};

static void run_two_keys(sla2_quant quant, float os[2][2], float lse[2]) {
  sla2_graph g;
  graph_init(&g, 1, 1, 2, 2, 2, 2, 1);
  g.scale = 128.0f;
  sparse_graph(&g, quant);
  int8_t qc[4], kc[4];
  uint8_t vc[4];
  float qs, ks, vs[2];
  int32_t lut = 0;
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_Q] = (void *)two_q, host[SLA2_SLOT_KS] = (void *)two_ks, host[SLA2_SLOT_V] = (void *)two_v;
  host[SLA2_SLOT_QCODES] = qc, host[SLA2_SLOT_QSCALE] = &qs, host[SLA2_SLOT_KCODES] = kc;
  host[SLA2_SLOT_KSCALE] = &ks, host[SLA2_SLOT_VCODES] = vc, host[SLA2_SLOT_VSCALE] = vs;
  host[SLA2_SLOT_LUT] = &lut, host[SLA2_SLOT_OS] = os, host[SLA2_SLOT_LSE] = lse;
  run_all(&g, host);
  if (quant != SLA2_QUANT_NONE) {
    ck_assert_float_eq(qs, 0x1p-7f);
    ck_assert_float_eq(ks, 0x1p-7f);
    static const int8_t want_qc[4] = {127, 1, 0, 0}, want_kc[4] = {127, 0, 126, -1};
    for (int i = 0; i < 4; i++) {
      ck_assert_int_eq(qc[i], want_qc[i]);
      ck_assert_int_eq(kc[i], want_kc[i]);
    }
  }
  if (quant == SLA2_QUANT_INT8_FP8) {
    ck_assert_float_eq(vs[0], 1.0f);
    ck_assert_float_eq(vs[1], 0x1p-6f);
    static const uint8_t want_vc[4] = {0x7E, 0xFE, 0x76, 0x6E};  /* 448, -448, 224, 112 */
    for (int i = 0; i < 4; i++) ck_assert_uint_eq(vc[i], want_vc[i]);
  }
}

START_TEST(test_sparse_two_keys_float_paths) {
  /* none and int8 (same scores here): P = (1, e^-1), l = 1 + e^-1, O_s = (v_0 + e^-1 v_1) / l.
   * Row 1: P = (1, 1): the mean of the V rows, LSE = ln 2. */
  const sla2_quant modes[2] = {SLA2_QUANT_NONE, SLA2_QUANT_INT8};
  for (int m = 0; m < 2; m++) {
    float os[2][2], lse[2];
    run_two_keys(modes[m], os, lse);
    double p = exp(-1.0), l = 1.0 + p;
    ASSERT_NEAR(os[0][0], (448.0 + 224.0 * p) / l, 1e-4);
    ASSERT_NEAR(os[0][1], (-7.0 + 1.75 * p) / l, 1e-6);
    ASSERT_NEAR(lse[0], 126.0078125 + log(l), 1e-5);
    ck_assert_float_eq(os[1][0], 336.0f);
    ck_assert_float_eq(os[1][1], -2.625f);
    ASSERT_NEAR(lse[1], log(2.0), 1e-7);
  }
}
END_TEST

START_TEST(test_sparse_two_keys_fp8) {
  /* Row 0: P~ = (1, (float)e^-1); l = 1 + P~_1 (unquantized). FP8 P: 448 -> 448, 448 * 0.3679 =
   * 164.8 -> 160. Numerator channel 0: 448*448 + 160*224 = 236544, times sigma 1 / 448 = 528;
   * channel 1: 448*(-448) + 160*112 = -182784, times 2^-6 / 448 = -6.375. O_s = those / l.
   * Row 1: P~ = (1, 1), l = 2: (448*448 + 448*224) / 448 / 2 = 336; (-448 + 112) * 2^-6 / 2 = -2.625. */
  float os[2][2], lse[2];
  run_two_keys(SLA2_QUANT_INT8_FP8, os, lse);
  float pt = (float)exp(-1.0);
  ck_assert_uint_eq(sla2_f32_to_e4m3(448.0f * pt), 0x72);
  double l = 1.0 + (double)pt;
  ck_assert_float_eq(os[0][0], (float)(528.0 / l));
  ck_assert_float_eq(os[0][1], (float)(-6.375 / l));
  ASSERT_NEAR(lse[0], 126.0078125 + log(l), 1e-5);
  ck_assert_float_eq(os[1][0], 336.0f);
  ck_assert_float_eq(os[1][1], -2.625f);
  ASSERT_NEAR(lse[1], log(2.0), 1e-7);
}
END_TEST

START_TEST(test_sparse_reads_only_selected_blocks) {
  /* N = 5, bq = 5 (one query block), bk = 2: key blocks {0,1}, {2,3}, {4} (partial). LUT {0, 2}.
   * Q = 0, so every selected score is 0: O_s = mean of V rows 0, 1, 4 and LSE = ln 3. Rows 2 and 3
   * of V and KS are NaN: reading an unselected block would poison the output. */
  float q[5][2] = {{0}}, ks[5][2], v[5][2] = {{1, 2}, {3, 4}, {NAN, NAN}, {NAN, NAN}, {8, -9}};
  for (int r = 0; r < 5; r++) ks[r][0] = ks[r][1] = (r == 2 || r == 3) ? NAN : (float)r;
  int32_t lut[2] = {0, 2};
  float os[5][2], lse[5];
  sla2_graph g;
  graph_init(&g, 1, 1, 5, 2, 5, 2, 2);
  sparse_graph(&g, SLA2_QUANT_NONE);
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_Q] = q, host[SLA2_SLOT_KS] = ks, host[SLA2_SLOT_V] = v;
  host[SLA2_SLOT_LUT] = lut, host[SLA2_SLOT_OS] = os, host[SLA2_SLOT_LSE] = lse;
  run_all(&g, host);
  for (int r = 0; r < 5; r++) {
    ck_assert_float_eq(os[r][0], 4.0f);         /* (1 + 3 + 8) / 3 */
    ck_assert_float_eq(os[r][1], -1.0f);        /* (2 + 4 - 9) / 3 */
    ASSERT_NEAR(lse[r], log(3.0), 1e-7);
  }
}
END_TEST

/* ---- dense attention and combine --------------------------------------------------------------- */

START_TEST(test_dense_by_hand) {
  /* D = 1, scale 1, K = (0, 1), V = (10, 20). Query q: S = (0, q), O = (10 + 20 e^q) / (1 + e^q),
   * LSE = ln(1 + e^q). */
  static const float q[2] = {1, 2}, k[2] = {0, 1}, v[2] = {10, 20};
  float o[2], lse[2];
  sla2_graph g;
  sla2_graph_build_dense(&g, 1, 1, 2, 1, 1.0f, true);
  const int64_t strides[4] = {2, 2, 1, 1};
  for (int slot = SLA2_SLOT_Q; slot <= SLA2_SLOT_O; slot++) sla2_graph_set_external(&g, slot, SLA2_F32, strides);
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_Q] = (void *)q, host[SLA2_SLOT_K] = (void *)k, host[SLA2_SLOT_V] = (void *)v;
  host[SLA2_SLOT_O] = o, host[SLA2_SLOT_LSE] = lse;
  run_all(&g, host);
  for (int r = 0; r < 2; r++) {
    double e = exp((double)q[r]);
    ASSERT_NEAR(o[r], (10.0 + 20.0 * e) / (1.0 + e), 2e-6);
    ASSERT_NEAR(lse[r], log(1.0 + e), 1e-6);
  }
}
END_TEST

START_TEST(test_combine_f16_output) {
  /* logit 0: a = 0.5. O = (OS + OL) / 2 stored as f16 with round half to even:
   * (1+0)/2 = 0.5 -> 0x3800; 1+2^-11 -> tie -> 1.0 (0x3C00); (3+1)/2 = 2 -> 0x4000; (-2+2)/2 = 0. */
  static const float os[4] = {1, 1 + 0x1p-11f, 3, -2}, ol[4] = {0, 1 + 0x1p-11f, 1, 2}, alpha[1] = {0};
  uint16_t o[4];
  sla2_graph g;
  graph_init(&g, 1, 1, 2, 2, 2, 2, 1);
  const int64_t strides[4] = {4, 4, 2, 1};
  sla2_graph_set_external(&g, SLA2_SLOT_O, SLA2_F16, strides);
  sla2_node *n = graph_add(&g, SLA2_OP_COMBINE);
  n->in[0] = SLA2_SLOT_OS, n->in[1] = SLA2_SLOT_OL, n->in[2] = SLA2_SLOT_ALPHA, n->out[0] = SLA2_SLOT_O;
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_OS] = (void *)os, host[SLA2_SLOT_OL] = (void *)ol, host[SLA2_SLOT_ALPHA] = (void *)alpha;
  host[SLA2_SLOT_O] = o;
  run_all(&g, host);
  static const uint16_t want[4] = {0x3800, 0x3C00, 0x4000, 0x0000};
  for (int i = 0; i < 4; i++) ck_assert_uint_eq(o[i], want[i]);
}
END_TEST

/* ---- whole forward graphs ---------------------------------------------------------------------- */

typedef struct forward_problem {
  sla2_graph g;
  void *host[SLA2_SLOT_COUNT];
  float *q, *k, *v, *o;  /* q, k, v in BNHD layout; o BHND */
} forward_problem;

static void forward_setup(forward_problem *p, int64_t B, int64_t H, int64_t N, int64_t D, double topk,
                          sla2_quant quant, sla2_alpha_granularity alpha) {
  sla2_config c;
  memset(&c, 0, sizeof c);
  c.topk = topk, c.block_q = 16, c.block_k = 16, c.feature_map = SLA2_FEATURE_SOFTMAX;
  c.smooth_k = true, c.quant = quant, c.alpha = alpha, c.router = SLA2_ROUTER_PER_LAYER, c.scale = 0.0;
  memset(p, 0, sizeof *p);
  sla2_graph_build_forward(&p->g, &c, B, H, N, D, 1);
  p->g.keep_intermediates = true;
  size_t count = (size_t)(B * H * N * D);
  const int64_t bnhd[4] = {N * H * D, D, H * D, 1}, bhnd[4] = {H * N * D, N * D, D, 1};
  sla2_graph_set_external(&p->g, SLA2_SLOT_Q, SLA2_F32, bnhd);
  sla2_graph_set_external(&p->g, SLA2_SLOT_K, SLA2_F32, bnhd);
  sla2_graph_set_external(&p->g, SLA2_SLOT_V, SLA2_F32, bnhd);
  sla2_graph_set_external(&p->g, SLA2_SLOT_O, SLA2_F32, bhnd);
  p->q = malloc(count * sizeof(float)), p->k = malloc(count * sizeof(float));
  p->v = malloc(count * sizeof(float)), p->o = malloc(count * sizeof(float));
  ck_assert(p->q && p->k && p->v && p->o);
  uint64_t seed = 12345;
  for (size_t i = 0; i < count; i++) {
    p->q[i] = 2.0f * next_value(&seed);
    p->k[i] = 1.5f + 2.0f * next_value(&seed);  /* a common offset that smoothing removes */
    p->v[i] = next_value(&seed);
  }
  p->host[SLA2_SLOT_Q] = p->q, p->host[SLA2_SLOT_K] = p->k, p->host[SLA2_SLOT_V] = p->v, p->host[SLA2_SLOT_O] = p->o;
  for (int slot = SLA2_SLOT_KS; slot < SLA2_SLOT_COUNT; slot++)
    if (p->g.tensors[slot].used) {
      p->host[slot] = calloc(p->g.tensors[slot].count, sla2_slot_dtype_size(p->g.tensors[slot].dtype));
      ck_assert(p->host[slot]);
    }
  float *wq = p->host[SLA2_SLOT_WQ], *wk = p->host[SLA2_SLOT_WK];
  for (int64_t d = 0; d < D; d++) wq[d * D + d] = wk[d * D + d] = 1.0f;
}

static void forward_free(forward_problem *p) {
  for (int slot = 0; slot < SLA2_SLOT_COUNT; slot++) free(p->host[slot]);
}

static float *slot_f32(forward_problem *p, int slot) { return p->host[slot]; }

START_TEST(test_k_equals_tn_is_dense) {
  /* topk 1: k = T_n. The sparse branch sees every key, the smoothing shift is softmax-invariant, so
   * O_s = dense attention on the raw K, and LSE_s = LSE_dense - s q . mean(K). The complement is
   * empty (O_l = 0), and logit 0 gives O = 0.5 O_s = 0.5 dense. */
  enum { B = 2, H = 2, N = 37, D = 8 };
  forward_problem p;
  forward_setup(&p, B, H, N, D, 1.0, SLA2_QUANT_NONE, SLA2_ALPHA_PER_HEAD);
  ck_assert_int_eq(p.g.k, p.g.Tn);
  run_all(&p.g, p.host);

  sla2_graph dense;
  sla2_graph_build_dense(&dense, B, H, N, D, p.g.scale, true);
  for (int slot = SLA2_SLOT_Q; slot <= SLA2_SLOT_O; slot++)
    sla2_graph_set_external(&dense, slot, SLA2_F32, p.g.tensors[slot].strides);
  float *od = malloc(sizeof(float) * B * H * N * D), *lsed = malloc(sizeof(float) * B * H * N);
  ck_assert(od && lsed);
  void *dh[SLA2_SLOT_COUNT] = {0};
  dh[SLA2_SLOT_Q] = p.q, dh[SLA2_SLOT_K] = p.k, dh[SLA2_SLOT_V] = p.v, dh[SLA2_SLOT_O] = od, dh[SLA2_SLOT_LSE] = lsed;
  run_all(&dense, dh);

  const int32_t *lut = p.host[SLA2_SLOT_LUT];
  for (int64_t i = 0; i < B * H * p.g.Tm * p.g.k; i++) ck_assert_int_eq(lut[i], i % p.g.k);
  const float *os = slot_f32(&p, SLA2_SLOT_OS), *ol = slot_f32(&p, SLA2_SLOT_OL);
  const float *lse = slot_f32(&p, SLA2_SLOT_LSE);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      double mean[D] = {0};
      for (int r = 0; r < N; r++)
        for (int d = 0; d < D; d++) mean[d] += p.k[((b * N + r) * H + h) * D + d] / (double)N;
      for (int r = 0; r < N; r++) {
        size_t row = (size_t)((b * H + h) * N + r);
        double shift = 0.0;
        for (int d = 0; d < D; d++) shift += (double)p.q[((b * N + r) * H + h) * D + d] * mean[d];
        ASSERT_NEAR(lse[row], lsed[row] - (double)p.g.scale * shift, 1e-5);
        for (int e = 0; e < D; e++) {
          size_t x = row * D + e;
          ASSERT_NEAR(os[x], od[x], 1e-6);
          ck_assert_float_eq(ol[x], 0.0f);
          ck_assert_float_eq(p.o[x], 0.5f * os[x]);
        }
      }
    }
  free(od);
  free(lsed);
  forward_free(&p);
}
END_TEST

START_TEST(test_alpha_extremes) {
  /* k = 1 of T_n = 3 (both branches non-trivial). Per-head logits: head 0 = 40 -> a = 1 in double
   * (1 + e^-40 rounds to 1), so O = O_s exactly; head 1 = -40 -> O = O_l up to a ~4e-18 term.
   * Per-block logits for head 0 (40, 0, -40): block 1 gets (O_s + O_l) / 2. In every quant mode. */
  enum { B = 1, H = 2, N = 40, D = 8 };
  const sla2_quant modes[3] = {SLA2_QUANT_NONE, SLA2_QUANT_INT8, SLA2_QUANT_INT8_FP8};
  for (int m = 0; m < 3; m++)
    for (int per_block = 0; per_block < 2; per_block++) {
      forward_problem p;
      forward_setup(&p, B, H, N, D, 0.34, modes[m], per_block ? SLA2_ALPHA_PER_BLOCK : SLA2_ALPHA_PER_HEAD);
      ck_assert_int_eq(p.g.Tn, 3);
      ck_assert_int_eq(p.g.k, 1);
      float *alpha = p.host[SLA2_SLOT_ALPHA];
      if (per_block) {
        const float logits[2][3] = {{40, 0, -40}, {-40, -40, -40}};
        memcpy(alpha, logits, sizeof logits);
      } else {
        alpha[0] = 40, alpha[1] = -40;
      }
      run_all(&p.g, p.host);
      const float *os = slot_f32(&p, SLA2_SLOT_OS), *ol = slot_f32(&p, SLA2_SLOT_OL);
      double ol_abs = 0.0;
      for (int h = 0; h < H; h++)
        for (int r = 0; r < N; r++)
          for (int e = 0; e < D; e++) {
            size_t x = (size_t)((h * N + r) * D + e);
            int block = r / 16;
            ol_abs += fabs(ol[x]);
            if (h == 0 && (!per_block || block == 0))
              ck_assert_float_eq(p.o[x], os[x]);
            else if (h == 0 && block == 1)
              ck_assert_float_eq(p.o[x], (float)(0.5 * os[x] + 0.5 * ol[x]));
            else
              ASSERT_NEAR(p.o[x], ol[x], 1e-12 + 1e-7 * fabs(ol[x]));
          }
      ck_assert_msg(ol_abs > 0.0, "linear branch is all zero: the test would not tell the branches apart");
      forward_free(&p);
    }
}
END_TEST

/* ---- argument checks --------------------------------------------------------------------------- */

START_TEST(test_bad_arguments) {
  float x[4] = {0}, out[4];
  sla2_graph g;
  graph_init(&g, 1, 1, 2, 2, 2, 2, 1);
  sla2_node *n = graph_add(&g, SLA2_OP_POOL);
  n->in[0] = SLA2_SLOT_Q, n->out[0] = SLA2_SLOT_QBAR, n->block = 2;
  void *host[SLA2_SLOT_COUNT] = {0};
  host[SLA2_SLOT_Q] = x;
  ck_assert_int_eq(sla2_ref_run(&g, 0, 1, host), SLA2_ERROR_INVALID_ARGUMENT);  /* QBAR has no memory */
  host[SLA2_SLOT_QBAR] = out;
  ck_assert_int_eq(sla2_ref_run(&g, 0, 1, host), SLA2_OK);
  ck_assert_int_eq(sla2_ref_run(NULL, 0, 1, host), SLA2_ERROR_INVALID_ARGUMENT);
  ck_assert_int_eq(sla2_ref_run(&g, 0, 2, host), SLA2_ERROR_INVALID_ARGUMENT);   /* past the last node */
  ck_assert_int_eq(sla2_ref_run(&g, -1, 1, host), SLA2_ERROR_INVALID_ARGUMENT);
  n->block = 0;
  ck_assert_int_eq(sla2_ref_run(&g, 0, 1, host), SLA2_ERROR_INVALID_ARGUMENT);
  n->block = 2;
  n->op = SLA2_OP_COUNT;                                                         /* unknown op */
  ck_assert_int_eq(sla2_ref_run(&g, 0, 1, host), SLA2_ERROR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(sla2_last_error(), "unknown op"));

  /* LUT entries out of range or out of order. */
  sla2_graph s;
  graph_init(&s, 1, 1, 4, 2, 4, 2, 2);
  sparse_graph(&s, SLA2_QUANT_NONE);
  float q[8] = {0}, lse[4], os[8];
  int32_t lut[2] = {0, 2};
  void *sh[SLA2_SLOT_COUNT] = {0};
  sh[SLA2_SLOT_Q] = q, sh[SLA2_SLOT_KS] = q, sh[SLA2_SLOT_V] = q, sh[SLA2_SLOT_LUT] = lut;
  sh[SLA2_SLOT_OS] = os, sh[SLA2_SLOT_LSE] = lse;
  ck_assert_int_eq(sla2_ref_run(&s, 0, 1, sh), SLA2_ERROR_INVALID_ARGUMENT);
  lut[0] = 1, lut[1] = 0;
  ck_assert_int_eq(sla2_ref_run(&s, 0, 1, sh), SLA2_ERROR_INVALID_ARGUMENT);
  lut[0] = 0, lut[1] = 1;
  ck_assert_int_eq(sla2_ref_run(&s, 0, 1, sh), SLA2_OK);
  s.Tn = 3;  /* inconsistent with N / bk */
  ck_assert_int_eq(sla2_ref_run(&s, 0, 1, sh), SLA2_ERROR_INVALID_ARGUMENT);
  s.Tn = 2;
  s.tensors[SLA2_SLOT_Q].dtype = SLA2_I32;  /* external views hold floats only */
  ck_assert_int_eq(sla2_ref_run(&s, 0, 1, sh), SLA2_ERROR_INVALID_ARGUMENT);
}
END_TEST

/* When a backend may fuse: the whole forward graph with nothing but the caller's slots observed,
 * for every quant mode; not with keep_intermediates, a part of the graph, a rewired node or the
 * dense graph. */
START_TEST(test_graph_is_whole_forward) {
  const sla2_quant quants[] = {SLA2_QUANT_NONE, SLA2_QUANT_INT8, SLA2_QUANT_INT8_FP8};
  for (int qi = 0; qi < 3; qi++) {
    forward_problem p;
    forward_setup(&p, 1, 2, 64, 16, 0.25, quants[qi], SLA2_ALPHA_PER_HEAD);
    sla2_graph *g = &p.g;
    ck_assert(!sla2_graph_is_whole_forward(g, 0, g->node_count)); /* forward_setup keeps intermediates */
    g->keep_intermediates = false;
    ck_assert(sla2_graph_is_whole_forward(g, 0, g->node_count));
    ck_assert(!sla2_graph_is_whole_forward(g, 0, g->node_count - 1));
    ck_assert(!sla2_graph_is_whole_forward(g, 1, g->node_count - 1));
    g->nodes[g->node_count - 1].in[1] = SLA2_SLOT_OS; /* COMBINE reading something else */
    ck_assert(!sla2_graph_is_whole_forward(g, 0, g->node_count));
    forward_free(&p);
  }
  sla2_graph dense;
  memset(&dense, 0, sizeof dense);
  sla2_graph_build_dense(&dense, 1, 2, 64, 16, 0.25f, true);
  ck_assert(!sla2_graph_is_whole_forward(&dense, 0, dense.node_count));
}
END_TEST

/* sla2_graph_find_node: the first node of an op, NULL when the graph has none. */
START_TEST(test_graph_find_node) {
  forward_problem p;
  forward_setup(&p, 1, 2, 64, 16, 0.25, SLA2_QUANT_INT8_FP8, SLA2_ALPHA_PER_HEAD);
  const sla2_graph *g = &p.g;
  const sla2_node *route = sla2_graph_find_node(g, SLA2_OP_ROUTE);
  ck_assert_ptr_nonnull(route);
  ck_assert_int_eq(route->op, SLA2_OP_ROUTE);
  for (const sla2_node *n = g->nodes; n < route; n++) ck_assert_int_ne(n->op, SLA2_OP_ROUTE);
  ck_assert_ptr_eq(sla2_graph_find_node(g, SLA2_OP_SMOOTH_K), &g->nodes[0]);
  ck_assert_ptr_null(sla2_graph_find_node(g, SLA2_OP_DENSE_ATTN));
  forward_free(&p);
  sla2_graph dense;
  memset(&dense, 0, sizeof dense);
  sla2_graph_build_dense(&dense, 1, 2, 64, 16, 0.25f, true);
  ck_assert_ptr_eq(sla2_graph_find_node(&dense, SLA2_OP_DENSE_ATTN), &dense.nodes[0]);
  ck_assert_ptr_null(sla2_graph_find_node(&dense, SLA2_OP_ROUTE));
}
END_TEST

Suite *suite_oracle(void) {
  Suite *s = suite_create("oracle");
  TCase *tc = tcase_create("formats");
  tcase_add_test(tc, test_e4m3_known_values);
  tcase_add_test(tc, test_e4m3_decode_round_trip);
  tcase_add_test(tc, test_f16_known_values);
  tcase_add_test(tc, test_bf16_known_values);
  tcase_add_test(tc, test_half_round_trip);
  suite_add_tcase(s, tc);

  tc = tcase_create("quantize");
  tcase_add_test(tc, test_quantize_int8_known_blocks);
  tcase_add_test(tc, test_quantize_fp8_known_channels);
  suite_add_tcase(s, tc);

  tc = tcase_create("rows");
  tcase_add_test(tc, test_pool_partial_block);
  tcase_add_test(tc, test_smooth_k_zero_means);
  tcase_add_test(tc, test_feature_maps);
  suite_add_tcase(s, tc);

  tc = tcase_create("router");
  tcase_add_test(tc, test_route_ties_and_order);
  tcase_add_test(tc, test_route_ranks_by_double);
  tcase_add_test(tc, test_route_per_head_weights);
  suite_add_tcase(s, tc);

  tc = tcase_create("branches");
  tcase_add_test(tc, test_linear_branch_by_hand);
  tcase_add_test(tc, test_sparse_int8_one_key);
  tcase_add_test(tc, test_sparse_two_keys_float_paths);
  tcase_add_test(tc, test_sparse_two_keys_fp8);
  tcase_add_test(tc, test_sparse_reads_only_selected_blocks);
  tcase_add_test(tc, test_dense_by_hand);
  tcase_add_test(tc, test_combine_f16_output);
  suite_add_tcase(s, tc);

  tc = tcase_create("forward");
  tcase_add_test(tc, test_k_equals_tn_is_dense);
  tcase_add_test(tc, test_alpha_extremes);
  tcase_add_test(tc, test_graph_is_whole_forward);
  tcase_add_test(tc, test_graph_find_node);
  suite_add_tcase(s, tc);

  tc = tcase_create("arguments");
  tcase_add_test(tc, test_bad_arguments);
  suite_add_tcase(s, tc);
  return s;
}
