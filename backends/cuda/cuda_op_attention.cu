/* CUDA backend: SPARSE_ATTN and DENSE_ATTN. Fills attn_args from the node and picks the kernel:
 * on a cc 9.0 device built with sm_90a, the wgmma kernel (cuda_attn_wgmma.cu) where it takes the
 * arguments (dense or quant none: 16-bit Q, V; int8: 16-bit V; int8_fp8; D 64 or 128; sparse:
 * bq 64 or 128, bk <= 128; TMA-aligned views; its shared memory fits the device); else
 * the sm_80 tensor-core kernel (cuda_attn_mma.cu) wherever its precision meets the contract
 * (f16/bf16 inputs, any quant mode; f32 inputs with int8_fp8); else the exact SIMT kernel below
 * (f32 inputs with quant none or int8, D > 128, views the vector loads cannot take).
 *
 * SIMT kernel: one warp per query row, lanes over channels (D <= 256: 8 per lane). Scores and
 * the softmax in f32 with natural exp like the oracle. int8_fp8 takes two passes over the keys
 * (the exact row max first), which is the oracle's rounding of P~ to E4M3 exactly. */
#include <math.h>
#include <string.h>

#include "backends/cuda/cuda_attention.cuh"
#include "core/error.h"

#define SIMT_WARPS 4

