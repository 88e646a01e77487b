# SIGINT/SIGTERM/SIGHUP stop everything at once (130/143/129); SIGKILL of the host
# takes the workers with it; a reader that leaves early ends the run.
. "$(dirname "$0")/lib.sh"
mark="signals-$$-$(date +%s%N)"

# elapsed ms since $1 (from date +%s%N)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

for sig in INT TERM HUP; do
    want=$(case $sig in INT) echo 130 ;; TERM) echo 143 ;; HUP) echo 129 ;; esac)
    "$TASKPOOL" -j 2 --chunk 1 --init-arg "$mark" chaos:act \
        sleep:5000 sleep:5000 sleep:5000 >"$tmp/out" 2>"$tmp/err" &
    host=$!
    wait_procs "$mark" 5 # the host, its two workers and their keepers
    t0=$(date +%s%N)
    kill -s $sig $host
    wait $host
    rc=$?
    took=$(ms_since "$t0")
    check "SIG$sig status" "$want" "$rc"
    [ "$took" -lt 1000 ] || fail "SIG$sig took $took ms"
    check "SIG$sig stderr" "" "$(cat "$tmp/err")"
    check "SIG$sig leftovers" 0 "$(leftovers "$mark")"
done

# SIGKILL: nobody can clean up, the workers notice by themselves
"$TASKPOOL" -j 2 --chunk 1 --init-arg "$mark" chaos:act sleep:5000 sleep:5000 >/dev/null 2>&1 &
host=$!
wait_procs "$mark" 5
kill -KILL $host
wait $host 2>/dev/null
sleep 1
check "SIGKILL leftovers" 0 "$(leftovers "$mark")"

# | head -n 1: prompt, quiet end
t0=$(date +%s%N)
first=$(seq 10000000 | "$TASKPOOL" -j 2 --init-arg "$mark" seed:double 2>"$tmp/err" | head -n 1)
took=$(ms_since "$t0")
check "head -n 1" 2 "$first"
check "head -n 1 stderr" "" "$(cat "$tmp/err")"
[ "$took" -lt 3000 ] || fail "| head -n 1 took $took ms"
check "head leftovers" 0 "$(leftovers "$mark")"

# SIGINT while the reader of stdout has stopped reading: the host, blocked
# in write(2), still stops (130)
seq 2000000 >"$tmp/many"
(
    "$TASKPOOL" -j 2 --init-arg "$mark-w" seed:double <"$tmp/many"
    echo $? >"$tmp/wrc"
) | sleep 30 &
reader=$!
for _ in $(seq 100); do
    host=$(pgrep -f -- "--init-arg $mark-w seed" | head -n 1)
    [ -n "$host" ] && [ "$(leftovers "$mark-w")" -ge 5 ] && break
    sleep 0.1
done
sleep 0.5 # the pipe is full, the host blocked in write
kill -INT "$host"
for _ in $(seq 100); do
    [ -s "$tmp/wrc" ] && break
    sleep 0.1
done
check "SIGINT while blocked on stdout" 130 "$(cat "$tmp/wrc" 2>/dev/null)"
kill "$reader" 2>/dev/null
pkill -P "$reader" sleep 2>/dev/null
wait_procs "$mark-w" 0
