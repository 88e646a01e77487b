# taskpool --mpi under Slurm's srun (PMIx): the same output and outcomes
# as under mpirun, scancel's status, nothing left behind.  Skipped (exit
# 77) unless TP_SRUN=yes, without MPI built in, without srun, or without
# a Slurm that answers: .ci/run starts a one-node Slurm and runs this test
# alone (srun has lost a rank's stderr line once here, under the load of
# a parallel make check).
. "$(dirname "$0")/lib.sh"
[ "${TP_SRUN:-}" = yes ] || { echo "SKIP: TP_SRUN=yes runs it (CI's Slurm leg)"; exit 77; }
[ "${TP_MPI_BUILT:-}" = yes ] || { echo "SKIP: built without MPI"; exit 77; }
command -v srun >/dev/null || { echo "SKIP: no srun"; exit 77; }
timeout 10 sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' ||
    { echo "SKIP: no Slurm node answers (sinfo)"; exit 77; }
skip_under_valgrind "srun's ranks run under Slurm's own launcher"
mark="srun-$$-$(date +%s%N)"
SRUN="srun --mpi=pmix -O"

# srun_tp K ARGS...: srun -n K taskpool --mpi ARGS (stdin is the caller's);
# err without srun's own lines ("srun: error: NODE: tasks 0-2: Exited with
# exit code 1")
srun_tp() {
    local k=$1
    shift
    timeout 120 $SRUN -n "$k" "$TASKPOOL" --mpi "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(grep -v '^srun: ' "$tmp/err")
}

# 1. What the fork transport writes, and the same outcomes.
same() {
    seq 1000 >"$tmp/in"
    "$TASKPOOL" -j 2 seed:double <"$tmp/in" >"$tmp/fork"
    srun_tp 3 -j 1 seed:double <"$tmp/in"
    check "status" 0 "$rc"
    cmp -s "$tmp/out" "$tmp/fork" || fail "srun output differs: $(head -3 "$tmp/out")"
    srun_tp 3 -j 1 seed:double 1 x 3
    expect_err 1 "2${nl}6" "taskpool: input 2 (x): not an integer"
    srun_tp 3 -j 1 --format jsonl seed:double 1 2 3 4
    check "ranks" "4" "$(printf '%s\n' "$out" | grep -Ec '"rank":[12][,}]')"
}

# 2. Without PMIx there is no MPI job: refused, saying how to run it.
no_pmix() {
    timeout 60 srun --mpi=none -n 1 "$TASKPOOL" --mpi seed:double 1 \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(grep -v '^srun: ' "$tmp/err")
    expect_err 2 "" "taskpool: --mpi: started by srun without PMIx; run it as: srun --mpi=pmix -n 3 taskpool --mpi [OPTION]... PLUGIN:TASK"
}

# 3. scancel: SIGTERM to every rank, status 143, every worker gone.
cancel() {
    $SRUN -n 3 -J "$mark" "$TASKPOOL" --mpi -j 1 --init-arg "$mark" \
        bench:sleep 20000 20000 20000 20000 >"$tmp/out" 2>"$tmp/err" &
    job=$!
    # 3 taskpools, 2 keepers and 2 workers carry the mark (and srun)
    for _ in $(seq 150); do
        [ "$(leftovers "$mark")" -ge 8 ] && break
        sleep 0.1
    done
    [ "$(leftovers "$mark")" -ge 8 ] || { kill -9 $job; fail "the job did not start: $(cat "$tmp/err")"; }
    scancel --name="$mark"
    wait $job
    check "status" 143 "$?"
    grep -q "^taskpool: terminated by the MPI launcher (Ctrl-C, scancel, or a rank was lost)" "$tmp/err" ||
        fail "scancel message: $(cat "$tmp/err")"
    wait_procs "$mark" 0
}

section same
section no_pmix
section cancel
[ -z "$failed" ] || fail "sections failed:$failed"
