# Helpers for the partition cases (sourced after lib.sh and placement-lib.sh): where the cgroup
# tree is, snapshots of it and of the state file, and checks that zones are sound.

if [ "$SOFTZONE_CGROUP" = v1 ]; then CG=/sys/fs/cgroup/cpuset; else CG=/sys/fs/cgroup; fi
STATE=/var/lib/softzone/state.json

# mems_of NAME: the partition's cpuset.mems.
mems_of() { cat "$CG/softzone/$1/cpuset.mems"; }

# tree_snapshot: every cpuset file under softzone/ with its contents, then the state file: what
# must not change when zonectl refuses.
tree_snapshot() {
  if [ -d "$CG/softzone" ]; then
    find "$CG/softzone" -type d | sort | while read -r dir; do
      echo "dir $dir"
      for f in cpuset.mems cpuset.cpus cgroup.procs cpuset.mem_hardwall cpuset.memory_migrate; do
        if [ -f "$dir/$f" ]; then echo "$f=$(tr '\n' ' ' <"$dir/$f")"; fi
      done
    done
  fi
  echo "state:"
  cat "$STATE" 2>/dev/null || echo "(none)"
}

# expect_sound: no journal left, no drift, every partition has mems, every task is somewhere.
expect_sound() {
  [ ! -e /run/softzone/journal.json ] || fail "a journal is left: $(cat /run/softzone/journal.json)"
  zonectl --json list >/tmp/list.json
  grep -q '"drift": \[\]' /tmp/list.json || fail "drift after recovery: $(cat /tmp/list.json)"
  for dir in "$CG"/softzone/*/; do
    [ -d "$dir" ] || continue
    [ -n "$(cat "$dir/cpuset.mems")" ] || fail "partition $dir has empty mems"
  done
  # Every process belongs to a cpuset (the root one at least) and has nodes to allocate on.
  for status in /proc/[0-9]*/status; do
    allowed=$(sed -n 's/^Mems_allowed_list:\s*//p' "$status" 2>/dev/null || true)
    [ -z "$allowed" ] && [ -e "$status" ] && fail "$status: no Mems_allowed_list"
  done
  true
}

# expect_nodes WHAT EXPECTED ACTUAL: the same node sets, whatever their order or range syntax.
expect_nodes() {
  want=$(nodes_of "$2" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
  got=$(nodes_of "$3" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
  [ "$want" = "$got" ] || fail "$1: expected nodes '$2', got '$3'"
}

# stop_points CASE PREFIX: the points tests/vm/guest/stop-points gives CASE that begin with
# PREFIX, on this guest's cgroup version, in the list's order.
stop_points() {
  awk -v case="$1" -v prefix="$2" -v cgroup="$SOFTZONE_CGROUP" \
    '!/^#/ && NF >= 2 && $2 == case && index($1, prefix) == 1 && (NF < 3 || $3 == cgroup) { print $1 }' \
    /tests/stop-points
}

# killed_at STEP CMD...: runs CMD with the stop hook at STEP; it must die of SIGKILL there and
# leave its journal.
killed_at() {
  at=$1
  shift
  set +e
  SOFTZONE_TEST_STOP_AT=$at "$@"
  got=$?
  set -e
  expect_eq "exit status of '$*' stopped at $at" 137 "$got"
  [ -e /run/softzone/journal.json ] || fail "no journal after a kill at $at"
}
