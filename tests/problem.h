/* The conformance case table and one problem instance per case: seeded inputs and the oracle's
 * value of every graph slot. */
#ifndef SLA2_TESTS_PROBLEM_H
#define SLA2_TESTS_PROBLEM_H

#include "core/graph.h"
#include "harness.h"

typedef struct conf_case {
  const char *name;
  int64_t B, H, N, D;
  int bq, bk;
  double topk;
  sla2_feature_map feature_map;
  sla2_quant quant;
  bool smooth_k;
  sla2_alpha_granularity alpha;
  sla2_router_sharing router;
  sla2_dtype dtype;   /* q, k, v and o */
  sla2_layout layout; /* q, k, v */
} conf_case;

extern const conf_case conf_cases[];
extern const size_t conf_case_count;

typedef struct problem {
  const conf_case *c;
  sla2_config config;
  sla2_graph graph;               /* keep_intermediates; externals described */
  void *host[SLA2_SLOT_COUNT];    /* inputs, and after problem_init the oracle's value of every slot */
  size_t bytes[SLA2_SLOT_COUNT];
  int64_t in_strides[4];          /* q, k, v */
} problem;

/* Builds the graph, fills Q, K, V, W_q, W_k and alpha from a seed, runs the oracle. */
void problem_init(problem *p, const conf_case *c, uint64_t seed);
void problem_free(problem *p);

/* Floats of an f32 slot, or of an external slot converted to f32 in BHND order (fresh malloc). */
float *problem_slot_as_f32(const problem *p, int slot, const void *data);

/* Test-only layout of q, k and v: BHND with rows of D + 1 elements, so in a 16-bit tensor the
 * channel pairs of every other row straddle 32-bit words (the backends' unaligned load paths). */
#define ODD_ROWS ((sla2_layout)0x100)

/* Row-major [B,H,N,D] strides of a layout (ODD_ROWS: rows padded by one element). */
void layout_strides(sla2_layout layout, const int64_t shape[4], int64_t out[4]);

/* Expected NMSE bound for the final output and the sparse branch of a case. */
double output_nmse_bound(const conf_case *c);

/* When the device's LUT row differs from the oracle's only through a near-tie of the oracle's
 * scores, downstream slots may legitimately differ; returns true in that case, fails the test
 * when the difference is real. */
bool lut_differs_by_tie(const problem *p, const int32_t *got, const char *device);

#endif
