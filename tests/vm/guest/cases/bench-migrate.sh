# bench-migrate: what moving 256 MiB of a process's memory off two fake nodes onto two others
# costs, by softzone's engine, numactl's migratepages and the kernel's own cpuset migration (v2: a
# cpuset.mems write; v1: memory_migrate=1 and a mems write), in the same boot.
#
# Every measurement starts from the same state: a fresh memhold fills its memory inside a cpuset
# with mems=SRC (first touch, default policy, as a process in a partition would), the cpuset is
# widened to SRC,DST (nothing moves on that write), and one timed command moves everything to DST.
# Methods take turns round by round, each round starting one method later, so load from other
# work on the host falls on all of them. Each move is timed as a whole command (process start
# included, as an admin would run it) and followed by a byte-for-byte check of memhold's memory
# and a count of the pages left on SRC by the kernel's own numa_maps.
#
# Kernel parameters (run-guest.sh --append) override the defaults:
#   softzone.bench_rounds=N  softzone.bench_mib=N  softzone.bench_methods=a,b,...
#   softzone.bench_place=interleave  (memhold interleaved over SRC instead of first touch)
# A benchmark, not a test: it fails only when it cannot run or when memory is damaged.
. /tests/lib.sh
. /tests/placement-lib.sh
mib=256
rounds=11
methods=
place=first-touch
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    softzone.bench_rounds=*) rounds=${arg#*=} ;;
    softzone.bench_mib=*) mib=${arg#*=} ;;
    softzone.bench_methods=*) methods=$(echo "${arg#*=}" | tr ',' ' ') ;;
    softzone.bench_place=*) place=${arg#*=} ;;
  esac
done
raw="$SOFTZONE_OUT/migrate-raw.txt"
: >"$raw"
cpus=$(grep -c '^processor' /proc/cpuinfo)
echo "guest CPUs: $cpus"
numactl --hardware | grep -E 'size|free'
pick_nodes
for set in "$SRC" "$DST"; do
  [ "$(free_mib_of "$set")" -gt $((mib + 16)) ] || fail "nodes $set have too little free for $mib MiB"
done

# NUMA balancing would move pages behind every method's back and, on 6.1, hide pages from the
# move_pages status query (placement.sh covers that); partitions pinned to nodes gain nothing
# from it, so the comparison runs without it.
echo 0 >/proc/sys/kernel/numa_balancing

cpuset_make bench-migrate "$SRC"
cg=$CPUSET_DIR
if [ "$SOFTZONE_CGROUP" = v1 ]; then
  echo 1 >"$cg/cpuset.memory_migrate"
  kernel_method=cpuset-v1-migrate
else
  kernel_method=cpuset-v2-mems
fi
[ -n "$methods" ] ||
  methods="softzone-mp-x1 softzone-mp-x$cpus softzone-mig-x$cpus zonectl-resize migratepages $kernel_method"

# timed CMD...: runs CMD under migrate_probe's monotonic clock; sets ms (and keeps its output).
# A command that fails is a result too (numactl's migratepages gives up with ENOMEM when its
# node-to-node mapping overfills a target): ms=failed, its message kept, no time counted.
timed() {
  if migrate_probe time "$@" >/tmp/timed.txt 2>&1; then
    ms=$(sed -n 's/^wall_ms=//p' /tmp/timed.txt)
  else
    ms=failed
    echo "'$*' failed: $(grep -v '=' /tmp/timed.txt | tr '\n' ' ')"
  fi
}

# first_of LIST / second_of LIST: the nodes of a two-node list.
first_of() { echo "$1" | cut -d, -f1; }
second_of() { echo "$1" | cut -d, -f2; }

# move_by METHOD: one timed move of memhold's pages from SRC to DST. softzone-mp-xN: the engine's
# move_pages method on N workers; softzone-mig-xN: its migrate_pages method (one call per source
# node, N at a time, move_pages for what they leave); zonectl-resize: the partition shrink an
# admin runs, with its default workers.
move_by() {
  case "$1" in
    softzone-mp-x*) timed migrate_probe move --pid "$HOLD_PID" --from "$SRC" --to "$DST" \
      --method move_pages --workers "${1#softzone-mp-x}" ;;
    softzone-mig-x*) timed migrate_probe move --pid "$HOLD_PID" --from "$SRC" --to "$DST" \
      --method migrate_pages --workers "${1#softzone-mig-x}" ;;
    migratepages) timed migratepages "$HOLD_PID" "$SRC" "$DST" ;;
    cpuset-*) timed sh -c "echo $DST >$cg/cpuset.mems" ;;
    zonectl-resize) timed zonectl --json resize bench-p --nodes "$DST" ;;
    *) fail "unknown method $1" ;;
  esac
}

