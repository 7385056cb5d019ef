/* Thread-local last-error message and status names. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

sla2_status sla2_fail(sla2_status status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
  return status;
}

void sla2_clear_error(void) { last_error[0] = '\0'; }

const char *sla2_last_error(void) { return last_error; }

const char *sla2_status_string(sla2_status status) {
  switch (status) {
  case SLA2_OK: return "OK";
  case SLA2_ERROR_UNAVAILABLE: return "UNAVAILABLE";
  case SLA2_ERROR_UNSUPPORTED: return "UNSUPPORTED";
  case SLA2_ERROR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
  case SLA2_ERROR_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
  case SLA2_ERROR_COMPILE_FAILED: return "COMPILE_FAILED";
  case SLA2_ERROR_DEVICE: return "DEVICE_ERROR";
  case SLA2_ERROR_IO: return "IO";
  }
  return "UNKNOWN_STATUS";
}
