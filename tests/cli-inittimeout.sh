# --init-timeout: a worker that does not load the plugin and run init in
# time ends the run (exit 2), at the first start as after a respawn.
# Each section runs in a subshell, so one failure does not hide the others.
. "$(dirname "$0")/lib.sh"
mark="inittimeout-$$-$(date +%s%N)"
chaos=$(cd "$TASKPOOL_PLUGIN_PATH/.libs" && pwd -P)/chaos.so
msg="taskpool: $chaos: worker PID did not finish loading and init within 500 ms (stuck in init)"

# a plugin that initialises in time is not affected
in_time() {
    trun --init-timeout 5 seed:double 1 2
    check "in time stderr" "" "$err"
    check "in time stdout" "2${nl}4" "$out"
    check "in time status" 0 "$rc"
}

# init never returns (the mark is in an input: workers carry the host's
# command line)
first_start() {
    trun --init-timeout 0.5 --init-arg hang chaos:act "ok:$mark"
    check "hang stderr" "$msg" "$(printf '%s\n' "$err" | pids)"
    check "hang stdout" "" "$out"
    check "hang status" 2 "$rc"
    check "hang leftovers" 0 "$(leftovers "$mark")"
}

# the first worker starts; after the crash its replacement hangs in init
respawn() {
    rm -f "$tmp/f"
    trun -j 1 --init-timeout 0.5 --init-arg "hang-respawn:$tmp/f" chaos:act segv ok:2
    check "respawn last line" "$msg" "$(printf '%s\n' "$err" | tail -n 1 | pids)"
    case $(printf '%s\n' "$err" | pids) in
    "$msg") ;;
    "taskpool: input 1 (segv): worker PID killed by signal 11 (Segmentation fault)$nl$msg") ;;
    *) fail "respawn stderr: $err" ;;
    esac
    check "respawn stdout" "" "$out"
    check "respawn status" 2 "$rc"
    check "respawn leftovers" 0 "$(leftovers "hang-respawn:$tmp/f")"
}

# seconds > 0 only
usage() {
    for v in 0 abc 50%; do
        run --init-timeout "$v" seed:double 1
        expect 2 "" "taskpool: invalid init timeout '$v' (0.001 to 1000000 seconds) (try 'taskpool --help')"
    done
}

section in_time
section first_start
section respawn
section usage

[ -z "$failed" ] || fail "sections failed:$failed"
