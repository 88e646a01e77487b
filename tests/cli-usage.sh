# Options, --help, --version and usage errors (exit 2, one line).
. "$(dirname "$0")/lib.sh"

run --version
case $TP_MPI_BUILT in
yes) check "version" "taskpool $TP_VERSION (plugin ABI 1.1, MPI: yes, with Open MPI" \
         "$(printf '%s' "$out" | sed 's/ [0-9.]*)$//')"
     check "version status" 0 "$rc" ;;
*) expect 0 "taskpool $TP_VERSION (plugin ABI 1.1, MPI: no)" "" ;;
esac

run --help
check "--help status" 0 "$rc"
case $out in "Usage: taskpool [OPTION]... PLUGIN:TASK [INPUT]..."*) ;;
*) fail "--help starts with the usage line: $out" ;; esac
check "--help stderr" "" "$err"

run
expect 2 "" "taskpool: missing PLUGIN:TASK (try 'taskpool --help')"

run -j 0 seed:double 1
expect 2 "" "taskpool: invalid number of jobs '0' (N, N%, +N or -N) (try 'taskpool --help')"

run -j x seed:double 1
expect 2 "" "taskpool: invalid number of jobs 'x' (N, N%, +N or -N) (try 'taskpool --help')"

run --chunk=-1 seed:double 1
expect 2 "" "taskpool: invalid chunk size '-1' (1 to 100000) (try 'taskpool --help')"

run --frobnicate seed:double 1
expect 2 "" "taskpool: unrecognized option '--frobnicate' (try 'taskpool --help')"

run -q seed:double 1
expect 2 "" "taskpool: invalid option -- 'q' (try 'taskpool --help')"

run seed:double -j
# after PLUGIN:TASK everything is an input, even if it looks like an option
check "inputs after the spec" 1 "$rc"
check "stderr" "taskpool: input 1 (-j): not an integer" "$err"

run --jobs
expect 2 "" "taskpool: option '--jobs' requires an argument (try 'taskpool --help')"

run seed
expect 2 "" "taskpool: expected PLUGIN:TASK, got 'seed'"

run seed:
expect 2 "" "taskpool: expected PLUGIN:TASK, got 'seed:'"

run seed:'do uble' 1
expect 2 "" "taskpool: invalid task name 'do uble'"

run -a /nonexistent/file seed:double
expect 2 "" "taskpool: /nonexistent/file: No such file or directory"

run -a /dev/null seed:double 1
expect 2 "" "taskpool: inputs given both as arguments and with -a/--arg-file (try 'taskpool --help')"

# issue 11: limits that cannot be enforced are refused; jsonl has no --tag
# or --print0; an input that cannot be used is exit 2 before anything runs
run --timeout 1e-10 seed:double 1
expect 2 "" "taskpool: invalid timeout '1e-10' (0.001 to 1000000 seconds, or a percentage like 200%) (try 'taskpool --help')"
run --dry-run --timeout 0.001 seed:double 1
check "--timeout 0.001 accepted" "0 " "$rc $err"

# every number is written one way: decimal, no blanks, no sign, no hex,
# no inf or nan; counts are integers; size suffixes in either case
for v in " 5" "5 " 0x10 +5 inf nan 1e1; do
    run --chunk "$v" seed:double 1
    expect 2 "" "taskpool: invalid chunk size '$v' (1 to 100000) (try 'taskpool --help')"
done
for v in " 5" "5 " 0x10 +5 -5 inf nan .; do
    run --timeout "$v" seed:double 1
    expect 2 "" "taskpool: invalid timeout '$v' (0.001 to 1000000 seconds, or a percentage like 200%) (try 'taskpool --help')"
done
for v in " 64M" 0x4000000 +64M inf 64MiB; do
    run --mem-limit "$v" seed:double 1
    expect 2 "" "taskpool: invalid memory limit '$v' (1M to 1048576G; k, M and G are KiB, MiB and GiB) (try 'taskpool --help')"
done
for v in " 2" 0x2 2.0; do
    run -j "$v" seed:double 1
    expect 2 "" "taskpool: invalid number of jobs '$v' (N, N%, +N or -N) (try 'taskpool --help')"
done
run --halt "now,fail=0x1" seed:double 1
expect 2 "" "taskpool: invalid halt policy 'now,fail=0x1' (never, soon or now, then optionally ,fail=N or ,fail=P%) (try 'taskpool --help')"
# (--dry-run: parsed and accepted, no worker to hold a memory limit that
# a sanitizer's runtime would not fit in)
for o in "--chunk 010" "--timeout 1e0" "--timeout .5" "--mem-limit 64m" \
    "--mem-limit 64M" "--mem-limit 65536k" "--mem-limit 1g" "-j +1"; do
    run --dry-run $o seed:double 1
    check "accepted: $o" "0 " "$rc $err"
done
for o in --tag --print0; do
    run --format jsonl "$o" seed:double 1
    expect 2 "" "taskpool: --tag and --print0 apply to text output, not to --format jsonl (try 'taskpool --help')"
done
run -a "$tmp" seed:double
expect 2 "" "taskpool: $tmp: Is a directory"
run seed:double <"$tmp"
expect 2 "" "taskpool: standard input: Is a directory"
run -a "$tmp/nope" seed:double
expect 2 "" "taskpool: $tmp/nope: No such file or directory"

# standard output closed: the results cannot be written, exit 3
for fmt in text jsonl; do
    "$TASKPOOL" --format "$fmt" seed:double 1 2 3 >&- 2>"$tmp/err"
    check "closed stdout $fmt status" 3 "$?"
    check "closed stdout $fmt stderr" "taskpool: standard output is closed" "$(cat "$tmp/err")"
done
