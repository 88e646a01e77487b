# taskpool --mpi across three nodes: Linux network namespaces on this
# machine, one per rank, joined by a bridge, Open MPI over TCP between them
# (cli-mpi.sh runs every rank on one node, over shared memory).  mpirun
# stays in the root namespace and reaches each node through an rsh agent
# that enters the node's namespace, under a hostname of its own.
# Skipped (exit 77) without MPI, mpirun, root, or network namespaces.
. "$(dirname "$0")/lib.sh"
[ "${TP_MPI_BUILT:-}" = yes ] || { echo "SKIP: built without MPI"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: no mpirun"; exit 77; }
skip_under_valgrind "its mpirun runs are bounded in time, and an agent under valgrind takes seconds to start; the other legs run it"
[ "$(id -u)" = 0 ] || { echo "SKIP: not root (network namespaces need it)"; exit 77; }
[ -z "${TP_NO_NODES:-}" ] || { echo "SKIP: TP_NO_NODES is set (a package build: CI runs it)"; exit 77; }
for c in ip unshare hostname; do
    command -v $c >/dev/null || { echo "SKIP: no $c"; exit 77; }
done
mark="nodes-$$-$(date +%s%N)"

# The nodes: namespaces tpn$$-1..3 (hostnames too), veths tpv$$-1..3 on
# the bridge tpb$$, in a /24 of 10.231 that no interface or route uses.
ns1=tpn$$-1 ns2=tpn$$-2 ns3=tpn$$-3 br=tpb$$
r=$(($$ % 250 + 1))
for _ in $(seq 250); do
    ip -4 -o addr show | grep -q " 10\.231\.$r\." ||
        ip -4 route show | grep -q "^10\.231\.$r\." || break
    r=$((r % 250 + 1))
done
net=10.231.$r
ip1=$net.2 ip2=$net.3 ip3=$net.4

# The cleanup: the running section and the test's mpiruns first (under
# timeout(1), which passes SIGTERM on; their pids are noted in $tmp/jobs,
# and one is signalled only while its command line still names this
# test's agent), then every process of each node, its veth and the node;
# the bridge; what Open MPI's killed daemons left in the temporary
# directory.
kill_node() {
    local p
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        p=$(ip netns pids "$1" 2>/dev/null)
        [ -n "$p" ] || return 0
        kill -9 $p 2>/dev/null
        sleep 0.05
    done
}
ours() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q -- "$tmp/agent"; }
sect=
cleanup() {
    local p n
    [ -z "$sect" ] || kill -9 "$sect" 2>/dev/null
    for p in $(cat "$tmp/jobs" 2>/dev/null); do
        ours "$p" && kill -TERM "$p"
    done
    for n in 1 2 3; do
        kill_node tpn$$-$n
        # (its veth by name: a job ended by a signal leaves orphaned TCP
        # sockets in a node, which keep its namespace, and so the veth,
        # alive minutes after the name is gone)
        ip link del tpv$$-$n 2>/dev/null
        ip netns del tpn$$-$n 2>/dev/null
    done
    ip link del $br 2>/dev/null
    rm -rf "${TMPDIR:-/tmp}"/ompi.tpn$$-[123].*
    for _ in $(seq 50); do
        n=0
        for p in $(cat "$tmp/jobs" 2>/dev/null); do ours "$p" && n=1; done
        [ $n = 0 ] && break
        sleep 0.1
    done
}
trap 'rc=$?; cleanup; rm -rf "$tmp"; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ip netns add $ns1 2>"$tmp/err" ||
    { echo "SKIP: ip netns add failed: $(cat "$tmp/err")"; exit 77; }
(
    ip netns add $ns2 && ip netns add $ns3 &&
        ip link add $br type bridge && ip addr add $net.1/24 dev $br &&
        ip link set $br up &&
        for i in 1 2 3; do
            ip link add tpv$$-$i type veth peer name eth0 netns tpn$$-$i &&
                ip link set tpv$$-$i master $br up &&
                ip -n tpn$$-$i addr add $net.$((i + 1))/24 dev eth0 &&
                ip -n tpn$$-$i link set eth0 up &&
                ip -n tpn$$-$i link set lo up || exit 1
        done
) 2>"$tmp/err" || { echo "SKIP: cannot build the nodes: $(cat "$tmp/err")"; exit 77; }
echo "nodes: $ns1 $ip1, $ns2 $ip2, $ns3 $ip3 (bridge $br, $net.1)"

