# taskpool --mpi under Open MPI's mpirun: the same outputs and outcomes as
# the fork transport, errors that name the rank, nothing left behind.
# Skipped (exit 77) when taskpool was built without MPI or mpirun is absent.
. "$(dirname "$0")/lib.sh"
[ "${TP_MPI_BUILT:-}" = yes ] || { echo "SKIP: built without MPI"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: no mpirun"; exit 77; }
skip_under_valgrind "an agent under valgrind takes more than its 10 s start limit to pass a 64 MiB request on; the tests run in the other legs"
mark="mpi-$$-$(date +%s%N)"
MPIRUN="mpirun -q --oversubscribe"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
host=$(hostname)

# mrun K ARGS...: mpirun -n K taskpool --mpi ARGS (stdin is the caller's)
mrun() {
    local k=$1
    shift
    timeout 60 $MPIRUN -n "$k" "$TASKPOOL" --mpi "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(tr '\0' '\n' <"$tmp/out")
    err=$(cat "$tmp/err")
}


# 1. Byte for byte what the fork transport writes: lines, NUL records,
# jsonl (apart from which worker ran what), a 64 MiB record.
same_output() {
    seq 100000 >"$tmp/in"
    "$TASKPOOL" -j 2 seed:double <"$tmp/in" >"$tmp/fork"
    mrun_in "$tmp/in" 3 -j 1 seed:double
    check "status" 0 "$rc"
    cmp -s "$tmp/out" "$tmp/fork" || fail "lines differ from the fork transport"
    tr '\n' '\0' <"$tmp/in" >"$tmp/in0"
    "$TASKPOOL" -j 2 -0 --print0 seed:double <"$tmp/in0" >"$tmp/fork"
    mrun_in "$tmp/in0" 3 -j 1 -0 --print0 seed:double
    cmp -s "$tmp/out" "$tmp/fork" || fail "NUL records differ"
    printf '1\nx\n3\n' >"$tmp/in3"
    "$TASKPOOL" -j 2 --format jsonl seed:double <"$tmp/in3" |
        sed -E 's/"worker":[0-9]+,//; s/"ms":[0-9.]+//' >"$tmp/fork"
    mrun_in "$tmp/in3" 3 -j 1 --format jsonl seed:double
    check "jsonl" "$(cat "$tmp/fork")" \
        "$(sed -E 's/"worker":[0-9]+,"rank":[12],//; s/"ms":[0-9.]+//' "$tmp/out")"
    check "jsonl ranks" 3 "$(grep -c '"rank":[12],' "$tmp/out")"
    { echo 5; head -c 67108864 /dev/zero | tr '\0' 7; echo; echo 6; } >"$tmp/big"
    mrun 3 -j 1 -a "$tmp/big" text:length
    expect_err 0 "1${nl}67108864${nl}1" ""
}

# 2. Kernels that crash, hang or write garbage cost the outcomes they cost
# without MPI, one per input, and leave no process behind.
faults() {
    set -- ok:a segv hang garbage exit:3 ok:b fail:no bigframe
    "$TASKPOOL" -j 2 --timeout 1 --format jsonl chaos:act "$@" |
        sed -E 's/"worker":[0-9]+,//; s/worker [0-9]+/worker W/; s/"ms":[0-9.]+//' >"$tmp/fork"
    mrun 3 -j 1 --timeout 1 --format jsonl --init-arg "$mark" chaos:act "$@"
    check "status" 1 "$rc"
    check "outcomes" "$(cat "$tmp/fork")" \
        "$(sed -E 's/"worker":[0-9]+,"rank":[12],//; s/worker [0-9]+/worker W/; s/"ms":[0-9.]+//' "$tmp/out")"
    check "leftovers" 0 "$(leftovers "$mark")"
}

# 3. Retries, recycling and halting work on the ranks as without MPI.
policies() {
    mrun 3 -j 1 --retries 1 --format jsonl chaos:act "once:$tmp/once:segv"
    check "retry" '"status":"ok","output":"second time lucky"' \
        "$(printf '%s' "$out" | grep -o '"status":"ok","output":"[^"]*"')"
    check "retry attempts" '"attempts":2' "$(printf '%s' "$out" | grep -o '"attempts":[0-9]*')"
    # a rank timing out one hang after another for longer than the frozen
    # rank's limit (3 T, at least T + 10 s) is at work, not frozen (its
    # agent says so every second): the outcome is the fork transport's
    mrun 2 -j 1 --timeout 1 --retries 11 chaos:act hang ok:1
    check "alive status" 1 "$rc"
    check "alive stdout" "1" "$out"
    check "alive stderr" "taskpool: input 1 (hang): worker W timed out after 1 s" \
        "$(printf '%s\n' "$err" | sed -E 's/worker [0-9]+/worker W/')"
    # --timeout P% is P% of the median over every rank's tasks: a hang
    # after four quick inputs times out on a rank that ran at most two
    mrun 3 -j 1 --timeout 300% --chunk 1 chaos:act sleep:20 sleep:20 \
        sleep:20 sleep:20 hang
    check "pct status" 1 "$rc"
    check "pct message" "taskpool: input 5 (hang): worker W timed out after 1 s" \
        "$(printf '%s\n' "$err" | sed -E 's/worker [0-9]+/worker W/')"
    # a fresh worker per task, six times in a row on two ranks (this hung
    # now and then when a retired worker's exit was seen only by the
    # pool's deadline pass: test-pool's recycle_after_quiet_retirement)
    for _ in 1 2 3 4 5 6; do
        mrun 3 -j 1 --max-tasks-per-child 1 chaos:pid 1 2 3 4 5 6
        check "recycle status" 0 "$rc"
        check "a worker per task" 6 "$(printf '%s\n' "$out" | sort -u | wc -l)"
    done
    # (input 1 runs on another rank: its result may not be in when the
    # failure halts the run, and then it is not written)
    mrun 3 -j 1 --halt now chaos:act ok:1 fail:stop sleep:20000 sleep:20000
    check "halt status" 1 "$rc"
    case $out in "" | 1) ;; *) fail "halt now stdout: $out" ;; esac
    check "halt stderr" "taskpool: input 2 (fail:stop): stop${nl}taskpool: halted: 1 input failed" "$err"
}

