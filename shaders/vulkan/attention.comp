// SPARSE_ATTN and DENSE_ATTN (baseline path): flash attention over the key blocks of a row's LUT
// (every key block for DENSE), with an online softmax.
//
// Workgroup (query sub-tile, h, b): R = WG / TPR query rows of one query block, TPR invocations
// per row. Invocation `lane` of a row owns channels lane, lane + TPR, ... (DL = DH / TPR of them)
// of q and of the output accumulator, in registers. The row's keys are the concatenation of its
// LUT blocks (virtual key v -> block LUT[v / bk], row (v % bk) of it; rows past N are masked);
// they pass through shared memory KC at a time as f32 tiles of K~ (or K) and V. Scores are partial
// dot products over each lane's channels, summed over the TPR lanes through shared memory.
//
// Quant modes: none / dense: f32 arithmetic on the loaded values. int8: codes of Q and K~ (their
// products sum exactly in f32: |sum| <= 256 * 127^2 < 2^24), S = s sigma_q sigma_k dot.
// int8_fp8: additionally P~ = exp(S - m) rounded to E4M3 after scaling by 448 times the decoded
// FP8 V; l sums the unrounded P~; O_s = acc sigma_v / 448 / l. Here m is the row's exact max
// from a first, score-only pass (as the oracle), not the running max of the online softmax.
#version 450
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const uint TPR = 4;   // invocations per query row
layout(constant_id = 2) const uint DH = 128;  // head dim
layout(constant_id = 3) const uint KC = 16;   // keys per chunk
layout(constant_id = 4) const uint QMODE = 0; // SLA2_QMODE_*
layout(constant_id = 5) const bool DENSE = false;
layout(constant_id = 6) const uint Q_DT = 0;
layout(constant_id = 7) const uint K_DT = 0;
layout(constant_id = 8) const uint V_DT = 0;
layout(constant_id = 9) const uint O_DT = 0;

const uint R = WG / TPR;  // query rows per workgroup
const uint DL = DH / TPR; // channels per invocation
const bool INT8 = QMODE != SLA2_QMODE_NONE;
const bool FP8 = QMODE == SLA2_QMODE_INT8_FP8;
#define NEG_INF uintBitsToFloat(0xFF800000u)

layout(push_constant) uniform Push {
  uvec4 q_strides, k_strides, v_strides, o_strides;
  uint N, H, bq, bk, Tm, Tn, k, nsub;
  float scale;
  uint write_lse;
} pc;

layout(std430, binding = 0) readonly buffer Q { uint q[]; };     // Q (ext) or its INT8 codes
layout(std430, binding = 1) readonly buffer K { uint kbuf[]; };  // KS, K (dense) or INT8 codes
layout(std430, binding = 2) readonly buffer V { uint v[]; };     // V (ext) or FP8 codes
layout(std430, binding = 3) readonly buffer Lut { int lut[]; };
layout(std430, binding = 4) readonly buffer QScale { float qscale[]; };
layout(std430, binding = 5) readonly buffer KScale { float kscale[]; };
layout(std430, binding = 6) readonly buffer VScale { float vscale[]; };
layout(std430, binding = 7) buffer O { uint o[]; };              // OS (f32) or O (ext, dense)
layout(std430, binding = 8) writeonly buffer Lse { float lse[]; };

SLA2_DEFINE_LOAD(load_q, q)
SLA2_DEFINE_LOAD(load_k, kbuf)
SLA2_DEFINE_LOAD(load_v, v)
SLA2_DEFINE_STORE(store_o, o)

shared float sh_k[KC * DH];
shared float sh_v[KC * DH];
shared float sh_part[TPR > 1u ? WG * KC : 1u];
shared int sh_key[KC];      // key row of each chunk slot, -1 when masked
shared float sh_kscale[KC]; // int8: s * sigma_q * sigma_k of the slot's key block

// Signed byte i of a buffer of packed INT8 codes.
#define CODE_AT(ARR, i) float(bitfieldExtract(int(ARR[(i) >> 2]), int(((i) & 3u) * 8u), 8))

// Loads chunk v0 of the row's virtual keys into shared memory: slot keys and scales, K tile and
// (WITH_V) V tile. Called in uniform control flow; ends with the tiles visible to the workgroup.
void load_chunk(uint v0, bool with_v, uint b, uint h, uint bh, uint lut_row, uint keys, float qs) {
  uint tid = gl_LocalInvocationID.x;
  barrier(); // the previous chunk's tiles are consumed
  if (tid < KC) {
    uint vk = v0 + tid, t = vk / pc.bk;
    uint j = DENSE ? t : uint(lut[lut_row + min(t, pc.k - 1u)]);
    uint c = j * pc.bk + vk % pc.bk;
    bool ok = vk < keys && c < pc.N;
    sh_key[tid] = ok ? int(c) : -1;
    sh_kscale[tid] = INT8 && ok ? qs * kscale[bh * pc.Tn + j] : qs;
  }
  barrier();
  for (uint x = tid; x < KC * DH; x += WG) {
    uint slot = x / DH, d = x % DH;
    int c = sh_key[slot];
    float kx = 0.0, vx = 0.0;
    if (c >= 0) {
      uint cu = uint(c);
      kx = INT8 ? CODE_AT(kbuf, (bh * pc.N + cu) * DH + d) : load_k(K_DT, sla2_index(pc.k_strides, b, h, cu, d));
      if (with_v && FP8) {
        uint at = (bh * pc.N + cu) * DH + d;
        vx = sla2_e4m3_to_f32((v[at >> 2] >> ((at & 3u) * 8u)) & 0xFFu);
      } else if (with_v) {
        vx = load_v(V_DT, sla2_index(pc.v_strides, b, h, cu, d));
      }
    }
    sh_k[x] = kx;
    sh_v[x] = vx;
  }
  barrier();
}

