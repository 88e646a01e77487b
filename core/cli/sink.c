#include "cli/sink.h"

#include <errno.h>
#include <stdio.h>

/* An input's joblog line says its output is written once the output
 * buffer holding it has been written.  A message for stderr (text mode)
 * is marked around its own write (the output's telling and told). */
static int deliver(struct tp__sink *s, const struct tp_result *r)
{
    int e = tp__output_result(&s->o, r);
    if (s->logging && (s->o.jsonl || r->status == TP_RESULT_OK))
        tp__joblog_delivered(&s->jl, r->index, s->o.put_total);
    return e;
}

/* Write out the next held result (tp__held_next). */
static int replay_one(struct tp__sink *s)
{
    struct tp__held *h = &s->jl.held;
    struct tp_result r;
    if (tp__held_load(h, &r) != 0) {
        s->held_err = errno ? errno : EIO;
        return -1;
    }
    /* kept again, with a new line, before the old record goes */
    if (tp__sink_finished(s, &r) != 0)
        return -1;
    tp__held_loaded(h);
    return deliver(s, &r);
}

int tp__sink_replay(struct tp__sink *s, int all)
{
    if (!s->logging) /* nothing held: no call per result */
        return 0;
    if (s->o.pool)
        s->given = tp_pool_fed(s->o.pool);
    struct tp__held *h = &s->jl.held;
    for (uint64_t k; (k = tp__held_next(h)) < s->given;) {
        /* in input order, its turn: every input before it written */
        if (!all && !s->unordered &&
            !tp__joblog_done_span(&s->jl, s->turn, k))
            break;
        if (replay_one(s) != 0)
            return -1;
        s->turn = k + 1;
    }
    return 0;
}

int tp__sink_result(void *arg, const struct tp_result *r)
{
    struct tp__sink *s = arg;
    if (!s->unordered && tp__sink_replay(s, 0) != 0)
        return -1;
    if (deliver(s, r) != 0)
        return -1;
    s->turn = r->index + 1;
    return tp__sink_replay(s, 0);
}

/* A remote worker lost while the run goes on (its inputs run again on the
 * others): one line, as it happens. */
static void say_lost(struct tp__sink *s)
{
    const char *msg;
    unsigned n = s->o.pool ? tp_pool_lost(s->o.pool, &msg) : 0;
    if (n <= s->lost || (s->ending && s->ending()))
        return;
    if (n > s->lost + 1)
        fprintf(stderr, "taskpool: %u ranks were lost; the latest: %s\n",
                n - s->lost, msg);
    else
        fprintf(stderr, "taskpool: %s\n", msg);
    s->lost = n;
}

/* Before the host waits: the log's batch, then the output. */
int tp__sink_idle(void *arg)
{
    struct tp__sink *s = arg;
    say_lost(s);
    if (tp__sink_replay(s, 0) != 0)
        return -1;
    if (s->logging && s->jl.seekable && tp__joblog_flush(&s->jl) != 0)
        return -1;
    return tp__output_flush(&s->o);
}

int tp__sink_text(void *arg, const char *data, size_t len, uint64_t n)
{
    return tp__output_text(&((struct tp__sink *)arg)->o, data, len, n);
}

/* A run without its record is not resumable: a failed log write stops it */
int tp__sink_finished(void *arg, const struct tp_result *r)
{
    struct tp__sink *s = arg;
    if (s->logging)
        tp__joblog_finished(&s->jl, r);
    return s->logging && s->jl.err ? -1 : 0;
}
