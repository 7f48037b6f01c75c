# bench-bind: binding a 100 MiB tree, timed against references in the same boot.
#  cold:    `zonectl bind` of a cold tree (populate on the shared nodes) vs `cat` of every file to
#           /dev/null (a plain cold read), caches dropped before each; target bind <= 1.2x cat.
#  migrate: `zonectl bind` of the tree cached on A's nodes (moved to the shared nodes) vs numactl's
#           `migratepages` moving the same amount of anonymous memory (memhold) between the same
#           nodes, in 4 KiB pages as the tree's page cache is (memhold --thp off); target bind's
#           rate >= 1.0x migratepages'. Debian's kernels back memhold with transparent huge pages
#           otherwise (50 pages of 2 MiB to move instead of 25600): that is timed too, as
#           migratepages-anon-thp, with the huge KiB the process had. A third reference moves the
#           same page cache: `migratepages` on a process in A that maps and has touched every
#           file.
# Every command is timed at fixed addresses (migrate_probe time --no-aslr): under QEMU's software
# emulation code is translated per virtual address, so a program given new addresses by ASLR is
# translated again on every run, a cost hardware does not have and that grows with the code a
# program runs (bind runs far more than migratepages or cat; docs/benchmarks.md). The four
# timings the targets compare are also taken as shipped, with ASLR (methods ending in -aslr).
# Rounds alternate the order; results go to $SOFTZONE_OUT/bench-bind.txt as key=value lines.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
. /tests/placement-lib.sh
out=$SOFTZONE_OUT
raw=$out/bench-bind.txt
rounds=${BENCH_ROUNDS:-5}
make_zones
make_tree 100
bytes=$(zonectl --json residency --fast "$TREE" | awk -F': ' '/"size_bytes":/ { sub(/,/, "", $2); print $2; exit }')
mib=$((bytes / 1048576))
echo "tree: $bytes bytes" | tee "$raw"

# timed CMD...: wall time of CMD by migrate_probe's monotonic clock, into $ms; at fixed addresses
# unless ASLR=on.
timed() {
  fixed=--no-aslr
  [ "${ASLR:-off}" = on ] && fixed=
  migrate_probe time $fixed "$@" >/tmp/timed.txt 2>&1 || { cat /tmp/timed.txt; fail "'$*' failed"; }
  ms=$(sed -n 's/^wall_ms=//p' /tmp/timed.txt)
}
# suffix: what a method's name ends with: -aslr when timed with ASLR.
suffix() {
  if [ "${ASLR:-off}" = on ]; then echo -aslr; fi
}

cold_cat() {
  drop_caches
  timed sh -c "find $TREE -type f | xargs cat >/dev/null"
  echo "round=$1 method=cat-cold$(suffix) ms=$ms" | tee -a "$raw"
}
# bind's own phases (look, read, move, unmap; ms) from its JSON report, after the wall time.
bind_phases() {
  tr -d ' \n' </tmp/timed.txt | sed -n 's/.*"phases_ms":{\([^}]*\)}.*/\1/p' | tr -d '"' | tr ',' ' '
}
cold_bind() {
  drop_caches
  timed zonectl --json bind --zone shared "$TREE"
  echo "round=$1 method=bind-cold$(suffix) ms=$ms $(bind_phases)" | tee -a "$raw"
}
migrate_bind() {
  drop_caches
  in_zone A treegen check "$TREE" >/dev/null
  timed zonectl --json bind --zone shared "$TREE"
  echo "round=$1 method=bind-migrate$(suffix) ms=$ms $(bind_phases)" | tee -a "$raw"
}
# migrate_anon ROUND METHOD [MEMHOLD OPTIONS]: migratepages of 100 MiB of memhold's anonymous
# memory from A to the shared nodes, with the huge pages it had (AnonHugePages, KiB).
migrate_anon() {
  anon_round=$1 method=$2
  shift 2
  HOLD_ARGS="$*"
  hold_start "$mib" numactl --membind=$A_NODES
  HOLD_ARGS=
  huge_kb=$(awk '/^AnonHugePages:/ { print $2 }' /proc/"$HOLD_PID"/smaps_rollup)
  timed migratepages "$HOLD_PID" $A_NODES $SHARED
  echo "round=$anon_round method=$method$(suffix) ms=$ms huge_kb=$huge_kb" | tee -a "$raw"
  hold_check
  hold_stop
}

