// ROUTE, step 3: LUT row (b, h, i) = the k best key blocks by the float-float scores, ties to the
// lower block index, in ascending block order. Workgroup per row.
//
// The order: block a comes before block b when its score outranks b's (ff_outranks: NaN below
// every number), or neither outranks the other and a < b. That is a strict total order, and the
// k first blocks in it are the selected ones.
//
// Rows of at most 2048 blocks (every shape up to N = 131072 with 64-row key blocks) are sorted
// in shared memory by a bitonic network over (score, block) pairs, padded to a power of two with
// entries that come after every real block; the first k positions then flag their blocks. That
// is O(T_n log^2 T_n) work per row whatever the scores. Longer rows fall back to ranking: each
// invocation counts the blocks that come before its candidate (the row passes through shared
// memory a tile at a time) and stops at k, which costs up to T_n comparisons for the candidates
// that are selected or nearly so, and a warp waits for its slowest lane. Either way a workgroup
// prefix sum over the flags gives each selected block its LUT position.
#version 450
#include "common.glsl"
#include "floatfloat.glsl"

layout(local_size_x = 256) in;
const uint WG = 256u;
// Sort capacity, a power of two in [256, 2048] chosen by the host: the smallest that holds T_n
// (the shared arrays are sized by it: the less shared memory a workgroup takes, the more
// workgroups share an SM); 1024 for the ranking fallback.
layout(constant_id = 0) const uint PMAX = 2048u;
const uint PER = PMAX / WG; // sorted positions per invocation, at most 8

layout(push_constant) uniform Push {
  uint Tm, Tn, k, H;
} pc;

layout(std430, binding = 0) readonly buffer Pairs { vec2 pairs[]; };
layout(std430, binding = 1) writeonly buffer Lut { int lut[]; };

shared vec2 key[PMAX];  // sort keys; the ranking fallback's tile
shared uint blk[PMAX];  // block of each sorted position, then the selected flag of each block
shared uint scan[WG];

// Block a (score sa) comes before block b (score sb); blocks >= Tn are padding, after all.
bool before(vec2 sa, uint a, vec2 sb, uint b) {
  if (a >= pc.Tn || b >= pc.Tn) return a < b;
  if (ff_outranks(sa, sb)) return true;
  if (ff_outranks(sb, sa)) return false;
  return a < b;
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint row = (gl_WorkGroupID.z * pc.H + gl_WorkGroupID.y) * pc.Tm + gl_WorkGroupID.x;
  bool sorted = pc.Tn <= PMAX; // the host gives the fallback PMAX = 1024 < T_n

  if (sorted) {
    uint P = 2u;
    while (P < pc.Tn) P <<= 1;
    for (uint p = tid; p < P; p += WG) {
      key[p] = p < pc.Tn ? pairs[row * pc.Tn + p] : vec2(0.0);
      blk[p] = p;
    }
    barrier();
    for (uint size = 2u; size <= P; size <<= 1)
      for (uint stride = size >> 1; stride > 0u; stride >>= 1) {
        for (uint t = tid; t < P / 2u; t += WG) {
          uint lo = ((t & ~(stride - 1u)) << 1) | (t & (stride - 1u)), hi = lo + stride; // stride: a power of 2
          vec2 a = key[lo], b = key[hi];
          uint ia = blk[lo], ib = blk[hi];
          bool first_up = (lo & size) == 0u; // this run ascends in the order, else descends
          if (first_up ? before(b, ib, a, ia) : before(a, ia, b, ib)) {
            key[lo] = b, key[hi] = a;
            blk[lo] = ib, blk[hi] = ia;
          }
        }
        barrier();
      }
    // Positions -> flags: blk[j] = 1 when block j is among the first k.
    uint mine[8];
    for (uint u = 0u; u < PER; u++) {
      uint p = tid + WG * u;
      mine[u] = p < pc.k ? blk[p] : 0xFFFFFFFFu;
    }
    barrier();
    for (uint p = tid; p < P; p += WG) blk[p] = 0u;
    barrier();
    for (uint u = 0u; u < PER; u++)
      if (mine[u] != 0xFFFFFFFFu) blk[mine[u]] = 1u;
    barrier();
  }

  uint base = 0u;
  for (uint c0 = 0u; c0 < pc.Tn; c0 += WG) {
    uint j = c0 + tid;
    bool selected;
    if (sorted) {
      selected = j < pc.Tn && blk[j] != 0u;
    } else {
      vec2 sj = j < pc.Tn ? pairs[row * pc.Tn + j] : vec2(0.0);
      uint rank = 0u; // blocks that come before j
      for (uint t0 = 0u; t0 < pc.Tn; t0 += PMAX) {
        barrier();
        for (uint t = tid; t < PMAX && t0 + t < pc.Tn; t += WG) key[t] = pairs[row * pc.Tn + t0 + t];
        barrier();
        uint count = min(PMAX, pc.Tn - t0);
        for (uint t = 0u; t < count && rank < pc.k; t++)
          if (before(key[t], t0 + t, sj, j)) rank++;
      }
      selected = j < pc.Tn && rank < pc.k;
    }
    scan[tid] = selected ? 1u : 0u;
    barrier();
    for (uint off = 1u; off < WG; off <<= 1) { // inclusive prefix sum
      uint v = tid >= off ? scan[tid - off] : 0u;
      barrier();
      scan[tid] += v;
      barrier();
    }
    if (selected) lut[row * pc.k + base + scan[tid] - 1u] = int(j);
    base += scan[WG - 1u];
    barrier(); // scan[WG - 1] is read before the next chunk overwrites it
  }
}
