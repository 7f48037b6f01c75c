# zoned-keeper: zoned keeps the spec's [shared] bind tree on the shared zone's nodes. With zoned
# running (bind_check = 1s): (a) a new file written into the tree by a task of A, and read there,
# is back on the shared nodes within a check (+ slack); (b) the tree evicted and read again by a
# task of B comes back too; every byte is checked. A dry run prints what it would move and moves
# nothing; a bound path that cannot be walked fails the check, counted, never "nothing to do",
# and the other tree is still kept.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
. /tests/zoned-lib.sh
set -o pipefail
out=$SOFTZONE_OUT
METRICS=$out/softzone.prom
CHECK_MS=1000
# A check runs at the first sample (250 ms apart) a bind_check after the last one, and takes
# well under a second for this tree: a page is back within 1.25 s plus the check; 5 s of slack
# for the loaded CI host.
LIMIT_S=7

make_zones
make_tree 16
step "the tree bound once, as zonectl bind leaves it"
zonectl bind "$TREE" >/dev/null
residency_of "$TREE" "$out/res-bound.json"
expect_share "$out/res-bound.json" $SHARED 99 "after bind"

# write_config PATHS: the zones' spec with PATHS bound in [shared], and zoned's section.
write_config() {
  awk -v bind="bind = $1" '{ print } /^\[shared\]/ { print bind }' /tmp/zones.ini >"$ZONED_CONFIG"
  cat >>"$ZONED_CONFIG" <<CONFIG
[zoned]
interval = 250ms
bind_check = ${CHECK_MS}ms
metrics_textfile = $METRICS
CONFIG
}
write_config "$TREE"
cat "$ZONED_CONFIG"

# metric NAME: the sum of NAME's samples in the textfile (0 when it has none).
metric() {
  awk -v name="$1" 'index($0, name) == 1 && substr($0, length(name) + 1, 1) ~ /[{ ]/ { s += $NF }
    END { print s + 0 }' "$METRICS"
}

# wait_on_shared PATH WHAT: until every cached page of PATH is on the shared nodes (none on A's
# or B's); prints how long it took, fails after LIMIT_S.
wait_on_shared() {
  started=$(date +%s)
  while :; do
    residency_of "$1" /tmp/res.json
    off=$(($(total_of /tmp/res.json cached_pages) - $(pages_on_nodes /tmp/res.json $SHARED)))
    [ "$off" -eq 0 ] && break
    [ $(($(date +%s) - started)) -le $LIMIT_S ] ||
      fail "$2: $off pages still off the shared nodes after $LIMIT_S s: $(tail -5 "$ZONED_LOG")"
    sleep 0.2
  done
  echo "$2: every cached page on nodes $SHARED after $(($(date +%s) - started)) s"
  cp /tmp/res.json "$out/res-$(echo "$2" | tr ' ' '-').json"
}

step "zoned keeps $TREE bound (bind_check ${CHECK_MS}ms)"
zoned_start
tries=50
until [ -s "$METRICS" ] && checks=$(metric softzone_zoned_bind_checks_total) && [ "$checks" -ge 1 ]; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "no check of the tree in 10 s: $(tail -5 "$ZONED_LOG")"
  sleep 0.2
done
# Each file once, however many hard links lead to it.
expect_eq "files in the tree at the first check" \
  "$(find "$TREE" -type f -exec stat -c %i {} + | sort -u | wc -l)" "$(metric softzone_zoned_bind_files)"

step "(a) a new file written and read by a task of A"
# Written beside the tree and renamed into it, as package managers install files: the keeper
# leaves a file open for writing alone (its pages are being dirtied), and counts it.
# One of treegen's files, so `treegen check` checks it with the rest of the tree.
treegen make /tmp/gen --mib 4 >/dev/null
cp "$(ls -S $(find /tmp/gen -type f) | head -1)" /tmp/new.bin
want=$(md5sum </tmp/new.bin)
mkdir -p "$TREE/new" "$SOFTZONE_DISK/stage"
in_zone A sh -c "cat /tmp/new.bin >$SOFTZONE_DISK/stage/file.bin && sync &&
  mv $SOFTZONE_DISK/stage/file.bin $TREE/new/file.bin && cat $TREE/new/file.bin >/dev/null"
