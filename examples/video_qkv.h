/* A video-like attention problem: tokens on a frames x height x width grid, q and k carrying a
 * 3-D rotary position embedding (RoPE) plus seeded random content, so that attention is local in
 * space and time as in video diffusion transformers; v is seeded random content.
 *
 * How locality arises: q_n = R_n (content_scale * u_n + position_scale * p_h) and likewise k_m
 * with its own content w_m, where R_n is the 3-D rotary rotation of token n, p_h a fixed vector per
 * head, and u, w, p live on alternate rotation pairs (so they never multiply each other).
 * Rotations are orthogonal and compose, so
 *   q_n . k_m = u_n . R_(m-n) w_m + position_scale^2 * p_h . R_(m-n) p_h,
 * and the second term is a sum of cosines of the relative position (t, y, x) that peaks at
 * distance 0: nearby tokens score higher. With RoPE's geometric frequencies the attention weight
 * falls off roughly as a power of the distance along each axis. At the defaults, on the 5 x 39 x 42
 * grid, the best 5% of 64-token key blocks hold about 80% of each query's attention.
 */
#ifndef SLA2_VIDEO_QKV_H
#define SLA2_VIDEO_QKV_H

#include <stdint.h>

typedef struct video_qkv_params {
  int64_t frames, height, width; /* the token grid; tokens are in raster order (t, y, x) */
  int64_t tokens;                /* N <= frames * height * width: the first N cells are used */
  int64_t batch, heads, head_dim;
  double content_scale;          /* weight of the random content of q and k */
  double position_scale;         /* weight of the per-head positional vector: locality (4.0) */
  double rope_base;              /* RoPE frequency base per axis (10000 as in video DiTs) */
  uint64_t seed;
} video_qkv_params;

/* Defaults: grid 5 x 39 x 42 (N = 8190), B = 1, H = 4, D = 128, seed 42. */
void video_qkv_defaults(video_qkv_params *params);

/* A grid for n tokens: a few frames of a square-ish image, with frames * height * width >= n. */
void video_qkv_grid_for_tokens(int64_t n, int64_t out_grid[3]);

/* Split of the head_dim / 2 rotation pairs between the t, y and x axes. */
void video_qkv_axis_pairs(int64_t head_dim, int64_t out_pairs[3]);

/* Fill q, k, v with B*H*N*D floats each, contiguous BHND. Returns 0, or -1 on bad parameters
 * (head_dim odd or < 6, tokens out of the grid, non-positive sizes) or out of memory. */
int video_qkv_generate(const video_qkv_params *params, float *q, float *k, float *v);

#endif
