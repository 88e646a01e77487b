# --resume and --resume-failed: a run killed half-way and started again
# with the same inputs and joblog writes, over both runs, exactly what one
# uninterrupted run writes; an input whose output was written never runs
# again; an input that changed is refused.  Each section runs in a subshell.
. "$(dirname "$0")/lib.sh"
skip_under_valgrind "its kills land at times chosen for a native host, and its 200,000-input runs take minutes under valgrind; the other legs run it"
mark="resume-$$-$(date +%s%N)"

hdr="index	worker	start	runtime	attempts	status	error	output	digest"

# index status output, sorted by index
lines() { tail -n +2 "$1" | awk -F'\t' '{ print $1, $6, $8 }' | sort -n; }

# 1. Arguments: done inputs are skipped, failed ones only with
# --resume-failed; the log is appended to, its header written once.
args() {
    L=$tmp/a.log
    trun --joblog "$L" seed:double 1 2 x 4
    expect_err 1 "2${nl}4${nl}8" "taskpool: input 3 (x): not an integer"
    trun --joblog "$L" --resume seed:double 1 2 x 4 5
    expect_err 0 "10" ""
    trun --joblog "$L" --resume-failed seed:double 1 2 x 4 5 6
    expect_err 1 "12" "taskpool: input 3 (x): not an integer"
    check "headers" 1 "$(grep -c '^index' "$L")"
    check "appended lines" "0 ok written${nl}1 ok written${nl}2 error written${nl}2 error written${nl}3 ok written${nl}4 ok written${nl}5 ok written" "$(lines "$L")"
    trun --joblog "$L" --resume seed:double 1 2 x 4 5 6
    expect_err 0 "" ""
    # jsonl keeps the inputs' own indices
    trun --joblog "$L" --resume --format jsonl seed:double 1 2 x 4 5 6 7
    check "jsonl index" '{"index":6,"input":"7","status":"ok","output":"14"' \
        "$(printf '%s' "$out" | sed 's/,"worker.*//')"
}

# 2. Standard input, the same way; a missing log is a new one.
stdin() {
    L=$tmp/s.log
    seq 1 10 >"$tmp/s10"
    seq 1 12 >"$tmp/s12"
    trun --joblog "$L" --resume seed:double <"$tmp/s10"
    expect_err 0 "$(seq 2 2 20)" ""
    trun --joblog "$L" --resume seed:double <"$tmp/s12"
    expect_err 0 "22${nl}24" ""
    check "all written once" 12 "$(lines "$L" | grep -c ' ok written$')"
}

# 3. A changed input is an error before anything runs (arguments) or as
# soon as it is read (standard input); the log is left as it was.
changed() {
    L=$tmp/c.log R=$tmp/c.runs
    trun --joblog "$L" chaos:act "note:$R:ok:a" "note:$R:ok:b" "note:$R:ok:c"
    check "first run" 0 "$rc"
    cp "$L" "$tmp/c.before"
    trun --joblog "$L" --resume chaos:act "note:$R:ok:a" "note:$R:ok:B" \
        "note:$R:ok:c" "note:$R:ok:d"
    expect_err 2 "" "taskpool: input 2 is not the one $L recorded (its digest differs): the inputs changed, not resuming"
    check "runs" "ok:a${nl}ok:b${nl}ok:c" "$(sort "$R")"
    cmp -s "$L" "$tmp/c.before" || fail "the log changed: $(cat "$L")"
    printf 'note:%s:ok:a\nnote:%s:ok:b\nnote:%s:ok:C\nnote:%s:ok:d\n' \
        "$R" "$R" "$R" "$R" >"$tmp/c.in"
    trun --joblog "$L" --resume chaos:act <"$tmp/c.in"
    expect_err 2 "" "taskpool: input 3 is not the one $L recorded (its digest differs): the inputs changed, not resuming"
    check "runs after stdin" "ok:a${nl}ok:b${nl}ok:c" "$(sort "$R")"
}

