# What users of GNU parallel reach for: --tag, --joblog, --dry-run, -j
# forms, --progress, and a --help that fits a screen.
. "$(dirname "$0")/lib.sh"
P=$TASKPOOL_PLUGIN_PATH
ncpu=$(getconf _NPROCESSORS_ONLN)

run --tag seed:double 1 2 x
expect 1 "1	2${nl}2	4" "taskpool: input 3 (x): not an integer"

run -j 2 --joblog "$tmp/log" chaos:act ok:a fail:no segv ok:d
check "joblog run status" 1 "$rc"
check "joblog header" "index	worker	start	runtime	attempts	status	error	output	digest" "$(head -n 1 "$tmp/log")"
check "joblog lines" 5 "$(wc -l <"$tmp/log")"
check "joblog columns" "9 9 9 9 9" "$(awk -F'\t' '{print NF}' "$tmp/log" | xargs)"
# every output was written; the digest is FNV-1a (64 bits) of the input
check "joblog output and digest" "0 written 3341a3b4841e7f4a${nl}1 written 2970e52329866fea${nl}2 written 2d01e318d3f2fd70${nl}3 written 3341a0b4841e7a31" \
    "$(tail -n +2 "$tmp/log" | sort -n | awk -F'\t' '{ print $1, $8, $9 }')"
# lines come in completion order (cli-sched.sh tests that); sorted by index
check "joblog statuses" "0 ok ${nl}1 error no${nl}2 crashed killed by signal 11 (Segmentation fault)${nl}3 ok " \
    "$(tail -n +2 "$tmp/log" | sort -n | awk -F'\t' '{ sub(/^worker [0-9]+ /, "", $7); print $1, $6, $7 }')"
now=$(date +%s)
awk -F'\t' -v now="$now" 'NR > 1 && ($2 !~ /^[0-9]+$/ || $3 < now - 60 || $3 > now + 1 || $4 !~ /^[0-9]+\.[0-9][0-9][0-9]$/ || $5 != 1) { bad = 1 } END { exit bad }' \
    "$tmp/log" || fail "joblog fields: $(cat "$tmp/log")"

run --dry-run -j 3 --chunk 10 seed:double 1 2
expect 0 "plugin  seed $TP_VERSION $P/.libs/seed.so
task    double
jobs    3
chunk   10
input   1  1
input   2  2
inputs  2 arguments" ""
# the inputs it would run: the first 10, escaped, and how many
printf 'a\tb\0c\nd\0' >"$tmp/nul"
run --dry-run -0 seed:double <"$tmp/nul"
expect 0 "plugin  seed $TP_VERSION $P/.libs/seed.so
task    double
jobs    $ncpu
chunk   adaptive
input   1  a\\tb
input   2  c\\nd
inputs  2 NUL-terminated records from standard input" ""
seq 25 >"$tmp/25"
run --dry-run -a "$tmp/25" seed:double
check "dry-run shows 10" "1 2 3 4 5 6 7 8 9 10" "$(printf '%s\n' "$out" | sed -n 's/^input   [0-9]*  //p' | xargs)"
check "dry-run counts" "inputs  25 newline-terminated records from $tmp/25" "$(printf '%s\n' "$out" | tail -n 1)"
run --dry-run seed:nope
expect 2 "" "taskpool: plugin 'seed' has no task 'nope' (tasks: double, print_number, hello)"

jobs() { "$TASKPOOL" --dry-run -j "$1" seed:double 1 | sed -n 's/^jobs *//p'; }
check "-j 7" 7 "$(jobs 7)"
check "-j 50%" $((ncpu / 2 > 0 ? ncpu / 2 : 1)) "$(jobs 50%)"
check "-j 200%" $((ncpu * 2)) "$(jobs 200%)"
check "-j +3" $((ncpu + 3)) "$(jobs +3)"
check "-j -1" $((ncpu > 1 ? ncpu - 1 : 1)) "$(jobs -1)"
check "-j -1000" 1 "$(jobs -1000)"
run -j 0% seed:double 1
expect 2 "" "taskpool: invalid number of jobs '0%' (N, N%, +N or -N) (try 'taskpool --help')"

# stderr is not a terminal here: one summary line at the end
seq 5 >"$tmp/in"
run --progress seed:double <"$tmp/in"
check "progress status" 0 "$rc"
check "progress stdout" "$(seq 2 2 10)" "$out"
case $err in "taskpool: 5 inputs in "[0-9]*.[0-9][0-9]" s ("[0-9]*"/s), 0 failed") ;;
*) fail "progress summary: $err" ;; esac
# on a terminal, it redraws in place ("script" gives a pseudo-terminal)
if command -v script >/dev/null; then
    script -qec "$TASKPOOL --progress seed:double 1 x 3 >/dev/null" /dev/null >"$tmp/tty" </dev/null
    grep -q "taskpool: 3/3 done (100%), 1 failed" "$tmp/tty" || fail "progress on a tty: $(cat -v "$tmp/tty")"
fi

# --progress knows the total from the first redraw when the input is a
# regular file (-a, or standard input redirected from one): exact when it
# was read whole, "~" while it is guessed from the share read; from a pipe
# only the count, until its end
first_redraw() { # the first progress line drawn before the end
    tr '\r' '\n' <"$tmp/tty" | grep '^taskpool: ' | head -n 1
}
if command -v script >/dev/null; then
    yes 3 | head -n 600 >"$tmp/list"
    for how in "-a $tmp/list" "<$tmp/list"; do
        script -qec "$TASKPOOL -j 2 --progress $how bench:sleep >/dev/null" /dev/null >"$tmp/tty" </dev/null
        case $(first_redraw) in
        "taskpool: "*"/600 done ("*"%), 0 failed, "*"/s, ETA "*" s"*) ;;
        *) fail "progress from a file ($how): $(first_redraw | cat -v)" ;;
        esac
    done
    script -qec "cat $tmp/list | $TASKPOOL -j 2 --progress bench:sleep >/dev/null" /dev/null >"$tmp/tty" </dev/null
    case $(first_redraw) in
    "taskpool: "*" done, 0 failed, "*"/s"*) ;;
    *) fail "progress from a pipe: $(first_redraw | cat -v)" ;;
    esac
    # a file larger than a read: "~" and the count the share read gives
    yes 9 | head -n 400000 >"$tmp/big"
    script -qec "timeout -s INT 1 $TASKPOOL -j 2 --progress -a $tmp/big bench:sleep >/dev/null" /dev/null >"$tmp/tty" </dev/null
    case $(first_redraw) in
    "taskpool: "*"/~400000 done ("*) ;;
    *) fail "progress from a large file: $(first_redraw | cat -v)" ;;
    esac
fi

"$TASKPOOL" --help >"$tmp/help"
[ "$(wc -l <"$tmp/help")" -le 40 ] || fail "--help is longer than a screen"
check "--help ends with the manual" "Full documentation: man taskpool; writing plugins: man taskpool-plugin" "$(tail -n 1 "$tmp/help")"
