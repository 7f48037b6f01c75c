# exec-join-fails: zonectl exec whose join the kernel refuses exits 1 at once with the kernel's
# error. The refusal is v2's: a process in the partitions' parent, which has +cpuset in its
# subtree_control, makes that parent a thread root and the partition "domain invalid" (as a
# systemd unit's own process does in its delegated cgroup, docs/systemd.md). exec's helper used
# to keep the pipe it waited on open itself: exec then waited for it forever, SIGTERM held.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
pick_nodes
A=${SRC%,*}
parent=owner.service
SOFTZONE_CGROUP_PARENT=$parent zonectl create d --nodes "$A"
sleep 1000 &
sleeper=$!
echo "$sleeper" >"$CG/$parent/cgroup.procs"
expect_eq "d's cgroup type" "domain invalid" "$(cat "$CG/$parent/d/cgroup.type")"

step "exec into d is refused, promptly"
set +e
timeout -s KILL 60 zonectl exec d -- true 2>/tmp/exec.err
status=$?
set -e
cat /tmp/exec.err
expect_eq "exec's status (137: killed after 60 s)" 1 "$status"
grep -q "cgroup.procs: Operation not supported" /tmp/exec.err || fail "exec did not say why"
kill "$sleeper"
echo "exec-join-fails: ok"
