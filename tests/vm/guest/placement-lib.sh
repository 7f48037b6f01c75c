# Helpers for the page-placement cases (sourced after lib.sh): memhold processes, their checks,
# and migrate_probe's key=value output.

# nodes_of LIST: "2-3,6" -> "2 3 6".
nodes_of() {
  echo "$1" | tr ',' '\n' | while IFS=- read -r first last; do seq "$first" "${last:-$first}"; done |
    tr '\n' ' '
}

# value_of KEY FILE: the value of KEY=... in FILE (migrate_probe output), 0 when absent.
value_of() {
  v=$(sed -n "s/^$1=//p" "$2" | head -n 1)
  echo "${v:-0}"
}

# wait_status FILE PATTERN SECONDS: waits until FILE's line matches PATTERN (a case pattern) and
# differs from $last_status; fails on "bad ..." or when time runs out.
wait_status() {
  tries=$(($3 * 10))
  while [ "$tries" -gt 0 ]; do
    line=$(cat "$1" 2>/dev/null || true)
    case "$line" in
      bad*) fail "memhold found damaged memory: $line" ;;
    esac
    if [ "$line" != "$last_status" ]; then
      # shellcheck disable=SC2254
      case "$line" in $2) last_status=$line; return 0 ;; esac
    fi
    tries=$((tries - 1))
    sleep 0.1
  done
  fail "memhold status '$(cat "$1" 2>/dev/null)' never matched '$2' in $3 s"
}

# hold_start MIB [CMD...]: starts memhold with MIB MiB, through CMD when given (numactl ...),
# and with $HOLD_ARGS (memhold's own options, e.g. --thp off) when set; waits until its memory
# is filled; sets HOLD_PID and HOLD_STATUS.
hold_start() {
  mib=$1
  shift
  HOLD_STATUS=/tmp/memhold.$$.$mib.status
  rm -f "$HOLD_STATUS"
  last_status=
  # shellcheck disable=SC2086 # HOLD_ARGS is a list of options
  "$@" memhold --mib "$mib" --status "$HOLD_STATUS" ${HOLD_ARGS:-} &
  HOLD_PID=$!
  wait_status "$HOLD_STATUS" "ready*" 900
}

# hold_check: memhold checks every byte; fails the case unless all are intact.
hold_check() {
  kill -USR1 "$HOLD_PID"
  wait_status "$HOLD_STATUS" "ok*" 900
}

# hold_stop: ends memhold; its exit status says whether any check ever failed.
hold_stop() {
  kill -TERM "$HOLD_PID"
  wait "$HOLD_PID" || fail "memhold exited with failure"
}

# pages_on PID NODES: pages of PID on NODES by the kernel's own count in /proc/PID/numa_maps: a
# witness independent of the engine's status query (which on 6.1 cannot see pages that NUMA
# balancing has marked for hinting faults). Huge pages count as their base pages.
pages_on() {
  awk -v nodes=" $(nodes_of "$2") " '
    { unit = 1
      for (i = 3; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { split($i, kv, "="); unit = kv[2] / 4 }
      for (i = 3; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
        split(substr($i, 2), kv, "="); if (index(nodes, " " kv[1] " ")) total += kv[2] * unit } }
    END { print total + 0 }' "/proc/$1/numa_maps"
}

# free_mib NODE: the node's MemFree in MiB.
free_mib() {
  echo $(($(sed -n 's/.*MemFree: *\([0-9]*\) kB/\1/p' "/sys/devices/system/node/node$1/meminfo") / 1024))
}

# pick_nodes: fake node sizes differ from boot to boot (one node of each guest comes out smaller,
# and which one moves), so cases choose by free memory among nodes 1-7 (node 0 is the system's):
# SRC and DST are the two pairs with the most, SMALL the node with the least.
pick_nodes() {
  # shellcheck disable=SC2046
  set -- $(for node in 1 2 3 4 5 6 7; do echo "$node $(free_mib "$node")"; done |
    sort -k2,2nr -k1,1n | awk '{ print $1 }')
  SRC="$1,$2" DST="$3,$4" SMALL=$7
  echo "nodes by free memory: $*; source $SRC, target $DST, small $SMALL"
}

# free_mib_of NODES: MemFree of a node list, in MiB.
free_mib_of() {
  total=0
  for node in $(nodes_of "$1"); do total=$((total + $(free_mib "$node"))); done
  echo "$total"
}

# cpuset_make NAME MEMS: a cpuset with all CPUs and MEMS under the hierarchy the guest mounted;
# sets CPUSET_DIR and CPUSET_PROCS (its task file, for `sh -c 'echo $$ >"$0"; exec ...'`).
cpuset_make() {
  if [ "$SOFTZONE_CGROUP" = v1 ]; then
    CPUSET_DIR=/sys/fs/cgroup/cpuset/$1 CPUSET_PROCS=/sys/fs/cgroup/cpuset/$1/tasks
  else
    grep -q cpuset /sys/fs/cgroup/cgroup.subtree_control || echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control
    CPUSET_DIR=/sys/fs/cgroup/$1 CPUSET_PROCS=/sys/fs/cgroup/$1/cgroup.procs
  fi
  mkdir "$CPUSET_DIR"
  cat /sys/devices/system/cpu/online >"$CPUSET_DIR/cpuset.cpus"
  echo "$2" >"$CPUSET_DIR/cpuset.mems"
}

# hold_start_in_cpuset MIB: memhold started inside the cpuset cpuset_make made, default policy.
hold_start_in_cpuset() {
  # shellcheck disable=SC2016
  hold_start "$1" sh -c 'echo $$ >"$0"; exec "$@"' "$CPUSET_PROCS"
  echo "memhold $HOLD_PID: cpuset $(cat "/proc/$HOLD_PID/cpuset")," \
    "$(grep Mems_allowed_list "/proc/$HOLD_PID/status" | tr -d '\t')"
}
