/* The embedding API, driven directly: ordered and unordered maps, failed
 * inputs, load and init errors, stopping from a callback. */
#include <check.h>

#include "ck-main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <taskpool/pool.h>

struct collect {
    uint64_t n, failed, stop_after;
    int64_t sum;
    uint64_t next_index; /* for the order check */
    int in_order;
    int backwards; /* an index lower than the one before */
    char last_err[256];
    pid_t workers[16];
    unsigned nworkers;
};

static int on_result(void *arg, const struct tp_result *r)
{
    struct collect *c = arg;
    if (r->index != c->next_index)
        c->in_order = 0;
    if (c->n && r->index < c->next_index)
        c->backwards = 1;
    c->next_index = r->index + 1;
    c->n++;
    ck_assert_int_ne(r->worker, getpid());
    ck_assert_uint_eq(r->attempts, 1);
    if (r->status == TP_RESULT_OK) {
        char buf[32];
        ck_assert_uint_lt(r->len, sizeof buf);
        memcpy(buf, r->data, r->len);
        buf[r->len] = 0;
        /* seed:double of index+1 */
        ck_assert_int_eq(atoll(buf), 2 * (int64_t)(r->index + 1));
        c->sum += atoll(buf);
    } else {
        c->failed++;
        snprintf(c->last_err, sizeof c->last_err, "%.*s", (int)r->len,
                 r->data);
    }
    return c->stop_after && c->n == c->stop_after;
}

static const char *path[2];

static tp_pool *open_ok(const char *spec, struct tp_pool_options *o,
                        struct collect *c)
{
    struct tp_pool_callbacks cb = {.size = sizeof cb, .result = on_result, .arg = c};
    char err[1024];
    tp_pool *p;
    path[0] = getenv("TASKPOOL_PLUGIN_PATH");
    ck_assert_ptr_nonnull(path[0]);
    o->plugin_path = path;
    int r = tp_pool_open(&p, spec, o, &cb, err, sizeof err);
    ck_assert_msg(r == 0, "open: %s", err);
    return p;
}

static void feed_numbers(tp_pool *p, int from, int to)
{
    char buf[32];
    for (int i = from; i <= to; i++) {
        int n = snprintf(buf, sizeof buf, "%d", i);
        ck_assert_int_eq(tp_pool_feed(p, buf, (size_t)n), 0);
    }
}

START_TEST(ordered_map)
{
    struct collect c = {.in_order = 1};
    struct tp_pool_options o = {.size = sizeof o, .jobs = 3};
    tp_pool *p = open_ok("seed:double", &o, &c);
    feed_numbers(p, 1, 20000);
    ck_assert_int_eq(tp_pool_finish(p), 0);
    tp_pool_close(p);
    ck_assert_uint_eq(c.n, 20000);
    ck_assert(c.in_order);
    ck_assert_int_eq(c.sum, (int64_t)20000 * 20001);
}
END_TEST

START_TEST(unordered_map_same_results)
{
    struct collect c = {.in_order = 1};
    struct tp_pool_options o = {.size = sizeof o, .jobs = 2, .unordered = 1, .chunk = 7};
    tp_pool *p = open_ok("seed:double", &o, &c);
    feed_numbers(p, 1, 5000);
    ck_assert_int_eq(tp_pool_finish(p), 0);
    tp_pool_close(p);
    ck_assert_uint_eq(c.n, 5000);
    ck_assert_int_eq(c.sum, (int64_t)5000 * 5001);
}
END_TEST

/* Skipped inputs keep their indices: the rest are delivered in order with
 * the index they would have had (on_result checks seed:double of index+1). */
START_TEST(skipped_inputs_keep_indices)
{
    for (int unordered = 0; unordered < 2; unordered++) {
        struct collect c = {.in_order = 1};
        struct tp_pool_options o = {.size = sizeof o, .jobs = 2, .unordered = unordered};
        tp_pool *p = open_ok("seed:double", &o, &c);
        int64_t want = 0;
        for (int i = 1; i <= 3000; i++) {
            char buf[32];
            int n = snprintf(buf, sizeof buf, "%d", i);
            if (i % 3 == 0 || (i > 1000 && i < 1100)) {
                ck_assert_int_eq(tp_pool_skip(p, 1), 0);
                continue;
            }
            ck_assert_int_eq(tp_pool_feed(p, buf, (size_t)n), 0);
            want += 2 * i;
        }
        ck_assert_int_eq(tp_pool_skip(p, 5), 0);
        ck_assert_uint_eq(tp_pool_fed(p), 3005);
        feed_numbers(p, 3006, 3006);
        want += 2 * 3006;
        ck_assert_int_eq(tp_pool_finish(p), 0);
        tp_pool_close(p);
        ck_assert_uint_eq(c.n, 3006 - 1000 - 66 - 5);
        ck_assert_int_eq(c.sum, want);
        if (!unordered) {
            ck_assert(!c.backwards);
            ck_assert_uint_eq(c.next_index, 3006);
        }
    }
}
END_TEST

