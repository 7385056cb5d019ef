// SPARSE_ATTN (int8_fp8) and DENSE_ATTN (f16) on cooperative matrices (VK_NV_cooperative_matrix).
// Included by attention_coopmat_i8.comp (CM_INT8 1: S from INT8 codes, int32 accumulation) and
// attention_coopmat_f16.comp (CM_INT8 0: S from f16 Q and K, fp32 accumulation).
//
// Workgroup: SG subgroups of 32 (the host requires subgroup size 32), ROWS = 16 SG query rows of
// one query block; subgroup sg owns rows 16 sg .. 16 sg + 15 and keeps, in registers, their Q as
// A-matrices and their O as DH / 16 fp32 16x16 accumulators. The row's keys (the concatenation of
// its LUT blocks, as in attention.comp) pass through shared memory BC at a time:
//   1. K (codes or f16) and V (f16: FP8 codes decoded exactly) tiles into shared memory;
//   2. S = Q K^T per subgroup on the matrix units, stored to shared memory;
//   3. two invocations per row turn S into P = exp(S - m) (int8_fp8: rounded to E4M3 after the
//      448 scaling, exact in f16; dense: rounded to f16, ties to even) and update l, m;
//   4. O += P V on the matrix units.
// Dense uses the online softmax: O is rescaled per row by exp(m_old - m_new). Accumulator
// components map to rows through `rowidx`, a matrix of the same type loaded from row numbers (all
// matrices of one cooperative-matrix type share one component layout). int8_fp8 instead takes the
// row's exact max in a first, score-only pass, as the oracle does, and never rescales.
// O is normalized and converted while it is written out through shared memory.

#extension GL_NV_cooperative_matrix : require
#extension GL_NV_integer_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const uint DH = 128;  // head dim, a multiple of 32 (int8) or 16 (f16)
layout(constant_id = 2) const uint BC = 32;   // keys per chunk, a multiple of 32
layout(constant_id = 3) const bool Q_WORDS = false; // f16 Q / K / V whose channel pairs share a word
layout(constant_id = 4) const bool K_WORDS = false;
layout(constant_id = 5) const bool V_WORDS = false;
layout(constant_id = 6) const uint O_DT = 0;

const uint SG = WG / 32u;
const uint ROWS = SG * 16u;
const uint HALF = BC / 2u;                    // keys per invocation in the row pass
const uint SCOLS = BC / 16u;                  // 16-key column tiles of S
const uint OCOLS = DH / 16u;                  // 16-channel column tiles of O
const uint QROWS = ROWS > BC ? ROWS : BC;     // rows of the shared Q / K tile
#if CM_INT8
const uint KT = 32u;
const bool FP8 = true;
const bool DENSE = false;
#define QMAT icoopmatNV<8, gl_ScopeSubgroup, 16, 32>
#define KMAT icoopmatNV<8, gl_ScopeSubgroup, 32, 16>
#define SMAT icoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#else
const uint KT = 16u;
const bool FP8 = false;
const bool DENSE = true;
#define QMAT fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define KMAT fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define SMAT fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#endif
#define PMAT fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define OMAT fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
const uint QSTEPS = DH / KT;

layout(push_constant) uniform Push {
  uvec4 q_strides, k_strides, v_strides, o_strides;
  uint N, H, bq, bk, Tm, Tn, k, nsub;
  float scale;
  uint write_lse, o_pairs;
} pc;

layout(std430, binding = 0) readonly buffer Q { uint q[]; };     // INT8 codes, or f16 Q
layout(std430, binding = 1) readonly buffer K { uint kbuf[]; };  // INT8 codes, or f16 K
layout(std430, binding = 2) readonly buffer V { uint v[]; };     // FP8 codes, or f16 V
layout(std430, binding = 3) readonly buffer Lut { int lut[]; };
layout(std430, binding = 4) readonly buffer QScale { float qscale[]; };
layout(std430, binding = 5) readonly buffer KScale { float kscale[]; };
layout(std430, binding = 6) readonly buffer VScale { float vscale[]; };
layout(std430, binding = 7) buffer O { uint o[]; };
layout(std430, binding = 8) writeonly buffer Lse { float lse[]; };

