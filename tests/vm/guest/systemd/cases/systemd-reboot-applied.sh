# systemd-reboot-applied, the second boot of systemd-reboot.sh: the disk systemd-reboot-plan set
# up, booted by the host with the numa=fake= that boot planned. softzone-apply.service, enabled
# by the admin on the first boot (this boot installs nothing: no pre-boot step), verified the
# nodes and made the partitions; the service enabled for web runs confined to web's nodes and CPUs.
. /tests/lib.sh
CG=/sys/fs/cgroup
parent=system.slice/softzone-apply.service/partitions

step "the first boot's disk, booted with its planned line"
[ -f /var/lib/softzone-test/planning-boot ] || fail "no mark of the planning boot: not the same disk"
if [ "$(cat /var/lib/softzone-test/planning-boot)" = "$(cat /proc/sys/kernel/random/boot_id)" ]; then
  fail "the planning boot's id is this boot's"
fi
cat /etc/default/grub.d/softzone.cfg
planned=$(grep -o 'numa=fake=[0-9]*U\{0,1\}' /etc/default/grub.d/softzone.cfg || true)
[ -n "$planned" ] || fail "no numa=fake= in the GRUB drop-in the first boot wrote"
booted=$(tr ' ' '\n' </proc/cmdline | grep '^numa=fake=' || true)
expect_eq "booted numa=fake= against the GRUB drop-in" "$planned" "$booted"
expect_eq "NUMA nodes" "${planned#numa=fake=}" "$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)"

step "softzone-apply.service ran verify and apply at boot"
expect_eq "softzone-apply enabled" enabled "$(systemctl is-enabled softzone-apply.service)"
systemctl status --no-pager softzone-apply.service || true
expect_eq "softzone-apply state" active "$(systemctl is-active softzone-apply.service || true)"
expect_eq "softzone-apply result" success "$(systemctl show -P Result softzone-apply.service)"
journalctl -b -u softzone-apply.service --no-pager -o cat >/tmp/apply.log
grep '^verify: ' /tmp/apply.log || fail "no verify verdict in the unit's journal"
grep -q '^verify: OK' /tmp/apply.log || fail "verify did not pass at boot"
zonectl --json list >/tmp/list.json
cat /tmp/list.json
grep -q '"drift": \[\]' /tmp/list.json || fail "drift after boot"

step "the partitions and their cpusets"
for name in web batch; do
  grep -q "\"name\": \"$name\"" /tmp/list.json || fail "partition $name not listed"
  dir=$CG/$parent/$name
  [ -d "$dir" ] || fail "no cgroup $parent/$name"
  mems=$(cat "$dir/cpuset.mems")
  echo "$name: cpuset.mems=$mems cpuset.mems.effective=$(cat "$dir/cpuset.mems.effective") cpuset.cpus=$(cat "$dir/cpuset.cpus") cpuset.cpus.effective=$(cat "$dir/cpuset.cpus.effective")"
  [ -n "$mems" ] || fail "$name has no nodes"
  expect_eq "$name's effective nodes" "$mems" "$(cat "$dir/cpuset.mems.effective")"
  # A partition without cpus in the spec (batch) has an empty cpuset.cpus and its parent's CPUs.
  [ -n "$(cat "$dir/cpuset.cpus.effective")" ] || fail "$name has no effective CPUs"
done
# What zonectl reports for web is what its cgroup holds.
expect_eq "web's nodes, from zonectl list" "$(cat "$CG/$parent/web/cpuset.mems")" \
  "$(sed -n '/"name": "web"/,/}/s/.*"nodes": "\(.*\)",/\1/p' /tmp/list.json)"

step "the service enabled for web runs confined to web"
demo=$(systemctl show -P MainPID softzone-web-demo.service)
[ "$demo" -gt 0 ] || fail "softzone-web-demo.service has no main process: $(systemctl status --no-pager softzone-web-demo.service)"
# zonectl joins web and then becomes the command (exec, same pid): give it the time it takes
# under emulation, both steps; comm is still "zonectl" between the two.
tries=300
while ! grep -q "^0::/$parent/web\$" "/proc/$demo/cgroup" || [ "$(cat "/proc/$demo/comm")" != sleep ]; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || fail "the service is not running its command in web after 30 s: $(cat "/proc/$demo/comm") in $(cat "/proc/$demo/cgroup")"
  sleep 0.1
done
expect_eq "the service's command" sleep "$(cat "/proc/$demo/comm")"
web=$CG/$parent/web
expect_eq "the service's Mems_allowed_list" "$(cat "$web/cpuset.mems.effective")" \
  "$(sed -n 's/^Mems_allowed_list:\s*//p' "/proc/$demo/status")"
expect_eq "the service's Cpus_allowed_list" "$(cat "$web/cpuset.cpus.effective")" \
  "$(sed -n 's/^Cpus_allowed_list:\s*//p' "/proc/$demo/status")"
echo "softzone-web-demo: pid $demo in /$parent/web, Mems_allowed_list $(sed -n 's/^Mems_allowed_list:\s*//p' "/proc/$demo/status")"
echo "systemd-reboot-applied: ok"
