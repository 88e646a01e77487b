# A worker that crashes, exits or breaks the protocol loses only the input
# it was running; the others complete, in order, on fresh workers.
. "$(dirname "$0")/lib.sh"

mark="faults-$$-$(date +%s%N)"

run -j 2 --chunk 4 --init-arg "$mark" chaos:act ok:1 segv ok:3 ok:4 exit:3 ok:6 abort ok:8
check "status" 1 "$rc"
check "stdout" "1${nl}3${nl}4${nl}6${nl}8" "$out"
check "stderr" "taskpool: input 2 (segv): worker PID killed by signal 11 (Segmentation fault)
taskpool: input 5 (exit:3): worker PID exited with status 3
taskpool: input 7 (abort): worker PID killed by signal 6 (Aborted)" "$(printf '%s\n' "$err" | pids)"

run -j 1 chaos:act ok:a garbage ok:c
check "status" 1 "$rc"
check "stdout" "a${nl}c" "$out"
check "stderr" "taskpool: input 2 (garbage): worker PID: protocol error: bad frame magic 0x73696874" "$(printf '%s\n' "$err" | pids)"

# the inputs of the request finished before the fault but not yet
# answered run again (taskpool(1), FAILURES AND TIMEOUTS: "went with it"); those after it run once
for act in segv garbage exit:3; do
    rm -f "$tmp/runs"
    run -j 1 --chunk 4 chaos:act "note:$tmp/runs:ok:a" $act "note:$tmp/runs:ok:b" "note:$tmp/runs:ok:c"
    check "$act: stdout" "a${nl}b${nl}c" "$out"
    check "$act: runs" "2 ok:a${nl}1 ok:b${nl}1 ok:c" "$(sort "$tmp/runs" | uniq -c | awk '{ print $1, $2 }')"
done

run -j 1 chaos:act ok:a bigframe ok:c
check "status" 1 "$rc"
check "stdout" "a${nl}c" "$out"
check "stderr" "taskpool: input 2 (bigframe): worker PID: protocol error: frame of 1099511627776 bytes exceeds the limit of 268435456 bytes" "$(printf '%s\n' "$err" | pids)"

run -j 1 chaos:act fail:"line one${nl}line two" ok:z
expect 1 z "taskpool: input 1 (fail:line one\\nline two): line one\\nline two"

# a 64-byte input is shortened in the message
long=$(printf 'x%.0s' $(seq 64))
run -j 1 seed:double "$long"
expect 1 "" "taskpool: input 1 (xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...): not an integer"

# the same from standard input (records travel delimited, results as text)
printf 'ok:1\nsegv\nok:3\nonce:%s/m:segv\nok:5\n' "$tmp" >"$tmp/in"
run -j 1 --retries 1 chaos:act <"$tmp/in"
check "stdin status" 1 "$rc"
check "stdin stdout" "1${nl}3${nl}second time lucky${nl}5" "$out"
check "stdin stderr" "taskpool: input 2 (segv): worker PID killed by signal 11 (Segmentation fault)" "$(printf '%s\n' "$err" | pids)"

# a malformed answer noticed only at the end of its batch (the worker may
# already be on the next input) still ends: its batch's first input is blamed
run -j 1 --chunk 1 chaos:act ok:a badfails ok:c ok:d
check "badfails status" 1 "$rc"
check "badfails stdout" "a${nl}c${nl}d" "$out"
check "badfails stderr" "taskpool: input 2 (badfails): worker PID: protocol error: answer to request 0, expected 1" "$(printf '%s\n' "$err" | pids)"

# while a run goes on after crashes, the host has no zombie children, and
# afterwards nothing of it is left
"$TASKPOOL" -j 2 --chunk 1 --init-arg "$mark" chaos:act segv segv abort exit:3 segv \
    sleep:2000 sleep:2000 >/dev/null 2>&1 &
host=$!
sleep 1 # the crashes are behind it, the sleeps are running
zombies=0
for _ in 1 2 3 4 5; do # a dead worker left unreaped would show here
    zombies=$((zombies + $(ps -o stat= --ppid $host | grep -c Z)))
    sleep 0.1
done
check "zombies seen while running" 0 "$zombies"
wait $host
check "leftovers" 0 "$(leftovers "$mark")"
