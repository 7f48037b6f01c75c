# bench-alloc-cost: what a partition's node count costs the page allocator. Runs fault_bench
# unconstrained and in cpusets spanning 1, 2, 4, 8, 16, 32 fake nodes (never node 0: a partition
# never holds the system zone), in the same boot, configurations interleaved round by round so
# drift on the host spreads evenly. A benchmark, not a test: it fails only when it cannot run.
. /tests/lib.sh
nodes=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
[ "$nodes" -ge 33 ] || fail "needs 33 fake nodes, has $nodes"
cpus=$(cat /sys/devices/system/cpu/online)
rounds=${BENCH_ROUNDS:-7}
raw="$SOFTZONE_OUT/alloc-cost-raw.txt"
: >"$raw"

if [ "$SOFTZONE_CGROUP" = v1 ]; then
  base=/sys/fs/cgroup/cpuset procs=tasks
else
  base=/sys/fs/cgroup procs=cgroup.procs
  echo +cpuset >"$base/cgroup.subtree_control"
fi

# run_in LABEL MEMS: one fault_bench round in cpuset bench-LABEL ("-": the root, unconstrained).
run_in() {
  if [ "$2" = - ]; then
    line=$(fault_bench --rounds 1)
  else
    line=$(sh -c "echo \$\$ >$base/bench-$1/$procs; exec fault_bench --rounds 1")
  fi
  echo "label=$1 mems=$2 $line" >>"$raw"
}

step "unconstrained, before any cpuset exists (cpuset checks are off behind a static key)"
for round in $(seq "$rounds"); do run_in first-root -; done

configs="root:- n1:1 n2:1-2 n4:1-4 n8:1-8 n16:1-16 n32:1-32 all:0-$((nodes - 1))"
for config in $configs; do
  label=${config%%:*} mems=${config#*:}
  [ "$mems" = - ] && continue
  mkdir "$base/bench-$label"
  echo "$cpus" >"$base/bench-$label/cpuset.cpus"
  echo "$mems" >"$base/bench-$label/cpuset.mems"
done
step "$rounds rounds over: $configs"
for round in $(seq "$rounds"); do
  for config in $configs; do run_in "${config%%:*}" "${config#*:}"; done
done

# Medians per configuration, relative to the unconstrained task with cpusets enabled.
summary="$SOFTZONE_OUT/alloc-cost.txt"
awk '
  function field(name,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] } }
  function med(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)]
  }
  { l = field("label"); if (!(l in mems)) order[++count] = l; mems[l] = field("mems")
    f[l] = f[l] " " field("faults_per_s"); fs[l] = fs[l] " " field("sys_us_per_fault")
    p[l] = p[l] " " field("processes_per_s"); ps[l] = ps[l] " " field("sys_us_per_process") }
  END {
    base_f = med(f["root"]); base_p = med(p["root"])
    printf "%-10s %-6s %12s %10s %9s %12s %10s %9s\n", "cpuset", "mems", "faults/s", "sys us/flt", "vs root", "procs/s", "sys us/prc", "vs root"
    for (i = 1; i <= count; i++) { l = order[i]
      printf "%-10s %-6s %12.0f %10.2f %8.2fx %12.1f %10.0f %8.2fx\n", l, mems[l], med(f[l]), med(fs[l]), base_f / med(f[l]), med(p[l]), med(ps[l]), base_p / med(p[l]) }
  }' "$raw" | tee "$summary"
for config in $configs; do
  [ "${config#*:}" = - ] || rmdir "$base/bench-${config%%:*}"
done
