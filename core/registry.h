/* Internal: the backends compiled into the library and their devices, initialized once. */
#ifndef SLA2_CORE_REGISTRY_H
#define SLA2_CORE_REGISTRY_H

#include <stddef.h>

#include "core/backend.h"

struct sla2_device {
  const sla2_backend_device *backend_device;
  const char *backend_name;
  size_t index; /* position in the global device list */
};

typedef struct sla2_registry_backend {
  const char *name;
  sla2_status status;  /* OK or the init failure (UNAVAILABLE, ...) */
  char reason[256];    /* why unavailable; "" when OK */
} sla2_registry_backend;

typedef struct sla2_registry {
  sla2_registry_backend backends[4];
  size_t backend_count;
  struct sla2_device devices[64];
  size_t device_count;
} sla2_registry;

/* Initializes every backend on first use (thread-safe) and returns the registry. */
const sla2_registry *sla2_registry_get(void);

#endif
