/* libtaskpool: map records across a pool of worker processes.
 *
 *     tp_pool *p;
 *     char err[512];
 *     struct tp_pool_options o = TP_POOL_OPTIONS_INIT;
 *     struct tp_pool_callbacks cb = TP_POOL_CALLBACKS_INIT;
 *     o.jobs = 4;
 *     cb.result = on_result;
 *     cb.arg = &state;
 *     if (tp_pool_open(&p, "seed:double", &o, &cb, err, sizeof err))
 *         ... err says why ...
 *     while (more input)
 *         if (tp_pool_feed(p, rec, len)) break;   // may call on_result
 *     tp_pool_finish(p);                          // the remaining results
 *     tp_pool_close(p);
 *
 * The pool is single-threaded: results are delivered by callbacks from
 * inside tp_pool_feed, tp_pool_wait_fd and tp_pool_finish, on the caller's
 * thread, from the pool's own loop (never from inside a read of a worker's
 * socket).  It forks; the caller must not rely on threads surviving in the
 * workers, and a caller with threads sets options.exec_workers.  The pool
 * keeps a bounded number of records in flight: feed blocks (running the
 * pool) while the window is full.
 *
 * Growth: the structures here only ever gain fields at their end, and
 * each starts with its size.  The caller sets the size of what it passes
 * (TP_POOL_OPTIONS_INIT, TP_POOL_CALLBACKS_INIT: the size it was built
 * with), and the library reads only that much, giving later fields their
 * defaults; a size of 0 is refused (TP_ERR_USAGE), as are fields set
 * beyond what the library knows.  The library sets the size of what it
 * passes (struct tp_result, struct tp_plugin_info), and the caller reads a
 * field added after it was built only if TP_POOL_HAS says it is there.  So
 * a program built against this header runs unchanged, without relinking,
 * against a later libtaskpool of the same soname (HACKING.md).
 */
#ifndef TASKPOOL_POOL_H
#define TASKPOOL_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <taskpool/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Only these names are exported from libtaskpool. */
#if defined(__GNUC__) && !defined(TP_API)
#define TP_API __attribute__((visibility("default")))
#elif !defined(TP_API)
#define TP_API
#endif

/* The longest input record or result, in bytes (256 MiB - 20). */
#define TP_POOL_RECORD_MAX (((uint64_t)256 << 20) - 20)

typedef struct tp_pool tp_pool;

/* Whether *s, a structure of type T that the library filled in, has
 * field f: TP_POOL_HAS(struct tp_result, r, node). */
#define TP_POOL_HAS(T, s, f)                                                  \
    (offsetof(T, f) + sizeof(((T *)0)->f) <= (s)->size)

