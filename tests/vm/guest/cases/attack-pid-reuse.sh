# attack-pid-reuse: a pid zonectl read from a partition's cgroup names another process by the time
# it acts. zonectl is paused (SOFTZONE_TEST_PAUSE_AT) right after reading the pids; the process
# exits and is reaped, and a newcomer outside every partition is given its pid
# (/proc/sys/kernel/ns_last_pid); then zonectl goes on. destroy must not move the newcomer into
# the destination, and a shrinking resize must not move the newcomer's pages off the released
# node: both go by pidfds and confirm the cgroup after opening (zones::holdProcessIn).
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
pick_nodes
A=${SRC%,*} B=${SRC#*,} C=${DST%,*}
echo "partitions on nodes $A, $B and $C"

# paused_at POINT CMD...: starts CMD in the background with the pause hook at POINT and waits
# until it has stopped itself there; sets ZONECTL_PID.
paused_at() {
  point=$1
  shift
  SOFTZONE_TEST_PAUSE_AT=$point "$@" >/tmp/paused.txt 2>&1 &
  ZONECTL_PID=$!
  tries=300
  until [ "$(awk '{ print $3 }' "/proc/$ZONECTL_PID/stat" 2>/dev/null)" = T ]; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "'$*' never paused at $point: $(cat /tmp/paused.txt)"
    sleep 0.1
  done
}

# resume: lets the paused zonectl go on; it must end with status 0.
resume() {
  kill -CONT "$ZONECTL_PID"
  set +e
  wait "$ZONECTL_PID"
  got=$?
  set -e
  cat /tmp/paused.txt
  expect_eq "exit status of the resumed zonectl" 0 "$got"
}

# end_and_reap PID: kills a child of this shell and reaps it: its pid is free again.
end_and_reap() {
  kill -KILL "$1"
  wait "$1" 2>/dev/null || true
  [ ! -e "/proc/$1" ] || fail "pid $1 still exists after it was reaped"
}

# with_pid PID MIB [CMD...]: hold_start's memhold, started so that it gets PID (the kernel hands
# out ns_last_pid + 1 next: nothing may fork between the write and the start); retries when
# another fork took it first.
with_pid() {
  want=$1 mib=$2
  shift 2
  HOLD_STATUS=/tmp/memhold.newcomer.status
  for try in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$HOLD_STATUS"
    last_status=
    echo $((want - 1)) >/proc/sys/kernel/ns_last_pid
    "$@" memhold --mib "$mib" --status "$HOLD_STATUS" &
    HOLD_PID=$!
    wait_status "$HOLD_STATUS" "ready*" 900
    [ "$HOLD_PID" = "$want" ] && return 0
    echo "try $try: the newcomer got pid $HOLD_PID, not $want"
    hold_stop
  done
  fail "no newcomer got pid $want"
}

step "destroy reads a pid, its process is replaced by a newcomer outside the partition"
zonectl create p --nodes "$A"
zonectl create q --nodes "$B"
hold_start 8
OLD=$HOLD_PID
zonectl attach p "$OLD"
paused_at destroy.procs zonectl destroy p --to q
end_and_reap "$OLD"
with_pid "$OLD" 8
echo "pid $OLD: memhold in cpuset $(cat "/proc/$HOLD_PID/cpuset") (a newcomer)"
resume
grep -q "destroyed partition p: 0 process(es) moved" /tmp/paused.txt ||
  fail "destroy reports moving a process: $(cat /tmp/paused.txt)"
expect_eq "the newcomer's cpuset after destroy" / "$(cat "/proc/$HOLD_PID/cpuset")"
[ -z "$(cat "$CG/softzone/q/cgroup.procs")" ] || fail "q holds processes: $(cat "$CG/softzone/q/cgroup.procs")"
hold_check
hold_stop
expect_sound
zonectl destroy q

step "a shrinking resize reads a pid, its process is replaced by a newcomer with pages on the released node"
zonectl create r --nodes "$A,$C"
hold_start 20 numactl --membind="$C"
OLD=$HOLD_PID
zonectl attach r "$OLD"
paused_at pages.pids zonectl resize r --nodes "$A"
end_and_reap "$OLD"
with_pid "$OLD" 20 numactl --membind="$C"
before=$(pages_on "$HOLD_PID" "$C")
echo "pid $OLD: memhold outside the partitions with $before pages on node $C (a newcomer)"
[ "$before" -ge 5120 ] || fail "the newcomer holds only $before pages on node $C"
resume
expect_nodes "r's mems after the resize" "$A" "$(mems_of r)"
expect_eq "the newcomer's pages on node $C after the resize" "$before" "$(pages_on "$HOLD_PID" "$C")"
expect_eq "the newcomer's cpuset after the resize" / "$(cat "/proc/$HOLD_PID/cpuset")"
hold_check
hold_stop
zonectl destroy r
expect_sound
echo "attack-pid-reuse: ok"
