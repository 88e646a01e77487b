# --halt: exactly which inputs are reported.  With -j1 --chunk 1 the worker
# has at most two inputs sent at a time, so when input 2 fails, input 3 may
# have been sent (then it finishes), and nothing after it is.
. "$(dirname "$0")/lib.sh"

run -j 1 --chunk 1 --halt soon chaos:act ok:1 fail:x ok:3 ok:4 ok:5
check "soon status" 1 "$rc"
case $out in "1" | "1${nl}3") ;; *) fail "soon stdout: $out" ;; esac
check "soon stderr" "taskpool: input 2 (fail:x): x
taskpool: halted: 1 input failed" "$err"

mark="halt-$$-$(date +%s%N)"
run -j 1 --chunk 1 --halt now --init-arg "$mark" chaos:act ok:1 fail:x ok:3 ok:4 ok:5
expect 1 "1" "taskpool: input 2 (fail:x): x
taskpool: halted: 1 input failed"

run -j 1 --chunk 1 --halt now,fail=2 chaos:act ok:1 fail:a ok:3 fail:b ok:5 ok:6
expect 1 "1${nl}3" "taskpool: input 2 (fail:a): a
taskpool: input 4 (fail:b): b
taskpool: halted: 2 inputs failed"

# 50% of 4 inputs: the second failure halts (input 4 runs if it was sent
# before input 3's failure was seen, as in the first case)
run -j 1 --chunk 1 --halt soon,fail=50% chaos:act fail:a ok:2 fail:c ok:4
check "soon 50% status" 1 "$rc"
case $out in "2" | "2${nl}4") ;; *) fail "soon 50% stdout: $out" ;; esac
check "soon 50% stderr" "taskpool: input 1 (fail:a): a
taskpool: input 3 (fail:c): c
taskpool: halted: 2 inputs failed" "$err"

# never (the default) runs everything
run -j 1 --halt never chaos:act fail:a ok:2
expect 1 "2" "taskpool: input 1 (fail:a): a"

check "halt now leftovers" 0 "$(leftovers "$mark")"

# crashes count as failures too
run -j 1 --chunk 1 --halt now chaos:act ok:1 exit:4 ok:3
check "crash halts" 1 "$rc"
check "crash halts stdout" "1" "$out"

run --halt sometimes seed:double 1
expect 2 "" "taskpool: invalid halt policy 'sometimes' (never, soon or now, then optionally ,fail=N or ,fail=P%) (try 'taskpool --help')"
run --halt now,fail=0 seed:double 1
check "fail=0 refused" 2 "$rc"
