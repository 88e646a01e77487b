/* --sandbox: Landlock and seccomp, entered by a worker after init and its
 * limits (sandbox.c). */
#ifndef TP_SANDBOX_H
#define TP_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "worker/worker_limits.h"
#include "transport/transport.h"

/* In the host, before any worker starts: can this system hold c's
 * sandbox (this build has libseccomp, the kernel has Landlock and seccomp
 * filters, each allow_read entry is a directory)?  Then build the system
 * call filter once for every worker (c->filter, malloc'd: free it when the
 * workers are gone) where it does not depend on the worker (Landlock ABI
 * 6 or later), else leave c->filter NULL.  0, or -1 with a one-line
 * message: the pool must not start then, never unconfined. */
int tp__sandbox_prepare(struct tp__confine *c, char *err, size_t errlen);

/* In a worker that has run init and entered its limits (g): no new
 * privileges, Landlock (no file access but reading below allow_read),
 * then the system call filter, whose blocked calls end the worker with
 * SIGSYS after recording which call it was in g's progress page.  0, or -1
 * with a message: the worker must not serve then. */
int tp__sandbox_enter(const struct tp__confine *c, struct tp__guard *g,
                     char *err, size_t errlen);

/* In the host: the name of a blocked call ("openat"; "getpid (i386)" for
 * another architecture's), from its number and AUDIT_ARCH_* value. */
void tp__sandbox_call_name(uint32_t arch, int nr, char *buf, size_t len);

#endif
