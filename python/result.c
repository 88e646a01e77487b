/* What a run hands back: text, Failure objects and TaskError. */
#include "tpy.h"

#include <stdlib.h>
#include <string.h>
#include <structmember.h>

#include "common/status.h"
#include "common/utf8.h"

PyObject *tpy_text(const char *s, size_t n)
{
    PyObject *t = PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, NULL);
    if (t || !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        return t;
    PyErr_Clear();
    /* each byte that starts no valid sequence becomes U+FFFD on its own,
     * as in the command's JSON (Python's "replace" would take a broken
     * sequence's bytes together) */
    char *d = malloc(3 * n + 1), *o = d;
    if (!d)
        return PyErr_NoMemory();
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = tp__utf8_len(u + i, n - i);
        if (k) {
            memcpy(o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    t = PyUnicode_DecodeUTF8(d, o - d, NULL);
    free(d);
    return t;
}

typedef struct {
    PyObject_HEAD
    PyObject *index, *input, *status, *message;
} tpy_failure;

/* The four attributes of a failed input, as new references in v. */
static int attrs(const struct tpy_item *it, const char *arena, uint64_t index,
                 int raw, PyObject *v[4])
{
    const char *in = arena + it->input;
    v[0] = PyLong_FromUnsignedLongLong(index);
    v[1] = raw ? PyBytes_FromStringAndSize(in, (Py_ssize_t)it->input_len)
               : tpy_text(in, it->input_len);
    v[2] = PyUnicode_FromString(tp__status_word((enum tp_status)it->status));
    v[3] = tpy_text(arena + it->data, it->len);
    if (v[0] && v[1] && v[2] && v[3])
        return 0;
    for (int i = 0; i < 4; i++)
        Py_CLEAR(v[i]);
    return -1;
}

PyObject *tpy_failure_new(const struct tpy_item *it, const char *arena,
                          uint64_t index, int raw)
{
    PyObject *v[4];
    if (attrs(it, arena, index, raw, v) != 0)
        return NULL;
    tpy_failure *f = PyObject_New(tpy_failure, &tpy_failure_type);
    if (!f) {
        for (int i = 0; i < 4; i++)
            Py_DECREF(v[i]);
        return NULL;
    }
    f->index = v[0];
    f->input = v[1];
    f->status = v[2];
    f->message = v[3];
    return (PyObject *)f;
}

void tpy_task_error_raise(const struct tpy_item *it, const char *arena,
                          uint64_t index, int raw)
{
    static const char *const names[4] = {"index", "input", "status",
                                         "message"};
    PyObject *v[4];
    if (attrs(it, arena, index, raw, v) != 0)
        return;
    /* "input INDEX (INPUT): STATUS: MESSAGE", the index from 0 as .index */
    PyObject *text = PyUnicode_FromFormat("input %llu (%R): %U: %U",
                                          (unsigned long long)index, v[1],
                                          v[2], v[3]);
    PyObject *e = text ? PyObject_CallOneArg(tpy_task_error, text) : NULL;
    Py_XDECREF(text);
    for (int i = 0; i < 4; i++) {
        if (e && PyObject_SetAttrString(e, names[i], v[i]) != 0)
            Py_CLEAR(e);
        Py_DECREF(v[i]);
    }
    if (e) {
        PyErr_SetObject(tpy_task_error, e);
        Py_DECREF(e);
    }
}

static void failure_dealloc(tpy_failure *f)
{
    Py_XDECREF(f->index);
    Py_XDECREF(f->input);
    Py_XDECREF(f->status);
    Py_XDECREF(f->message);
    PyObject_Free(f);
}

static PyObject *failure_repr(tpy_failure *f)
{
    return PyUnicode_FromFormat("Failure(index=%R, input=%R, status=%R, "
                                "message=%R)",
                                f->index, f->input, f->status, f->message);
}


static PyMemberDef failure_members[] = {
    {"index", T_OBJECT, offsetof(tpy_failure, index), READONLY,
     "the input's position in the iterable, from 0"},
    {"input", T_OBJECT, offsetof(tpy_failure, input), READONLY,
     "the input as sent (str; bytes with raw=True)"},
    {"status", T_OBJECT, offsetof(tpy_failure, status), READONLY,
     "'error', 'crashed', 'timeout' or 'protocol', as in the command's "
     "jsonl"},
    {"message", T_OBJECT, offsetof(tpy_failure, message), READONLY,
     "what went wrong: the kernel's message, or how its worker died"},
    {NULL, 0, 0, 0, NULL},
};

PyTypeObject tpy_failure_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "taskpool.Failure",
    .tp_basicsize = sizeof(tpy_failure),
    .tp_dealloc = (destructor)failure_dealloc,
    .tp_repr = (reprfunc)failure_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A failed input's place in the results, with errors='return':\n"
              "index, input, status and message, as TaskError's.",
    .tp_members = failure_members,
};
