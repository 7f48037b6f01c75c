# bench-zoned-keeper: what zoned's shared keeper costs. zoned runs for WINDOW seconds at a time
# (interval 1s) in one boot, on the same zones, with:
#   off       bind_check = 0 (the keeper off): the baseline;
#   many      bind_check = 1s over a tree of 3000 files of 8 KiB (24 MiB) in 30 directories, all
#             in place, at the default bind_check_pages (16384: about 480 such files a check, a
#             round over 7 checks); every check walks the whole tree;
#   many-all  the same with bind_check_pages = 131072: every file looked at every check;
#   large     bind_check = 1s over treegen's 100 MiB tree (168 files, 25679 pages): a round over
#             2 checks at the default.
# zoned's CPU (utime + stime of /proc/PID/stat) over the window, its checks (the textfile's
# softzone_zoned_bind_checks_total) and its last check's duration are recorded; the keeper's CPU
# per check is (CPU - the baseline's) / checks. References in the same boot: `zonectl residency`
# of each tree (one full look, no move) and `find` over it (a plain walk), timed at fixed
# addresses (migrate_probe time --no-aslr). Then the cost of moving: the large tree evicted and
# read in B with zoned stopped, zoned's first check moving it back timed by its metric, against
# `zonectl bind` moving the same pages in the same boot. Results: bench-zoned-keeper.txt.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
. /tests/zoned-lib.sh
set -o pipefail
out=$SOFTZONE_OUT
raw=$out/bench-zoned-keeper.txt
METRICS=$out/softzone.prom
WINDOW=${BENCH_WINDOW:-30}
MANY=$SOFTZONE_DISK/many
make_zones
: >"$raw"

step "trees: $MANY (3000 files of 8 KiB) and $TREE (treegen, 100 MiB)"
rm -rf "$MANY"
# One awk (busybox has no split): a file per print, 8 KiB each.
awk -v root="$MANY" 'BEGIN {
  line = ""; for (i = 0; i < 8191; i++) line = line "x"
  for (d = 0; d < 30; d++) {
    system("mkdir -p " root "/d" d)
    for (f = 0; f < 100; f++) { file = root "/d" d "/f" f; print line >file; close(file) }
  }
}'
sync
expect_eq "files in $MANY" 3000 "$(find "$MANY" -type f | wc -l)"
make_tree 100
zonectl bind "$MANY" "$TREE" >/dev/null
echo "bound: $(zonectl residency "$MANY" "$TREE" | head -3)"

# metric NAME: the sum of NAME's samples in the textfile.
metric() {
  awk -v name="$1" 'index($0, name) == 1 && substr($0, length(name) + 1, 1) ~ /[{ ]/ { s += $NF }
    END { print s + 0 }' "$METRICS"
}
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run NAME BIND CHECK PAGES: zoned for WINDOW s with [shared] bind = BIND, bind_check = CHECK.
run() {
  awk -v bind="bind = $2" '{ print } /^\[shared\]/ { print bind }' /tmp/zones.ini >"$ZONED_CONFIG"
  printf '[zoned]\ninterval = 1s\nbind_check = %s\nbind_check_pages = %s\nmetrics_textfile = %s\n' \
    "$3" "$4" "$METRICS" >>"$ZONED_CONFIG"
  rm -f "$METRICS"
  zoned_start
  sleep 3 # the start and the first checks (a first check looks at every file as new)
  checks0=$(metric softzone_zoned_bind_checks_total)
  ticks0=$(ticks_of "$ZONED_PID")
  sleep "$WINDOW"
  ticks=$(($(ticks_of "$ZONED_PID") - ticks0))
  checks=$(($(metric softzone_zoned_bind_checks_total) - checks0))
  last=$(metric softzone_zoned_last_bind_check_duration_seconds)
  moved=$(metric softzone_zoned_bind_pages_moved_total)
  failures=$(metric softzone_zoned_bind_failures_total)
  zoned_stop
  echo "method=$1 window_s=$WINDOW cpu_ticks=$ticks checks=$checks last_check_s=$last moved=$moved failures=$failures" |
    tee -a "$raw"
}

timed() {
  migrate_probe time --no-aslr "$@" >/tmp/timed.txt 2>&1 || { cat /tmp/timed.txt; fail "'$*' failed"; }
  sed -n 's/^wall_ms=//p' /tmp/timed.txt
}

for round in 1 2; do
  step "round $round"
  run off "$MANY" 0 16384
  run many "$MANY" 1s 16384
  run many-all "$MANY" 1s 131072
  run large "$TREE" 1s 16384
  echo "method=residency-many round=$round ms=$(timed zonectl residency "$MANY")" | tee -a "$raw"
  echo "method=find-many round=$round ms=$(timed find "$MANY" -type f)" | tee -a "$raw"
  echo "method=residency-large round=$round ms=$(timed zonectl residency "$TREE")" | tee -a "$raw"
done

step "moving: the large tree evicted and read in B, moved back by one check"
# Read in B before zoned starts, so its first check (every file new, all within the budget) finds
# all of it there and no check races the reader.
drop_caches
in_zone B sh -c "find $TREE -type f | xargs cat >/dev/null"
awk -v bind="bind = $TREE" '{ print } /^\[shared\]/ { print bind }' /tmp/zones.ini >"$ZONED_CONFIG"
printf '[zoned]\ninterval = 1s\nbind_check = 60s\nbind_check_pages = 65536\nmetrics_textfile = %s\n' \
  "$METRICS" >>"$ZONED_CONFIG"
rm -f "$METRICS"
zoned_start
tries=150
until [ -s "$METRICS" ] && checks=$(metric softzone_zoned_bind_checks_total) && [ "$checks" -ge 1 ]; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "no check in 30 s"
  sleep 0.2
done
echo "method=move-large pages=$(metric softzone_zoned_bind_pages_moved_total) check_s=$(metric softzone_zoned_last_bind_check_duration_seconds)" |
  tee -a "$raw"
zoned_stop
residency_of "$TREE" "$out/res-after.json"
expect_share "$out/res-after.json" $SHARED 99 "after the keeper"
treegen check "$TREE"
# The reference: `zonectl bind` moving the same pages back from B's nodes.
drop_caches
in_zone B sh -c "find $TREE -type f | xargs cat >/dev/null"
echo "method=bind-large ms=$(timed zonectl bind "$TREE")" | tee -a "$raw"
residency_of "$TREE" "$out/res-bind.json"
expect_share "$out/res-bind.json" $SHARED 99 "after zonectl bind"
echo "bench-zoned-keeper: ok"
