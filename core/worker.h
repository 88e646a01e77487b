/* The worker process: loads the plugin itself and serves requests. */
#ifndef TP_WORKER_H
#define TP_WORKER_H

#include <sys/types.h>

#include "transport.h"

/* Runs in the forked child: fd is its end of the socket, host the parent's
 * pid, prog its progress counter.  Never returns. */
_Noreturn void tp_worker_main(int fd, pid_t host, struct tp_progress *prog,
                              const struct tp_worker_spec *spec);

#endif
