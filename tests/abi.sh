# pool.h's growth rules, checked: today's header keeps every field and
# value of the first layout (tests/abi/pool-v1.h, frozen), and a program
# built against that layout runs against today's library.
. "$(dirname "$0")/lib.sh"
b=${top_builddir:-.}/tests/abi

check "the first layout, field by field" "$("$b/layout-v1")" "$("$b/layout-now")"
[ "$("$b/layout-v1" | wc -l)" -gt 50 ] || fail "layout-v1 printed too little"

run_embed() {
    "$b/embed-v1" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}
run_embed 1 2 3 4 5 6 7 8 9 10
expect 0 "2${nl}4${nl}6${nl}8${nl}10${nl}12${nl}14${nl}16${nl}18${nl}20" ""
# ... and it is today's library it ran with, not a copy of its own
libs=$(cd "$b" && ../../libtool --mode=execute ldd ./embed-v1 2>/dev/null |
    sed -n 's/^[[:space:]]*libtaskpool\.so\.\([0-9]*\) => \(.*\) (.*/\1 \2/p')
case $libs in
"0 "*/core/.libs/libtaskpool.so.0) ;;
*) fail "embed-v1 is not linked to the build's libtaskpool.so.0: $libs" ;;
esac
