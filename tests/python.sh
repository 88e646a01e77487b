# The Python module (python/): its unittest suite, tests/python/test_*.py,
# run with the build tree's module and plugins.  Skipped when configure
# did not build the module.
. "$(dirname "$0")/lib.sh"

if [ "${TP_PYTHON_BUILT:-no}" != yes ] || [ -z "${TP_PYTHON:-}" ]; then
    printf 'SKIP: the Python module is not built (configure --with-python)\n'
    exit 77
fi
module=$TP_PYTHONPATH/taskpool$("$TP_PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
[ -f "$module" ] || fail "no taskpool module in $TP_PYTHONPATH"

# Built with -fsanitize=address,undefined (CI's sanitizer leg), the module
# needs the sanitizers' runtimes, which must come first in a process: the
# interpreter is not built with them, so they are preloaded (for it and
# what it starts: the command the tests compare with, the worker helper,
# both built with them too).  Python's own allocations are not checked,
# only the module's and libtaskpool's; leak checking is off, as the
# interpreter keeps objects alive until exit by design.
san=
for lib in $(readelf -d "$module" 2>/dev/null | sed -n 's/.*NEEDED.*\[\(lib[a-z]*san\.so[.0-9]*\)\].*/\1/p'); do
    path=$(${CC:-cc} -print-file-name="$lib")
    [ -f "$path" ] || fail "the module needs $lib, which ${CC:-cc} does not find"
    san="$san${san:+ }$path"
done
if [ -n "$san" ]; then
    LD_PRELOAD=$san
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
    export LD_PRELOAD ASAN_OPTIONS
    echo "sanitizer runtimes preloaded: $san (ASAN_OPTIONS=$ASAN_OPTIONS)"
fi
skip_under_valgrind "valgrind of a Python interpreter is not this test's"

srcdir=$(cd "$(dirname "$0")/python" && pwd) || exit 99
PYTHONPATH=$TP_PYTHONPATH:$srcdir
PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH PYTHONDONTWRITEBYTECODE

# the tests by name (unittest's discovery would also want an __init__.py)
tests=
for f in "$srcdir"/test_*.py; do
    t=${f##*/}
    tests="$tests ${t%.py}"
done

# a hang fails the test instead of hanging make check
# shellcheck disable=SC2086 # one word per test module
(cd "$tmp" && timeout 240 "$TP_PYTHON" -m unittest -v $tests) >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
[ $rc -eq 124 ] && fail "the Python tests did not end within 240 s"
[ $rc -eq 0 ] || fail "the Python tests failed (status $rc): $(tail -n 1 "$tmp/log")"
