# partition-oom: a memory hog in partition A is OOM-killed inside A (the kernel logs
# CONSTRAINT_CPUSET with A's cpuset), while a process in partition B keeps running with every
# byte of its memory intact.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
pick_nodes
A=${SRC%,*} B=${SRC#*,}
echo "partition a on node $A, b on node $B"
zonectl create a --nodes "$A"
zonectl create b --nodes "$B"

step "memhold 100 MiB in b"
HOLD_STATUS=/tmp/memhold.b.status
last_status=
zonectl exec b -- memhold --mib 100 --status "$HOLD_STATUS" &
HOLD_PID=$!
wait_status "$HOLD_STATUS" "ready*" 300
grep -q "softzone/b" "/proc/$HOLD_PID/cgroup" || fail "memhold is not in b: $(cat /proc/$HOLD_PID/cgroup)"
[ "$(pages_on "$HOLD_PID" "$B")" -ge $((100 * 256)) ] || fail "memhold's memory is not on node $B"

step "a hog of 1 GiB in a (node $A holds $(free_mib "$A") MiB free)"
dmesg -c >/dev/null
set +e
zonectl exec a -- memhog 1024M >/tmp/hog.txt 2>&1
hog=$?
set -e
echo "hog exited $hog"
[ "$hog" -ne 0 ] || fail "the hog of 1 GiB finished in a node of $(free_mib "$A") MiB"
dmesg >/tmp/kmsg.txt
grep -m1 "oom-kill:" /tmp/kmsg.txt || fail "no oom-kill line in the kernel log"
grep "oom-kill:" /tmp/kmsg.txt | grep -q "constraint=CONSTRAINT_CPUSET" ||
  fail "the OOM kill was not constrained to a cpuset"
grep "oom-kill:" /tmp/kmsg.txt | grep -q "cpuset=a," || fail "the OOM kill was not in cpuset a"
grep "oom-kill:" /tmp/kmsg.txt | grep -q "mems_allowed=$A," || fail "the OOM kill's mems are not node $A"
grep "oom-kill:" /tmp/kmsg.txt | grep -q "task=memhog" || fail "the victim was not the hog"
grep "Killed process" /tmp/kmsg.txt | grep -v memhog && fail "something besides the hog was killed"

step "b is untouched"
kill -0 "$HOLD_PID" || fail "memhold in b died"
hold_check
hold_stop
zonectl destroy a
zonectl destroy b
expect_sound
echo "partition-oom: ok"