# 4. What cannot be resumed is refused, with exit 2.
refused() {
    trun --resume seed:double 1
    expect_err 2 "" "taskpool: --resume needs --joblog FILE (try 'taskpool --help')"
    trun --resume-failed seed:double 1
    expect_err 2 "" "taskpool: --resume-failed needs --joblog FILE (try 'taskpool --help')"
    printf 'Seq\tHost\tStarttime\n1\t:\t0\n' >"$tmp/gnu.log"
    trun --joblog "$tmp/gnu.log" --resume seed:double 1
    expect_err 2 "" "taskpool: $tmp/gnu.log: not a joblog of this taskpool (its header differs): cannot resume from it"
    printf '%s\n0\t1\t2\n' "$hdr" >"$tmp/short.log"
    trun --joblog "$tmp/short.log" --resume seed:double 1
    expect_err 2 "" "taskpool: $tmp/short.log: line 2 is not a joblog line"
    trun --joblog /dev/null --resume seed:double 1
    expect_err 2 "" "taskpool: /dev/null: not a regular file: cannot resume from it"
    trun --joblog /dev/full seed:double 1
    expect_err 2 "" "taskpool: /dev/full: No space left on device"
}

# 5. A line cut short by a killed run is dropped, not appended to.
torn() {
    L=$tmp/t.log
    trun --joblog "$L" seed:double 1 2
    printf '2\t4242\t17' >>"$L"
    trun --joblog "$L" --resume seed:double 1 2 3
    expect_err 0 "6" ""
    check "lines" "0 ok written${nl}1 ok written${nl}2 ok written" "$(lines "$L")"
    check "line count" 4 "$(wc -l <"$L")"
}

# 6. One log, one run at a time.
locked() {
    L=$tmp/l.log
    "$TASKPOOL" --joblog "$L" --init-arg "$mark" chaos:act sleep:20000 \
        >/dev/null 2>&1 &
    host=$!
    for _ in $(seq 100); do
        [ -s "$L" ] && break
        sleep 0.05
    done
    trun --joblog "$L" --resume seed:double 1
    kill -INT $host
    wait $host
    expect_err 2 "" "taskpool: $L: in use by another taskpool run"
    wait_procs "$mark" 0
}

# The inputs of the kill -9 runs: N fast ones noting each run in $R, the
# slow one (2 s) in the middle.
N=300
inputs() {
    for i in $(seq 1 $N); do
        [ "$i" = $((N / 2 + 1)) ] && echo sleep:2000
        echo "note:$R:ok:$i"
    done
}
# all N fast inputs have run once
wait_runs() {
    for _ in $(seq 200); do
        [ -f "$R" ] && [ "$(wc -l <"$R")" = "$N" ] && return 0
        sleep 0.05
    done
    fail "fast inputs did not run: $(wc -l <"$R")"
}

# killed_run P [OPTION]...: the inputs into $tmp/P.in (unless there), and
# a run of them in input order killed (-9) while the slow one runs, its
# output in $tmp/P.out1.
killed_run() {
    local p=$1
    shift
    [ -f "$tmp/$p.in" ] || inputs >"$tmp/$p.in"
    "$TASKPOOL" -j 2 "$@" --joblog "$L" --init-arg "$mark" chaos:act \
        <"$tmp/$p.in" >"$tmp/$p.out1" 2>"$tmp/$p.err1" &
    host=$!
    wait_runs
    sleep 0.2
    kill -KILL $host
    wait $host 2>/dev/null
    wait_procs "$mark" 0
}

# what one uninterrupted run of $tmp/P.in writes
full_output() {
    sed -e 's/^note:[^:]*:ok://' -e 's/^sleep:2000/slept 2000/' "$tmp/$1.in"
}

