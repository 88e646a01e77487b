# The scheduler's promises: no input waits behind a busy worker while
# another is idle; what happens to an input (joblog, --halt, --progress)
# is decided when it finishes, not when its turn to be printed comes;
# --timeout P% (with its 1 s floor) loses nothing; limits print as humans
# write them; replacing a worker never blocks the loop.
#
# Each section runs in a subshell, so one failure does not hide the others;
# the test fails if any section does.  Runs that could hang are bounded with
# `timeout 20` so that a regression fails (status 124) instead of hanging.
. "$(dirname "$0")/lib.sh"
mark="sched-$$-$(date +%s%N)"

# jsonl lines as "index status worker"
jfields() {
    printf '%s\n' "$out" |
        sed -E 's/^\{"index":([0-9]+),.*"status":"([a-z]+)".*"worker":([0-9]+),.*/\1 \2 \3/'
}

# 1. Balance: the two slow inputs run on different workers (the second is
# not queued behind the first while the other worker is idle).
balance_jsonl() {
    for chunk in "" "--chunk 1"; do
        # shellcheck disable=SC2086
        trun -j 2 $chunk --format jsonl bench:sleep 1000 10 1000 10
        check "balance$chunk status" 0 "$rc"
        check "balance$chunk stderr" "" "$err"
        check "balance$chunk outputs" "1000 10 1000 10" \
            "$(printf '%s\n' "$out" | sed -E 's/.*"output":"([0-9]+)".*/\1/' | xargs)"
        check "balance$chunk statuses" "0 ok${nl}1 ok${nl}2 ok${nl}3 ok" \
            "$(jfields | cut -d' ' -f1,2)"
        w0=$(jfields | sed -n 1p | cut -d' ' -f3)
        w2=$(jfields | sed -n 3p | cut -d' ' -f3)
        if [ -z "$w0" ] || [ "$w0" = "$w2" ]; then
            fail "balance$chunk: both 1000 ms inputs ran on worker $w0:$nl$out"
        fi
    done
}

# the second 600 (index 4) starts before the first (index 0) has ended
balance_joblog() {
    rm -f "$tmp/bl"
    trun -j 2 --joblog "$tmp/bl" bench:sleep 600 10 10 10 600
    check "joblog balance status" 0 "$rc"
    check "joblog balance stdout" "600${nl}10${nl}10${nl}10${nl}600" "$out"
    check "joblog balance lines" 6 "$(wc -l <"$tmp/bl")"
    awk -F'\t' '$1 == 0 { s0 = $3; r0 = $4 } $1 == 4 { s4 = $3 }
        END { exit !(s0 != "" && s4 != "" && s4 + 0 < s0 + r0) }' "$tmp/bl" ||
        fail "input 4 waited for input 0 to end:$nl$(cat "$tmp/bl")"
}

# 2. Ordered mode: joblog lines are written as inputs finish, while the
# head input still holds back stdout; SIGINT and SIGKILL keep them.
# live_joblog SIGNAL
live_joblog() {
    rm -f "$tmp/log" "$tmp/out" "$tmp/err"
    "$TASKPOOL" -j 2 --joblog "$tmp/log" --init-arg "$mark" chaos:act \
        sleep:30000 ok:2 ok:3 ok:4 >"$tmp/out" 2>"$tmp/err" &
    host=$!
    got=
    for _ in $(seq 100); do
        got=$(tail -n +2 "$tmp/log" 2>/dev/null | cut -f1 | sort -n | xargs)
        [ "$got" = "1 2 3" ] && break
        sleep 0.1
    done
    early=$(cat "$tmp/out")
    kill -s "$1" $host
    wait $host 2>/dev/null
    rc=$?
    check "SIG$1: joblog indexes while the head input runs" "1 2 3" "$got"
    check "SIG$1: stdout while the head input runs" "" "$early"
    if [ "$1" = INT ]; then
        check "SIGINT status" 130 "$rc"
        check "SIGINT stdout" "" "$(cat "$tmp/out")"
        check "SIGINT stderr" "" "$(cat "$tmp/err")"
        check "SIGINT leftovers" 0 "$(leftovers "$mark")"
    else
        wait_procs "$mark" 0
    fi
    check "SIG$1 joblog header" "index	worker	start	runtime	attempts	status	error	output	digest" \
        "$(head -n 1 "$tmp/log")"
    # finished, but their output never reached stdout: --resume reruns them
    check "SIG$1 joblog lines" "1 ok 9 pending${nl}2 ok 9 pending${nl}3 ok 9 pending" \
        "$(tail -n +2 "$tmp/log" | awk -F'\t' '{ print $1, $6, NF, $8 }' | sort -n)"
}
live_joblog_int() { live_joblog INT; }
live_joblog_kill() { live_joblog KILL; }

