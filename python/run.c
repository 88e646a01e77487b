/* A run: the pool over one iterable, as an iterator of results.  The
 * iterable is read a batch at a time, and only while no result waits to
 * be taken, so memory stays bounded on an endless generator: what the
 * pool holds (its window of records in flight) and what it delivered
 * while a batch was fed. */
#include "tpy.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Inputs read from the iterable per release of the GIL. */
#define BATCH 256
/* With no result for this long, send the inputs read so far (a partly
 * filled chunk) and wait for one: a slow iterable still gets results as
 * they come. */
#define PATIENCE_NS 5000000u

typedef struct {
    PyObject_HEAD
    tpy_pool *pool;   /* a reference */
    PyObject *it;     /* the input iterator, NULL once it is exhausted */
    int unordered;
    int done;         /* ended: StopIteration from now on */
    int executing;    /* inside next(): a second caller is refused */
    uint64_t base;    /* the tp_pool's count of inputs when the run began */
    uint64_t fed, taken;
    uint64_t last_ns; /* when a result last came, or the run began */
    /* the batch being fed: records end to end, and their lengths */
    char *buf;
    size_t blen, bcap;
    size_t lens[BATCH];
    unsigned nrec;
} tpy_run;

/* A coarse clock (a read of the vDSO's page, where CLOCK_MONOTONIC costs
 * a fifth of the time per input of a tiny kernel): its ticks of a few ms
 * are fine enough for PATIENCE_NS. */
static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The run is over, or abandoned: the pool may run another.  Inputs still
 * in flight are stopped with the tp_pool that runs them. */
static void run_end(tpy_run *r)
{
    if (r->done)
        return;
    r->done = 1;
    Py_CLEAR(r->it);
    tpy_pool *pool = r->pool;
    if (pool->run == (PyObject *)r)
        pool->run = NULL;
    if (r->taken != r->fed || pool->q.head != pool->q.n)
        tpy_pool_drop(pool, r->unordered);
    pool->q.n = pool->q.head = pool->q.alen = 0;
    if (pool->closed) {
        tpy_pool_drop(pool, 0);
        tpy_pool_drop(pool, 1);
    }
}

/* An int that fits in a long long, written as str() writes it, into buf
 * (24 bytes): its length, or 0 (not such an int: str() it is).  str()
 * of an int builds an object per input, a sixth of a tiny map's time. */