# mpirun's rsh agent: "agent [OPTION]... HOST COMMAND..." runs COMMAND in
# HOST's node.  Its own hostname (a UTS namespace) gives each node's Open
# MPI daemon a session directory of its own: three daemons of one job on
# one hostname share one, and write its hwloc.sm together (an orted
# crashed so, in hwloc_shmem_topology_write, in 1 job of 5).
cat >"$tmp/agent" <<EOF
#!/bin/sh
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
case \$1 in
$ip1) ns=$ns1 ;;
$ip2) ns=$ns2 ;;
$ip3) ns=$ns3 ;;
*) echo "agent: \$1 is not a node of this test" >&2; exit 255 ;;
esac
shift
exec ip netns exec \$ns unshare --uts /bin/sh -c "hostname \$ns && \$*"
EOF
chmod 755 "$tmp/agent"
: >"$tmp/jobs"

# The ranks get the test's plugin path and bridge from mpirun (-x): a
# remote shell would not pass them on.
MPIRUN="timeout 60 mpirun --allow-run-as-root --oversubscribe
    --mca plm_rsh_agent $tmp/agent --mca btl tcp,self
    --mca btl_tcp_if_include $net.0/24 --mca oob_tcp_if_include $net.0/24
    -x TASKPOOL_PLUGIN_PATH -x TASKPOOL_MPI_BRIDGE"
all=$ip1:1,$ip2:1,$ip3:1

# Open MPI's rsh launcher says so (even under -q) when its agent has
# exec'd before mpirun put it in a process group of its own; harmless, as
# its comment says ("the child is off and running"), and left out of $err
setpgid='^\[[^]]*\] plm:rsh: Warning: setpgid([0-9]*,[0-9]*) failed in parent with errno=Permission denied(13)$'

# mrun HOSTS K ARGS...: mpirun -q -H HOSTS -n K taskpool --mpi ARGS (a
# rank on each host, in order; stdin is the caller's), a noted job
mrun() {
    local hosts=$1 k=$2
    shift 2
    $MPIRUN -q -H "$hosts" -n "$k" "$TASKPOOL" --mpi "$@" <&0 >"$tmp/out" 2>"$tmp/err" &
    echo $! >>"$tmp/jobs"
    wait $!
    rc=$?
    out=$(tr '\0' '\n' <"$tmp/out")
    err=$(grep -v "$setpgid" "$tmp/err")
}


# no process left in any node (within 10 s)
nodes_empty() {
    local n left
    for _ in $(seq 100); do
        left=
        for n in $ns1 $ns2 $ns3; do
            [ -z "$(ip netns pids $n)" ] || left="$left $n"
        done
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    fail "processes left in$left: $(for n in $left; do ip netns pids $n; done | tr '\n' ' ')"
}

# ms since the epoch
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# 1. Each rank runs on its own node: rank R's MPI process (its bridge) is
# in namespace R+1, and names that node's hostname.
placement() {
    $MPIRUN -q -H "$all" -n 3 "$TASKPOOL" --mpi -j 1 --init-arg "$mark" \
        chaos:act sleep:1500 >"$tmp/out" 2>"$tmp/err" &
    job=$!
    echo $job >>"$tmp/jobs"
    for _ in $(seq 100); do
        seen=
        for n in $ns1 $ns2 $ns3; do
            for p in $(ip netns pids $n); do
                [ "$(cat /proc/$p/comm 2>/dev/null)" = taskpool-mpi ] &&
                    seen="$seen $(ip netns identify $p):$(tr '\0' '\n' </proc/$p/environ |
                        sed -n 's/^OMPI_COMM_WORLD_RANK=//p')"
            done
        done
        [ "$seen" = " $ns1:0 $ns2:1 $ns3:2" ] && break
        sleep 0.05
    done
    wait $job
    check "status" 0 "$?"
    check "bridges" " $ns1:0 $ns2:1 $ns3:2" "$seen"
    check "stdout" "slept 1500" "$(cat "$tmp/out")"
    mrun "$all" 3 -j 1 --init-arg fail chaos:act ok:1
    check "init status" 2 "$rc"
    # (the job ends while ranks still connect: Open MPI may add a warning
    # of its own about a TCP peer; taskpool's is one line)
    case $(printf '%s\n' "$err" | grep '^taskpool:') in
    "taskpool: rank 1 ($ns2): chaos: init failed: asked to fail by --init-arg" | \
        "taskpool: rank 2 ($ns3): chaos: init failed: asked to fail by --init-arg") ;;
    *) fail "init failure: $err" ;;
    esac
    check "leftovers" 0 "$(leftovers "$mark")"
    nodes_empty
}

