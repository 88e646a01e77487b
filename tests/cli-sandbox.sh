# --sandbox: after init a worker gives up files (Landlock) and every
# system call a compute kernel does not need (seccomp).  Each forbidden
# thing is blocked and recorded, the other inputs succeed, and nothing was
# done.  Where the sandbox cannot be had, it is refused (exit 2), never
# left out: then this test checks the refusal and is SKIPped.
. "$(dirname "$0")/lib.sh"
E=$TP_TEST_PLUGINS/hostile/escape.la

if [ "${TP_SECCOMP:-}" != yes ]; then
    run --sandbox seed:double 1
    expect 2 "" "taskpool: cannot sandbox: this taskpool was built without libseccomp (install libseccomp-dev, then configure and build again)"
    echo "SKIP: taskpool is built without libseccomp"
    exit 77
fi
run --sandbox seed:double 1 2 3
case $rc:$err in
0:) check "a pure kernel loses nothing" "2${nl}4${nl}6" "$out" ;;
2:"taskpool: cannot sandbox: this kernel has no "*)
    echo "SKIP: $err"
    exit 77 ;;
*) fail "--sandbox seed:double: $rc $err" ;;
esac

# each forbidden thing: blocked and recorded; the rest succeed; a blocked
# call is not retried
mkdir "$tmp/in" "$tmp/in/sub" "$tmp/other"
run -j 1 --format jsonl --retries 2 --sandbox "$E:act" ok:a open:/etc/passwd \
    "exec:$tmp/exec" "fork:$tmp/fork" connect:9 "write:$tmp/written" thread \
    ptrace setuid mmapshared ok:z