static Py_ssize_t small_int(PyObject *x, char *buf)
{
    int over;
    if (!PyLong_CheckExact(x))
        return 0;
    long long v = PyLong_AsLongLongAndOverflow(x, &over);
    if (over || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    char tmp[24], *e = tmp + sizeof tmp, *d = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    do
        *--d = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--d = '-';
    memcpy(buf, d, (size_t)(e - d));
    return e - d;
}

/* The exception set while input i was converted (a str with a lone
 * surrogate, a buffer that is not contiguous, an int too long for str()),
 * again with the input's index: ValueError or TypeError, caused by it. */
static void indexed(uint64_t i)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *kind = PyErr_GivenExceptionMatches(type, PyExc_ValueError)
                         ? PyExc_ValueError
                         : PyExc_TypeError;
    PyErr_Format(kind, "input at index %llu: %S", (unsigned long long)i,
                 value ? value : Py_None);
    PyObject *t2, *v2, *tb2;
    PyErr_Fetch(&t2, &v2, &tb2);
    PyErr_NormalizeException(&t2, &v2, &tb2);
    if (value) {
        if (tb)
            PyException_SetTraceback(value, tb);
        PyException_SetCause(v2, value); /* steals value */
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    PyErr_Restore(t2, v2, tb2);
}

/* Append one input, in the form the pool sends (see tpy.h's rules). */
static int add_input(tpy_run *r, PyObject *x)
{
    PyObject *s = NULL;
    const char *d;
    Py_ssize_t n;
    Py_buffer view;
    int have_view = 0;
    char num[24];
    if ((n = small_int(x, num)) > 0) {
        d = num;
    } else if (PyUnicode_Check(x)) {
        d = PyUnicode_AsUTF8AndSize(x, &n);
    } else if (PyObject_CheckBuffer(x)) {
        if (PyObject_GetBuffer(x, &view, PyBUF_SIMPLE) != 0) {
            indexed(r->fed + r->nrec);
            return -1;
        }
        have_view = 1;
        d = view.buf;
        n = view.len;
    } else if (!PyBool_Check(x) && (PyLong_Check(x) || PyFloat_Check(x))) {
        s = PyObject_Str(x);
        d = s ? PyUnicode_AsUTF8AndSize(s, &n) : NULL;
    } else {
        PyErr_Format(PyExc_TypeError,
                     "input at index %llu is %.100s: expected str, "
                     "bytes-like, int or float",
                     (unsigned long long)r->fed + r->nrec,
                     Py_TYPE(x)->tp_name);
        return -1;
    }
    int rc = -1;
    if (!d) {
        indexed(r->fed + r->nrec);
        goto out;
    }
    if ((uint64_t)n > TP_POOL_RECORD_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "input at index %llu: %zd bytes, over the limit of "
                     "%llu bytes",
                     (unsigned long long)r->fed + r->nrec, n,
                     (unsigned long long)TP_POOL_RECORD_MAX);
        goto out;
    }
    if (r->blen + (size_t)n > r->bcap) {
        size_t cap = r->bcap ? r->bcap : 65536;
        while (cap < r->blen + (size_t)n)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b) {
            PyErr_NoMemory();
            goto out;
        }
        r->buf = b;
        r->bcap = cap;
    }
    memcpy(r->buf + r->blen, d, (size_t)n);
    r->blen += (size_t)n;
    r->lens[r->nrec++] = (size_t)n;
    rc = 0;
out:
    if (have_view)
        PyBuffer_Release(&view);
    Py_XDECREF(s);
    return rc;
}

struct feed_args {
    tp_pool *p;
    tpy_run *r;
    int wait; /* then wait for a result after feeding */
};

static int feed_blocking(void *arg)
{
    struct feed_args *a = arg;
    const char *d = a->r->buf;
    for (unsigned i = 0; i < a->r->nrec; i++) {
        if (tp_pool_feed(a->p, d, a->r->lens[i]) != 0)
            return -1;
        d += a->r->lens[i];
    }
    return a->wait ? tp_pool_wait_fd(a->p, a->r->pool->wake[0]) : 0;
}

/* Read a batch from the iterable and feed it; then, if nothing came for
 * a while (or the input ended), wait for a result.  0 or -1. */
static int step(tpy_run *r)
{
    r->nrec = 0;
    r->blen = 0;
    uint64_t t0 = now_ns();
    while (r->it && r->nrec < BATCH) {
        PyObject *x = PyIter_Next(r->it);
        if (!x) {
            if (PyErr_Occurred())
                return -1;
            Py_CLEAR(r->it);
            break;
        }
        int bad = add_input(r, x);
        Py_DECREF(x);
        if (bad)
            return -1;
        /* a slow iterable: send what there is */
        if (now_ns() - t0 > PATIENCE_NS)
            break;
    }
    /* the iterable ran Python code, which may have closed the pool (or
     * another thread did, while it let go of the GIL): only now is the
     * tp_pool looked up */
    tp_pool *p = r->pool->closed ? NULL : r->pool->p[r->unordered];
    if (!p) {
        PyErr_SetString(tpy_error, "the pool was closed");
        return -1;
    }
    struct feed_args a = {p, r, !r->it || now_ns() - r->last_ns > PATIENCE_NS};
    if (!r->nrec && !a.wait)
        return 0;
    int rc = tpy_pool_blocking(r->pool, feed_blocking, &a);
    r->fed += r->nrec;
    r->nrec = 0;
    if (r->pool->q.head < r->pool->q.n)
        r->last_ns = now_ns();
    if (rc != 0) {
        if (!PyErr_Occurred())
            tpy_pool_raise(r->pool, p);
        return -1;
    }
    return 0;
}

