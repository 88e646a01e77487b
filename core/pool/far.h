/* What a node agent (core/mpi/agent.c), the far end of a remote link, may
 * ask of the pool it runs, beyond pool.h.  Nothing else of the pool's
 * insides is its business. */
#ifndef TP_POOL_FAR_H
#define TP_POOL_FAR_H

#include <stddef.h>
#include <stdint.h>

#include "taskpool/pool.h"

/* A digest of what every rank of a run must agree on (the spec, and the
 * options that decide outcomes): a far pool's READY frame carries it, and
 * the host's pool checks it. */
uint32_t tp__options_digest(const char *spec, const struct tp_pool_options *o);

/* The idle callback's own deadline (CLOCK_MONOTONIC ns): the pool's loop
 * wakes by then to call it again; 0: no deadline. */
void tp__pool_wake_at(tp_pool *p, uint64_t ns);

/* The host's time limit for --timeout P% (over every rank's tasks), which
 * this pool then applies instead of its own median's; 0: none yet. */
void tp__pool_far_limit(tp_pool *p, uint64_t ns);

/* The caller's options (a sized structure, pool.h) into *dst: 0, or -1
 * with a message in err. */
int tp__take_options(struct tp_pool_options *dst,
                     const struct tp_pool_options *src, char *err,
                     size_t errlen);

/* CLOCK_MONOTONIC in ns. */
uint64_t tp__pool_now_ns(void);

#endif
