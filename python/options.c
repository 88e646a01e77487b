/* Pool()'s keyword arguments: named after the command's options, and
 * checked by the same code (common/optparse.c), so a bad value raises
 * ValueError with the command's words. */
#include "tpy.h"

#include <stdlib.h>
#include <string.h>

#include "common/optparse.h"

/* The options that take a value, by their Python names. */
static const char *const valued[] = {
    "jobs", "chunk", "timeout", "init_timeout", "retries",
    "max_tasks_per_child", "mem_limit", "cpu_limit", "max_procs", NULL,
};

static char *dup_utf8(PyObject *s)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u)
        return NULL;
    if (strlen(u) != (size_t)n) {
        PyErr_SetString(PyExc_ValueError, "embedded null character");
        return NULL;
    }
    char *d = strdup(u);
    if (!d)
        PyErr_NoMemory();
    return d;
}

/* A value as the command line would spell it: str as it is, int and
 * float as str() writes them. */
static PyObject *spelled(const char *name, PyObject *v)
{
    if (PyUnicode_Check(v)) {
        Py_INCREF(v);
        return v;
    }
    if (!PyBool_Check(v) && (PyLong_Check(v) || PyFloat_Check(v)))
        return PyObject_Str(v);
    PyErr_Format(PyExc_TypeError, "%s must be an int, a float or a str, not %.100s",
                 name, Py_TYPE(v)->tp_name);
    return NULL;
}

static int set_valued(struct tpy_opts *op, const char *name, PyObject *v)
{
    char opt[32], err[256];
    size_t i = 0;
    for (; name[i] && i < sizeof opt - 1; i++)
        opt[i] = name[i] == '_' ? '-' : name[i];
    opt[i] = '\0';
    PyObject *s = spelled(name, v);
    if (!s)
        return -1;
    const char *text = PyUnicode_AsUTF8(s);
    int r = text ? tp__opt_set(&op->o, opt, text, err, sizeof err) : -1;
    Py_DECREF(s);
    if (r != 0 && text)
        PyErr_SetString(PyExc_ValueError, err);
    return r == 0 ? 0 : -1;
}

static void free_list(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* A str, or an iterable of str, as a NULL-terminated list. */
static char **str_list(const char *name, PyObject *v)
{
    PyObject *seq = PyUnicode_Check(v) ? PyTuple_Pack(1, v)
                                       : PySequence_Tuple(v);
    if (!seq) {
        PyErr_Format(PyExc_TypeError, "%s must be a str or a list of str",
                     name);
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    char **list = calloc((size_t)n + 1, sizeof *list);
    if (!list) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyTuple_GET_ITEM(seq, i);
        if (!PyUnicode_Check(s)) {
            PyErr_Format(PyExc_TypeError, "%s must be a str or a list of str",
                         name);
        } else if ((list[i] = dup_utf8(s)) != NULL) {
            continue;
        }
        Py_DECREF(seq);
        free_list(list);
        return NULL;
    }
    Py_DECREF(seq);
    return list;
}

/* TASKPOOL_PLUGIN_PATH's directories after plugin_path's, as the command
 * searches them; empty components are skipped. */
static int add_env_path(struct tpy_opts *op)
{
    const char *e = getenv("TASKPOOL_PLUGIN_PATH");
    if (!e || !*e)
        return 0;
    size_t have = 0, more = 1;
    while (op->plugin_path && op->plugin_path[have])
        have++;
    for (const char *c = e; *c; c++)
        more += *c == ':';
    char **v = realloc(op->plugin_path, (have + more + 1) * sizeof *v);
    if (!v)
        return -1;
    op->plugin_path = v;
    for (const char *c = e; *c;) {
        size_t n = strcspn(c, ":");
        if (n && !(v[have++] = strndup(c, n))) {
            v[have - 1] = NULL;
            return -1;
        }
        c += n + (c[n] == ':');
    }
    v[have] = NULL;
    return 0;
}

/* True or False only: sandbox="false" must not mean a sandbox. */
static int set_flag(const char *name, PyObject *v, int *out)
{
    if (!PyBool_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s must be True or False, not %.100s",
                     name, Py_TYPE(v)->tp_name);
        return -1;
    }
    *out = v == Py_True;
    return 0;
}

static int set_errors(struct tpy_opts *op, PyObject *v)
{
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    if (s && !strcmp(s, "raise"))
        op->errors_return = 0;
    else if (s && !strcmp(s, "return"))
        op->errors_return = 1;
    else {
        PyErr_SetString(PyExc_ValueError,
                        "errors must be 'raise' or 'return'");
        return -1;
    }
    return 0;
}

static int set_one(struct tpy_opts *op, const char *name, PyObject *v)
{
    if (v == Py_None)
        return 0;
    for (size_t i = 0; valued[i]; i++)
        if (!strcmp(name, valued[i]))
            return set_valued(op, name, v);
    if (!strcmp(name, "init_arg")) {
        if (!PyUnicode_Check(v)) {
            PyErr_SetString(PyExc_TypeError, "init_arg must be a str");
            return -1;
        }
        return (op->init_arg = dup_utf8(v)) ? 0 : -1;
    }
    if (!strcmp(name, "plugin_path"))
        return (op->plugin_path = str_list(name, v)) ? 0 : -1;
    if (!strcmp(name, "allow_read"))
        return (op->allow_read = str_list(name, v)) ? 0 : -1;
    if (!strcmp(name, "sandbox"))
        return set_flag(name, v, &op->o.sandbox);
    if (!strcmp(name, "raw"))
        return set_flag(name, v, &op->raw);
    if (!strcmp(name, "errors"))
        return set_errors(op, v);
    PyErr_Format(PyExc_TypeError,
                 "Pool() got an unexpected keyword argument '%s'", name);
    return -1;
}

int tpy_opts_parse(struct tpy_opts *op, const char *spec, PyObject *kw)
{
    memset(op, 0, sizeof *op);
    struct tp_pool_options init = TP_POOL_OPTIONS_INIT;
    op->o = init;
    if (!(op->spec = strdup(spec))) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (kw && PyDict_Next(kw, &pos, &k, &v)) {
        const char *name = PyUnicode_AsUTF8(k);
        if (!name || set_one(op, name, v) != 0)
            return -1;
    }
    if (op->allow_read && !op->o.sandbox) {
        PyErr_SetString(PyExc_ValueError,
                        "allow_read applies to sandbox, which is not given");
        return -1;
    }
    if (add_env_path(op) != 0) {
        PyErr_NoMemory();
        return -1;
    }
    op->o.init_arg = op->init_arg;
    op->o.plugin_path = (const char *const *)op->plugin_path;
    op->o.allow_read = (const char *const *)op->allow_read;
    return 0;
}

void tpy_opts_free(struct tpy_opts *op)
{
    free(op->spec);
    free(op->init_arg);
    free_list(op->plugin_path);
    free_list(op->allow_read);
    memset(op, 0, sizeof *op);
}
