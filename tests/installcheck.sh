# After `make install` (make installcheck; distcheck runs it): follow
# doc/tutorial.md against the installed taskpool, in one empty directory,
# with the tutorial's own blocks: its environment for a prefix, its
# plugins built with its exact commands, its runs, its embedding program
# and its build line, and its --mpi line where MPI is built; each checked.
#   installcheck.sh TUTORIAL PREFIX [README]
# and, given README, its "Writing a plugin" example, built with its line.
# A block is the fenced block after a line `<!-- installcheck: NAME -->`.
set -eu
# (absolute: the checks run in a directory of their own)
abs() { printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")"; }
tutorial=$(abs "$1")
prefix=$2
readme=${3:+$(abs "$3")}
tmp=$(mktemp -d)
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf 'PASS: %s\n' "$*"; }

# block NAME: the body of the fenced block the marker NAME precedes
block() {
    awk -v m="<!-- installcheck: $1 -->" '
        $0 == m { seen = 1; next }
        seen && /^```/ { if (on) exit; on = 1; next }
        on' "$tutorial"
}
for b in prefix mine.c build-mine lines.c run-lines timeout resume sandbox map.c build-map mpi; do
    [ -n "$(block "$b")" ] || fail "no block '$b' in $tutorial"
done

# 0. the environment for a non-default prefix, with this installation's
block prefix | sed "s|^prefix=.*|prefix='$prefix'|" >"$tmp/env.sh"
# shellcheck disable=SC1091
. "$tmp/env.sh"
[ "$(command -v taskpool)" = "$prefix/bin/taskpool" ] ||
    fail "after the prefix block, taskpool is $(command -v taskpool)"
[ "$(pkg-config --variable=prefix taskpool)" = "$prefix" ] ||
    fail "after the prefix block, pkg-config finds taskpool in $(pkg-config --variable=prefix taskpool 2>&1)"
if command -v man >/dev/null && [ -f "$prefix/share/man/man1/taskpool.1" ]; then
    [ "$(man -w taskpool 2>/dev/null)" = "$prefix/share/man/man1/taskpool.1" ] ||
        fail "after the prefix block, man -w taskpool is $(man -w taskpool 2>&1)"
    [ "$(man -w 7 taskpool-plugin 2>/dev/null)" = "$prefix/share/man/man7/taskpool-plugin.7" ] ||
        fail "after the prefix block, man -w 7 taskpool-plugin is $(man -w 7 taskpool-plugin 2>&1)"
fi
if [ -f "$prefix/share/bash-completion/completions/taskpool" ]; then
    case ":$XDG_DATA_DIRS:" in *":$prefix/share:"*) ;; *) fail "XDG_DATA_DIRS lacks $prefix/share" ;; esac
fi
pass "the tutorial's environment finds the installed taskpool, its pkg-config file and its manuals"

plugindir=$(pkg-config --variable=plugindir taskpool)
trap 'rm -rf "$tmp"; rm -f "$plugindir/mine.so"' EXIT
mkdir "$tmp/w"
cd "$tmp/w"
run() { block "$1" >"$tmp/$1.sh" && sh -e "$tmp/$1.sh"; }
# a block whose commands exit non-zero on purpose: each runs, the status is the last
run_all() { block "$1" >"$tmp/$1.sh" && sh "$tmp/$1.sh"; }

# 1. a plugin of your own, built and installed with the tutorial's lines
block mine.c >mine.c
out=$(run build-mine)
want=$(printf '1\n4\n9')
[ "$out" = "$want" ] || fail "$(printf 'out-of-tree plugin printed:\n%s' "$out")"
pass "out-of-tree plugin built with the tutorial's recipe runs under the installed taskpool"
# the example's overflow check: a failed input with its message, exit 1
rc=0
out=$(taskpool mine:square 3 9223372036854775807 2>"$tmp/err") || rc=$?
[ "$rc" = 1 ] && [ "$out" = 9 ] ||
    fail "square of INT64_MAX: exit $rc, printed '$out'"
[ "$(cat "$tmp/err")" = "taskpool: input 2 (9223372036854775807): square out of range" ] ||
    fail "square of INT64_MAX said: $(cat "$tmp/err")"
# the kernel that needs libm loads: the recipe links what the plugin uses
out=$(taskpool mine:sine 0) || fail "mine:sine did not run"
[ "$out" = 0.000000 ] || fail "mine:sine 0 printed '$out'"
out=$(taskpool -L . mine:square 1 2 3) && [ "$out" = "$want" ] || fail "-L . mine:square printed '$out'"
pass "the tutorial's plugin fails an input whose square overflows, and links libm"

# 2. files, -print0 | -0, --tag, per-worker init with --init-arg
block lines.c >lines.c
run run-lines >"$tmp/out"
printf 'data/sub/one more\t1\ndata/two\t2\n' >"$tmp/want"
printf '1\n2\n' >>"$tmp/want"
[ "$(sort "$tmp/out")" = "$(sort "$tmp/want")" ] ||
    fail "$(printf 'the lines plugin printed:\n%s' "$(cat "$tmp/out")")"
rc=0
taskpool -L . --init-arg 0 lines:count data/two >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- '--init-arg: a buffer size in KiB, 1 to 65536' "$tmp/err" ||
    fail "a failed init: exit $rc, $(cat "$tmp/err")"
pass "the tutorial's file plugin counts lines under find -print0 | taskpool -0, its init fails with exit 2"

# 3. a timeout costs its input only; jsonl says timeout after a retry
rc=0
run_all timeout >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] || fail "the timeout block exited $rc"
head -n 2 "$tmp/out" | tr '\n' ' ' | grep -qx '10 10 ' || fail "timeout: $(cat "$tmp/out")"
grep -qx 'taskpool: input 2 (2000): worker [0-9]* timed out after 500 ms' "$tmp/err" ||
    fail "timeout said: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "jsonl wrote on stderr: $(cat "$tmp/err")"
sed -n 4p "$tmp/out" | grep -q '"index":1,"input":"2000","status":"timeout","error":"worker [0-9]* timed out after 500 ms".*"attempts":2' ||
    fail "jsonl timeout line: $(sed -n 4p "$tmp/out")"
pass "the tutorial's timeout: one input timed out, its message, jsonl status timeout after a retry"

# 4. killed, resumed: the two parts are one run's output
out=$(run resume) || fail "the resume block failed: $out"
[ "$out" = "same as one run" ] || fail "the resume block printed: $out"
pass "the tutorial's kill -9 and --resume: part1 + part2 = one run ($(wc -l <part1.txt) + $(wc -l <part2.txt) lines)"

# 5. the sandbox, where this system has it
if taskpool --sandbox seed:double 1 >/dev/null 2>&1; then
    rc=0
    run sandbox >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" = 0 ] || fail "the sandbox block exited $rc"
    printf 'data/sub/one more\t1\ndata/two\t2\nexit status 2\n' >"$tmp/want"
    [ "$(sort "$tmp/out")" = "$(sort "$tmp/want")" ] || fail "sandbox printed: $(cat "$tmp/out")"
    [ "$(cat "$tmp/err")" = "taskpool: lines: the plugin declares TP_PLUGIN_READS_FILES (its tasks read files): in a sandbox it needs the directories they may read (--allow-read DIR)" ] ||
        fail "sandbox without --allow-read said: $(cat "$tmp/err")"
    pass "the tutorial's sandbox: files read below --allow-read, refused without it"
else
    echo "SKIP: the tutorial's sandbox (no Landlock or seccomp here)"
fi

# 7. a cluster, where MPI is built and mpirun is installed
if taskpool --version | grep -q 'MPI: yes' && command -v mpirun >/dev/null; then
    mpirun() {
        if [ "$(id -u)" = 0 ]; then
            command mpirun --allow-run-as-root --oversubscribe "$@"
        else
            command mpirun --oversubscribe "$@"
        fi
    }
    block mpi >"$tmp/mpi.sh"
    # shellcheck disable=SC1091
    out=$(. "$tmp/mpi.sh") || fail "the --mpi block exited $?"
    [ "$out" = "$want" ] || fail "the --mpi block printed: $out"
    pass "the tutorial's mpirun -n 3 taskpool --mpi runs the plugin on the ranks"
else
    echo "SKIP: the tutorial's --mpi (taskpool built without MPI, or no mpirun)"
fi

# 6. the embedding program and its build-and-run line, finding mine.so
# in the current directory through TASKPOOL_PLUGIN_PATH=$PWD (the
# installed copy removed, so that only the path finds it)
block map.c >map.c
rm -f "$plugindir/mine.so"
out=$(env -u LD_LIBRARY_PATH sh -e -c "$(block build-map)")
[ "$out" = "$want" ] || fail "$(printf 'embedding example printed:\n%s' "$out")"
rc=0
env -u TASKPOOL_PLUGIN_PATH ./map mine:square 1 >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] && grep -q "^map: plugin 'mine' not found" "$tmp/err" ||
    fail "map without TASKPOOL_PLUGIN_PATH: exit $rc, $(cat "$tmp/err")"
pass "the tutorial's embedding program builds with its rpath line and reads TASKPOOL_PLUGIN_PATH"

# 8. from Python, where the module was installed (configure found Python
# 3 and its headers): its environment block sourced, then each program
# written and its line run, in this directory (mine.so, lines.so, data/).
# "python3" is Debian's, as the chapter says (a pyenv or a virtualenv
# may come first on PATH and not import a module built for another)
pymod=$(ls "$prefix"/lib/python3*/*-packages/taskpool.cpython-*.so 2>/dev/null)
if [ -n "$pymod" ] && [ -x /usr/bin/python3 ]; then
    mkdir -p "$tmp/pybin" && ln -sf /usr/bin/python3 "$tmp/pybin/python3" || exit 99
    PATH=$tmp/pybin:$PATH
    block py-env >"$tmp/py-env.sh" && [ -s "$tmp/py-env.sh" ] ||
        fail "the tutorial has no py-env block"
    # shellcheck disable=SC1091
    out=$(. "$tmp/py-env.sh") || fail "the py-env block exited $?"
    [ "$out" = "['2', '4', '6', '8', '10', '12', '14', '16', '18', '20']" ] || fail "py-env printed: $out"
    . "$tmp/py-env.sh" >/dev/null
    for b in sums errors options ctrlc; do block "py-$b.py" >"$b.py"; done
    if [ -e "$plugindir/hash.so" ]; then
        out=$(run py-sums) || fail "py-sums: $out"
        [ "$out" = "$(printf 'data/sub/one more: OK\ndata/two: OK')" ] || fail "py-sums printed: $out"
    fi
    out=$(run py-errors) || fail "py-errors: $out"
    [ "$out" = "$(printf 'TaskError: 1 9223372036854775807 error square out of range\n9\nfailed: 1 error square out of range\n16')" ] ||
        fail "py-errors printed: $out"
    if taskpool --sandbox seed:double 1 >/dev/null 2>&1; then
        out=$(run py-options) || fail "py-options: $out"
        printf '%s\n' "['2', '1', Failure(index=2, input='/etc/hostname', status='error', message='Permission denied')]" 10 \
            "Failure(index=1, input='2000', status='timeout', message='worker N timed out after 500 ms')" 10 >"$tmp/want"
        [ "$(printf '%s\n' "$out" | sed 's/worker [0-9]* timed/worker N timed/')" = "$(cat "$tmp/want")" ] ||
            fail "py-options printed: $out"
    fi
    out=$(run py-ctrlc) || fail "py-ctrlc: $out"
    [ "$out" = "KeyboardInterrupt after 1 s; the other thread counted 50" ] || fail "py-ctrlc printed: $out"
    pass "the tutorial's Python chapter: map, imap over files, errors, options, Ctrl-C with a thread"
else
    echo "SKIP: the tutorial's Python chapter (no Python module under $prefix)"
fi

# README.md's plugin and build-and-run line, in a directory of their own
if [ -n "$readme" ]; then
    mkdir "$tmp/r"
    sed -n '/^## Writing a plugin/,/^## Read on/p' "$readme" >"$tmp/readme-plugin"
    awk '/^```c$/ {on = 1; next} /^```$/ {if (on) exit} on' "$tmp/readme-plugin" >"$tmp/r/mine.c"
    awk '/^```sh$/ {on = 1; next} /^```$/ {if (on) exit} on' "$tmp/readme-plugin" >"$tmp/r/build.sh"
    grep -q TASKPOOL_PLUGIN "$tmp/r/mine.c" || fail "no plugin in README's Writing a plugin"
    out=$(cd "$tmp/r" && sh -e build.sh) || fail "README's plugin: its lines exited $?"
    [ "$out" = "$(printf '2\n4\n6')" ] || fail "README's plugin printed: $out"
    pass "README's plugin builds with its line and runs"
fi
