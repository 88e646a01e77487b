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
# the sandbox's and the CPU limit's rows, with their cost after the table
rows="tiny  *taskpool -j2 --cpu-limit|cpu \(primes 2000\) *taskpool -j2 --cpu-limit"
[ "${TP_SECCOMP:-}" = yes ] &&
    rows="$rows|tiny  *taskpool -j2 --sandbox|cpu \(primes 2000\) *taskpool -j2 --sandbox|startup  *taskpool -j2 --sandbox"
(IFS='|'; for row in $rows; do
    grep -Eq "^$row " "$tmp/table" || fail "no row '$row' in the table"
done)
grep -Eq '^tiny  *--cpu-limit ' "$tmp/table" || fail "no cost line for --cpu-limit"
# bench/plot (what make bench draws with): the picture from this table
# with gnuplot, or a notice and no picture without it
"$SHELL" "$src/bench/plot" "$tmp/table" "$tmp/figures.svg" >"$tmp/plot" 2>&1
check "bench/plot status" 0 "$?"
if command -v gnuplot >/dev/null 2>&1; then
    grep -q '<svg' "$tmp/figures.svg" 2>/dev/null || fail "bench/plot drew no SVG: $(cat "$tmp/plot")"
    for t in "tiny:" "cpu:" "start-up:" "mixed and tail:" "sandbox and CPU limit:"; do
        grep -q "$t" "$tmp/figures.svg" || fail "no figure '$t' in bench/plot's SVG"
    done
else
    check "bench/plot without gnuplot" \
        "bench/plot: gnuplot not found (Debian: apt-get install gnuplot-nox): no picture drawn" "$(cat "$tmp/plot")"
    [ ! -e "$tmp/figures.svg" ] || fail "bench/plot drew without gnuplot"
fi
