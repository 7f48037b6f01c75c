# Helpers for the shared-zone cases (bind, first-touch, bench-bind; sourced after lib.sh).
# Zones: system = node 0, shared = nodes 1-2, partition A = nodes 3-4, partition B = nodes 5-6.
SHARED=1-2
A_NODES=3-4
B_NODES=5-6
TREE=$SOFTZONE_DISK/tree

# cgroup_dir NAME: the partition's cpuset directory.
cgroup_dir() {
  if [ "$SOFTZONE_CGROUP" = v1 ]; then echo /sys/fs/cgroup/cpuset/softzone/$1; else echo /sys/fs/cgroup/softzone/$1; fi
}

# make_zones: the zones from a spec, with `zonectl apply` as an admin makes them: on the 2 GiB
# guests' numa=fake=8 the plan is system 0, shared 1-2, A 3-4, B 5-6 (checked, not assumed).
make_zones() {
  step "zones: shared $SHARED, A $A_NODES, B $B_NODES (zonectl apply)"
  if [ "$SOFTZONE_CGROUP" = v1 ]; then cg=/sys/fs/cgroup/cpuset; else cg=/sys/fs/cgroup; fi
  if [ -d $cg/softzone/A ] && [ -d $cg/softzone/B ]; then return 0; fi
  spec=/tmp/zones.ini
  printf '[machine]\nreserve = 128M\nnode_size = 224M\n[shared]\nsize = 200M\n' >$spec
  printf '[partition.A]\nmemory = 200M\n[partition.B]\nmemory = 200M\n' >>$spec
  zonectl apply $spec || fail "apply of the zones' spec failed"
  [ "$(cat $cg/softzone/A/cpuset.mems)" = "$A_NODES" ] || fail "A's mems: $(cat $cg/softzone/A/cpuset.mems)"
  [ "$(cat $cg/softzone/B/cpuset.mems)" = "$B_NODES" ] || fail "B's mems: $(cat $cg/softzone/B/cpuset.mems)"
  zonectl list >/tmp/zones.txt
  cat /tmp/zones.txt
  grep -q "^shared  *shared  *$SHARED " /tmp/zones.txt || fail "the shared zone is not on nodes $SHARED"
}

# in_zone NAME CMD...: runs CMD as a task of partition NAME (first touch happens on its nodes).
in_zone() {
  zone=$1
  shift
  sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$(cgroup_dir "$zone")" "$@"
}

# start_in_zone NAME CMD...: the same in the background; BG_PID is CMD's own pid (exec'd), so
# signals reach it.
start_in_zone() {
  zone=$1
  shift
  sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$(cgroup_dir "$zone")" "$@" &
  BG_PID=$!
}

drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

# make_tree MIB: the library-like tree on the ext4 disk, written back and dropped from the cache.
make_tree() {
  rm -rf "$TREE"
  treegen make "$TREE" --mib "$1"
  drop_caches
}

# residency_of PATH OUT: `zonectl --json residency PATH` into OUT.
residency_of() {
  zonectl --json residency "$1" >"$2"
}

# total_of FILE KEY: KEY of the "total" block of residency JSON.
total_of() {
  awk -v key="\"$2\":" '/"total": \{/ { t = 1 } t && index($0, key) { sub(/^[^:]*: */, ""); sub(/,$/, ""); print; exit }' "$1"
}

