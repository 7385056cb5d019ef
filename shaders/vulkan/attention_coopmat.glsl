// SPARSE_ATTN (int8_fp8), DENSE_ATTN (f16) and SPARSE_ATTN of quant `none` on the raw f16 K (a
// whole forward, vk_run.raw_k) on subgroup-scope cooperative matrices.
// Included by attention_coopmat_i8.comp (CM_INT8 1: S from INT8 codes, int32 accumulation) and
// attention_coopmat_f16.comp (CM_INT8 0: S from f16 Q and K, fp32 accumulation), both on
// VK_NV_cooperative_matrix, and by attention_coopmat_khr_i8.comp / attention_coopmat_khr_f16.comp
// (CM_KHR 1) on VK_KHR_cooperative_matrix. The two extensions differ in spelling (the CM_*
// macros below) and in one rule: KHR matrices carry their use (A, B or accumulator) in their
// type and cannot be converted from one use to another, so P goes from its accumulator to an
// A matrix through the subgroup's shared scratch (to_a).
//
// Workgroup: SG subgroups of 32 (the host requires subgroup size 32) own ROWS = 16 SG query rows
// of one query block; subgroup sg owns rows 16 sg .. 16 sg + 15 and keeps their Q (A-matrices),
// their O (DH / 16 fp32 16x16 accumulators) and their per-element softmax sums in registers.
// The row's keys (the concatenation of its LUT blocks; dense: all keys) pass through shared
// memory BC = 64 at a time, loaded 16 bytes per invocation and row-padded by 16 bytes so the
// matrix loads of consecutive rows hit different banks. Per tile and subgroup:
//   1. S = Q K^T: 4 accumulators of 16 x 16, scaled and masked in registers;
//   2. row maxima: the element-wise max of the 4 accumulators goes through a 1 KiB shared
//      scratch, two lanes per row reduce it, and every element reads back its row's new max and
//      rescale factor (online softmax). int8_fp8 instead takes the exact row max first, in a
//      pass over the K tiles alone (S only; an element-wise running max, reduced once), as the
//      oracle rounds P to E4M3 at that max, and then never rescales, so it goes through S one
//      16 x 16 block at a time (steps 1 to 3 per block: fewer live registers);
//   3. P = exp(S - m) in registers (int8_fp8: E4M3 of 448 P, exact in f16), converted to f16
//      A-matrices, and O += P V on the matrix units (int8_fp8's V in f16 at 2^-8 of its E4M3
//      value, see e4m3x2_to_f16x2).
// Elements map to rows and columns through `rowidx` / `colidx`, matrices of the accumulator type
// loaded from row / column numbers (all matrices of one type share one element layout); the
// integer S is converted element-wise to that type. O is normalized and converted while it is
// written out through the subgroup's scratch.

#if CM_KHR
#extension GL_KHR_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_int32 : require
#else
#extension GL_NV_cooperative_matrix : require
#extension GL_NV_integer_cooperative_matrix : require
#endif
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const uint DH = 128;     // head dim, a multiple of 32 (int8) or 16 (f16)
layout(constant_id = 2) const bool Q_VEC = false; // f16 tensor whose 8-channel runs are 16-byte words
layout(constant_id = 3) const bool K_VEC = false;
layout(constant_id = 4) const bool V_VEC = false;
layout(constant_id = 5) const uint O_DT = 0;
// f16 variant: keys from the LUT (SPARSE_ATTN of quant `none` on the raw K, whose scores differ
// from the contract's by smooth_k's per-row constant s q . mean_N(K)); LSE_SHIFT: that constant
// is in the LSE buffer on entry and comes off the log-sum-exp.
layout(constant_id = 6) const bool F16_SPARSE = false;
layout(constant_id = 7) const bool LSE_SHIFT = false;

