/* nosys: run a command as on a kernel without some system calls, to test
 * how taskpool refuses what it cannot do there (a test helper, built with
 * libseccomp only).
 *   nosys CALL[,CALL]... COMMAND [ARG]...
 * Each CALL fails with ENOSYS (an old kernel, or one built without it);
 * "newuser" instead makes clone and unshare fail with EPERM when asked
 * for a new user namespace (a system that forbids them). */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: nosys CALL[,CALL]... COMMAND [ARG]...\n");
        return 2;
    }
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    if (!f)
        return 2;
    for (char *s = argv[1], *name; (name = strsep(&s, ","));) {
        int r;
        if (!strcmp(name, "newuser")) {
            r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                 SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER,
                                         CLONE_NEWUSER));
            if (!r)
                r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM),
                                     SCMP_SYS(unshare), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER,
                                             CLONE_NEWUSER));
        } else {
            int nr = seccomp_syscall_resolve_name(name);
            if (nr == __NR_SCMP_ERROR) {
                fprintf(stderr, "nosys: unknown system call %s\n", name);
                return 2;
            }
            r = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
        }
        if (r) {
            fprintf(stderr, "nosys: %s: %s\n", name, strerror(-r));
            return 2;
        }
    }
    if (seccomp_load(f) != 0) {
        fprintf(stderr, "nosys: cannot load the filter\n");
        return 2;
    }
    seccomp_release(f);
    execvp(argv[2], argv + 2);
    fprintf(stderr, "nosys: %s: %s\n", argv[2], strerror(errno));
    return 127;
}
