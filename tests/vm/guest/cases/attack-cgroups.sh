# attack-cgroups: partition web's cgroup is delegated to uid 1000 (as systemd's Delegate=yes or a
# rootless container runtime gives one), who fills it with hostile child cgroups: a name with a
# tab, quotes and backslashes, option-like and control-file-like names, another partition's
# name, its own cpuset.mems pinning a child to one node, a chain deeper than zonectl walks.
# zonectl's listings stay whole and well formed (JSON parsed on the host, checks/attack_cgroups.py);
# a change that cannot see the whole subtree is refused and changes nothing; once it can, a shrink
# moves the user's pages out of the hostile names, byte-checked; destroy refuses child cgroups.
. /tests/lib.sh
. /tests/placement-lib.sh
. /tests/partition-lib.sh
set -o pipefail
out=$SOFTZONE_OUT
pick_nodes
A=${SRC%,*} B=${SRC#*,} C=${DST%,*} D=${DST#*,}

step "web on nodes $A,$B, delegated to uid 1000; db beside it"
chmod 755 /
grep -q '^tester:' /etc/passwd 2>/dev/null || echo 'tester:x:1000:1000:attack test:/tmp:/bin/sh' >>/etc/passwd
grep -q '^tester:' /etc/group 2>/dev/null || echo 'tester:x:1000:' >>/etc/group
find / -xdev -type d ! -perm -o+x -exec chmod go+rx {} + 2>/dev/null || true
zonectl create web --nodes "$A,$B"
zonectl create db --nodes "$C"
W=$CG/softzone/web
# What a delegation hands over (cgroup-v2.rst, "Delegation Containment"; v1 has tasks too).
chown 1000:1000 "$W"
for f in cgroup.procs cgroup.threads cgroup.subtree_control tasks; do
  [ -e "$W/$f" ] && chown 1000:1000 "$W/$f"
done
if [ "$SOFTZONE_CGROUP" = v2 ]; then
  # The user's children get cpuset files (v2: only when the parent's subtree_control has +cpuset).
  su tester -c "echo +cpuset >'$W/cgroup.subtree_control'"
fi

step "uid 1000 makes hostile children and pins one to node $A"
# A tab, not a newline: cgroupfs refuses names with a newline (EINVAL, measured on 6.1 and 6.12).
NL=$(printf 'ctr\tfake')
cat >/tmp/user.sh <<EOF
set -e
cd '$W'
mkdir "\$(printf 'ctr\\tfake')" 'a "q" \\ b' ./--json db 'x,pid=1' deep
d=deep
for i in \$(seq 1 40); do d=\$d/d; mkdir "\$d"; done
if [ '$SOFTZONE_CGROUP' = v1 ]; then
  # A v1 cpuset starts with no CPUs or nodes and takes no task: the user gives its children web's.
  for child in "\$(printf 'ctr\\tfake')" 'x,pid=1'; do
    cat cpuset.cpus >"\$child/cpuset.cpus"
    cat cpuset.mems >"\$child/cpuset.mems"
  done
fi
echo '$A' >'x,pid=1/cpuset.mems'
EOF
su tester -c "sh /tmp/user.sh"
[ -d "$W/$NL" ] || fail "the user could not make the tab name"
expect_nodes "x,pid=1's mems" "$A" "$(cat "$W/x,pid=1/cpuset.mems")"

step "the user's workloads: 48 MiB in the tab child, 48 MiB pinned to node $A"
# Placed as a runtime places a container's init: root writes the user's waiting shell into the
# child (on v2 web itself cannot hold it: its subtree_control has +cpuset), then lets it go.
hold_pids=
for child in "$NL" 'x,pid=1'; do
  tag=$(printf '%s' "$child" | tr -c 'a-z' '_')
  rm -f "/tmp/go.$tag" "/tmp/pid.$tag"
  su tester -c "echo \$\$ >/tmp/pid.$tag; while [ ! -e /tmp/go.$tag ]; do sleep 0.1; done
    exec memhold --mib 48 --status /tmp/hold.$tag.status" &
  while [ ! -s "/tmp/pid.$tag" ]; do sleep 0.1; done
  pid=$(cat "/tmp/pid.$tag")
  echo "$pid" >"$W/$child/cgroup.procs"
  touch "/tmp/go.$tag"
  last_status=
  wait_status "/tmp/hold.$tag.status" "ready*" 300
  hold_pids="$hold_pids $pid"
done
echo "memhold pids:$hold_pids"
for pid in $hold_pids; do
  grep -q "softzone/web/" "/proc/$pid/cgroup" || fail "memhold $pid is not below web: $(cat /proc/$pid/cgroup)"
done

step "listings with the hostile subtree (deeper than zonectl walks)"
for verb in list status; do
  set +e
  zonectl --json $verb >"$out/$verb-deep.json" 2>/tmp/err
  status=$?
  set -e
  cat /tmp/err
  expect_eq "exit status of $verb --json with the deep chain" 0 "$status"
done
zonectl status web | tee /tmp/status.txt
grep -q "^web: tasks not counted: .*not walked" /tmp/status.txt || fail "status does not say web's subtree was not walked"

step "a change that cannot see the whole subtree is refused and changes nothing"
tree_snapshot >/tmp/before.txt
for args in "--nodes $A,$B,$D" "--nodes $B"; do
  set +e
  zonectl resize web $args >/tmp/out.txt 2>/tmp/err.txt
  status=$?
  set -e
  echo "[$status] resize web $args: $(head -c 300 /tmp/err.txt)"
  expect_eq "exit status of resize web $args with the deep chain" 1 "$status"
  grep -q "not walked" /tmp/err.txt || fail "resize does not say why: $(cat /tmp/err.txt)"
  expect_eq "error lines" 1 "$(wc -l </tmp/err.txt)"
done
tree_snapshot >/tmp/after.txt
cmp -s /tmp/before.txt /tmp/after.txt || { diff /tmp/before.txt /tmp/after.txt; fail "a refused resize changed the tree"; }
set +e
zonectl destroy web >/tmp/out.txt 2>/tmp/err.txt
status=$?
set -e
echo "[$status] destroy web: $(cat /tmp/err.txt)"
[ "$status" != 0 ] || fail "destroy removed a partition with the user's cgroups in it"
[ -d "$W/$NL" ] || fail "destroy removed the user's cgroup"

step "the user removes the chain; the shrink to node $B moves every page, names and all"
su tester -c "cd '$W' && rmdir \$(find deep -depth -type d)"
zonectl --json status web >"$out/status.json"
zonectl --json list >"$out/list.json"
zonectl resize web --nodes "$B" | tee /tmp/resize.txt
expect_nodes "web's mems" "$B" "$(mems_of web)"
expect_nodes "x,pid=1's mems after the shrink" "$B" "$(cat "$W/x,pid=1/cpuset.mems")"
for pid in $hold_pids; do
  expect_eq "pages of memhold $pid on node $A" 0 "$(pages_on "$pid" "$A")"
  kill -USR1 "$pid"
done
for status_file in /tmp/hold.*.status; do last_status=; wait_status "$status_file" "ok*" 300; done
expect_nodes "db's mems" "$C" "$(mems_of db)"
[ -d "$CG/softzone/db" ] && [ -d "$W/db" ] || fail "the user's db and partition db were confused"

step "the end: the user's workloads stop; destroy --force removes web"
for pid in $hold_pids; do kill -TERM "$pid"; done
wait
zonectl destroy web --force
[ ! -d "$W" ] || fail "web is still there"
zonectl destroy db
expect_sound
echo "attack-cgroups: ok"
