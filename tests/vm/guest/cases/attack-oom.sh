# attack-oom: tasks of uid 1000 in partition db name themselves after the keys of the kernel's
# OOM summary ("x,cpuset=web", ",pid=1,uid=0", "h) anon-rss:1kB") and are OOM-killed in db:
# the report counts every kill in db, none in web, each with the victim's real pid and whole name
# (checked on the host by checks/attack_oom.py: uid and RSS from the kernel's own lines).
. /tests/lib.sh
. /tests/cases/report-lib.sh
set -o pipefail
out=$SOFTZONE_OUT

step "partitions web (nodes 2-3) and db (nodes 4-5), then a snapshot"
zonectl create web --nodes 2-3
zonectl create db --nodes 4-5
zonectl snapshot -o "$out/snap.json"

step "a user, and memhog under hostile names (a task's name is its executable's file name)"
chmod 755 /
grep -q '^tester:' /etc/passwd 2>/dev/null || echo 'tester:x:1000:1000:attack test:/tmp:/bin/sh' >>/etc/passwd
grep -q '^tester:' /etc/group 2>/dev/null || echo 'tester:x:1000:' >>/etc/group
mkdir -p /tmp/hogs
chmod 755 /tmp/hogs
for name in 'x,cpuset=web' ',pid=1,uid=0' 'h) anon-rss:1kB'; do
  ln -sf "$(command -v memhog)" "/tmp/hogs/$name"
done
cd /tmp

for name in 'x,cpuset=web' ',pid=1,uid=0' 'h) anon-rss:1kB'; do
  step "'$name' as uid 1000 in db: 1 GiB where db has about 500 MiB"
  set +e
  zonectl exec db -- su tester -c "'/tmp/hogs/$name' 1024M" >/tmp/hog.txt 2>&1
  status=$?
  set -e
  echo "the hog exited $status"
  [ "$status" -ne 0 ] || fail "'$name' allocated 1 GiB in db"
  dmesg | grep -F "task=$name,pid=" | grep -q ',uid=1000' ||
    fail "no oom-kill line for '$name' as uid 1000 in the kernel log"
done

step "the report"
zonectl --json report --since "$out/snap.json" >"$out/report.json"
zonectl report --since "$out/snap.json"
dmesg | grep -E 'oom-kill:|Killed process' | tee "$out/oom-lines.txt"
grep 'oom-kill:' "$out/oom-lines.txt" | grep -v 'cpuset=db,' && fail "an OOM outside db"
expect_eq "OOM kills in db" 3 "$(zone_value "$out/report.json" db oom_kills)"
expect_eq "OOM kills in web" 0 "$(zone_value "$out/report.json" web oom_kills)"
for name in 'x,cpuset=web' ',pid=1,uid=0' 'h) anon-rss:1kB'; do
  grep -qF "\"task\": \"$name\"" "$out/report.json" || fail "victim '$name' is not named whole"
done
echo "attack-oom: ok"
