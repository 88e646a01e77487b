# The shipped hash plugin, checked by sha256sum -c and md5sum -c.  Skipped
# when it was left out (configure found no OpenSSL libcrypto).
. "$(dirname "$0")/lib.sh"
[ "${TP_HASH:-}" = yes ] || { echo "SKIP: the hash plugin was not built (no OpenSSL libcrypto)"; exit 77; }

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
