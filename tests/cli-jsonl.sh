# --format jsonl: one object per input, in input order, with every field;
# strings are valid JSON whatever the bytes.
. "$(dirname "$0")/lib.sh"

run -j 2 --format jsonl chaos:act ok:a fail:bad segv
check "status" 1 "$rc"
check "stderr" "" "$err"
check "records" '{"index":0,"input":"ok:a","status":"ok","output":"a","worker":PID,"attempts":1,"ms":MS}
{"index":1,"input":"fail:bad","status":"error","error":"bad","worker":PID,"attempts":1,"ms":MS}
{"index":2,"input":"segv","status":"crashed","error":"worker PID killed by signal 11 (Segmentation fault)","worker":PID,"attempts":1,"ms":MS}' "$(printf '%s\n' "$out" | pids)"

# control bytes escaped, valid UTF-8 kept, invalid bytes replaced by U+FFFD
printf 'a"b\\c\td\001e\n\303\251\n\377x\n' >"$tmp/in"
run --format jsonl chaos:echo <"$tmp/in"
check "escapes" "$(printf '"a\\"b\\\\c\\td\\u0001e"\n"\303\251"\n"\357\277\275x"')" \
    "$(printf '%s\n' "$out" | sed -E 's/.*"output":("([^"\\]|\\.)*").*/\1/')"

# ms is the time in the kernel
run --format jsonl chaos:act sleep:30
ms=$(printf '%s\n' "$out" | sed -E 's/.*"ms":([0-9]+)\..*/\1/')
[ "$ms" -ge 30 ] && [ "$ms" -lt 1000 ] || fail "ms of a 30 ms task: $out"

run --format xml seed:double 1
expect 2 "" "taskpool: invalid format 'xml' (text or jsonl) (try 'taskpool --help')"
