# partition-crash: zonectl is SIGKILLed (SOFTZONE_TEST_STOP_AT) right after each named step of a
# resize and of an apply; the next run - `zonectl recover`, or any changing verb on its own -
# completes the operation: no journal left, no drift, no partition with empty mems, every task in
# a cpuset, and the memory of the process inside - written all along, through every kill -
# intact byte for byte and on the partition's nodes only. A resize killed after its mems write
# (resize.shrink) must still be moved off and checked by the recovery, which says so.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
pick_nodes
A=${SRC%,*} B=${SRC#*,} C=${DST%,*}
echo "resize between nodes $A and $B; scratch node $C"

zonectl create p --nodes "$A"
# --touch on: memhold rewrites its pages continuously, also while zonectl dies and recovers.
HOLD_ARGS="--touch on" hold_start 100
zonectl attach p "$HOLD_PID"
cur=$A
round=0
resize_points=$(stop_points partition-crash resize. | sed 's/^resize\.//')
[ -n "$resize_points" ] || fail "no resize points in /tests/stop-points"
for at in $resize_points; do
  step "resize killed after resize.$at"
  if [ "$cur" = "$A" ]; then next=$B; else next=$A; fi
  killed_at "resize.$at" zonectl resize p --nodes "$next"
  round=$((round + 1))
  if [ "$at" = shrink ]; then
    # The cgroup has the new node only; the recovery must still empty the old one and say so.
    expect_nodes "p's mems right after the kill at resize.shrink" "$next" "$(mems_of p)"
    zonectl recover >/tmp/recover.txt
    cat /tmp/recover.txt
    grep -q "completed: resize p to nodes $next; nodes $cur released: .* 0 left" /tmp/recover.txt ||
      fail "the recovery of resize.shrink did not move off and check node $cur"
  elif [ $((round % 2)) = 1 ]; then
    zonectl recover
  else
    # Any changing verb recovers first on its own.
    zonectl create scratch --nodes "$C"
    zonectl destroy scratch
  fi
  expect_nodes "p's mems after recovery" "$next" "$(mems_of p)"
  expect_eq "pages left on node $cur" 0 "$(pages_on "$HOLD_PID" "$cur")"
  hold_check
  expect_sound
  cur=$next
done
hold_stop
zonectl destroy p

step "a spec whose plan is this guest's numa=fake=8"
booted=$(sed -n 's/.*numa=fake=\([^ ]*\).*/\1/p' /proc/cmdline)
spec=/tmp/crash.ini
found=
for size in 180 190 200 205 210 215 220 225 230 235 240 245 250; do
  printf '[machine]\nreserve = 64M\nnode_size = %sM\n[partition.web]\nmemory = 120M\n[partition.db]\nmemory = 120M\n' \
    "$size" >"$spec"
  if [ "$(zonectl plan "$spec" --format cmdline 2>/dev/null)" = "numa=fake=$booted" ]; then
    found=$size
    break
  fi
done
[ -n "$found" ] || fail "no node_size plans numa=fake=$booted"
cat "$spec"
zonectl plan "$spec"

# apply's own points (apply.action.N: its first and second action), and create's inside it.
apply_points=$(stop_points partition-crash apply. | sed 's/^apply\.action\.N$/apply.action.1 apply.action.2/')
[ -n "$apply_points" ] || fail "no apply points in /tests/stop-points"
for at in $apply_points create.journal create.cgroup create.state; do
  step "apply killed after $at"
  for name in web db; do
    if [ -d "$CG/softzone/$name" ]; then zonectl destroy "$name"; fi
  done
  killed_at "$at" zonectl apply "$spec"
  zonectl apply "$spec"
  zonectl apply "$spec" --dry-run >/tmp/dry.txt
  cat /tmp/dry.txt
  grep -q ": 0 partition change(s)" /tmp/dry.txt || fail "apply did not converge after $at"
  [ -d "$CG/softzone/web" ] && [ -d "$CG/softzone/db" ] || fail "web or db is missing after $at"
  expect_sound
done
zonectl list
echo "partition-crash: ok"
