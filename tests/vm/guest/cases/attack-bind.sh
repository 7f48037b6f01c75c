# attack-bind: a user (uid 1000) who owns a directory inside a bound tree tries to make root's
# `zonectl bind` and `bind --lock` read, move or lock what is not the tree's: a FIFO (an open by
# path blocks), symlinks to a device, to `/` and to a big file outside the tree, a mount inside
# the tree, and names swapped between the walk and the open while bind runs. Each must end with
# the tree bound, the entry skipped and said so, nothing outside the tree read or locked (the
# outside file stays uncached through every run), and no run hanging. `--lock` over its limit is
# refused with one line and nothing locked.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
out=$SOFTZONE_OUT
OUTSIDE=$SOFTZONE_DISK/outside
USERDIR=$TREE/zz-user
make_zones
make_tree 24

step "a user, a directory of theirs in the tree, a big file outside it"
chmod 755 /  # the initramfs root comes out 0700: the user could not even reach /bin
grep -q '^tester:' /etc/passwd 2>/dev/null || echo 'tester:x:1000:1000:bind test:/tmp:/bin/sh' >>/etc/passwd
grep -q '^tester:' /etc/group 2>/dev/null || echo 'tester:x:1000:' >>/etc/group
as_user() { su tester -c "$*"; }
mkdir -p "$USERDIR" "$OUTSIDE"
chown 1000:1000 "$USERDIR"
dd if=/dev/urandom of="$OUTSIDE/big" bs=1M count=96 2>/dev/null
dd if=/dev/urandom of="$OUTSIDE/big2" bs=1M count=32 2>/dev/null
chmod 644 "$OUTSIDE/big" "$OUTSIDE/big2"
drop_caches
# outside_untouched WHAT: the file outside the tree has no page cached (it is never read).
outside_untouched() {
  zonectl --json residency --fast "$OUTSIDE" >/tmp/outside.json
  expect_eq "$1: outside pages cached" 0 "$(total_of /tmp/outside.json cached_pages)"
}

# bind_json OUT ARGS...: `zonectl --json bind ARGS... $TREE` under a timeout; BIND_STATUS is its
# exit status (124: it hung).
bind_json() {
  file=$1
  shift
  set +e
  timeout 120 zonectl --json bind "$@" "$TREE" >"$file" 2>/tmp/bind-err
  BIND_STATUS=$?
  set -e
  cat /tmp/bind-err
  [ "$BIND_STATUS" != 124 ] && [ "$BIND_STATUS" != 143 ] || fail "bind $* hung (killed by timeout)"
}

# stop_keeper: the keeper --lock started, stopped and gone (its pid file: "PID START").
stop_keeper() {
  keeper=$(cut -d' ' -f1 /run/softzone/shared.pid)
  expect_eq "keeper name" sz-keep-shared "$(cat /proc/"$keeper"/comm)"
  kill "$keeper"
  while [ -d /proc/"$keeper" ]; do sleep 0.1; done
}

step "the tree as it is, bound: what every attack is compared with"
bind_json "$out/base.json"
expect_eq "exit status of the first bind" 0 "$BIND_STATUS"
tree_files=$(json_value "$out/base.json" files)
tree_bytes=$(json_value "$out/base.json" size_bytes)
tree_links=$(json_value "$out/base.json" symlinks_skipped)
echo "tree: $tree_files files, $tree_bytes bytes, $tree_links symlinks (not followed)"
[ "$tree_files" -gt 0 ] && [ "$tree_bytes" -gt 0 ] || fail "the tree's bind saw nothing"
expect_eq "fifos, sockets and devices in the tree as made" 0 "$(json_value "$out/base.json" others_skipped)"
cp "$(find "$TREE" -type f -name '*.so*' | head -n 1)" /tmp/libuser.so
chmod 644 /tmp/libuser.so
user_bytes=$(stat -c %s /tmp/libuser.so)

step "(a) a FIFO in the user's directory: skipped, bind does not block"
as_user "mkfifo $USERDIR/libuser.so"
bind_json "$out/fifo.json"
expect_eq "exit status with a FIFO in the tree" 0 "$BIND_STATUS"
expect_eq "fifos skipped" 1 "$(json_value "$out/fifo.json" others_skipped)"
expect_eq "files bound" "$tree_files" "$(json_value "$out/fifo.json" files)"

