# Input sources and record boundaries: args, stdin lines, -0, -a FILE,
# a last record without terminator, empty input, binary and huge records.
. "$(dirname "$0")/lib.sh"

printf '1\n2\n3' >"$tmp/in"
run seed:double <"$tmp/in"
expect 0 "2${nl}4${nl}6" ""

: >"$tmp/in"
run seed:double <"$tmp/in"
expect 0 "" ""
check "empty input writes nothing" 0 "$(wc -c <"$tmp/out")"

printf '\n\n' >"$tmp/in"
run chaos:length <"$tmp/in"
expect 0 "0${nl}0" ""

printf '7\n8\n' >"$tmp/in"
run -a "$tmp/in" seed:double
expect 0 "14${nl}16" ""
run -a - seed:double <"$tmp/in"
expect 0 "14${nl}16" ""

# NUL bytes inside a line are data
printf 'a\0b\n' >"$tmp/in"
run chaos:length <"$tmp/in"
expect 0 3 ""

# -0: NUL-terminated records may hold newlines; --print0 ends results with NUL
printf 'one\ntwo\0three\0last' >"$tmp/in"
run -0 --print0 chaos:echo <"$tmp/in"
check "-0 status" 0 "$rc"
printf 'one\ntwo\0three\0last\0' >"$tmp/want"
cmp "$tmp/want" "$tmp/out" || fail "-0 --print0 round trip"
printf 'a\nb\0c\0' >"$tmp/in"
run -0 chaos:length <"$tmp/in"
expect 0 "3${nl}1" ""

# a 64 MiB record round-trips byte for byte
head -c 67108864 /dev/zero | tr '\0' 'z' >"$tmp/big"
run -a "$tmp/big" chaos:length
expect 0 67108864 ""
run -a "$tmp/big" -j 2 chaos:echo
check "64 MiB status" 0 "$rc"
printf '\n' >>"$tmp/big"
cmp "$tmp/big" "$tmp/out" || fail "64 MiB record changed on the way"