/* The next queued result as a Python object (or TaskError raised). */
static PyObject *take(tpy_run *r)
{
    struct tpy_queue *q = &r->pool->q;
    const struct tpy_item *it = &q->v[q->head++];
    const char *a = q->arena;
    uint64_t index = it->index - r->base;
    PyObject *res;
    r->taken++;
    if (it->status != TP_RESULT_OK) {
        if (r->pool->opt.errors_return)
            res = tpy_failure_new(it, a, index, r->pool->opt.raw);
        else {
            tpy_task_error_raise(it, a, index, r->pool->opt.raw);
            res = NULL;
        }
    } else if (r->pool->opt.raw) {
        res = PyBytes_FromStringAndSize(a + it->data, (Py_ssize_t)it->len);
    } else {
        res = tpy_text(a + it->data, it->len);
    }
    if (q->head == q->n)
        q->n = q->head = q->alen = 0;
    return res;
}

static PyObject *run_next(tpy_run *r)
{
    if (r->done)
        return NULL;
    if (r->executing) {
        PyErr_SetString(PyExc_ValueError, "iterator already executing");
        return NULL;
    }
    r->executing = 1;
    PyObject *res = NULL;
    struct tpy_queue *q = &r->pool->q;
    for (;;) {
        if (q->head < q->n) {
            res = take(r);
            /* a TaskError leaves the run going; other errors end it */
            if (!res && !PyErr_ExceptionMatches(tpy_task_error))
                run_end(r);
            break;
        }
        if (!r->it && r->taken == r->fed) {
            run_end(r);
            break;
        }
        if (step(r) != 0) {
            run_end(r);
            break;
        }
    }
    r->executing = 0;
    return res;
}

PyObject *tpy_run_new(tpy_pool *pool, PyObject *iterable, int unordered)
{
    PyObject *it = PyObject_GetIter(iterable);
    if (!it)
        return NULL;
    tp_pool *p = tpy_pool_get(pool, unordered);
    if (!p) {
        Py_DECREF(it);
        return NULL;
    }
    tpy_run *r = PyObject_New(tpy_run, &tpy_run_type);
    if (!r) {
        Py_DECREF(it);
        return NULL;
    }
    Py_INCREF(pool);
    r->pool = pool;
    r->it = it;
    r->unordered = unordered;
    r->done = r->executing = 0;
    r->base = tp_pool_fed(p);
    r->fed = r->taken = 0;
    r->last_ns = now_ns();
    r->buf = NULL;
    r->blen = r->bcap = 0;
    r->nrec = 0;
    pool->run = (PyObject *)r;
    return (PyObject *)r;
}

static PyObject *run_close(tpy_run *r, PyObject *unused)
{
    (void)unused;
    /* another thread is in next(), perhaps in the iterable's own next():
     * what it uses must not go from under it (a generator's close() says
     * the same) */
    if (r->executing) {
        PyErr_SetString(PyExc_ValueError, "iterator already executing");
        return NULL;
    }
    run_end(r);
    Py_RETURN_NONE;
}

static void run_dealloc(tpy_run *r)
{
    run_end(r);
    Py_XDECREF(r->pool);
    free(r->buf);
    PyObject_Free(r);
}

static PyObject *run_iter(PyObject *self)
{
    Py_INCREF(self);
    return self;
}

PyDoc_STRVAR(run_close_doc,
"close()\n\n"
"End the run: inputs not yet run are dropped and the workers running\n"
"others are stopped (the pool starts fresh ones for its next run).");

static PyMethodDef run_methods[] = {
    {"close", (PyCFunction)run_close, METH_NOARGS, run_close_doc},
    {NULL, NULL, 0, NULL},
};

PyTypeObject tpy_run_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "taskpool.Run",
    .tp_basicsize = sizeof(tpy_run),
    .tp_dealloc = (destructor)run_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The results of Pool.imap or Pool.imap_unordered, an iterator.",
    .tp_iter = run_iter,
    .tp_iternext = (iternextfunc)run_next,
    .tp_methods = run_methods,
};