step "(b) symlinks to devices: not followed, nothing read from them"
as_user "ln -s /dev/zero $USERDIR/zero.so && ln -s /dev/vda $USERDIR/disk.so"
bind_json "$out/devices.json"
expect_eq "exit status with device symlinks" 0 "$BIND_STATUS"
expect_eq "symlinks skipped" $((tree_links + 2)) "$(json_value "$out/devices.json" symlinks_skipped)"
expect_eq "bytes bound" "$tree_bytes" "$(json_value "$out/devices.json" size_bytes)"
as_user "rm -f $USERDIR/zero.so $USERDIR/disk.so $USERDIR/libuser.so"

step "(c) symlinks to / and to a big file outside: bind and --lock stay in the tree"
as_user "ln -s / $USERDIR/root && ln -s $OUTSIDE/big $USERDIR/big.so && ln -s $OUTSIDE $USERDIR/outside"
bind_json "$out/root-link.json"
expect_eq "exit status with symlinks out of the tree" 0 "$BIND_STATUS"
expect_eq "symlinks skipped" $((tree_links + 3)) "$(json_value "$out/root-link.json" symlinks_skipped)"
expect_eq "files bound" "$tree_files" "$(json_value "$out/root-link.json" files)"
expect_eq "bytes bound" "$tree_bytes" "$(json_value "$out/root-link.json" size_bytes)"
outside_untouched "after bind"
mlocked_before=$(awk '/^Mlocked:/ { print $2 }' /proc/meminfo)
bind_json "$out/root-link-lock.json" --lock
expect_eq "exit status of --lock" 0 "$BIND_STATUS"
grep -A4 '"lock"' "$out/root-link-lock.json"
locked=$(awk -F': ' '/"locked_bytes":/ { sub(/,/, "", $2); print $2; exit }' "$out/root-link-lock.json")
[ "$locked" -le "$tree_bytes" ] || fail "the keeper locked $locked bytes, the tree has $tree_bytes"
[ "$locked" -gt 0 ] || fail "the keeper locked nothing"
mlocked=$(awk '/^Mlocked:/ { print $2 }' /proc/meminfo)
echo "Mlocked: $mlocked_before -> $mlocked kB"
[ $(((mlocked - mlocked_before) * 1024)) -le $((tree_bytes + 4096 * tree_files)) ] ||
  fail "Mlocked grew by more than the tree: $mlocked_before -> $mlocked kB"
drop_caches
outside_untouched "after bind --lock and drop_caches"
stop_keeper
as_user "rm -f $USERDIR/root $USERDIR/big.so $USERDIR/outside"

step "a filesystem mounted inside the tree is not entered unless --cross-mounts"
mkdir -p "$USERDIR/mnt"
mount -t tmpfs -o size=8m tmpfs "$USERDIR/mnt"
dd if=/dev/zero of="$USERDIR/mnt/on-tmpfs.so" bs=1k count=64 2>/dev/null
bind_json "$out/mount.json"
expect_eq "exit status with a mount in the tree" 0 "$BIND_STATUS"
expect_eq "mounts skipped" 1 "$(json_value "$out/mount.json" mounts_skipped)"
expect_eq "bytes bound without --cross-mounts" "$tree_bytes" "$(json_value "$out/mount.json" size_bytes)"
bind_json "$out/mount-cross.json" --cross-mounts
expect_eq "exit status with --cross-mounts" 0 "$BIND_STATUS"
expect_eq "bytes bound with --cross-mounts" $((tree_bytes + 65536)) "$(json_value "$out/mount-cross.json" size_bytes)"
umount "$USERDIR/mnt"
rmdir "$USERDIR/mnt"

step "(d) a name swapped after the walk, before --lock's keeper opens it: not opened, not locked"
# The keeper opens every file again once bind is done; the swap lands in between: bind maps the
# tree's files (seen in its maps) only after the walk.
as_user "cp /tmp/libuser.so $USERDIR/libuser.so && mkfifo $USERDIR/.fifo"
drop_caches
timeout 120 zonectl --json bind --lock "$TREE" >"$out/swap-lock.json" 2>/tmp/bind-err &
bind_pid=$!
until grep -q "$TREE/" /proc/$bind_pid/maps 2>/dev/null; do
  [ -d /proc/$bind_pid ] || fail "bind ended before it was seen mapping the tree: no swap placed"
done
as_user "mv -f $USERDIR/.fifo $USERDIR/libuser.so"
set +e
wait $bind_pid
BIND_STATUS=$?
set -e
cat /tmp/bind-err
[ "$BIND_STATUS" != 124 ] && [ "$BIND_STATUS" != 143 ] || fail "bind --lock hung on the FIFO"
grep -E '"files_not_locked"|"complete"|changed since walked' "$out/swap-lock.json" || true
if [ "$BIND_STATUS" = 0 ]; then
  # Bound before the swap: the keeper found the FIFO and left it.
  expect_eq "files the keeper did not lock" 1 "$(json_value "$out/swap-lock.json" files_not_locked)"
