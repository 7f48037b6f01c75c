# partition-subtree: a partition is a cgroup subtree. A process in a cgroup below the partition
# (softzone/web/ctr1, as a container runtime makes one) holds patterned memory: `list` and
# `status` count it, a shrink moves its pages off the released node (0 left by zonectl's check
# and by the kernel's numa_maps, every byte intact) and keeps the child's mems inside the
# partition's, and destroy refuses the subtree unless --force, which moves the process out and
# removes the child cgroup.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
mib=100
pick_nodes
A=${SRC%,*} B=${SRC#*,}
echo "web on nodes $A,$B; the shrink gives up $A"

step "web with a child cgroup ctr1 holding $mib MiB on node $A"
zonectl create web --nodes "$A,$B"
child=$CG/softzone/web/ctr1
mkdir "$child"
if [ "$SOFTZONE_CGROUP" = v1 ]; then
  cat "$CG/softzone/web/cpuset.cpus" >"$child/cpuset.cpus"
else
  # The child gets cpuset files of its own, as a runtime that sets cpuset.mems does.
  echo +cpuset >"$CG/softzone/web/cgroup.subtree_control"
fi
echo "$A,$B" >"$child/cpuset.mems"
# shellcheck disable=SC2016
hold_start "$mib" sh -c 'echo $$ >"$0"; exec "$@"' "$child/cgroup.procs" numactl --membind="$A"
grep -q "^0::/softzone/web/ctr1$\|cpuset:/softzone/web/ctr1$" "/proc/$HOLD_PID/cgroup" ||
  fail "memhold is not in softzone/web/ctr1: $(cat "/proc/$HOLD_PID/cgroup")"
on_a=$(pages_on "$HOLD_PID" "$A")
echo "pages on $A: $on_a"
[ "$on_a" -ge $((mib * 256)) ] || fail "memhold's memory is not on node $A ($on_a pages)"

step "list and status count the task of the child cgroup"
zonectl list
zonectl --json status web >/tmp/status.json
grep -q '"tasks": 1,' /tmp/status.json || fail "web does not count ctr1's task: $(cat /tmp/status.json)"
tr -d ' \n' </tmp/status.json | grep -q "\"pids\":\[$HOLD_PID\]" ||
  fail "status web does not list memhold $HOLD_PID: $(cat /tmp/status.json)"

step "shrink web to $B: the child's pages leave node $A"
zonectl --json resize web --nodes "$B" >/tmp/shrink.json
cat /tmp/shrink.json
left=$(sed -n 's/.*"pages_left": \([0-9]*\).*/\1/p' /tmp/shrink.json)
moved=$(sed -n 's/.*"pages_moved": \([0-9]*\).*/\1/p' /tmp/shrink.json)
expect_eq "pages left on $A (status query)" 0 "$left"
[ "$moved" -ge $((mib * 256)) ] || fail "only $moved pages moved off node $A"
expect_eq "memhold's pages on $A (numa_maps)" 0 "$(pages_on "$HOLD_PID" "$A")"
expect_nodes "web mems" "$B" "$(mems_of web)"
expect_nodes "ctr1 mems" "$B" "$(cat "$child/cpuset.mems")"
hold_check

step "destroy refuses the subtree without --force and changes nothing"
set +e
zonectl destroy web 2>/tmp/destroy.err
got=$?
set -e
cat /tmp/destroy.err
expect_eq "exit status of destroy without --force" 1 "$got"
grep -q "softzone/web/ctr1" /tmp/destroy.err || fail "destroy does not name the child cgroup"
[ -d "$child" ] || fail "the refused destroy removed ctr1"
grep -q "/softzone/web/ctr1$" "/proc/$HOLD_PID/cgroup" || fail "the refused destroy moved memhold"

step "destroy --force: memhold leaves, ctr1 and web are removed"
zonectl destroy web --force
[ ! -d "$CG/softzone/web" ] || fail "web is still there"
grep -q "^0::/$\|cpuset:/$" "/proc/$HOLD_PID/cgroup" ||
  fail "memhold is not in the root cgroup: $(cat "/proc/$HOLD_PID/cgroup")"
hold_check
hold_stop
expect_sound
echo "partition-subtree: ok"