# 3. --halt now acts when the failure happens, not when the head input
# (sleeping 30 s) would let it be printed.
halt_now() {
    trun -j 2 --halt now --init-arg "$mark" chaos:act sleep:30000 fail:x ok:3
    check "halt now status (124: it waited for the head input)" 1 "$rc"
    check "halt now stdout" "" "$out"
    check "halt now last line" "taskpool: halted: 1 input failed" \
        "$(printf '%s\n' "$err" | tail -n 1)"
    case $err in
    "taskpool: halted: 1 input failed") ;;
    "taskpool: input 2 (fail:x): x${nl}taskpool: halted: 1 input failed") ;;
    *) fail "halt now stderr: $err" ;;
    esac
    check "halt now leftovers" 0 "$(leftovers "$mark")"
}

# 4. --progress without a terminal: one summary line counting every input
# that finished, and the failed ones.
summary() { sed -E 's/ in [0-9]+\.[0-9][0-9] s \([0-9]+\/s\), / in T s (R\/s), /'; }
progress() {
    trun -j 2 --progress chaos:act ok:1 fail:x ok:3 ok:4
    check "progress status" 1 "$rc"
    check "progress stdout" "1${nl}3${nl}4" "$out"
    check "progress stderr" "taskpool: input 2 (fail:x): x
taskpool: 4 inputs in T s (R/s), 1 failed" "$(printf '%s\n' "$err" | summary)"

    printf '1\nx\n3\n' >"$tmp/pin"
    trun -j 2 --progress seed:double <"$tmp/pin"
    check "text progress status" 1 "$rc"
    check "text progress stdout" "2${nl}6" "$out"
    check "text progress stderr" "taskpool: input 2 (x): not an integer
taskpool: 3 inputs in T s (R/s), 1 failed" "$(printf '%s\n' "$err" | summary)"

    trun -j 2 --progress --format jsonl chaos:act ok:1 fail:x segv
    check "jsonl progress status" 1 "$rc"
    check "jsonl progress lines" 3 "$(printf '%s\n' "$out" | wc -l)"
    check "jsonl progress stderr" "taskpool: 3 inputs in T s (R/s), 2 failed" \
        "$(printf '%s\n' "$err" | summary)"
}

# 5. --timeout P% over many fast inputs: nothing lost, nothing cut (the
# limit is never below 1 s); a crash is a crash whatever the limit.
pct_many() {
    seq 100000 | timeout 20 "$TASKPOOL" -j 2 --timeout 200% seed:double \
        >"$tmp/pout" 2>"$tmp/perr"
    check "200% status" 0 "$?"
    check "200% stderr" "" "$(head -c 2000 "$tmp/perr")"
    check "200% output" "$(seq 100000 | awk '{ print $1 * 2 }' | cksum)" \
        "$(cksum <"$tmp/pout")"
}

pct_floor() {
    # a median of about 1 ms: 200% would be 2 ms, the floor makes it 1 s
    trun -j 1 --chunk 1 --timeout 200% chaos:act sleep:1 sleep:1 sleep:1 sleep:1 sleep:300 ok:6
    expect_err 0 "slept 1${nl}slept 1${nl}slept 1${nl}slept 1${nl}slept 300${nl}6" ""
}

