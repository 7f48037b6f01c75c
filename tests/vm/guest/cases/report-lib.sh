# Helpers for the report-* cases (sourced after lib.sh; busybox sh).

# make_partitions: A on nodes 2-3 and B on nodes 4-5, with `zonectl create` when this build
# has it, else by hand as cpusets under the "softzone" parent (which zonectl reads as partitions).
make_partitions() {
  step "partitions A (nodes 2-3) and B (nodes 4-5)"
  if zonectl create --help >/dev/null 2>&1; then
    zonectl create A --nodes 2-3
    zonectl create B --nodes 4-5
  elif [ "$SOFTZONE_CGROUP" = v1 ]; then
    root=/sys/fs/cgroup/cpuset
    mkdir -p $root/softzone
    cat $root/cpuset.cpus >$root/softzone/cpuset.cpus
    cat $root/cpuset.mems >$root/softzone/cpuset.mems
    for zone in A:2-3 B:4-5; do
      mkdir -p $root/softzone/${zone%%:*}
      cat $root/cpuset.cpus >$root/softzone/${zone%%:*}/cpuset.cpus
      echo ${zone#*:} >$root/softzone/${zone%%:*}/cpuset.mems
      echo 1 >$root/softzone/${zone%%:*}/cpuset.memory_migrate
    done
  else
    root=/sys/fs/cgroup
    echo +cpuset >$root/cgroup.subtree_control
    mkdir -p $root/softzone
    echo +cpuset >$root/softzone/cgroup.subtree_control
    for zone in A:2-3 B:4-5; do
      mkdir -p $root/softzone/${zone%%:*}
      echo ${zone#*:} >$root/softzone/${zone%%:*}/cpuset.mems
    done
  fi
  # v1's per-cpuset reclaim rate reads 0 until it is enabled at the root.
  if [ "$SOFTZONE_CGROUP" = v1 ]; then echo 1 >/sys/fs/cgroup/cpuset/cpuset.memory_pressure_enabled; fi
  # Through a file: head leaving early would end zonectl with SIGPIPE, a failure under pipefail.
  zonectl report A B >/tmp/report-ab.txt
  head -n 6 /tmp/report-ab.txt
}

# zone_value FILE ZONE KEY: KEY's value in ZONE's block of a pretty-printed JSON report (the
# first "KEY": line after the zone's "name" line); busybox has no jq.
zone_value() {
  awk -v zone="\"name\": \"$2\"," -v key="\"$3\":" '
    index($0, zone) { inside = 1; next }
    inside && index($0, key) { sub(/^[^:]*: */, ""); sub(/,$/, ""); print; exit }
  ' "$1"
}

# trace_instance_start NAME: an independent trace of the reclaim tracepoint in its own
# instance (its own buffer), to check the hist trigger's totals against.
trace_instance_start() {
  inst=/sys/kernel/tracing/instances/$1
  mkdir -p "$inst"
  echo 16384 >"$inst/buffer_size_kb"
  echo 1 >"$inst/events/vmscan/mm_vmscan_lru_shrink_inactive/enable"
  echo 1 >"$inst/tracing_on"
}

trace_instance_stop() {
  inst=/sys/kernel/tracing/instances/$1
  echo 0 >"$inst/tracing_on"
  cat "$inst/trace" >"$2"
  cat "$inst/per_cpu/cpu0/stats" >"$2.stats" 2>/dev/null || true
}