# 7. kill -9 in ordered mode while the slow input runs: the first half was
# written; the second half finished but waited for the slow one, so the log
# says "pending" and their results are in $L.held.  The resumed run runs
# the slow input only and writes the held half after it: both outputs
# together are exactly the output of one run, and no input ran twice.
kill_ordered() {
    L=$tmp/k.log R=$tmp/k.runs
    killed_run k
    check "first output" "$(seq 1 $((N / 2)))" "$(cat "$tmp/k.out1")"
    check "first log" "$(seq 0 $((N / 2 - 1)) | sed 's/$/ ok written/')${nl}$(seq $((N / 2 + 1)) $N | sed 's/$/ ok pending/')" \
        "$(lines "$L")"
    [ -s "$L.held" ] || fail "no $L.held after the kill"
    trun -j 2 --joblog "$L" --resume chaos:act <"$tmp/k.in"
    check "resumed status" 0 "$rc"
    check "union" "$(sed -e 's/^note:[^:]*:ok://' -e 's/^sleep:2000/slept 2000/' "$tmp/k.in")" \
        "$(cat "$tmp/k.out1" "$tmp/out")"
    check "runs" "$(seq 1 $N | sed 's/^/1 ok:/')" \
        "$(sort "$R" | uniq -c | awk '{ print $1, $2 }' | sort -t: -k2 -n)"
    check "written once each" "$((N + 1))" \
        "$(tail -n +2 "$L" | awk -F'\t' '$8 == "written" { print $1 }' | sort -u | wc -l)"
    check "written lines" "$((N + 1))" "$(grep -c '	written	' "$L")"
    # a held result is written again with its first run's worker and times
    check "same worker" 1 "$(awk -F'\t' '$1 == '$N' { print $2, $3 }' "$L" | sort -u | wc -l)"
    [ ! -e "$L.held" ] || fail "$L.held is left after a complete run"
}

# 8. Killed again while resuming (before the held half's turn came): the
# held results are still there for the third run, and still no fast
# input ran twice.
kill_twice() {
    L=$tmp/t.log R=$tmp/t.runs
    killed_run t
    "$TASKPOOL" -j 2 --joblog "$L" --resume --init-arg "$mark" chaos:act \
        <"$tmp/t.in" >"$tmp/t.out2" 2>"$tmp/t.err2" &
    host=$!
    sleep 0.5
    kill -KILL $host
    wait $host 2>/dev/null
    wait_procs "$mark" 0
    trun -j 2 --joblog "$L" --resume chaos:act <"$tmp/t.in"
    check "resumed status" 0 "$rc"
    check "union" "$(full_output t)" "$(cat "$tmp/t.out1" "$tmp/t.out2" "$tmp/out")"
    check "runs" "$(seq 1 $N | sed 's/^/1 ok:/')" \
        "$(sort "$R" | uniq -c | awk '{ print $1, $2 }' | sort -t: -k2 -n)"
    [ ! -e "$L.held" ] || fail "$L.held is left after a complete run"
}

# 9. A damaged held file: a record whose checksum fails ends what is read
# back, so those inputs run again (each at most twice) and the output is
# still exact; a file that is not one of held results is refused.
held_damaged() {
    L=$tmp/d.log R=$tmp/d.runs
    killed_run d
    size=$(stat -c %s "$L.held")
    printf 'X' | dd of="$L.held" bs=1 seek=$((size * 3 / 4)) conv=notrunc 2>/dev/null
    trun -j 2 --joblog "$L" --resume chaos:act <"$tmp/d.in"
    check "resumed status" 0 "$rc"
    check "union" "$(full_output d)" "$(cat "$tmp/d.out1" "$tmp/out")"
    twice=$(sort "$R" | uniq -c | awk '$1 == 2' | wc -l)
    [ "$twice" -gt 0 ] && [ "$twice" -lt $((N / 2)) ] ||
        fail "$twice inputs ran twice after damage 3/4 into the held file"
    check "at most twice" "" "$(sort "$R" | uniq -c | awk '$1 > 2')"
    printf 'garbage!garbage!' >"$L.held"
    trun --joblog "$L" --resume seed:double 1
    expect_err 2 "" "taskpool: $L.held: not a file of held results of this taskpool: cannot resume from it"
    rm "$L.held"
    mkdir "$L.held"
    trun --joblog "$L" seed:double 1
    expect_err 2 "" "taskpool: $L.held: Is a directory"
}

