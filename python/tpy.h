/* The Python module taskpool: the interface between its files.  The
 * module reaches libtaskpool through pool.h only. */
#ifndef TPY_H
#define TPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include <taskpool/pool.h>

/* A pool's options, and the strings they point to (owned here). */
struct tpy_opts {
    struct tp_pool_options o;
    char *spec;
    char *init_arg;
    char **plugin_path; /* NULL-terminated, or NULL */
    char **allow_read;
    int raw;           /* results as bytes, not str */
    int errors_return; /* a Failure in a failed input's place */
};

/* Parse Pool()'s keyword arguments (kw may be NULL) into op, checked as
 * taskpool(1) checks its options.  0, or -1 with an exception set. */
int tpy_opts_parse(struct tpy_opts *op, const char *spec, PyObject *kw);
void tpy_opts_free(struct tpy_opts *op);

/* One result the pool delivered, waiting to be handed to Python: its
 * bytes (and, for a failure, the input's) are in the queue's arena. */
struct tpy_item {
    uint64_t index;
    int status;
    size_t data, len;
    size_t input, input_len;
};

/* Filled by the pool's callbacks without the GIL, emptied with it. */
struct tpy_queue {
    struct tpy_item *v;
    size_t n, head, cap;
    char *arena;
    size_t alen, acap;
    int oom;   /* a result could not be kept: the run stops */
    int woken; /* a byte is in the wake pipe */
};

typedef struct tpy_pool {
    PyObject_HEAD
    struct tpy_opts opt;
    tp_pool *p[2];   /* [0] in input order, [1] in completion order: opened
                        when first needed, closed when a run is abandoned */
    PyObject *run;   /* the run in progress, or NULL (not a reference: the
                        run holds the pool and clears this as it ends) */
    struct tpy_queue q;
    int wake[2];     /* written by the result callback: a result is queued */
    int cancel[2];   /* written on SIGINT, or by close() from another
                        thread: the pool's cancel_fd */
    int busy;        /* a thread runs the pool without the GIL */
    int closed;
} tpy_pool;

extern PyTypeObject tpy_pool_type, tpy_run_type, tpy_failure_type;
extern PyObject *tpy_error, *tpy_task_error;

/* pool.c */
/* The pool's tp_pool for input order (0) or completion order (1), opened
 * if need be.  NULL with an exception set. */
tp_pool *tpy_pool_get(tpy_pool *self, int unordered);
/* Close tp_pool `which` (its workers stop; the next run opens another). */
void tpy_pool_drop(tpy_pool *self, int which);
/* Raise the exception for tp_pool p's error (after a -1). */
void tpy_pool_raise(tpy_pool *self, tp_pool *p);
/* Run fn(arg) without the GIL, Ctrl-C armed to cancel it: fn's value;
 * or -1 with an exception set (fn not run) for a signal that came first. */
int tpy_pool_blocking(tpy_pool *self, int (*fn)(void *), void *arg);
/* Raise the error of a pool opened or used with code e and message msg. */
void tpy_raise_code(enum tp_error e, const char *msg);

/* run.c */
/* A run of the pool over iterable: an iterator of results. */
PyObject *tpy_run_new(tpy_pool *pool, PyObject *iterable, int unordered);

/* result.c */
/* Text as the command's JSON output reads it (invalid bytes replaced). */
PyObject *tpy_text(const char *s, size_t n);
/* The Failure object or TaskError for a failed item of a run. */
PyObject *tpy_failure_new(const struct tpy_item *it, const char *arena,
                          uint64_t index, int raw);
void tpy_task_error_raise(const struct tpy_item *it, const char *arena,
                          uint64_t index, int raw);

/* interrupt.c */
/* While armed, SIGINT (handled by Python) also writes a byte to fd.
 * Only in the main thread, and only when SIGINT has Python's default
 * handler; returns 1 if armed, 0 if not, -1 with an exception set. */
int tpy_interrupt_arm(int fd);
void tpy_interrupt_disarm(void);
int tpy_interrupt_init(void);

#endif
