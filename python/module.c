/* The module: taskpool.map, the types and the exceptions. */
#include "tpy.h"

PyObject *tpy_error, *tpy_task_error;

static PyObject *module_map(PyObject *mod, PyObject *args, PyObject *kw)
{
    (void)mod;
    PyObject *task, *iterable;
    if (!PyArg_ParseTuple(args, "UO:map", &task, &iterable))
        return NULL;
    PyObject *targs = PyTuple_Pack(1, task);
    PyObject *pool = targs ? PyObject_Call((PyObject *)&tpy_pool_type, targs,
                                           kw)
                           : NULL;
    Py_XDECREF(targs);
    if (!pool)
        return NULL;
    PyObject *list = PyObject_CallMethod(pool, "map", "O", iterable);
    /* closed whatever map did; its exception, if any, is the one raised */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *r = PyObject_CallMethod(pool, "close", NULL);
    Py_DECREF(pool);
    if (type) {
        Py_XDECREF(r);
        PyErr_Restore(type, value, tb);
        return NULL;
    }
    if (!r) {
        Py_XDECREF(list);
        return NULL;
    }
    Py_DECREF(r);
    return list;
}

PyDoc_STRVAR(map_doc,
"map(task, iterable, **options) -> list\n\n"
"Run task (\"PLUGIN:TASK\") on every item of iterable in a pool of\n"
"worker processes and return the results in input order:\n\n"
"    >>> taskpool.map(\"seed:double\", range(1, 11), jobs=4)\n"
"    ['2', '4', '6', '8', '10', '12', '14', '16', '18', '20']\n\n"
"The options are Pool()'s.  The workers are stopped before it returns.");

static PyMethodDef module_methods[] = {
    {"map", (PyCFunction)(void (*)(void))module_map,
     METH_VARARGS | METH_KEYWORDS, map_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(module_doc,
"taskpool: run C kernels over your data in a pool of worker processes.\n\n"
"The C answer to multiprocessing.Pool.map, for work written as C\n"
"functions: a taskpool plugin (a shared object) exports kernels, each\n"
"worker process loads it, and inputs and results travel as bytes, not\n"
"pickles.  No Python code runs in the workers, so the GIL is no limit;\n"
"the calling thread releases it while it waits, and other threads run.\n\n"
"    import taskpool\n"
"    taskpool.map(\"seed:double\", range(1, 11), jobs=4)  # ['2', ..., '20']\n\n"
"    with taskpool.Pool(\"hash:sha256\", jobs=4, timeout=10) as pool:\n"
"        for digest in pool.imap(paths):        # input order, streaming\n"
"            ...\n"
"        for digest in pool.imap_unordered(paths):  # as they finish\n"
"            ...\n\n"
"A failed input (its kernel returned an error, crashed its worker, or\n"
"ran past timeout) raises TaskError when its turn comes, with .index,\n"
".input, .status and .message; with errors=\"return\" a Failure with the\n"
"same attributes takes its result's place.  Faults stay in the workers:\n"
"a crash or a hang costs a worker, which is replaced, never the caller.\n"
"Ctrl-C raises KeyboardInterrupt and stops the workers.\n\n"
"Workers are started by exec'ing a small helper after fork, so a pool\n"
"may be opened from a program with threads.\n\n"
"See Pool for the options, and the tutorial (doc/tutorial.md, \"From\n"
"Python\") for a first plugin.");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "taskpool",
    .m_doc = module_doc,
    .m_size = -1,
    .m_methods = module_methods,
};

PyDoc_STRVAR(error_doc,
"The pool failed: the plugin was not found or did not load, init failed,\n"
"a worker could not be started, or the pool was closed.  The message is\n"
"the taskpool command's.");

PyDoc_STRVAR(task_error_doc,
"An input failed.  Raised when the input's turn comes; imap's iterator\n"
"goes on after it.  Attributes:\n\n"
"  index    the input's position in the iterable, from 0\n"
"  input    the input as sent (str; bytes with raw=True)\n"
"  status   'error', 'crashed', 'timeout' or 'protocol', the words of\n"
"           the command's jsonl\n"
"  message  the kernel's message, or how its worker died");

static int add_type(PyObject *m, PyTypeObject *t, const char *name)
{
    if (PyType_Ready(t) != 0)
        return -1;
    Py_INCREF(t);
    if (PyModule_AddObject(m, name, (PyObject *)t) != 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit_taskpool(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    tpy_error = PyErr_NewExceptionWithDoc("taskpool.Error", error_doc,
                                          NULL, NULL);
    tpy_task_error = tpy_error ? PyErr_NewExceptionWithDoc(
                                     "taskpool.TaskError", task_error_doc,
                                     tpy_error, NULL)
                               : NULL;
    if (!tpy_task_error || PyModule_AddObjectRef(m, "Error", tpy_error) != 0 ||
        PyModule_AddObjectRef(m, "TaskError", tpy_task_error) != 0 ||
        add_type(m, &tpy_pool_type, "Pool") != 0 ||
        PyType_Ready(&tpy_run_type) != 0 ||
        add_type(m, &tpy_failure_type, "Failure") != 0 ||
        PyModule_AddStringConstant(m, "__version__", PACKAGE_VERSION) != 0 ||
        tpy_interrupt_init() != 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
