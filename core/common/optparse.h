/* The pool options that take a value, read from text as taskpool(1)
 * reads them and refused with its words: the command and the Python
 * module share this, so that a bad value reads the same in both. */
#ifndef TP_OPTPARSE_H
#define TP_OPTPARSE_H

#include <stddef.h>

#include "taskpool/pool.h"

/* Set option `name` (the command's long option without "--": "jobs",
 * "chunk", "timeout", "init-timeout", "retries", "halt",
 * "max-tasks-per-child", "mem-limit", "cpu-limit", "max-procs") of o
 * from text.  Returns 0; -1 with err holding the message ("invalid
 * timeout '0' (0.001 to 1000000 seconds, or a percentage like 200%)")
 * when the text is not a valid value; 1 when name is none of those. */
int tp__opt_set(struct tp_pool_options *o, const char *name, const char *text,
                char *err, size_t errlen);

#endif
