# Input order holds for -j 1..8 while tasks take different times;
# --unordered gives the same results in some order.
. "$(dirname "$0")/lib.sh"

seq 300 >"$tmp/in"
for j in 1 2 3 4 5 6 7 8; do
    run -j "$j" -a "$tmp/in" chaos:jitter
    check "-j $j status" 0 "$rc"
    cmp -s "$tmp/in" "$tmp/out" || fail "-j $j: results out of input order"
    run -j "$j" --chunk 3 -a "$tmp/in" chaos:jitter
    cmp -s "$tmp/in" "$tmp/out" || fail "-j $j --chunk 3: results out of order"
done

run -j 4 --unordered -a "$tmp/in" chaos:jitter
check "--unordered status" 0 "$rc"
sort -n "$tmp/out" >"$tmp/sorted"
cmp -s "$tmp/in" "$tmp/sorted" || fail "--unordered lost or changed results"
cmp -s "$tmp/in" "$tmp/out" && fail "--unordered kept input order (jitter should reorder)"
exit 0
