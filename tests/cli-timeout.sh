# --timeout: a task running too long is killed with its worker and
# recorded; P% of the median; --retries; --max-tasks-per-child.
. "$(dirname "$0")/lib.sh"
mark="timeout-$$-$(date +%s%N)"

run -j 1 --timeout 0.3 --init-arg "$mark" chaos:act ok:1 hang sleep:50 ok:4
check "status" 1 "$rc"
check "stdout" "1${nl}slept 50${nl}4" "$out"
check "stderr" "taskpool: input 2 (hang): worker PID timed out after 300 ms" "$(printf '%s\n' "$err" | pids)"
check "leftovers" 0 "$(leftovers "$mark")"

# a kernel's own children die with it (its process group is killed)
run -j 1 --timeout 0.3 --init-arg "$mark" chaos:act forkhang ok:2
check "forkhang status" 1 "$rc"
sleep 0.2
check "forkhang leftovers" 0 "$(leftovers "$mark")"

# 1000% of a median of about 20 ms: a 3 s task is cut short
run -j 1 --chunk 1 --timeout 1000% chaos:act sleep:20 sleep:20 sleep:20 sleep:20 sleep:3000 sleep:20
check "pct status" 1 "$rc"
check "pct stdout" "slept 20${nl}slept 20${nl}slept 20${nl}slept 20${nl}slept 20" "$out"
case $err in "taskpool: input 5 (sleep:3000): worker "*" timed out after 1 s") ;;
*) fail "pct stderr: $err" ;; esac

run --timeout 0 seed:double 1
expect 2 "" "taskpool: invalid timeout '0' (0.001 to 1000000 seconds, or a percentage like 200%) (try 'taskpool --help')"

# --retries: a crash on the first attempt only is retried on a fresh worker
run -j 1 --retries 1 --format jsonl chaos:act "once:$tmp/a:segv" ok:2
check "retry status" 0 "$rc"
check "retry" '"status":"ok","output":"second time lucky"' "$(printf '%s\n' "$out" | head -n 1 | grep -o '"status":"ok","output":"second time lucky"')"
check "attempts" '"attempts":2' "$(printf '%s\n' "$out" | head -n 1 | grep -o '"attempts":2')"
# out of retries: the last attempt's outcome, with the count
run -j 1 --retries 2 --format jsonl chaos:act segv
check "exhausted status" 1 "$rc"
check "exhausted" '"status":"crashed"' "$(printf '%s\n' "$out" | grep -o '"status":"crashed"')"
check "exhausted attempts" '"attempts":3' "$(printf '%s\n' "$out" | grep -o '"attempts":3')"
# task failures are answers, not faults: never retried
run -j 1 --retries 3 --format jsonl chaos:act fail:no
check "no retry of failures" '"attempts":1' "$(printf '%s\n' "$out" | grep -o '"attempts":1')"

# --max-tasks-per-child 2: six tasks on one job slot take three workers
run -j 1 --max-tasks-per-child 2 --chunk 5 chaos:pid 1 2 3 4 5 6
check "recycle status" 0 "$rc"
check "recycled workers" 3 "$(printf '%s\n' "$out" | cut -d' ' -f1 | sort -u | wc -l)"
check "two tasks each" "2 2 2" "$(printf '%s\n' "$out" | cut -d' ' -f1 | uniq -c | awk '{print $1}' | xargs)"
