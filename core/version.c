#include "sla2/version.h"

const char *sla2_version(void) { return SLA2_VERSION_STRING; }
