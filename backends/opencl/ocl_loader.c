/* OpenCL backend: dlopen of the ICD loader and the entry-point table (ocl_loader.h). */
#include "backends/opencl/ocl_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ocl_fns ocl_cl;

/* The loader's SONAME on Linux, then the development symlink. */
static const char *const loader_names[] = {"libOpenCL.so.1", "libOpenCL.so"};

/* dlerror() text, or a fallback when there is none. */
static const char *dl_reason(void) {
  const char *e = dlerror();
  return e ? e : "unknown dlopen error";
}

bool ocl_loader_open(char *reason, size_t reason_capacity) {
  static bool resolved; /* the handle stays open for the life of the process: devices live until exit */
  if (resolved) return true;
  const char *chosen = getenv("SLA2_OPENCL_LIBRARY");
  const char *name = NULL;
  void *handle = NULL;
  if (chosen && chosen[0]) {
    /* The caller named one loader: no fallback, so a wrong path is reported rather than hidden. */
    name = chosen;
    handle = dlopen(chosen, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      snprintf(reason, reason_capacity, "the OpenCL loader SLA2_OPENCL_LIBRARY=%s cannot be opened: %s", chosen,
               dl_reason());
      return false;
    }
  } else {
    for (size_t i = 0; i < sizeof loader_names / sizeof loader_names[0] && !handle; i++) {
      name = loader_names[i];
      handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    }
    if (!handle) {
      snprintf(reason, reason_capacity,
               "the OpenCL ICD loader libOpenCL.so.1 is not installed (Debian: ocl-icd-libopencl1)");
      return false;
    }
  }
  ocl_fns fns;
#define OCL_LOAD_FN(fn)                                                                            \
  {                                                                                                \
    void *sym = dlsym(handle, #fn);                                                                \
    if (!sym) {                                                                                    \
      snprintf(reason, reason_capacity, "the OpenCL loader %s does not export %s", name, #fn);     \
      dlclose(handle);                                                                             \
      return false;                                                                                \
    }                                                                                              \
    memcpy(&fns.fn, &sym, sizeof sym); /* object -> function pointer, POSIX */                    \
  }
  OCL_FNS(OCL_LOAD_FN)
#undef OCL_LOAD_FN
  ocl_cl = fns;
  resolved = true;
  return true;
}
