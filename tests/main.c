/* Runs every suite. CK_RUN_SUITE / CK_RUN_CASE filter as usual with Check. */
#include <check.h>
#include <stdlib.h>

#include "suites.h"

int main(void) {
  SRunner *runner = srunner_create(NULL);
  for (int i = 0; sla2_all_suites[i]; i++) srunner_add_suite(runner, sla2_all_suites[i]());
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
