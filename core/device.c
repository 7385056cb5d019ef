/* Public device API: enumeration, lookup by stable name, best-device selection. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/registry.h"
#include "sla2/device.h"

const sla2_backend_device *sla2_device_backend(const sla2_device *device) {
  return device ? device->backend_device : NULL;
}

sla2_status sla2_device_count(size_t *out_count) {
  sla2_clear_error();
  if (!out_count) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_device_count: out_count is NULL");
  *out_count = sla2_registry_get()->device_count;
  return SLA2_OK;
}

sla2_status sla2_device_get(size_t index, sla2_device **out_device) {
  sla2_clear_error();
  if (!out_device) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_device_get: out_device is NULL");
  const sla2_registry *r = sla2_registry_get();
  if (index >= r->device_count)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_device_get: index %zu out of range (%zu devices)",
                     index, r->device_count);
  *out_device = (sla2_device *)&r->devices[index];
  return SLA2_OK;
}

/* "cuda0" -> backend "cuda": the name without its trailing digits. */
static const sla2_registry_backend *backend_of_name(const sla2_registry *r, const char *name) {
  size_t len = strlen(name);
  while (len > 0 && name[len - 1] >= '0' && name[len - 1] <= '9') len--;
  for (size_t i = 0; i < r->backend_count; i++)
    if (strlen(r->backends[i].name) == len && strncmp(r->backends[i].name, name, len) == 0)
      return &r->backends[i];
  return NULL;
}

static sla2_status find_by_name(const char *name, const char *what, sla2_device **out_device) {
  const sla2_registry *r = sla2_registry_get();
  for (size_t i = 0; i < r->device_count; i++) {
    if (strcmp(r->devices[i].backend_device->info.name, name) == 0) {
      *out_device = (sla2_device *)&r->devices[i];
      return SLA2_OK;
    }
  }
  const sla2_registry_backend *be = backend_of_name(r, name);
  if (be && be->status != SLA2_OK)
    return sla2_fail(SLA2_ERROR_UNAVAILABLE, "%s: device \"%s\" unavailable: %s backend: %s", what, name,
                     be->name, be->reason);
  char list[512] = "";
  for (size_t i = 0; i < r->device_count; i++) {
    if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
    strncat(list, r->devices[i].backend_device->info.name, sizeof list - strlen(list) - 1);
  }
  return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "%s: no device named \"%s\" (devices: %s)", what, name, list);
}

sla2_status sla2_device_by_name(const char *name, sla2_device **out_device) {
  sla2_clear_error();
  if (!name || !out_device)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_device_by_name: %s is NULL", name ? "out_device" : "name");
  return find_by_name(name, "sla2_device_by_name", out_device);
}

/* Higher is better: discrete GPU > integrated GPU > other > the native CPU > software devices. */
static int preference(const sla2_device_info *info) {
  if (info->caps & SLA2_CAP_SOFTWARE) return 0;
  switch (info->type) {
  case SLA2_DEVICE_GPU_DISCRETE: return 4;
  case SLA2_DEVICE_GPU_INTEGRATED: return 3;
  case SLA2_DEVICE_OTHER: return 2;
  case SLA2_DEVICE_CPU: return strcmp(info->backend, "cpu") == 0 ? 1 : 0;
  }
  return 0;
}

sla2_status sla2_device_best(sla2_device **out_device) {
  sla2_clear_error();
  if (!out_device) return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_device_best: out_device is NULL");
  const char *forced = getenv("SLA2_DEVICE");
  if (forced && forced[0]) return find_by_name(forced, "SLA2_DEVICE", out_device);
  const sla2_registry *r = sla2_registry_get();
  int best = -1, best_pref = -1;
  for (size_t i = 0; i < r->device_count; i++) {
    int p = preference(&r->devices[i].backend_device->info);
    if (p > best_pref) best_pref = p, best = (int)i; /* registry order breaks ties */
  }
  if (best < 0) return sla2_fail(SLA2_ERROR_UNAVAILABLE, "sla2_device_best: no device available");
  *out_device = (sla2_device *)&r->devices[best];
  return SLA2_OK;
}

sla2_status sla2_device_get_info(const sla2_device *device, sla2_device_info *out_info) {
  sla2_clear_error();
  if (!device || !out_info)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_device_get_info: %s is NULL", device ? "out_info" : "device");
  *out_info = device->backend_device->info;
  return SLA2_OK;
}

const char *sla2_device_name(const sla2_device *device) {
  return device ? device->backend_device->info.name : "";
}

void *sla2_device_get_proc_address(const sla2_device *device, const char *name) {
  sla2_clear_error();
  if (!device || !name) {
    sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_device_get_proc_address: %s is NULL", device ? "name" : "device");
    return NULL;
  }
  const sla2_backend_device *bd = device->backend_device;
  return bd->iface->get_proc_address ? bd->iface->get_proc_address(bd->ctx, name) : NULL;
}

size_t sla2_backend_count(void) { return sla2_registry_get()->backend_count; }

sla2_status sla2_backend_get(size_t index, const char **out_name, sla2_status *out_status,
                             const char **out_reason) {
  sla2_clear_error();
  const sla2_registry *r = sla2_registry_get();
  if (index >= r->backend_count)
    return sla2_fail(SLA2_ERROR_INVALID_ARGUMENT, "sla2_backend_get: index %zu out of range (%zu backends)",
                     index, r->backend_count);
  if (out_name) *out_name = r->backends[index].name;
  if (out_status) *out_status = r->backends[index].status;
  if (out_reason) *out_reason = r->backends[index].reason;
  return SLA2_OK;
}