pct_crash() {
    trun -j 1 --timeout 200% --format jsonl chaos:act sleep:5 sleep:5 sleep:5 sleep:5 abort ok:6
    check "pct crash status" 1 "$rc"
    check "pct crash stderr" "" "$err"
    check "pct crash statuses" "0 ok${nl}1 ok${nl}2 ok${nl}3 ok${nl}4 crashed${nl}5 ok" \
        "$(jfields | cut -d' ' -f1,2)"
    check "pct crash error" '"error":"worker PID killed by signal 6 (Aborted)"' \
        "$(printf '%s\n' "$out" | sed -n 5p | grep -o '"error":"[^"]*"' | pids)"
}

# 6. Limits in messages: below 1 s in ms, from 1 s in seconds (%g).
time_format() {
    trun -j 1 --timeout 0.15 --init-arg "$mark" chaos:act hang ok:2
    check "0.15 status" 1 "$rc"
    check "0.15 stdout" "2" "$out"
    check "0.15 stderr" "taskpool: input 1 (hang): worker PID timed out after 150 ms" \
        "$(printf '%s\n' "$err" | pids)"

    trun -j 1 --timeout 1.25 --format jsonl --init-arg "$mark" chaos:act hang
    check "1.25 status" 1 "$rc"
    check "1.25 jsonl" '"status":"timeout","error":"worker PID timed out after 1.25 s"' \
        "$(printf '%s\n' "$out" | grep -o '"status":"[a-z]*","error":"[^"]*"' | pids)"
    check "time format leftovers" 0 "$(leftovers "$mark")"
}

# 8. Replacing a worker never blocks the loop: every retired worker's fini
# takes 1 s, and the run still completes with every input.
slow_fini() {
    export CHAOS_FINI_SLEEP_MS=1000
    trun -j 2 --max-tasks-per-child 1 --timeout 0.5 --init-arg "$mark" chaos:act \
        ok:1 ok:2 ok:3 ok:4 ok:5 ok:6
    expect_err 0 "1${nl}2${nl}3${nl}4${nl}5${nl}6" ""
    wait_procs "$mark" 0
}

# 9. Slow inputs right after many fast ones in the same request: records
# are claimed one at a time, so the idle worker takes the unstarted ones.
balance_after_fast() {
    # shellcheck disable=SC2046
    trun -j 2 --format jsonl chaos:act $(seq -f ok:%g 2000) sleep:1000 \
        sleep:1000 sleep:1000 sleep:1000
    check "after fast status" 0 "$rc"
    most=$(printf '%s\n' "$out" | grep '"input":"sleep:1000"' |
        sed -E 's/.*"worker":([0-9]+).*/\1/' | sort | uniq -c | awk '{print $1}' | sort -n | tail -n 1)
    [ "$most" = 2 ] || fail "one worker ran $most of the 4 slow inputs:$nl$out"
}

# 10. A failure in the same request as a slow input halts at once (the
# worker sends a failure as soon as it happens).
halt_now_batched() {
    trun -j 1 --chunk 3 --halt now chaos:act fail:x sleep:30000 ok:2
    expect_err 1 "" "taskpool: input 1 (fail:x): x
taskpool: halted: 1 input failed"
}

# 11. --halt now with --unordered writes what was complete: the inputs of
# the failure's own chunk before it.
halt_now_unordered() {
    trun -j 1 --chunk 10 --unordered --halt now chaos:act ok:0 ok:1 ok:2 ok:3 \
        fail:x ok:5 ok:6
    expect_err 1 "0${nl}1${nl}2${nl}3" "taskpool: input 5 (fail:x): x
taskpool: halted: 1 input failed"
}

# 12. Workers running fini are bounded: with --max-tasks-per-child 1 and a
# slow fini, at most one retiring worker per job (host + 2 x (keeper +
# worker) + 2 x (keeper + retiring worker) = 9 processes).
retire_bounded() {
    CHAOS_FINI_SLEEP_MS=300 "$TASKPOOL" -j 2 --max-tasks-per-child 1 \
        --init-arg "$mark-r" chaos:act $(seq -f ok:%g 12) >"$tmp/rout" 2>&1 &
    host=$!
    most=0
    while kill -0 $host 2>/dev/null; do
        n=$(leftovers "$mark-r")
        [ "$n" -gt "$most" ] && most=$n
        sleep 0.05
    done
    wait $host
    check "retire status" 0 "$?"
    check "retire outputs" 12 "$(wc -l <"$tmp/rout")"
    [ "$most" -le 9 ] || fail "$most processes at once"
    wait_procs "$mark-r" 0
}

# 13. At the end, workers run fini all at once (not one after another),
# and a signal then still ends the run at once.
fini_signal() {
    CHAOS_FINI_SLEEP_MS=20000 "$TASKPOOL" -j 4 --init-arg "$mark-f" chaos:act \
        ok:1 ok:2 ok:3 ok:4 >"$tmp/fout" 2>/dev/null &
    host=$!
    for _ in $(seq 100); do
        [ "$(wc -l <"$tmp/fout")" = 4 ] && break
        sleep 0.1
    done
    kill -INT $host
    wait $host
    check "fini SIGINT status" 130 "$?"
    wait_procs "$mark-f" 0
}

section balance_after_fast
section halt_now_batched
section halt_now_unordered
section retire_bounded
section fini_signal
section balance_jsonl
section balance_joblog
section live_joblog_int
section live_joblog_kill
section halt_now
section progress
section pct_many
section pct_floor
section pct_crash
section time_format
section slow_fini

[ -z "$failed" ] || fail "sections failed:$failed"
