# bench-alloc-cost: what a partition's node count costs the page allocator. A benchmark, not a
# test: it fails only when it cannot run. Two parts, chosen with BENCH_MODE (a kernel parameter
# without a dot reaches the case as an environment variable: --append "BENCH_MODE=full"):
#
#   free (BENCH_MODE=free or both): fault_bench unconstrained and in cpusets spanning 1, 2, 4, 8,
#     16, 32 fake nodes (never node 0: a partition never holds the system zone), every node with
#     free memory, configurations interleaved round by round so drift on the host spreads evenly.
#   full (BENCH_MODE=full or both): the full-partition case. For k = 2, 4, 8, 16, 32, a cpuset of
#     k nodes whose first k-1 nodes (in the order the allocator tries them) are held between their
#     min and low watermarks, so every page fault walks past k-1 zones that fail their watermark
#     before it reaches the one free node; against the same cpuset with the holders gone and an
#     unconstrained task, interleaved round by round in the same boot.
#
# BENCH_ROUNDS (default 7) rounds each. Results: alloc-cost.txt and alloc-cost-full.txt (medians),
# alloc-cost-raw.txt and alloc-cost-full-raw.txt (every run) in $SOFTZONE_OUT.
. /tests/lib.sh
nodes=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
[ "$nodes" -ge 33 ] || fail "needs 33 fake nodes, has $nodes"
cpus=$(cat /sys/devices/system/cpu/online)
rounds=${BENCH_ROUNDS:-7}
mode=${BENCH_MODE:-both}
case "$mode" in free | full | both) ;; *) fail "BENCH_MODE must be free, full or both, not '$mode'" ;; esac

if [ "$SOFTZONE_CGROUP" = v1 ]; then
  base=/sys/fs/cgroup/cpuset procs=tasks
else
  base=/sys/fs/cgroup procs=cgroup.procs
  echo +cpuset >"$base/cgroup.subtree_control"
fi

# make_cpuset NAME MEMS: cpuset NAME under the root, all cpus, memory on MEMS.
make_cpuset() {
  mkdir "$base/$1"
  echo "$cpus" >"$base/$1/cpuset.cpus"
  echo "$2" >"$base/$1/cpuset.mems"
}

# Medians of fault_bench's figures per configuration (a key=value line per run in RAW), as a
# table relative to the configuration named by BASE_LABEL (above 1 = slower than it).
summarise() {
  awk -v base_label="$2" '
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
      base_f = med(f[base_label]); base_p = med(p[base_label])
      printf "%-10s %-6s %12s %10s %9s %12s %10s %9s\n", "cpuset", "mems", "faults/s", "sys us/flt", "vs root", "procs/s", "sys us/prc", "vs root"
      for (i = 1; i <= count; i++) { l = order[i]
        printf "%-10s %-6s %12.0f %10.2f %8.2fx %12.1f %10.0f %8.2fx\n", l, mems[l], med(f[l]), med(fs[l]), base_f / med(f[l]), med(p[l]), med(ps[l]), base_p / med(p[l]) }
    }' "$1"
}

run_free() {
  raw="$SOFTZONE_OUT/alloc-cost-raw.txt"
  : >"$raw"
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
    [ "$mems" = - ] || make_cpuset "bench-$label" "$mems"
  done
  step "$rounds rounds over: $configs"
  for round in $(seq "$rounds"); do
    for config in $configs; do run_in "${config%%:*}" "${config#*:}"; done
  done

  # Medians per configuration, relative to the unconstrained task with cpusets enabled.
  summarise "$raw" root | tee "$SOFTZONE_OUT/alloc-cost.txt"
  for config in $configs; do
    [ "${config#*:}" = - ] || rmdir "$base/bench-${config%%:*}"
  done
}