SLA2_DEFINE_STORE(store_o, o)

#if CM_INT8
shared int8_t sh_qk[QROWS * DH];     // the Q tile at the start, then each chunk's K codes
shared int sh_s[SG * 16 * BC];       // S (integer dot products) per subgroup
#else
shared float16_t sh_qk[QROWS * DH];  // the Q tile at the start, then each chunk's K
shared float sh_s[SG * 16 * BC];     // S per subgroup
#endif
shared float16_t sh_v[BC * DH];
shared float16_t sh_p[SG * 16 * BC];
shared float sh_out[SG * 256];       // one 16 x 16 O tile per subgroup on its way out
shared float sh_rowidx[256];         // row numbers of a 16 x 16 tile
shared float sh_row[ROWS];           // per row: the rescale factor, then 1 / l
shared int sh_key[BC];               // key row of each chunk slot, -1 when masked
shared float sh_kscale[BC];          // s * sigma_q * sigma_k of the slot's key block

// Masked keys and the initial row max: a finite stand-in for -inf (the fast path avoids
// infinities: without SignedZeroInfNanPreserve, Vulkan does not promise IEEE infinity arithmetic).
// exp(MASKED - m) underflows to 0 for any real score m.
#define MASKED (-3.0e38)

float16_t half_of_bits(uint bits) { return unpackFloat2x16(bits).x; }

// Element i of an f16 tensor held in a uint array.
#define F16_AT(ARR, i) half_of_bits((ARR[(i) >> 1] >> (((i) & 1u) * 16u)) & 0xFFFFu)

// The workgroup's Q rows into sh_qk ([ROWS][DH]); rows past the block or N are zero.
void load_q(uint b, uint h, uint bh, uint row0, uint rows_here) {
  uint tid = gl_LocalInvocationID.x;
#if CM_INT8
  for (uint w = tid; w < ROWS * DH / 4u; w += WG) {
    uint rl = (4u * w) / DH, d = (4u * w) % DH;
    uint word = rl < rows_here ? q[((bh * pc.N + row0 + rl) * DH + d) >> 2] : 0u;
    for (uint c = 0u; c < 4u; c++) sh_qk[rl * DH + d + c] = int8_t(bitfieldExtract(int(word), int(8u * c), 8));
  }
#else
  for (uint x = tid; x < ROWS * DH / 2u; x += WG) {
    uint rl = (2u * x) / DH, d = (2u * x) % DH;
    f16vec2 pair = f16vec2(0.0);
    if (rl < rows_here) {
      uint at = sla2_index(pc.q_strides, b, h, row0 + rl, d);
      pair = Q_WORDS ? unpackFloat2x16(q[at >> 1]) : f16vec2(F16_AT(q, at), F16_AT(q, at + pc.q_strides.w));
    }
    sh_qk[rl * DH + d] = pair.x;
    sh_qk[rl * DH + d + 1u] = pair.y;
  }
#endif
}

