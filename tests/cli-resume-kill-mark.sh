# A kill -9 between a write and its joblog mark, made certain by the test
# host's fault points (tests/taskpool-faults, TASKPOOL_FAULT=NAME:N; see
# core/cli/fault.h): into a regular file the resumed run finds the killed
# run's last write there and does not write it again; a file moved,
# replaced, truncated or rewritten since, or a write cut by the kill, is
# written again with one line saying so; into a pipe at most the records
# of that one write are written again, said so.  The same for messages.
. "$(dirname "$0")/lib.sh"
: "${TP_FAULTY:?run through make check}"

# (more than three 64 KiB batches of output, whatever the timing: the
# fault points count writes)
seq 1 50000 >"$tmp/in"
"$TASKPOOL" -a "$tmp/in" seed:double >"$tmp/ref"
i=0
while [ $i -lt 300 ]; do
    i=$((i + 1))
    if [ $((i % 7)) = 0 ]; then echo "fail:bad$i"; else echo "ok:r$i"; fi
done >"$tmp/msgs"
"$TASKPOOL" -a "$tmp/msgs" chaos:act >"$tmp/mref.out" 2>"$tmp/mref.err"

# killed POINT LOG [ARGS...]: the fault host killed at POINT, stdout and
# stderr in $tmp/p1, $tmp/e1 (unless redirected by the caller's ARGS)
killed() {
    local point=$1 log=$2
    shift 2
    rm -f "$log" "$log.held"
    TASKPOOL_FAULT=$point "$TP_FAULTY" -j2 --joblog "$log" "$@" \
        >"$tmp/p1" 2>"$tmp/e1" &
    wait $! 2>/dev/null # (the shell's "Killed" is not the host's)
    check "killed at $point" 137 "$?"
    [ "$(grep -c '	writing	' "$log")" -ge 1 ] ||
        fail "$point: no line says writing: the kill missed the window"
}

# resumed LOG ARGS...: the resumed run into $tmp/p2, $tmp/e2
resumed() {
    local log=$1
    shift
    "$TASKPOOL" -j2 --joblog "$log" --resume "$@" >"$tmp/p2" 2>"$tmp/e2"
    rc=$?
    check "no line says writing after a resume" 0 "$(grep -c '	writing	' "$log")"
}

# once LOG: every input's last line says written, once per input
once() {
    check "written once each" "$(tail -n +2 "$1" | cut -f1 | sort -nu | wc -l)" \
        "$(tail -n +2 "$1" | awk -F'\t' '$8 == "written"' | cut -f1 | sort -n | uniq | wc -l)"
    check "written lines" "$(tail -n +2 "$1" | cut -f1 | sort -nu | wc -l)" \
        "$(grep -c '	written	' "$1")"
}

# 1. Killed after the write, before the marks: the resumed run finds the
# bytes in the killed run's file (by the path it recorded) and marks them.
after_write() {
    L=$tmp/a.log
    killed out-written:3 "$L" -a "$tmp/in" seed:double
    resumed "$L" -a "$tmp/in" seed:double
    check "status, stderr" "0 " "$rc $(cat "$tmp/e2")"
    cat "$tmp/p1" "$tmp/p2" | cmp -s - "$tmp/ref" || fail "the parts do not join"
    once "$L"
}

# 2. Killed after the lines say writing, before the write: nothing of it
# is there (the file ends where it would start), so it is written, quietly.
before_write() {
    L=$tmp/b.log
    killed out-before:3 "$L" -a "$tmp/in" seed:double
    resumed "$L" -a "$tmp/in" seed:double
    check "status, stderr" "0 " "$rc $(cat "$tmp/e2")"
    cat "$tmp/p1" "$tmp/p2" | cmp -s - "$tmp/ref" || fail "the parts do not join"
}

# 3. The resumed run appends to the same file (>>): found through its own
# standard output.
same_file() {
    L=$tmp/s.log
    killed out-written:3 "$L" -a "$tmp/in" seed:double
    mv "$tmp/p1" "$tmp/all"
    "$TASKPOOL" -j2 --joblog "$L" --resume -a "$tmp/in" seed:double \
        >>"$tmp/all" 2>"$tmp/e2"
    check "status, stderr" "0 " "$? $(cat "$tmp/e2")"
    cmp -s "$tmp/all" "$tmp/ref" || fail "the file is not one run's output"
}

# results N: "1 result", "N results"
results() { if [ "$1" = 1 ]; then echo "1 result"; else echo "$1 results"; fi; }

# again WHY: the resumed run wrote the killed run's last write again and
# said WHY in one line; p1 without its last N lines, then p2, is one run
again() {
    n=$(grep -c '	writing	' "$L.before")
    check "stderr" "taskpool: the killed run's last write to standard output ($(results "$n")) is written again: $1" \
        "$(cat "$tmp/e2")"
    check "status" 0 "$rc"
    check "written again" "$(tail -n "$n" "$tmp/p1.kept")" "$(head -n "$n" "$tmp/p2")"
    { head -n "-$n" "$tmp/p1.kept"; cat "$tmp/p2"; } | cmp -s - "$tmp/ref" ||
        fail "the parts do not join after $1"
}

# tampered HOW: killed after the write, the file tampered with (HOW runs
# with $tmp/p1 as the killed run's file and keeps a copy in p1.kept of
# what the killed run wrote), then resumed
tampered() {
    L=$tmp/t.log
    killed out-written:3 "$L" -a "$tmp/in" seed:double
    cp "$L" "$L.before"
    cp "$tmp/p1" "$tmp/p1.kept"
    "$@"
    resumed "$L" -a "$tmp/in" seed:double
}

