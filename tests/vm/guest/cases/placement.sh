# placement: the page-placement engine (migrate_probe over libsoftzone_zones) moves a process's
# memory between fake nodes and loses nothing: 200 MiB held on two nodes (SRC) goes to two others
# (DST) with one worker and back with two, each byte checked after every move and a census showing
# no page left behind; a move to one node too small for it reports its ENOMEM failures and moves
# what fits. The same again by the migrate_pages method (one migrate_pages(2) call per source
# node, concurrently, move_pages for what it leaves). Then pages NUMA balancing has marked for hinting faults, which 6.1's status query
# cannot see, are moved all the same (the engine sweeps them with migrate_pages), as numa_maps,
# the kernel's own count, confirms. Nodes are chosen by free memory: fake node sizes differ from
# boot to boot.
. /tests/lib.sh
. /tests/placement-lib.sh
nodes=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
[ "$nodes" -ge 8 ] || fail "needs 8 fake nodes, has $nodes"
mib=${PLACEMENT_MIB:-200}
numactl --hardware | grep -E 'size|free'
pick_nodes
for set in "$SRC" "$DST"; do
  [ "$(free_mib_of "$set")" -gt $((mib + 16)) ] || fail "nodes $set have too little free for $mib MiB"
done

# expect_complete FILE FROM MIB: the report says all MIB moved, none is left, numa_maps agrees.
expect_complete() {
  cat "$1"
  expect_eq "pages failed" 0 "$(value_of pages_failed "$1")"
  expect_eq "pages left on $2 (report)" 0 "$(value_of pages_left_on_from "$1")"
  done_pages=$(($(value_of pages_moved "$1") + $(value_of pages_swept "$1")))
  [ "$done_pages" -ge $(($3 * 256)) ] || fail "moved $done_pages pages, fewer than $3 MiB"
  expect_eq "pages left on $2 (numa_maps)" 0 "$(pages_on "$HOLD_PID" "$2")"
}

step "memhold $mib MiB bound to nodes $SRC"
hold_start "$mib" numactl --membind="$SRC"
on_source=$(pages_on "$HOLD_PID" "$SRC")
echo "pages on $SRC: $on_source"
[ "$on_source" -ge $((mib * 256)) ] || fail "memhold's memory is not on nodes $SRC ($on_source pages)"

step "move $SRC -> $DST, one worker"
migrate_probe move --pid "$HOLD_PID" --from "$SRC" --to "$DST" >/tmp/move1.txt
expect_complete /tmp/move1.txt "$SRC" "$mib"
hold_check
echo "memory intact"

step "move $DST -> $SRC, two workers"
migrate_probe move --pid "$HOLD_PID" --from "$DST" --to "$SRC" --workers 2 >/tmp/move2.txt
expect_complete /tmp/move2.txt "$DST" "$mib"
hold_check
echo "memory intact"

step "move $SRC -> $SMALL alone, too small: failures are reported, what fits moves"
small_mib=$(free_mib "$SMALL")
echo "node $SMALL: $small_mib MiB free"
[ "$small_mib" -lt "$mib" ] || fail "node $SMALL ($small_mib MiB free) can hold $mib MiB"
migrate_probe move --pid "$HOLD_PID" --from "$SRC" --to "$SMALL" >/tmp/move3.txt
cat /tmp/move3.txt
found=$(value_of pages_found /tmp/move3.txt)
moved=$(value_of pages_moved /tmp/move3.txt)
failed=$(value_of pages_failed /tmp/move3.txt)
enomem=$(value_of failed_ENOMEM /tmp/move3.txt)
[ "$failed" -gt 0 ] || fail "nothing failed although node $SMALL cannot hold $mib MiB"
[ "$enomem" -gt 0 ] || fail "no ENOMEM among the failures"
[ "$moved" -gt 0 ] || fail "nothing moved to node $SMALL"
expect_eq "moved + failed + gone" "$found" \
  "$((moved + failed + $(value_of pages_gone /tmp/move3.txt)))"
left=$(pages_on "$HOLD_PID" "$SRC")
on_small=$(pages_on "$HOLD_PID" "$SMALL")
echo "numa_maps: $left pages on $SRC, $on_small on $SMALL"
expect_eq "pages left on $SRC (report and numa_maps)" "$(value_of pages_left_on_from /tmp/move3.txt)" "$left"
[ "$left" -ge "$failed" ] || fail "numa_maps has $left pages on $SRC, the report $failed failed"
[ "$on_small" -ge "$moved" ] || fail "numa_maps has $on_small pages on $SMALL, the report $moved moved"
hold_check
echo "memory intact"

