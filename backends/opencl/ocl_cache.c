/* OpenCL backend: the on-disk cache of built program binaries.
 *
 * Building the kernels costs from a fraction of a second (GPU drivers) to seconds (PoCL) per
 * option set, paid by every new process; the binary of a build is kept on disk and handed to
 * clCreateProgramWithBinary next time. Key: a 128-bit hash of the kernel sources, the build
 * options, the device name, the driver version and the platform version (any driver update
 * misses). Files live in $XDG_CACHE_HOME/sla2, else ~/.cache/sla2, named opencl-<key>.bin, and
 * are written to a temporary name and renamed, so a reader never sees a partial file. A file
 * carries a checksum; anything unreadable is ignored. Cache failures are never errors: the
 * program is then built from source.
 *
 * Environment: SLA2_OPENCL_CACHE=0 disables the cache (neither read nor written). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/opencl/ocl_internal.h"

#define CACHE_MAGIC "SLA2OCL1"
#define CACHE_FORMAT "sla2-opencl-cache-1"
#define CACHE_MAX_BYTES ((size_t)256 << 20)

bool ocl_cache_enabled(void) {
  const char *v = getenv("SLA2_OPENCL_CACHE");
  return !(v && strcmp(v, "0") == 0);
}

/* Two independent 64-bit FNV-1a streams (different offset bases) make the 128-bit key. */
typedef struct hash128 {
  uint64_t a, b;
} hash128;

static void hash_bytes(hash128 *h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h->a = (h->a ^ p[i]) * 0x100000001b3ull;
    h->b = (h->b ^ p[i]) * 0x100000001b3ull;
    h->b ^= h->b >> 29;
  }
}

/* Strings are hashed with their terminator so ("ab", "c") and ("a", "bc") differ. */
static void hash_string(hash128 *h, const char *s) { hash_bytes(h, s ? s : "", strlen(s ? s : "") + 1); }

static uint64_t checksum(const unsigned char *p, size_t n) {
  hash128 h = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  hash_bytes(&h, p, n);
  return h.a ^ (h.b << 1);
}

void ocl_cache_key(const ocl_device *dev, const char *const *sources, size_t source_count, const char *options,
                   char out_hex[33]) {
  hash128 h = {0xcbf29ce484222325ull, 0x6c62272e07bb0142ull};
  hash_string(&h, CACHE_FORMAT);
  for (size_t i = 0; i < source_count; i++) hash_string(&h, sources[i]);
  hash_string(&h, options);
  hash_string(&h, dev->cl_device_name);
  hash_string(&h, dev->cl_driver_version);
  hash_string(&h, dev->cl_platform_version);
  snprintf(out_hex, 33, "%016llx%016llx", (unsigned long long)h.a, (unsigned long long)h.b);
}

/* The cache folder (created when missing); false when there is no usable one. */
static bool cache_dir(char *out, size_t cap) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char base[1024];
  if (xdg && xdg[0] == '/')
    snprintf(base, sizeof base, "%s", xdg);
  else if (home && home[0] == '/')
    snprintf(base, sizeof base, "%s/.cache", home);
  else
    return false;
  if (mkdir(base, 0700) != 0 && errno != EEXIST) return false;
  int n = snprintf(out, cap, "%s/sla2", base);
  if (n < 0 || (size_t)n >= cap) return false;
  if (mkdir(out, 0700) != 0 && errno != EEXIST) return false;
  return true;
}

static bool cache_path(const char *key_hex, char *out, size_t cap) {
  char dir[1100];
  if (!cache_dir(dir, sizeof dir)) return false;
  int n = snprintf(out, cap, "%s/opencl-%s.bin", dir, key_hex);
  return n > 0 && (size_t)n < cap;
}

unsigned char *ocl_cache_load(const char *key_hex, size_t *out_size) {
  char path[1200];
  if (!cache_path(key_hex, path, sizeof path)) return NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char header[8 + 8 + 8];
  unsigned char *data = NULL;
  uint64_t size = 0, sum = 0;
  if (fread(header, 1, sizeof header, f) != sizeof header || memcmp(header, CACHE_MAGIC, 8) != 0) goto fail;
  memcpy(&size, header + 8, 8);
  memcpy(&sum, header + 16, 8);
  if (size == 0 || size > CACHE_MAX_BYTES) goto fail;
  data = malloc((size_t)size);
  if (!data || fread(data, 1, (size_t)size, f) != (size_t)size || fgetc(f) != EOF) goto fail;
  if (checksum(data, (size_t)size) != sum) goto fail;
  fclose(f);
  *out_size = (size_t)size;
  return data;
fail:
  free(data);
  fclose(f);
  return NULL;
}

static bool write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= (size_t)w;
  }
  return true;
}

void ocl_cache_store(const char *key_hex, const unsigned char *binary, size_t size) {
  if (!binary || size == 0 || size > CACHE_MAX_BYTES) return;
  char path[1200], tmp[1300];
  if (!cache_path(key_hex, path, sizeof path)) return;
  static unsigned counter;
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return;
  unsigned char header[24];
  uint64_t size64 = size, sum = checksum(binary, size);
  memcpy(header, CACHE_MAGIC, 8);
  memcpy(header + 8, &size64, 8);
  memcpy(header + 16, &sum, 8);
  bool ok = write_all(fd, header, sizeof header) && write_all(fd, binary, size);
  if (close(fd) != 0) ok = false;
  if (!ok || rename(tmp, path) != 0) unlink(tmp);
}
