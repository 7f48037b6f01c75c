# bench-zoned-cpu: the CPU zoned uses watching a 64-node machine, against numad (Debian's
# automatic NUMA placement daemon) in the same boot, for the same wall time, with the same
# partitions present and nothing else running. Each daemon is started, given time to settle, and
# then measured over WINDOW seconds: utime + stime from /proc/PID/stat before and after (clock
# ticks, USER_HZ = 100 on x86). zoned at 1 s with and without its metrics textfile (what the
# file costs), and at 250 ms with it; the textfile's softzone_zoned_last_sample_duration_seconds
# is read every 5 s in every run (numad's runs too, so the reader costs the machine the same).
# One RESULT line per run; docs/benchmarks.md has the table.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
. /tests/zoned-lib.sh
# A status piped through tee is the pipeline's: without pipefail a failure would pass.
set -o pipefail

# softzone.window=SECONDS on the kernel command line shortens the window for a trial run.
WINDOW=$(sed -n 's/.*softzone\.window=\([0-9]*\).*/\1/p' /proc/cmdline)
WINDOW=${WINDOW:-60}
PARTITIONS="a b c d e f"
PROM=/tmp/zoned-cpu.prom
node_bounds

# cpu_ticks PID: utime + stime of PID in clock ticks (fields 14 and 15; the comm field of zoned
# and numad has no spaces).
cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# metric NAME: NAME's value in zoned's textfile, empty without one.
metric() {
  sed -n "s/^$1 //p" "$PROM" 2>/dev/null || true
}

# measure NAME PID: WINDOW seconds of PID's CPU; prints the RESULT line. The sample durations
# zoned reported, one every 5 s, go to /tmp/durations.
measure() {
  : >/tmp/durations
  samples0=$(metric softzone_zoned_samples_total)
  ticks0=$(cpu_ticks "$2")
  start=$(cut -d' ' -f1 /proc/uptime)
  waited=0
  while [ "$waited" -lt "$WINDOW" ]; do
    sleep 5
    waited=$((waited + 5))
    metric softzone_zoned_last_sample_duration_seconds >>/tmp/durations
  done
  ticks1=$(cpu_ticks "$2")
  end=$(cut -d' ' -f1 /proc/uptime)
  samples1=$(metric softzone_zoned_samples_total)
  kill -0 "$2" 2>/dev/null || fail "$1: the daemon (pid $2) died during the run"
  durations=$(sort -n /tmp/durations | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f/%.2f", v[int((NR + 1) / 2)] * 1000, v[NR] * 1000; else printf "-" }')
  awk -v name="$1" -v t0="$ticks0" -v t1="$ticks1" -v s="$start" -v e="$end" -v n0="${samples0:-0}" \
    -v n1="${samples1:-0}" -v d="$durations" 'BEGIN {
      cpu = (t1 - t0) / 100; wall = e - s; samples = n1 - n0
      printf "RESULT run=%s wall_s=%.1f cpu_s=%.2f cpu_s_per_min=%.3f cpu_pct=%.3f cpu_before_s=%.2f", name, wall, cpu, cpu * 60 / wall, cpu * 100 / wall, t0 / 100
      if (samples > 0) printf " samples=%d cpu_ms_per_sample=%.2f sample_ms_median/max=%s", samples, cpu * 1000 / samples, d
      printf "\n"
    }'
}

# run_zoned NAME ZONED_KEYS...: zoned with these [zoned] keys over the partitions (the metrics
# textfile, which gives the sample counts and durations, is one of them).
run_zoned() {
  name=$1
  shift
  {
    for p in $PARTITIONS; do
      printf '[partition.%s]\nmemory = %sM\nmin = %sM\nmax = %sM\n' "$p" "$((NODE_MIB * 8))" "$NODE_MIB" "$((LARGE_MIB * 16 + 16))"
    done
    printf '[zoned]\n'
    printf '%s\n' "$@"
  } >"$ZONED_CONFIG"
  rm -f "$PROM" /var/lib/softzone/zoned.json
  : >"$ZONED_LOG"
  zoned_start
  sleep 5
  measure "$name" "$ZONED_PID" | tee -a "$SOFTZONE_OUT/results.txt"
  zoned_stop
  rm -f "$PROM"
  moves=$(grep -c 'zoned: done:' "$ZONED_LOG" || true)
  [ "$moves" = 0 ] || fail "$name: zoned moved $moves nodes on an idle machine: $(grep 'zoned: done:' "$ZONED_LOG" | head -3)"
  cp "$ZONED_LOG" "$SOFTZONE_OUT/zoned-$name.log"
}

# proc_state PID: R, S, D, Z... from /proc/PID/stat; nothing once PID is gone.
proc_state() {
  awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true
}

# run_numad NAME ARGS...: numad daemonizes itself (this version has no foreground option); its
# pid is in /var/run/numad.pid, and `numad -i 0` is its documented way to stop.
run_numad() {
  name=$1
  shift
  rm -f /var/run/numad.pid
  numad "$@" || fail "$name: numad $* exited $?"
  tries=50
  until [ -s /var/run/numad.pid ]; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "$name: numad wrote no pid file; log: $(tail -5 /var/log/numad.log 2>/dev/null)"
    sleep 0.2
  done
  pid=$(cat /var/run/numad.pid)
  sleep 5
  measure "$name" "$pid" | tee -a "$SOFTZONE_OUT/results.txt"
  numad -i 0 >/dev/null 2>&1 || kill -TERM "$pid"
  tries=50
  until case "$(proc_state "$pid")" in '' | Z) true ;; *) false ;; esac; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "$name: numad did not stop"
    sleep 0.2
  done
}

step "partitions: $PARTITIONS, 8 nodes each, $(ls -d /sys/devices/system/node/node* | wc -l) nodes of ${NODE_MIB}-${LARGE_MIB} MiB"
first=1
for p in $PARTITIONS; do
  zonectl create "$p" --nodes "$first-$((first + 7))" --min "${NODE_MIB}M" --max "$((LARGE_MIB * 16 + 16))M" >/dev/null
  first=$((first + 8))
done
zonectl list

step "zoned, interval 1s (the default)"
run_zoned zoned-1s "interval = 1s" "metrics_textfile = $PROM"
step "zoned, interval 1s, no metrics textfile"
run_zoned zoned-1s-no-textfile "interval = 1s"
step "zoned, interval 250ms, headroom 30%, sustain 1"
run_zoned zoned-250ms "interval = 250ms" "headroom = 30%" "sustain = 1" "metrics_textfile = $PROM"

mkdir -p /var/run /var/log
if command -v numad >/dev/null; then
  step "numad, as Debian's unit runs it (-i 15: scans 5 to 15 s apart)"
  run_numad numad-default -i 15
  step "numad at zoned's interval (-i 1)"
  run_numad numad-1s -i 1:1
  cp /var/log/numad.log "$SOFTZONE_OUT/numad.log" 2>/dev/null || true
else
  echo "RESULT run=numad missing: not in this initramfs (tests/vm/prepare.sh could not download it)"
fi
echo "bench-zoned-cpu: ok"