struct tp_pool_options {
    size_t size;        /* sizeof(struct tp_pool_options) as the caller was
                           built: TP_POOL_OPTIONS_INIT sets it */
    unsigned jobs;      /* worker processes; 0: the number of online CPUs */
    unsigned chunk;     /* records per request; 0: adaptive */
    int unordered;      /* 0: results in input order; else completion order */
    const char *init_arg;           /* for the plugin's init hook; may be NULL */
    const char *const *plugin_path; /* directories searched before the
                                       installed plugin dir, NULL-terminated;
                                       may be NULL */
    uint64_t expected;  /* number of records if known (sizes chunks), or 0 */
    unsigned retries;   /* run an input that crashed or timed out up to this
                           many more times, on a fresh worker */
    double timeout;     /* seconds a task may run (0: no limit) */
    double timeout_pct; /* or: this % of the median time of the tasks that
                           succeeded so far (0: unused) */
    enum tp_halt { TP_HALT_NEVER = 0, TP_HALT_SOON, TP_HALT_NOW } halt;
    unsigned halt_fail;     /* halt after this many failed inputs, or */
    double halt_fail_pct;   /* when this % of the inputs failed (0: unused) */
    unsigned max_tasks;     /* replace a worker after this many tasks (0: never) */
    int measure;            /* fill tp_result.usec */
    int cancel_fd;          /* readable means stop now (a self-pipe written by
                               a signal handler); 0 means none */
    /* Text mode: deliver successful outputs in bulk through callbacks.text,
     * each followed by text_term; failed inputs still come one by one
     * through callbacks.result (in order between the text).  The fastest
     * way for plain text output; attempts, usec and start are not kept
     * for successful inputs. */
    int text_results;
    char text_term;
    double init_timeout; /* seconds a worker may take to load the plugin
                            and run init, first start or replacement; past
                            it the pool fails with TP_ERR_INIT (0: 30 s) */
    /* Limits per worker, entered after the plugin's init and before its
     * first task (0: none; see taskpool(1)).  An input whose kernel goes
     * over one is TP_RESULT_CRASHED with "memory limit (64 MiB): ..." or
     * "cpu limit (2 s): ..." in its message, is not retried, and its
     * worker is replaced. */
    uint64_t mem_limit;  /* bytes of private writable memory (RLIMIT_DATA) */
    double cpu_limit;    /* CPU seconds per task (at least 0.1) */
    unsigned max_procs;  /* processes and threads a worker and everything it
                            starts may have at once (RLIMIT_NPROC in a user
                            namespace of the worker's own) */
    /* The sandbox (Landlock and seccomp), entered after init and the
     * limits: no file access but reading below allow_read, no exec, no
     * new processes (unless max_procs > 1), no sockets, ...  An input
     * that makes a blocked system call is TP_RESULT_CRASHED, "sandbox:
     * blocked system call NAME", not retried.  tp_pool_open fails with
     * TP_ERR_USAGE where the system cannot hold it: never unconfined. */
    int sandbox;
    const char *const *allow_read; /* directories whose files tasks may read
                                      in the sandbox, NULL-terminated; may
                                      be NULL (only with sandbox) */
    /* Remote workers (taskpool --mpi): instead of forking workers, use
     * these nremote connected stream sockets, each served by
     * tp_agent_serve at its far end, which runs a pool of its own and
     * enforces timeout, retries and max_tasks there.  The pool then does
     * not look for the plugin itself; jobs is nremote.  tp_pool_close
     * shuts them down (their far ends see the end); the caller closes
     * them.  remote_names
     * (may be NULL) names each in messages, e.g. "rank 2 (node7)".
     * Results say which one ran them in tp_result.node. */
    const int *remote_fds;
    unsigned nremote;
    const char *const *remote_names;
    /* Start each worker by exec'ing the worker helper right after the
     * fork: $(pkglibexecdir)/taskpool-worker, or the file the environment
     * variable TASKPOOL_WORKER names (read by tp_pool_open).  A worker is
     * otherwise a forked copy of the caller, and a copy of a program with
     * threads may hang forever: a lock another thread held at the fork
     * (malloc's, the dynamic loader's, any) is held in the copy by a
     * thread that does not exist there.  Set it when the caller may have
     * threads (an interpreter, a GUI, a server); between the fork and the
     * exec only async-signal-safe functions run.  Such workers end with
     * the calling process (Linux 5.3 or later; forked ones, with the
     * thread that started them): the pool may be opened by one thread
     * and used by another after the first has ended.  Costs one exec per
     * worker start (and per replacement).  tp_pool_open fails with
     * TP_ERR_SYSTEM, naming the file, if the helper cannot be executed.
     * Ignored for remote workers. */
    int exec_workers;
};
#define TP_POOL_OPTIONS_INIT {.size = sizeof(struct tp_pool_options)}

enum tp_status {
    TP_RESULT_OK = 0,       /* data is the output */
    TP_RESULT_ERROR = 1,    /* the task failed; data is its message */
    TP_RESULT_CRASHED = 2,  /* the worker died running it; data says how */
    TP_RESULT_TIMEOUT = 3,
    TP_RESULT_PROTOCOL = 4, /* the worker broke the wire protocol */
};

