# Streaming: a million lines byte for byte; results before the input ends;
# host memory that does not grow with the input.
. "$(dirname "$0")/lib.sh"
skip_under_valgrind "asserts the host's peak RSS (32 MiB), which valgrind's own memory exceeds"

seq 1000000 | "$TASKPOOL" -j2 seed:double | cksum >"$tmp/got"
seq 1000000 | awk '{print $1*2}' | cksum >"$tmp/want"
cmp -s "$tmp/want" "$tmp/got" || fail "seq 1000000 | taskpool -j2 seed:double differs from awk"

# the first result comes out while the input is still open
mkfifo "$tmp/fifo"
{ echo 21; sleep 5; echo 22; } | "$TASKPOOL" -j1 seed:double >"$tmp/fifo" &
exec 3<"$tmp/fifo"
start=$(date +%s)
IFS= read -r first <&3 || fail "no first result"
check "first result" 42 "$first"
[ $(($(date +%s) - start)) -le 3 ] || fail "first result waited for the end of input"
IFS= read -r second <&3
check "second result" 44 "$second"
exec 3<&-
wait

# peak RSS (KiB) of the host and its workers, for N input lines
rss() {
    seq "$1" | "$TP_MEASURE" "$tmp/m" "$TASKPOOL" -j2 seed:double >/dev/null &&
        cut -d' ' -f2 "$tmp/m"
}
small=$(rss 200000) || fail "maxrss failed"
large=$(rss 6000000) || fail "maxrss failed"
echo "peak RSS: $small KiB at 200000 lines, $large KiB at 6000000 lines"
# (AddressSanitizer's quarantine of freed memory grows to its own cap as
# the run goes: 8 MiB of room there)
room=4096
[ "$("$TASKPOOL" -j 1 "$TP_TEST_PLUGINS/hostile/escape.la:act" vmdata)" -lt 32768 ] || room=8192
[ "$large" -lt $((small + room)) ] || fail "memory grows with the input: $small -> $large KiB"
# 51 MiB of input through a host (and workers) that never hold it all;
# the cap leaves room for AddressSanitizer's own memory (about 20 MiB)
cap=$((32 * 1024))
[ "$large" -lt "$cap" ] || fail "peak RSS $large KiB over the cap of $cap KiB"

# A slow input at the head stops the reader instead of filling memory: an
# endless fast producer behind it, and the run ends when head has one line.
first=$({ echo sleep:1500; yes ok:x; } |
    "$TP_MEASURE" "$tmp/m" "$TASKPOOL" -j2 chaos:act | head -n 1)
check "first result" "slept 1500" "$first"
rss=$(cut -d' ' -f2 "$tmp/m")
echo "peak RSS behind a slow head: $rss KiB"
[ "$rss" -lt "$cap" ] || fail "a slow head let memory grow to $rss KiB"