# hold_start_for METHOD: a fresh memhold filling its memory by first touch on SRC. zonectl-resize:
# inside a partition on SRC that the timed `zonectl resize` then shrinks off SRC (grown to
# SRC,DST first, as the other methods' cpuset is widened), the whole command timed: lock, journal,
# the moves, the mems write, the second pass and the status-query verification.
# memhold joins the partition as it joins the other methods' cpuset, by a shell writing its pid to
# the cgroup, so that every mover works on the same kind of process: on v2, `zonectl exec` brings
# the page cache of zonectl's libraries onto the partition's nodes (the attach migrates), and a
# shrink then moves those pages too (docs/benchmarks.md).
hold_start_for() {
  if [ "$1" = zonectl-resize ]; then
    zonectl create bench-p --nodes "$SRC" >/dev/null
    procs=/sys/fs/cgroup/softzone/bench-p/cgroup.procs
    [ "$SOFTZONE_CGROUP" = v2 ] || procs=/sys/fs/cgroup/cpuset/softzone/bench-p/cgroup.procs
    # shellcheck disable=SC2016
    hold_start "$mib" sh -c 'echo $$ >"$0"; exec "$@"' "$procs"
    return
  fi
  echo "$SRC" >"$cg/cpuset.mems"
  if [ "$place" = interleave ]; then
    # shellcheck disable=SC2016
    hold_start "$mib" sh -c 'echo $$ >"$0"; exec "$@"' "$CPUSET_PROCS" numactl --interleave="$SRC"
  else
    hold_start_in_cpuset "$mib" >/dev/null
  fi
}

# The parallelism the host grants the guest, measured each round: a CPU-bound loop alone, then
# two copies at once. Two copies taking twice as long means the vCPUs share one host core, and
# no method can gain from running on both.
spin='i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done'
# And what starting each tool costs: one migrate_pages call with nothing to move, on a process
# holding almost nothing, by migrate_probe and by migratepages.
cpu_control() {
  timed sh -c "$spin"
  echo "round=$1 method=control-one-loop ms=$ms" >>"$raw"
  timed sh -c "$spin & $spin; wait"
  echo "round=$1 method=control-two-loops ms=$ms" >>"$raw"
  sleep 1000 &
  tiny=$!
  timed migrate_probe migrate --pid "$tiny" --from "$SMALL" --to "$SMALL"
  echo "round=$1 method=control-start-probe ms=$ms" >>"$raw"
  timed migratepages "$tiny" "$SMALL" "$SMALL"
  echo "round=$1 method=control-start-migratepages ms=$ms" >>"$raw"
  kill "$tiny"
  wait "$tiny" 2>/dev/null || true
}

