# bind: `zonectl bind` puts a 100 MiB library-like tree's page cache on the shared zone's nodes -
# from cold (populated by a bound worker), and from A's nodes where a running process in A maps
# every file (migrated with MPOL_MF_MOVE_ALL, checked byte for byte through that process's
# mapping); tasks in A and B then read and map it and gain no page cache for it; binding again
# changes nothing. Bad input (missing path, symlink loop, unknown zone, a file being written, no
# permission) and `--lock` are in bind-errors.sh.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
# A status piped through tee is the pipeline's: without pipefail a failure would pass.
set -o pipefail
out=$SOFTZONE_OUT
make_zones
make_tree 104
pages=$(zonectl --json residency --fast "$TREE" | awk -F': ' '/"pages":/ { sub(/,/, "", $2); print $2; exit }')
echo "tree: $pages pages"

step "cold tree: bind (default zone: shared)"
zonectl bind "$TREE" | tee "$out/bind-cold.txt"
zonectl --json residency "$TREE" >"$out/res-cold.json"
zonectl residency "$TREE" | tee /tmp/res.txt
grep -q 'by zone:.* shared [0-9]* pages' /tmp/res.txt || fail "residency does not name the shared zone"
expect_eq "cached pages after a cold bind" "$pages" "$(total_of "$out/res-cold.json" cached_pages)"
expect_share "$out/res-cold.json" $SHARED 99 "after the cold bind"
grep -q "^pages populated: *$pages\$" "$out/bind-cold.txt" || fail "not every page reported populated"
treegen check "$TREE"

step "tasks in A and B read and map the bound tree: their nodes gain nothing"
in_zone A treegen check "$TREE"
in_zone B sh -c "find $TREE -type f | xargs cat >/dev/null"
start_in_zone B treegen map "$TREE" --status /tmp/map-b
map_b=$BG_PID
wait_line /tmp/map-b "ready*" 120
kill -TERM $map_b
wait $map_b || fail "B's mapping reader failed"
residency_of "$TREE" "$out/res-ab.json"
expect_none "$out/res-ab.json" $A_NODES "after A and B used it"
expect_none "$out/res-ab.json" $B_NODES "after A and B used it"
expect_share "$out/res-ab.json" $SHARED 99 "after A and B used it"

step "cached on A's nodes and mapped by a running process in A: bind migrates it"
drop_caches
start_in_zone A treegen map "$TREE" --status /tmp/map-a
map_a=$BG_PID
wait_line /tmp/map-a "ready*" 120
residency_of "$TREE" "$out/res-in-a.json"
expect_share "$out/res-in-a.json" $A_NODES 99 "before bind, A's reader holds it"
zonectl --json bind "$TREE" >"$out/bind-migrate.json"
cat "$out/bind-migrate.json" | grep -E '"pages|"complete|"move_calls|"elapsed'
expect_eq "complete" true "$(json_value "$out/bind-migrate.json" complete)"
migrated=$(json_value "$out/bind-migrate.json" pages_migrated)
[ "$migrated" -ge $((pages * 99 / 100)) ] || fail "only $migrated of $pages pages migrated"
residency_of "$TREE" "$out/res-migrated.json"
expect_share "$out/res-migrated.json" $SHARED 99 "after bind"
expect_none "$out/res-migrated.json" $A_NODES "after bind"
kill -USR1 $map_a
wait_line /tmp/map-a "ok*" 120
echo "A's mapping reads every byte intact: $(cat /tmp/map-a)"
kill -TERM $map_a
wait $map_a || fail "A's mapping reader failed"

step "bind again: nothing to do"
zonectl --json bind --zone shared "$TREE" >"$out/bind-again.json"
expect_eq "pages migrated again" 0 "$(json_value "$out/bind-again.json" pages_migrated)"
expect_eq "pages populated again" 0 "$(json_value "$out/bind-again.json" pages_populated)"
expect_eq "pages in place" "$pages" "$(json_value "$out/bind-again.json" pages_in_place)"

step "residency looks without promoting the pages it looks at"
# Read once, the tree's pages sit on the inactive list, referenced. Looking at where they are
# maps them: MADV_POPULATE_READ would mark each accessed (the second access: activated) and so
# would unmapping a mapping that is not sequential (6.1). Measured on the classic LRU lists;
# with MGLRU (6.12) Active(file) does not follow accesses and the check is only printed.
drop_caches
find "$TREE" -type f | xargs cat >/dev/null
active_file_kb() { awk '/^Active\(file\):/ { print $2 }' /proc/meminfo; }
before=$(active_file_kb)
zonectl residency "$TREE" >/dev/null
zonectl residency "$TREE" >/dev/null
after=$(active_file_kb)
echo "Active(file): $before -> $after kB, the tree is $((pages * 4)) kB"
if [ "$(cat /sys/kernel/mm/lru_gen/enabled 2>/dev/null || echo 0x0000)" = 0x0000 ]; then
  [ $((after - before)) -lt "$pages" ] || # kB: a quarter of the tree
    fail "residency activated the tree's pages: Active(file) $before -> $after kB"
fi

echo "bind: ok"
