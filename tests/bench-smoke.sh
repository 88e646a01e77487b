# The benchmark in smoke mode: every system's output checks out and the
# table has every row, so bench/run cannot rot.  No timing is asserted.
. "$(dirname "$0")/lib.sh"
skip_under_valgrind "bench/run runs the build's taskpool itself, not \$TASKPOOL"
src=$(cd "$(dirname "$0")/.." && pwd)
srcdir=$src "$SHELL" "$src/bench/run" --smoke >"$tmp/table" 2>"$tmp/err"
check "bench/run --smoke status" 0 "$?"
cat "$tmp/table"
for row in "tiny  *serial C loop" "tiny  *taskpool -j2" "tiny  *xargs -P2" \
    "cpu \(primes 2000\) *taskpool -j1" "cpu \(primes 2000\) *taskpool -j2" \
    "stream  *taskpool -j2" "startup  *taskpool -j2" "big records \(MiB\) *cat \| cat" \
    "big records \(MiB\) *taskpool -j2 length"; do
    grep -Eq "^$row " "$tmp/table" || fail "no row '$row' in the table"
done