START_TEST(failed_inputs_are_results)
{
    struct collect c = {.in_order = 1};
    struct tp_pool_options o = {.size = sizeof o, .jobs = 2};
    tp_pool *p = open_ok("seed:double", &o, &c);
    feed_numbers(p, 1, 3);
    ck_assert_int_eq(tp_pool_feed(p, "four", 4), 0);
    ck_assert_int_eq(tp_pool_finish(p), 0);
    tp_pool_close(p);
    ck_assert_uint_eq(c.n, 4);
    ck_assert_uint_eq(c.failed, 1);
    ck_assert_str_eq(c.last_err, "not an integer");
    ck_assert(c.in_order);
}
END_TEST

START_TEST(stop_from_callback)
{
    struct collect c = {.in_order = 1, .stop_after = 10};
    struct tp_pool_options o = {.size = sizeof o, .jobs = 2, .chunk = 1};
    tp_pool *p = open_ok("seed:double", &o, &c);
    int r = 0;
    for (int i = 1; i <= 100000 && r == 0; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%d", i);
        r = tp_pool_feed(p, buf, (size_t)n);
    }
    if (r == 0)
        r = tp_pool_finish(p);
    ck_assert_int_eq(r, -1);
    const char *msg;
    ck_assert_int_eq(tp_pool_error(p, &msg), TP_ERR_STOPPED);
    ck_assert_str_eq(msg, "stopped by the result callback");
    ck_assert_int_eq(tp_pool_feed(p, "1", 1), -1);
    tp_pool_close(p);
    ck_assert_uint_eq(c.n, 10);
}
END_TEST

static int open_err(const char *spec, const char *init_arg, char *err,
                    size_t len)
{
    struct collect c = {0};
    struct tp_pool_callbacks cb = {.size = sizeof cb, .result = on_result, .arg = &c};
    path[0] = getenv("TASKPOOL_PLUGIN_PATH");
    struct tp_pool_options o = {.size = sizeof o, .jobs = 2, .plugin_path = path,
                                .init_arg = init_arg};
    tp_pool *p = (tp_pool *)1;
    int r = tp_pool_open(&p, spec, &o, &cb, err, len);
    ck_assert_ptr_null(p);
    return r;
}

START_TEST(open_errors)
{
    char err[1024];
    ck_assert_int_eq(open_err("seed", NULL, err, sizeof err), TP_ERR_USAGE);
    ck_assert_str_eq(err, "expected PLUGIN:TASK, got 'seed'");
    ck_assert_int_eq(open_err("seed:nope", NULL, err, sizeof err),
                     TP_ERR_LOAD);
    ck_assert_str_eq(err, "plugin 'seed' has no task 'nope' (tasks: double, "
                     "print_number, hello)");
    ck_assert_int_eq(open_err("chaos:echo", "fail", err, sizeof err),
                     TP_ERR_INIT);
    ck_assert_str_eq(err, "chaos: init failed: asked to fail by --init-arg");
}
END_TEST

/* Limits and the sandbox through the API: refused before any worker
 * starts when they cannot be had or make no sense; a pure kernel runs
 * the same under all of them. */
