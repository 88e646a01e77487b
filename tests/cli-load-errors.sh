# Every way loading a plugin can fail: one line, exit 2, precise message.
. "$(dirname "$0")/lib.sh"
P=$TASKPOOL_PLUGIN_PATH
T=$TP_TEST_PLUGINS

run nope:double 1
expect 2 "" "taskpool: plugin 'nope' not found (searched: $P, $TP_PLUGINDIR)"

# -L dirs come first, then TASKPOOL_PLUGIN_PATH (empty parts skipped), then
# the installed dir
TASKPOOL_PLUGIN_PATH="::$tmp/b:" run -L "$tmp/a" -L "$tmp/c" nope:x 1
expect 2 "" "taskpool: plugin 'nope' not found (searched: $tmp/a, $tmp/c, $tmp/b, $TP_PLUGINDIR)"

run 'no.pe:double' 1
expect 2 "" "taskpool: invalid plugin name 'no.pe' (letters, digits, '_' and '-' only; a path must contain '/')"

run seed:triple 1
expect 2 "" "taskpool: plugin 'seed' has no task 'triple' (tasks: double, print_number, hello)"

run "$T/nodesc.la:x" 1
expect 2 "" "taskpool: $T/.libs/nodesc.so: not a taskpool plugin (no taskpool_plugin symbol; declare it with TASKPOOL_PLUGIN)"

run "$T/badabi.la:echo" 1
expect 2 "" "taskpool: $T/.libs/badabi.so: ABI mismatch: plugin was built for taskpool ABI 2.0, this taskpool has ABI 1.1; rebuild the plugin against this taskpool"

run -L "$T" badmagic:echo 1
expect 2 "" "taskpool: $T/.libs/badmagic.so: not a taskpool plugin (ABI magic 0xdeadbeef, expected 0x4c504b54)"

run "$tmp/missing.so:x" 1
expect 2 "" "taskpool: cannot load $tmp/missing.so: file not found"

seq 1000 >"$tmp/junk.so"
run "$tmp/junk.so:x" 1
expect 2 "" "taskpool: cannot load $tmp/junk.so: invalid ELF header"

run --init-arg fail chaos:echo 1
expect 2 "" "taskpool: chaos: init failed: asked to fail by --init-arg"

# a plugin found by path, .la or .so, relative or absolute
run "$P/seed.la:double" 21
expect 0 42 ""
(cd "$P" && run ./.libs/seed.so:double 4 && expect 0 8 "") || exit 1

# the current directory is never searched implicitly
(cd "$P" && TASKPOOL_PLUGIN_PATH= run seed:double 1 &&
    expect 2 "" "taskpool: plugin 'seed' not found (searched: $TP_PLUGINDIR)") || exit 1

# libltdl binds lazily; the loader binds now, so a missing function is named
# at load time instead of killing workers at the first call
cat >"$tmp/undef.c" <<'EOC'
#include <taskpool/plugin.h>
int tp_no_such_function(int);
static int t(tp_ctx *c, const char *in, size_t len)
{
    (void)in;
    (void)len;
    return tp_put_i64(c, tp_no_such_function(1));
}
static const struct tp_task tasks[] = {{"t", "", t}, {NULL, NULL, NULL}};
TASKPOOL_PLUGIN("undef", "1", tasks, NULL, NULL)
EOC
$CC -shared -fPIC -I"$TP_INCLUDE" -o "$tmp/undef.so" "$tmp/undef.c" || fail "cc undef.so"
run "$tmp/undef.so:t" 1
expect 2 "" "taskpool: cannot load $tmp/undef.so: undefined symbol: tp_no_such_function"

# a plugin whose own library is missing: the dynamic linker's reason
echo 'int gone(void); int gone(void) { return 1; }' >"$tmp/gone.c"
sed 's/tp_no_such_function(1)/gone()/; s/int tp_no_such_function(int);/int gone(void);/' \
    "$tmp/undef.c" >"$tmp/needs.c"
$CC -shared -fPIC -o "$tmp/libgone.so" "$tmp/gone.c" &&
    $CC -shared -fPIC -I"$TP_INCLUDE" -o "$tmp/needs.so" "$tmp/needs.c" -L"$tmp" -lgone ||
    fail "cc needs.so"
rm "$tmp/libgone.so"
run "$tmp/needs.so:t" 1
expect 2 "" "taskpool: cannot load $tmp/needs.so: libgone.so: cannot open shared object file: No such file or directory"

# a plugin with two tasks of the same name is refused at load (issue 11)
Tabi=$(cd "$T/abi/.libs" && pwd -P)
run "$T/abi/duptask.la:echo" 1
expect 2 "" "taskpool: $Tabi/duptask.so: malformed descriptor: two tasks are named 'echo'"
# a file that is not a shared object says so (the dynamic linker's words)
run /etc/passwd:x 1
expect 2 "" "taskpool: cannot load /etc/passwd: invalid ELF header"

# out of descriptors: named as such, a system error (3), never "file not
# found" nor a usage error; with each limit from 4 up, whatever runs out
# first: loading the plugin, the -a file, the joblog and its held file,
# the sandbox's filter, the workers' sockets
# (not under valgrind or AddressSanitizer: their own descriptors and
# shadow memory run out first, and they say so themselves)
if [ -z "${TASKPOOL_VALGRIND:-}" ] &&
    [ "$("$TASKPOOL" -j 1 "$TP_TEST_PLUGINS/hostile/escape.la:act" vmdata)" -lt 32768 ]; then
    emfile="too many open files (EMFILE: raise the limit, ulimit -n)"
    seq 3 >"$tmp/three"
    seen=
    for args in "-j 2 seed:double 1 2 3" "-j 2 -a $tmp/three seed:double" \
        "-j 2 --joblog $tmp/jl seed:double 1 2 3" "-j 2 --sandbox seed:double 1 2 3"; do
        case $args in *--sandbox*) [ "${TP_SECCOMP:-}" = yes ] || continue ;; esac
        for n in 4 5 6 7 8 9 10 11 12; do
            rm -f "$tmp/jl" "$tmp/jl.held"
            "$top_builddir/libtool" --mode=execute sh -c 'ulimit -n "$1"; shift; exec "$@"' \
                sh "$n" "$TASKPOOL" $args >"$tmp/out" 2>"$tmp/err"
            rc=$?
            [ $rc = 0 ] && { check "output with $n descriptors" "2${nl}4${nl}6" "$(cat "$tmp/out")"; continue; }
            check "status with $n descriptors ($args)" 3 "$rc"
            check "one line with $n descriptors ($args)" 1 "$(wc -l <"$tmp/err")"
            case $(cat "$tmp/err") in
            "taskpool: "*": $emfile") seen="$seen|$(cut -d: -f2 "$tmp/err")" ;;
            *) fail "with $n descriptors ($args): $(cat "$tmp/err")" ;;
            esac
        done
    done
    for what in "cannot load $P/seed" "$tmp/three" "$tmp/jl" "$tmp/jl.held"; do
        case $seen in *"| $what|"* | *"| $what") ;; *) fail "no limit ran out at $what: $seen" ;; esac
    done
fi