# 3a. A rank's queue is kept short: a slow input does not strand another
# slow one behind it on its rank while the other rank is free (the second
# slow input goes to the rank that finished its fast one).
balance() {
    mrun 3 -j 1 --joblog "$tmp/bal.log" chaos:act sleep:1500 sleep:10 \
        sleep:1500 sleep:10
    check "status" 0 "$rc"
    r0=$(awk -F'\t' '$1 == 0 { split($2, a, ":"); print a[1] }' "$tmp/bal.log")
    r2=$(awk -F'\t' '$1 == 2 { split($2, a, ":"); print a[1] }' "$tmp/bal.log")
    [ -n "$r0" ] && [ "$r0" != "$r2" ] ||
        fail "both slow inputs ran on rank $r0: $(cat "$tmp/bal.log")"
    # uniform inputs are shared about evenly (one request once took the
    # last 1,979 of 2,000, when answers read together measured nothing):
    # each rank runs at least a third
    yes 20000 | head -n 600 >"$tmp/uni.in"
    mrun 3 -j 1 --format jsonl -a "$tmp/uni.in" bench:primes
    check "uniform status" 0 "$rc"
    for r in 1 2; do
        n=$(printf '%s\n' "$out" | grep -c "\"rank\":$r,")
        [ "$n" -ge 200 ] || fail "rank $r ran $n of 600 uniform inputs"
    done
    # slow inputs at the end of fast ones (which make requests of about ten
    # inputs): once the input has ended a rank is sent only its share of
    # what is left, so the four slow ones run two on each rank, not four
    # in one request
    { yes 1 | head -n 200; yes 800 | head -n 4; } >"$tmp/tail.in"
    mrun 3 -j 1 --format jsonl -a "$tmp/tail.in" bench:sleep
    check "tail status" 0 "$rc"
    check "tail slow per rank" "2 1${nl}2 2" \
        "$(printf '%s\n' "$out" | grep '"input":"800"' |
            sed 's/.*"rank":\([0-9]*\).*/\1/' | sort | uniq -c | awk '{ print $1, $2 }')"
}