# ---- The full-partition case ----
#
# Which node the allocator tries first. A task with the default policy allocates from the
# zonelist of the node of the cpu it runs on (cpu_to_node), filtered by its cpuset's mems. The
# kernel orders a node's zonelist (build_zonelists/find_next_best_node) by distance, then prefers
# nodes without cpus, then nodes above the local one ("val += (n < node)"). Fake nodes of one
# physical node all have distance 10 and all list the same cpus, so node L's zonelist is L,
# L+1, ..., last, then 0, ..., L-1: ascending only from the local node, wrapping around. The
# cpuset's nodes are therefore chosen above every cpu's node: then every cpu walks them in
# ascending order, the holders fill the lower k-1 and the highest stays free, and unconstrained
# tasks (whose zonelists start at their own, unfilled, node) never meet a full node.
full_ks="2 4 8 16 32"
# k1: the free node alone, in both states. Every full-case run allocates from that node; each
# not-full cpuset allocates from its own first node, and nodes differ in speed under emulation.

# node_free_kib N: node N's free memory (kB) from its meminfo (counters refreshed by the caller).
node_free_kib() {
  awk '$3 == "MemFree:" { print $4 }' "/sys/devices/system/node/node$1/meminfo"
}

# refresh_counters: fold the per-cpu counter deltas in, so node free counts are exact.
refresh_counters() {
  echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null || true
}

# nodes_state FIRST LAST: nodes FIRST..LAST: free kB (meminfo) and kB on the per-cpu lists
# (zoneinfo: allocated as far as the free count goes, free again once drained) as "lo..hi" ranges,
# how many are above their low watermark by the free count and by free plus per-cpu, and the list
# NODE:FREE+PERCPU.
nodes_state() {
  refresh_counters
  awk '/^Node/ { node = $2; sub(",", "", node) } $1 == "count:" { pcp[node] += $2 }
       END { for (n in pcp) print n, pcp[n] * 4 }' /proc/zoneinfo >/tmp/pcp
  for n in $(seq "$1" "$2"); do echo "$n $(node_free_kib "$n")"; done | awk -v marks=/tmp/watermarks -v lists=/tmp/pcp '
    BEGIN { while ((getline line < marks) > 0) { split(line, w, " "); low[w[1]] = w[3] }
            while ((getline line < lists) > 0) { split(line, w, " "); pcp[w[1]] = w[2] } }
    { f = $2; q = pcp[$1] + 0
      if (flo == "" || f < flo) flo = f; if (fhi == "" || f > fhi) fhi = f
      if (qlo == "" || q < qlo) qlo = q; if (qhi == "" || q > qhi) qhi = q
      if (f > low[$1]) above++; if (f + q > low[$1]) above_pcp++
      list = list (list == "" ? "" : ",") $1 ":" f + q }
    END { if (flo == "") print "free_kib=- pcp_kib=- above_low=0 above_low_with_pcp=0 list=-"
          else printf "free_kib=%s..%s pcp_kib=%s..%s above_low=%d above_low_with_pcp=%d list=%s\n", flo, fhi, qlo, qhi, above, above_pcp, list }'
}

# vm_snap FILE: the reclaim, OOM and compaction counters of /proc/vmstat.
vm_snap() {
  awk '$1 ~ /^(pgscan_kswapd|pgscan_direct|pgsteal_kswapd|pgsteal_direct|pageoutrun|oom_kill|compact_stall|allocstall_.*)$/' \
    /proc/vmstat >"$1"
}

# vm_delta BEFORE AFTER: what changed, as key=value pairs.
vm_delta() {
  awk 'NR == FNR { before[$1] = $2; next }
       { d = $2 - before[$1]; k = $1; sub(/_(dma|dma32|normal|movable|device)$/, "", k); sum[k] += d }
       END { printf "scan_kswapd=%d scan_direct=%d steal_kswapd=%d steal_direct=%d pageoutrun=%d allocstall=%d oom_kill=%d compact_stall=%d",
             sum["pgscan_kswapd"], sum["pgscan_direct"], sum["pgsteal_kswapd"], sum["pgsteal_direct"],
             sum["pageoutrun"], sum["allocstall"], sum["oom_kill"], sum["compact_stall"] }' "$1" "$2"
}

