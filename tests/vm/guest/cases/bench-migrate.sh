# bench-migrate: what moving 256 MiB of a process's memory between fake nodes costs, by softzone's
# engine (move_pages grouped by target node, 1 and 2 workers; its migrate_pages wrapper), numactl's
# migratepages and the kernel's own cpuset migration (v2: a cpuset.mems write; v1: memory_migrate=1
# and a mems write), on the same pages in the same boot. Methods are interleaved round by round
# and the pages go back and forth between two node pairs; every move is timed as a whole command
# (process start included, as an admin would run it) and followed by a byte-for-byte check and a
# count of pages left behind by the kernel's own numa_maps. A benchmark, not a test: it fails only when it cannot run or when
# memory is damaged.
. /tests/lib.sh
. /tests/placement-lib.sh
mib=${BENCH_MIB:-256}
rounds=${BENCH_ROUNDS:-5}
raw="$SOFTZONE_OUT/migrate-raw.txt"
: >"$raw"
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

step "memhold $mib MiB in cpuset mems=$SRC"
hold_start_in_cpuset "$mib"
# Both pairs allowed, so move_pages and migrate_pages may use either; no page moves on this write
# (the kernel only moves pages that fall outside the new mems).
echo "$SRC,$DST" >"$cg/cpuset.mems"
echo "census: $(migrate_probe census --pid "$HOLD_PID" | tr '\n' ' ')"
echo "transparent huge pages: $(grep AnonHugePages "/proc/$HOLD_PID/smaps_rollup" | tr -s ' ')"
on_source=$(pages_on "$HOLD_PID" "$SRC")
echo "pages on $SRC: $on_source"
[ "$on_source" -ge $((mib * 256)) ] || fail "memhold's memory is not on nodes $SRC"

# timed CMD...: runs CMD under migrate_probe's monotonic clock; sets ms (and keeps its output).
timed() {
  migrate_probe time "$@" >/tmp/timed.txt 2>&1 || { cat /tmp/timed.txt; fail "'$*' failed"; }
  ms=$(sed -n 's/^wall_ms=//p' /tmp/timed.txt)
}

# move_by METHOD FROM TO: one timed move of memhold's pages.
move_by() {
  case "$1" in
    softzone-x1) timed migrate_probe move --pid "$HOLD_PID" --from "$2" --to "$3" ;;
    softzone-x2) timed migrate_probe move --pid "$HOLD_PID" --from "$2" --to "$3" --workers 2 ;;
    softzone-migrate_pages) timed migrate_probe migrate --pid "$HOLD_PID" --from "$2" --to "$3" ;;
    migratepages) timed migratepages "$HOLD_PID" "$2" "$3" ;;
    cpuset-*)
      echo "$2" >"$cg/cpuset.mems"  # nothing to move yet: the pages are all on FROM
      timed sh -c "echo $3 >$cg/cpuset.mems"
      echo "$2,$3" >"$cg/cpuset.mems"
      ;;
  esac
}

methods="softzone-x1 softzone-x2 softzone-migrate_pages migratepages $kernel_method"
from=$SRC to=$DST
step "$rounds rounds of $methods, $mib MiB each, between $SRC and $DST"
for round in $(seq "$rounds"); do
  for method in $methods; do
    move_by "$method" "$from" "$to"
    left=$(pages_on "$HOLD_PID" "$from")
    hold_check
    # The engine's own phases, for the softzone rows (the wall time adds process start and exit).
    phases=$(grep -E '^(scan_ms|move_ms|sweep_ms|verify_ms|move_calls|pages_hidden)=' /tmp/timed.txt |
      tr '\n' ' ' || true)
    echo "round=$round method=$method from=$from to=$to ms=$ms left_pages=$left $phases" |
      tee -a "$raw"
    previous=$from
    from=$to
    to=$previous
  done
done
hold_stop

# Medians per method, and the best run (other work on the host only ever adds time); speed
# relative to numactl's migratepages by the medians (above 1: faster than it).
summary="$SOFTZONE_OUT/migrate.txt"
echo "kernel $(uname -r), cgroup $SOFTZONE_CGROUP, $mib MiB, $rounds rounds, nodes $SRC <-> $DST" |
  tee "$summary"
awk -v mib="$mib" '
  function field(name,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] } }
  function med(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)]
  }
  { m = field("method"); if (!(m in ms)) order[++count] = m
    t = field("ms") + 0; ms[m] = ms[m] " " t; if (!(m in best) || t < best[m]) best[m] = t
    if (field("left_pages") + 0 > left[m]) left[m] = field("left_pages") + 0 }
  END {
    base = med(ms["migratepages"])
    printf "%-24s %10s %8s %8s %16s %10s\n", "method", "median ms", "min ms", "MiB/s", "vs migratepages", "max left"
    for (i = 1; i <= count; i++) { m = order[i]; t = med(ms[m])
      printf "%-24s %10.1f %8.1f %8.1f %15.2fx %10d\n", m, t, best[m], mib * 1000 / t, base / t, left[m] }
  }' "$raw" | tee -a "$summary"
rmdir "$cg"
