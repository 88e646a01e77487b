# The manuals are valid man(7) with no groff warnings.
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/.." && pwd)
for page in "$src/doc/taskpool.1" "$src/doc/taskpool-plugin.7"; do
    groff -man -ww -z "$page" >"$tmp/out" 2>&1
    check "groff status for $page" 0 "$?"
    check "groff warnings for $page" "" "$(cat "$tmp/out")"
done
# every long option of --help is in the manual
"$TASKPOOL" --help | grep -o -- '--[a-z0-9-]*' | sort -u | while read -r opt; do
    grep -q -- "$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" "$src/doc/taskpool.1" ||
        fail "taskpool.1 does not document $opt"
done
