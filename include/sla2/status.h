/* sla2 status codes. Every public entry point returns one; none aborts. */
#ifndef SLA2_STATUS_H
#define SLA2_STATUS_H

#include "sla2/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sla2_status {
  SLA2_OK = 0,
  SLA2_ERROR_UNAVAILABLE = 1,      /* driver, ICD or loader missing: the backend cannot run here */
  SLA2_ERROR_UNSUPPORTED = 2,      /* op, dtype, shape or option not implemented on this device */
  SLA2_ERROR_INVALID_ARGUMENT = 3, /* NULL, mismatched shapes, out-of-range values, bad JSON */
  SLA2_ERROR_OUT_OF_MEMORY = 4,
  SLA2_ERROR_COMPILE_FAILED = 5,   /* a shader or kernel failed to build at run time */
  SLA2_ERROR_DEVICE = 6,           /* the device or driver reported a failure */
  SLA2_ERROR_IO = 7
} sla2_status;

/* A fixed English name for the code ("OK", "INVALID_ARGUMENT", ...). Never NULL. */
SLA2_API const char *sla2_status_string(sla2_status status);

/* The message of the last failing call on this thread, naming the argument and the reason.
 * Empty string when the last call succeeded. Valid until the next sla2 call on this thread. */
SLA2_API const char *sla2_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
