/* The worker's side of the limits and the sandbox, driven directly in
 * forked children: what a blocked call records and how the host names
 * it, with the filter the host built and with one the worker builds;
 * the sizes in messages.  Without libseccomp: the refusal, then SKIP. */
#include <check.h>

#include "ck-main.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/worker_limits.h"
#include "worker/sandbox.h"

#ifdef HAVE_SECCOMP
#include <linux/audit.h>
#include <seccomp.h>
#endif

START_TEST(sizes)
{
    char b[32];
    tp__human_size(64u << 20, b, sizeof b);
    ck_assert_str_eq(b, "64 MiB");
    tp__human_size(3u << 29, b, sizeof b);
    ck_assert_str_eq(b, "1.5 GiB");
    tp__human_size(1300000, b, sizeof b);
    ck_assert_str_eq(b, "1.2 MiB");
    tp__human_size(1000u << 20, b, sizeof b);
    ck_assert_str_eq(b, "1000 MiB");
    tp__human_size((uint64_t)1 << 50, b, sizeof b);
    ck_assert_str_eq(b, "1 PiB");
    tp__human_size(512u << 10, b, sizeof b);
    ck_assert_str_eq(b, "512 KiB");
}
END_TEST

#ifdef HAVE_SECCOMP
/* In a child: enter c's limits and sandbox, check that files are closed
 * and a harmless call works, then make a forbidden call.  Returns the
 * child's wait status; *prog is what it recorded. */
static int sandboxed_child(const struct tp__confine *c,
                           struct tp__progress *prog)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char err[512];
        struct tp__guard *g = tp__limits_enter(c, prog, 0, err, sizeof err);
        if (!g || tp__sandbox_enter(c, g, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            _exit(10);
        }
        if (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
            _exit(11);
        if (getpid() <= 0)
            _exit(12);
        syscall(SYS_ptrace, 0, 0, 0, 0); /* PTRACE_TRACEME */
        _exit(13);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

static void blocked(struct tp__confine *c)
{
    struct tp__progress *prog = mmap(NULL, sizeof *prog,
                                    PROT_READ | PROT_WRITE,
                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(prog, MAP_FAILED);
    memset(prog, 0, sizeof *prog);
    int st = sandboxed_child(c, prog);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
                  "wait status 0x%x", (unsigned)st);
    ck_assert_int_eq(prog->cause, TP_CAUSE_SYSCALL);
    ck_assert_int_eq(prog->syscall_nr, SYS_ptrace);
    char name[64];
    tp__sandbox_call_name(prog->syscall_arch, prog->syscall_nr, name,
                         sizeof name);
    ck_assert_str_eq(name, "ptrace");
    munmap(prog, sizeof *prog);
}

START_TEST(host_built_filter)
{
    struct tp__confine c = {0, 0, 0, 1, NULL, NULL, 0};
    char err[512];
    if (tp__sandbox_prepare(&c, err, sizeof err) != 0) {
        fprintf(stderr, "skipped: %s\n", err);
        return;
    }
    blocked(&c);
    free((void *)c.filter);
}
END_TEST

START_TEST(worker_built_filter)
{
    /* where the host cannot build it for every worker (Landlock before
     * ABI 6), the worker builds its own */
    struct tp__confine c = {0, 0, 0, 1, NULL, NULL, 0};
    char err[512];
    if (tp__sandbox_prepare(&c, err, sizeof err) != 0) {
        fprintf(stderr, "skipped: %s\n", err);
        return;
    }
    free((void *)c.filter);
    c.filter = NULL;
    c.filter_len = 0;
    blocked(&c);
}
END_TEST

START_TEST(call_names)
{
    char b[64];
#if defined(__x86_64__)
    tp__sandbox_call_name(AUDIT_ARCH_X86_64, 59, b, sizeof b);
    ck_assert_str_eq(b, "execve");
    tp__sandbox_call_name(AUDIT_ARCH_I386, 20, b, sizeof b);
    ck_assert_str_eq(b, "getpid (i386)");
#endif
    tp__sandbox_call_name(seccomp_arch_native(), 99999, b, sizeof b);
    ck_assert_str_eq(b, "99999");
}
END_TEST
#endif

int main(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("worker");
    tcase_add_test(tc, sizes);
#ifdef HAVE_SECCOMP
    tcase_add_test(tc, host_built_filter);
    tcase_add_test(tc, worker_built_filter);
    tcase_add_test(tc, call_names);
#else
    struct tp__confine c = {0, 0, 0, 1, NULL, NULL, 0};
    char err[512];
    if (tp__sandbox_prepare(&c, err, sizeof err) == 0 ||
        strcmp(err, "cannot sandbox: this taskpool was built without "
               "libseccomp (install libseccomp-dev, then configure and "
               "build again)")) {
        fprintf(stderr, "FAIL: without libseccomp, --sandbox: %s\n", err);
        return EXIT_FAILURE;
    }
    if (ck_main(s) != EXIT_SUCCESS)
        return EXIT_FAILURE;
    fprintf(stderr, "SKIP: taskpool is built without libseccomp\n");
    return 77;
#endif
    suite_add_tcase(s, tc);
    return ck_main(s);
}
