/* The main() of every Check program: run the suite (CK_ENV honours
 * CK_VERBOSITY and friends), exit non-zero if anything failed. */
#ifndef TP_CK_MAIN_H
#define TP_CK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int ck_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
