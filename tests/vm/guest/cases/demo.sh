# demo: what an admin sees after rebooting with the numa=fake= line `zonectl plan` gave for
# examples/demo.ini: verify the kernel, apply the partitions, bind a library tree to the shared
# zone, run workloads in web and batch (one reads more than batch holds, one outgrows web and is
# OOM-killed there alone), and read the per-zone report. The HTML report is left in the run's
# out/ directory on the host.
. /tests/lib.sh
spec=/usr/share/softzone/examples/demo.ini
out=$SOFTZONE_OUT
say() { printf '\n$ %s\n' "$*"; }

say cat /proc/cmdline
cat /proc/cmdline
say zonectl verify "$spec"
zonectl verify "$spec" || fail "the kernel does not match the plan"

say zonectl apply "$spec"
zonectl apply "$spec" || fail "apply failed"
say zonectl list
zonectl list

# The guest's libraries live in its initramfs (/lib); a copy on the ext4 disk stands for a real
# /usr/lib whose page cache can be dropped, read back anywhere, and moved.
lib=$SOFTZONE_DISK/usr/lib
mkdir -p "$lib"
cp -a /lib/. "$lib/"
# batch's input: 256 MiB, more than batch's nodes hold.
dd if=/dev/urandom of="$SOFTZONE_DISK/data" bs=1M count=256 status=none
sync
echo 3 >/proc/sys/vm/drop_caches
say zonectl bind "$lib"
zonectl bind "$lib" || fail "bind failed"
say zonectl residency "$lib"
zonectl residency "$lib"

zonectl snapshot -o /tmp/before.json

say zonectl run batch -- cat "$SOFTZONE_DISK/data" '>/dev/null'
zonectl run batch -- sh -c "cat $SOFTZONE_DISK/data >/dev/null" || fail "batch's reader failed"

say zonectl run web -- memhog -r1 64M
zonectl run web -- memhog -r1 64M >/dev/null || fail "a 64 MiB job did not fit in web"
echo "exit status 0 (its report is folded into the one below)"

say zonectl run web -- memhog -r1 400M
status=0
zonectl run web -- memhog -r1 400M >/dev/null || status=$?
echo "exit status $status: killed by the OOM killer inside web's cpuset"
[ "$status" = 137 ] || fail "memhog in web: expected status 137, got $status"

say zonectl report --since /tmp/before.json
zonectl report --since /tmp/before.json || fail "report failed"
zonectl report --since /tmp/before.json --format html -o "$out/report.html"
zonectl --json report --since /tmp/before.json >"$out/report.json"
echo
echo "(the same report as HTML: build/demo/run/out/report.html on the host)"
