# As an unprivileged user, workers are held in a user and PID namespace of
# their own, uid mapped to itself: files are reached as before, and nothing
# a kernel starts outlives the run.  Needs root (to become nobody) and
# setpriv, and a build tree nobody can read: else SKIP.
. "$(dirname "$0")/lib.sh"
mark="userns-$$-$(date +%s%N)"
command -v setpriv >/dev/null 2>&1 || exit 77
[ "$(id -u)" = 0 ] || exit 77
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
nobody test -x "$TASKPOOL" 2>/dev/null &&
    nobody test -r "$TASKPOOL_PLUGIN_PATH/.libs/chaos.so" 2>/dev/null || exit 77

nobody "$TASKPOOL" -j 1 chaos:act uidmap >"$tmp/out" 2>"$tmp/err"
check "uidmap status" 0 "$?"
check "uid mapped to itself" "65534 65534 1" "$(cat "$tmp/out")"
check "uidmap stderr" "" "$(cat "$tmp/err")"

nobody "$TASKPOOL" -j 2 --init-arg "$mark" chaos:act setsidok ok:2 segv ok:4 \
    >"$tmp/out" 2>"$tmp/err"
check "run status" 1 "$?"
check "run stdout" "ok${nl}2${nl}4" "$(cat "$tmp/out")"
wait_procs "$mark" 0
