# demo: what an admin sees after rebooting with the numa=fake= line `zonectl plan` gave for
# examples/demo.ini: verify the kernel, apply the partitions, bind a library tree to the shared
# zone, run workloads in web and batch (one reads more than batch holds, one outgrows web and is
# OOM-killed there alone), and read the per-zone report. Then zoned lends web free nodes while a
# job outgrows it, and gives them back once the job is over and web idles: a small job still in
# web has pages on a lent node, moved off it first and checked byte for byte. The HTML report is
# left in the run's out/ directory on the host.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
. /tests/zoned-lib.sh
spec=/usr/share/softzone/examples/demo.ini
out=$SOFTZONE_OUT
say() { printf '\n$ %s\n' "$*"; }

say cat /proc/cmdline
cat /proc/cmdline
say zonectl verify "$spec"
zonectl verify "$spec" || fail "the kernel does not match the plan"

say zonectl apply "$spec"
zonectl apply "$spec" || fail "apply failed"
say zonectl list
zonectl list

# The guest's libraries live in its initramfs (/lib); a copy on the ext4 disk stands for a real
# /usr/lib whose page cache can be dropped, read back anywhere, and moved.
lib=$SOFTZONE_DISK/usr/lib
mkdir -p "$lib"
cp -a /lib/. "$lib/"
# batch's input: 256 MiB, more than batch's nodes hold.
dd if=/dev/urandom of="$SOFTZONE_DISK/data" bs=1M count=256 status=none
sync
echo 3 >/proc/sys/vm/drop_caches
say zonectl bind "$lib"
zonectl bind "$lib" || fail "bind failed"
say zonectl residency "$lib"
zonectl residency "$lib"

zonectl snapshot -o /tmp/before.json

say zonectl run batch -- cat "$SOFTZONE_DISK/data" '>/dev/null'
zonectl run batch -- sh -c "cat $SOFTZONE_DISK/data >/dev/null" || fail "batch's reader failed"

say zonectl run web -- memhog -r1 64M
zonectl run web -- memhog -r1 64M >/dev/null || fail "a 64 MiB job did not fit in web"
echo "exit status 0 (its report is folded into the one below)"

say zonectl run web -- memhog -r1 400M
status=0
zonectl run web -- memhog -r1 400M >/dev/null || status=$?
echo "exit status $status: killed by the OOM killer inside web's cpuset"
[ "$status" = 137 ] || fail "memhog in web: expected status 137, got $status"

say zonectl report --since /tmp/before.json
zonectl report --since /tmp/before.json || fail "report failed"
zonectl report --since /tmp/before.json --format html -o "$out/report.html"
zonectl --json report --since /tmp/before.json >"$out/report.json"
echo
echo "(the same report as HTML: build/demo/run/out/report.html on the host)"

# zoned on the same spec, with a [zoned] section for a demo: short interval, idle_for and
# cooldown, headroom so a ramp grows web before it stalls.
step_start=$(date +%s)
ZONED_CONFIG=/tmp/demo-zoned.ini
{
  cat "$spec"
  printf '%s\n' "[zoned]" "interval = 250ms" "sustain = 2" "headroom = 30%" "free_low = 10%" \
    "cooldown = 3s" "idle_for = 3s" "max_moves_per_minute = 30"
} >"$ZONED_CONFIG"
web_nodes=$(mems_of web)
say zoned --config "$ZONED_CONFIG" '&   # the spec with this [zoned] section:'
sed -n '/^\[zoned\]/,$p' "$ZONED_CONFIG"
zoned_start

BURST_MIB=150
say zonectl exec web -- memhold --mib $BURST_MIB --ramp 25 '&   # a job that outgrows web'
zonectl exec web -- memhold --mib "$BURST_MIB" --ramp 25 --status /tmp/burst.status &
BURST_PID=$!
wait_ready "$BURST_PID" /tmp/burst.status 120
grep -E "zoned: (grow web|done: node [0-9]+ now in web)" "$ZONED_LOG" || true
grep -q "grow web by node" "$ZONED_LOG" || fail "zoned logged no grow of web"
grown=$(mems_of web)
echo "web grew from nodes $web_nodes to $grown"
[ "$(count_nodes "$grown")" -gt "$(count_nodes "$web_nodes")" ] || fail "web did not grow: $grown"
# Only web can borrow (batch has no min/max): the one node list on loan is web's.
on_loan() { zonectl --json list | tr -d ' \n' | grep -o '"nodes_on_loan":"[^"]*"' | cut -d'"' -f4 | grep . || true; }
lent=$(on_loan)
echo "zonectl list --json: nodes_on_loan \"$lent\""
[ -n "$lent" ] || fail "zonectl list shows no node on loan: $(zonectl --json list)"

# A small job that stays: its pages spread over every node web has now, the lent ones too.
zonectl exec web -- numactl --interleave="$grown" memhold --mib 16 --seed 3 --thp off \
  --status /tmp/keep.status &
HOLD_PID=$!
HOLD_STATUS=/tmp/keep.status
wait_ready "$HOLD_PID" "$HOLD_STATUS" 120
for node in $(nodes_of "$lent"); do echo "$node $(pages_on "$HOLD_PID" "$node")"; done >/tmp/keep-pages
echo "the small job's pages on the lent nodes: $(tr '\n' ' ' </tmp/keep-pages)"

say kill "$BURST_PID" '   # the big job ends; web idles with 16 MiB in use'
kill -TERM "$BURST_PID"
wait "$BURST_PID" || fail "the big job failed"
tries=600
until [ "$(mems_of web)" = "$web_nodes" ]; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "web still has nodes $(mems_of web), not $web_nodes; log: $(tail -5 "$ZONED_LOG")"
  sleep 0.2
done
# What zoned did since the lines shown above.
grep -E "zoned: (give back|moved|done: node [0-9]+ back in)" "$ZONED_LOG" || true
grep -q "give back node .* from web to the free pool" "$ZONED_LOG" || fail "zoned logged no give-back"
moved=0
for node in $(nodes_of "$lent"); do
  [ "$(pages_on "$HOLD_PID" "$node")" -eq 0 ] || fail "the small job still has pages on node $node"
  moved=$((moved + $(awk -v node="$node" '$1 == node { print $2 }' /tmp/keep-pages)))
done
echo "the small job's $moved pages on the lent nodes were moved off them"
[ "$moved" -gt 0 ] || fail "the small job had no page on a lent node: nothing was moved"
hold_check
echo "every byte of the small job intact"
[ -z "$(on_loan)" ] || fail "nodes still on loan: $(on_loan)"
listed=$(zonectl --json list | tr -d ' \n')
case "$listed" in *'"from":"web","to":"free"'*) ;; *) fail "zonectl list shows no move from web to the free pool: $listed" ;; esac
say zonectl list
zonectl list
zoned_stop
hold_stop
echo "(zoned's part of the demo took $(($(date +%s) - step_start)) s)"
