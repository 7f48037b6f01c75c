# report-reclaim: a page-cache workload on the ext4 disk in A under pressure shows reclaimed
# pages for A and none for idle B, and the JSON's reclaim totals equal an independent trace of
# the same tracepoint (checked on the host by checks/report_reclaim.py); zones add up to MemTotal.
# The trigger snapshot installs stays through the reports and goes with `report --stop-trace`;
# a plain report never installs it.
. /tests/lib.sh
. /tests/cases/report-lib.sh
out=$SOFTZONE_OUT
make_partitions

step "snapshot (installs the reclaim hist trigger), then an independent trace"
zonectl snapshot -o "$out/snap.json"
grep -q 'keys=nid' /sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/hist || fail "no hist trigger after snapshot"
trace_instance_start check

step "page-cache workload in A: write 288 MiB to the disk and read it back (A holds ~250 MiB)"
zonectl --json run A --interval 500 -o "$out/run.json" -- sh -c \
  "dd if=/dev/zero of=$SOFTZONE_DISK/big bs=1M count=288 2>/dev/null && sync && cat $SOFTZONE_DISK/big >/dev/null"
sleep 2
zonectl --json report --since "$out/snap.json" >"$out/report.json"
trace_instance_stop check "$out/trace.txt"
cat /sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/hist >"$out/hist.txt"
zonectl report --since "$out/snap.json"
zonectl report --since "$out/snap.json" --format html -o "$out/report.html"

a=$(zone_value "$out/report.json" A reclaim_reclaimed_pages)
b=$(zone_value "$out/report.json" B reclaim_reclaimed_pages)
echo "reclaimed pages: A=$a B=$b"
[ "$a" -gt 0 ] || fail "no reclaim reported for A"
expect_eq "reclaim in idle B" 0 "$b"
grep -c mm_vmscan_lru_shrink_inactive "$out/trace.txt" || true

step "reports read the trigger snapshot installed and leave it; --stop-trace removes it"
hist=/sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/hist
grep -q 'keys=nid' $hist || fail "the trigger snapshot installed is gone after the reports"
zonectl report --stop-trace >"$out/stop.txt"
grep -q 'reclaim hist trigger removed' "$out/stop.txt" || fail "--stop-trace did not say so"
if grep -q 'keys=nid' $hist; then fail "the trigger is still installed after --stop-trace"; fi
zonectl --json report >"$out/after-stop.json"
if grep -q 'keys=nid' $hist; then fail "a plain report installed the trigger"; fi
grep -q '"reclaim_reclaimed_pages": null' "$out/after-stop.json" ||
  fail "without the trigger, reclaim is not null"
grep -q 'zonectl snapshot installs it' "$out/after-stop.json" || fail "the report does not say how to count"
echo "report-reclaim: ok"