const uint SG = WG / 32u;
const uint ROWS = SG * 16u; // query rows per workgroup (Q is staged in the K tile, BC rows at a time)
const uint BC = 64u;        // keys per tile
const uint SCOLS = BC / 16u;
const uint OCOLS = DH / 16u;
// Matrix types: Q (A), K^T (B), S's accumulator, P (A), V (B), f32 accumulators (O, S as f32).
#if CM_KHR
#define CM(T, R, C, USE) coopmat<T, gl_ScopeSubgroup, R, C, gl_MatrixUse##USE>
#define CM_LAYOUT(col_major) ((col_major) ? gl_CooperativeMatrixLayoutColumnMajor : gl_CooperativeMatrixLayoutRowMajor)
#define CM_LOAD(m, arr, at, stride, col_major) coopMatLoad(m, arr, at, stride, CM_LAYOUT(col_major))
#define CM_STORE(m, arr, at, stride, col_major) coopMatStore(m, arr, at, stride, CM_LAYOUT(col_major))
#define CM_MULADD(a, b, c) coopMatMulAdd(a, b, c)
#else
#define CM_LOAD(m, arr, at, stride, col_major) coopMatLoadNV(m, arr, at, stride, col_major)
#define CM_STORE(m, arr, at, stride, col_major) coopMatStoreNV(m, arr, at, stride, col_major)
#define CM_MULADD(a, b, c) coopMatMulAddNV(a, b, c)
#endif
#if CM_INT8
const uint KT = 32u;
const bool FP8 = true;
const bool DENSE = false;
const uint QWORDS = DH / 16u;      // 16-byte words per Q / K row
#if CM_KHR
#define QMAT CM(int8_t, 16, 32, A)
#define KMAT CM(int8_t, 32, 16, B)
#define SMAT CM(int32_t, 16, 16, Accumulator)
#else
#define QMAT icoopmatNV<8, gl_ScopeSubgroup, 16, 32>
#define KMAT icoopmatNV<8, gl_ScopeSubgroup, 32, 16>
#define SMAT icoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#endif
#else
const uint KT = 16u;
const bool FP8 = false;
const bool DENSE = !F16_SPARSE;
const uint QWORDS = DH / 8u;
#if CM_KHR
#define QMAT CM(float16_t, 16, 16, A)
#define KMAT CM(float16_t, 16, 16, B)
#define SMAT CM(float, 16, 16, Accumulator)
#else
#define QMAT fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define KMAT fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define SMAT fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#endif
#endif
#if CM_KHR
#define PMAT CM(float16_t, 16, 16, A)
#define VMAT CM(float16_t, 16, 16, B)
#define OMAT CM(float, 16, 16, Accumulator)
#else
#define PMAT fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define VMAT fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define OMAT fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#endif
// Shared tiles are uvec4 arrays (matrix loads reinterpret them); rows are padded by one word.
const uint KROW = QWORDS + 1u;     // words per K / Q row
const uint VROW = DH / 8u + 1u;    // words per f16 V row
const uint QSTEPS = DH / KT;
const uint KSTEP = 2u;             // words per KT channels (32 bytes in both variants)

layout(push_constant) uniform Push {
  uvec4 q_strides, k_strides, v_strides, o_strides;
  uint N, H, bq, bk, Tm, Tn, k, nsub;
  float scale;
  uint write_lse, o_pairs;
} pc;

// Each input is seen as 32-bit words and as 16-byte words (same binding).
layout(std430, binding = 0) readonly buffer Q { uint q[]; };     // INT8 codes, or f16 Q
layout(std430, binding = 0) readonly buffer Q4 { uvec4 q4[]; };
layout(std430, binding = 1) readonly buffer K { uint kbuf[]; };  // INT8 codes, or f16 K
layout(std430, binding = 1) readonly buffer K4 { uvec4 k4[]; };
layout(std430, binding = 2) readonly buffer V { uint v[]; };     // FP8 codes, or f16 V
layout(std430, binding = 2) readonly buffer V4 { uvec4 v4[]; };
layout(std430, binding = 3) readonly buffer Lut { int lut[]; };
layout(std430, binding = 4) readonly buffer QScale { float qscale[]; };
layout(std430, binding = 5) readonly buffer KScale { float kscale[]; };
layout(std430, binding = 6) readonly buffer VScale { float vscale[]; };
layout(std430, binding = 7) buffer O { uint o[]; };
layout(std430, binding = 8) buffer Lse { float lse[]; };

SLA2_DEFINE_STORE(store_o, o)

shared uvec4 sh_k[BC * KROW];     // the Q rows at the start, then each tile's K
shared uvec4 sh_v[BC * VROW];     // each tile's V in f16 (FP8 codes decoded exactly)
shared float sh_red[SG * 256u];   // per subgroup: one 16 x 16 f32 tile (maxima, sums, O out)
shared float sh_idx[256];         // sh_idx[16 i + j] = i
shared vec2 sh_mc[ROWS];          // per row: max after this tile, rescale factor of this tile
shared float sh_col[BC];          // per key slot: the score scale, -1 when the slot is masked

