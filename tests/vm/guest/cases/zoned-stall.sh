# zoned-stall: the PSI stall trigger (cgroup v2). Partition a (one node, max four) on a machine
# with swap gets a workload that outgrows its node: its tasks stall in reclaim, swapping. zoned
# samples only every 60 s, so a grow that comes sooner can only come from a trigger's event: the
# log line says so. With stall_trigger = 0ms the same workload has swapped what it could not fit
# and still has one node.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
. /tests/zoned-lib.sh

node_bounds
ANON_MIB=$((NODE_MIB * 2))
# Swap, as on most servers: without it an anonymous workload is OOM-killed after a few tens of
# milliseconds of stall (measured, bench-zoned-ramp), before any trigger can matter.
dd if=/dev/zero of="$SOFTZONE_DISK/swap" bs=1M count=512 2>/dev/null
chmod 600 "$SOFTZONE_DISK/swap"
mkswap "$SOFTZONE_DISK/swap" >/dev/null
swapon "$SOFTZONE_DISK/swap"

# outgrow TRIGGER: a made with one node, zoned with stall_trigger TRIGGER, the workload started;
# sets grown to the seconds until a had two nodes, or "none" once the workload is ready (all its
# memory written, what did not fit swapped) or after 45 s, well before zoned's second sample.
outgrow() {
  zonectl create a --nodes 1 --min "${NODE_MIB}M" --max "${MAX_MIB}M" >/dev/null
  cat >"$ZONED_CONFIG" <<CONFIG
[partition.a]
memory = ${NODE_MIB}M
min = ${NODE_MIB}M
max = ${MAX_MIB}M
[zoned]
interval = 60s
stall_trigger = $1
CONFIG
  zoned_start
  start=$(cut -d' ' -f1 /proc/uptime)
  HOLD_STATUS=/tmp/hold.status last_status=
  rm -f "$HOLD_STATUS"
  zonectl exec a -- memhold --mib "$ANON_MIB" --ramp 100 --status "$HOLD_STATUS" &
  HOLD_PID=$!
  grown=none
  while [ "$(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print (b - a < 45) }')" = 1 ]; do
    case "$(cat "$HOLD_STATUS" 2>/dev/null)" in ready*) break ;; esac
    if [ "$(count_nodes "$(mems_of a)")" -ge 2 ]; then
      grown=$(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')
      break
    fi
    sleep 0.2
  done
  echo "stall_trigger $1: a had two nodes after: ${grown} s; a's stall: $(head -1 "$CG/softzone/a/memory.pressure"); swap used: $(awk '/SwapTotal/ { t = $2 } /SwapFree/ { f = $2 } END { print (t - f) / 1024 }' /proc/meminfo) MiB"
  wait_ready "$HOLD_PID" "$HOLD_STATUS" 300
  hold_check
  hold_stop
  zoned_stop
  rm -f /var/lib/softzone/zoned.json
  zonectl destroy a >/dev/null
}

step "stall trigger on (50ms in 1s): a grows on a stall event before the next sample"
outgrow 50ms
[ "$grown" != none ] || fail "a did not grow before its workload was ready; zoned: $(tail -5 "$ZONED_LOG")"
grep "grow a by node .* now: PSI stall trigger (some 50ms in 1s) fired" "$ZONED_LOG" ||
  fail "the grow did not come from the stall trigger: $(grep 'grow a' "$ZONED_LOG")"
grep -q "no stall trigger" "$ZONED_LOG" && fail "a trigger could not be armed: $(grep 'no stall trigger' "$ZONED_LOG")"

step "stall trigger off: the same workload gets no node before the next sample"
: >"$ZONED_LOG"
outgrow 0ms
[ "$grown" = none ] || fail "a grew after $grown s with the trigger off: $(grep 'grow a' "$ZONED_LOG")"
swapoff "$SOFTZONE_DISK/swap"
expect_sound
echo "zoned-stall: ok"
