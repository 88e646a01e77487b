/* exec_workers from a caller with threads: while threads of the caller
 * churn malloc/free and dlopen/dlclose (so that, at any fork, one of them
 * may hold malloc's lock or the dynamic loader's), pools are opened, fed
 * and closed again and again.  A forked worker that takes such a lock
 * hangs; exec'd workers must not.  A watchdog fails the test, saying
 * which round hung, instead of hanging make check.
 *
 *   exec-threads [ROUNDS [fork]]
 *
 * "fork" runs the same with exec_workers = 0, to show the hang the option
 * prevents (by hand only: it may or may not hang on a given run). */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <taskpool/pool.h>

#define JOBS 4
#define RECORDS 100
#define ROUND_SECONDS 60 /* a round takes well under a second */

static volatile sig_atomic_t stop, round_no;

struct seen {
    unsigned n, bad;
    char first_bad[128];
};

static int on_result(void *arg, const struct tp_result *r)
{
    struct seen *s = arg;
    char want[32];
    int k = snprintf(want, sizeof want, "%llu",
                     2 * (unsigned long long)(r->index + 1));
    if (r->status != TP_RESULT_OK || r->index != s->n ||
        r->len != (size_t)k || memcmp(r->data, want, r->len) != 0) {
        if (!s->bad++)
            snprintf(s->first_bad, sizeof s->first_bad,
                     "input %llu: status %d, '%.*s' (want '%s')",
                     (unsigned long long)r->index, (int)r->status,
                     (int)(r->len < 64 ? r->len : 64), r->data, want);
    }
    s->n++;
    return 0;
}

static void *churn_malloc(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    void *keep[64] = {0};
    while (!stop) {
        unsigned i = (unsigned)rand_r(&seed) % 64;
        free(keep[i]);
        /* small (arena), medium, and large (mmap'd) blocks */
        size_t sz = (size_t)1 << (rand_r(&seed) % 22);
        keep[i] = malloc(sz);
        if (keep[i])
            memset(keep[i], 1, sz < 64 ? sz : 64);
    }
    for (unsigned i = 0; i < 64; i++)
        free(keep[i]);
    return NULL;
}

static void *churn_dlopen(void *arg)
{
    (void)arg;
    while (!stop) {
        void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
        if (h && dlsym(h, "cos") == NULL)
            fprintf(stderr, "exec-threads: no cos in libm\n");
        if (h)
            dlclose(h);
    }
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
    char msg[128];
    int n = snprintf(msg, sizeof msg, "exec-threads: FAIL: round %d hung "
                     "for %d s (a worker stuck on a lock copied by fork?)\n",
                     (int)round_no, ROUND_SECONDS);
    if (write(2, msg, (size_t)n) < 0)
        _exit(2);
    _exit(1);
}

/* A pool, opened (round_no names it in messages), or NULL. */
static tp_pool *open_pool(int exec, const char *const *path, struct seen *s)
{
    struct tp_pool_options o = TP_POOL_OPTIONS_INIT;
    struct tp_pool_callbacks cb = TP_POOL_CALLBACKS_INIT;
    o.jobs = JOBS;
    o.plugin_path = path;
    o.exec_workers = exec;
    cb.result = on_result;
    cb.arg = s;
    char err[1024];
    tp_pool *p;
    if (tp_pool_open(&p, "seed:double", &o, &cb, err, sizeof err) != 0) {
        fprintf(stderr, "exec-threads: FAIL: round %d: open: %s\n",
                (int)round_no, err);
        return NULL;
    }
    return p;
}

/* Feed RECORDS numbers to p, check each result, close it.  0 or -1. */
static int run_pool(tp_pool *p, struct seen *s)
{
    char rec[16];
    int r = 0;
    for (int i = 1; r == 0 && i <= RECORDS; i++)
        r = tp_pool_feed(p, rec, (size_t)snprintf(rec, sizeof rec, "%d", i));
    if (r == 0)
        r = tp_pool_finish(p);
    const char *msg = NULL;
    if (r != 0)
        tp_pool_error(p, &msg);
    tp_pool_close(p);
    if (r != 0 || s->bad || s->n != RECORDS) {
        fprintf(stderr, "exec-threads: FAIL: round %d: %s; %u results, %u "
                "wrong%s%s\n", (int)round_no, msg ? msg : "run ok", s->n,
                s->bad, s->bad ? ", first: " : "", s->first_bad);
        return -1;
    }
    return 0;
}

static int one_round(int exec, const char *const *path)
{
    struct seen s = {0};
    tp_pool *p = open_pool(exec, path, &s);
    return p ? run_pool(p, &s) : -1;
}

struct opener {
    const char *const *path;
    struct seen *s;
    tp_pool *p;
};

static void *open_and_exit(void *arg)
{
    struct opener *o = arg;
    o->p = open_pool(1, o->path, o->s);
    return NULL;
}

/* A pool opened by a thread that has ended since, used by another: its
 * workers must live on (PR_SET_PDEATHSIG follows the thread that forked,
 * so exec'd keepers watch the process instead).  0 or -1. */
static int opener_gone(const char *const *path)
{
    struct seen s = {0};
    struct opener o = {path, &s, NULL};
    pthread_t t;
    if (pthread_create(&t, NULL, open_and_exit, &o) != 0 ||
        pthread_join(t, NULL) != 0 || !o.p)
        return -1;
    struct timespec gone = {0, 200000000};
    nanosleep(&gone, NULL);
    return run_pool(o.p, &s);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 50;
    int exec = !(argc > 2 && !strcmp(argv[2], "fork"));
    const char *path[2] = {getenv("TASKPOOL_PLUGIN_PATH"), NULL};
    if (!path[0] || !getenv("TASKPOOL_WORKER")) {
        printf("SKIP: TASKPOOL_PLUGIN_PATH and TASKPOOL_WORKER are "
               "make check's\n");
        return 77;
    }
    signal(SIGALRM, on_alarm);
    pthread_t t[4];
    void *(*const fn[4])(void *) = {churn_malloc, churn_malloc, churn_malloc,
                                    churn_dlopen};
    for (size_t i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, fn[i], (void *)(i + 1)) != 0) {
            fprintf(stderr, "exec-threads: pthread_create failed\n");
            return 1;
        }
    int failed = 0;
    for (int i = 1; i <= rounds && !failed; i++) {
        round_no = i;
        alarm(ROUND_SECONDS);
        failed = one_round(exec, path) != 0;
    }
    round_no = rounds + 1;
    alarm(ROUND_SECONDS);
    if (!failed && exec && opener_gone(path) != 0) {
        fprintf(stderr, "exec-threads: FAIL: a pool opened by a thread that "
                "has ended lost its workers\n");
        failed = 1;
    }
    alarm(0);
    stop = 1;
    for (size_t i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (!failed)
        printf("exec-threads: %d rounds of %d workers (%s), %d inputs each, "
               "with 4 threads churning malloc and dlopen: all results "
               "right; and a pool opened by a thread that ended ran on\n", rounds, JOBS, exec ? "exec'd" : "forked",
               RECORDS);
    return failed;
}
