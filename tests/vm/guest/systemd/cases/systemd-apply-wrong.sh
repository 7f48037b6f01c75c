# systemd-apply-wrong: the host of systemd-apply booted with one fake node more than the spec
# plans. softzone-apply.service fails, its journal shows verify's one-line refusal, and nothing is
# created: no partition cgroup, no state file. Then, measured for docs/systemd.md, a partition at
# the default parent (softzone/ at the root of the tree, outside any delegated subtree) through
# the same systemd operations as systemd-apply.
. /tests/lib.sh
CG=/sys/fs/cgroup

step "softzone-apply.service failed at verify"
systemctl status --no-pager softzone-apply.service || true
expect_eq "softzone-apply state" failed "$(systemctl is-active softzone-apply.service || true)"
expect_eq "softzone-apply result" exit-code "$(systemctl show -P Result softzone-apply.service)"
journalctl -b -u softzone-apply.service --no-pager -o cat >/tmp/apply.log
grep "^zonectl verify: \|numa=fake" /tmp/apply.log || fail "no verify error in the unit's journal"
grep -q "^numa=fake .*DIFFERS" /tmp/apply.log || fail "verify's diff does not name numa=fake"
if grep -q "^applied \|^  create " /tmp/apply.log; then fail "apply ran after verify failed"; fi
step "nothing was changed"
[ ! -e "$CG/system.slice/softzone-apply.service" ] || {
  find "$CG/system.slice/softzone-apply.service" -type d
  fail "the unit left cgroups"
}
[ ! -d "$CG/softzone" ] || fail "a partition parent was made at the default place"
[ ! -e /var/lib/softzone/state.json ] || fail "a state file was written: $(cat /var/lib/softzone/state.json)"
# Requires= keeps the service that runs in web from starting at all.
expect_eq "softzone-web-demo state" inactive "$(systemctl is-active softzone-web-demo.service || true)"
expect_eq "softzone-web-demo's process" 0 "$(systemctl show -P ExecMainPID softzone-web-demo.service)"

step "measured: a partition at the default parent, outside a delegated subtree"
zonectl create x --nodes 6-7 --cpus 0
[ -d "$CG/softzone/x" ] || fail "no partition at $CG/softzone/x"
default_cpusets() {
  for f in cpuset.mems cpuset.cpus cpuset.mems.effective cpuset.cpus.effective; do
    echo "softzone/x/$f=$(cat "$CG/softzone/x/$f" 2>&1)"
  done
  echo "softzone/cgroup.subtree_control=$(cat "$CG/softzone/cgroup.subtree_control")"
  echo "cgroup.subtree_control=$(cat "$CG/cgroup.subtree_control")"
}
# No pipes into tee: dash (this guest's sh) has no pipefail, and a failed systemctl must fail.
default_cpusets >/tmp/before
cat /tmp/before
for op in "daemon-reload" "restart softzone-other.service" \
  "set-property softzone-other.service AllowedCPUs=0 AllowedMemoryNodes=0" "daemon-reload"; do
  # shellcheck disable=SC2086
  systemctl $op
  default_cpusets >/tmp/after
  if diff /tmp/before /tmp/after >/tmp/diff; then
    echo "after systemctl $op: unchanged"
  else
    echo "after systemctl $op: changed"
    cat /tmp/diff
  fi
done >"$SOFTZONE_OUT/default-parent.txt"
cat "$SOFTZONE_OUT/default-parent.txt"
echo "systemd-apply-wrong: ok"