# 4. Moved, replaced, truncated or rewritten since: written again, said so.
moved() {
    tampered mv "$tmp/p1" "$tmp/p1.moved"
    again "$tmp/p1: No such file or directory"
}
replaced() {
    tampered sh -c "mv '$tmp/p1' '$tmp/p1.old' && cp '$tmp/p1.old' '$tmp/p1'"
    again "$tmp/p1: another file than the killed run wrote (moved or replaced)"
}
truncated() {
    tampered truncate -s -2 "$tmp/p1"
    again "$tmp/p1: shorter than the killed run's last write there (cut short by the kill, or truncated)"
}
rewritten() {
    tampered sh -c "printf X | dd of='$tmp/p1' bs=1 seek=\$((\$(stat -c %s '$tmp/p1') - 2)) conv=notrunc 2>/dev/null"
    again "$tmp/p1: not as the killed run left it (rewritten)"
}

# 5. A kill inside the write (the kernel stops a write to a file between
# pages): the records of that write are written again whole, said so.
cut_inside() {
    L=$tmp/c.log
    killed out-cut:3 "$L" -a "$tmp/in" seed:double
    cp "$L" "$L.before"
    resumed "$L" -a "$tmp/in" seed:double
    n=$(grep -c '	writing	' "$L.before")
    check "stderr" "taskpool: the killed run's last write to standard output ($(results "$n")) is written again: $tmp/p1: shorter than the killed run's last write there (cut short by the kill, or truncated)" \
        "$(cat "$tmp/e2")"
    # p1: the records written before, then the first half of that write
    w=$(grep -c '	written	' "$L.before")
    before=$(head -n "$w" "$tmp/ref" | wc -c)
    [ "$(wc -c <"$tmp/p1")" -gt "$before" ] || fail "nothing of the write in p1"
    head -c "$(wc -c <"$tmp/p1")" "$tmp/ref" | cmp -s - "$tmp/p1" ||
        fail "p1 is not the start of one run's output"
    { head -c "$before" "$tmp/p1"; cat "$tmp/p2"; } | cmp -s - "$tmp/ref" ||
        fail "the records before the write and p2 do not join"
}

# 6. Into a pipe the reader may have read it: that one write (whole
# records, at most PIPE_BUF bytes) is written again, said so.
pipe() {
    L=$tmp/p.log
    rm -f "$L" "$L.held"
    { TASKPOOL_FAULT=out-written:3 "$TP_FAULTY" -j2 --joblog "$L" -a "$tmp/in" \
          seed:double 2>"$tmp/e1" & wait $! 2>/dev/null
      echo $? >"$tmp/rc1"; } | cat >"$tmp/p1"
    check "killed" 137 "$(cat "$tmp/rc1")"
    n=$(grep -c '	writing	' "$L")
    [ "$n" -ge 1 ] || fail "no line says writing"
    resumed "$L" -a "$tmp/in" seed:double
    check "stderr" "taskpool: the killed run's last write to standard output ($(results "$n")) is written again: it went to a pipe, socket or terminal, where it cannot be checked (it may have been read)" \
        "$(cat "$tmp/e2")"
    check "written twice: that write's records" "$(tail -n "$n" "$tmp/p1")" \
        "$(head -n "$n" "$tmp/p2")"
    [ "$(head -n "$n" "$tmp/p2" | wc -c)" -le 4096 ] ||
        fail "more than PIPE_BUF written twice"
    { head -n "-$n" "$tmp/p1"; cat "$tmp/p2"; } | cmp -s - "$tmp/ref" ||
        fail "beyond that write, the parts do not join"
}

# 7. A message to stderr, a file: found there, not written again; into a
# pipe: written again (that one message), said so.
messages() {
    L=$tmp/m.log
    killed msg-written:3 "$L" -a "$tmp/msgs" chaos:act
    resumed "$L" -a "$tmp/msgs" chaos:act
    check "status" 1 "$rc"
    cat "$tmp/e1" "$tmp/e2" | cmp -s - "$tmp/mref.err" ||
        fail "messages do not join: $(cat "$tmp/e1" "$tmp/e2" | head -5)"
    cat "$tmp/p1" "$tmp/p2" | cmp -s - "$tmp/mref.out" || fail "outputs do not join"
    once "$L"
    rm -f "$L" "$L.held"
    { TASKPOOL_FAULT=msg-written:3 "$TP_FAULTY" -j2 --joblog "$L" \
          -a "$tmp/msgs" chaos:act 2>&1 >"$tmp/p1" & wait $! 2>/dev/null; } |
        cat >"$tmp/e1"
    resumed "$L" -a "$tmp/msgs" chaos:act
    check "the notice, then the message again" \
        "taskpool: the killed run's message for input 21 is written again: it went to a pipe, socket or terminal, where it cannot be checked (it may have been read)${nl}taskpool: input 21 (fail:bad21): bad21" \
        "$(head -n 2 "$tmp/e2")"
    check "the last message before the kill" "taskpool: input 21 (fail:bad21): bad21" \
        "$(tail -n 1 "$tmp/e1")"
    { cat "$tmp/e1"; tail -n +3 "$tmp/e2"; } | cmp -s - "$tmp/mref.err" ||
        fail "beyond that message, the messages do not join"
}

# 8. The installed host has no fault points.
no_faults() {
    TASKPOOL_FAULT=out-written:1 "$TASKPOOL" --joblog "$tmp/n.log" -a "$tmp/in" \
        seed:double >"$tmp/n.out"
    check "status" 0 "$?"
    cmp -s "$tmp/n.out" "$tmp/ref" || fail "output"
}

section after_write
section before_write
section same_file
section moved
section replaced
section truncated
section rewritten
section cut_inside
section pipe
section messages
section no_faults
[ -z "$failed" ] || fail "sections failed:$failed"