# pages_on_nodes_now NODES: the tree's cached pages on NODES right now.
pages_on_nodes_now() {
  zonectl --json residency "$TREE" >/tmp/res-now.json
  pages_on_nodes /tmp/res-now.json "$1"
}

migrate_file_ref() {
  drop_caches
  rm -f /tmp/map-ref
  start_in_zone A treegen map "$TREE" --status /tmp/map-ref
  mapper=$BG_PID
  wait_line /tmp/map-ref "ready*" 300
  before=$(pages_on_nodes_now $A_NODES)
  timed migratepages "$mapper" $A_NODES $SHARED
  after_a=$(pages_on_nodes_now $A_NODES) after_shared=$(pages_on_nodes_now $SHARED)
  echo "round=$1 method=migratepages-file ms=$ms on_a_before=$before on_a_after=$after_a on_shared_after=$after_shared" |
    tee -a "$raw"
  kill -TERM "$mapper"
  wait "$mapper" || true
}

# as_shipped ROUND: the targets' four timings with ASLR.
as_shipped() {
  ASLR=on
  cold_cat "$1"; cold_bind "$1"; migrate_bind "$1"; migrate_anon "$1" migratepages-anon --thp off
  ASLR=off
}

for round in $(seq 1 "$rounds"); do
  step "round $round"
  if [ $((round % 2)) = 1 ]; then
    cold_cat "$round"; cold_bind "$round"; migrate_bind "$round"
    migrate_anon "$round" migratepages-anon --thp off; migrate_anon "$round" migratepages-anon-thp
    migrate_file_ref "$round"
    as_shipped "$round"
  else
    as_shipped "$round"
    migrate_file_ref "$round"
    migrate_anon "$round" migratepages-anon-thp; migrate_anon "$round" migratepages-anon --thp off
    migrate_bind "$round"; cold_bind "$round"; cold_cat "$round"
  fi
done
treegen check "$TREE"

# median METHOD: the median ms of METHOD's rounds.
median() {
  sed -n "s/.*method=$1 ms=\([0-9.]*\).*/\1/p" "$raw" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
cat_ms=$(median cat-cold)
bind_ms=$(median bind-cold)
mig_ms=$(median bind-migrate)
anon_ms=$(median migratepages-anon)
thp_ms=$(median migratepages-anon-thp)
file_ms=$(median migratepages-file)
cat_aslr_ms=$(median cat-cold-aslr)
bind_aslr_ms=$(median bind-cold-aslr)
mig_aslr_ms=$(median bind-migrate-aslr)
anon_aslr_ms=$(median migratepages-anon-aslr)
# The 4 KiB reference must have been 4 KiB pages for the comparison to mean anything.
if grep -E "method=migratepages-anon(-aslr)? " "$raw" | grep -qv "huge_kb=0$"; then
  fail "memhold --thp off still had huge pages: $(grep -E 'method=migratepages-anon(-aslr)? ' "$raw" | tr '\n' ' ')"
fi
awk -v c="$cat_ms" -v b="$bind_ms" -v m="$mig_ms" -v a="$anon_ms" -v t="$thp_ms" -v f="$file_ms" -v mib="$mib" \
  -v ca="$cat_aslr_ms" -v ba="$bind_aslr_ms" -v ma="$mig_aslr_ms" -v aa="$anon_aslr_ms" 'BEGIN {
  printf "summary cold: cat %.1f ms, bind %.1f ms, bind/cat %.2fx (target <= 1.2x)\n", c, b, b / c
  printf "summary migrate: bind %.1f ms (%.1f MiB/s), migratepages %.1f ms (%.1f MiB/s), rate ratio %.2fx (target >= 1.0x)\n", m, mib * 1000 / m, a, mib * 1000 / a, a / m
  printf "summary migrate, anonymous memory in transparent huge pages: migratepages %.1f ms, rate ratio %.2fx\n", t, t / m
  printf "summary migrate, same page cache: migratepages on a process mapping the tree %.1f ms, bind/that %.2fx\n", f, m / f
  printf "summary with ASLR (emulation retranslates each run): cold cat %.1f ms, bind %.1f ms, %.2fx; migrate bind %.1f ms, migratepages %.1f ms, rate ratio %.2fx\n", ca, ba, ba / ca, ma, aa, aa / ma
}' | tee -a "$raw"
echo "bench-bind: done"
