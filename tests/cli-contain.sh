# Containment: whatever a kernel starts cannot hang, outlive or corrupt
# the run.
. "$(dirname "$0")/lib.sh"
mark="contain-$$-$(date +%s%N)"

# a crash while a child of the kernel holds the worker's socket: death is
# seen by pid, not by EOF, so the run ends and blames the right input
for act in forkcrash setsidcrash; do
    timeout 20 "$TASKPOOL" -j 1 --init-arg "$mark" chaos:act ok:1 "$act" ok:3 \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "$act status" 1 "$rc"
    check "$act stdout" "1${nl}3" "$(cat "$tmp/out")"
    check "$act stderr" "taskpool: input 2 ($act): worker PID killed by signal 11 (Segmentation fault)" \
        "$(pids <"$tmp/err")"
done
wait_procs "$mark" 0

# what a kernel runs does not get the worker's socket
run chaos:act execfd3
expect 0 "closed" ""

# a child that left the worker's process group (setsid) does not outlive
# the run: each worker is the first process of a PID namespace of its own
# (its keeper), and everything in it dies with it
run -j 2 --init-arg "$mark" chaos:act setsidok setsidok ok:3
expect 0 "ok${nl}ok${nl}3" ""
wait_procs "$mark" 0

# a daemon started by the plugin's constructor, in every worker
run -j 2 --init-arg "$mark" "$TP_TEST_PLUGINS/hostile/daemon.la:echo" a b
expect 0 "a${nl}b" ""
wait_procs "$mark" 0

# nor does anything outlive the host: SIGINT, SIGTERM, SIGHUP, and SIGKILL (the keepers die
# with the host, and their namespaces with them)
for sig in INT TERM HUP KILL; do
    "$TASKPOOL" -j 2 --chunk 1 --init-arg "$mark" chaos:act forkhang setsidhang \
        >/dev/null 2>&1 &
    host=$!
    wait_procs "$mark" 7 # host, 2 keepers, 2 workers, 2 kernel children
    kill -s $sig $host
    wait $host
    rc=$?
    case $sig in INT) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; KILL) want=137 ;; esac
    check "SIG$sig status" "$want" "$rc"
    wait_procs "$mark" 0
done

# a kernel's own raise(SIGSEGV) still kills it (it is not PID 1)
run -j 1 chaos:act segv ok:2
check "segv status" 1 "$rc"
check "segv stdout" "2" "$out"
check "segv stderr" "taskpool: input 1 (segv): worker PID killed by signal 11 (Segmentation fault)" \
    "$(printf '%s\n' "$err" | pids)"

# where namespaces are refused (TASKPOOL_NO_PIDNS=1 asks for that), the
# keeper is a child subreaper: orphans are reparented to it and killed when
# the worker ends
TASKPOOL_NO_PIDNS=1 run -j 2 --init-arg "$mark" chaos:act setsidok forkcrash ok:3
check "fallback status" 1 "$rc"
check "fallback stdout" "ok${nl}3" "$out"
wait_procs "$mark" 0

# The host never runs plugin code: a broken plugin is a message naming the
# file and what happened, exit 2, for running and --dry-run alike
H=$TP_TEST_PLUGINS/hostile
Hso=$(cd "$H/.libs" && pwd -P)
for how in "ctorcrash:constructor crashed" "datasym:taskpool_plugin() crashed" \
    "noterm:malformed descriptor: reading it crashed"; do
    name=${how%%:*}
    want="taskpool: $Hso/$name.so: ${how#*:}: killed by signal 11 (Segmentation fault)"
    run -j 1 "$H/$name.la:echo" a
    expect 2 "" "$want"
    run --dry-run "$H/$name.la:echo" a
    expect 2 "" "$want"
done
run -j 1 --init-timeout 0.5 "$H/ctorhang.la:echo" a
check "ctorhang status" 2 "$rc"
check "ctorhang stderr" "taskpool: $Hso/ctorhang.so: worker PID did not finish loading and init within 500 ms (stuck in a constructor)" \
    "$(printf '%s\n' "$err" | pids)"