/* One input's outcome.  Every pointer is valid only during the callback. */
struct tp_result {
    size_t size;            /* sizeof(struct tp_result) of the library */
    uint64_t index;         /* 0-based position of the input */
    enum tp_status status;
    const char *input;      /* the input record (not NUL-terminated) */
    size_t input_len;
    const char *data;       /* output if OK, else a message */
    size_t len;
    pid_t worker;           /* pid of the worker that ran it */
    unsigned attempts;      /* 1, or more after retries */
    uint32_t usec;          /* time in the kernel, if options.measure */
    uint64_t start_ns;      /* when it started (CLOCK_REALTIME), if measured;
                               for a worker that died, when that was seen */
    unsigned node;          /* with remote workers: which one (from 1, as
                               in options.remote_fds), worker being a pid
                               on its machine; else 0 */
};

struct tp_pool_callbacks {
    size_t size; /* sizeof(struct tp_pool_callbacks) as the caller was
                    built: TP_POOL_CALLBACKS_INIT sets it */
    /* Called once per input, in input order unless unordered.  Return 0 to
     * go on; non-zero stops the pool (the pool call returns -1 with
     * TP_ERR_STOPPED). */
    int (*result)(void *arg, const struct tp_result *r);
    /* Optional: called before the pool blocks waiting for workers (flush
     * buffered output here).  Non-zero stops the pool as above. */
    int (*idle)(void *arg);
    void *arg;
    /* Text mode (options.text_results): the outputs of n successful
     * inputs, each ended by options.text_term.  Non-zero stops the pool. */
    int (*text)(void *arg, const char *data, size_t len, uint64_t n);
    /* Optional: called as each input finishes, in completion order (not
     * input order), before its result callback; in text mode only for the
     * inputs that did not succeed.  For logs and progress that must not
     * wait for an input's turn.  Non-zero stops the pool as above. */
    int (*finished)(void *arg, const struct tp_result *r);
};
#define TP_POOL_CALLBACKS_INIT {.size = sizeof(struct tp_pool_callbacks)}

enum tp_error {
    TP_ERR_NONE = 0,
    TP_ERR_USAGE,    /* bad spec or option */
    TP_ERR_LOAD,     /* plugin not found, not a plugin, ABI, unknown task */
    TP_ERR_INIT,     /* a worker could not load the plugin or run init */
    TP_ERR_SYSTEM,   /* fork, socket, memory, I/O */
    TP_ERR_INPUT,    /* a record over the size limit */
    TP_ERR_STOPPED,  /* a callback asked to stop */
    TP_ERR_HALTED,   /* the halt policy's threshold was reached */
    TP_ERR_CANCELLED, /* options.cancel_fd became readable, or a remote
                         worker's far end was stopped by a signal */
};

/* Check spec ("PLUGIN:TASK" or "PATH:TASK"), start the workers and wait
 * until one of them has loaded the plugin and run its init hook (the
 * others go on starting; inputs go to the ready ones).  The pool itself
 * never loads the plugin: a plugin that cannot be loaded, or whose init
 * fails, is reported here by the first worker that tries.  On success
 * *out owns the pool (release with tp_pool_close) and 0 is returned;
 * otherwise *out is NULL, err holds a one-line message (no "taskpool: "
 * prefix) and the tp_error is returned.  opt and cb are copied; the
 * strings they point to must outlive the pool. */
TP_API int tp_pool_open(tp_pool **out, const char *spec,
                 const struct tp_pool_options *opt,
                 const struct tp_pool_callbacks *cb, char *err,
                 size_t errlen);

/* Queue one record (copied; the caller keeps rec).  Returns 0, or -1 if the
 * pool has failed or stopped: see tp_pool_error.  Callbacks may run.
 * After TP_ERR_HALTED with TP_HALT_SOON, call tp_pool_finish to let the
 * tasks already sent to workers finish and deliver their results. */
TP_API int tp_pool_feed(tp_pool *p, const void *rec, size_t len);

/* Queue many records at once: buf holds len bytes of complete records,
 * each ended by delim (which is not part of the record).  Copied; cheaper
 * than one tp_pool_feed per record.  Returns 0 or -1 as tp_pool_feed. */