check "status" 1 "$rc"
check "stdout" "{\"index\":0,\"input\":\"ok:a\",\"status\":\"ok\",\"output\":\"a\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":1,\"input\":\"open:/etc/passwd\",\"status\":\"error\",\"error\":\"open /etc/passwd: Permission denied\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":2,\"input\":\"exec:$tmp/exec\",\"status\":\"crashed\",\"error\":\"sandbox: blocked system call execve\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":3,\"input\":\"fork:$tmp/fork\",\"status\":\"crashed\",\"error\":\"sandbox: blocked system call clone\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":4,\"input\":\"connect:9\",\"status\":\"crashed\",\"error\":\"sandbox: blocked system call socket\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":5,\"input\":\"write:$tmp/written\",\"status\":\"error\",\"error\":\"open $tmp/written: Permission denied\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":6,\"input\":\"thread\",\"status\":\"error\",\"error\":\"pthread_create: Resource temporarily unavailable\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":7,\"input\":\"ptrace\",\"status\":\"crashed\",\"error\":\"sandbox: blocked system call ptrace\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":8,\"input\":\"setuid\",\"status\":\"crashed\",\"error\":\"sandbox: blocked system call setuid\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":9,\"input\":\"mmapshared\",\"status\":\"crashed\",\"error\":\"sandbox: blocked system call mmap\",\"worker\":PID,\"attempts\":1,\"ms\":MS}
{\"index\":10,\"input\":\"ok:z\",\"status\":\"ok\",\"output\":\"z\",\"worker\":PID,\"attempts\":1,\"ms\":MS}" \
    "$(printf '%s\n' "$out" | norm)"
check "stderr" "" "$err"
# nothing was done: no file written, no program run (it would have made
# $tmp/exec), no process started (it would have made $tmp/fork)
for f in exec fork written; do
    [ ! -e "$tmp/$f" ] || fail "$tmp/$f exists: the sandbox let it through"
done
# ... which the same tasks do without the sandbox
run -j 1 "$E:act" "fork:$tmp/fork" "write:$tmp/written" "exec:$tmp/exec"
check "unsandboxed status" 1 "$rc"
check "unsandboxed stdout" "forked${nl}wrote $tmp/written" "$out"
check "unsandboxed stderr" "taskpool: input 3 (exec:$tmp/exec): worker PID exited with status 0" \
    "$(printf '%s\n' "$err" | norm)"
for f in exec fork written; do
    [ -e "$tmp/$f" ] || fail "without --sandbox, $tmp/$f was not made"
done

# in text mode, the message as the issue words it
run -j 1 --sandbox "$E:act" exec:/nonexistent ok:1
expect 1 "1" "taskpool: input 1 (exec:/nonexistent): sandbox: blocked system call execve"

# the filter checks the architecture: x86-64's i386 entry (int 0x80) is
# blocked, named as i386's call (where the kernel has that entry at all)
if [ "$("$TASKPOOL" -j 1 "$E:act" int80 2>/dev/null)" = "int80: ok" ]; then
    run -j 1 --sandbox "$E:act" int80 ok:1
    expect 1 "1" "taskpool: input 1 (int80): sandbox: blocked system call getpid (i386)"
fi

# x32's calls (the x86-64 entry, numbers marked) are named as such
if [ "$(uname -m)" = x86_64 ]; then
    run -j 1 --sandbox "$E:act" x32 ok:1
    expect 1 "1" "taskpool: input 1 (x32): sandbox: blocked system call getpid (x32)"
fi
# system(), popen(), posix_spawn(): the new process is refused with EPERM
# (glibc makes that clone with every signal blocked, where a trap would
# kill the worker unnamed); system() then says 127, as for no shell
run -j 1 --sandbox "$E:act" system ok:1
expect 0 "system: 32512${nl}1" ""

printf 'a\n' >"$tmp/in/a"
printf 'b\n' >"$tmp/in/sub/b"
printf 'c\n' >"$tmp/other/c"
# hash reads below --allow-read, and fails cleanly outside (where it was
# built: it needs OpenSSL)
if [ "${TP_HASH:-}" = yes ]; then
    run -j 2 --sandbox --allow-read "$tmp/in" hash:sha256 "$tmp/in/a" "$tmp/in/sub/b" \
        "$tmp/other/c" /etc/passwd
    check "hash status" 1 "$rc"
    check "hash stdout" "$(sha256sum "$tmp/in/a" "$tmp/in/sub/b")" "$out"
    check "hash stderr" "taskpool: input 3 ($tmp/other/c): Permission denied
taskpool: input 4 (/etc/passwd): Permission denied" "$err"
    # two directories
    run -j 1 --sandbox --allow-read "$tmp/in/sub" --allow-read "$tmp/other" hash:md5 \
        "$tmp/in/sub/b" "$tmp/other/c" "$tmp/in/a"
    check "two dirs status" 1 "$rc"
    check "two dirs stdout" "$(md5sum "$tmp/in/sub/b" "$tmp/other/c")" "$out"
    check "two dirs stderr" "taskpool: input 3 ($tmp/in/a): Permission denied" "$err"
else
    echo "hash: not built (no OpenSSL libcrypto): its sandbox checks skipped"
fi
# read only: writing below DIR is still refused
run -j 1 --sandbox --allow-read "$tmp/in" "$E:act" "write:$tmp/in/new" "open:$tmp/in/a"
check "read only status" 1 "$rc"
check "read only stdout" "read 2 bytes" "$out"
check "read only stderr" "taskpool: input 1 (write:$tmp/in/new): open $tmp/in/new: Permission denied" "$err"
[ ! -e "$tmp/in/new" ] || fail "$tmp/in/new was written"

# a plugin that declares it reads files, sandboxed with nothing to read:
# refused before any input, the flag named
if [ "${TP_HASH:-}" = yes ]; then
    run --sandbox hash:sha256 "$tmp/in/a"
    expect 2 "" "taskpool: hash: the plugin declares TP_PLUGIN_READS_FILES (its tasks read files): in a sandbox it needs the directories they may read (--allow-read DIR)"
    # --allow-read: only with --sandbox, only directories
    run --allow-read "$tmp/in" hash:sha256 "$tmp/in/a"
    expect 2 "" "taskpool: --allow-read applies to --sandbox, which is not given (try 'taskpool --help')"
    run --sandbox --allow-read "$tmp/nonexistent" hash:sha256 "$tmp/in/a"
    expect 2 "" "taskpool: cannot allow reading $tmp/nonexistent: No such file or directory"
    run --sandbox --allow-read "$tmp/in/a" hash:sha256 "$tmp/in/a"
    expect 2 "" "taskpool: cannot allow reading $tmp/in/a: Not a directory"
fi

# with --mem-limit, memory init left within a task's reach that the limit
# does not count is refused: a memfd open for writing (read-only is fine),
# a shared mapping; without --mem-limit the memfd is the plugin's business
# (where a limit can be met at all: not under AddressSanitizer, whose
# shadow memory RLIMIT_DATA counts)
if [ "$("$TASKPOOL" -j 1 "$E:act" vmdata)" -lt 32768 ]; then
    run -j 1 --sandbox --mem-limit 64M --init-arg memfd "$E:act" memfdwrite:100
    expect 2 "" "taskpool: cannot hold --mem-limit in the sandbox: the plugin's init left descriptor 4 open for writing on /memfd:escape (deleted), a file in memory that the limit does not count (close it in init)"
    run -j 1 --sandbox --mem-limit 64M --init-arg memfdro "$E:act" memfdwrite:1 ok:1
    expect 1 "1" "taskpool: input 1 (memfdwrite:1): write: Bad file descriptor"
    run -j 1 --sandbox --mem-limit 64M --init-arg shmmap "$E:act" ok:1
    expect 2 "" "taskpool: cannot hold --mem-limit in the sandbox: the plugin's init left a shared mapping of 1024 KiB (/dev/zero (deleted)), memory that the limit does not count (unmap it in init)"
    # ... read-only too (mprotect could make it writable), deleted or not
    run -j 1 --sandbox --mem-limit 64M --init-arg shmro "$E:act" ok:1
    expect 2 "" "taskpool: cannot hold --mem-limit in the sandbox: the plugin's init left a shared mapping of 1024 KiB (/dev/zero (deleted)), memory that the limit does not count (unmap it in init)"
    run -j 1 --sandbox --mem-limit 64M --init-arg devshmro "$E:act" ok:1
    check "a deleted /dev/shm file, mapped read-only: status" 2 "$rc"
    case $err in "taskpool: cannot hold --mem-limit in the sandbox: the plugin's init left a shared mapping of 1024 KiB (/dev/shm/escape-"*" (deleted)), memory that the limit does not count (unmap it in init)") ;;
    *) fail "a deleted /dev/shm file: $err" ;; esac
    # many workers: none of them holds another's progress page (each is a
    # shared mapping of memory the host made before the next fork)
    run -j 4 --sandbox --mem-limit 64M seed:double 1 2 3 4 5 6 7 8
    expect 0 "2${nl}4${nl}6${nl}8${nl}10${nl}12${nl}14${nl}16" ""
