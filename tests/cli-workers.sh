# Workers are distinct processes that each loaded the plugin and ran init
# themselves; what a kernel prints goes to stderr, not into the results.
. "$(dirname "$0")/lib.sh"

seq 400 | "$TASKPOOL" -j 3 --chunk 1 chaos:pid >"$tmp/out" 2>"$tmp/err" &
host=$!
wait $host
check "status" 0 "$?"
check "stderr" "" "$(cat "$tmp/err")"
check "one line per input" 400 "$(wc -l <"$tmp/out")"
# field 1: the worker's pid; field 2: the pid that ran init in that worker
awk '$1 != $2 { bad = 1 } END { exit bad }' "$tmp/out" ||
    fail "a task ran in a process that did not run init itself"
grep -qw "$host" "$tmp/out" && fail "the host ($host) ran a task"
# (all three get work only if they start before 400 tiny inputs are done:
# under valgrind a worker starts too slowly for that to hold)
[ -n "${TASKPOOL_VALGRIND:-}" ] ||
    check "distinct workers" 3 "$(cut -d' ' -f1 <"$tmp/out" | sort -u | wc -l)"
no_children $host

# printf in a kernel: stderr gets it, stdout only has results
run -j 2 chaos:print a b
check "print status" 0 "$rc"
check "print stdout" "ok a${nl}ok b" "$out"
check "print stderr" "chaos printed a${nl}chaos printed b" "$(printf '%s\n' "$err" | sort)"

# a worker keeps stdio and its own socket, nothing else of the host's
# (not the input file, not the other workers' sockets)
exec 7<"$tmp/out"
seq 3 >"$tmp/in"
run -j 3 --chunk 1 -a "$tmp/in" chaos:fds
exec 7<&-
expect 0 "0 1 2 3${nl}0 1 2 3${nl}0 1 2 3" ""

# fini runs once in every worker that ran init, when the run ends (a
# worker still starting then may never get that far), and in a worker
# replaced by --max-tasks-per-child; init ran in each that ran a task
# (field 2 of chaos:pid)
CHAOS_INIT_FILE="$tmp/init" CHAOS_FINI_FILE="$tmp/fini" run -j 2 --chunk 1 chaos:pid 1 2 3 4
check "fini status" 0 "$rc"
check "fini once per worker that ran init" "$(cut -d' ' -f2 "$tmp/init" | sort | xargs)" \
    "$(cut -d' ' -f2 "$tmp/fini" | sort | xargs)"
case $(cut -d' ' -f2 "$tmp/init" | sort -u | xargs) in
*"$(printf '%s\n' "$out" | cut -d' ' -f1 | sort -u | xargs)"*) ;;
*) fail "workers that ran are not among those that ran init: $out" ;;
esac
rm -f "$tmp/fini"
CHAOS_FINI_FILE="$tmp/fini" run -j 1 --max-tasks-per-child 2 --chunk 5 chaos:pid 1 2 3 4 5 6
check "fini on recycling" 3 "$(wc -l <"$tmp/fini")"