# 3c. A rank answers a request when it ends, and what is done of a longer
# one 50 ms after its first result: the joblog hears of a fast input long
# before the slow one beside it in the same request (--chunk 2) ends, on
# the agent's other worker.
held_answers() {
    $MPIRUN -n 2 "$TASKPOOL" --mpi -j 2 --chunk 2 --joblog "$tmp/ha.log" \
        --init-arg "$mark" chaos:act sleep:300 sleep:3000 \
        >"$tmp/out" 2>"$tmp/err" &
    job=$!
    for _ in $(seq 100); do # up: mpirun, 2 taskpools, 2 keepers, 2 workers
        [ "$(leftovers "$mark")" -ge 7 ] && break
        sleep 0.05
    done
    sleep 1.2
    check "fast input logged first" "0 ok" \
        "$(awk -F'\t' 'NR > 1 { print $1, $6 }' "$tmp/ha.log")"
    wait $job
    check "status" 0 "$?"
    check "both logged" "0 ok${nl}1 ok" \
        "$(awk -F'\t' 'NR > 1 { print $1, $6 }' "$tmp/ha.log" | sort -n)"
    wait_procs "$mark" 0
}

# 3d. Memory does not grow with the input across ranks: the largest
# process of the job (a bridge, Open MPI's ~20 MiB) peaks the same at
# 200,000 and 3,000,000 lines; an endless input behind a slow head stops
# being read instead of filling any rank.
bounded() {
    for n in 200000 3000000; do
        seq "$n" | "$TP_MEASURE" "$tmp/m$n" $MPIRUN -n 3 "$TASKPOOL" --mpi -j 1 \
            seed:double >/dev/null
        check "status at $n lines" 0 "$?"
    done
    small=$(cut -d' ' -f2 "$tmp/m200000") large=$(cut -d' ' -f2 "$tmp/m3000000")
    echo "peak RSS of the job's largest process: $small KiB at 200000 lines, $large KiB at 3000000"
    [ "$large" -lt $((small + 8192)) ] ||
        fail "memory grows with the input: $small -> $large KiB"
    first=$({ echo sleep:1500; yes ok:x; } |
        "$TP_MEASURE" "$tmp/m" $MPIRUN -n 3 "$TASKPOOL" --mpi -j 1 \
            --init-arg "$mark" chaos:act 2>/dev/null | head -n 1)
    check "first result" "slept 1500" "$first"
    rss=$(cut -d' ' -f2 "$tmp/m")
    echo "peak RSS behind a slow head: $rss KiB"
    [ "$rss" -lt $((small + 8192)) ] || fail "a slow head let memory grow to $rss KiB"
    wait_procs "$mark" 0
}

# 3b. The other options mean what they mean without --mpi; workers do not
# see the launcher's variables (they are no MPI processes).
options() {
    mrun 3 --version
    check "--version once" "$("$TASKPOOL" --version)" "$out"
    mrun 3 --help
    check "--help once" "$("$TASKPOOL" --help)" "$out"
    mrun 3 -j 1 chaos:act env:OMPI_COMM_WORLD_RANK env:PMIX_RANK \
        env:HFI_NO_BACKTRACE env:IPATH_NO_BACKTRACE env:PATH
    check "no launcher variables" "(unset)${nl}(unset)${nl}(unset)${nl}(unset)${nl}$PATH" "$out"
    mrun 3 -j 1 --tag --unordered seed:double 1 2 3
    check "tag unordered" "1	2${nl}2	4${nl}3	6" "$(printf '%s\n' "$out" | sort)"
    mrun 3 -j 1 --joblog "$tmp/log" --progress seed:double 1 2 x
    check "joblog run" 1 "$rc"
    check "joblog workers" "0 ok written${nl}1 ok written${nl}2 error written" \
        "$(tail -n +2 "$tmp/log" | awk -F'\t' '$2 ~ /^[12]:[0-9]+$/ { print $1, $6, $8 }' | sort -n)"
    check "progress" "taskpool: 3 inputs in" "$(printf '%s\n' "$err" | grep -o '^taskpool: 3 inputs in')"
    mrun 3 -j 1 --joblog "$tmp/log" --resume-failed seed:double 1 2 x 4
    expect_err 1 "8" "taskpool: input 3 (x): not an integer"
    # results go to mpirun's own stdout: a file offset shared with the
    # shell stays right around them
    { echo header; $MPIRUN -n 3 "$TASKPOOL" --mpi -j 1 seed:double 1 2 3; echo footer; } >"$tmp/f"
    check "shared stdout" "header${nl}2${nl}4${nl}6${nl}footer" "$(cat "$tmp/f")"
}

