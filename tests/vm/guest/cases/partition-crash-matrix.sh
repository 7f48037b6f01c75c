# partition-crash-matrix: zonectl SIGKILLed (SOFTZONE_TEST_STOP_AT) at every point of create,
# destroy and attach that /tests/stop-points gives this case, while memhold rewrites 32 MiB
# throughout. After each kill `zonectl recover` converges: the old or the new state (create and
# destroy complete; attach completes for what moved in), no journal, no drift, no partition
# without nodes, memhold's bytes intact, its anonymous pages on the nodes of the partition it is
# in after an attach, and on v1 memory_migrate on again.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
pick_nodes
A=${SRC%,*} C=${DST%,*}
echo "home partition on node $A; the killed operations' partition x on node $C"
started=$(date +%s)

# points PREFIX...: sets POINTS to this case's points that begin with any PREFIX; an empty list
# fails the case (nothing would be checked).
points() {
  POINTS=
  for prefix in "$@"; do POINTS="$POINTS $(stop_points partition-crash-matrix "$prefix")"; done
  [ -n "$(echo $POINTS)" ] || fail "no $* points in /tests/stop-points"
}

# at_step TEXT: a step marker with the seconds since the case started.
at_step() {
  step "$* (at $(($(date +%s) - started)) s)"
}

# anon_pages_outside PID NODES: pages of PID's purely anonymous mappings (memhold's buffer, heap,
# stack; not file mappings, whose page cache attach leaves where it is) not on NODES.
anon_pages_outside() {
  awk -v nodes=" $(nodes_of "$2") " '
    / anon=/ && !/ file=/ {
      unit = 1
      for (i = 3; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { split($i, kv, "="); unit = kv[2] / 4 }
      for (i = 3; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
        split(substr($i, 2), kv, "="); if (!index(nodes, " " kv[1] " ")) total += kv[2] * unit } }
    END { print total + 0 }' "/proc/$1/numa_maps"
}

# partition_of PID: the softzone partition PID's cpuset is in, "-" when none.
partition_of() {
  sed -n 's|^.*/softzone/\([^/]*\).*$|\1|p' "/proc/$1/cpuset" | grep . || echo -
}

# converged AT: what holds after every recovery.
converged() {
  expect_sound
  hold_check
  [ -n "$(mems_of home)" ] || fail "home has no nodes after $1"
}

# recover_after AT: the recovery (which the session that `recover` opens runs first, saying so on
# stderr) must say what it did.
recover_after() {
  zonectl recover >/tmp/recover.txt 2>&1
  cat /tmp/recover.txt
  grep -Eq '(^|: )(completed|rolled back): ' /tmp/recover.txt || fail "recover did nothing after $1"
}

zonectl create home --nodes "$A"
# --touch on: memhold rewrites its pages continuously, also while zonectl dies and recovers.
HOLD_ARGS="--touch on" hold_start 32
zonectl attach home "$HOLD_PID"

points create.
for at in $POINTS; do
  at_step "create killed after $at"
  killed_at "$at" zonectl create x --nodes "$C"
  recover_after "$at"
  converged "$at"
  # A create completes from any step: x exists, on C.
  expect_nodes "x's mems after $at" "$C" "$(mems_of x)"
  zonectl --json list >/tmp/list.json
  grep -q '"name": "x"' /tmp/list.json || fail "x is not listed after $at"
  zonectl destroy x
done

points destroy.
for at in $POINTS; do
  at_step "destroy killed after $at"
  zonectl create x --nodes "$C"
  zonectl attach x "$HOLD_PID"
  killed_at "$at" zonectl destroy x --to home
  recover_after "$at"
  converged "$at"
  # A destroy completes from any step: x is gone, its process is in home.
  [ ! -d "$CG/softzone/x" ] || fail "x's cgroup is left after $at"
  zonectl --json list >/tmp/list.json
  if grep -q '"name": "x"' /tmp/list.json; then fail "x is still listed after $at"; fi
  expect_eq "memhold's partition after $at" home "$(partition_of "$HOLD_PID")"
done

points attach. cgroup. pages.
for at in $POINTS; do
  at_step "attach killed after $at"
  zonectl create x --nodes "$C"
  killed_at "$at" zonectl attach x "$HOLD_PID"
  recover_after "$at"
  converged "$at"
  if [ "$SOFTZONE_CGROUP" = v1 ]; then
    expect_eq "x's memory_migrate after $at" 1 "$(cat "$CG/softzone/x/cpuset.memory_migrate")"
  fi
  in=$(partition_of "$HOLD_PID")
  case "$in" in
    x) expect_eq "memhold's anonymous pages off x's node $C after $at" 0 \
      "$(anon_pages_outside "$HOLD_PID" "$C")" ;;
    home) echo "the attach stays undone after $at" ;;
    *) fail "memhold is in '$in' after $at" ;;
  esac
  zonectl attach home "$HOLD_PID"
  zonectl destroy x
  expect_sound
done
hold_stop
zonectl destroy home
expect_sound
echo "partition-crash-matrix: ok in $(($(date +%s) - started)) s"