# Holders: one fault_bench --hold per filled node, in the root cpuset, bound to its node. While
# they take pages the per-cpu lists are kept short (vm.percpu_pagelist_high_fraction): by default
# a list may hold half a node's low watermark, one refill can then drop the free count from
# above low to below min at once, and the holder's next page ends in reclaim that finds nothing
# and the OOM killer. The default is back before anything is measured.
small_lists() { echo 1000000 >/proc/sys/vm/percpu_pagelist_high_fraction; }
default_lists() { echo "$old_fraction" >/proc/sys/vm/percpu_pagelist_high_fraction; }
holder_pids=
holder_gen=0
hold_wait() {
  for n in $(seq "$held_first" "$held_last"); do
    tries=600
    until grep -q "^ready gen=$1 " "/tmp/hold-$n" 2>/dev/null; do
      tries=$((tries - 1))
      [ "$tries" -gt 0 ] || fail "the holder of node $n never reported gen $1: $(cat "/tmp/hold-$n" 2>/dev/null)"
      for pid in $holder_pids; do
        kill -0 "$pid" 2>/dev/null ||
          fail "holder $pid is gone; kernel log: $(dmesg | grep -iE 'oom-kill|killed process' | tail -n 2)"
      done
      sleep 1
    done
  done
}
hold_fill() {
  small_lists
  holder_pids=
  for n in $(seq "$held_first" "$held_last"); do
    rm -f "/tmp/hold-$n"
    fault_bench --hold "$n" --status "/tmp/hold-$n" &
    holder_pids="$holder_pids $!"
  done
  holder_gen=1
  hold_wait 1
  default_lists
}
hold_topup() {
  small_lists
  holder_gen=$((holder_gen + 1))
  # shellcheck disable=SC2086
  kill -USR1 $holder_pids
  hold_wait "$holder_gen"
  default_lists
}
hold_release() {
  # shellcheck disable=SC2086
  kill -TERM $holder_pids
  for pid in $holder_pids; do wait "$pid" || fail "holder $pid exited with status $?"; done
  holder_pids=
}

