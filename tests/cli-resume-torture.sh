# Resume torture: runs killed with kill -9 after random times, resumed
# again and again, into regular files and into a pipe, with varied task
# times, failures and slow inputs that hold a tail of results back (input
# order).  The parts, joined, must be exactly one uninterrupted run's
# output and messages (into a pipe: but for the records of one write per
# kill, each said so on stderr and at most PIPE_BUF bytes), and no input
# with a line in the log when a run starts may run again in it.
#   TP_TORTURE_SEED   the seed (printed; default 20)
#   TP_TORTURE_KILLS  kills in all (default 24: make check; make bench and
#                     a hand run take 1000), in series of at most 50
. "$(dirname "$0")/lib.sh"
skip_under_valgrind "its kills land at random times chosen for a native host"
seed=${TP_TORTURE_SEED:-20}
want=${TP_TORTURE_KILLS:-24}
per=$((want < 50 ? (want + 1) / 2 : 50))
printf 'resume torture: seed %s, %s kills in series of %s\n' "$seed" "$want" "$per"
RANDOM=$seed
R=$tmp/runs

# N inputs: ok (60 %), sleep 0-2 ms (38 %), fail (2 %), and one in 400
# sleeps 120 ms (its successors wait behind it); each names its number,
# and notes each run of it in $R
inputs() {
    awk -v n="$1" -v s="$2" -v r="$R" 'BEGIN { srand(s);
        for (i = 1; i <= n; i++) { x = rand() * 400
            if (x < 1) a = "sleep:120:i" i
            else if (x < 9) a = "fail:e" i
            else if (x < 161) a = "sleep:" int(rand() * 3) ":i" i
            else a = "ok:r" i
            print "note:" r ":" a } }'
}

# runs: how often each input ran, "ID COUNT" by ID
runs() { [ -f "$R" ] && sed 's/.*[rie]//' "$R" | sort -n | uniq -c | awk '{ print $2, $1 }'; }

# recorded LOG: the inputs (numbered from 1) with a line in LOG
recorded() { [ -f "$1" ] && tail -n +2 "$1" | cut -f1 | awk '{ print $1 + 1 }' | sort -nu; }

# the inputs recorded before run K ran (their runs then) must not have run
# again in it
none_again() {
    runs >"$tmp/runs.after"
    again=$(awk 'FILENAME == ARGV[1] { rec[$1] = 1; next }
                 FILENAME == ARGV[2] { if ($1 in rec) was[$1] = $2; next }
                 ($1 in rec) && $2 != was[$1] + 0 { print $1 }' \
        "$tmp/rec" "$tmp/runs.before" "$tmp/runs.after" | head -5)
    [ -z "$again" ] ||
        fail "series $series run $k: inputs recorded as finished ran again: $again"
}

# one run K of the series (resumed after the first), killed after a random
# 20-300 ms unless LAST; sets $killed
run_one() {
    local last=$1 how=$2 resume=
    [ "$k" -gt 1 ] && resume=--resume
    recorded "$L" >"$tmp/rec"
    runs >"$tmp/runs.before"
    if [ "$how" = file ]; then
        "$TASKPOOL" -j3 --joblog "$L" $resume -a "$tmp/in" chaos:act \
            >"$tmp/part.$k" 2>"$tmp/err.$k" &
    else
        "$TASKPOOL" -j3 --joblog "$L" $resume -a "$tmp/in" chaos:act \
            2>"$tmp/err.$k" > >(cat >"$tmp/part.$k") &
    fi
    host=$!
    if [ -z "$last" ]; then
        sleep "0.$(printf '%03d' $((20 + RANDOM % 281)))"
        kill -KILL $host 2>/dev/null
    fi
    wait $host 2>/dev/null
    st=$?
    killed=$([ "$st" = 137 ] && echo 1 || echo 0)
    [ "$st" = 137 ] || [ "$st" = 0 ] || [ "$st" = 1 ] ||
        fail "series $series run $k: exit status $st: $(cat "$tmp/err.$k")"
    sleep 0.05 # the pipe's reader writes its last bytes
    none_again
}

# the pipe's parts without what each resumed run wrote again (said so on
# its stderr: that many records, the last ones of the run before)
unrepeated() {
    for j in $(seq 1 "$k"); do
        n=$(sed -n 's/^taskpool: the killed run.s last write to standard output (\([0-9]*\) results*) is written again: .*/\1/p' "$tmp/err.$j")
        if [ -n "$n" ] && [ "$(tail -n "$n" "$tmp/part.$((j - 1))")" = "$(head -n "$n" "$tmp/part.$j")" ]; then
            [ "$(head -n "$n" "$tmp/part.$j" | wc -c)" -le 4096 ] ||
                fail "series $series: more than PIPE_BUF written again after kill $((j - 1))"
            tail -n "+$((n + 1))" "$tmp/part.$j"
        else
            cat "$tmp/part.$j"
        fi
    done
}

# a series: fresh log, PER kills (fewer if the run ends first), a last run
series() {
    local how=$1
    L=$tmp/s$series.log
    rm -f "$R" "$tmp"/part.* "$tmp"/err.*
    inputs $((per * 500)) $((seed + series)) >"$tmp/in"
    "$TASKPOOL" -j3 -a "$tmp/in" chaos:act >"$tmp/ref.out" 2>"$tmp/ref.err"
    rm -f "$R"
    k=0 n_killed=0
    while [ "$n_killed" -lt "$per" ]; do
        k=$((k + 1))
        run_one "" "$how"
        [ "$killed" = 1 ] || break
        n_killed=$((n_killed + 1))
    done
    [ "$killed" = 1 ] && { k=$((k + 1)); run_one last "$how"; }
    total=$((total + n_killed))
    if [ "$how" = file ]; then
        for j in $(seq 1 "$k"); do cat "$tmp/part.$j"; done | cmp -s - "$tmp/ref.out" ||
            fail "series $series ($how, $n_killed kills): the parts are not one run's output"
    else
        unrepeated | cmp -s - "$tmp/ref.out" ||
            fail "series $series ($how, $n_killed kills): the parts are not one run's output"
    fi
    for j in $(seq 1 "$k"); do cat "$tmp/err.$j"; done |
        grep -v "^taskpool: the killed run's last write to standard output" |
        cmp -s - "$tmp/ref.err" ||
        fail "series $series ($how): the messages are not one run's: $(for j in $(seq 1 "$k"); do cat "$tmp/err.$j"; done | diff - "$tmp/ref.err" | head -5)"
    [ "$how" = pipe ] || ! grep -h "^taskpool: the killed run" "$tmp"/err.* ||
        fail "series $series: into a file, something was written again"
}

total=0 series=0
start=$(date +%s)
while [ "$total" -lt "$want" ]; do
    series=$((series + 1))
    if [ $((series % 2)) = 1 ]; then series file; else series pipe; fi
done
printf 'resume torture: %s kills in %s series, %s s\n' "$total" "$series" \
    $(($(date +%s) - start))
