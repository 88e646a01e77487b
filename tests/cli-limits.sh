# Limits per worker (--mem-limit, --cpu-limit, --max-procs): a kernel over
# one is one recorded outcome (crashed, the limit named), its worker is
# replaced, the run goes on, and it is not retried.
. "$(dirname "$0")/lib.sh"
E=$TP_TEST_PLUGINS/hostile/escape.la
mark="limits-$$-$(date +%s%N)"

# --- the values
for bad in 0 12X 1023k -5M 2000000G; do
    run --mem-limit "$bad" "$E:act" ok:1
    expect 2 "" "taskpool: invalid memory limit '$bad' (1M to 1048576G; k, M and G are KiB, MiB and GiB) (try 'taskpool --help')"
done
for bad in 0 0.05 5% x 2e6; do
    run --cpu-limit "$bad" "$E:act" ok:1
    expect 2 "" "taskpool: invalid CPU limit '$bad' (0.1 to 1000000 seconds) (try 'taskpool --help')"
done
run --max-procs 0 "$E:act" ok:1
expect 2 "" "taskpool: invalid --max-procs '0' (1 to 100000) (try 'taskpool --help')"
run --cpu-limit 1000000 --max-procs 100000 "$E:act" ok:1
expect 0 "1" ""

# --- CPU: per task, not per worker
# a task that spins is stopped; the others run, on a fresh worker; a
# limit outcome is not retried
run -j 1 --format jsonl --retries 2 --cpu-limit 0.3 "$E:act" ok:a spin ok:b
check "cpu status" 1 "$rc"
check "cpu stdout" '{"index":0,"input":"ok:a","status":"ok","output":"a","worker":PID,"attempts":1,"ms":MS}
{"index":1,"input":"spin","status":"crashed","error":"cpu limit (300 ms): worker PID killed by signal 24 (CPU time limit exceeded)","worker":PID,"attempts":1,"ms":MS}
{"index":2,"input":"ok:b","status":"ok","output":"b","worker":PID,"attempts":1,"ms":MS}' \
    "$(printf '%s\n' "$out" | norm)"
check "cpu stderr" "" "$err"
# five tasks of 200 ms of CPU each under a 300 ms limit: one worker runs
# them all (1 s of CPU in all)
run -j 1 --format jsonl --cpu-limit 0.3 "$E:act" spinms:200 spinms:200 \
    spinms:200 spinms:200 spinms:200
check "per task status" 0 "$rc"
check "per task outputs" "5" "$(printf '%s\n' "$out" | grep -c '"output":"spun 200 ms"')"
check "per task: one worker" "1" \
    "$(printf '%s\n' "$out" | sed -E 's/.*"worker":([0-9]+).*/\1/' | sort -u | wc -l)"
# CPU time, not wall time: a task that sleeps longer than the limit is fine
run -j 1 --cpu-limit 0.2 "$E:act" sleepms:600
expect 0 "slept 600 ms" ""
# in text mode too
run -j 1 --cpu-limit 0.2 "$E:act" spin ok:2
check "cpu text status" 1 "$rc"
check "cpu text stdout" "2" "$out"
check "cpu text stderr" "taskpool: input 1 (spin): cpu limit (200 ms): worker PID killed by signal 24 (CPU time limit exceeded)" \
    "$(printf '%s\n' "$err" | norm)"
# a task that blocks or ignores SIGXCPU is stopped all the same, by
# SIGKILL a tick later (its keeper watches its CPU time, not itself)
trun -j 1 --cpu-limit 0.2 "$E:act" spinblock spinignore ok:3
check "cpu held off status" 1 "$rc"
check "cpu held off stdout" "3" "$out"
check "cpu held off stderr" "taskpool: input 1 (spinblock): cpu limit (200 ms): worker PID killed by signal 9 (Killed)
taskpool: input 2 (spinignore): cpu limit (200 ms): worker PID killed by signal 9 (Killed)" \
    "$(printf '%s\n' "$err" | norm)"
# the worker's CPU time counts, all its threads': a thread one task left
# spinning is charged to the task running when it reaches the limit
# (documented: telling would take a call per task)
trun -j 1 --cpu-limit 0.2 "$E:act" spinthread sleepms:5000 ok:3
check "left thread status" 1 "$rc"
check "left thread stdout" "left a thread${nl}3" "$out"
# (SIGXCPU, or SIGKILL a tick later where the signal is not taken in
# time: under valgrind, which runs the spinning thread on)
case $(printf '%s\n' "$err" | norm) in
"taskpool: input 2 (sleepms:5000): cpu limit (200 ms): worker PID killed by signal 24 (CPU time limit exceeded)" | \
"taskpool: input 2 (sleepms:5000): cpu limit (200 ms): worker PID killed by signal 9 (Killed)") ;;
*) fail "left thread stderr: $err" ;;
esac