# 4. What goes wrong before any input names the rank: exit 2.
start_errors() {
    mrun 2 -j 1 seed:double 1 : -n 1 -x TASKPOOL_PLUGIN_PATH=/nonexistent \
        "$TASKPOOL" --mpi -j 1 seed:double 1
    expect_err 2 "" "taskpool: rank 2 ($host): plugin 'seed' not found (searched: /nonexistent, $TP_PLUGINDIR)"
    # a rank started with other options (MPMD) is refused at start; -j
    # and the plugin path may differ
    mrun 2 -j 1 seed:double 1 : -n 1 "$TASKPOOL" --mpi -j 1 --timeout 5 \
        seed:double 1
    expect_err 2 "" "taskpool: rank 2 ($host): started with other options than rank 0 (every rank needs the same PLUGIN:TASK, --init-arg, --chunk, time limits, --retries, --max-tasks-per-child, limits, sandbox and output format)"
    mrun 2 -j 1 seed:double 3 : -n 1 "$TASKPOOL" --mpi -j 2 -L /nonexistent \
        seed:double 3
    expect_err 0 "6" ""
    mrun 3 -j 1 --init-arg fail chaos:act ok:1
    check "init status" 2 "$rc"
    printf '%s\n' "$err" | grep -Eqx "taskpool: rank [12] \($host\): chaos: init failed: asked to fail by --init-arg" ||
        fail "init failure: $err"
    mrun 1 seed:double 1
    expect_err 2 "" "taskpool: --mpi needs at least 2 ranks: rank 0 reads the inputs and writes the results, the others run the tasks"
    run --mpi seed:double 1
    expect 2 "" "taskpool: --mpi: not started by an MPI launcher; run it as: mpirun -n 3 taskpool --mpi [OPTION]... PLUGIN:TASK"
    # one listing for the job, rank 0's
    mrun 3 --dry-run seed:double 1
    check "dry run once" 1 "$(printf '%s\n' "$out" | grep -c '^task ')"
}

# The pids of one rank of this test's job (its taskpool carries $mark; a
# job of another test may run beside): its bridge and its taskpool.
rank_pids() {
    local b c
    for b in $(pgrep -f "taskpool-mpi [0-9]+ [0-9]+$"); do
        c=$(pgrep -P "$b" | head -1)
        [ -n "$c" ] && tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null | grep -q -- "$mark" &&
            tr '\0' ' ' </proc/"$b"/environ 2>/dev/null |
            grep -q "OMPI_COMM_WORLD_RANK=$1 " && echo "$b $c"
    done
}

# 5. A rank lost mid-run: its taskpool killed (the run ends, naming it,
# exit 3), or its MPI process killed (mpirun ends the job); the joblog
# holds what finished; nothing is left behind.
lost_rank() {
    for what in taskpool bridge last; do
        rm -f "$tmp/log"
        k=3
        [ $what = last ] && k=2
        $MPIRUN -n $k "$TASKPOOL" --mpi -j 1 --joblog "$tmp/log" \
            --init-arg "$mark" bench:sleep 10 10 10 2000 2000 2000 \
            >"$tmp/out" 2>"$tmp/err" &
        job=$!
        for _ in $(seq 100); do
            [ "$(tail -n +2 "$tmp/log" 2>/dev/null | wc -l)" = 3 ] && break
            sleep 0.1
        done
        r=2
        [ $what = last ] && r=1
        for _ in $(seq 100); do
            set -- $(rank_pids $r)
            [ $# = 2 ] && break
            sleep 0.1
        done
        [ $# = 2 ] || { kill -9 $job; fail "rank $r's processes not found: $(ps -ef | grep -c taskpool-mpi)"; }
        if [ $what = bridge ]; then kill -9 "$1"; else kill -9 "$2"; fi
        wait $job
        rc=$?
        case $what in
        taskpool) # its inputs run again on the other rank
            check "$what: status" 0 "$rc"
            check "$what: message" "taskpool: rank 2 ($host) was lost with N inputs in flight (its process or its node is gone); they run again on the others" \
                "$(sed -E 's/with [1-3] inputs? /with N inputs /' "$tmp/err")"
            check "$what: output" "10 10 10 2000 2000 2000" "$(echo $(cat "$tmp/out"))"
            check "$what: logged" "0 1 2 3 4 5" \
                "$(echo $(tail -n +2 "$tmp/log" | cut -f 1 | sort -n))"
            ;;
        last)
            check "$what: finished inputs logged" 3 "$(tail -n +2 "$tmp/log" | wc -l)"
            check "$what: status" 3 "$rc"
            check "$what: message" "taskpool: rank 1 ($host) was lost with N inputs in flight (its process or its node is gone); no other is left" \
                "$(sed -E 's/with [1-3] inputs? /with N inputs /' "$tmp/err")"
            ;;
        bridge)
            check "$what: finished inputs logged" 3 "$(tail -n +2 "$tmp/log" | wc -l)"
            [ "$rc" != 0 ] || fail "bridge: status 0"
            grep -qx "taskpool: terminated by the MPI launcher (Ctrl-C, scancel, or a rank was lost); finished inputs are in the joblog, if any" "$tmp/err" ||
                fail "bridge: message: $(cat "$tmp/err")"
            ;;
        esac
        wait_procs "$mark" 0
    done
}