else
  expect_eq "exit status of bind --lock after the swap" 1 "$BIND_STATUS"
  grep -q '"reason": "changed since walked"' "$out/swap-lock.json" || fail "the swapped file is not reported changed"
fi
stop_keeper
rm -f "$USERDIR/libuser.so"

step "(d) names swapped in a loop while bind and --lock run: nothing outside moved or locked"
# Each new entry is made in the user's staging directory outside the tree (same filesystem) and
# renamed over the name with rename(2), which replaces the name itself (busybox's mv -T follows a
# symlink at the target and refuses a directory): the name is always one of the four.
STAGE=$SOFTZONE_DISK/stage
mkdir -p "$STAGE"
chown 1000:1000 "$STAGE"
su tester -c "echo \$\$ >$STAGE/pid; exec treegen swap $USERDIR/libuser.so --stage $STAGE \
  --copy-of /tmp/libuser.so --outside $OUTSIDE/big" >/tmp/swapper.out 2>&1 &
while [ ! -s "$STAGE/pid" ]; do sleep 0.1; done
swapper=$(cat "$STAGE/pid")
changed=0
for run in 1 2 3 4 5 6; do
  if [ $((run % 2)) = 0 ]; then lock=--lock; else lock=; fi
  bind_json "$out/swap-$run.json" $lock
  case "$BIND_STATUS" in
    0) ;;
    1) grep -q '"reason": "changed since walked"\|"reason": "gone"' "$out/swap-$run.json" ||
         fail "run $run: exit 1 without the swapped file reported" ;;
    *) fail "run $run: bind $lock exited $BIND_STATUS" ;;
  esac
  grep -q 'changed since walked' "$out/swap-$run.json" && changed=$((changed + 1))
  bytes=$(json_value "$out/swap-$run.json" size_bytes)
  [ "$bytes" -le $((tree_bytes + user_bytes)) ] || fail "run $run: bound $bytes bytes, the tree has $tree_bytes"
  if [ -n "$lock" ]; then
    locked=$(awk -F': ' '/"locked_bytes":/ { sub(/,/, "", $2); print $2; exit }' "$out/swap-$run.json")
    [ "$locked" -le $((tree_bytes + user_bytes)) ] || fail "run $run: the keeper locked $locked bytes"
    stop_keeper
  fi
done
kill "$swapper"
set +e
wait
set -e
cat /tmp/swapper.out
grep -q '^treegen swap: [0-9]* swaps$' /tmp/swapper.out || fail "the swapper did not run to the end"
echo "runs that met a swapped name: $changed of 6"
drop_caches
outside_untouched "after the swapping runs"

step "(e) --lock over its limit: one line, exit 2, nothing done"
mlocked_before=$(awk '/^Mlocked:/ { print $2 }' /proc/meminfo)
rm -f /run/softzone/shared.pid
set +e
zonectl bind --lock --lock-limit 1M "$TREE" >/tmp/out 2>/tmp/err
status=$?
set -e
cat /tmp/out /tmp/err
expect_eq "exit status of --lock over --lock-limit" 2 "$status"
expect_eq "error lines" 1 "$(wc -l </tmp/err)"
grep -q -- '--lock would hold .* but may hold at most 1M (--lock-limit)' /tmp/err || fail "the refusal does not name the sizes"
expect_eq "output of a refused --lock" "" "$(cat /tmp/out)"
[ ! -e /run/softzone/shared.pid ] || fail "a keeper was recorded"
# The default limit: half of the target nodes' memory. Node 1 alone (about 224 MiB) may lock
# about 112 MiB; the outside directory holds 128 MiB.
set +e
zonectl bind --lock --nodes 1 "$OUTSIDE" >/tmp/out 2>/tmp/err
status=$?
set -e
cat /tmp/out /tmp/err
expect_eq "exit status of --lock over the default limit" 2 "$status"
grep -q -- '--lock would hold 128M (2 files) but may hold at most .* (half of the .* of nodes 1)' /tmp/err ||
  fail "the default limit is not named"
outside_untouched "after the refused --lock (nothing read)"
mlocked=$(awk '/^Mlocked:/ { print $2 }' /proc/meminfo)
# Mlocked moves by a few pages on its own (the kernel drains its per-CPU mlock batches lazily,
# and the keeper stopped in (d) may still be leaving): the refused bind would have locked 128M.
echo "Mlocked: $mlocked_before -> $mlocked kB"
[ "$mlocked" -le $((mlocked_before + 1024)) ] || fail "Mlocked grew after a refused --lock: $mlocked_before -> $mlocked kB"
echo "attack-bind: ok"
