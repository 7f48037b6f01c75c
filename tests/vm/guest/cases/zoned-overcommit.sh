# zoned-overcommit: partitions a and b with min 1 node and max 4 nodes each (the maxima sum past
# the machine). A workload in a that grows to about three nodes' worth (anonymous memory written
# progressively, then a page-cache reader on the disk) is OOM-killed in a without zoned, and
# completes under zoned, which lends a free nodes as it grows. Then a idles and b's workload
# grows past what the free pool holds: zoned takes a node back from a (a's pages moved off it
# first) and gives it to b. Every byte of both workloads is checked.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
. /tests/zoned-lib.sh

# min: the smallest node; max: the four largest together (any four fit, five do not).
node_bounds
echo "node sizes (MiB): $(echo "$NODE_SIZES" | tr '\n' ' '); min ${NODE_MIB}M, max ${MAX_MIB}M"
zonectl create a --nodes 1 --min "${NODE_MIB}M" --max "${MAX_MIB}M"
zonectl create b --nodes 2 --min "${NODE_MIB}M" --max "${MAX_MIB}M"

# Two nodes' worth of anonymous memory, then a file of one node's worth read through the cache.
ANON_A=$((NODE_MIB * 2))
RAMP=40
dd if=/dev/zero of="$SOFTZONE_DISK/big" bs=1M count="$NODE_MIB" 2>/dev/null
sync
echo 3 >/proc/sys/vm/drop_caches

step "without zoned: $ANON_A MiB at $RAMP MiB/s in a (node 1, $(free_mib 1) MiB free) is OOM-killed"
dmesg -c >/dev/null
set +e
zonectl exec a -- memhold --mib "$ANON_A" --ramp "$RAMP" --status /tmp/nozoned.status
status=$?
set -e
echo "memhold exited $status"
[ "$status" -eq 137 ] || fail "the workload was not killed without zoned (exit $status)"
dmesg | grep "oom-kill:" | grep -q "cpuset=a," || fail "no OOM kill in cpuset a: $(dmesg | grep oom-kill)"
expect_eq "a's nodes after the kill" 1 "$(mems_of a)"

step "zoned lends free nodes to a as its workload grows"
cat >"$ZONED_CONFIG" <<CONFIG
[partition.a]
memory = ${NODE_MIB}M
min = ${NODE_MIB}M
max = ${MAX_MIB}M
[partition.b]
memory = ${NODE_MIB}M
min = ${NODE_MIB}M
max = ${MAX_MIB}M
[zoned]
interval = 250ms
sustain = 2
headroom = 30%
free_low = 10%
cooldown = 5s
max_moves_per_minute = 30
idle_for = 3s
metrics_textfile = $SOFTZONE_OUT/softzone.prom
listen = 127.0.0.1:9747
CONFIG
# The initramfs leaves the loopback interface down.
ip link set lo up
zoned_start
dmesg -c >/dev/null
HOLD_STATUS=/tmp/a.status
last_status=
zonectl exec a -- memhold --mib "$ANON_A" --ramp "$RAMP" --status "$HOLD_STATUS" &
HOLD_PID=$!
wait_ready "$HOLD_PID" "$HOLD_STATUS" 300
A_PID=$HOLD_PID
zonectl exec a -- cat "$SOFTZONE_DISK/big" >/dev/null
kill -0 "$A_PID" || fail "a's workload died under zoned"
dmesg | grep "oom-kill:" && fail "an OOM kill under zoned"
echo "a now has nodes $(mems_of a)"
[ "$(count_nodes "$(mems_of a)")" -ge 3 ] || fail "a did not grow to 3 nodes: $(mems_of a)"
grep "grow a by node" "$ZONED_LOG" || fail "zoned logged no grow of a"
hold_check

step "a idles, b grows past the free pool: a node comes back from a"
# Leave exactly two nodes free, so b (1 node now) must take a node of a to reach four.
held=" $(nodes_of "$(mems_of a)") $(nodes_of "$(mems_of b)") "
free_nodes=$(for node in 1 2 3 4 5 6 7; do case "$held" in *" $node "*) ;; *) echo "$node" ;; esac; done)
echo "free nodes: $(echo $free_nodes)"
spare=$(echo "$free_nodes" | awk '{ n[NR] = $0 } END { for (i = 1; i <= NR - 2; i++) print n[i] }' | tr '\n' ',' | sed 's/,$//')
if [ -n "$spare" ]; then zonectl create pad --nodes "$spare"; fi
# The reader is done; its cache is dropped so that what a holds is its processes' memory. A
# second workload spreads its pages over the nodes of a that have room (interleaved, in 4 KiB
# pages): zoned takes back the node with the least in use, which then holds some of a's pages
# that must move off it first.
echo 1 >/proc/sys/vm/drop_caches
SPREAD_STATUS=/tmp/a2.status
# Only nodes with room: a page interleaved onto a full node (no swap here) hung the allocation.
roomy=$(for node in $(nodes_of "$(mems_of a)"); do
  if [ "$(free_mib "$node")" -gt 60 ]; then echo "$node"; fi
done | tr '\n' ',' | sed 's/,$//')
echo "a's second workload interleaved over nodes $roomy of $(mems_of a)"
[ -n "$roomy" ] || fail "no node of a has room"
zonectl exec a -- numactl --interleave="$roomy" memhold --mib $((20 * $(count_nodes "$roomy"))) \
  --seed 2 --thp off --status "$SPREAD_STATUS" &
