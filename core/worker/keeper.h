/* The keeper: holds everything a worker's kernel starts (keeper.c). */
#ifndef TP_KEEPER_H
#define TP_KEEPER_H

#include <sys/types.h>

#include "transport/transport.h"

/* Start the keeper: in a new PID namespace (and a user namespace when not
 * root) if the system allows it (*ns = 1), else a plain fork (*ns = 0).
 * Returns as fork does. */
pid_t tp__keeper_spawn(int *ns);

/* What the keeper holds: a process running fn(fd, the keeper's pid,
 * prog, arg), which must not return. */
typedef void (*tp__held_fn)(int fd, pid_t parent, struct tp__progress *prog,
                           const void *arg);

/* tp__keeper_main's flags: TP_KEEP_USERNS forks the held process into a
 * user namespace of its own (for RLIMIT_NPROC: see keeper.c); where that
 * is refused it is forked as usual and prog->userns_errno says why. */
#define TP_KEEP_USERNS 1u

/* In the child of tp__keeper_spawn: fork fn on fd and hold it (uid, gid:
 * the host's, mapped into a user namespace), and stop any task of it that
 * uses more than cpu_limit seconds of CPU (0: no limit).  Never returns. */
_Noreturn void tp__keeper_main(int fd, struct tp__progress *prog, int ns,
                              uid_t uid, gid_t gid, unsigned flags,
                              double cpu_limit, tp__held_fn fn,
                              const void *arg);

#endif