fi
run -j 1 --sandbox --init-arg memfd "$E:act" memfdwrite:2
expect 0 "wrote 2 MiB to the memfd" ""

# a plugin whose init leaves a thread running cannot be held (Landlock
# restricts only the thread that asks): refused
run -j 1 --sandbox --init-arg thread "$E:act" ok:1
expect 2 "" "taskpool: cannot sandbox: the worker runs 2 threads once init has run (the plugin started them), and Landlock holds only the thread that asks"

# where the kernel lacks Landlock or seccomp: refused, never unconfined
"$TP_NOSYS" landlock_create_ruleset "$TASKPOOL" --sandbox seed:double 1 >"$tmp/out" 2>"$tmp/err"
check "no landlock status" 2 "$?"
check "no landlock stdout" "" "$(cat "$tmp/out")"
check "no landlock stderr" "taskpool: cannot sandbox: this kernel has no Landlock (landlock_create_ruleset: Function not implemented)" \
    "$(cat "$tmp/err")"
"$TP_NOSYS" seccomp "$TASKPOOL" --sandbox seed:double 1 >"$tmp/out" 2>"$tmp/err"
check "no seccomp status" 2 "$?"
check "no seccomp stderr" "taskpool: cannot sandbox: this kernel has no seccomp filters (seccomp: Function not implemented)" \
    "$(cat "$tmp/err")"

