# smoke: the guest booted with fake NUMA, the ext4 disk is mounted and the cgroup mode is as asked.
. /tests/lib.sh
step "nodes"
ls /sys/devices/system/node | grep -c '^node[0-9]'
grep -q "numa=fake=" /proc/cmdline || fail "no numa=fake= on the command line"
grep -q ' /mnt/disk ext4 ' /proc/mounts || fail "the ext4 disk is not mounted"
if [ "$SOFTZONE_CGROUP" = v1 ]; then
  grep -q ' /sys/fs/cgroup/cpuset cgroup ' /proc/mounts || fail "no v1 cpuset hierarchy"
else
  grep -q cpuset /sys/fs/cgroup/cgroup.controllers || fail "no cpuset in cgroup2 controllers"
fi
numactl --hardware | head -n 3
echo "smoke: ok"
