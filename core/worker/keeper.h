/* The keeper: holds everything a worker's kernel starts (keeper.c). */
#ifndef TP_KEEPER_H
#define TP_KEEPER_H

#include <sys/types.h>

#include "transport/transport.h"

/* Start the keeper: in a new PID namespace (and a user namespace when not
 * root) if the system allows it (*ns = 1), else a plain fork (*ns = 0).
 * Returns as fork does.  bare: the child will only exec (fork.c's exec
 * path), so the fallback is a bare clone, without glibc's fork handlers,
 * which are not async-signal-safe in the child of a threaded process. */
pid_t tp__keeper_spawn(int *ns, int bare);

/* What the keeper holds: a process running fn(fd, the keeper's pid,
 * prog, arg), which must not return. */
typedef void (*tp__held_fn)(int fd, pid_t parent, struct tp__progress *prog,
                           const void *arg);

/* tp__keeper_main's flags: TP_KEEP_USERNS forks the held process into a
 * user namespace of its own (for RLIMIT_NPROC: see keeper.c); where that
 * is refused it is forked as usual and prog->userns_errno says why. */
#define TP_KEEP_USERNS 1u
/* TP_KEEP_MAPPED: the keeper's own user namespace (ns, not root) has its
 * maps already: the exec path writes them before the exec, since a
 * process whose uid is unmapped loses its capabilities at execve and
 * could not write them afterwards. */
#define TP_KEEP_MAPPED 2u

/* In the child of tp__keeper_spawn: fork fn on fd and hold it (uid, gid:
 * the host's, mapped into a user namespace), and stop any task of it that
 * uses more than cpu_limit seconds of CPU (0: no limit).  host is a pidfd
 * of the host process, or -1: with one, the keeper ends when the host
 * process does; without, when the thread that started it does
 * (PR_SET_PDEATHSIG, which the caller set).  Never returns. */
_Noreturn void tp__keeper_main(int fd, int host, struct tp__progress *prog,
                              int ns, uid_t uid, gid_t gid, unsigned flags,
                              double cpu_limit, tp__held_fn fn,
                              const void *arg);

#endif
