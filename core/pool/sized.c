/* Structures that cross pool.h from the caller: each starts with the size
 * the caller was built with, and gains fields only at its end (pool.h,
 * HACKING.md), so one library serves programs built against older and
 * newer headers alike. */
#include "pool/sized.h"

#include "pool/far.h"

#include <stdio.h>
#include <string.h>

int tp__take_sized(void *dst, size_t dsize, size_t first, const void *src,
                   const char *what, char *err, size_t errlen)
{
    const char *init = !strcmp(what, "options") ? "TP_POOL_OPTIONS"
                                                : "TP_POOL_CALLBACKS";
    size_t n;
    memcpy(&n, src, sizeof n);
    if (n < first) {
        snprintf(err, errlen, "struct tp_pool_%s of %zu bytes: set its size "
                 "with %s_INIT (at least %zu bytes)", what, n, init, first);
        return -1;
    }
    /* a newer header's fields: fine while left at their defaults */
    const unsigned char *b = src;
    for (size_t i = dsize; i < n; i++)
        if (b[i]) {
            snprintf(err, errlen, "struct tp_pool_%s of %zu bytes sets "
                     "fields this libtaskpool (%zu bytes) does not know: the "
                     "program was built against a newer taskpool", what, n,
                     dsize);
            return -1;
        }
    memset(dst, 0, dsize);
    memcpy(dst, src, n < dsize ? n : dsize);
    memcpy(dst, &dsize, sizeof dsize);
    return 0;
}

int tp__take_options(struct tp_pool_options *dst,
                     const struct tp_pool_options *src, char *err,
                     size_t errlen)
{
    return tp__take_sized(dst, sizeof *dst, TP__OPTIONS_FIRST, src,
                          "options", err, errlen);
}
