# partition-bad-input: each bad request gets one clear line and exit 2 (bad input) or 1 (refused),
# and leaves the cgroup tree and the state file exactly as they were.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
pick_nodes
A=${SRC%,*} B=${SRC#*,} C=${DST%,*}
long=$(printf 'x%.0s' $(seq 1 1000))
zonectl create a --nodes "$A,$B"
hold_start 400
zonectl attach a "$HOLD_PID"
echo "a on nodes $A,$B holds 400 MiB; node $A alone has $(free_mib "$A") MiB free"

# refused STATUS MESSAGE CMD...: CMD exits STATUS with MESSAGE in its one-line error, and the
# cgroup tree and state file are what they were.
refused() {
  want=$1 says=$2
  shift 2
  tree_snapshot >/tmp/before.txt
  set +e
  "$@" >/tmp/out.txt 2>/tmp/err.txt
  got=$?
  set -e
  echo "[$got] $*: $(head -c 300 /tmp/err.txt)"
  [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want: $(cat /tmp/err.txt)"
  grep -q -- "$says" /tmp/err.txt || fail "'$*' did not say '$says': $(cat /tmp/err.txt)"
  tree_snapshot >/tmp/after.txt
  cmp -s /tmp/before.txt /tmp/after.txt || { diff /tmp/before.txt /tmp/after.txt; fail "'$*' changed the tree or the state"; }
}

# as_nobody CMD...: CMD as user nobody (busybox su; the initramfs has no passwd entry for it).
grep -q '^nobody:' /etc/passwd 2>/dev/null || echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
grep -q '^nogroup:' /etc/group 2>/dev/null || echo 'nogroup:x:65534:' >>/etc/group
# The initramfs's directories are root's alone (mode 700): let others reach the binaries.
find / -xdev -type d ! -perm -o+x -exec chmod go+rx {} + 2>/dev/null || true
as_nobody() { su -s /bin/sh nobody -c "$*"; }

step "the table"
refused 2 "unknown partition \"nope\"" zonectl resize nope --nodes "$C"
refused 2 "unknown partition \"nope\"" zonectl destroy nope
refused 2 "unknown partition \"nope\"" zonectl attach nope 1
refused 2 "are not free (node $A is partition a's)" zonectl create b --nodes "$A,$C"
refused 2 "node 0 is the system zone's" zonectl create b --nodes 0
refused 2 "do not exist on this machine" zonectl create b --nodes 99
refused 2 "do not exist on this machine" zonectl resize a --nodes "$A,$B,77"
refused 2 "empty" zonectl create b --nodes ""
refused 2 "nodes" zonectl create b --nodes ","
refused 2 "exactly one of --nodes" zonectl create b --nodes "$C" --size 100M
refused 2 "exactly one of --nodes" zonectl create b
refused 1 "would give up" zonectl resize a --nodes "$A"
refused 2 "other characters" zonectl create a/b --nodes "$C"
refused 2 "cannot name a directory" zonectl create .. --nodes "$C"
refused 2 "too long" zonectl create "$long" --nodes "$C"
refused 2 "reserved" zonectl create system --nodes "$C"
refused 2 "exists" zonectl create a --nodes "$C"
refused 2 "no process 999999" zonectl attach a 999999
refused 2 "expected a process id" zonectl attach a 12x
refused 2 "cannot go to the partition being destroyed" zonectl destroy a --to a
refused 2 "unknown partition" zonectl destroy a --to nope
refused 1 "needs root" as_nobody zonectl create b --nodes "$C"
refused 1 "needs root" as_nobody zonectl resize a --nodes "$A,$B,$C"
refused 1 "needs root" as_nobody zonectl destroy a
for name in tasks notify_on_release cgroup.procs cpuset.mems memory.high io.max pids.max; do
  refused 2 "clash" zonectl create "$name" --nodes "$C"
done
kill -0 "$HOLD_PID" || fail "memhold died"
hold_check

step "a foreign cgroup under the parent is skipped, not fatal"
mkdir "$CG/softzone/foreign"
zonectl --json list >/tmp/list.json
grep -q "softzone/foreign is not a partition" /tmp/list.json ||
  fail "list does not mention the foreign cgroup: $(cat /tmp/list.json)"
grep -q '"name": "a"' /tmp/list.json || fail "list lost partition a: $(cat /tmp/list.json)"
rmdir "$CG/softzone/foreign"

step "what --force does instead"
zonectl resize a --help | grep -q -- "--force" || fail "resize --help does not mention --force"
hold_stop
zonectl destroy a
expect_sound
echo "partition-bad-input: ok"
