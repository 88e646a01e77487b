/* taskpool.Pool: a pool of workers for one task, and its runs. */
#include "tpy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int on_result(void *arg, const struct tp_result *r);

void tpy_raise_code(enum tp_error e, const char *msg)
{
    switch (e) {
    case TP_ERR_USAGE:
        PyErr_SetString(PyExc_ValueError, msg);
        break;
    case TP_ERR_CANCELLED:
        /* Ctrl-C: Python's handler has noted it; KeyboardInterrupt if
         * that is what it raises */
        if (PyErr_CheckSignals() == 0)
            PyErr_SetString(tpy_error, msg);
        break;
    default:
        PyErr_SetString(tpy_error, msg);
        break;
    }
}

void tpy_pool_raise(tpy_pool *self, tp_pool *p)
{
    const char *msg = NULL;
    enum tp_error e = tp_pool_error(p, &msg);
    if (self->q.oom) {
        PyErr_NoMemory();
        return;
    }
    if (e == TP_ERR_CANCELLED && self->closed) {
        PyErr_SetString(tpy_error, "the pool was closed");
        return;
    }
    tpy_raise_code(e, msg ? msg : "the pool failed");
}

struct open_args {
    tpy_pool *self;
    tp_pool *p;
    struct tp_pool_options o;
    char err[1024];
    int code;
};

static int open_blocking(void *arg)
{
    struct open_args *a = arg;
    struct tp_pool_callbacks cb = TP_POOL_CALLBACKS_INIT;
    cb.result = on_result;
    cb.arg = a->self;
    a->code = tp_pool_open(&a->p, a->self->opt.spec, &a->o, &cb, a->err,
                           sizeof a->err);
    return a->code ? -1 : 0;
}

tp_pool *tpy_pool_get(tpy_pool *self, int unordered)
{
    if (self->closed) {
        PyErr_SetString(PyExc_ValueError, "the pool is closed");
        return NULL;
    }
    if (self->p[unordered])
        return self->p[unordered];
    struct open_args a = {.self = self, .o = self->opt.o};
    a.o.unordered = unordered;
    a.o.cancel_fd = self->cancel[0];
    a.o.exec_workers = 1;
    if (tpy_pool_blocking(self, open_blocking, &a) != 0) {
        if (PyErr_Occurred() ||
            (a.code == TP_ERR_CANCELLED && PyErr_CheckSignals() != 0))
            return NULL;
        tpy_raise_code((enum tp_error)a.code, a.err);
        return NULL;
    }
    self->p[unordered] = a.p;
    return a.p;
}

static int close_blocking(void *arg)
{
    tp_pool_close(arg);
    return 0;
}

void tpy_pool_drop(tpy_pool *self, int which)
{
    tp_pool *p = self->p[which];
    self->p[which] = NULL;
    if (!p)
        return;
    /* the workers that still run an abandoned input are killed at once:
     * nothing waits for them */
    Py_BEGIN_ALLOW_THREADS
    close_blocking(p);
    Py_END_ALLOW_THREADS
}

/* A byte read from fd, and any more there: the pipe is empty again. */
static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

int tpy_pool_blocking(tpy_pool *self, int (*fn)(void *), void *arg)
{
    int r;
    drain(self->wake[0]);
    self->q.woken = 0;
    /* a Ctrl-C that cancelled an earlier call: its pool is gone, and the
     * byte must not cancel the next (close() from another thread writes
     * one too, but then nothing runs again) */
    if (!self->closed)
        drain(self->cancel[0]);
    int armed = tpy_interrupt_arm(self->cancel[1]);
    if (armed < 0)
        return -1;
    /* a Ctrl-C that came before our handler stood (after the drain):
     * Python's handler has it, and the pool would never hear of it */
    if (armed && PyErr_CheckSignals() != 0) {
        tpy_interrupt_disarm();
        return -1;
    }
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    r = fn(arg);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (armed)
        tpy_interrupt_disarm();
    return r;
}

/* The pool's result callback, run without the GIL: keep a copy. */
static int keep(struct tpy_queue *q, const void *s, size_t n, size_t *off)
{
    if (q->alen + n > q->acap) {
        size_t cap = q->acap ? q->acap : 65536;
        while (cap < q->alen + n)
            cap *= 2;
        char *a = realloc(q->arena, cap);
        if (!a)
            return -1;
        q->arena = a;
        q->acap = cap;
    }
    if (n)
        memcpy(q->arena + q->alen, s, n);
    *off = q->alen;
    q->alen += n;
    return 0;
}

