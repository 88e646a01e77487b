# Run a Check program; its output goes to the .log as usual, and its
# summary line ("100%: Checks: N, Failures: 0, Errors: 0") also to fd 9,
# which the Makefile points at the console.
out=$("$@" 2>&1); rc=$?
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' >&9 2>/dev/null || :
exit $rc