run_full() {
  raw="$SOFTZONE_OUT/alloc-cost-full-raw.txt"
  : >"$raw"
  cpu_nodes=$(fault_bench --cpu-nodes)
  cpu_nodes=${cpu_nodes#cpu_nodes=}
  top=$(echo "$cpu_nodes" | tr ',' '\n' | cut -d: -f2 | sort -n | tail -n 1)
  # Held nodes from just above the cpus' nodes (node 1 stays unfilled too: node 0 is short of
  # free memory). Every full-case page comes from the free node, so it needs room for fault_bench
  # (16 MiB buffers, its children): the node the kernel image was loaded into (a different one each
  # boot, KASLR) may lack it, and then the range moves up a node.
  held_first=$((top + 1))
  [ "$held_first" -ge 2 ] || held_first=2
  refresh_counters
  while :; do
    free_node=$((held_first + 31))
    [ "$free_node" -lt "$nodes" ] || fail "no node above the cpus' nodes ($top) with 32 nodes below it has 40 MiB free"
    [ "$(node_free_kib "$free_node")" -lt 40960 ] || break
    echo "node $free_node has $(node_free_kib "$free_node") kB free, too little for the free node"
    held_first=$((held_first + 1))
  done
  held_last=$((held_first + 30))

  # Watermarks (kB) of every node with one populated zone: "node min low high managed".
  awk '/^Node/ { node = $2; sub(",", "", node) } $1 == "min" { mn = $2 } $1 == "low" { lw = $2 }
       $1 == "high" { hg = $2 } $1 == "managed" && $2 > 0 { zones[node]++; line[node] = node " " mn * 4 " " lw * 4 " " hg * 4 " " $2 * 4 }
       END { for (n in zones) if (zones[n] == 1) print line[n] }' /proc/zoneinfo | sort -n >/tmp/watermarks
  cp /tmp/watermarks "$SOFTZONE_OUT/alloc-cost-full-watermarks.txt"

  step "full-partition case: cpus on nodes ($cpu_nodes), held nodes $held_first-$held_last, free node $free_node"
  echo "held nodes (kB): $(awk -v a="$held_first" -v b="$held_last" '$1 >= a && $1 <= b {
      if (!seen++ || $5 < m0) m0 = $5; if ($5 > m1) m1 = $5; if (!seen2++ || $2 < n0) n0 = $2; if ($2 > n1) n1 = $2
      if (!seen3++ || $3 < l0) l0 = $3; if ($3 > l1) l1 = $3 }
      END { printf "managed %d..%d, min %d..%d, low %d..%d", m0, m1, n0, n1, l0, l1 }' /tmp/watermarks)"
  echo "min_free_kbytes=$(cat /proc/sys/vm/min_free_kbytes) zone_reclaim_mode=$(cat /proc/sys/vm/zone_reclaim_mode) numa_balancing=$(cat /proc/sys/kernel/numa_balancing) watermark_boost_factor=$(cat /proc/sys/vm/watermark_boost_factor) thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled)"
  # A fragmentation event would raise a full node's watermarks (boost) past the holder's free
  # count and its next page would need reclaim that finds nothing; NUMA balancing would add hinting
  # faults to fault_bench's buffers. Neither is what is measured here.
  old_fraction=$(cat /proc/sys/vm/percpu_pagelist_high_fraction)
  old_boost=$(cat /proc/sys/vm/watermark_boost_factor)
  old_balancing=$(cat /proc/sys/kernel/numa_balancing)
  echo 0 >/proc/sys/vm/watermark_boost_factor
  echo 0 >/proc/sys/kernel/numa_balancing

  for k in 1 $full_ks; do make_cpuset "bench-full-k$k" "$((free_node - k + 1))-$free_node"; done
  vm_snap /tmp/vm.mode-start

  # run_full_in STATE LABEL K: one fault_bench round (4 KiB pages) in cpuset bench-full-kK ("-": the
  # root), with the state of the nodes it may use just before.
  run_full_in() {
    if [ "$3" = - ]; then
      mems=- nodes_info="held_$(nodes_state "$held_first" "$held_last")"
    else
      mems="$((free_node - $3 + 1))-$free_node"
      nodes_info="others_$(nodes_state "$((free_node - $3 + 1))" "$((free_node - 1))") last_free_kib=$(node_free_kib "$free_node")"
    fi
    vm_snap /tmp/vm.before
    if [ "$3" = - ]; then
      line=$(fault_bench --rounds 1 --no-thp --where)
    else
      line=$(sh -c "echo \$\$ >$base/bench-full-k$3/$procs; exec fault_bench --rounds 1 --no-thp --where")
    fi
    vm_snap /tmp/vm.after
    echo "label=$2 state=$1 k=$3 mems=$mems $line $(vm_delta /tmp/vm.before /tmp/vm.after) $nodes_info" >>"$raw"
    echo "$line" | awk -v s="$1" -v l="$2" -v m="$mems" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "  %-8s %-5s mems %-6s %7s faults/s %6s sys us/fault %6s procs/s  pages on %s\n", s, l, m, v["faults_per_s"], v["sys_us_per_fault"], v["processes_per_s"], v["where"] }'
  }

  # rotated: the configurations ("-" is the root), starting one further each round.
  rotated() {
    set -- - 1 $full_ks
    turns=$(((round - 1) % $#))
    while [ "$turns" -gt 0 ]; do
      set -- "$@" "$1"
      shift
      turns=$((turns - 1))
    done
    echo "$@"
  }

  full_half() {
    vm_snap /tmp/vm.fill-before
    start=$(date +%s)
    hold_fill
    sleep 3 # kswapd, woken by the holders' last pages, gives up on the nodes it cannot reclaim
    hold_topup
    vm_snap /tmp/vm.fill-after
    state=$(nodes_state "$held_first" "$held_last")
    echo "round $round full: filled in $(($(date +%s) - start)) s; held nodes ${state% list=*};" \
      "node $free_node free $(node_free_kib "$free_node") kB; $(vm_delta /tmp/vm.fill-before /tmp/vm.fill-after)"
    echo "fill round=$round $state $(vm_delta /tmp/vm.fill-before /tmp/vm.fill-after)" >>"$SOFTZONE_OUT/alloc-cost-full-fill.txt"
    for k in $(rotated); do
      case "$(nodes_state "$held_first" "$held_last")" in
        *" above_low=0 above_low_with_pcp=0 "*) ;;
        *) echo "  a held node rose above its low watermark: topping up"; hold_topup ;;
      esac
      if [ "$k" = - ]; then run_full_in full root -; else run_full_in full "k$k" "$k"; fi
    done
    hold_release
  }
  not_full_half() {
    echo "round $round not full: nodes $held_first-$free_node free $(nodes_state "$held_first" "$free_node" | sed 's/ list=.*//')"
    for k in $(rotated); do
      if [ "$k" = - ]; then run_full_in notfull root -; else run_full_in notfull "k$k" "$k"; fi
    done
  }

  step "$rounds rounds: unconstrained and k = 1 (the free node alone) $full_ks; full then not full (odd rounds), not full then full (even), configurations rotated"
  for round in $(seq "$rounds"); do
    if [ $((round % 2)) = 1 ]; then
      full_half
      not_full_half
    else
      not_full_half
      full_half
    fi
  done
  vm_snap /tmp/vm.mode-end
  echo "whole full-partition part: $(vm_delta /tmp/vm.mode-start /tmp/vm.mode-end)"
  oom_lines=$(dmesg | grep -cE 'invoked oom-killer|Killed process' || true)
  echo "kernel log: $oom_lines OOM lines, $(dmesg | grep -c 'page allocation failure' || true) allocation failures"

  # Per k: medians, full against the same cpuset not full, against the free node alone (k1) and
  # against the unconstrained task, the last two measured in the same state (ratios above 1: slower
  # or more kernel time; "+us": sys us per fault above k1's).
  awk '
    function field(name,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] } }
    function med(list,   n, a, i, j, t) {
      n = split(list, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return a[int((n + 1) / 2)]
    }
    { c = field("label") "/" field("state"); if (!(c in mems)) order[++count] = c; mems[c] = field("mems"); n[c]++
      f[c] = f[c] " " field("faults_per_s"); fs[c] = fs[c] " " field("sys_us_per_fault")
      p[c] = p[c] " " field("processes_per_s"); ps[c] = ps[c] " " field("sys_us_per_process")
      w = field("where"); where[c, w]++; if (where[c, w] > where[c, best[c]]) best[c] = w }
    END {
      printf "%-13s %-6s %4s %9s %8s %8s %8s %10s %9s %9s %9s %8s %10s  %s\n", "config", "mems", "runs", "faults/s", "vs root", "vs nf", "vs k1",
        "sys us/flt", "sys vs nf", "sys vs k1", "procs/s", "vs nf", "sys us/prc", "pages on (most runs)"
      for (i = 1; i <= count; i++) { c = order[i]; split(c, parts, "/"); st = parts[2]
        nf = parts[1] "/notfull"; root = "root/" st; one = "k1/" st
        printf "%-13s %-6s %4d %9.0f %7.2fx %7.2fx %7.2fx %10.2f %8.2fx %+8.2fus %9.1f %7.2fx %10.0f  %s\n", c, mems[c], n[c], med(f[c]),
          med(f[root]) / med(f[c]), med(f[nf]) / med(f[c]), med(f[one]) / med(f[c]), med(fs[c]), med(fs[c]) / med(fs[nf]),
          med(fs[c]) - med(fs[one]), med(p[c]), med(p[nf]) / med(p[c]), med(ps[c]), best[c] }
    }' "$raw" | tee "$SOFTZONE_OUT/alloc-cost-full.txt"

  for k in 1 $full_ks; do rmdir "$base/bench-full-k$k"; done
  default_lists
  echo "$old_boost" >/proc/sys/vm/watermark_boost_factor
  echo "$old_balancing" >/proc/sys/kernel/numa_balancing
}

[ "$mode" = full ] || run_free
[ "$mode" = free ] || run_full
