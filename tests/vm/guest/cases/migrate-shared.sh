# migrate-shared: `zonectl migrate NAME --to NODES` moves a partition's own pages and leaves the
# page cache its processes share where it is, as attach does. A process of partition A maps a tree
# bound to the shared zone and libc (both also mapped by a process outside any partition) and
# holds patterned anonymous memory on A's nodes; after `zonectl migrate A --to TO` (TO: the node
# of A holding fewer of those pages, so that they have to move), the tree's cache is still on the
# shared nodes, libc's cache did not follow onto TO, and the anonymous memory is on TO, byte for
# byte intact; and numa_maps, which sees every page, shows none of the process's pages left on
# A's other node (the migrate's own count says the same, or it exits 1).
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/cases/shared-lib.sh
# A status piped through tee is the pipeline's: without pipefail a failure would pass.
set -o pipefail
out=$SOFTZONE_OUT
ANON_MIB=16

bound_tree_with_other_user

step "a process of partition A maps the tree and fills $ANON_MIB MiB of anonymous memory"
start_in_zone A treegen map "$TREE" --status /tmp/map --anon-mib $ANON_MIB
pid=$BG_PID
map_ready /tmp/map "$pid"
grep -q "^$pid\$" "$(cgroup_dir A)/cgroup.procs" || fail "$pid is not in A"
residency_of "$libc" "$out/res-libc-before.json"
libc_cached=$(total_of "$out/res-libc-before.json" cached_pages)
libc_on_a=$(pages_on_nodes "$out/res-libc-before.json" $A_NODES)
echo "libc before the migrate: $libc_cached pages cached, $libc_on_a on A's nodes"
[ "$libc_cached" -gt "$libc_on_a" ] || fail "libc's cache is all on A's nodes already: nothing to leave"

on3=$(anon_pages_on $pid "$anon" 3)
on4=$(anon_pages_on $pid "$anon" 4)
if [ "$on3" -le "$on4" ]; then TO=3 GIVEN_UP=4; else TO=4 GIVEN_UP=3; fi
to_move=$(pages_on $pid $GIVEN_UP)
echo "anonymous pages on node 3: $on3, on node 4: $on4; all pages on node $GIVEN_UP: $to_move"
[ "$to_move" -gt 0 ] || fail "no page on node $GIVEN_UP: the migrate would have nothing to move"

step "zonectl migrate A --to $TO"
zonectl --json migrate A --to $TO >"$out/migrate.json" || { cat "$out/migrate.json"; fail "zonectl migrate A --to $TO failed"; }
cat "$out/migrate.json"
shared_left=$(json_value "$out/migrate.json" pages_shared_left)
[ "$shared_left" -gt 0 ] || fail "the report leaves no shared page in place ($shared_left)"

step "(a) the tree's page cache is still on the shared nodes"
residency_of "$TREE" "$out/res-after.json"
expect_share "$out/res-after.json" $SHARED 99 "tree after the migrate"

step "(b) libc's page cache did not follow onto node $TO"
residency_of "$libc" "$out/res-libc-after.json"
libc_on_to=$(pages_on_nodes "$out/res-libc-after.json" $TO)
echo "libc after the migrate: $libc_on_to pages on node $TO ($libc_on_a were on A's nodes before)"
[ "$libc_on_to" -le "$libc_on_a" ] || fail "libc pages on node $TO: $libc_on_to, more than the $libc_on_a that were A's"

step "(c) the anonymous memory is on node $TO and intact"
on_to=$(anon_pages_on $pid "$anon" $TO)
echo "anonymous pages on node $TO: $on_to of $anon_pages"
[ $((on_to * 100)) -ge $((anon_pages * 99)) ] || fail "only $on_to of $anon_pages anonymous pages on node $TO"
kill -USR1 $pid
wait_line /tmp/map "ok*" 180
echo "every mapped and anonymous byte intact: $(cat /tmp/map)"

step "(d) numa_maps shows none of the process's pages on node $GIVEN_UP, the node of A it gave up"
expect_eq "the process's pages on node $GIVEN_UP (numa_maps)" 0 "$(pages_on $pid $GIVEN_UP)"
expect_eq "pages left (the migrate's count)" 0 "$(json_value "$out/migrate.json" pages_left)"
moved=$(json_value "$out/migrate.json" pages_moved)
[ "$moved" -ge "$to_move" ] || fail "moved $moved pages, fewer than the $to_move on node $GIVEN_UP"

step "the text report says what was left"
zonectl migrate A --to $TO >"$out/migrate-again.txt" || { cat "$out/migrate-again.txt"; fail "the second migrate failed"; }
cat "$out/migrate-again.txt"
grep -q "shared pages left in place" "$out/migrate-again.txt" || fail "the text report does not say what was left"

kill -TERM $pid $other
wait $pid || fail "the mapping reader failed"
wait $other || fail "the other mapping reader failed"
echo "migrate-shared: ok"
