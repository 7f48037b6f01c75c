# systemd-apply: a Debian 12 host with systemd as PID 1 booted with the numa=fake= the spec
# plans (examples/demo.ini): softzone-apply.service made the partitions below its delegated
# cgroup; daemon-reload, restarting another unit and set-property on another unit leave their
# cpusets as they were; a service whose ExecStart is `zonectl exec web -- ...` runs in web.
. /tests/lib.sh
CG=/sys/fs/cgroup
parent=system.slice/softzone-apply.service/partitions

step "systemd is PID 1 on cgroup v2"
expect_eq "PID 1" systemd "$(cat /proc/1/comm)"
expect_eq "/sys/fs/cgroup" cgroup2fs "$(stat -fc %T $CG)"
fake=$(sed -n 's/.*numa=fake=\([^ ]*\).*/\1/p' /proc/cmdline)
nodes=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
expect_eq "fake nodes" "$fake" "$nodes"

step "softzone-apply.service ran verify and apply"
systemctl status --no-pager softzone-apply.service || true
expect_eq "softzone-apply state" active "$(systemctl is-active softzone-apply.service || true)"
expect_eq "softzone-apply result" success "$(systemctl show -P Result softzone-apply.service)"
zonectl --json list >/tmp/list.json
cat /tmp/list.json
for name in web batch; do
  grep -q "\"name\": \"$name\"" /tmp/list.json || fail "partition $name not listed"
  [ -n "$(cat "$CG/$parent/$name/cpuset.mems")" ] || fail "no $parent/$name with nodes"
done
grep -q '"drift": \[\]' /tmp/list.json || fail "drift after boot"
[ ! -d "$CG/softzone" ] || fail "partitions were made at the default parent too"

# cpusets: every partition's own and effective cpus and mems, and the controllers down the path.
cpusets() {
  for dir in "$CG/$parent"/*/; do
    for f in cpuset.mems cpuset.cpus cpuset.mems.effective cpuset.cpus.effective; do
      echo "$dir$f=$(cat "$dir$f")"
    done
  done
  for dir in "$CG" "$CG/system.slice" "$CG/system.slice/softzone-apply.service" "$CG/$parent"; do
    echo "$dir/cgroup.subtree_control=$(cat "$dir/cgroup.subtree_control")"
  done
}
cpusets >/tmp/before
cat /tmp/before
expect_unchanged() {
  cpusets >/tmp/after
  diff /tmp/before /tmp/after || fail "partitions' cpusets changed after $1"
}

step "zonectl exec from another unit's cgroup joins web"
timeout 60 zonectl exec web -- cat /proc/self/cgroup >/tmp/exec-cgroup
expect_eq "exec's cgroup" "0::/$parent/web" "$(cat /tmp/exec-cgroup)"
step "a service started by zonectl exec runs in web"
demo=$(systemctl show -P MainPID softzone-web-demo.service)
[ "$demo" -gt 0 ] || fail "softzone-web-demo.service has no main process: $(systemctl status --no-pager softzone-web-demo.service)"
# zonectl joins web and then becomes the command (exec, same pid): give it the time it takes
# under emulation, both steps; comm is still "zonectl" between the two.
tries=300
while ! grep -q "^0::/$parent/web\$" /proc/$demo/cgroup || [ "$(cat /proc/$demo/comm)" != sleep ]; do
  tries=$((tries - 1))
  if [ "$tries" = 0 ]; then
    for pid in $(cat $CG/system.slice/softzone-web-demo.service/cgroup.procs); do
      echo "pid $pid $(cat /proc/$pid/comm) wchan=$(cat /proc/$pid/wchan) ppid=$(sed -n 's/^PPid:\s*//p' /proc/$pid/status)"
      cat /proc/$pid/stack || true
      ls -l /proc/$pid/fd || true
    done
    fail "demo service not in web after 30 s: $(cat /proc/$demo/cgroup)"
  fi
  sleep 0.1
done
expect_eq "demo's command" sleep "$(cat /proc/$demo/comm)"
expect_eq "demo's nodes" "$(cat $CG/$parent/web/cpuset.mems)" "$(sed -n 's/^Mems_allowed_list:\s*//p' /proc/$demo/status)"

step "systemctl daemon-reload"
systemctl daemon-reload
expect_unchanged daemon-reload
step "systemctl restart softzone-other.service"
systemctl restart softzone-other.service
expect_unchanged "restarting another unit"
step "systemctl set-property softzone-other.service AllowedCPUs=0 AllowedMemoryNodes=0"
systemctl set-property softzone-other.service AllowedCPUs=0 AllowedMemoryNodes=0
other=$(systemctl show -P ControlGroup softzone-other.service)
echo "softzone-other: mems=$(cat "$CG$other/cpuset.mems") cpus=$(cat "$CG$other/cpuset.cpus")"
expect_eq "softzone-other's mems" 0 "$(cat "$CG$other/cpuset.mems")"
systemctl daemon-reload
expect_unchanged "set-property on another unit and a daemon-reload"
step "the demo service is still in web"
expect_eq "demo's main pid" "$demo" "$(systemctl show -P MainPID softzone-web-demo.service)"
expect_eq "demo's state" active "$(systemctl is-active softzone-web-demo.service)"
grep -q "^0::/$parent/web\$" /proc/$demo/cgroup || fail "demo service left web: $(cat /proc/$demo/cgroup)"
zonectl --json list | grep -q '"drift": \[\]' || fail "drift after the systemd operations"
echo "systemd-apply: ok"
