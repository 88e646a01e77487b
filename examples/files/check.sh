#!/bin/sh
# The smoke test `make check` runs: the recipe on a directory of files
# whose names hold a blank and a newline, checked against wc(1); a file
# outside --allow-read fails alone; without --allow-read the sandbox
# refuses the plugin.  Where this system cannot sandbox (no Landlock or
# seccomp), the recipe runs without --sandbox and says so.
TASKPOOL=${TASKPOOL:-taskpool}
fail() { echo "FAIL: $*" >&2; exit 1; }
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/data/sub"
printf 'one\ntwo\nthree\n' >"$t/data/a.txt"
printf 'no newline' >"$t/data/sub/with blank"
printf 'x\n' >"$t/data/sub/new
line"
: >"$t/data/empty"
printf 'secret\n' >"$t/outside"

sandbox="--sandbox --allow-read $t/data"
if ! "$TASKPOOL" --sandbox seed:double 1 >/dev/null 2>"$t/err"; then
    echo "NOTE: no sandbox here ($(cat "$t/err")): the recipe runs without it"
    sandbox=
fi

# the recipe (sorted by name: results come in input order, find's order)
# shellcheck disable=SC2086
find "$t/data" -type f -print0 |
    "$TASKPOOL" -0 $sandbox --tag -L . filewc:count >"$t/got" || fail "the recipe exited $?"
want=$(cd "$t/data" && for f in a.txt empty "sub/with blank" "sub/new
line"; do
    printf '%s\t%s %s\n' "$t/data/$f" "$(wc -l <"$f" | tr -d ' ')" "$(wc -c <"$f" | tr -d ' ')"
done)
[ "$(sort "$t/got")" = "$(printf '%s\n' "$want" | sort)" ] ||
    fail "$(printf 'the recipe printed:\n%s\nwanted:\n%s' "$(cat "$t/got")" "$want")"

if [ -n "$sandbox" ]; then
    # outside --allow-read: that input fails with the system's message
    rc=0
    # shellcheck disable=SC2086
    printf '%s\0%s\0' "$t/data/a.txt" "$t/outside" |
        "$TASKPOOL" -0 $sandbox -L . filewc:count >"$t/out" 2>"$t/err" || rc=$?
    [ "$rc" = 1 ] && [ "$(cat "$t/out")" = "3 14" ] &&
        grep -q "^taskpool: input 2 (.*outside): Permission denied$" "$t/err" ||
        fail "outside --allow-read: exit $rc, $(cat "$t/out") $(cat "$t/err")"
    # without --allow-read: refused before any input runs, naming the flag
    rc=0
    "$TASKPOOL" --sandbox -L . filewc:count "$t/data/a.txt" >"$t/out" 2>"$t/err" || rc=$?
    [ "$rc" = 2 ] && [ ! -s "$t/out" ] && grep -q TP_PLUGIN_READS_FILES "$t/err" ||
        fail "--sandbox without --allow-read: exit $rc, $(cat "$t/err")"
fi
echo "PASS: filewc"
