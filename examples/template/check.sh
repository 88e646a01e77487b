#!/bin/sh
# The smoke test `make check` runs: the plugin loads, maps, fails a bad
# input without stopping the run, and refuses a bad --init-arg.
TASKPOOL=${TASKPOOL:-taskpool}
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$TASKPOOL" -L . -j 2 --init-arg 2.5 scale:by 1 2 3) || fail "scale:by exited $?"
[ "$out" = "$(printf '2.5\n5\n7.5')" ] || fail "scale:by printed: $out"

rc=0
out=$("$TASKPOOL" -L . scale:by 4 x 5 2>err) || rc=$?
[ "$rc" = 1 ] && [ "$out" = "$(printf '4\n5')" ] || fail "a bad input: exit $rc, printed: $out"
[ "$(cat err)" = "taskpool: input 2 (x): not a number" ] || fail "a bad input said: $(cat err)"

rc=0
"$TASKPOOL" -L . --init-arg two scale:by 1 >/dev/null 2>err || rc=$?
[ "$rc" = 2 ] && grep -q 'not a number: two' err || fail "a bad --init-arg: exit $rc, $(cat err)"
rm -f err
echo "PASS: scale"