# 10. jsonl, and --resume-failed: a held failure runs again, a held
# success is written from the held file; the lines join exactly.
held_jsonl() {
    L=$tmp/j.log R=$tmp/j.runs
    bad=$((N / 2 + 5))
    inputs | sed "s/^note:\(.*\):ok:$bad\$/note:\1:fail:$bad/" >"$tmp/j.in"
    killed_run j --format jsonl
    trun -j 2 --format jsonl --joblog "$L" --resume-failed chaos:act <"$tmp/j.in"
    check "resumed status" 1 "$rc"
    sed "s#$R#$tmp/j.ref#" "$tmp/j.in" | "$TASKPOOL" --format jsonl chaos:act |
        sed "s#$tmp/j.ref#$R#; s/,\"worker.*//" >"$tmp/j.want"
    check "union" "$(cat "$tmp/j.want")" \
        "$(cat "$tmp/j.out1" "$tmp/out" | sed 's/,"worker.*//')"
    check "runs" "$(seq 1 $N | sed 's/^/1 ok:/; s/^1 ok:'$bad'$/2 fail:'$bad'/')" \
        "$(sort "$R" | uniq -c | awk '{ print $1, $2 }' | sort -t: -k2 -n)"
}

# 10b. Into a pipe whose reader has stopped: kill -9, or SIGTERM past its
# second of grace, stops the host inside a write.  Writes under a log go
# in whole records of at most PIPE_BUF, which a pipe takes whole or not at
# all, so the marks are exact and nothing is cut: the parts still join.
held_pipe() {
    seq 1 20000 >"$tmp/p.in"
    "$TASKPOOL" -j 2 -a "$tmp/p.in" seed:double >"$tmp/p.ref"
    for sig in KILL TERM KILL TERM; do
        rm -f "$tmp/p.log"
        ( "$TASKPOOL" -j 2 --joblog "$tmp/p.log" -a "$tmp/p.in" seed:double &
          echo $! >"$tmp/p.pid"; wait ) 2>/dev/null | (sleep 2; cat) >"$tmp/p.1" &
        reader=$!
        sleep 1
        kill -s $sig "$(cat "$tmp/p.pid")"
        wait $reader
        trun -j 2 --joblog "$tmp/p.log" --resume -a "$tmp/p.in" seed:double
        check "SIG$sig: resumed" 0 "$rc"
        cat "$tmp/p.1" "$tmp/out" | cmp -s - "$tmp/p.ref" ||
            fail "SIG$sig: the parts do not join ($(wc -l <"$tmp/p.1") lines, then $(head -1 "$tmp/out"))"
    done
}

# 10c. Held results are written in their turn: right after the input
# before them (not when the next result comes), and only for inputs this
# run is given.
held_turn() {
    L=$tmp/t2.log
    "$TASKPOOL" -j 3 --joblog "$L" chaos:act sleep:1500 ok:a ok:b ok:c sleep:4000 ok:d \
        >/dev/null 2>&1 &
    host=$!
    sleep 0.8
    kill -KILL $host
    wait $host 2>/dev/null
    "$TASKPOOL" -j 3 --joblog "$L" --resume chaos:act sleep:1500 ok:a ok:b ok:c \
        sleep:4000 ok:d >"$tmp/t2.out" 2>&1 &
    host=$!
    sleep 2.8 # slept 1500 is in at about 1.5 s, slept 4000 at about 4 s
    check "in their turn" "slept 1500${nl}a${nl}b${nl}c" "$(cat "$tmp/t2.out")"
    wait $host
    check "all" "slept 1500${nl}a${nl}b${nl}c${nl}slept 4000${nl}d" "$(cat "$tmp/t2.out")"
    # fewer inputs than the log: held results of inputs not given wait
    L=$tmp/t3.log
    "$TASKPOOL" -j 2 --joblog "$L" chaos:act sleep:1500 ok:a ok:b ok:c ok:d \
        >/dev/null 2>&1 &
    host=$!
    sleep 0.6
    kill -KILL $host
    wait $host 2>/dev/null
    trun -j 2 --joblog "$L" --resume chaos:act sleep:1500 ok:a
    expect_err 0 "slept 1500${nl}a" ""
    check "not given, still pending" "2 ok pending${nl}3 ok pending${nl}4 ok pending" \
        "$(lines "$L" | awk '$1 >= 2' | sort -u)"
    trun -j 2 --joblog "$L" --resume chaos:act sleep:1500 ok:a ok:b ok:c ok:d
    expect_err 0 "b${nl}c${nl}d" ""
}

