/* errno as messages say it: running out of descriptors is named, with
 * what to do, since "Too many open files" alone reads like a bug. */
#include "common/errtext.h"

#include <errno.h>
#include <string.h>

const char *tp__errtext(int e)
{
    if (e == EMFILE)
        return "too many open files (EMFILE: raise the limit, ulimit -n)";
    if (e == ENFILE)
        return "too many open files in the system (ENFILE)";
    return strerror(e);
}
