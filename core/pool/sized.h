/* Taking a caller's sized structure (sized.c). */
#ifndef TP_POOL_SIZED_H
#define TP_POOL_SIZED_H

#include <stddef.h>

#include "taskpool/pool.h"

/* The end of each structure's first layout (version 1): a smaller size is
 * not one that any header had. */
#define TP__OPTIONS_FIRST                                                     \
    (offsetof(struct tp_pool_options, remote_names) + sizeof(void *))
#define TP__CALLBACKS_FIRST                                                   \
    (offsetof(struct tp_pool_callbacks, finished) + sizeof(void *))

/* Copy src, whose first member is its size, into dst of dsize bytes: what
 * that size covers, the rest zero (later fields' defaults), dst's size
 * set to dsize; what is "options" or "callbacks".  0, or -1 with a message
 * in err ("struct tp_pool_options of 0 bytes: ..."): a size below first,
 * or non-zero bytes past dsize (fields of a newer header that this library
 * would ignore). */
int tp__take_sized(void *dst, size_t dsize, size_t first, const void *src,
                   const char *what, char *err, size_t errlen);

#endif
