/* sla2-devices: every device sla2 can run on, the one it picks by default, and every backend
 * compiled into the library with the reason any of them cannot run here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sla2/sla2.h>

#include "tool_common.h"

static const char *program = "sla2-devices";

static void print_usage(FILE *out) {
  fprintf(out,
          "usage: %s [--help]\n"
          "Lists the devices sla2 can use (name, backend, type, hardware, driver, capabilities,\n"
          "memory, compute units), marks with '*' the one sla2_device_best() picks (SLA2_DEVICE=<name>\n"
          "overrides it), then lists the backends compiled into the library and why any of them\n"
          "is unavailable on this machine.\n"
          "Exit status: 0 when at least one device is usable, 1 otherwise, 2 on bad arguments.\n",
          program);
}

static void print_device(size_t index, sla2_device *device, const sla2_device *best) {
  sla2_device_info info;
  sla2_status status = sla2_device_get_info(device, &info);
  if (status != SLA2_OK) {
    char what[64];
    snprintf(what, sizeof what, "information about device %zu", index);
    tool_report(program, what, status);
    return;
  }
  char caps[128], memory[32];
  tool_format_caps(info.caps, caps, sizeof caps);
  tool_format_bytes(info.memory_bytes, memory, sizeof memory);
  printf("%c %-10s backend %-7s type %s\n", device == best ? '*' : ' ', info.name, info.backend,
         tool_device_type_name(info.type));
  printf("    hardware       %s\n", info.description && *info.description ? info.description : "-");
  printf("    driver         %s\n", info.driver && *info.driver ? info.driver : "-");
  printf("    capabilities   %s\n", caps);
  printf("    memory         %s\n", memory);
  printf("    compute units  %d\n", info.compute_units);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_usage(stdout);
      return TOOL_EXIT_OK;
    }
    fprintf(stderr, "%s: unknown argument '%s'\n", program, argv[i]);
    print_usage(stderr);
    return TOOL_EXIT_USAGE;
  }

  printf("sla2 %s\n\n", sla2_version());
  size_t count = 0;
  sla2_status status = sla2_device_count(&count);
  if (status != SLA2_OK) return tool_report(program, "counting devices", status);

  sla2_device *best = NULL;
  status = sla2_device_best(&best);
  if (status != SLA2_OK) tool_report(program, "picking the best device", status);

  printf("Devices (%zu; * = default choice", count);
  if (best) printf(": %s", sla2_device_name(best));
  printf(")\n");
  for (size_t i = 0; i < count; i++) {
    sla2_device *device = NULL;
    status = sla2_device_get(i, &device);
    if (status != SLA2_OK) {
      char what[64];
      snprintf(what, sizeof what, "device %zu", i);
      tool_report(program, what, status);
      continue;
    }
    print_device(i, device, best);
  }

  size_t backends = sla2_backend_count();
  printf("\nBackends compiled in (%zu)\n", backends);
  for (size_t i = 0; i < backends; i++) {
    const char *name = NULL, *reason = NULL;
    sla2_status available = SLA2_ERROR_UNAVAILABLE;
    status = sla2_backend_get(i, &name, &available, &reason);
    if (status != SLA2_OK) {
      char what[64];
      snprintf(what, sizeof what, "backend %zu", i);
      tool_report(program, what, status);
      continue;
    }
    if (available == SLA2_OK) {
      printf("  %-8s available\n", name);
    } else {
      printf("  %-8s %s: %s\n", name, sla2_status_string(available),
             reason && *reason ? reason : "(no reason given)");
    }
  }
  const char *forced = getenv("SLA2_DEVICE");
  if (forced && *forced) printf("\nSLA2_DEVICE=%s is set: it decides the default device.\n", forced);
  return count > 0 && best ? TOOL_EXIT_OK : TOOL_EXIT_FAILURE;
}