START_TEST(confine_options)
{
    char err[1024];
    struct collect c = {.in_order = 1};
    struct tp_pool_callbacks cb = {.size = sizeof cb, .result = on_result, .arg = &c};
    static const char *const dirs[] = {"/tmp", NULL};
    path[0] = getenv("TASKPOOL_PLUGIN_PATH");
    tp_pool *p;
    struct tp_pool_options o = {.size = sizeof o, .jobs = 1, .plugin_path = path,
                                .allow_read = dirs};
    ck_assert_int_eq(tp_pool_open(&p, "seed:double", &o, &cb, err,
                                  sizeof err), TP_ERR_USAGE);
    ck_assert_str_eq(err, "directories allowed for reading, but no sandbox "
                     "(allow_read needs sandbox)");
    o = (struct tp_pool_options){.size = sizeof o, .jobs = 1, .plugin_path = path,
                                 .cpu_limit = 0.05};
    ck_assert_int_eq(tp_pool_open(&p, "seed:double", &o, &cb, err,
                                  sizeof err), TP_ERR_USAGE);
    ck_assert_str_eq(err, "cpu limit of 0.05 s: the least is 0.1 s");
    /* (no memory limit: under AddressSanitizer a worker holds terabytes
     * of shadow memory, and any limit is refused; cli-limits.sh) */
    o = (struct tp_pool_options){.size = sizeof o, .jobs = 2, .cpu_limit = 10, .max_procs = 4,
                                 .sandbox = 1};
    /* without libseccomp (or Landlock, or seccomp): refused, and run
     * without the sandbox then */
    const char *built = getenv("TP_SECCOMP");
    o.plugin_path = path;
    int r = tp_pool_open(&p, "seed:double", &o, &cb, err, sizeof err);
    if (r != 0) {
        ck_assert_int_eq(r, TP_ERR_USAGE);
        ck_assert_msg(!strncmp(err, built && !strcmp(built, "yes")
                                        ? "cannot sandbox: this kernel "
                                        : "cannot sandbox: this taskpool",
                               28), "%s", err);
        o.sandbox = 0;
        p = open_ok("seed:double", &o, &c);
    }
    feed_numbers(p, 1, 3000);
    ck_assert_int_eq(tp_pool_finish(p), 0);
    tp_pool_close(p);
    ck_assert_uint_eq(c.n, 3000);
    ck_assert(c.in_order);
    ck_assert_int_eq(c.sum, (int64_t)3000 * 3001);
}
END_TEST

/* Text mode: bulk text between failed records, fed as delimited blocks. */
struct text_collect {
    char buf[256];
    size_t len;
    uint64_t ok, failed;
    char order[64]; /* 't' for a text run, 'f' for a failure */
    size_t norder;
};

static int on_text(void *arg, const char *data, size_t len, uint64_t n)
{
    struct text_collect *t = arg;
    ck_assert_uint_lt(t->len + len, sizeof t->buf);
    memcpy(t->buf + t->len, data, len);
    t->len += len;
    t->ok += n;
    t->order[t->norder++] = 't';
    return 0;
}

static int on_text_fail(void *arg, const struct tp_result *r)
{
    struct text_collect *t = arg;
    ck_assert_int_eq(r->status, TP_RESULT_ERROR);
    ck_assert_uint_eq(r->index, 2);
    ck_assert_uint_eq(r->input_len, 1);
    ck_assert_int_eq(r->input[0], 'x');
    t->failed++;
    t->order[t->norder++] = 'f';
    return 0;
}

START_TEST(text_mode_bulk)
{
    struct text_collect t = {0};
    struct tp_pool_callbacks cb = {.size = sizeof cb, .result = on_text_fail, .text = on_text,
                                   .arg = &t};
    path[0] = getenv("TASKPOOL_PLUGIN_PATH");
    struct tp_pool_options o = {.size = sizeof o, .jobs = 1, .chunk = 100, .plugin_path = path,
                                .text_results = 1, .text_term = ';'};
    char err[1024];
    tp_pool *p;
    ck_assert_int_eq(tp_pool_open(&p, "seed:double", &o, &cb, err, sizeof err),
                     0);
    ck_assert_int_eq(tp_pool_feed_records(p, "1\n2\nx\n4\n", 8, '\n'), 0);
    ck_assert_int_eq(tp_pool_feed(p, "5", 1), 0);
    ck_assert_uint_eq(tp_pool_fed(p), 5);
    ck_assert_int_eq(tp_pool_finish(p), 0);
    tp_pool_close(p);
    t.buf[t.len] = 0;
    ck_assert_str_eq(t.buf, "2;4;8;10;");
    ck_assert_uint_eq(t.ok, 4);
    ck_assert_uint_eq(t.failed, 1);
    /* text before the failure, the failure, the rest of the chunk, the
     * last (length-prefixed) record's chunk */
    t.order[t.norder] = 0;
    ck_assert_str_eq(t.order, "tftt");
}
END_TEST

