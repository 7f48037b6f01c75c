#!/usr/bin/env bash
# Re-captures the fixture trees in tests/fixtures from guests (like hwloc-gather-topology).
#   capture-fixtures.sh BUILD_DIR     (after scripts/build.sh release)
# Each fixture is tests/fixtures/NAME/ with root/ (the tree, read through zonectl --root),
# topology-live.json (zonectl's answer in the live guest), machine.xml (lstopo's XML of the guest)
# and MANIFEST (how it was captured).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$(cd "$here/../fixtures" && pwd)
build=$(cd "${1:?usage: capture-fixtures.sh BUILD_DIR}" && pwd)
cache="$build/vm-cache"

capture() {
  local name=$1 kernel=$2 cgroup=$3 fake=$4 mem=$5 sockets=$6
  "$here/prepare.sh" "$cache" "$kernel" "$cache/initrd-$kernel.cpio.gz" "$build/tools/zonectl" >/dev/null
  local work="$build/vm-runs/capture-$name"
  "$here/run-guest.sh" --kernel-env "$cache/$kernel/kernel.env" --initrd "$cache/initrd-$kernel.cpio.gz" \
    --test gather --cgroup "$cgroup" --fake "$fake" --mem "$mem" --sockets "$sockets" --smp 2 \
    --workdir "$work" >/dev/null
  rm -rf "${fixtures:?}/$name"
  mkdir -p "$fixtures/$name"
  cp -r "$work/out/root" "$fixtures/$name/root"
  cp "$work/out/topology-live.json" "$work/out/machine.xml" "$fixtures/$name/"
  # shellcheck source=/dev/null
  . "$cache/$kernel/kernel.env"
  cat >"$fixtures/$name/MANIFEST" <<MANIFEST
fixture: $name
captured by: tests/vm/capture-fixtures.sh (guest case gather)
kernel: Debian $KERNEL_RELEASE
cgroup: $cgroup
guest: qemu-system-x86_64 -accel tcg -smp 2 -m $mem, $sockets socket(s)
cmdline: $(cat "$fixtures/$name/root/proc/cmdline")
files: $(find "$fixtures/$name/root" -type f | wc -l)
MANIFEST
  echo "captured $name"
}

capture debian-6.1-fake8-v1 6.1 v1 8 1G 1
capture debian-6.12-fake16-v2 6.12 v2 16 1G 1
capture debian-6.1-2socket-fake4U-v2 6.1 v2 4U 2G 2
capture debian-6.12-nofake-v2 6.12 v2 off 1G 1
