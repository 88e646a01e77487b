/* The fault points of the test host (fault.h): TASKPOOL_FAULT=NAME:N. */
#include "cli/fault.h"

#include <stdlib.h>
#include <string.h>

int tp__fault(const char *name)
{
    static unsigned long hits;
    const char *want = getenv("TASKPOOL_FAULT");
    size_t n = strlen(name);
    if (!want || strncmp(want, name, n) != 0 || want[n] != ':')
        return 0;
    return ++hits == strtoul(want + n + 1, NULL, 10);
}
