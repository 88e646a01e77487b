#include "cli/sink.h"

#include <errno.h>

/* An input's joblog line says its output is written once the output
 * buffer holding it has been written. */
static int deliver(struct tp_sink *s, const struct tp_result *r)
{
    int e = tp_output_result(&s->o, r);
    /* a message stderr refused stays "pending", and its input runs again
     * when resumed: its kept result would hold up the held file */
    if (s->logging && s->o.msg_lost)
        tp_joblog_forget(&s->jl, r->index);
    else if (s->logging)
        tp_joblog_delivered(&s->jl, r->index, s->o.put_total);
    /* a failure's line went to stderr at once: it is marked as soon as
     * the results before it are */
    if (s->logging && r->status != TP_RESULT_OK && !s->o.jsonl)
        tp_joblog_written(&s->jl, s->o.written_total);
    return e;
}

/* Write out the next held result (tp_held_next). */
static int replay_one(struct tp_sink *s)
{
    struct tp_held *h = &s->jl.held;
    struct tp_result r;
    if (tp_held_load(h, &r) != 0) {
        s->held_err = errno ? errno : EIO;
        return -1;
    }
    /* kept again, with a new line, before the old record goes */
    if (tp_sink_finished(s, &r) != 0)
        return -1;
    tp_held_loaded(h);
    return deliver(s, &r);
}

int tp_sink_replay(struct tp_sink *s, int all)
{
    if (!s->logging) /* nothing held: no call per result */
        return 0;
    if (s->o.pool)
        s->given = tp_pool_fed(s->o.pool);
    struct tp_held *h = &s->jl.held;
    for (uint64_t k; (k = tp_held_next(h)) < s->given;) {
        /* in input order, its turn: every input before it written */
        if (!all && !s->unordered &&
            !tp_joblog_done_span(&s->jl, s->turn, k))
            break;
        if (replay_one(s) != 0)
            return -1;
        s->turn = k + 1;
    }
    return 0;
}

int tp_sink_result(void *arg, const struct tp_result *r)
{
    struct tp_sink *s = arg;
    if (!s->unordered && tp_sink_replay(s, 0) != 0)
        return -1;
    if (deliver(s, r) != 0)
        return -1;
    s->turn = r->index + 1;
    return tp_sink_replay(s, 0);
}

/* Before the host waits: the log's batch, then the output. */
int tp_sink_idle(void *arg)
{
    struct tp_sink *s = arg;
    if (tp_sink_replay(s, 0) != 0)
        return -1;
    if (s->logging && s->jl.seekable && tp_joblog_flush(&s->jl) != 0)
        return -1;
    return tp_output_flush(&s->o);
}

int tp_sink_text(void *arg, const char *data, size_t len, uint64_t n)
{
    return tp_output_text(&((struct tp_sink *)arg)->o, data, len, n);
}

/* A run without its record is not resumable: a failed log write stops it */
int tp_sink_finished(void *arg, const struct tp_result *r)
{
    struct tp_sink *s = arg;
    if (s->logging)
        tp_joblog_finished(&s->jl, r);
    return s->logging && s->jl.err ? -1 : 0;
}
