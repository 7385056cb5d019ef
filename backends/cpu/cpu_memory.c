/* CPU backend: host memory. Aligned allocations, and the scratch arena the ops carve their
 * workspaces from.
 *
 * The arena keeps one block between runs: a forward needs tens of MB of scratch (converted or
 * packed K/V, per-thread tiles, partial sums), and fresh pages from the OS cost a page fault and
 * a zeroing each (about 1.5 ms per 4 MB), a visible share of a sparse forward. One op at a time
 * holds the cached block (try-lock); a concurrent run on another thread, or a request above
 * CPU_ARENA_CACHE_MAX, gets a private allocation that is freed when the op ends. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "backends/cpu/cpu_internal.h"
#include "core/error.h"

#define CPU_ARENA_CACHE_MAX ((size_t)256 << 20)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cache_block;
static size_t cache_size;

void *cpu_alloc(size_t bytes) {
  if (bytes > SIZE_MAX - 128) return NULL;
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  return aligned_alloc(64, rounded);
}

void cpu_free(void *p) { free(p); }

size_t cpu_mul_size(size_t a, size_t b) {
  if (a != 0 && b > SIZE_MAX / a) return SIZE_MAX;
  return a * b;
}

size_t cpu_arena_piece(size_t bytes) {
  if (bytes > SIZE_MAX - 128) return SIZE_MAX / 2;
  return (bytes + 63) / 64 * 64;
}

sla2_status cpu_arena_open(cpu_arena *a, size_t bytes, const char *what) {
  a->used = 0;
  a->cached = false;
  if (bytes <= CPU_ARENA_CACHE_MAX && pthread_mutex_trylock(&cache_lock) == 0) {
    if (cache_size < bytes) {
      cpu_free(cache_block);
      cache_block = cpu_alloc(bytes);
      cache_size = cache_block ? bytes : 0;
    }
    if (cache_block) {
      a->base = cache_block, a->size = bytes, a->cached = true;
      return SLA2_OK;
    }
    pthread_mutex_unlock(&cache_lock);
  }
  a->base = cpu_alloc(bytes);
  a->size = bytes;
  if (!a->base)
    return sla2_fail(SLA2_ERROR_OUT_OF_MEMORY, "cpu %s: no host memory for %zu bytes of scratch", what, bytes);
  return SLA2_OK;
}

void *cpu_arena_take(cpu_arena *a, size_t bytes) {
  void *p = a->base + a->used;
  a->used += cpu_arena_piece(bytes);
  return p;
}

void cpu_arena_close(cpu_arena *a) {
  if (a->cached)
    pthread_mutex_unlock(&cache_lock);
  else
    cpu_free(a->base);
  a->base = NULL;
}

void cpu_arena_release_cache(void) {
  pthread_mutex_lock(&cache_lock);
  cpu_free(cache_block);
  cache_block = NULL;
  cache_size = 0;
  pthread_mutex_unlock(&cache_lock);
}