static int on_result(void *arg, const struct tp_result *r)
{
    tpy_pool *self = arg;
    struct tpy_queue *q = &self->q;
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 1024;
        struct tpy_item *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return q->oom = 1;
        q->v = v;
        q->cap = cap;
    }
    struct tpy_item *it = &q->v[q->n];
    it->index = r->index;
    it->status = r->status;
    it->input = it->input_len = 0;
    if (keep(q, r->data, r->len, &it->data) != 0 ||
        (r->status != TP_RESULT_OK &&
         keep(q, r->input, r->input_len, &it->input) != 0))
        return q->oom = 1;
    it->len = r->len;
    if (r->status != TP_RESULT_OK)
        it->input_len = r->input_len;
    q->n++;
    if (!q->woken) {
        q->woken = 1;
        if (write(self->wake[1], "", 1) < 0) {
            /* full: it is awake anyway */
        }
    }
    return 0;
}

static int pipe_pair(int fd[2])
{
    if (pipe2(fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        fd[0] = fd[1] = -1;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

static int pool_init(tpy_pool *self, PyObject *args, PyObject *kw)
{
    const char *spec;
    if (self->opt.spec) {
        PyErr_SetString(PyExc_RuntimeError, "Pool.__init__ called twice");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "s:Pool", &spec))
        return -1;
    if (tpy_opts_parse(&self->opt, spec, kw) != 0 ||
        pipe_pair(self->wake) != 0 || pipe_pair(self->cancel) != 0)
        return -1;
    return tpy_pool_get(self, 0) ? 0 : -1;
}

static PyObject *pool_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args, (void)kw;
    tpy_pool *self = (tpy_pool *)type->tp_alloc(type, 0);
    if (self) {
        self->wake[0] = self->wake[1] = -1;
        self->cancel[0] = self->cancel[1] = -1;
    }
    return (PyObject *)self;
}

static void close_fds(int fd[2])
{
    for (int i = 0; i < 2; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    fd[0] = fd[1] = -1;
}

/* Stop the workers (unless another thread is in the pool: then that
 * call is cancelled, and closes them as it returns). */
static PyObject *pool_close(tpy_pool *self, PyObject *unused)
{
    (void)unused;
    self->closed = 1;
    if (self->busy) {
        if (write(self->cancel[1], "", 1) < 0) {
            /* a byte is there already */
        }
        Py_RETURN_NONE;
    }
    tpy_pool_drop(self, 0);
    tpy_pool_drop(self, 1);
    Py_RETURN_NONE;
}

static void pool_dealloc(tpy_pool *self)
{
    /* without the GIL: idle workers get up to 2 s to run fini */
    tpy_pool_drop(self, 0);
    tpy_pool_drop(self, 1);
    close_fds(self->wake);
    close_fds(self->cancel);
    tpy_opts_free(&self->opt);
    free(self->q.v);
    free(self->q.arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A run may start: the pool is open and runs nothing else. */
static int may_run(tpy_pool *self)
{
    if (self->closed) {
        PyErr_SetString(PyExc_ValueError, "the pool is closed");
        return 0;
    }
    if (self->run) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the pool is running another map: finish or close "
                        "its iterator first");
        return 0;
    }
    return 1;
}

static PyObject *pool_imap(tpy_pool *self, PyObject *iterable)
{
    return may_run(self) ? tpy_run_new(self, iterable, 0) : NULL;
}

static PyObject *pool_imap_unordered(tpy_pool *self, PyObject *iterable)
{
    return may_run(self) ? tpy_run_new(self, iterable, 1) : NULL;
}

static PyObject *pool_map(tpy_pool *self, PyObject *iterable)
{
    PyObject *run = pool_imap(self, iterable);
    if (!run)
        return NULL;
    PyObject *list = PySequence_List(run);
    /* on an error the run is dropped here: what still runs is stopped */
    Py_DECREF(run);
    return list;
}

static PyObject *pool_enter(tpy_pool *self, PyObject *unused)
{
    (void)unused;
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *pool_exit(tpy_pool *self, PyObject *args)
{
    (void)args;
    PyObject *r = pool_close(self, NULL);
    Py_XDECREF(r);
    if (!r)
        return NULL;
    Py_RETURN_FALSE;
}

static PyObject *pool_repr(tpy_pool *self)
{
    return PyUnicode_FromFormat("<taskpool.Pool '%s'%s>",
                                self->opt.spec ? self->opt.spec : "?",
                                self->closed ? " closed" : "");
}

PyDoc_STRVAR(map_doc,
"map(iterable) -> list\n\n"
"Run the task on every item of iterable and return the results, in\n"
"input order.  The first failed input raises TaskError (the inputs\n"
"still running are stopped), or, with errors='return', a Failure takes\n"
"its result's place.");

PyDoc_STRVAR(imap_doc,
"imap(iterable) -> iterator\n\n"
"Like map(), but lazily: iterable is read as results are taken, so an\n"
"endless generator runs in bounded memory.  Results come in input\n"
"order.  A failed input raises TaskError when its turn comes; the\n"
"iterator goes on after it.  Leaving the loop early stops the inputs\n"
"that still run once the iterator is gone (or its close() is called):\n"
"until then it holds the pool.  One run at a time per pool: another\n"
"map or imap meanwhile, from any thread, raises RuntimeError.");

PyDoc_STRVAR(imap_unordered_doc,
"imap_unordered(iterable) -> iterator\n\n"
"Like imap(), but each result as soon as it is ready, in completion\n"
"order: a slow input holds up no other.  Failure.index and\n"
"TaskError.index say which input a result is for.");

PyDoc_STRVAR(close_doc,
"close()\n\n"
"Stop the workers: idle ones run the plugin's fini and exit, busy ones\n"
"are killed.  The pool cannot be used after.  Leaving a with block\n"
"calls it.");

static PyMethodDef pool_methods[] = {
    {"map", (PyCFunction)pool_map, METH_O, map_doc},
    {"imap", (PyCFunction)pool_imap, METH_O, imap_doc},
    {"imap_unordered", (PyCFunction)pool_imap_unordered, METH_O,
     imap_unordered_doc},
    {"close", (PyCFunction)pool_close, METH_NOARGS, close_doc},
    {"__enter__", (PyCFunction)pool_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)pool_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(pool_doc,
"Pool(task, *, jobs=None, chunk=None, timeout=None, retries=None, ...)\n\n"
"A pool of worker processes running task, \"PLUGIN:TASK\" (or\n"
"\"PATH:TASK\"), a C kernel of a taskpool plugin.  Each worker loads the\n"
"plugin itself; no Python runs in the workers and nothing is pickled.\n"
"The workers are started, and the plugin loaded and initialised, before\n"
"Pool() returns: a plugin that is not found, does not load, or whose\n"
"init fails raises taskpool.Error here, a bad option ValueError.\n\n"
"Options, as the taskpool command's (see taskpool(1)):\n"
"  jobs                 workers: N, \"N%\" of CPUs, \"+N\"/\"-N\" (CPUs)\n"
"  chunk                inputs per request (default: adaptive)\n"
"  timeout              seconds a task may run, or \"200%\" of the median\n"
"                       (then never less than 1 s)\n"
"  init_timeout         seconds a worker may take to load and init\n"
"  retries              run a crashed or timed-out input N more times\n"
"  max_tasks_per_child  replace a worker after N tasks\n"
"  mem_limit            memory of a worker: bytes or \"64M\", \"2G\"\n"
"  cpu_limit            CPU seconds a task may use\n"
"  max_procs            processes of a worker, itself included\n"
"  sandbox              True: tasks get no files, exec, processes or\n"
"                       sockets\n"
"  allow_read           with sandbox: directories tasks may read\n"
"  init_arg             a str for the plugin's init hook\n"
"  plugin_path          directories searched for plugins first (then\n"
"                       TASKPOOL_PLUGIN_PATH, then the installed ones)\n"
"  raw                  True: results as bytes, not str\n"
"  errors               'raise' (default): a failed input raises\n"
"                       TaskError; 'return': a Failure takes its place\n\n"
"Inputs are str (sent as UTF-8), bytes-like, int or float (their str()),\n"
"up to 256 MiB less 20 bytes each; another type raises TypeError naming\n"
"its index.\n"
"Results are str (invalid UTF-8 replaced by U+FFFD byte by byte, as the\n"
"command's jsonl output does), or bytes with raw=True.\n\n"
"    with taskpool.Pool(\"hash:sha256\", jobs=4, timeout=10) as pool:\n"
"        for digest in pool.imap(paths):\n"
"            print(digest)");

PyTypeObject tpy_pool_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "taskpool.Pool",
    .tp_basicsize = sizeof(tpy_pool),
    .tp_dealloc = (destructor)pool_dealloc,
    .tp_repr = (reprfunc)pool_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = pool_doc,
    .tp_methods = pool_methods,
    .tp_init = (initproc)pool_init,
    .tp_new = pool_new,
};
