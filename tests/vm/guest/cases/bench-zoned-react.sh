# bench-zoned-react: zoned's reaction time, from the onset of pressure in a partition to its
# second node, as a distribution over many runs of one workload. Partition a (one node, max four)
# is filled past its node by memhold while the case watches, every ~50 ms:
# - "headroom, 1 s" and "headroom, 250 ms": zoned samples every interval (sustain 1, headroom
#   30%, stall trigger off); the onset is the first look at which a's free memory is under 30% of
#   its node. The workload writes 20 MiB/s, slow enough to see the crossing.
# - "stall trigger": zoned samples every 60 s and only a PSI stall trigger (50ms in 1s) can wake
#   it; with swap on, the onset is the first look at which a's memory.pressure "some" total has
#   grown. The workload writes 100 MiB/s (as zoned-stall).
# One RESULT line per run and a SUMMARY line per setting (min, median, 90th percentile, max of the
# reaction in ms); the look's own period (look_ms) is reported: the onset is seen up to one look
# late, so a reaction may be up to that much longer than measured.
# softzone.runs=N on the kernel command line sets the runs per setting (default 10).
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
. /tests/zoned-lib.sh
set -o pipefail

RUNS=$(sed -n 's/.*softzone\.runs=\([0-9]*\).*/\1/p' /proc/cmdline)
RUNS=${RUNS:-10}
node_bounds
ANON_MIB=$((NODE_MIB * 2))
RESULTS=$SOFTZONE_OUT/react.txt
: >"$RESULTS"

# The look runs in shell builtins only, setting variables rather than printing into a command
# substitution: under emulation every process started costs tens of milliseconds (its code
# translated again), which would blur the onset.
# centis: NOW, the uptime in hundredths of a second.
centis() {
  read -r up _ </proc/uptime
  frac=${up#*.}
  NOW=$((${up%.*} * 100 + ${frac#0}))
}
# node_kib NODE FIELD: KIB, MemTotal or MemFree of NODE ("Node 1 MemFree:   1234 kB").
node_kib() {
  KIB=
  while read -r _ _ field value _; do
    if [ "$field" = "$2:" ]; then KIB=$value; break; fi
  done <"/sys/devices/system/node/node$1/meminfo"
  [ -n "$KIB" ] || fail "node $1 has no $2"
}
# stall_us: STALL, a's "some" stall total in microseconds.
stall_us() {
  read -r _ _ _ _ total <"$CG/softzone/a/memory.pressure"
  STALL=${total#total=}
}

# onset_reached SIGNAL: whether pressure has set in, by the setting's own signal.
onset_reached() {
  case $1 in
    headroom) node_kib 1 MemFree && [ "$KIB" -lt "$HEADROOM_KIB" ] ;;
    stall) stall_us && [ "$STALL" -gt "$STALL0" ] ;;
  esac
}

# run_once NAME SIGNAL RATE ZONED_KEYS...: one run; appends a RESULT line.
run_once() {
  name=$1 signal=$2 rate=$3
  shift 3
  zonectl create a --nodes 1 --min "${NODE_MIB}M" --max "${MAX_MIB}M" >/dev/null
  {
    printf '[partition.a]\nmemory = %sM\nmin = %sM\nmax = %sM\n[zoned]\n' "$NODE_MIB" "$NODE_MIB" "$MAX_MIB"
    printf 'max_moves_per_minute = 60\ncooldown = 0ms\n'
    printf '%s\n' "$@"
  } >"$ZONED_CONFIG"
  : >"$ZONED_LOG"
  zoned_start
  node_kib 1 MemTotal
  HEADROOM_KIB=$((KIB * 30 / 100))
  stall_us
  STALL0=$STALL
  rm -f /tmp/react.status
  zonectl exec a -- memhold --mib "$ANON_MIB" --ramp "$rate" --status /tmp/react.status &
  pid=$!
  centis
  start=$NOW onset= granted= looks=0
  while [ $((NOW - start)) -lt 6000 ]; do
    looks=$((looks + 1))
    if [ -z "$onset" ] && onset_reached "$signal"; then centis && onset=$NOW; fi
    read -r mems <"$CG/softzone/a/cpuset.mems"
    if [ "$mems" != 1 ]; then centis && granted=$NOW && break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
    centis
  done
  centis
  look_ms=$(((NOW - start) * 10 / looks))
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" || fail "$name: memhold exited with status $? (137: killed)"
  zoned_stop
  [ -n "$granted" ] || fail "$name: a got no second node in 60 s (memhold $(cat /tmp/react.status 2>/dev/null)); zoned: $(tail -5 "$ZONED_LOG")"
  [ -n "$onset" ] || onset=$granted # granted before the look saw the onset: reaction under a look
  via=sample
  grep -q 'PSI stall trigger' "$ZONED_LOG" && via=trigger
  echo "RESULT setting=$name onset_s=$(((onset - start) / 100)).$(((onset - start) % 100 / 10)) reaction_ms=$(((granted - onset) * 10)) via=$via look_ms=$look_ms" |
    tee -a "$RESULTS"
  rm -f /var/lib/softzone/zoned.json
  zonectl destroy a >/dev/null
}

# summary NAME: the distribution of NAME's reactions.
summary() {
  grep "setting=$1 " "$RESULTS" | sed 's/.*reaction_ms=\([0-9]*\).*/\1/' | sort -n | awk -v n="$1" '
    { v[NR] = $1 } END {
      if (NR == 0) exit 1
      printf "SUMMARY setting=%s runs=%d reaction_ms min=%d median=%d p90=%d max=%d\n", n, NR, v[1],
        v[int((NR + 1) / 2)], v[int(NR * 9 / 10 + 0.999)], v[NR] }'
}

for setting in "headroom-1s 1s" "headroom-250ms 250ms"; do
  set -- $setting
  step "$1: $RUNS runs, 20 MiB/s"
  i=0
  while [ "$i" -lt "$RUNS" ]; do
    run_once "$1" headroom 20 "interval = $2" "headroom = 30%" "sustain = 1" "stall_trigger = 0ms"
    i=$((i + 1))
  done
done

dd if=/dev/zero of="$SOFTZONE_DISK/swap" bs=1M count=512 2>/dev/null
chmod 600 "$SOFTZONE_DISK/swap"
mkswap "$SOFTZONE_DISK/swap" >/dev/null
swapon "$SOFTZONE_DISK/swap"
step "stall trigger: $RUNS runs, 100 MiB/s, swap on"
i=0
while [ "$i" -lt "$RUNS" ]; do
  run_once stall-trigger stall 100 "interval = 60s" "stall_trigger = 50ms"
  tail -1 "$RESULTS" | grep -q 'via=trigger' || fail "the grow did not come from the trigger: $(grep 'grow a' "$ZONED_LOG")"
  i=$((i + 1))
done
swapoff "$SOFTZONE_DISK/swap"

for setting in headroom-1s headroom-250ms stall-trigger; do
  summary "$setting" | tee -a "$SOFTZONE_OUT/results.txt" || fail "no result for $setting"
done
expect_sound
echo "bench-zoned-react: ok"
