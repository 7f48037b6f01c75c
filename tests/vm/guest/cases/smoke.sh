# smoke: the guest booted with fake NUMA, the ext4 disk is mounted and the cgroup mode is as asked.
# Every value printed is also checked: the node count is the N of numa=fake=N in sysfs and in
# numactl, every node has memory, and the nodes add up to the machine.
. /tests/lib.sh
set -o pipefail
step "nodes"
fake=$(sed -n 's/.*numa=fake=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$fake" ] || fail "no numa=fake= on the command line"
nodes=$(ls /sys/devices/system/node | grep -c '^node[0-9]')
echo "numa=fake=$fake: $nodes nodes in sysfs"
case "$fake" in
  *[!0-9]*) [ "$nodes" -gt 1 ] || fail "numa=fake=$fake gave $nodes node(s)" ;;
  *) expect_eq "nodes in sysfs for numa=fake=$fake" "$fake" "$nodes" ;;
esac
numactl --hardware >/tmp/numactl.txt
head -n 3 /tmp/numactl.txt
expect_eq "numactl's node count" "available: $nodes nodes (0-$((nodes - 1)))" "$(head -n 1 /tmp/numactl.txt)"
sum_kb=0
for meminfo in /sys/devices/system/node/node*/meminfo; do
  kb=$(awk '$3 == "MemTotal:" { print $4 }' "$meminfo")
  [ "${kb:-0}" -gt 0 ] || fail "$meminfo has no MemTotal"
  sum_kb=$((sum_kb + kb))
done
total_kb=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
echo "nodes' MemTotal: $sum_kb kB, /proc/meminfo: $total_kb kB"
expect_eq "the nodes' MemTotal sum" "$total_kb" "$sum_kb"
step "disk and cgroups"
grep -q ' /mnt/disk ext4 ' /proc/mounts || fail "the ext4 disk is not mounted"
if [ "$SOFTZONE_CGROUP" = v1 ]; then
  grep -q ' /sys/fs/cgroup/cpuset cgroup ' /proc/mounts || fail "no v1 cpuset hierarchy"
else
  grep -q cpuset /sys/fs/cgroup/cgroup.controllers || fail "no cpuset in cgroup2 controllers"
fi
echo "smoke: ok"