# 2. 100,000 lines over three nodes, byte for byte what the fork
# transport writes; both worker ranks take part.
same_output() {
    seq 100000 >"$tmp/in"
    timeout 60 "$TASKPOOL" -j 2 seed:double <"$tmp/in" >"$tmp/fork"
    mrun_in "$tmp/in" "$all" 3 -j 2 seed:double
    check "status" 0 "$rc"
    check "stderr" "" "$err"
    cmp -s "$tmp/out" "$tmp/fork" || fail "output differs from the fork transport ($(wc -l <"$tmp/out") lines)"
    mrun_in "$tmp/in" "$all" 3 -j 2 --format jsonl seed:double
    check "jsonl status" 0 "$rc"
    r1=$(grep -c '"rank":1,' "$tmp/out") r2=$(grep -c '"rank":2,' "$tmp/out")
    echo "jsonl: rank 1 ran $r1 inputs, rank 2 $r2"
    check "jsonl records" 100000 "$((r1 + r2))"
    [ "$r1" -gt 0 ] && [ "$r2" -gt 0 ] || fail "a rank ran nothing: $r1, $r2"
    nodes_empty
}

# 3. Kernels that crash, hang or write garbage cost on remote nodes the
# outcomes they cost without MPI, and leave no process behind.
faults() {
    set -- ok:a segv hang garbage exit:3 ok:b fail:no bigframe
    timeout 60 "$TASKPOOL" -j 2 --timeout 1 --format jsonl chaos:act "$@" |
        sed -E 's/"worker":[0-9]+,//; s/worker [0-9]+/worker W/; s/"ms":[0-9.]+//' >"$tmp/fork"
    mrun "$all" 3 -j 2 --timeout 1 --format jsonl --init-arg "$mark" chaos:act "$@"
    check "status" 1 "$rc"
    check "outcomes" "$(cat "$tmp/fork")" \
        "$(sed -E 's/"worker":[0-9]+,"rank":[12],//; s/worker [0-9]+/worker W/; s/"ms":[0-9.]+//' "$tmp/out")"
    check "leftovers" 0 "$(leftovers "$mark")"
    nodes_empty
}

