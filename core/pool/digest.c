/* What every rank of an --mpi run must agree on, as a digest: the host's
 * pool compares it with each far pool's READY (see far.h). */
#include <string.h>

#include "common/fnv.h"
#include "pool/far.h"

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    return tp__fnv(h, p, n);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    return s ? mix(h, s, strlen(s) + 1) : mix(h, "", 0);
}

uint32_t tp__options_digest(const char *spec, const struct tp_pool_options *o)
{
    uint64_t h = mix_str(TP_FNV_START, spec);
    h = mix_str(h, o->init_arg);
    const double d[] = {o->timeout, o->timeout_pct, o->init_timeout,
                        o->cpu_limit};
    const uint64_t u[] = {o->chunk, o->retries, o->max_tasks, o->mem_limit,
                          o->max_procs, (uint64_t)o->sandbox,
                          (uint64_t)o->text_results,
                          (unsigned char)o->text_term};
    h = mix(mix(h, d, sizeof d), u, sizeof u);
    for (size_t i = 0; o->allow_read && o->allow_read[i]; i++)
        h = mix_str(h, o->allow_read[i]);
    return (uint32_t)(h ^ h >> 32);
}
