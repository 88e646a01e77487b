# Results whose sum exceeds one frame: a worker never builds a frame the
# host refuses (it sends what it has before a result would overflow it).
. "$(dirname "$0")/lib.sh"
big=$((256 * 1024 * 1024 - 120)) # a legal result: under the 256 MiB - 20 limit
for fmt in text jsonl; do
    "$TASKPOOL" -j 1 --chunk 3 --format "$fmt" chaos:act huge:204800 "huge:$big" ok:z \
        >"$tmp/out" 2>"$tmp/err"
    check "$fmt status" 0 "$?"
    check "$fmt stderr" "" "$(cat "$tmp/err")"
    if [ "$fmt" = text ]; then
        check "text bytes" $((204800 + 1 + big + 1 + 2)) "$(wc -c <"$tmp/out")"
        check "text last" "z" "$(tail -n 1 "$tmp/out")"
    else
        check "jsonl records" 3 "$(wc -l <"$tmp/out")"
        check "jsonl statuses" "ok ok ok" \
            "$(grep -o '"status":"[a-z]*"' "$tmp/out" | cut -d'"' -f4 | xargs)"
    fi
done
