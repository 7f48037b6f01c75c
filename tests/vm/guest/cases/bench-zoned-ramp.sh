# bench-zoned-ramp: how fast may a workload allocate and still get its nodes from zoned before
# the kernel kills it? Partition a (one node, max four) is filled with 2.5 nodes' worth of
# anonymous memory at several rates (MiB/s; 0 is memset at full speed), under four zoned
# settings: the defaults (1 s samples, stall trigger 100ms in 1s), a 10ms trigger, and headroom
# 30% with 250 ms and 100 ms samples. One RESULT line per run: exit 0 survived, 137 killed; the
# stall a's tasks had in total (memory.pressure some total); zoned's grows and which came from a
# trigger. docs/benchmarks.md has the table.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
. /tests/zoned-lib.sh

node_bounds
ANON=$((NODE_MIB * 5 / 2))

# run_ramp NAME RATE ZONED_KEYS...: a with one node, zoned with those [zoned] keys, memhold at
# RATE MiB/s. Prints one RESULT line.
run_ramp() {
  name=$1 rate=$2
  shift 2
  zonectl create a --nodes 1 --min "${NODE_MIB}M" --max "${MAX_MIB}M" >/dev/null
  {
    printf '[partition.a]\nmemory = %sM\nmin = %sM\nmax = %sM\n[zoned]\n' "$NODE_MIB" "$NODE_MIB" "$MAX_MIB"
    printf 'max_moves_per_minute = 30\n'
    printf '%s\n' "$@"
  } >"$ZONED_CONFIG"
  zoned_start
  dmesg -c >/dev/null
  start=$(cut -d' ' -f1 /proc/uptime)
  set +e
  zonectl exec a -- memhold --mib "$ANON" --ramp "$rate" --status /tmp/ramp.status &
  pid=$!
  while :; do
    case "$(cat /tmp/ramp.status 2>/dev/null)" in ready*) break ;; esac
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  end=$(cut -d' ' -f1 /proc/uptime)
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"
  status=$?
  set -e
  stall=$(sed -n 's/^some .*total=\([0-9]*\)/\1/p' "$CG/softzone/a/memory.pressure")
  zoned_stop
  echo "RESULT setting=$name rate=$rate exit=$status seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }') nodes=$(mems_of a) stall_us=$stall oom=$(dmesg | grep -c 'oom-kill:') grows=$(grep -c 'grow a' "$ZONED_LOG") trigger_grows=$(grep -c 'grow a.*stall trigger' "$ZONED_LOG")"
  : >"$ZONED_LOG"
  rm -f /tmp/ramp.status /var/lib/softzone/zoned.json
  zonectl destroy a >/dev/null
}

for rate in ${RATES:-20 40 100 0}; do
  run_ramp defaults "$rate"
  run_ramp trigger-10ms "$rate" "stall_trigger = 10ms"
  run_ramp headroom-250ms "$rate" "interval = 250ms" "headroom = 30%" "sustain = 1"
  run_ramp headroom-100ms "$rate" "interval = 100ms" "headroom = 30%" "sustain = 1"
done
echo "bench-zoned-ramp: ok"