# 5b. A rank that freezes (its taskpool stopped) with --timeout 1: the
# run ends after 11 s of silence, naming it, instead of hanging; rank 0's
# bridge then has mpirun end the frozen rank (MPI_Abort), nothing is left.
frozen() {
    $MPIRUN -n 3 "$TASKPOOL" --mpi -j 1 --timeout 1 --init-arg "$mark" \
        bench:sleep 10 10 $(yes 800 | head -n 20) >"$tmp/out" 2>"$tmp/err" &
    job=$!
    for _ in $(seq 100); do
        set -- $(rank_pids 1)
        [ $# = 2 ] && break
        sleep 0.1
    done
    sleep 1
    kill -STOP "$2"
    wait $job
    check "status" 3 "$?"
    check "message" "taskpool: rank 1 ($host) has not answered for 11 s with inputs in flight (stopped, or its node hangs)" \
        "$(cat "$tmp/err")"
    kill -CONT "$2" 2>/dev/null
    wait_procs "$mark" 0
}

# 6. Ctrl-C to mpirun: it ends the job (status 1, Open MPI's), and every
# rank's workers are gone.
# long_job: four 20 s inputs on two ranks, running (job=mpirun's pid)
long_job() {
    $MPIRUN -n 3 "$TASKPOOL" --mpi -j 1 --init-arg "$mark" bench:sleep \
        20000 20000 20000 20000 >"$tmp/out" 2>"$tmp/err" &
    job=$!
    # mpirun, 3 taskpools, 2 keepers and 2 workers carry the mark
    for _ in $(seq 100); do
        [ "$(leftovers "$mark")" -ge 8 ] && break
        sleep 0.1
    done
    check "running" 8 "$(leftovers "$mark")"
}

sigint() {
    long_job
    kill -INT $job
    wait $job
    check "status" 1 "$?"
    wait_procs "$mark" 0
}

# 6b. SIGINT or SIGTERM to rank 0's MPI process (what a batch system or
# `kill` sends a job's first process) reaches its taskpool, which ends the
# run as without --mpi: mpirun returns taskpool's 130 or 143, and every
# rank's workers are gone.
signal_rank0() {
    for s in INT:130 TERM:143 KILL:137; do
        long_job
        b0=
        for b in $(pgrep -f 'taskpool-mpi [0-9]+ [0-9]+$'); do
            tr '\0' ' ' </proc/"$(pgrep -P "$b" | head -1)"/cmdline 2>/dev/null |
                grep -q -- "$mark" || continue
            tr '\0' '\n' </proc/"$b"/environ | grep -qx 'OMPI_COMM_WORLD_RANK=0' &&
                b0=$b
        done
        [ -n "$b0" ] || fail "no rank 0 bridge found"
        kill -"${s%:*}" "$b0"
        wait $job
        check "SIG${s%:*} to rank 0: status" "${s#*:}" "$?"
        # killed, its sockets close before its death reaches its taskpool:
        # still the launcher's line, no rank named lost
        [ "${s%:*}" = KILL ] && check "SIGKILL to rank 0: message" \
            "taskpool: terminated by the MPI launcher (Ctrl-C, scancel, or a rank was lost); finished inputs are in the joblog, if any" \
            "$(cat "$tmp/err")"
        wait_procs "$mark" 0
    done
}

# 6c. Two Ctrl-Cs in a row (or timeout(1), which signals mpirun and then
# its process group) make mpirun exit at once: each rank's bridge sees its
# launcher go and ends its taskpool then (before, they lived on for 1-2 s,
# writing), and a --resume right away finds the log free and finishes the
# run.
sigint_twice() {
    L=$tmp/twice.log
    : >"$tmp/p1" # (read below before the job may have opened it)
    $MPIRUN -n 3 "$TASKPOOL" --mpi -j 1 --joblog "$L" --init-arg "$mark" \
        chaos:act $(yes sleep:20 | head -n 300) >"$tmp/p1" 2>/dev/null &
    job=$!
    for _ in $(seq 100); do
        [ "$(wc -l <"$tmp/p1")" -ge 20 ] && break
        sleep 0.05
    done
    kill -INT $job
    sleep 0.02
    kill -INT $job
    wait $job
    check "status" 1 "$?"
    # (the record being written when the ranks heard may still land)
    sleep 0.5
    check "gone within half a second" 0 "$(leftovers "$mark")"
    size=$(wc -c <"$tmp/p1")
    sleep 0.5
    check "nothing written after that" "$size" "$(wc -c <"$tmp/p1")"
    mrun 3 -j 1 --joblog "$L" --resume chaos:act $(yes sleep:20 | head -n 300)
    check "resumed" 0 "$rc"
    check "union" "300 slept 20" \
        "$(cat "$tmp/p1" "$tmp/out" | sort | uniq -c | awk '{ print $1, $2, $3 }')"
}

# 14. A rank's workers are not held to the core its launcher bound it to:
# with more workers than that core, they may use every CPU (two workers on
# one core ran at half speed); with as many, they keep the binding.
cpus() { awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$1/status"; }
affinity() {
    [ "$(nproc)" -ge 2 ] || { echo "affinity: needs 2 CPUs, skipped"; return 0; }
    all=$(cpus $$)
    for j in 2 1; do
        m="$mark-aff$j"
        timeout 60 $MPIRUN --bind-to core -n 2 "$TASKPOOL" --mpi -j $j \
            --init-arg "$m" bench:sleep 1500 1500 >/dev/null 2>&1 &
        job=$!
        wait_procs "$m" $((4 + 2 * j)) # timeout, mpirun, the ranks' taskpools,
        ours=" $(for q in $(pgrep -f -- "$m"); do # ... keepers and workers
            [ "$(cat "/proc/$q/comm")" = taskpool ] && echo "$q"; done | tr "\n" " ")"
        n=0 bound=
        for q in $ours; do
            case $ours in *" $(ps -o ppid= -p "$q" | tr -d ' ') "*) ;;
            *) bound="$bound $(cpus "$q")"; continue ;; # a rank's taskpool
            esac
            n=$((n + 1)) # a keeper or a worker
            want=$all
            [ $j = 1 ] && want=$(cpus "$(ps -o ppid= -p "$q" | tr -d ' ')")
            check "worker CPUs (-j $j)" "$want" "$(cpus "$q")"
        done
        check "workers and keepers (-j $j)" $((2 * j)) $n
        case $bound in *" $all"*" $all"*) fail "the launcher bound no rank:$bound" ;; esac
        [ $j = 1 ] && case $bound in *" $all"*) fail "-j 1 widened its rank:$bound" ;; esac
        wait $job
        check "status (-j $j)" 0 "$?"
    done
}