// Masked keys and the initial row max: a finite stand-in for -inf (the fast path avoids
// infinities: without SignedZeroInfNanPreserve, Vulkan does not promise IEEE infinity arithmetic).
// exp(MASKED - m) underflows to 0 for any real score m.
#define MASKED (-3.0e38)

// 8 f16 channels from element `at` on: one 16-byte load when VEC, else 8 scalar reads (stride sd).
#define HALF_BITS(ARR, i) ((ARR[(i) >> 1] >> (((i) & 1u) * 16u)) & 0xFFFFu)
#define DEFINE_LOAD8(FN, ARR, ARR4)                                                   \
  uvec4 FN(bool vec, uint at, uint sd) {                                              \
    if (vec) return ARR4[at >> 3];                                                    \
    uvec4 w;                                                                          \
    for (uint c = 0u; c < 4u; c++)                                                    \
      w[c] = HALF_BITS(ARR, at + 2u * c * sd) | (HALF_BITS(ARR, at + (2u * c + 1u) * sd) << 16); \
    return w;                                                                         \
  }
DEFINE_LOAD8(load8_q, q, q4)
DEFINE_LOAD8(load8_k, kbuf, k4)
DEFINE_LOAD8(load8_v, v, v4)

// Two E4M3 codes (the low 16 bits of w) -> two f16 holding 2^-8 times their values, exactly
// (sla2_e4m3_to_f16_scaled); the output multiplies the factor back.
uint e4m3x2_to_f16x2(uint w) { return sla2_e4m3_to_f16_scaled(w & 0xFFu) | (sla2_e4m3_to_f16_scaled((w >> 8) & 0xFFu) << 16); }

// The workgroup's Q rows q0 .. q0 + BC - 1 into sh_k; rows past the block or N are zero.
void load_q(uint b, uint h, uint bh, uint row0, uint rows_here, uint q0) {
  for (uint x = gl_LocalInvocationID.x; x < BC * QWORDS; x += WG) {
    uint rl = x / QWORDS, wd = x % QWORDS;
    uvec4 w = uvec4(0u);
    if (q0 + rl < rows_here) {
#if CM_INT8
      w = q4[((bh * pc.N + row0 + q0 + rl) * DH >> 4) + wd];
#else
      w = load8_q(Q_VEC, sla2_index(pc.q_strides, b, h, row0 + q0 + rl, 8u * wd), pc.q_strides.w);
#endif
    }
    sh_k[rl * KROW + wd] = w;
  }
}

// Key row of slot `slot` of the tile starting at virtual key v0 (-1 when masked), and its block.
int slot_key(uint v0, uint slot, uint lut_row, uint keys, out uint j) {
  uint vk = v0 + slot, t = vk / pc.bk;
  j = DENSE ? t : uint(lut[lut_row + min(t, pc.k - 1u)]);
  uint c = j * pc.bk + vk % pc.bk;
  return vk < keys && c < pc.N ? int(c) : -1;
}

#if CM_INT8
// int8_fp8 tiles go through registers: fetch_tile issues the global loads of a tile (its score
// scales, K codes and, with_v, V codes) into registers; store_tile waits for the workgroup to be
// done with the previous tile, writes them to shared memory (V decoded to f16) and makes them
// visible. The main loops fetch tile t + 1 right after storing tile t, so its loads are in
// flight while tile t is multiplied instead of stalling every subgroup between tiles. Every
// invocation finds the keys of the slots it loads itself (the LUT is a cached read): no shared
// key table, two barriers per tile.
const uint TW = (BC * QWORDS + WG - 1u) / WG; // 16-byte words of K (and of V) per invocation and tile
struct tile_regs {
  uvec4 k[8], v[8]; // TW <= 8 (DH <= 256, WG >= 128); only TW are used
  float col;        // invocation tid < BC: slot tid's score scale, -1 when masked
};

void fetch_tile(uint v0, bool with_v, uint bh, uint lut_row, uint keys, float qs, out tile_regs t) {
  uint tid = gl_LocalInvocationID.x;
  t.col = -1.0;
  if (tid < BC) {
    uint j;
    if (slot_key(v0, tid, lut_row, keys, j) >= 0) t.col = qs * kscale[bh * pc.Tn + j];
  }
  for (uint u = 0u; u < TW; u++) {
    uint x = tid + WG * u, slot = x / QWORDS, wd = x % QWORDS, j;
    t.k[u] = uvec4(0u), t.v[u] = uvec4(0u);
    if (x >= BC * QWORDS) break; // the last round of a tile that is not a multiple of WG words
    int c = slot_key(v0, slot, lut_row, keys, j);
    if (c >= 0) {
      uint at = ((bh * pc.N + uint(c)) * DH >> 4) + wd;
      t.k[u] = k4[at];
      if (with_v) t.v[u] = v4[at];
    }
  }
}