# 4. A node lost mid-run: every process of the third node (rank 2) killed.
# mpirun ends the job within seconds; which of Open MPI's two watches
# sees it first sets the status: the rsh agent's end (status 9, "unable
# to reliably start one or more daemons", most runs) or the daemon's
# connection (status 205, "lost communication with a remote daemon").
# Rank 0's taskpool says once that the launcher ended it (or, now and
# then, that a rank was lost); the joblog marks written exactly what
# part 1 holds (in input order: a prefix), and what finished behind an
# input lost with the node is held; a --resume on the two nodes left
# writes the rest: both parts are one fork run's output, and no logged
# input ran twice.
lost_node() {
    L=$tmp/lost.log
    rm -f "$L" "$L.held"
    awk 'BEGIN { for (i = 0; i < 1000; i++) print 15 + i % 11 }' >"$tmp/lost.in"
    timeout 60 "$TASKPOOL" -j 16 -a "$tmp/lost.in" bench:sleep >"$tmp/lost.ref"
    # (no -q: Open MPI says which watch saw the node go)
    $MPIRUN -H "$all" -n 3 "$TASKPOOL" --mpi -j 2 --joblog "$L" \
        --init-arg "$mark" -a "$tmp/lost.in" bench:sleep >"$tmp/p1" 2>"$tmp/e1" &
    job=$!
    echo $job >>"$tmp/jobs"
    for _ in $(seq 150); do
        [ "$(tail -n +2 "$L" 2>/dev/null | wc -l)" -ge 100 ] && break
        sleep 0.1
    done
    [ "$(tail -n +2 "$L" | wc -l)" -ge 100 ] ||
        { kill_node $ns3; fail "not 100 inputs done in 15 s: $(cat "$tmp/e1")"; }
    before=$(ip netns pids $ns3 | wc -l)
    kill_node $ns3
    t0=$(now_ms)
    wait $job
    rc=$? ms=$(($(now_ms) - t0))
    echo "node 3 ($before processes) killed: mpirun exited $rc after $ms ms"
    echo "--- its stderr:"
    cat "$tmp/e1"
    echo "---"
    [ "$ms" -lt 10000 ] || fail "mpirun took $ms ms to end the job"
    case $rc in
    9) grep -q "ORTE was unable to reliably start one or more daemons" "$tmp/e1" ||
        fail "status 9 without Open MPI's message about its daemons" ;;
    205) grep -Eq "Remote daemon: \[\[[0-9]+,0\],3\] on node $ip3\$" "$tmp/e1" ||
        fail "status 205 without Open MPI's message naming the lost daemon" ;;
    *) fail "status $rc (expected 9 or 205)" ;;
    esac
    # (Open MPI's teardown stops rank 1 too, and the host may hear of that
    # first: a rank stopped by a signal ends the run as the launcher does)
    check "taskpool's message" "taskpool: terminated by the MPI launcher (Ctrl-C, scancel, or a rank was lost); finished inputs are in the joblog, if any" \
        "$(grep '^taskpool:' "$tmp/e1")"
    k=$(wc -l <"$tmp/p1")
    logged=$(tail -n +2 "$L" | wc -l)
    pending=$(tail -n +2 "$L" | awk -F'\t' '$8 == "pending"' | wc -l)
    echo "part 1: $k results; joblog: $logged finished, $pending of them pending"
    [ "$k" -gt 0 ] || fail "nothing written before the loss"
    head -n "$k" "$tmp/lost.ref" | cmp -s - "$tmp/p1" ||
        fail "part 1 is not the start of the fork run's output"
    check "written" "$(seq 0 $((k - 1)))" \
        "$(tail -n +2 "$L" | awk -F'\t' '$8 == "written" { print $1 }' | sort -n)"
    check "pending after the written" "" \
        "$(tail -n +2 "$L" | awk -F'\t' -v k="$k" '$8 == "pending" && $1 < k')"
    [ "$pending" = 0 ] || [ -s "$L.held" ] || fail "$pending pending, and no $L.held"
    check "leftovers" 0 "$(leftovers "$mark")"
    nodes_empty
    mrun "$ip1:1,$ip2:1" 2 -j 2 --joblog "$L" --resume -a "$tmp/lost.in" bench:sleep
    check "resumed status" 0 "$rc"
    check "resumed stderr" "" "$err"
    cat "$tmp/p1" "$tmp/out" | cmp -s - "$tmp/lost.ref" ||
        fail "the parts do not join: $k lines, then $(wc -l <"$tmp/out")"
    check "written once each" 1000 \
        "$(tail -n +2 "$L" | awk -F'\t' '$8 == "written" { print $1 }' | sort -u | wc -l)"
    check "no logged input ran twice" "" \
        "$(tail -n +2 "$L" | awk -F'\t' '{ print $1, $2, $3 }' | sort -u | awk '{ print $1 }' | uniq -d | head -5)"
    [ ! -e "$L.held" ] || fail "$L.held is left after a complete run"
    nodes_empty
}

# nsection NAME: section NAME, waited for in the background, so that a
# signal to the test ends it (and cleans up) at once
nsection() {
    ( "$@" ) &
    sect=$!
    wait $sect || failed="$failed $1"
    sect=
}

nsection placement
nsection same_output
nsection faults
nsection lost_node
[ -z "$failed" ] || fail "sections failed:$failed"