residency_of "$TREE/new/file.bin" "$out/res-new-before.json"
echo "written in A: $(pages_on_nodes "$out/res-new-before.json" $A_NODES) pages on A's nodes $A_NODES"
wait_on_shared "$TREE/new/file.bin" "new file"
expect_eq "the new file's bytes" "$want" "$(md5sum <"$TREE/new/file.bin")"

step "(b) the tree evicted and read again by a task of B"
drop_caches
in_zone B sh -c "find $TREE -type f | xargs cat >/dev/null"
residency_of "$TREE" "$out/res-reread-before.json"
echo "read in B: $(pages_on_nodes "$out/res-reread-before.json" $B_NODES) pages on B's nodes $B_NODES"
[ "$(pages_on_nodes "$out/res-reread-before.json" $B_NODES)" -gt 0 ] ||
  echo "note: the keeper moved them before residency looked"
wait_on_shared "$TREE" "re-read tree"
treegen check "$TREE"
expect_eq "the new file's bytes after eviction" "$want" "$(md5sum <"$TREE/new/file.bin")"
moved=$(metric softzone_zoned_bind_pages_moved_total)
echo "pages moved back by zoned: $moved"
[ "$moved" -gt 0 ] || fail "softzone_zoned_bind_pages_moved_total is 0"
# A page the reader in B holds at the moment a check moves it is busy (EBUSY): counted, and its
# file looked at again at the next check (the tree is wholly back, checked above). Any other
# reason is a failure of the case.
grep '^softzone_zoned_bind_failures_total' "$METRICS" | grep -v 'reason="busy"' &&
  fail "failures other than busy pages: $(grep bind_failures "$METRICS")"
grep "shared keeper: moved" "$ZONED_LOG" | tail -3
grep -E '^softzone_zoned_(bind|last_bind)' "$METRICS"
zoned_stop

step "--dry-run: says what it would move, moves nothing"
drop_caches
in_zone A sh -c "cat $TREE/new/file.bin >/dev/null"
residency_of "$TREE/new/file.bin" /tmp/res-a.json
on_a=$(pages_on_nodes /tmp/res-a.json $A_NODES)
[ "$on_a" -gt 0 ] || fail "the file read in A has no page on A's nodes"
zoned --config "$ZONED_CONFIG" --dry-run --once >/tmp/dry.txt 2>>"$ZONED_LOG"
cat /tmp/dry.txt
grep -q "would move [0-9]* pages of $TREE/new/file.bin back to the shared zone's nodes $SHARED" /tmp/dry.txt ||
  fail "the dry run did not name the file"
residency_of "$TREE/new/file.bin" /tmp/res-a2.json
expect_eq "pages on A's nodes after the dry run" "$on_a" "$(pages_on_nodes /tmp/res-a2.json $A_NODES)"

step "a bound path that cannot be walked: the check fails, counted and logged; the tree is kept"
write_config "$TREE /nonexistent"
# The file read in A before the dry run is still on A's nodes: the walkable tree is still kept.
run_expect_status 1 zoned --config "$ZONED_CONFIG" --once 2>>"$ZONED_LOG"
residency_of "$TREE/new/file.bin" /tmp/res-a3.json
expect_eq "pages on A's nodes after a check with a missing path" 0 \
  "$(pages_on_nodes /tmp/res-a3.json $A_NODES)"
grep "shared keeper: walking the bound trees: .*nonexistent" "$ZONED_LOG" ||
  fail "the failed walk was not logged: $(tail -5 "$ZONED_LOG")"
grep 'softzone_zoned_bind_failures_total{zone="shared",reason="walk"} [1-9]' "$METRICS" ||
  fail "the failed walk was not counted: $(grep bind_failures "$METRICS")"

echo "zoned-keeper: ok"
