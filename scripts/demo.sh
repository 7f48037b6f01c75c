#!/usr/bin/env bash
# The softzone demo, from a fresh clone on Debian 12 (as root): installs what is missing, builds,
# boots Debian's 6.12 kernel under QEMU with fake NUMA and shows softzone at work in the guest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/deps.sh"
"$root/scripts/build.sh" release
cache="$root/build/vm-cache"
"$root/tests/vm/prepare.sh" "$cache" 6.12 "$cache/initrd-6.12.cpio.gz" "$root/build/tools/zonectl" >/dev/null
"$root/tests/vm/run-guest.sh" --kernel-env "$cache/6.12/kernel.env" --initrd "$cache/initrd-6.12.cpio.gz" \
  --test demo --cgroup v2 --fake 8 --mem 1G --workdir "$root/build/demo" --verbose