void store_tile(bool with_v, tile_regs t) {
  uint tid = gl_LocalInvocationID.x;
  barrier(); // the previous tile is consumed
  if (tid < BC) sh_col[tid] = t.col;
  for (uint u = 0u; u < TW; u++) {
    uint x = tid + WG * u, slot = x / QWORDS, wd = x % QWORDS;
    if (x >= BC * QWORDS) break;
    sh_k[slot * KROW + wd] = t.k[u];
    if (!with_v) continue;
    uvec4 vw = t.v[u];
    uvec4 lo = uvec4(e4m3x2_to_f16x2(vw.x), e4m3x2_to_f16x2(vw.x >> 16), e4m3x2_to_f16x2(vw.y), e4m3x2_to_f16x2(vw.y >> 16));
    uvec4 hi = uvec4(e4m3x2_to_f16x2(vw.z), e4m3x2_to_f16x2(vw.z >> 16), e4m3x2_to_f16x2(vw.w), e4m3x2_to_f16x2(vw.w >> 16));
    sh_v[slot * VROW + 2u * wd] = lo;
    sh_v[slot * VROW + 2u * wd + 1u] = hi;
  }
  barrier();
}
#else
// Score scales of the tile starting at virtual key v0, then its K and V tiles. Every invocation
// finds the keys of the slots it loads itself (the LUT is a cached read): no shared key table,
// two barriers per tile. Called in uniform control flow; ends with everything visible to the
// workgroup.
void load_tile(uint v0, uint b, uint h, uint bh, uint lut_row, uint keys, float qs) {
  uint tid = gl_LocalInvocationID.x;
  barrier(); // the previous tile is consumed
  if (tid < BC) {
    uint j;
    sh_col[tid] = slot_key(v0, tid, lut_row, keys, j) >= 0 ? qs : -1.0;
  }
  for (uint x = tid; x < BC * QWORDS; x += WG) {
    uint slot = x / QWORDS, wd = x % QWORDS, j;
    int c = slot_key(v0, slot, lut_row, keys, j);
    uvec4 kw = uvec4(0u), vw = uvec4(0u);
    if (c >= 0) {
      kw = load8_k(K_VEC, sla2_index(pc.k_strides, b, h, uint(c), 8u * wd), pc.k_strides.w);
      vw = load8_v(V_VEC, sla2_index(pc.v_strides, b, h, uint(c), 8u * wd), pc.v_strides.w);
    }
    sh_k[slot * KROW + wd] = kw;
    sh_v[slot * VROW + wd] = vw;
  }
  barrier();
}
#endif

// S = Q K^T of subgroup sg's 16 rows against keys 16 c .. 16 c + 15 of the tile, scaled; MASKED in
// masked columns.
OMAT tile_score(QMAT qm[QSTEPS], OMAT colidx, uint c) {
#if CM_INT8
  SMAT sa = SMAT(0);
#else
  SMAT sa = SMAT(0.0);
#endif
  for (uint st = 0u; st < QSTEPS; st++) {
    KMAT km; // K^T: rows are channels, columns keys; column-major over sh_k's [key][channel]
    CM_LOAD(km, sh_k, c * 16u * KROW + st * KSTEP, KROW, true);
    sa = CM_MULADD(qm[st], km, sa);
  }
  OMAT s = OMAT(sa);
  for (int e = 0; e < s.length(); e++) {
    float cs = sh_col[c * 16u + uint(colidx[e])];
    s[e] = cs < 0.0 ? MASKED : s[e] * cs;
  }
  return s;
}

// The whole tile's S, one 16 x 16 block per column block.
void tile_scores(QMAT qm[QSTEPS], OMAT colidx, out OMAT s[SCOLS]) {
  for (uint c = 0u; c < SCOLS; c++) s[c] = tile_score(qm, colidx, c);
}