__device__ inline float simt_score(const attn_args &a, int b, int h, int bh, int n, int key, int blk,
                                   const float *qv, const int *qcv, float qfac) {
  const int lane = threadIdx.x % 32;
  if (a.quant == SLA2_QMODE_NONE) {
    float s = 0.0f;
#pragma unroll
    for (int u = 0; u < 8; u++) {
      const int d = lane + 32 * u;
      if (d < a.D) s = fmaf(qv[u], t4_load(a.k, b, h, key, d), s);
    }
    return warp_sum(s) * a.scale;
  }
  int s = 0;
  const int8_t *kr = a.kc + ((long long)bh * a.N + key) * a.D;
#pragma unroll
  for (int u = 0; u < 8; u++) {
    const int d = lane + 32 * u;
    if (d < a.D) s += qcv[u] * (int)kr[d];
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  return qfac * a.ks[(long long)bh * a.Tn + blk] * (float)s;
}

__global__ void __launch_bounds__(SIMT_WARPS * 32) attn_simt_kernel(attn_args a) {
  const int i = blockIdx.x, bh = blockIdx.y, b = bh / a.H, h = bh % a.H;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int begin = i * a.rows, end = min(a.N, begin + a.rows);
  const int *lut_row = a.lut ? a.lut + ((long long)bh * a.Tm + i) * a.nsel : NULL;
  const int total = attn_total_keys(a, bh, i);
  const bool fp8 = a.quant == SLA2_QMODE_INT8_FP8;
  const float qfac = a.quant != SLA2_QMODE_NONE ? a.scale * a.qs[(long long)bh * a.Tm + i] : 0.0f;
  for (int n = begin + warp; n < end; n += SIMT_WARPS) {
    float qv[8], acc[8];
    int qcv[8];
#pragma unroll
    for (int u = 0; u < 8; u++) {
      const int d = lane + 32 * u;
      acc[u] = 0.0f;
      qv[u] = (a.quant == SLA2_QMODE_NONE && d < a.D) ? t4_load(a.q, b, h, n, d) : 0.0f;
      qcv[u] = (a.quant != SLA2_QMODE_NONE && d < a.D) ? (int)a.qc[((long long)bh * a.N + n) * a.D + d] : 0;
    }
    float m = -INFINITY, l = 0.0f;
    if (fp8) { /* pass 1: the exact row max */
      for (int p = 0; p < total; p++) {
        int blk;
        const int key = attn_key(a, lut_row, p, &blk);
        m = fmaxf(m, simt_score(a, b, h, bh, n, key, blk, qv, qcv, qfac));
      }
    }
    for (int p = 0; p < total; p++) {
      int blk;
      const int key = attn_key(a, lut_row, p, &blk);
      const float s = simt_score(a, b, h, bh, n, key, blk, qv, qcv, qfac);
      if (fp8) {
        const float pt = expf(s - m);
        l += pt;
        const float p8 = e4m3_to_f32(f32_to_e4m3(SLA2_FP8_P_SCALE * pt));
        const uint8_t *vr = a.vc + ((long long)bh * a.N + key) * a.D;
#pragma unroll
        for (int u = 0; u < 8; u++) {
          const int d = lane + 32 * u;
          if (d < a.D) acc[u] = fmaf(p8, e4m3_to_f32(vr[d]), acc[u]);
        }
        continue;
      }
      if (s > m) { /* new max: rescale what we have */
        const float c = expf(m - s);
        l *= c;
#pragma unroll
        for (int u = 0; u < 8; u++) acc[u] *= c;
        m = s;
      }
      const float pe = expf(s - m);
      l += pe;
#pragma unroll
      for (int u = 0; u < 8; u++) {
        const int d = lane + 32 * u;
        if (d < a.D) acc[u] = fmaf(pe, t4_load(a.v, b, h, key, d), acc[u]);
      }
    }
#pragma unroll
    for (int u = 0; u < 8; u++) {
      const int d = lane + 32 * u;
      if (d >= a.D) continue;
      float o = acc[u] / l;
      if (fp8) o = acc[u] * (a.vs[(long long)bh * a.D + d] / SLA2_FP8_P_SCALE) / l;
      t4_store(a.o, b, h, n, d, o);
    }
    if (a.lse && lane == 0) attn_store_lse(a, bh, n, m + logf(l));
  }
}

sla2_status attn_simt_launch(const attn_args &a, cuda_device_ctx *dev, long long BH) {
  attn_simt_kernel<<<dim3((unsigned)a.Tm, (unsigned)BH), SIMT_WARPS * 32, 0, dev->stream>>>(a);
  return cuda_check_launch("attention (simt)");
}

static attn_args args_of(const cuda_exec *x, const sla2_node *node) {
  const sla2_graph *g = x->g;
  attn_args a;
  memset(&a, 0, sizeof a);
  const bool dense = node->op == SLA2_OP_DENSE_ATTN;
  a.H = (int)g->H, a.N = (int)g->N, a.D = (int)g->D;
  a.scale = g->scale;
  a.o = cuda_t4_of(x, node->out[0]);
  a.lse = node->out[1] >= 0 ? (float *)x->buf[node->out[1]] : NULL;
  if (dense) {
    a.rows = 64, a.Tm = (a.N + 63) / 64, a.bk = a.N, a.Tn = 1, a.nsel = 1, a.quant = SLA2_QMODE_NONE;
  } else {
    a.rows = (int)g->bq, a.Tm = (int)g->Tm, a.bk = (int)g->bk, a.Tn = (int)g->Tn, a.nsel = (int)g->k;
    a.quant = (int)g->quant;
    a.lut = (const int *)x->buf[node->in[3]];
  }
  if (a.quant == SLA2_QMODE_NONE) {
    a.q = cuda_t4_of(x, node->in[0]);
    a.k = cuda_t4_of(x, node->in[1]);
  } else {
    a.qc = (const int8_t *)x->buf[node->in[4]], a.qs = (const float *)x->buf[node->in[5]];
    a.kc = (const int8_t *)x->buf[node->in[6]], a.ks = (const float *)x->buf[node->in[7]];
  }
  if (a.quant == SLA2_QMODE_INT8_FP8)
    a.vc = (const uint8_t *)x->buf[node->in[8]], a.vs = (const float *)x->buf[node->in[9]];
  else
    a.v = cuda_t4_of(x, node->in[2]);
  return a;
}

extern "C" const char *cuda_attention_path(const cuda_exec *x, const sla2_node *node) {
  const attn_args a = args_of(x, node);
  if (attn_wgmma_supported(a, x->dev)) return "wgmma";
  return attn_mma_supported(a, x->dev) ? "mma" : "simt";
}

static sla2_status dispatch(const attn_args &a, const cuda_exec *x) {
  const long long BH = x->g->B * x->g->H;
  if (attn_wgmma_supported(a, x->dev)) return attn_wgmma_launch(a, x->dev, BH);
  if (attn_mma_supported(a, x->dev)) return attn_mma_launch(a, x->dev, BH);
  return attn_simt_launch(a, x->dev, BH);
}

extern "C" sla2_status cuda_op_attention(const cuda_exec *x, const sla2_node *node) {
  return dispatch(args_of(x, node), x);
}

extern "C" sla2_status cuda_op_attention_raw_k(const cuda_exec *x, const sla2_node *node, cuda_t4 k,
                                               const float *lse_shift) {
  attn_args a = args_of(x, node);
  if (a.quant != SLA2_QMODE_NONE || k.dtype != a.q.dtype)
    return sla2_fail(SLA2_ERROR_UNSUPPORTED, "cuda: raw-K attention takes quant none and K in Q's type");
  a.k = k;
  a.lse_shift = a.lse ? lse_shift : NULL;
  return dispatch(a, x);
}