step "all of it to $DST"
migrate_probe move --pid "$HOLD_PID" --from "$SRC,$SMALL" --to "$DST" >/tmp/move4.txt
expect_complete /tmp/move4.txt "$SRC,$SMALL" "$mib"
hold_check

step "$DST -> $SRC by migrate_pages, one call per source node on two workers"
migrate_probe move --pid "$HOLD_PID" --from "$DST" --to "$SRC" --method migrate_pages --workers 2 \
  >/tmp/move6.txt
expect_complete /tmp/move6.txt "$DST" "$mib"
[ "$(value_of pages_migrated /tmp/move6.txt)" -gt 0 ] || fail "migrate_pages moved nothing"
hold_check
echo "memory intact"

step "$SRC -> $SMALL by migrate_pages, too small: failures are reported, what fits moves"
migrate_probe move --pid "$HOLD_PID" --from "$SRC" --to "$SMALL" --method migrate_pages \
  --workers 2 >/tmp/move7.txt
cat /tmp/move7.txt
found=$(value_of pages_found /tmp/move7.txt)
moved=$(value_of pages_moved /tmp/move7.txt)
failed=$(value_of pages_failed /tmp/move7.txt)
[ "$failed" -gt 0 ] || fail "nothing failed although node $SMALL cannot hold $mib MiB"
[ "$(value_of failed_ENOMEM /tmp/move7.txt)" -gt 0 ] || fail "no ENOMEM among the failures"
[ "$moved" -gt 0 ] || fail "nothing moved to node $SMALL"
expect_eq "moved + failed + gone" "$found" \
  "$((moved + failed + $(value_of pages_gone /tmp/move7.txt)))"
left=$(pages_on "$HOLD_PID" "$SRC")
echo "numa_maps: $left pages on $SRC, $(pages_on "$HOLD_PID" "$SMALL") on $SMALL"
expect_eq "pages left on $SRC (report and numa_maps)" "$(value_of pages_left_on_from /tmp/move7.txt)" "$left"
[ "$left" -ge "$failed" ] || fail "numa_maps has $left pages on $SRC, the report $failed failed"
hold_check
echo "memory intact"

step "all of it to $DST by migrate_pages"
migrate_probe move --pid "$HOLD_PID" --from "$SRC,$SMALL" --to "$DST" --method migrate_pages \
  --workers 2 >/tmp/move8.txt
expect_complete /tmp/move8.txt "$SRC,$SMALL" "$mib"
hold_check
hold_stop

step "pages marked for NUMA hinting faults, in a cpuset on $SRC"
hidden_mib=100
echo 1 >/proc/sys/kernel/numa_balancing
knobs=/sys/kernel/debug/sched/numa_balancing
# Scan at once and often, so memhold's pages are marked while it fills them.
if [ -d "$knobs" ]; then
  echo 0 >"$knobs/scan_delay_ms"
  echo 100 >"$knobs/scan_period_min_ms"
fi
updates_before=$(sed -n 's/^numa_pte_updates //p' /proc/vmstat)
cpuset_make placement-hidden "$SRC"
hold_start_in_cpuset "$hidden_mib"
echo "PTEs marked by NUMA balancing: $(($(sed -n 's/^numa_pte_updates //p' /proc/vmstat) - updates_before))"
echo "census: $(migrate_probe census --pid "$HOLD_PID" | tr '\n' ' ')"
# The move may only target nodes in the cpuset; widening moves nothing (all pages are inside).
echo "$SRC,$DST" >"$CPUSET_DIR/cpuset.mems"
migrate_probe move --pid "$HOLD_PID" --from "$SRC" --to "$DST" >/tmp/move5.txt
expect_complete /tmp/move5.txt "$SRC" "$hidden_mib"
hidden=$(value_of pages_hidden /tmp/move5.txt)
echo "pages hidden from the status query: $hidden, swept by migrate_pages: $(value_of pages_swept /tmp/move5.txt)"
case "$SOFTZONE_KERNEL" in
  6.1.*) [ "$hidden" -gt 0 ] || echo "note: NUMA balancing marked no page this run" ;;
esac
hold_check
hold_stop
rmdir "$CPUSET_DIR"

step "a process that is gone"
sleep 0.1 &
gone=$!
wait "$gone"
run_expect_status 1 migrate_probe move --pid "$gone" --from "$SRC" --to "$DST"
echo "placement: ok"
