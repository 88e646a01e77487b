# Without pidfds (kernels before 5.3, valgrind, a seccomp filter) the host
# watches its children with waitid instead, and still tells how they died:
# a worker's crash, and a crash in a probe (--list, --dry-run), where the
# keeper must be given time to record it before it is killed.  A shim
# preloaded into the host makes pidfd_open fail with ENOSYS.
. "$(dirname "$0")/lib.sh"
cat >"$tmp/nopidfd.c" <<'EOC'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
long syscall(long n, ...)
{
    long a[6];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (n == SYS_pidfd_open) {
        const char *mark = getenv("NOPIDFD_MARK");
        if (mark)
            close(open(mark, O_WRONLY | O_CREAT, 0644));
        errno = ENOSYS;
        return -1;
    }
    long (*real)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
EOC
$CC -shared -fPIC -o "$tmp/nopidfd.so" "$tmp/nopidfd.c" -ldl || fail "cc nopidfd.so"
# the host of a sanitizer build wants its runtime first: the shim is ahead
export LD_PRELOAD="$tmp/nopidfd.so" NOPIDFD_MARK="$tmp/denied"
export ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

run -j 1 chaos:act segv ok:2
check "segv status" 1 "$rc"
check "segv stdout" "2" "$out"
check "segv stderr" "taskpool: input 1 (segv): worker PID killed by signal 11 (Segmentation fault)" \
    "$(printf '%s\n' "$err" | pids)"
[ -e "$tmp/denied" ] || fail "the shim did not deny pidfd_open"

H=$TP_TEST_PLUGINS/hostile
Hso=$(cd "$H/.libs" && pwd -P)
# (a race when it was lost: try a few times)
for _ in 1 2 3 4 5; do
    run --dry-run "$H/ctorcrash.la:echo" a
    expect 2 "" "taskpool: $Hso/ctorcrash.so: constructor crashed: killed by signal 11 (Segmentation fault)"
done
