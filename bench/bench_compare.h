/* sla2-bench's cross-device table: with several devices in one run, every measured time is kept
 * and a last table gives each device's time and its speed relative to the first device named,
 * so that ratios between backends come from one process on one machine. */
#ifndef SLA2_BENCH_COMPARE_H
#define SLA2_BENCH_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include <sla2/sla2.h>

typedef struct bench_compare_entry {
  size_t device;   /* index into the run's device list */
  sla2_dtype dtype;
  bool dense;      /* dense attention; topk and quant unused */
  double topk;
  sla2_quant quant;
  double seconds;
} bench_compare_entry;

typedef struct bench_compare {
  const char *names[64];
  size_t device_count;
  bench_compare_entry *entries;
  size_t count, capacity;
} bench_compare;

/* Keeps one measurement; false when out of memory (the table then lacks it). */
bool bench_compare_add(bench_compare *c, const bench_compare_entry *entry);
/* Prints the table when `print` and there are two devices or more; frees the entries. */
void bench_compare_finish(bench_compare *c, bool print);

#endif
