# zoned-thrash: two partitions pressured in turns for minutes must not make zoned thrash. a and b
# (one node each, max four) share one free node (partition c holds the rest and has no bounds, so
# zoned never moves its nodes); a workload fills 85% of a's memory, stops, fills b's, stops, and
# so on, each turn shorter than the cooldown. Counted from zoned's own log, stamped with the uptime
# as each line arrives: no 60 s window holds more moves than max_moves_per_minute, no node moves
# again inside the cooldown, and zoned said it held back for the cooldown at least once. Every
# turn's memory is checked byte for byte.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
. /tests/zoned-lib.sh

TURNS=${TURNS:-8}
TURN_S=12
COOLDOWN_S=20
RATE=3
node_bounds

# fill_mib ZONE: 85% of the memory ZONE holds now: under headroom's 30% whatever its nodes' sizes
# (a fixed share of the smallest node left a larger one above it, and no turn moved anything).
fill_mib() {
  mib=0
  for node in $(nodes_of "$(mems_of "$1")"); do mib=$((mib + $(total_mib "$node"))); done
  echo $((mib * 85 / 100))
}

zonectl create a --nodes 1 --min "${NODE_MIB}M" --max "${MAX_MIB}M" >/dev/null
zonectl create b --nodes 2 --min "${NODE_MIB}M" --max "${MAX_MIB}M" >/dev/null
zonectl create c --nodes 3-6 >/dev/null
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
interval = 500ms
sustain = 1
headroom = 30%
cooldown = ${COOLDOWN_S}s
max_moves_per_minute = $RATE
idle_for = 3s
CONFIG

# zoned's stderr through a FIFO to a loop that prefixes each line with the uptime (builtins only).
STAMPED=$SOFTZONE_OUT/zoned-stamped.log
mkfifo /tmp/zoned.fifo
while IFS= read -r line; do
  read -r up _ </proc/uptime
  echo "$up $line"
done </tmp/zoned.fifo >>"$STAMPED" &
zoned --config "$ZONED_CONFIG" 2>/tmp/zoned.fifo &
ZONED_PID=$!
tries=100
until grep -q "zoned: started" "$STAMPED" 2>/dev/null; do
  kill -0 "$ZONED_PID" 2>/dev/null || fail "zoned did not start: $(cat "$STAMPED")"
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "zoned did not say it started"
  sleep 0.2
done

step "$TURNS turns of $TURN_S s, a and b in turn filling 85% of their memory (cooldown ${COOLDOWN_S}s, $RATE moves a minute)"
turn=0
while [ "$turn" -lt "$TURNS" ]; do
  if [ $((turn % 2)) = 0 ]; then zone=a; else zone=b; fi
  fill=$(fill_mib "$zone")
  HOLD_ARGS="--ramp 40" hold_start "$fill" zonectl exec "$zone" --
  sleep "$TURN_S"
  hold_check
  hold_stop
  echo "turn $turn ($zone, $fill MiB): a $(mems_of a), b $(mems_of b)"
  turn=$((turn + 1))
done
zoned_stop
sleep 0.5

step "zoned's moves, from its log"
grep ' zoned: done: ' "$STAMPED" || true
moves=$(grep -c ' zoned: done: ' "$STAMPED" || true)
echo "moves: $moves; held back for the cooldown: $(grep -c 'cooldown: node' "$STAMPED" || true); for the rate limit: $(grep -c 'rate limit' "$STAMPED" || true)"
[ "$moves" -ge 2 ] || fail "zoned made $moves moves: the turns did not make it move"
grep -q 'cooldown: node' "$STAMPED" || fail "zoned never held a node back for its cooldown: the case did not test it"
# Each move's time and node; then every pair of moves of one node, and every 60 s window.
awk '/ zoned: done: node / { for (i = 1; i <= NF; i++) if ($i == "node") { print $1, $(i + 1); break } }' \
  "$STAMPED" >/tmp/moves
awk -v cooldown="$COOLDOWN_S" -v rate="$RATE" '
  { t[NR] = $1; n[NR] = $2 }
  END {
    bad = 0
    for (i = 1; i <= NR; i++) {
      in_window = 0
      for (j = 1; j <= NR; j++) if (t[j] >= t[i] && t[j] < t[i] + 60) in_window++
      if (in_window > rate) { printf "%d moves in the 60 s from %.2f (limit %d)\n", in_window, t[i], rate; bad = 1 }
      for (j = i + 1; j <= NR; j++) if (n[j] == n[i] && t[j] - t[i] < cooldown) {
        printf "node %s moved at %.2f and again at %.2f (cooldown %d s)\n", n[i], t[i], t[j], cooldown; bad = 1 }
    }
    exit bad
  }' /tmp/moves || fail "zoned thrashed (above)"
expect_sound
echo "zoned-thrash: ok"