// Subgroup sg's 16 x 16 tile `m` through its scratch; returns, for lane pair (r, half_), the
// max (or sum) over row r's 16 columns.
float row_reduce(OMAT m, uint sg, uint r, uint half_, bool is_max) {
  CM_STORE(m, sh_red, sg * 256u, 16u, false);
  subgroupMemoryBarrierShared();
  subgroupBarrier();
  float x = sh_red[sg * 256u + r * 16u + half_ * 8u];
  for (uint t = 1u; t < 8u; t++) {
    float y = sh_red[sg * 256u + r * 16u + half_ * 8u + t];
    x = is_max ? max(x, y) : x + y;
  }
  float y = subgroupShuffleXor(x, 1u);
  subgroupBarrier(); // the scratch is read before anyone stores to it again
  return is_max ? max(x, y) : x + y;
}

// P (an f32 accumulator) as the f16 A matrix of P V.
PMAT to_a(OMAT p, uint sg) {
#if CM_KHR
  CM(float16_t, 16, 16, Accumulator) h = CM(float16_t, 16, 16, Accumulator)(p);
  CM_STORE(h, sh_red, sg * 256u, 8u, false); // 16 f16 per row: 8 floats of the scratch
  subgroupMemoryBarrierShared();
  subgroupBarrier();
  PMAT a;
  CM_LOAD(a, sh_red, sg * 256u, 8u, false);
  subgroupBarrier(); // every lane has loaded before the scratch is written again
  return a;
#else
  return PMAT(p);
#endif
}

