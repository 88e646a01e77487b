# The shipped plugins: text and hash (checked by sha256sum -c, md5sum -c).
. "$(dirname "$0")/lib.sh"

run text:upper 'Hello, World' 'héllo'
expect 0 "HELLO, WORLD${nl}HéLLO" ""
run text:lower 'Hello, World'
expect 0 "hello, world" ""
run text:reverse 'abc' 'héllo' ''
expect 0 "cba${nl}olléh" ""
check "reverse of an empty input is an empty line" 3 "$(wc -l <"$tmp/out")"
run text:length 'abc' 'é' ''
expect 0 "3${nl}2${nl}0" ""
run text:words '  two words ' '' 'one'
expect 0 "2${nl}0${nl}1" ""

mkdir -p "$tmp/d/sub"
printf 'alpha\n' >"$tmp/d/a"
printf '' >"$tmp/d/empty"
head -c 300000 /dev/urandom >"$tmp/d/sub/big"
printf 'x' >"$tmp/d/name with spaces"
printf 'y' >"$tmp/d/back\\slash"
(cd "$tmp/d" && find . -type f | sort >"$tmp/files")
(cd "$tmp/d" && "$TASKPOOL" -a "$tmp/files" hash:sha256 >"$tmp/sums") ||
    fail "hash:sha256 failed"
(cd "$tmp/d" && sha256sum -c --quiet "$tmp/sums") || fail "sha256sum -c rejected: $(cat "$tmp/sums")"
(cd "$tmp/d" && sha256sum $(cat "$tmp/files" | grep -v ' ' | grep -v '\\') >"$tmp/want") 2>/dev/null
grep -F -f "$tmp/want" "$tmp/sums" | wc -l | grep -qx "$(wc -l <"$tmp/want")" ||
    fail "not the bytes sha256sum writes"
(cd "$tmp/d" && "$TASKPOOL" -a "$tmp/files" hash:md5 >"$tmp/md5") || fail "hash:md5 failed"
(cd "$tmp/d" && md5sum -c --quiet "$tmp/md5") || fail "md5sum -c rejected: $(cat "$tmp/md5")"

cd "$tmp" || exit 99
run hash:sha256 d/a nope d
check "missing status" 1 "$rc"
check "missing stdout" "$(sha256sum d/a)" "$out"
check "missing stderr" "taskpool: input 2 (nope): No such file or directory
taskpool: input 3 (d): Is a directory" "$err"
