# attach-shared: `zonectl attach` moves a process's own pages into the partition and leaves the
# page cache it shares where it is. A process started outside any partition maps a tree bound to
# the shared zone and holds patterned anonymous memory; after `zonectl attach A PID`, the tree's
# cache is still on the shared nodes, libc's cache is not on A's nodes, and the anonymous memory
# is on A's nodes, byte for byte intact. On v1 the kernel's attach migration is off and softzone
# picks the pages; on v2 the kernel moves everything and softzone puts the shared pages back.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
# A status piped through tee is the pipeline's: without pipefail a failure would pass.
set -o pipefail
out=$SOFTZONE_OUT
ANON_MIB=16

bound_tree_with_other_user

step "a process outside any partition maps the tree and fills $ANON_MIB MiB of anonymous memory"
treegen map "$TREE" --status /tmp/map --anon-mib $ANON_MIB &
pid=$!
map_ready /tmp/map "$pid"
grep -q "^0::/\$\|cpuset:/\$" "/proc/$pid/cgroup" || fail "the process is not in the root cgroup: $(cat /proc/$pid/cgroup)"
residency_of "$libc" "$out/res-libc-before.json"
libc_on_a=$(pages_on_nodes "$out/res-libc-before.json" $A_NODES)
echo "libc before the attach: $(total_of "$out/res-libc-before.json" cached_pages) pages cached, $libc_on_a on A's nodes"
expect_eq "libc pages on A's nodes before the attach" 0 "$libc_on_a"
echo "anonymous pages before the attach: $(anon_pages_on $pid "$anon" $A_NODES) of $anon_pages on A's nodes"

step "zonectl attach A $pid"
zonectl --json attach A $pid | tee "$out/attach.json"
grep -q "^$pid\$" "$(cgroup_dir A)/cgroup.procs" || fail "$pid is not in A"

step "(a) the tree's page cache is still on the shared nodes"
residency_of "$TREE" "$out/res-after.json"
expect_share "$out/res-after.json" $SHARED 99 "tree after the attach"

step "(b) the anonymous memory is on A's nodes and intact"
on_a=$(anon_pages_on $pid "$anon" $A_NODES)
echo "anonymous pages on A's nodes: $on_a of $anon_pages"
[ $((on_a * 100)) -ge $((anon_pages * 99)) ] || fail "only $on_a of $anon_pages anonymous pages on A's nodes"
kill -USR1 $pid
wait_line /tmp/map "ok*" 180
echo "every mapped and anonymous byte intact: $(cat /tmp/map)"

step "(c) libc's page cache is not on A's nodes"
residency_of "$libc" "$out/res-libc-after.json"
expect_none "$out/res-libc-after.json" $A_NODES "libc after the attach"

step "the report"
expect_eq "pages left on the shared nodes or shared" true \
  "$([ "$(json_value "$out/attach.json" pages_shared_left)" -gt 0 ] && echo true || echo false)"
if [ "$SOFTZONE_CGROUP" = v2 ]; then
  put_back=$(json_value "$out/attach.json" pages_put_back)
  not_back=$(json_value "$out/attach.json" pages_put_back_failed)
  never=$(json_value "$out/attach.json" pages_never_moved)
  left=$(json_value "$out/attach.json" pages_shared_left)
  echo "v2: of $left shared pages, the kernel moved and zonectl put back $put_back, $not_back not; $never never moved"
  [ "$put_back" -gt 0 ] || fail "v2: nothing put back"
  expect_eq "put back + not put back + never moved" "$left" $((put_back + not_back + never))
fi
zonectl attach A $pid | tee "$out/attach-again.txt"
grep -q "put back\|left in place" "$out/attach-again.txt" || fail "the text report does not say what was left"

kill -TERM $pid $other
wait $pid || fail "the mapping reader failed"
wait $other || fail "the other mapping reader failed"
echo "attach-shared: ok"