# --- memory
# RLIMIT_DATA counts what a worker holds: under AddressSanitizer, whose
# shadow memory is terabytes of it, no limit can be met
vm=$("$TASKPOOL" -j 1 "$E:act" vmdata)
if [ "${vm:-0}" -lt 32768 ]; then
    # an allocation refused: a kernel that says so fails with its message;
    # one that aborts (xmalloc) or writes through the NULL it got dies of
    # the limit; the others run on fresh workers
    run -j 1 --format jsonl --retries 2 --mem-limit 64M "$E:act" alloc:8 alloc:100 \
        xalloc:100 nullwrite:100 alloc:40 ok:z
    check "mem status" 1 "$rc"
    check "mem stdout" '{"index":0,"input":"alloc:8","status":"ok","output":"allocated 8 MiB","worker":PID,"attempts":1,"ms":MS}
{"index":1,"input":"alloc:100","status":"error","error":"allocation of 100 MiB refused","worker":PID,"attempts":1,"ms":MS}
{"index":2,"input":"xalloc:100","status":"crashed","error":"memory limit (64 MiB): worker PID killed by signal 6 (Aborted)","worker":PID,"attempts":1,"ms":MS}
{"index":3,"input":"nullwrite:100","status":"crashed","error":"memory limit (64 MiB): worker PID killed by signal 11 (Segmentation fault)","worker":PID,"attempts":1,"ms":MS}
{"index":4,"input":"alloc:40","status":"ok","output":"allocated 40 MiB","worker":PID,"attempts":1,"ms":MS}
{"index":5,"input":"ok:z","status":"ok","output":"z","worker":PID,"attempts":1,"ms":MS}' \
        "$(printf '%s\n' "$out" | norm)"
    # a crash with memory to spare is a plain crash, not the limit's
    run -j 1 --mem-limit 64M chaos:act segv ok:2
    check "plain crash status" 1 "$rc"
    check "plain crash" "taskpool: input 1 (segv): worker PID killed by signal 11 (Segmentation fault)" \
        "$(printf '%s\n' "$err" | norm)"
    run --mem-limit 1048576G "$E:act" ok:1
    expect 0 "1" ""
    # a limit below what a worker holds after init: refused before any input
    run -j 1 --mem-limit 1M "$E:act" ok:1
    check "too low status" 2 "$rc"
    check "too low stdout" "" "$out"
    case $err in
    "taskpool: memory limit (1 MiB) is below what a worker needs once the plugin is loaded and init has run ("*" MiB)") ;;
    *) fail "too low stderr: $err" ;;
    esac
    # what RLIMIT_DATA does not count: a stack's limit is fixed where it
    # is (but root keeps CAP_SYS_RESOURCE unless --max-procs drops it);
    # MAP_GROWSDOWN memory gets past it without --sandbox (which blocks it)
    run -j 1 --mem-limit 64M --max-procs 8 "$E:act" stacklimit growsdown:100
    check "stack status" 1 "$rc"
    check "stack stdout" "grew 100 MiB" "$out"
    check "stack stderr" "taskpool: input 1 (stacklimit): stack limit: Operation not permitted" "$err"
else
    echo "memory limit tests skipped: a worker holds $vm KiB (sanitizers?)"
fi

# --- processes
# a fork bomb stops at N processes, the worker included; without the
# limit the same kernel starts them all
run -j 2 --max-procs 4 "$E:act" forkbomb:50 ok:1 forkbomb:2
expect 0 "forked 3 of 50 (then: Resource temporarily unavailable)${nl}1${nl}forked 2 of 2" ""
run -j 1 "$E:act" forkbomb:10
expect 0 "forked 10 of 10" ""
# 1: no new process, no thread
run -j 1 --max-procs 1 "$E:act" forkbomb:3 thread
check "nproc 1 status" 1 "$rc"
check "nproc 1 stdout" "forked 0 of 3 (then: Resource temporarily unavailable)" "$out"
check "nproc 1 stderr" "taskpool: input 2 (thread): pthread_create: Resource temporarily unavailable" "$err"
# the limit holds per worker, with and without PID namespaces, and nothing
# of it outlives the run
TASKPOOL_NO_PIDNS=1 run -j 2 --max-procs 3 --init-arg "$mark" "$E:act" forkbomb:9 forkbomb:9
expect 0 "forked 2 of 9 (then: Resource temporarily unavailable)${nl}forked 2 of 9 (then: Resource temporarily unavailable)" ""
wait_procs "$mark" 0
if [ "$(id -u)" = 0 ]; then
    # root is exempt from RLIMIT_NPROC: its workers run with the real uid
    # 65534 in a namespace mapping every id to itself, and still reach
    # root's files
    run -j 1 --max-procs 2 "$E:act" open:/etc/shadow "write:$tmp/root-made"
    case $rc:$out in 0:"read "*" bytes${nl}wrote $tmp/root-made") ;; *) fail "root file under --max-procs: $rc $out $err" ;; esac
    check "root's new file" "0" "$(stat -c %u "$tmp/root-made")"
    # ... and cannot take uid 0 back (setresuid(0, 0, 0)) to pass the limit
    run -j 1 --max-procs 3 "$E:act" rootbomb:9
    expect 0 "forked 2 of 9 (then: Resource temporarily unavailable)" ""
    if command -v setpriv >/dev/null 2>&1 &&
        setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$TASKPOOL" 2>/dev/null &&
        setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$TP_TEST_PLUGINS/hostile/.libs/escape.so" 2>/dev/null; then
        # and as anyone else (in the user namespace each worker has anyway)
        setpriv --reuid=65534 --regid=65534 --clear-groups "$TASKPOOL" -j 1 --max-procs 3 \
            "$E:act" forkbomb:9 >"$tmp/out" 2>"$tmp/err"
        check "nobody status" 0 "$?"
        check "nobody stdout" "forked 2 of 9 (then: Resource temporarily unavailable)" "$(cat "$tmp/out")"
    fi
fi
# where user namespaces are refused, --max-procs is refused too
if [ -x "${TP_NOSYS:-}" ]; then
    "$TP_NOSYS" newuser "$TASKPOOL" -j 1 --max-procs 3 "$E:act" ok:1 >"$tmp/out" 2>"$tmp/err"
    check "no userns status" 2 "$?"
    check "no userns stdout" "" "$(cat "$tmp/out")"
    check "no userns stderr" "taskpool: cannot limit processes: a worker cannot have the user namespace of its own that RLIMIT_NPROC needs (Operation not permitted)" \
        "$(cat "$tmp/err")"
fi