static int count_plugin(void *arg, const struct tp_plugin_info *info)
{
    (void)info;
    ++*(int *)arg;
    return 0;
}

/* How many times mark occurs in file. */
static int count_in(const char *file, const char *mark)
{
    FILE *f = fopen(file, "r");
    char buf[65536];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    int k = 0;
    for (char *q = buf; (q = strstr(q, mark)); q += strlen(mark))
        k++;
    return k;
}

/* What the caller's stdio had buffered when the pool forked is written
 * once, by the caller, not again by every worker. */
START_TEST(unflushed_stdio_not_repeated)
{
    char out[] = "/tmp/tp-stdio-out-XXXXXX", err[] = "/tmp/tp-stdio-err-XXXXXX";
    int fo = mkstemp(out), fe = mkstemp(err);
    ck_assert(fo >= 0 && fe >= 0);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    ck_assert(dup2(fo, 1) == 1 && dup2(fe, 2) == 2);
    setvbuf(stdout, NULL, _IOFBF, 4096);
    printf("UNFLUSHED-OUT");
    struct collect c = {.in_order = 1};
    struct tp_pool_options o = {.size = sizeof o, .jobs = 2, .max_tasks = 1, .chunk = 1};
    tp_pool *p = open_ok("seed:double", &o, &c);
    feed_numbers(p, 1, 20);
    ck_assert_int_eq(tp_pool_finish(p), 0);
    tp_pool_close(p);
    fflush(stdout);
    ck_assert(dup2(so, 1) == 1 && dup2(se, 2) == 2);
    ck_assert_int_eq(count_in(out, "UNFLUSHED-OUT"), 1);
    ck_assert_int_eq(count_in(err, "UNFLUSHED-OUT"), 0);
    ck_assert_uint_eq(c.n, 20);
    unlink(out);
    unlink(err);
}
END_TEST

