#!/usr/bin/env bash
# The softzone demo, from a fresh clone on Debian 12 (as root): installs what is missing, builds,
# then walks an admin's first day on a 1 GiB, 2-CPU machine emulated by QEMU (Debian's 6.12 kernel):
#   1. boot it as it is and plan the built-in example spec (examples/demo.ini): the numa=fake= line;
#   2. boot it again with that line and run the demo case there: verify the kernel, apply the
#      partitions, bind a library tree to the shared zone, run workloads in two partitions (one
#      reclaims in its own nodes, one is OOM-killed in its own cpuset) and report per zone; then
#      zoned lends web free nodes while a job outgrows it and takes them back once web idles.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/deps.sh" demo
"$root/scripts/build.sh" release
cache="$root/build/vm-cache"
guest_tools=("$root/build/tools/zonectl" "$root/build/zoned/zoned")
for tool in memhold; do
  [ -x "$root/build/tests/vm/$tool" ] && guest_tools+=("$root/build/tests/vm/$tool")
done
"$root/tests/vm/prepare.sh" "$cache" 6.12 "$cache/initrd-6.12.cpio.gz" "${guest_tools[@]}" >/dev/null
guest() {
  "$root/tests/vm/run-guest.sh" --kernel-env "$cache/6.12/kernel.env" --initrd "$cache/initrd-6.12.cpio.gz" \
    --cgroup v2 --mem 1G --verbose "$@"
}

echo "### 1. The machine as it boots today: plan examples/demo.ini"
guest --fake off --test plan-live --workdir "$root/build/demo/plan"
param=$(cat "$root/build/demo/plan/out/cmdline")
echo
echo "### 2. Rebooted with $param"
guest --fake "${param#numa=fake=}" --disk-size 1G --test demo --workdir "$root/build/demo/run"
echo
echo "### The report as HTML: $root/build/demo/run/out/report.html"
