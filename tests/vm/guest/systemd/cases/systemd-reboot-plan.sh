# systemd-reboot-plan, the first boot of systemd-reboot.sh (the root disk is kept for the second):
# a Debian 12 host booted without fake NUMA, set up as an admin would on the running system: the
# demo's spec and units installed and enabled with systemctl, `zonectl plan --format grub` written
# to /etc/default/grub.d/softzone.cfg, and the numa=fake= it holds reported on the result port as
# SOFTZONE-PLANNED for the host, which boots the same disk again with it.
. /tests/lib.sh
. /tests/systemd/demo-units.sh

step "booted without fake NUMA"
if grep -q 'numa=fake=' /proc/cmdline; then fail "numa=fake= on the first boot's line: $(cat /proc/cmdline)"; fi
expect_eq "NUMA nodes" 1 "$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)"
[ ! -e /etc/softzone/softzone.ini ] || fail "a spec is installed before the admin installs one"

step "the admin installs the spec and the units, and enables them"
install_demo_units ""
systemctl daemon-reload
systemctl enable softzone-apply.service softzone-web-demo.service
for unit in softzone-apply.service softzone-web-demo.service; do
  expect_eq "$unit enabled" enabled "$(systemctl is-enabled "$unit")"
  expect_eq "$unit state" inactive "$(systemctl is-active "$unit" || true)"
done

step "zonectl plan --format grub into /etc/default/grub.d"
mkdir -p /etc/default/grub.d
zonectl plan /etc/softzone/softzone.ini --format grub >/etc/default/grub.d/softzone.cfg
cat /etc/default/grub.d/softzone.cfg
planned=$(grep -o 'numa=fake=[0-9]*U\{0,1\}' /etc/default/grub.d/softzone.cfg || true)
[ -n "$planned" ] || fail "no numa=fake= in the GRUB drop-in"
expect_eq "drop-in's numa=fake= against plan --format cmdline" \
  "$(zonectl plan /etc/softzone/softzone.ini --format cmdline)" "$planned"
# The second boot checks it booted the disk this boot wrote, not a fresh one.
mkdir -p /var/lib/softzone-test
cat /proc/sys/kernel/random/boot_id >/var/lib/softzone-test/planning-boot
sync
echo "SOFTZONE-PLANNED: $planned"
echo "systemd-reboot-plan: ok"