void main() {
  uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  uint r = lane >> 1, half_ = lane & 1u; // lane pair (r, half_) reduces row r of the subgroup's 16
  uint i = gl_WorkGroupID.x / pc.nsub, sub = gl_WorkGroupID.x % pc.nsub;
  uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, bh = b * pc.H + h;
  uint row0 = i * pc.bq + sub * ROWS;
  int rows_left = min(int(pc.bq) - int(sub * ROWS), int(pc.N) - int(row0));
  if (rows_left <= 0) return; // the whole workgroup: nothing of this block is left
  uint rows_here = min(uint(rows_left), ROWS);
  uint lut_row = (bh * pc.Tm + i) * pc.k, keys = pc.k * pc.bk;
  float qs = FP8 ? pc.scale * qscale[bh * pc.Tm + i] : pc.scale;

  for (uint x = gl_LocalInvocationID.x; x < 256u; x += WG) sh_idx[x] = float(x / 16u);
  QMAT qm[QSTEPS];
  for (uint q0 = 0u; q0 < ROWS; q0 += BC) { // workgroups of more than BC rows stage Q in parts
    if (q0 > 0u) barrier(); // the previous part is in registers
    load_q(b, h, bh, row0, rows_here, q0);
    barrier();
    uint sr = sg * 16u - q0; // this subgroup's first row within the part (subgroup-uniform test)
    if (sg * 16u >= q0 && sr < BC)
      for (uint s = 0u; s < QSTEPS; s++) CM_LOAD(qm[s], sh_k, sr * KROW + s * KSTEP, KROW, false);
  }
  OMAT colidx;
  CM_LOAD(colidx, sh_idx, 0, 16, true);
  OMAT acc[OCOLS];
  for (uint j = 0u; j < OCOLS; j++) acc[j] = OMAT(0.0);
  OMAT lsum = OMAT(0.0); // per element: the sum of P over the columns it stands for
  float m_row = MASKED;  // row r's running (int8_fp8: exact) max, both lanes of the pair

#if CM_INT8
  // One 16 x 16 block of S at a time (no whole-tile S array): the exact max needs no per-tile
  // row reduction, and the registers saved keep the accumulators out of local memory.
  OMAT mfix = OMAT(MASKED); // per element: the max over its columns, then its row's exact max
  tile_regs next;
  fetch_tile(0u, false, bh, lut_row, keys, qs, next);
  for (uint v0 = 0u; v0 < keys; v0 += BC) {
    store_tile(false, next);
    if (v0 + BC < keys) fetch_tile(v0 + BC, false, bh, lut_row, keys, qs, next);
    for (uint c = 0u; c < SCOLS; c++) {
      OMAT sc = tile_score(qm, colidx, c);
      for (int e = 0; e < mfix.length(); e++) mfix[e] = max(mfix[e], sc[e]);
    }
  }
  m_row = row_reduce(mfix, sg, r, half_, true);
  if (half_ == 0u) sh_mc[sg * 16u + r] = vec2(m_row, 1.0);
  subgroupMemoryBarrierShared();
  subgroupBarrier();
  {
    OMAT rowidx;
    CM_LOAD(rowidx, sh_idx, 0, 16, false);
    for (int e = 0; e < mfix.length(); e++) mfix[e] = sh_mc[sg * 16u + uint(rowidx[e])].x;
  }

  fetch_tile(0u, true, bh, lut_row, keys, qs, next);
  for (uint v0 = 0u; v0 < keys; v0 += BC) {
    store_tile(true, next);
    if (v0 + BC < keys) fetch_tile(v0 + BC, true, bh, lut_row, keys, qs, next);
    for (uint c = 0u; c < SCOLS; c++) {
      OMAT sc = tile_score(qm, colidx, c);
      for (int e = 0; e < sc.length(); e++) {
        float p = sc[e] == MASKED ? 0.0 : exp(sc[e] - mfix[e]);
        lsum[e] += p;
        sc[e] = sla2_e4m3_round_pos(SLA2_FP8_P_SCALE * p);
      }
      PMAT pm = to_a(sc, sg);
      for (uint j = 0u; j < OCOLS; j++) {
        VMAT vm;
        CM_LOAD(vm, sh_v, c * 16u * VROW + j * 2u, VROW, false);
        acc[j] = CM_MULADD(pm, vm, acc[j]);
      }
    }
  }
#else
  OMAT rowidx;
  CM_LOAD(rowidx, sh_idx, 0, 16, false);
  OMAT s[SCOLS];
  for (uint v0 = 0u; v0 < keys; v0 += BC) {
    load_tile(v0, b, h, bh, lut_row, keys, qs);
    tile_scores(qm, colidx, s);
    OMAT mx = s[0];
    for (uint c = 1u; c < SCOLS; c++)
      for (int e = 0; e < mx.length(); e++) mx[e] = max(mx[e], s[c][e]);
    float m_new = max(m_row, row_reduce(mx, sg, r, half_, true));
    float corr = m_row == MASKED ? 0.0 : exp(m_row - m_new);
    m_row = m_new;
    if (half_ == 0u) sh_mc[sg * 16u + r] = vec2(m_new, corr);
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    for (int e = 0; e < lsum.length(); e++) {
      vec2 mc = sh_mc[sg * 16u + uint(rowidx[e])];
      float ls = 0.0;
      for (uint c = 0u; c < SCOLS; c++) {
        float p = s[c][e] == MASKED ? 0.0 : exp(s[c][e] - mc.x);
        ls += p;
        s[c][e] = p;
      }
      lsum[e] = lsum[e] * mc.y + ls;
      for (uint j = 0u; j < OCOLS; j++) acc[j][e] *= mc.y;
    }
    for (uint c = 0u; c < SCOLS; c++) {
      PMAT pm = to_a(s[c], sg);
      for (uint j = 0u; j < OCOLS; j++) {
        VMAT vm;
        CM_LOAD(vm, sh_v, c * 16u * VROW + j * 2u, VROW, false);
        acc[j] = CM_MULADD(pm, vm, acc[j]);
      }
    }
  }
#endif

  float l = row_reduce(lsum, sg, r, half_, false);
  uint row_local = sg * 16u + r;
  if (half_ == 0u) {
    sh_mc[row_local].x = 1.0 / l;
    uint at = bh * pc.N + row0 + row_local;
    if (row_local < rows_here && pc.write_lse != 0u) lse[at] = LSE_SHIFT ? m_row + log(l) - lse[at] : m_row + log(l);
  }
  for (uint j = 0u; j < OCOLS; j++) {
    CM_STORE(acc[j], sh_red, sg * 256u, 16, false);
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    for (uint e = 2u * lane; e < 256u; e += 64u) { // two channels per invocation
      uint rl = sg * 16u + e / 16u, d = j * 16u + e % 16u;
      if (rl >= rows_here) continue;
      float o0 = sh_red[sg * 256u + e], o1 = sh_red[sg * 256u + e + 1u];
      if (FP8) {
        o0 = o0 * SLA2_E4M3_F16_UNSCALE * vscale[bh * DH + d] / SLA2_FP8_P_SCALE;
        o1 = o1 * SLA2_E4M3_F16_UNSCALE * vscale[bh * DH + d + 1u] / SLA2_FP8_P_SCALE;
      }
      o0 *= sh_mc[rl].x;
      o1 *= sh_mc[rl].x;
      uint at = sla2_index(pc.o_strides, b, h, row0 + rl, d);
      if (O_DT != DT_F32 && pc.o_pairs != 0u) {
        store_o2(O_DT, at, o0, o1);
      } else {
        store_o(O_DT, at, o0);
        store_o(O_DT, at + pc.o_strides.w, o1);
      }
    }
    subgroupBarrier();
  }
}