# --max-procs N > 1 lets the sandbox fork (exec stays blocked); children
# are in the sandbox too (the child's file is not written)
run -j 1 --sandbox --max-procs 3 "$E:act" forkbomb:10 "fork:$tmp/fork2" thread \
    "exec:$tmp/exec2"
check "sandbox nproc status" 1 "$rc"
check "sandbox nproc stdout" "forked 2 of 10 (then: Resource temporarily unavailable)${nl}forked${nl}thread ran" "$out"
check "sandbox nproc stderr" "taskpool: input 4 (exec:$tmp/exec2): sandbox: blocked system call execve" "$err"
[ ! -e "$tmp/fork2" ] && [ ! -e "$tmp/exec2" ] || fail "a sandboxed child wrote a file"

# a blocked call in a process the kernel started is named, and ends the
# worker too: the input is recorded as if the kernel had made it
run -j 1 --sandbox --max-procs 3 "$E:act" forksocket ok:1
expect 1 "1" "taskpool: input 1 (forksocket): sandbox: blocked system call socket"

# memory RLIMIT_DATA would not count is not to be had: MAP_GROWSDOWN
run -j 1 --sandbox "$E:act" growsdown:100 ok:1
expect 1 "1" "taskpool: input 1 (growsdown:100): sandbox: blocked system call mmap"

# the limits hold in the sandbox
run -j 1 --sandbox --cpu-limit 0.2 "$E:act" spin ok:1
check "sandbox cpu status" 1 "$rc"
check "sandbox cpu" "taskpool: input 1 (spin): cpu limit (200 ms): worker PID killed by signal 24 (CPU time limit exceeded)" \
    "$(printf '%s\n' "$err" | norm)"
# ... also for a task that ignores SIGXCPU
trun -j 1 --sandbox --cpu-limit 0.2 "$E:act" spinignore ok:1
check "sandbox cpu ignored status" 1 "$rc"
check "sandbox cpu ignored" "taskpool: input 1 (spinignore): cpu limit (200 ms): worker PID killed by signal 9 (Killed)" \
    "$(printf '%s\n' "$err" | norm)"
vm=$("$TASKPOOL" -j 1 "$E:act" vmdata)
if [ "${vm:-0}" -lt 32768 ]; then
    run -j 1 --sandbox --mem-limit 64M "$E:act" xalloc:100 alloc:100 ok:1
    check "sandbox mem status" 1 "$rc"
    check "sandbox mem stdout" "1" "$out"
    check "sandbox mem stderr" "taskpool: input 1 (xalloc:100): memory limit (64 MiB): worker PID killed by signal 6 (Aborted)
taskpool: input 2 (alloc:100): allocation of 100 MiB refused" "$(printf '%s\n' "$err" | norm)"
fi

# a pipe cannot grow: its buffer is memory --mem-limit does not count
run -j 1 --sandbox "$E:act" pipesize ok:1
expect 1 "1" "taskpool: input 1 (pipesize): F_SETPIPE_SZ: Operation not permitted"

# the worker's own work goes on in the sandbox: many records from a pipe
# (text mode), and per-record answers
seq 100000 | "$TASKPOOL" -j 2 --sandbox seed:double >"$tmp/out"
check "stream status" 0 "$?"
check "stream" "$(seq 100000 | awk '{ print 2 * $1 }' | cksum)" "$(cksum <"$tmp/out")"
run -j 2 --sandbox --format jsonl seed:double 1 x
check "jsonl status" 1 "$rc"
check "jsonl" '{"index":0,"input":"1","status":"ok","output":"2","worker":PID,"attempts":1,"ms":MS}
{"index":1,"input":"x","status":"error","error":"not an integer","worker":PID,"attempts":1,"ms":MS}' \
    "$(printf '%s\n' "$out" | norm)"