# pages_on_nodes FILE NODES: the total's cached pages on NODES (numactl list syntax).
pages_on_nodes() {
  awk -v want=" $(nodes_of "$2") " '
    /"total": \{/ { t = 1 }
    t && /"pages_per_node": \{/ { p = 1; next }
    p && /\}/ { exit }
    p { gsub(/[",]/, ""); split($0, kv, ":"); n = kv[1] + 0; if (index(want, " " n " ")) s += kv[2] }
    END { print s + 0 }' "$1"
}

# nodes_of LIST: "2-3,6" -> "2 3 6".
nodes_of() {
  echo "$1" | tr ',' '\n' | while IFS=- read -r first last; do seq "$first" "${last:-$first}"; done |
    tr '\n' ' '
}

# json_value FILE KEY: the first "KEY": value in FILE.
json_value() {
  awk -v key="\"$2\":" 'index($0, key) { sub(/^[^:]*: */, ""); sub(/,$/, ""); print; exit }' "$1"
}

# expect_share FILE NODES PERCENT WHAT: at least PERCENT % of the cached pages are on NODES.
expect_share() {
  cached=$(total_of "$1" cached_pages)
  on=$(pages_on_nodes "$1" "$2")
  echo "$4: $on of $cached cached pages on nodes $2"
  [ "$cached" -gt 0 ] || fail "$4: nothing cached"
  [ $((on * 100)) -ge $((cached * $3)) ] || fail "$4: only $on of $cached cached pages on nodes $2 (want >= $3%)"
}

# expect_none FILE NODES WHAT: no cached page of the tree on NODES.
expect_none() {
  on=$(pages_on_nodes "$1" "$2")
  echo "$3: $on pages on nodes $2"
  expect_eq "$3: pages on nodes $2" 0 "$on"
}

# wait_line FILE PATTERN SECONDS: waits until FILE's first line matches PATTERN (a case pattern).
wait_line() {
  tries=$(($3 * 10))
  while [ "$tries" -gt 0 ]; do
    line=$(cat "$1" 2>/dev/null || true)
    case "$line" in bad*) fail "byte check failed: $line" ;; esac
    # shellcheck disable=SC2254
    case "$line" in $2) return 0 ;; esac
    tries=$((tries - 1))
    sleep 0.1
  done
  fail "'$1' says '$(cat "$1" 2>/dev/null)', never '$2' in $3 s"
}

# anon_pages_on PID ADDRESS NODES: pages of the mapping at ADDRESS (0x...) on NODES (numa_maps).
anon_pages_on() {
  awk -v start="${2#0x}" -v nodes=" $(nodes_of "$3") " '
    $1 == start { for (i = 3; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
      split(substr($i, 2), kv, "="); if (index(nodes, " " kv[1] " ")) total += kv[2] } }
    END { print total + 0 }' "/proc/$1/numa_maps"
}

# bound_tree_with_other_user: zones, a 32 MiB tree bound to the shared zone, and a process outside
# any partition mapping it and libc ($other). On a real machine every process maps libc; this
# guest's init and shell are static busybox, so a second process running the same program stands
# in for them: the pages of libc (and of the tree) a process of the case uses are then mapped by
# another one too, as on a host. A library page mapped by that process alone is its own.
bound_tree_with_other_user() {
  make_zones
  make_tree 32
  step "bind the tree to the shared zone"
  zonectl bind "$TREE" --zone shared >/dev/null
  residency_of "$TREE" "$out/res-bound.json"
  expect_share "$out/res-bound.json" $SHARED 99 "after bind"
  step "another process outside any partition uses libc and the tree"
  treegen map "$TREE" --status /tmp/other --anon-mib 1 &
  other=$!
  wait_line /tmp/other "ready*" 180
}

# map_ready STATUS PID: waits for `treegen map` (PID) to say ready in STATUS, then sets anon (the
# address of its anonymous memory), anon_pages (ANON_MIB's pages) and libc (the libc it maps).
map_ready() {
  wait_line "$1" "ready*" 180
  cat "$1"
  anon=$(sed -n 's/.* anon=\(0x[0-9a-f]*\).*/\1/p' "$1")
  [ -n "$anon" ] || fail "no anonymous address in '$(cat "$1")'"
  anon_pages=$((ANON_MIB * 256))
  libc=$(awk '$6 ~ /\/libc[.-][^\/]*so/ { print $6; exit }' "/proc/$2/maps")
  [ -n "$libc" ] || fail "the process maps no libc"
  echo "libc: $libc"
}
