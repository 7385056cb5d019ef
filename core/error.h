/* Internal: the thread-local last-error message behind sla2_last_error(). */
#ifndef SLA2_CORE_ERROR_H
#define SLA2_CORE_ERROR_H

#include "sla2/status.h"

#if defined(__GNUC__)
#define SLA2_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SLA2_PRINTF(a, b)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Records "message" as this thread's last error and returns status (so: return sla2_fail(...)). */
sla2_status sla2_fail(sla2_status status, const char *format, ...) SLA2_PRINTF(2, 3);
/* Clears the message; public entry points call it first. */
void sla2_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