TP_API int tp_pool_feed_records(tp_pool *p, const void *buf, size_t len, char delim);

/* Count n inputs as given without running them: the next record fed gets
 * an index n higher, and no result is delivered for the skipped ones (to
 * resume a run whose first part is done).  Returns 0 or -1 as
 * tp_pool_feed. */
TP_API int tp_pool_skip(tp_pool *p, uint64_t n);

/* The number of records queued (or skipped) so far. */
TP_API uint64_t tp_pool_fed(const tp_pool *p);

/* The number of inputs that have finished (whether or not their results
 * were delivered yet), and of those the number that did not succeed. */
TP_API uint64_t tp_pool_completed(const tp_pool *p, uint64_t *failed);

/* Send any partly filled chunk, then run the pool until fd is readable (or
 * has hung up), so that the caller's next read on fd does not block while
 * results wait.  Returns at once when nothing is in flight.  0 or -1. */
TP_API int tp_pool_wait_fd(tp_pool *p, int fd);

/* Deliver every outstanding result.  0 or -1.  When halting soon, only the
 * inputs already sent to a worker are run and delivered; -1 with
 * TP_ERR_HALTED then. */
TP_API int tp_pool_finish(tp_pool *p);

/* The error that stopped the pool, and its message (owned by the pool). */
TP_API enum tp_error tp_pool_error(const tp_pool *p, const char **msg);

/* Remote workers (options.remote_fds) lost while the run went on: their
 * inputs in flight run again on the others.  Returns how many, and sets
 * *msg (if msg is not NULL) to a line about the latest, owned by the pool
 * ("rank 2 (node7) was lost with 3 inputs in flight (...); they run again
 * on the others"), or NULL when none was.  Losing the last one, or one
 * that could not load the plugin, ends the run (tp_pool_error). */
TP_API unsigned tp_pool_lost(const tp_pool *p, const char **msg);

/* Stop the workers (idle ones get EOF, run fini and exit within 2 s; busy
 * ones, and any after that, are killed with their process group), reap
 * them and free everything.  p may be NULL. */
TP_API void tp_pool_close(tp_pool *p);

/* The far end of a remote worker (options.remote_fds), as taskpool --mpi
 * runs it on each rank, and as any program with its own way of reaching
 * machines may run it behind a socket: serve requests
 * read from fd with a pool of local workers opened with spec and opt (as
 * tp_pool_open, in order; text_results and text_term must be the host's:
 * a request for another output form is an error), answering on
 * fd, until fd reaches its end (then the local pool is closed at once) or
 * opt->cancel_fd becomes readable.  name prefixes the messages it sends
 * back ("rank 2 (node7): plugin 'x' not found ...").  Returns 0 after
 * the end of fd, or the tp_error that stopped it, with a message in err. */
TP_API int tp_agent_serve(int fd, const char *spec,
                          const struct tp_pool_options *opt, const char *name,
                          char *err, size_t errlen);

/* The compiled-in directory of installed plugins. */
TP_API const char *tp_plugin_dir(void);

struct tp_plugin_info {
    size_t size;              /* sizeof(struct tp_plugin_info) of the library */
    const char *name;         /* as found on the search path */
    const struct tp_plugin *desc;
    const char *file;         /* the shared object */
};

/* Call cb for every plugin on the path (the given directories, then the
 * installed plugin dir), or only for plugin `only` if not NULL.  Each is
 * looked at in a process of its own, never in the caller's: its
 * constructors, a crash or a hang there (past timeout seconds; 0 means
 * 30) cannot reach the caller.  Files that are not usable plugins are
 * reported to bad (may be NULL) with a one-line message.  Returns 0, cb's
 * non-zero value, or -1 with err set when `only` cannot be used. */
TP_API int tp_plugins_each(const char *const *path, const char *only,
                           double timeout,
                           int (*cb)(void *arg,
                                     const struct tp_plugin_info *info),
                           void (*bad)(void *arg, const char *msg),
                           void *arg, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
