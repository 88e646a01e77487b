#!/bin/bash
# $TASKPOOL under `make check TASKPOOL_VALGRIND=1`: the host, run by
# valgrind through libtool (./taskpool is libtool's wrapper script, and
# valgrind must see the program, not the shell).  exec all the way, so that
# the tests' $! and signals reach the host itself.  Workers are forks
# without exec: they stay under valgrind but report nothing
# (--child-silent-after-fork); programs a kernel runs are not traced.
# Errors and definite leaks make the host exit 1 and go to a file per host
# process in $TP_VALGRIND_LOGS, which tests/lib.sh reads when the test
# ends (stderr is the test's to compare).
: "${TP_HOST:?run through make check TASKPOOL_VALGRIND=1}"
if [ -n "${TP_VALGRIND_LOGS:-}" ]; then
    # on a descriptor of its own, not --log-file: valgrind would open that
    # on the lowest free one, and a host started with stdout closed would
    # find it open (and write its results into the report)
    exec 99>>"$TP_VALGRIND_LOGS/$$.log" || exit 99
    set -- --log-fd=99 "$TP_HOST" "$@"
else
    set -- "$TP_HOST" "$@"
fi
exec "$TP_LIBTOOL" --mode=execute valgrind -q --error-exitcode=1 \
    --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --child-silent-after-fork=yes \
    --trace-children=no --keep-debuginfo=yes --run-libc-freeres=no "$@"
