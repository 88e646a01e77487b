# Workers started by exec (exec_workers, set in the command by the test
# knob TASKPOOL_EXEC_WORKERS=1): the helper is exec'd once per worker, a
# helper that cannot be executed is one clear message, and the tests of
# faults, time limits, init and load errors, limits, the sandbox,
# containment and worker pids pass again through the exec path, with the
# same outcomes.
. "$(dirname "$0")/lib.sh"
: "${TASKPOOL_WORKER:?run through make check}"
here=$(cd "$(dirname "$0")" && pwd)

# a helper that notes each exec, then is the real one
helper_counts_execs() {
    printf '#!/bin/sh\necho "$#" >>"%s/execs"\nexec "%s" "$@"\n' \
        "$tmp" "$TASKPOOL_WORKER" >"$tmp/helper"
    chmod +x "$tmp/helper"
    TASKPOOL_EXEC_WORKERS=1 TASKPOOL_WORKER=$tmp/helper \
        trun -j 3 seed:double 1 2 3 4 5 6
    expect_err 0 "2${nl}4${nl}6${nl}8${nl}10${nl}12" ""
    check "one exec per worker, 7 arguments" "7${nl}7${nl}7" \
        "$(cat "$tmp/execs")"
}

helper_missing() {
    TASKPOOL_EXEC_WORKERS=1 TASKPOOL_WORKER=$tmp/none run seed:double 1
    expect_err 3 "" "taskpool: cannot start workers by exec: $tmp/none: No such file or directory (the worker helper; TASKPOOL_WORKER names another)"
}

helper_not_executable() {
    : >"$tmp/plain"
    chmod 644 "$tmp/plain"
    TASKPOOL_EXEC_WORKERS=1 TASKPOOL_WORKER=$tmp/plain run seed:double 1
    expect_err 3 "" "taskpool: cannot start workers by exec: $tmp/plain: Permission denied (the worker helper; TASKPOOL_WORKER names another)"
}

# without the knob the helper is not used at all
fork_ignores_helper() {
    TASKPOOL_WORKER=$tmp/none run seed:double 1
    expect_err 0 "2" ""
}

# stated by the helper itself when run by hand
helper_by_hand() {
    "$TASKPOOL_WORKER" >"$tmp/out" 2>"$tmp/err"
    check "status" 127 "$?"
    check "message" "taskpool-worker: started by libtaskpool (exec_workers), not by hand" "$(cat "$tmp/err")"
}

# the other tests, through the exec path
again_by_exec() {
    [ -n "${TASKPOOL_VALGRIND:-}" ] && {
        echo "again_by_exec: not under valgrind (the helper is not run under it)"
        return 0
    }
    bad=
    # the helper under a path of this run's own: the processes of the
    # tests that count them (lib.sh's leftovers) carry it
    chmod 755 "$tmp"
    ln -s "$TASKPOOL_WORKER" "$tmp/taskpool-worker-exec-$$" || exit 1
    for t in cli-faults cli-faults-bulk cli-timeout cli-inittimeout \
        cli-load-errors cli-limits cli-sandbox cli-contain cli-signals \
        cli-userns cli-workers cli-nopidfd; do
        TASKPOOL_EXEC_WORKERS=1 TASKPOOL_WORKER=$tmp/taskpool-worker-exec-$$ \
            TP_EXEC_MARK=taskpool-worker-exec-$$ ${SHELL:-sh} "$here/$t.sh" \
            >"$tmp/$t.log" 2>&1
        r=$?
        case $r in
        0) echo "by exec: $t: PASS" ;;
        77) echo "by exec: $t: SKIP" ;;
        *) echo "by exec: $t: FAIL ($r)"; cat "$tmp/$t.log" >&2; bad="$bad $t" ;;
        esac
    done
    [ -z "$bad" ] || fail "through the exec path:$bad"
}

section helper_counts_execs
section helper_missing
section helper_not_executable
section fork_ignores_helper
section helper_by_hand
section again_by_exec
[ -z "$failed" ] || fail "$failed"
