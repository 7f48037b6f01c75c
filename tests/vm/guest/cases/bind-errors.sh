# bind-errors: `zonectl bind` on a small library-like tree: binding to a partition and back; bad
# input (missing path, symlink loop, unknown zone) refused with exit 2 before anything is done; a
# file being written and a user without permission reported with what was done (exit 1); `--lock`
# keeping the tree cached, on the shared nodes, through drop_caches; the shared zone's nodes
# refused to any partition (a partition spanning them could have its OOM kill another's tasks).
. /tests/lib.sh
. /tests/cases/shared-lib.sh
out=$SOFTZONE_OUT
make_zones
make_tree 8
pages=$(zonectl --json residency --fast "$TREE" | awk -F': ' '/"pages":/ { sub(/,/, "", $2); print $2; exit }')
numactl --hardware | grep free
zonectl bind "$TREE" | tail -n 6

step "the shared zone's nodes never go into a partition's mems"
first_shared=${SHARED%-*}
run_expect_status 2 zonectl create X --nodes "$first_shared" 2>/tmp/err
cat /tmp/err
grep -q "node $first_shared is the shared zone's" /tmp/err || fail "create on a shared node: owner not named"
run_expect_status 2 zonectl resize A --nodes "$first_shared,$A_NODES" 2>/tmp/err
cat /tmp/err
grep -q "node $first_shared is the shared zone's" /tmp/err || fail "resize onto a shared node: owner not named"
zonectl status A | grep -q "$A_NODES" || fail "A changed after a refused resize"
[ ! -d /sys/fs/cgroup/softzone/X ] && [ ! -d /sys/fs/cgroup/cpuset/softzone/X ] || fail "X was created"

step "binding to a partition works too (A), and back"
zonectl bind --zone A "$TREE" | grep -E 'bind to|migrated'
residency_of "$TREE" "$out/res-to-a.json"
expect_share "$out/res-to-a.json" $A_NODES 99 "bound to A"
zonectl bind "$TREE" >/dev/null
treegen check "$TREE"

step "bad input: missing path, symlink loop, unknown zone"
run_expect_status 2 zonectl bind "$SOFTZONE_DISK/no-such-dir" 2>/tmp/err
cat /tmp/err
grep -q 'no such file or directory' /tmp/err || fail "missing path not named"
ln -s looped "$SOFTZONE_DISK/looped"
run_expect_status 2 zonectl bind "$SOFTZONE_DISK/looped" 2>/tmp/err
cat /tmp/err
grep -q 'symlink loop at .*looped' /tmp/err || fail "the loop is not named"
run_expect_status 2 zonectl bind --zone nosuch "$TREE" 2>/tmp/err
cat /tmp/err
grep -q 'unknown zone "nosuch"' /tmp/err || fail "unknown zone not named"

step "a file being written is skipped and said so; the rest is bound"
mkdir -p "$SOFTZONE_DISK/wtree"
cp "$(find "$TREE" -type f | head -n 1)" "$SOFTZONE_DISK/wtree/a-lib.so"
(while :; do echo line; sleep 0.2; done) >>"$SOFTZONE_DISK/wtree/b-log" &
writer=$!
sleep 0.5
run_expect_status 1 zonectl bind "$SOFTZONE_DISK/wtree" >/tmp/out 2>/tmp/err
cat /tmp/out /tmp/err
grep -q 'b-log: being written' /tmp/out || fail "the file being written is not reported"
grep -q '^bind to nodes .*: 2 files' /tmp/out || fail "what was done is not reported"
grep -q 'files not wholly bound: 1' /tmp/out || fail "the count of files not bound is missing"
kill $writer

step "no permission: as uid 1000"
chmod 755 /  # the initramfs root comes out 0700: the user could not even reach /bin
grep -q '^tester:' /etc/passwd 2>/dev/null || echo 'tester:x:1000:1000:bind test:/tmp:/bin/sh' >>/etc/passwd
grep -q '^tester:' /etc/group 2>/dev/null || echo 'tester:x:1000:' >>/etc/group
mkdir -p "$SOFTZONE_DISK/ptree"
cp "$(find "$TREE" -type f | head -n 1)" "$SOFTZONE_DISK/ptree/a-private.so"
chmod 600 "$SOFTZONE_DISK/ptree/a-private.so"
cp "$(find "$TREE" -type f | head -n 1)" "$SOFTZONE_DISK/ptree/b-public.so"
drop_caches
in_zone A cat "$SOFTZONE_DISK/ptree/b-public.so" >/dev/null  # cached on A's nodes: it has to move
set +e
su tester -c "zonectl bind --nodes $SHARED $SOFTZONE_DISK/ptree" >/tmp/out 2>/tmp/err
status=$?
set -e
cat /tmp/out /tmp/err
expect_eq "exit status as uid 1000" 1 "$status"
grep -q 'a-private.so: no permission' /tmp/out || fail "the unreadable file is not reported"
grep -q 'stopped early: .*CAP_SYS_NICE' /tmp/out || fail "the missing capability is not said"
grep -q '^pages failed: ' /tmp/out || fail "what was done is not reported"

step "--lock: a keeper holds the tree; dropping caches leaves it where it is"
zonectl --json bind --lock "$TREE" >"$out/bind-lock.json"
grep -A4 '"lock"' "$out/bind-lock.json"
keeper=$(cut -d' ' -f1 /run/softzone/shared.pid)
expect_eq "keeper name" sz-keep-shared "$(cat /proc/$keeper/comm)"
drop_caches
residency_of "$TREE" "$out/res-locked.json"
expect_eq "cached pages after drop_caches" "$pages" "$(total_of "$out/res-locked.json" cached_pages)"
expect_share "$out/res-locked.json" $SHARED 99 "locked, after drop_caches"
grep -E 'Mlocked' /proc/meminfo
kill "$keeper"
echo "bind-errors: ok"
