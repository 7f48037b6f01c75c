# Helpers for the zoned cases (sourced after lib.sh, placement-lib.sh and partition-lib.sh): node
# sizes, zoned started and stopped with its log kept, and partitions' node counts.

ZONED_LOG=$SOFTZONE_OUT/zoned.log
ZONED_CONFIG=/tmp/zoned.ini

# total_mib NODE: the node's MemTotal in MiB.
total_mib() {
  echo $(($(sed -n 's/.*MemTotal: *\([0-9]*\) kB/\1/p' "/sys/devices/system/node/node$1/meminfo") / 1024))
}

# node_bounds: bounds from the nodes this boot has (sizes differ by boot). NODE_MIB, the smallest
# node (any one node is enough for a min); LARGE_MIB, the largest; MAX_MIB, the four largest
# together, each rounded up: total_mib rounds down, and a max a few hundred KiB short of four
# nodes keeps a partition at three (measured: 3 x 257872K + 257872K > 4 x 251M).
node_bounds() {
  NODE_SIZES=$(for node in 1 2 3 4 5 6 7; do total_mib "$node"; done | sort -n)
  NODE_MIB=$(echo "$NODE_SIZES" | head -1)
  LARGE_MIB=$(echo "$NODE_SIZES" | tail -1)
  MAX_MIB=$(echo "$NODE_SIZES" | tail -4 | awk '{ s += $1 + 1 } END { print s }')
}

# count_nodes NODES: how many nodes a list ("2-4,6") names.
count_nodes() {
  nodes_of "$1" | wc -w
}

# zoned_start: zoned in the background on $ZONED_CONFIG, its stderr appended to $ZONED_LOG.
zoned_start() {
  starts=$(grep -c "zoned: started" "$ZONED_LOG" 2>/dev/null || true)
  zoned --config "$ZONED_CONFIG" 2>>"$ZONED_LOG" &
  ZONED_PID=$!
  tries=100
  until [ "$(grep -c "zoned: started" "$ZONED_LOG" 2>/dev/null || true)" -gt "${starts:-0}" ]; do
    kill -0 "$ZONED_PID" 2>/dev/null || fail "zoned did not start: $(cat "$ZONED_LOG")"
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "zoned did not say it started"
    sleep 0.2
  done
}

# zoned_stop: SIGTERM; zoned must exit 0 between two samples.
zoned_stop() {
  kill -TERM "$ZONED_PID"
  wait "$ZONED_PID" || fail "zoned exited with failure; log: $(tail -20 "$ZONED_LOG")"
}

# wait_for_nodes NAME COUNT SECONDS: until partition NAME has at least COUNT nodes.
wait_for_nodes() {
  tries=$(($3 * 5))
  until [ "$(count_nodes "$(mems_of "$1")")" -ge "$2" ]; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "partition $1 did not reach $2 nodes in $3 s (has $(mems_of "$1")); log: $(tail -20 "$ZONED_LOG")"
    sleep 0.2
  done
}

# wait_ready PID STATUS SECONDS: until memhold PID says "ready" in STATUS; fails as soon as it
# dies (an OOM kill) instead of waiting out the time.
wait_ready() {
  tries=$(($3 * 5))
  while :; do
    case "$(cat "$2" 2>/dev/null || true)" in ready*) return 0 ;; esac
    state=$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)
    [ -n "$state" ] && [ "$state" != Z ] || fail "memhold $1 died before it was ready: $(dmesg | grep -E 'oom-kill|Killed process' | tail -2); zoned: $(tail -5 "$ZONED_LOG")"
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "memhold $1 not ready in $3 s: $(cat "$2")"
    sleep 0.2
  done
}

# zoned_killed_at STEP PID STATUS: zoned run with SOFTZONE_TEST_STOP_AT=STEP until it kills
# itself right after that step of its next move (exit 137), leaving the move's journal. The
# workload PID (memhold, status file STATUS) is what makes zoned move: the case fails as soon as
# it dies or says it is ready, since zoned would then never reach STEP.
zoned_killed_at() {
  SOFTZONE_TEST_STOP_AT=$1 zoned --config "$ZONED_CONFIG" 2>>"$ZONED_LOG" &
  ZONED_PID=$!
  while kill -0 "$ZONED_PID" 2>/dev/null; do
    case "$(cat "$3" 2>/dev/null)" in ready*) fail "the workload finished before zoned reached $1" ;; esac
    kill -0 "$2" 2>/dev/null || fail "the workload died before zoned reached $1: $(dmesg | grep 'Killed process' | tail -1)"
    sleep 0.2
  done
  set +e
  wait "$ZONED_PID"
  status=$?
  set -e
  [ "$status" -eq 137 ] || fail "zoned was not killed at $1 (exit $status)"
  [ -e /run/softzone/journal.json ] || fail "no journal left by a kill after $1"
}