SPREAD_PID=$!
wait_ready "$SPREAD_PID" "$SPREAD_STATUS" 300
A_NODES_BEFORE=$(mems_of a)
# a's pages on each of its nodes now: the node taken back must have had some, and have none after.
for node in $(nodes_of "$A_NODES_BEFORE"); do
  echo "$node $(($(pages_on "$A_PID" "$node") + $(pages_on "$SPREAD_PID" "$node")))"
done >/tmp/a-pages-before
cat /tmp/a-pages-before
# More than any three nodes hold: b must get a fourth, and only a has one to give.
ANON_B=$((LARGE_MIB * 3 + LARGE_MIB / 3))
B_STATUS=/tmp/b.status
# Half a's rate: b must outlive zoned's kill and restart, whose idle clock for a starts again at
# zero (a restart forgets how long a has been idle), before a node comes back to it.
zonectl exec b -- memhold --mib "$ANON_B" --ramp $((RAMP / 2)) --status "$B_STATUS" &
B_PID=$!
# Once the free pool is empty the next move is a take-over: zoned is killed right after it moved
# a's pages off the node (resize.migrate of a's shrink), and started again to finish the job.
wait_for_nodes b 3 300
zoned_stop
zoned_killed_at resize.migrate "$B_PID" "$B_STATUS"
grep -q '"name": *"a"' /run/softzone/journal.json || fail "the journal is not a's shrink: $(cat /run/softzone/journal.json)"
zoned_start
[ ! -e /run/softzone/journal.json ] || fail "zoned did not recover the take-over at start"
wait_ready "$B_PID" "$B_STATUS" 600
echo "b has nodes $(mems_of b), a has $(mems_of a) (had $A_NODES_BEFORE)"
grep "take node .* from a for b" "$ZONED_LOG" || fail "zoned took no node from a for b"
taken=$(sed -n 's/.*take node \([0-9]*\) .* from a for b.*/\1/p' "$ZONED_LOG" | head -1)
case " $(nodes_of "$(mems_of b)") " in *" $taken "*) ;; *) fail "node $taken is not b's: $(mems_of b)" ;; esac
had=$(awk -v node="$taken" '$1 == node { print $2 }' /tmp/a-pages-before)
echo "a had ${had:-0} pages on node $taken before the take-over"
[ "${had:-0}" -gt 0 ] || fail "the node taken back held none of a's pages: nothing was moved"
for pid in "$A_PID" "$SPREAD_PID"; do
  [ "$(pages_on "$pid" "$taken")" -eq 0 ] || fail "pid $pid of a still has $(pages_on "$pid" "$taken") pages on node $taken"
done
hold_check
HOLD_PID=$SPREAD_PID HOLD_STATUS=$SPREAD_STATUS last_status=
hold_check
HOLD_PID=$B_PID HOLD_STATUS=$B_STATUS last_status=
hold_check
dmesg | grep "oom-kill:" && fail "an OOM kill under zoned"

step "zoned's /metrics over HTTP, on loopback only; zoned stops; state and metrics"
wget -qO "$SOFTZONE_OUT/http.prom" http://127.0.0.1:9747/metrics || fail "GET /metrics failed"
grep 'softzone_nodes{zone="b"}' "$SOFTZONE_OUT/http.prom" || fail "no metrics for b over HTTP"
wget -q --spider http://127.0.0.1:9747/metrics || fail "HEAD /metrics failed"
if wget -qO /dev/null http://127.0.0.1:9747/; then fail "/ answered, not 404"; fi
# The only socket listening on port 9747 (0x2613) is bound to 127.0.0.1 (0100007F), none on v6.
listeners=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:2613$/ && $4 == "0A" { print $2 }')
echo "listening on port 9747: $listeners"
expect_eq "listeners on port 9747" "0100007F:2613" "$listeners"
zoned_stop
cat /var/lib/softzone/zoned.json
grep -q '"loans"' /var/lib/softzone/zoned.json || fail "no loans in zoned's state"
grep 'softzone_nodes{zone="b"}' "$SOFTZONE_OUT/softzone.prom" || fail "no metrics for b"
grep -q "failed" "$ZONED_LOG" && fail "zoned logged a failure: $(grep failed "$ZONED_LOG")"
kill -TERM "$B_PID" "$A_PID" "$SPREAD_PID"
wait "$SPREAD_PID" || fail "a's second memhold exited with failure"
wait "$B_PID" || fail "b's memhold exited with failure"
wait "$A_PID" || fail "a's memhold exited with failure"
for name in a b pad; do [ -d "$CG/softzone/$name" ] && zonectl destroy "$name"; done
expect_sound
echo "zoned-overcommit: ok"
