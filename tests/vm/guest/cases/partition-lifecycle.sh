# partition-lifecycle: a process holding 200 MiB of patterned memory goes through create ->
# attach -> grow -> shrink -> destroy with zonectl; every byte is checked after each step, the
# shrink leaves no page on the node it released (numa_maps and zonectl's own status query), the
# process survives, and the state file and cgroup tree agree throughout.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
# A status piped through tee is the pipeline's: without pipefail a failure would pass.
set -o pipefail
mib=200
pick_nodes
A=${SRC%,*} B=${SRC#*,} C=${DST%,*}
echo "partition nodes: first $A, grow to $A,$B,$C, shrink to $B,$C"
[ "$(free_mib "$A")" -gt $((mib + 16)) ] || fail "node $A has too little free for $mib MiB"

step "create web on node $A"
zonectl create web --nodes "$A"
expect_nodes "web mems" "$A" "$(mems_of web)"
zonectl list

step "memhold $mib MiB outside any partition, then attach it"
hold_start "$mib"
zonectl attach web "$HOLD_PID" | tee /tmp/attach.txt
grep -q "^0::/softzone/web\|cpuset:/softzone/web" "/proc/$HOLD_PID/cgroup" ||
  fail "memhold is not in softzone/web: $(cat /proc/$HOLD_PID/cgroup)"
hold_check
on_a=$(pages_on "$HOLD_PID" "$A")
echo "pages on $A: $on_a"
[ "$on_a" -ge $((mib * 256)) ] || fail "memhold's memory is not on node $A after attach ($on_a pages)"

step "grow web to $A,$B,$C"
zonectl resize web --nodes "$A,$B,$C"
expect_nodes "web mems" "$A,$B,$C" "$(mems_of web)"
hold_check
[ "$(pages_on "$HOLD_PID" "$A,$B,$C")" -ge $((mib * 256)) ] || fail "memhold lost pages from its nodes while growing"

step "shrink web to $B,$C: pages leave node $A first"
zonectl --json resize web --nodes "$B,$C" | tee /tmp/shrink.json
expect_nodes "web mems" "$B,$C" "$(mems_of web)"
left=$(sed -n 's/.*"pages_left": \([0-9]*\).*/\1/p' /tmp/shrink.json)
moved=$(sed -n 's/.*"pages_moved": \([0-9]*\).*/\1/p' /tmp/shrink.json)
expect_eq "pages left on $A (status query)" 0 "$left"
[ "$moved" -ge $((mib * 256)) ] || fail "moved $moved pages, fewer than $mib MiB"
expect_eq "pages on $A (numa_maps)" 0 "$(pages_on "$HOLD_PID" "$A")"
hold_check
zonectl status web

step "migrate web --to $B: every page of web's tasks onto one of its nodes"
zonectl --json migrate web --to "$B" | tee /tmp/migrate.json
expect_eq "pages on $C after migrate" 0 "$(pages_on "$HOLD_PID" "$C")"
hold_check

step "exec: the command runs in web and its exit status comes back"
zonectl exec web -- sh -c 'cat /proc/self/cgroup' | tee /tmp/exec-cgroup.txt
grep -q "softzone/web" /tmp/exec-cgroup.txt || fail "exec did not run the command in web"
run_expect_status 7 zonectl exec web -- sh -c 'exit 7'

step "destroy web: memhold goes to the cgroup root, node $B,$C free"
zonectl destroy web
[ ! -d "$CG/softzone/web" ] || fail "softzone/web still exists"
kill -0 "$HOLD_PID" || fail "memhold died"
hold_check
zonectl --json list | grep -q '"partitions": \[\]' || fail "a partition is left: $(zonectl list)"
expect_sound

step "create --size: enough free nodes are picked for 300 MiB"
zonectl --json create sized --size 300M | tee /tmp/sized.json
sized_mib=0
for node in $(nodes_of "$(mems_of sized)"); do
  sized_mib=$((sized_mib + $(sed -n 's/.*MemTotal: *\([0-9]*\) kB/\1/p' /sys/devices/system/node/node$node/meminfo) / 1024))
done
echo "sized: nodes $(mems_of sized), $sized_mib MiB"
[ "$sized_mib" -ge 300 ] || fail "create --size 300M gave nodes of only $sized_mib MiB"
zonectl destroy sized
expect_sound
hold_stop
echo "partition-lifecycle: ok"