set -- $methods
count=$#
step "$rounds rounds of $methods, $mib MiB each ($place), $SRC -> $DST, a fresh memhold every move"
for round in $(seq "$rounds"); do
  # Round r starts with method r (cyclically).
  shift_by=$(((round - 1) % count))
  order=$(echo "$methods" | tr ' ' '\n' | awk -v s="$shift_by" -v n="$count" \
    '{ m[NR - 1] = $0 } END { for (i = 0; i < n; i++) print m[(i + s) % n] }')
  cpu_control "$round"
  for method in $order; do
    hold_start_for "$method"
    on_source=$(pages_on "$HOLD_PID" "$SRC")
    [ "$on_source" -ge $((mib * 256)) ] || fail "memhold's memory is not on nodes $SRC"
    split=$(pages_on "$HOLD_PID" "$(first_of "$SRC")")/$(pages_on "$HOLD_PID" "$(second_of "$SRC")")
    case "$method" in
      cpuset-*) ;;
      zonectl-resize) zonectl resize bench-p --nodes "$SRC,$DST" >/dev/null ;;
      *) echo "$SRC,$DST" >"$cg/cpuset.mems" ;;
    esac
    move_by "$method"
    left=$(pages_on "$HOLD_PID" "$SRC")
    hold_check
    hold_stop
    [ "$method" != zonectl-resize ] || zonectl destroy bench-p >/dev/null
    # The engine's own phases, for the softzone rows (the wall time adds process start and exit).
    keys='scan_ms|move_ms|migrate_ms|sweep_ms|verify_ms|move_calls|migrate_calls|pages_migrated'
    phases=$(grep -E "^($keys|pages_retried|pages_hidden)=" /tmp/timed.txt | tr '\n' ' ' || true)
    # zonectl resize: the time its migration took (both passes and the verification), the rest
    # of the command being start, lock, journal, checks and cgroup writes.
    if [ "$method" = zonectl-resize ]; then
      phases="migration_ms=$(tr -d ' \n' </tmp/timed.txt | sed -n 's/.*"elapsed_ms":\([0-9.]*\).*/\1/p')"
    fi
    echo "round=$round method=$method ms=$ms left_pages=$left source_split=$split $phases" |
      tee -a "$raw"
  done
done

# Medians per method with the spread (min and max), and speed relative to migratepages and to
# the best reference (migratepages or the kernel's cpuset migration), by the medians.
summary="$SOFTZONE_OUT/migrate.txt"
echo "kernel $(uname -r), cgroup $SOFTZONE_CGROUP, $cpus CPUs, $mib MiB ($place), $rounds rounds," \
  "nodes $SRC -> $DST" | tee "$summary"
awk -v mib="$mib" -v kernel="$kernel_method" '
  function field(name,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] } }
  function med(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  /method=control-/ { m = field("method"); control[m] = control[m] " " field("ms"); next }
  { m = field("method"); if (!(m in ms)) { order[++count] = m; ms[m] = "" }
    if (field("left_pages") + 0 > left[m]) left[m] = field("left_pages") + 0
    if (field("ms") == "failed") { failed[m]++; next }
    t = field("ms") + 0; ms[m] = ms[m] " " t
    if (!(m in lo) || t < lo[m]) lo[m] = t
    if (!(m in hi) || t > hi[m]) hi[m] = t
    if (field("move_ms") != "") { scan[m] = scan[m] " " field("scan_ms"); mv[m] = mv[m] " " field("move_ms")
      verify[m] = verify[m] " " field("verify_ms") } }
  END {
    base = ("migratepages" in ms) ? med(ms["migratepages"]) : 0
    best = base
    if (kernel in ms && (best == 0 || med(ms[kernel]) < best)) best = med(ms[kernel])
    printf "%-22s %10s %8s %8s %8s %10s %8s %9s %7s\n", "method", "median ms", "min ms", "max ms",
      "MiB/s", "vs migrpg", "vs best", "max left", "failed"
    for (i = 1; i <= count; i++) { m = order[i]
      if (ms[m] == "") { printf "%-22s %10s %8s %8s %8s %10s %8s %9d %7d\n", m, "-", "-", "-", "-", "-", "-", left[m], failed[m]; continue }
      t = med(ms[m])
      printf "%-22s %10.1f %8.1f %8.1f %8.1f %9.2fx %7.2fx %9d %7d\n", m, t, lo[m], hi[m], mib * 1000 / t,
        base ? base / t : 0, best ? best / t : 0, left[m], failed[m] + 0 }
    for (i = 1; i <= count; i++) { m = order[i]; if (!(m in mv)) continue
      printf "%s phases, median ms: scan %.1f, move %.1f, verify %.1f\n", m, med(scan[m]), med(mv[m]), med(verify[m]) }
    one = med(control["control-one-loop"]); two = med(control["control-two-loops"])
    if (two > 0) printf "CPU control: one loop %.1f ms, two at once %.1f ms: parallel speed-up available %.2fx\n", one, two, 2 * one / two
    if ("control-start-probe" in control) printf "start cost (a move with nothing to do), median ms: migrate_probe %.1f, migratepages %.1f\n", med(control["control-start-probe"]), med(control["control-start-migratepages"])
  }' "$raw" | tee -a "$summary"
rmdir "$cg"