# 15. A worker rank stopped by a signal (its launcher ending the job: it
# signals every rank, and rank 0 may hear of another's end first) ends the
# run as the launcher's signal does, not as a lost rank whose inputs would
# run elsewhere: one line, 143.
stopped_rank() {
    $MPIRUN -n 3 "$TASKPOOL" --mpi -j 1 --init-arg "$mark" \
        bench:sleep 3000 3000 3000 3000 >"$tmp/out" 2>"$tmp/err" &
    job=$!
    for _ in $(seq 100); do
        set -- $(rank_pids 2)
        [ $# = 2 ] && break
        sleep 0.1
    done
    [ $# = 2 ] || { kill -9 $job; fail "rank 2's processes not found"; }
    sleep 0.5
    kill -TERM "$1"
    wait $job
    check "status" 143 "$?"
    check "message" "taskpool: terminated by the MPI launcher (Ctrl-C, scancel, or a rank was lost); finished inputs are in the joblog, if any" \
        "$(cat "$tmp/err")"
    wait_procs "$mark" 0
}

section same_output
section faults
section policies
section balance
section held_answers
section bounded
section options
section start_errors
section lost_rank
section frozen
section sigint
section signal_rank0
section sigint_twice
section affinity
section stopped_rank
[ -z "$failed" ] || fail "sections failed:$failed"