# --dry-run looks through a probe with the same time limit
run --dry-run --init-timeout 0.5 "$H/ctorhang.la:echo" a
expect 2 "" "taskpool: $Hso/ctorhang.so: did not answer within 0.5 s (stuck in a constructor)"
# what a constructor prints is not a result
run -j 1 "$H/ctorprint.la:echo" a b
expect 0 "a${nl}b" "hello from a constructor"
# a fini that crashes, after the work is done, changes nothing
run -j 1 "$H/finicrash.la:echo" a b
expect 0 "a${nl}b" ""

# --list: each broken plugin is one line on stderr, and the listing goes
# on; stdout lists the good ones only; what the probes start dies with them
TASKPOOL_PLUGIN_PATH= run --init-timeout 0.5 --init-arg "$mark" -L "$H" --list
check "list status" 0 "$rc"
check "list plugins" "ctorprint 1  $Hso/ctorprint.so${nl}daemon 1  $Hso/daemon.so${nl}escape 1  $Hso/escape.so${nl}finicrash 1  $Hso/finicrash.so" \
    "$(printf '%s\n' "$out" | grep -v '^ ' | grep "$Hso")"
check "list stderr" "taskpool: skipping $Hso/ctorcrash.so: constructor crashed: killed by signal 11 (Segmentation fault)
taskpool: skipping $Hso/ctorhang.so: did not answer within 0.5 s (stuck in a constructor)
hello from a constructor
taskpool: skipping $Hso/datasym.so: taskpool_plugin() crashed: killed by signal 11 (Segmentation fault)
taskpool: skipping $Hso/noterm.so: malformed descriptor: reading it crashed: killed by signal 11 (Segmentation fault)" "$err"
wait_procs "$mark" 0

# Frames answer what was asked.  A kernel that writes an answer of its own
# on the worker's socket: a protocol outcome for its input, nothing else
# moves (with -j1 --chunk 1, input 2 is request 1)
run -j 1 --chunk 1 chaos:act ok:a forge:0 ok:c ok:d ok:e
check "forge status" 1 "$rc"
check "forge stdout" "a${nl}c${nl}d${nl}e" "$out"
check "forge stderr" "taskpool: input 2 (forge:0): worker PID: protocol error: answer to request 0, expected 1" \
    "$(printf '%s\n' "$err" | pids)"
# a kernel that reads the socket takes the next request: that input is a
# protocol outcome (after the time limit, at least 1 s), never a hang
timeout 20 "$TASKPOOL" -j 1 --chunk 1 --timeout 0.5 chaos:act ok:a steal ok:c \
    >"$tmp/out" 2>"$tmp/err"
check "steal status" 1 "$?"
check "steal stdout" "a${nl}stolen" "$(cat "$tmp/out")"
check "steal stderr" "taskpool: input 3 (ok:c): worker PID: protocol error: did not start its request within 1 s (did a kernel read the worker's socket?)" \
    "$(pids <"$tmp/err")"
# with two workers the idle one takes the stolen request's inputs back and
# runs them: every input has its result, none is blamed (the host had
# blamed an input past the taken-back chunk's end: "internal error: chunk
# 11 is corrupt", exit 3, half the inputs without an outcome)
{ seq 10 | sed 's/^/ok:/'; echo steal; seq 11 20 | sed 's/^/ok:/'; } >"$tmp/steal.in"
timeout 30 "$TASKPOOL" -j 2 --timeout 1 -a "$tmp/steal.in" chaos:act \
    >"$tmp/out" 2>"$tmp/err"
check "steal -j2 status" 0 "$?"
check "steal -j2 stdout" "$(seq 10)${nl}stolen${nl}$(seq 11 20)" "$(cat "$tmp/out")"
check "steal -j2 stderr" "" "$(cat "$tmp/err")"
