# 100,000 inputs, 1% crashing and 0.1% hanging: exactly one jsonl
# record per input with the status it asked for; then with --retries 1
# against faults that happen only on the first attempt: all ok.
. "$(dirname "$0")/lib.sh"
mark="bulk-$$-$(date +%s%N)"

awk 'BEGIN { for (i = 0; i < 100000; i++)
    print (i % 1000 == 13) ? "hang" : (i % 100 == 7) ? "segv" : "ok:" i }' >"$tmp/in"
"$TASKPOOL" -j 2 --timeout 0.2 --retries 0 --format jsonl --init-arg "$mark" \
    -a "$tmp/in" chaos:act >"$tmp/out" 2>"$tmp/err"
check "status" 1 "$?"
check "stderr" "" "$(cat "$tmp/err")"
check "records" 100000 "$(wc -l <"$tmp/out")"
sed -E 's/^\{"index":([0-9]+),"input":"([^"]*)","status":"([a-z]+)","(output|error)":"([^"]*)","worker":[0-9]+,"attempts":([0-9]+),"ms":[0-9.]+\}$/\1 \2 \3 \5 \6/' \
    "$tmp/out" >"$tmp/fields"
awk '
    NF < 4 { print "unparsed: " $0; bad++; next }
    { seen[$1]++ }
    $2 == "hang" && !($3 == "timeout" && $0 ~ / timed out after 200 ms 1$/) { print; bad++ }
    $2 == "segv" && !($3 == "crashed" && $0 ~ /killed by signal 11 \(Segmentation fault\) 1$/) { print; bad++ }
    $2 ~ /^ok:/ && !($3 == "ok" && "ok:" $4 == $2 && $1 == $4 && $5 == 1) { print; bad++ }
    END {
        for (i = 0; i < 100000; i++) if (seen[i] != 1) { print "index " i " seen " seen[i] + 0; bad++ }
        exit bad > 0
    }' "$tmp/fields" >"$tmp/bad" || fail "wrong records: $(head -5 "$tmp/bad")"
check "timeouts" 100 "$(grep -c ' timeout ' "$tmp/fields")"
check "crashes" 1000 "$(grep -c ' crashed ' "$tmp/fields")"
check "leftover processes" 0 "$(leftovers "$mark")"

# the same faults, each only on its first attempt, with one retry
mkdir "$tmp/m"
awk -v d="$tmp/m" 'BEGIN { for (i = 0; i < 100000; i++)
    print (i % 2000 == 13) ? "once:" d "/" i ":hang" : (i % 100 == 7) ? "once:" d "/" i ":segv" : "ok:" i }' >"$tmp/in"
"$TASKPOOL" -j 2 --timeout 0.2 --retries 1 --format jsonl --init-arg "$mark" \
    -a "$tmp/in" chaos:act >"$tmp/out" 2>"$tmp/err"
check "retry status" 0 "$?"
check "retry records" 100000 "$(wc -l <"$tmp/out")"
check "all ok" 100000 "$(grep -c '"status":"ok"' "$tmp/out")"
check "retried" 1050 "$(grep -c '"output":"second time lucky","worker":[0-9]*,"attempts":2' "$tmp/out")"
check "leftover processes" 0 "$(leftovers "$mark")"
