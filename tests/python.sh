# The Python module (python/): its unittest suite, tests/python/test_*.py,
# run with the build tree's module and plugins.  Skipped when configure
# did not build the module.
. "$(dirname "$0")/lib.sh"

case ${TP_PYTHON:-#} in
'#'*) printf 'SKIP: the Python module is not built (configure --with-python)\n'
      exit 77 ;;
esac
[ -f "$TP_PYTHONPATH/taskpool$("$TP_PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')" ] ||
    fail "no taskpool module in $TP_PYTHONPATH"
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