// Chunk v0 of the row block's virtual keys: slot keys and scales, the K tile and (with_v) the V
// tile. Called in uniform control flow; ends with everything visible to the workgroup.
void load_chunk(uint v0, bool with_v, uint b, uint h, uint bh, uint lut_row, uint keys, float qs) {
  uint tid = gl_LocalInvocationID.x;
  barrier(); // the previous chunk is consumed
  if (tid < BC) {
    uint vk = v0 + tid, t = vk / pc.bk;
    uint j = DENSE ? t : uint(lut[lut_row + min(t, pc.k - 1u)]);
    uint c = j * pc.bk + vk % pc.bk;
    bool ok = vk < keys && c < pc.N;
    sh_key[tid] = ok ? int(c) : -1;
    sh_kscale[tid] = FP8 && ok ? qs * kscale[bh * pc.Tn + j] : qs;
  }
  barrier();
#if CM_INT8
  for (uint w = tid; w < BC * DH / 4u; w += WG) {
    uint slot = (4u * w) / DH, d = (4u * w) % DH;
    int c = sh_key[slot];
    uint at = (bh * pc.N + uint(max(c, 0))) * DH + d;
    uint kw = c >= 0 ? kbuf[at >> 2] : 0u;
    for (uint e = 0u; e < 4u; e++) sh_qk[slot * DH + d + e] = int8_t(bitfieldExtract(int(kw), int(8u * e), 8));
    if (with_v) {
      uint vw = c >= 0 ? v[at >> 2] : 0u;
      for (uint e = 0u; e < 4u; e++) sh_v[slot * DH + d + e] = float16_t(sla2_e4m3_to_f32((vw >> (8u * e)) & 0xFFu));
    }
  }
#else
  for (uint x = tid; x < BC * DH / 2u; x += WG) {
    uint slot = (2u * x) / DH, d = (2u * x) % DH;
    int c = sh_key[slot];
    f16vec2 kp = f16vec2(0.0), vp = f16vec2(0.0);
    if (c >= 0) {
      uint ka = sla2_index(pc.k_strides, b, h, uint(c), d), va = sla2_index(pc.v_strides, b, h, uint(c), d);
      kp = K_WORDS ? unpackFloat2x16(kbuf[ka >> 1]) : f16vec2(F16_AT(kbuf, ka), F16_AT(kbuf, ka + pc.k_strides.w));
      if (with_v)
        vp = V_WORDS ? unpackFloat2x16(v[va >> 1]) : f16vec2(F16_AT(v, va), F16_AT(v, va + pc.v_strides.w));
    }
    sh_qk[slot * DH + d] = kp.x;
    sh_qk[slot * DH + d + 1u] = kp.y;
    sh_v[slot * DH + d] = vp.x;
    sh_v[slot * DH + d + 1u] = vp.y;
  }
#endif
  barrier();
}

// S = Q K^T of subgroup sg's 16 rows against the chunk, into its sh_s region ([16][BC]).
void scores(QMAT qm[QSTEPS], uint sg) {
  for (uint c = 0u; c < SCOLS; c++) {
#if CM_INT8
    SMAT acc = SMAT(0);
#else
    SMAT acc = SMAT(0.0);
#endif
    for (uint s = 0u; s < QSTEPS; s++) {
      KMAT km; // K^T: rows are channels, columns keys; column-major over sh_qk's [key][channel]
      coopMatLoadNV(km, sh_qk, c * 16u * DH + s * KT, DH, true);
      acc = coopMatMulAddNV(qm[s], km, acc);
    }
    coopMatStoreNV(acc, sh_s, sg * 16u * BC + c * 16u, BC, false);
  }
  barrier();
}

// The invocation's HALF scaled scores of row `r` (MASKED where the slot is masked).
void row_scores(uint sg, uint r, uint half_, uint lane, out float s[HALF]) {
  for (uint t = 0u; t < HALF; t++) {
    uint slot = half_ * HALF + (t + lane) % HALF; // staggered: the 32 invocations hit distinct banks
    float raw = float(sh_s[(sg * 16u + r) * BC + slot]);
    s[t] = sh_key[slot] >= 0 ? raw * sh_kscale[slot] : MASKED;
  }
}

