# Shared by the shell tests: run taskpool, compare exactly, clean up.
set -u
: "${TASKPOOL:?run through make check}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
# make check TASKPOOL_VALGRIND=1: the host runs under valgrind
# (valgrind-host.sh), which writes errors and definite leaks to a file per
# process here; the test fails if any holds a report ("==PID==" lines:
# "--PID--" ones are valgrind's own warnings, e.g. a syscall it does not
# know).  Readable by all: cli-userns.sh runs the host as nobody.
if [ -n "${TASKPOOL_VALGRIND:-}" ]; then
    TP_VALGRIND_LOGS=$tmp/valgrind
    export TP_VALGRIND_LOGS
    chmod 755 "$tmp" && mkdir -m 1777 "$TP_VALGRIND_LOGS" || exit 99
    trap 'rc=$?; valgrind_reports || rc=1; rm -rf "$tmp"; exit $rc' EXIT
fi
nl='
'

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# run ARGS...: sets $out, $err, $rc (stdin is the caller's)
run() {
    "$TASKPOOL" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# trun ARGS...: like run, under timeout 30, so that a regression that
# hangs fails (status 124) instead of hanging the suite
trun() {
    timeout 30 "$TASKPOOL" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# expect_err RC OUT ERR: like expect, stderr first (it says why)
expect_err() {
    check "stderr" "$3" "$err"
    check "stdout" "$2" "$out"
    check "exit status" "$1" "$rc"
}

# section NAME: run the function NAME in a subshell, so that one failure
# does not hide the others; the test ends with: [ -z "$failed" ] || fail
failed=
section() {
    ( "$@" ) || failed="$failed $1"
}

# check WHAT EXPECTED ACTUAL
check() {
    [ "$2" = "$3" ] && return 0
    printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3" >&2
    exit 1
}

# expect RC OUT ERR: the last run's status, stdout and stderr, exactly
expect() {
    check "exit status" "$1" "$rc"
    check "stdout" "$2" "$out"
    check "stderr" "$3" "$err"
}

# pids: stdin to stdout with what varies from run to run masked: a worker's
# pid in a message ("worker PID", the line's first), and in jsonl records
# every "worker":PID and every "ms":MS (milliseconds with three decimals)
pids() { sed -E 's/"worker":[0-9]+/"worker":PID/g; s/"ms":[0-9]+\.[0-9]{3}/"ms":MS/g; s/worker [0-9]+/worker PID/'; }

# norm: like pids, but every "worker PID" of a line, and only the first
# "worker" and "ms" fields, "ms" with any digits
norm() { sed -E 's/worker [0-9]+/worker PID/g; s/"worker":[0-9]+/"worker":PID/; s/"ms":[0-9.]+/"ms":MS/'; }

# no process whose parent is $1 may remain
no_children() {
    sleep 0.1
    left=$(ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ')
    [ -z "$left" ] || fail "processes left behind by $1: $left"
}

# processes still running whose command line holds MARK (workers are forks
# of the host, so they carry its arguments, e.g. --init-arg MARK)
leftovers() {
    # through the exec path (cli-exec-workers.sh), keepers, workers and
    # what kernels start carry the worker helper's command line, which
    # names TP_EXEC_MARK, not the host's: they count too
    { pgrep -f -- "$1"
      [ -z "${TP_EXEC_MARK:-}" ] || pgrep -f -- "$TP_EXEC_MARK"; } |
        grep -vx "$$" | wc -l
}

# wait (up to 10 s) until exactly N processes carry MARK
wait_procs() {
    for _ in $(seq 100); do
        [ "$(leftovers "$1")" -eq "$2" ] && return 0
        sleep 0.1
    done
    fail "expected $2 processes with $1, found $(leftovers "$1")"
}

# under valgrind: print its reports (stderr), 1 if there is any
valgrind_reports() {
    bad=$(grep -l '^==[0-9]*==' "$tmp"/valgrind/*.log 2>/dev/null)
    [ -z "$bad" ] && return 0
    printf 'FAIL: valgrind reports:\n' >&2
    for f in $bad; do cat "$f" >&2; done
    return 1
}

# skip_under_valgrind WHY: a test that cannot hold under valgrind (say, a
# time it asserts) is skipped there, saying why
skip_under_valgrind() {
    [ -z "${TASKPOOL_VALGRIND:-}" ] && return 0
    printf 'SKIP: under valgrind: %s\n' "$*"
    exit 77
}

# mrun_in FILE ARGS...: the test's own mrun ARGS with FILE as standard
# input, which mpirun forwards to rank 0.  Open MPI 4.1's mpirun itself
# sometimes crashes doing that (open-mpi/ompi#7483, taskpool(1) names
# it): a crash of mpirun's own there is run again, twice at most, and
# said; nothing else is.
mrun_in() {
    local in=$1 again=0
    shift
    while :; do
        mrun "$@" <"$in"
        [ "$rc" = 139 ] && [ $again -lt 2 ] &&
            grep -q 'orte_iof_hnp_read_local_handler' "$tmp/err" || break
        again=$((again + 1))
        echo "mpirun crashed forwarding standard input (open-mpi/ompi#7483): once more" >&2
    done
}