START_TEST(plugins_each)
{
    char err[1024];
    int n = 0;
    path[0] = getenv("TASKPOOL_PLUGIN_PATH");
    ck_assert_int_eq(tp_plugins_each(path, "seed", 0, count_plugin, NULL, &n, err,
                                     sizeof err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(tp_plugins_each(path, "nope", 0, count_plugin, NULL, &n, err,
                                     sizeof err), -1);
    ck_assert_int_eq(strncmp(err, "plugin 'nope' not found", 23), 0);
}
END_TEST

static int on_pid(void *arg, const struct tp_result *r)
{
    struct collect *c = arg;
    ck_assert_int_eq(r->status, TP_RESULT_OK);
    ck_assert_uint_lt(c->nworkers, 16);
    c->workers[c->nworkers++] = (pid_t)r->worker;
    c->n++;
    return 0;
}

/* --max-tasks-per-child 1, one job: the worker that ran the first input
 * runs fini (300 ms) while the second's replacement runs it; the third
 * input waits for that fini to end (one retiree per job), and the fini
 * ends while the pool is not looking (the caller is busy).  The pool must
 * start the third worker when it next runs, not wait for an event that
 * never comes (the hang of --max-tasks-per-child under --mpi, where an
 * agent's pool has no other event). */
START_TEST(recycle_after_quiet_retirement)
{
    setenv("CHAOS_FINI_SLEEP_MS", "300", 1);
    struct collect c = {.in_order = 1};
    struct tp_pool_callbacks cb = {.size = sizeof cb, .result = on_pid, .arg = &c};
    struct tp_pool_options o = {.size = sizeof o, .jobs = 1, .max_tasks = 1, .chunk = 1};
    char err[1024];
    tp_pool *p;
    path[0] = getenv("TASKPOOL_PLUGIN_PATH");
    o.plugin_path = path;
    ck_assert_msg(tp_pool_open(&p, "chaos:pid", &o, &cb, err, sizeof err) == 0,
                  "open: %s", err);
    int never[2];
    ck_assert_int_eq(pipe(never), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tp_pool_feed(p, "x", 1), 0);
        if (i == 2)
            usleep(600000);
        ck_assert_int_eq(tp_pool_wait_fd(p, never[0]), 0);
        ck_assert_uint_eq(c.n, (unsigned)i + 1);
    }
    ck_assert_int_eq(tp_pool_finish(p), 0);
    tp_pool_close(p);
    unsetenv("CHAOS_FINI_SLEEP_MS");
    ck_assert_uint_eq(c.nworkers, 3);
    ck_assert_int_ne(c.workers[0], c.workers[1]);
    ck_assert_int_ne(c.workers[1], c.workers[2]);
    ck_assert_int_ne(c.workers[0], c.workers[2]);
    close(never[0]);
    close(never[1]);
}
END_TEST

/* pool.h's sized structures: the caller's size decides what is read. */
static int on_sized(void *arg, const struct tp_result *r)
{
    int *ok = arg;
    *ok += r->size == sizeof *r && TP_POOL_HAS(struct tp_result, r, node) &&
           r->node == 0;
    return 0;
}

static int open_sized(const char *spec, const struct tp_pool_options *o,
                      const struct tp_pool_callbacks *cb, char *err,
                      size_t len)
{
    tp_pool *p = NULL;
    int r = tp_pool_open(&p, spec, o, cb, err, len);
    if (r == 0) {
        ck_assert_int_eq(tp_pool_feed(p, "21", 2), 0);
        ck_assert_int_eq(tp_pool_finish(p), 0);
    }
    tp_pool_close(p);
    return r;
}

START_TEST(sized_structures)
{
    char err[512];
    int ok = 0;
    path[0] = getenv("TASKPOOL_PLUGIN_PATH");
    /* a newer header's options: more fields, left at their defaults */
    struct next_options {
        struct tp_pool_options v1;
        uint64_t later;
    } n = {.v1 = TP_POOL_OPTIONS_INIT};
    n.v1.size = sizeof n;
    n.v1.jobs = 1;
    n.v1.plugin_path = path;
    struct next_callbacks {
        struct tp_pool_callbacks v1;
        void *later;
    } cb = {.v1 = TP_POOL_CALLBACKS_INIT};
    cb.v1.size = sizeof cb;
    cb.v1.result = on_sized;
    cb.v1.arg = &ok;
    ck_assert_int_eq(open_sized("seed:double", &n.v1, &cb.v1, err, sizeof err), 0);
    ck_assert_int_eq(ok, 1);
    /* ... one set: refused, not ignored */
    n.later = 5;
    ck_assert_int_eq(open_sized("seed:double", &n.v1, &cb.v1, err, sizeof err),
                     TP_ERR_USAGE);
    char want[512];
    snprintf(want, sizeof want,
             "struct tp_pool_options of %zu bytes sets fields this "
             "libtaskpool (%zu bytes) does not know: the program was built "
             "against a newer taskpool", sizeof n, sizeof n.v1);
    ck_assert_str_eq(err, want);
    n.later = 0;
    cb.later = &ok;
    ck_assert_int_eq(open_sized("seed:double", &n.v1, &cb.v1, err, sizeof err),
                     TP_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(err, "struct tp_pool_callbacks of "));
    cb.later = NULL;
    /* no size: a caller that did not use TP_POOL_OPTIONS_INIT */
    n.v1.size = 0;
    ck_assert_int_eq(open_sized("seed:double", &n.v1, &cb.v1, err, sizeof err),
                     TP_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(err, "struct tp_pool_options of 0 bytes: "
                                      "set its size with "
                                      "TP_POOL_OPTIONS_INIT"));
    /* no options at all: the defaults (the plugin named by its file) */
    snprintf(want, sizeof want, "%s/seed:double", path[0]);
    ck_assert_int_eq(open_sized(want, NULL, &cb.v1, err, sizeof err), 0);
    ck_assert_int_eq(ok, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("map");
    tcase_add_test(tc, ordered_map);
    tcase_add_test(tc, unordered_map_same_results);
    tcase_add_test(tc, skipped_inputs_keep_indices);
    tcase_add_test(tc, failed_inputs_are_results);
    tcase_add_test(tc, stop_from_callback);
    tcase_add_test(tc, open_errors);
    tcase_add_test(tc, confine_options);
    tcase_add_test(tc, plugins_each);
    tcase_add_test(tc, unflushed_stdio_not_repeated);
    tcase_add_test(tc, text_mode_bulk);
    tcase_add_test(tc, sized_structures);
    suite_add_tcase(s, tc);
    TCase *rc = tcase_create("recycle");
    tcase_set_timeout(rc, 10); /* a hang fails here, not after a minute */
    tcase_add_test(rc, recycle_after_quiet_retirement);
    suite_add_tcase(s, rc);
    return ck_main(s);
}