# 10d. FILE.held is the log's own: not through a link, not another run's,
# not a file that is not one (a new log does not empty it).
held_rules() {
    L=$tmp/r.log
    echo secret >"$tmp/victim"
    ln -s "$tmp/victim" "$L.held"
    trun --joblog "$L" seed:double 1
    expect_err 2 "" "taskpool: $L.held: a symbolic link (taskpool keeps the joblog's held results there): remove it"
    check "victim" secret "$(cat "$tmp/victim")"
    rm "$L.held"
    echo data >"$L.held"
    trun --joblog "$L" seed:double 1
    expect_err 2 "" "taskpool: $L.held: not a file of held results of this taskpool: remove it, or give another joblog"
    check "data" data "$(cat "$L.held")"
    rm "$L.held"
    # a run whose log is $L.held, and one whose log is $L
    "$TASKPOOL" --joblog "$L.held" --init-arg "$mark" chaos:act sleep:3000 >/dev/null &
    host=$!
    for _ in $(seq 100); do
        [ -s "$L.held" ] && break
        sleep 0.05
    done
    trun --joblog "$L" seed:double 1
    expect_err 2 "" "taskpool: $L.held: in use by another taskpool run"
    wait $host
    check "the other run's log" 1 "$(tail -n +2 "$L.held" | wc -l)"
}

# 11. The same as 7 with --unordered: every finished output was written,
# so only the slow input runs again and no input runs twice.
kill_unordered() {
    L=$tmp/u.log R=$tmp/u.runs
    inputs >"$tmp/u.in"
    "$TASKPOOL" -j 2 --unordered --joblog "$L" --init-arg "$mark" chaos:act \
        <"$tmp/u.in" >"$tmp/u.out1" 2>"$tmp/u.err1" &
    host=$!
    wait_runs
    for _ in $(seq 100); do
        [ "$(grep -c '	written	' "$L")" = "$N" ] && break
        sleep 0.05
    done
    kill -KILL $host
    wait $host 2>/dev/null
    wait_procs "$mark" 0
    trun -j 2 --unordered --joblog "$L" --resume chaos:act <"$tmp/u.in"
    expect_err 0 "slept 2000" ""
    check "union" "$(sed -e 's/^note:[^:]*:ok://' -e 's/^sleep:2000/slept 2000/' "$tmp/u.in" | sort)" \
        "$(cat "$tmp/u.out1" "$tmp/out" | sort)"
    check "runs" "$N" "$(sort -u "$R" | wc -l)"
    check "each once" "$N" "$(wc -l <"$R")"
}

# 12. A signal never leaves half a record: the record being written is
# finished (within a second), so both outputs join exactly, with --tag,
# jsonl and a reader that takes 4 KiB every 20 ms.
signals() {
    seq 1 200000 >"$tmp/g.in"
    "$TASKPOOL" --tag -a "$tmp/g.in" seed:double >"$tmp/g.full"
    for sig in INT TERM INT TERM; do
        rm -f "$tmp/g.log"
        "$TASKPOOL" --tag -j 2 --joblog "$tmp/g.log" -a "$tmp/g.in" seed:double \
            >"$tmp/g.1" &
        p=$!
        sleep 0.0$((RANDOM % 9 + 1))
        kill -s $sig $p
        wait $p
        trun --tag -j 2 --joblog "$tmp/g.log" --resume -a "$tmp/g.in" seed:double
        cat "$tmp/g.1" "$tmp/out" | cmp -s - "$tmp/g.full" ||
            fail "SIG$sig: the outputs do not join: $(tail -c 20 "$tmp/g.1" | od -c | head -2)"
    done
    rm -f "$tmp/g.log" "$tmp/fifo"
    mkfifo "$tmp/fifo"
    : >"$tmp/g.1"
    ( while :; do
          n=$(dd bs=4096 count=1 status=none | tee -a "$tmp/g.1" | wc -c)
          [ "$n" -gt 0 ] || break
          sleep 0.02
      done ) <"$tmp/fifo" &
    reader=$!
    "$TASKPOOL" --joblog "$tmp/g.log" -a "$tmp/g.in" seed:double >"$tmp/fifo" &
    p=$!
    sleep 1
    kill -INT $p
    wait $p
    check "slow reader: SIGINT" 130 "$?"
    wait $reader
    trun --joblog "$tmp/g.log" --resume -a "$tmp/g.in" seed:double
    seq 2 2 400000 >"$tmp/g.want"
    cat "$tmp/g.1" "$tmp/out" | cmp -s - "$tmp/g.want" ||
        fail "slow reader: the outputs do not join ($(wc -l <"$tmp/g.1") lines first)"
}

