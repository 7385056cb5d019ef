/* sla2-bench's cross-device table (see bench_compare.h). */
#include "bench_compare.h"

#include <stdio.h>
#include <stdlib.h>

bool bench_compare_add(bench_compare *c, const bench_compare_entry *entry) {
  if (c->count == c->capacity) {
    size_t capacity = c->capacity ? 2 * c->capacity : 64;
    bench_compare_entry *grown = realloc(c->entries, capacity * sizeof *grown);
    if (!grown) return false;
    c->entries = grown;
    c->capacity = capacity;
  }
  c->entries[c->count++] = *entry;
  return true;
}

static bool same_config(const bench_compare_entry *a, const bench_compare_entry *b) {
  if (a->dtype != b->dtype || a->dense != b->dense) return false;
  return a->dense || (a->topk == b->topk && a->quant == b->quant);
}

static const bench_compare_entry *find(const bench_compare *c, size_t device,
                                       const bench_compare_entry *like) {
  for (size_t i = 0; i < c->count; i++)
    if (c->entries[i].device == device && same_config(&c->entries[i], like)) return &c->entries[i];
  return NULL;
}

void bench_compare_finish(bench_compare *c, bool print) {
  if (print && c->device_count >= 2) {
    printf("\nin this run, per device: ms (speed relative to %s; above 1 is faster)\n", c->names[0]);
    printf("%-5s %-14s", "dtype", "config");
    for (size_t d = 0; d < c->device_count; d++) printf(" %20s", c->names[d]);
    printf("\n");
    /* Rows follow the first device's measurements; a config it lacks has no reference. */
    for (size_t i = 0; i < c->count; i++) {
      const bench_compare_entry *ref = &c->entries[i];
      if (ref->device != 0) continue;
      char config[32];
      if (ref->dense) {
        snprintf(config, sizeof config, "dense");
      } else {
        snprintf(config, sizeof config, "%.3g %s", ref->topk, sla2_quant_name(ref->quant));
      }
      printf("%-5s %-14s", sla2_dtype_name(ref->dtype), config);
      for (size_t d = 0; d < c->device_count; d++) {
        const bench_compare_entry *e = find(c, d, ref);
        char cell[40];
        if (!e) {
          snprintf(cell, sizeof cell, "-");
        } else {
          snprintf(cell, sizeof cell, "%.3f (%.3fx)", e->seconds * 1e3, ref->seconds / e->seconds);
        }
        printf(" %20s", cell);
      }
      printf("\n");
    }
  }
  free(c->entries);
  c->entries = NULL;
  c->count = c->capacity = 0;
}