void main() {
  uint tid = gl_LocalInvocationID.x, sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  uint r = lane >> 1, half_ = lane & 1u; // the row (of 16) and half of the chunk in the row pass
  uint i = gl_WorkGroupID.x / pc.nsub, sub = gl_WorkGroupID.x % pc.nsub;
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  uint row0 = i * pc.bq + sub * ROWS;
  uint rows_here = uint(clamp(min(int(pc.bq) - int(sub * ROWS), int(pc.N) - int(row0)), 0, int(ROWS)));
  uint lut_row = (bh * pc.Tm + i) * pc.k, keys = pc.k * pc.bk;
  float qs = FP8 ? pc.scale * qscale[bh * pc.Tm + i] : pc.scale;

  for (uint x = tid; x < 256u; x += WG) sh_rowidx[x] = float(x / 16u);
  load_q(b, h, bh, row0, rows_here);
  barrier();
  QMAT qm[QSTEPS];
  for (uint s = 0u; s < QSTEPS; s++) coopMatLoadNV(qm[s], sh_qk, sg * 16u * DH + s * KT, DH, false);
  OMAT rowidx;
  coopMatLoadNV(rowidx, sh_rowidx, 0, 16, false);
  OMAT acc[OCOLS];
  for (uint j = 0u; j < OCOLS; j++) acc[j] = OMAT(0.0);

  float m = MASKED, l = 0.0, s[HALF];
  if (FP8) { // the exact row max first (the oracle's m for the E4M3 rounding of P)
    for (uint v0 = 0u; v0 < keys; v0 += BC) {
      load_chunk(v0, false, b, h, bh, lut_row, keys, qs);
      scores(qm, sg);
      row_scores(sg, r, half_, lane, s);
      for (uint t = 0u; t < HALF; t++) m = max(m, s[t]);
    }
    m = max(m, subgroupShuffleXor(m, 1u));
  }

  for (uint v0 = 0u; v0 < keys; v0 += BC) {
    load_chunk(v0, true, b, h, bh, lut_row, keys, qs);
    scores(qm, sg);
    row_scores(sg, r, half_, lane, s);
    float m_new = m;
    if (!FP8) {
      for (uint t = 0u; t < HALF; t++) m_new = max(m_new, s[t]);
      m_new = max(m_new, subgroupShuffleXor(m_new, 1u));
    }
    float lsum = 0.0;
    for (uint t = 0u; t < HALF; t++) {
      uint slot = half_ * HALF + (t + lane) % HALF;
      float p = s[t] == MASKED ? 0.0 : exp(s[t] - m_new);
      lsum += p;
      float pq = FP8 ? sla2_e4m3_round(SLA2_FP8_P_SCALE * p) : p;
      sh_p[(sg * 16u + r) * BC + slot] = half_of_bits(sla2_f32_to_f16(pq));
    }
    lsum += subgroupShuffleXor(lsum, 1u);
    float corr = FP8 ? 1.0 : m == MASKED ? 0.0 : exp(m - m_new);
    l = l * corr + lsum;
    m = m_new;
    if (half_ == 0u) sh_row[sg * 16u + r] = corr;
    barrier();
    if (!FP8)
      for (int e = 0; e < rowidx.length(); e++) {
        float f = sh_row[sg * 16u + uint(rowidx[e])];
        for (uint j = 0u; j < OCOLS; j++) acc[j][e] *= f;
      }
    for (uint kk = 0u; kk < BC / 16u; kk++) {
      PMAT pm;
      coopMatLoadNV(pm, sh_p, sg * 16u * BC + kk * 16u, BC, false);
      for (uint j = 0u; j < OCOLS; j++) {
        PMAT vm;
        coopMatLoadNV(vm, sh_v, kk * 16u * DH + j * 16u, DH, false);
        acc[j] = coopMatMulAddNV(pm, vm, acc[j]);
      }
    }
  }

  barrier();
  uint row_local = sg * 16u + r;
  if (half_ == 0u) {
    sh_row[row_local] = 1.0 / l;
    if (row_local < rows_here && pc.write_lse != 0u) lse[bh * pc.N + row0 + row_local] = m + log(l);
  }
  for (uint j = 0u; j < OCOLS; j++) {
    coopMatStoreNV(acc[j], sh_out, sg * 256u, 16, false);
    barrier();
    for (uint e = 2u * lane; e < 256u; e += 64u) { // two channels per invocation
      uint rl = sg * 16u + e / 16u, d = j * 16u + e % 16u;
      if (rl >= rows_here) continue;
      float o0 = sh_out[sg * 256u + e], o1 = sh_out[sg * 256u + e + 1u];
      if (FP8) {
        o0 = o0 * vscale[bh * DH + d] / SLA2_FP8_P_SCALE;
        o1 = o1 * vscale[bh * DH + d + 1u] / SLA2_FP8_P_SCALE;
      }
      o0 *= sh_row[rl];
      o1 *= sh_row[rl];
      uint at = sla2_index(pc.o_strides, b, h, row0 + rl, d);
      if (O_DT != DT_F32 && pc.o_pairs != 0u) {
        store_o2(O_DT, at, o0, o1);
      } else {
        store_o(O_DT, at, o0);
        store_o(O_DT, at + pc.o_strides.w, o1);
      }
    }
    barrier();
  }
}
