# partition-delegated: partitions under a delegated subtree, as on a systemd host whose unit has
# Delegate=yes (docs/partitions.md): with SOFTZONE_CGROUP_PARENT set before the first change,
# zonectl creates the parent path (enabling +cpuset down it on v2), puts partitions below it,
# records it in the state file and keeps using it without the variable; nothing is created at
# the default place.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
pick_nodes
A=${SRC%,*}
parent=system.slice/softzone.service
mkdir -p "$CG/system.slice"
if [ "$SOFTZONE_CGROUP" = v2 ]; then echo +cpuset >"$CG/cgroup.subtree_control"; fi

step "create under $parent"
SOFTZONE_CGROUP_PARENT=$parent zonectl create d --nodes "$A"
[ -d "$CG/$parent/d" ] || fail "no partition at $CG/$parent/d"
[ ! -d "$CG/softzone" ] || fail "the default parent was created too"
expect_nodes "d's mems" "$A" "$(cat "$CG/$parent/d/cpuset.mems")"
grep -q "\"parent\": \"$parent\"" "$STATE" || fail "the parent is not in the state file: $(cat $STATE)"

step "later runs use the recorded parent without the variable"
zonectl exec d -- cat /proc/self/cgroup >/tmp/cg.txt
cat /tmp/cg.txt
grep -q "$parent/d" /tmp/cg.txt || fail "exec did not run in $parent/d"
zonectl --json list | grep -q '"drift": \[\]' || fail "drift: $(zonectl list)"
zonectl destroy d
[ ! -d "$CG/$parent/d" ] || fail "d is still there after destroy"
[ -d "$CG/$parent" ] || fail "the delegated parent itself was removed"
expect_sound
echo "partition-delegated: ok"