# 13. The log's own rules: not a pipe, not the input or the output; a
# whole last line without its newline is kept; a message that could not
# be written is not marked; a closed stdout is found before anything runs.
rules() {
    mkfifo "$tmp/f.log"
    trun --joblog "$tmp/f.log" seed:double 1
    expect_err 2 "" "taskpool: $tmp/f.log: a pipe or socket cannot hold a joblog (a reader that stops would stop the run): use a file"
    "$TASKPOOL" --joblog /dev/stdout seed:double 1 >"$tmp/so" 2>"$tmp/err"
    check "joblog is stdout" "2 taskpool: /dev/stdout is also standard output: the joblog needs a file of its own" \
        "$? $(cat "$tmp/err")"
    check "stdout untouched" "" "$(cat "$tmp/so")"
    seq 1 3 >"$tmp/same"
    trun --joblog "$tmp/same" -a "$tmp/same" seed:double
    expect_err 2 "" "taskpool: $tmp/same is also the input: the joblog needs a file of its own"
    check "input untouched" "1${nl}2${nl}3" "$(cat "$tmp/same")"
    printf '1\n2\n' >"$tmp/h.log.held"
    trun --joblog "$tmp/h.log" -a "$tmp/h.log.held" seed:double
    expect_err 2 "" "taskpool: $tmp/h.log.held is also the input: the joblog needs a file of its own"
    check "held input untouched" "1${nl}2" "$(cat "$tmp/h.log.held")"
    L=$tmp/n.log
    trun --joblog "$L" seed:double 1 2 3
    truncate -s -1 "$L"
    trun --joblog "$L" --resume seed:double 1 2 3 4
    expect_err 0 "8" ""
    check "newline restored" "0 ok written${nl}1 ok written${nl}2 ok written${nl}3 ok written" "$(lines "$L")"
    "$TASKPOOL" --joblog "$tmp/m.log" seed:double 1 x 2>/dev/full >/dev/null
    check "message lost, not marked" "0 ok written${nl}1 error pending" "$(lines "$tmp/m.log")"
    [ ! -e "$tmp/m.log.held" ] || fail "a lost message's result was kept"
    "$TASKPOOL" --joblog "$tmp/c.log" chaos:act "note:$tmp/ran:ok:a" >&- 2>"$tmp/err"
    check "stdout closed" "3 taskpool: standard output is closed" "$? $(cat "$tmp/err")"
    [ ! -e "$tmp/ran" ] || fail "an input ran with stdout closed"
    trun --resume=yes seed:double 1
    expect_err 2 "" "taskpool: option '--resume' doesn't allow an argument (try 'taskpool --help')"
    trun --resu seed:double 1
    expect_err 2 "" "taskpool: option '--resu' is ambiguous (try 'taskpool --help')"
    trun --joblog= seed:double 1
    expect_err 2 "" "taskpool: --joblog needs a FILE (try 'taskpool --help')"
}

section args
section stdin
section changed
section refused
section torn
section locked
section kill_ordered
section kill_twice
section held_damaged
section held_jsonl
section held_pipe
section held_turn
section held_rules
section kill_unordered
section signals
section rules
[ -z "$failed" ] || fail "sections failed:$failed"