// Scaled scores of this invocation's row against the chunk's KC slots (masked slots included).
void chunk_scores(float qv[DL], uint row_local, uint lane, out float s[KC]) {
  for (uint slot = 0u; slot < KC; slot++) {
    float part = 0.0;
    for (uint c = 0u; c < DL; c++) part += qv[c] * sh_k[slot * DH + lane + c * TPR];
    s[slot] = part;
  }
  if (TPR > 1u) {
    uint tid = gl_LocalInvocationID.x;
    for (uint slot = 0u; slot < KC; slot++) sh_part[tid * KC + slot] = s[slot];
    barrier();
    for (uint slot = 0u; slot < KC; slot++) {
      float sum = 0.0;
      for (uint ln = 0u; ln < TPR; ln++) sum += sh_part[(row_local * TPR + ln) * KC + slot];
      s[slot] = sum;
    }
    barrier(); // sh_part is rewritten by the next chunk
  }
  for (uint slot = 0u; slot < KC; slot++) s[slot] *= sh_kscale[slot];
}

void main() {
  uint tid = gl_LocalInvocationID.x, row_local = tid / TPR, lane = tid % TPR;
  uint i = gl_WorkGroupID.x / pc.nsub, sub = gl_WorkGroupID.x % pc.nsub;
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  uint in_block = sub * R + row_local, r = i * pc.bq + in_block;
  bool live = in_block < pc.bq && r < pc.N;
  uint rr = live ? r : i * pc.bq; // a valid row for the loads of idle invocations

  float qv[DL], acc[DL];
  for (uint c = 0u; c < DL; c++) {
    uint d = lane + c * TPR;
    qv[c] = INT8 ? CODE_AT(q, (bh * pc.N + rr) * DH + d) : load_q(Q_DT, sla2_index(pc.q_strides, b, h, rr, d));
    acc[c] = 0.0;
  }
  float qs = INT8 ? pc.scale * qscale[bh * pc.Tm + i] : pc.scale;
  float m = NEG_INF, l = 0.0;
  uint lut_row = (bh * pc.Tm + i) * pc.k, keys = pc.k * pc.bk;
  float s[KC];

  // int8_fp8 rounds 448 exp(S - m) to E4M3, so m must be the row's true max (the oracle's
  // definition) before any probability is formed: a first pass over the scores alone.
  if (FP8) {
    for (uint v0 = 0u; v0 < keys; v0 += KC) {
      load_chunk(v0, false, b, h, bh, lut_row, keys, qs);
      chunk_scores(qv, row_local, lane, s);
      for (uint slot = 0u; slot < KC; slot++)
        if (sh_key[slot] >= 0) m = max(m, s[slot]);
    }
  }

  for (uint v0 = 0u; v0 < keys; v0 += KC) {
    load_chunk(v0, true, b, h, bh, lut_row, keys, qs);
    chunk_scores(qv, row_local, lane, s);
    if (!FP8) { // online softmax: rescale what was accumulated under the previous max
      float m_new = m;
      for (uint slot = 0u; slot < KC; slot++)
        if (sh_key[slot] >= 0) m_new = max(m_new, s[slot]);
      float corr = m == NEG_INF ? 0.0 : exp(m - m_new);
      l *= corr;
      for (uint c = 0u; c < DL; c++) acc[c] *= corr;
      m = m_new;
    }
    for (uint slot = 0u; slot < KC; slot++) {
      if (sh_key[slot] < 0) continue;
      float p = exp(s[slot] - m);
      l += p;
      if (FP8) p = sla2_e4m3_round(SLA2_FP8_P_SCALE * p);
      for (uint c = 0u; c < DL; c++) acc[c] += p * sh_v[slot * DH + lane + c * TPR];
    }
  }

  if (!live) return;
  for (uint c = 0u; c < DL; c++) {
    uint d = lane + c * TPR;
    float val = FP8 ? acc[c] * vscale[bh * DH + d] / SLA2_FP8_P_SCALE / l : acc[c] / l;
    store_o(O_DT, sla2_index(pc.o_strides, b, h, r, d), val);
  }
  if (lane == 0u && pc.write_lse != 0u) lse[bh * pc.N + r] = m + log(l);
}
