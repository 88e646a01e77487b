/* Fault points: where a test makes a kill -9 land for certain.  Only the
 * test host tests/taskpool-faults is built with TP_FAULTS (make check
 * builds it; it is never installed); in taskpool itself a point is
 * nothing.  With TASKPOOL_FAULT=NAME:N, the N-th pass through point NAME
 * returns 1 (and the caller kills the host), every other pass 0. */
#ifndef TP_FAULT_H
#define TP_FAULT_H

#include <signal.h>

#ifdef TP_FAULTS
int tp__fault(const char *name);
#else
#define tp__fault(name) 0
#endif

/* At point NAME: die as if by kill -9. */
#define TP_FAULT_KILL(name)                                                   \
    do {                                                                      \
        if (tp__fault(name))                                                  \
            raise(SIGKILL);                                                   \
    } while (0)

#endif
