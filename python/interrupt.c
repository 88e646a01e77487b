/* Ctrl-C while the pool runs without the GIL.  Python's own SIGINT
 * handler only notes the signal for the interpreter, which is not
 * running: the pool's loop would go on until its work was done.  So while
 * a main-thread call waits on workers, our handler stands before
 * Python's: it writes a byte to the pool's cancel_fd (the pool stops at
 * once and its call returns) and then calls Python's handler, which makes
 * the interpreter raise KeyboardInterrupt when it runs again.  Only while
 * SIGINT's Python handler is the default one, whose answer is
 * KeyboardInterrupt: a handler of the program's own may mean "go on",
 * and it runs as the call returns, as it does after any blocking call. */
#include "tpy.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <pythread.h>

/* Process-wide, as signal dispositions are; changed only with the GIL
 * held, by the main thread. */
static volatile sig_atomic_t armed_fd = -1;
static struct sigaction python_handler;
static unsigned long main_thread;
static PyObject *getsignal, *default_handler; /* signal's, held for good */

/* Is SIGINT's Python handler signal.default_int_handler?  1, 0, or -1
 * with an exception set.  _signal's getsignal, not signal's: that one is
 * Python code, in which a pending handler would run (and its exception
 * would be this call's). */
static int python_default(void)
{
    PyObject *h = PyObject_CallFunction(getsignal, "i", SIGINT);
    if (!h)
        return -1;
    int is = h == default_handler;
    Py_DECREF(h);
    return is;
}

static void on_sigint(int sig, siginfo_t *si, void *ctx)
{
    int e = errno;
    int fd = armed_fd;
    if (fd >= 0 && write(fd, "", 1) < 0) {
        /* full (a byte is there already) or closed: nothing to add */
    }
    if (python_handler.sa_flags & SA_SIGINFO)
        python_handler.sa_sigaction(sig, si, ctx);
    else if (python_handler.sa_handler != SIG_DFL &&
             python_handler.sa_handler != SIG_IGN)
        python_handler.sa_handler(sig);
    errno = e;
}

int tpy_interrupt_init(void)
{
    PyObject *signal_mod = PyImport_ImportModule("_signal");
    if (!signal_mod)
        return -1;
    getsignal = PyObject_GetAttrString(signal_mod, "getsignal");
    default_handler = PyObject_GetAttrString(signal_mod,
                                             "default_int_handler");
    Py_DECREF(signal_mod);
    if (!getsignal || !default_handler)
        return -1;
    main_thread = PyThread_get_thread_ident();
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    PyObject *t = PyObject_CallMethod(threading, "main_thread", NULL);
    Py_DECREF(threading);
    PyObject *id = t ? PyObject_GetAttrString(t, "ident") : NULL;
    Py_XDECREF(t);
    if (!id)
        return -1;
    main_thread = PyLong_AsUnsignedLong(id);
    Py_DECREF(id);
    return PyErr_Occurred() ? -1 : 0;
}

int tpy_interrupt_arm(int fd)
{
    struct sigaction cur, ours;
    if (PyThread_get_thread_ident() != main_thread)
        return 0;
    int is = python_default();
    if (is <= 0)
        return is;
    if (sigaction(SIGINT, NULL, &cur) != 0)
        return 0;
    /* SIG_IGN: Ctrl-C means nothing here; SIG_DFL: it ends the process,
     * and the workers die with it (their keepers' PDEATHSIG) */
    if (!(cur.sa_flags & SA_SIGINFO) &&
        (cur.sa_handler == SIG_IGN || cur.sa_handler == SIG_DFL))
        return 0;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigint)
        return 0;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = on_sigint;
    ours.sa_mask = cur.sa_mask;
    ours.sa_flags = (cur.sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
    python_handler = cur;
    armed_fd = fd;
    if (sigaction(SIGINT, &ours, NULL) != 0) {
        armed_fd = -1;
        return 0;
    }
    return 1;
}

void tpy_interrupt_disarm(void)
{
    struct sigaction cur;
    /* put Python's handler back, unless someone has replaced ours */
    if (sigaction(SIGINT, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
        cur.sa_sigaction == on_sigint)
        (void)sigaction(SIGINT, &python_handler, NULL);
    armed_fd = -1;
}
