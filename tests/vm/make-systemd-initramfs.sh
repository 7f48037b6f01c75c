#!/usr/bin/env bash
# Builds the systemd guests' initramfs for one kernel: static busybox, the kernel's disk and ext4
# modules and guest/systemd/init, which mounts the Debian root and hands over to systemd. Debian's
# kernels have virtio_blk and ext4 as modules, so a root on a virtio disk needs this step.
#
#   make-systemd-initramfs.sh CACHE_DIR 6.1|6.12 OUT.cpio.gz
set -euo pipefail

cache=${1:?usage: make-systemd-initramfs.sh CACHE_DIR 6.1|6.12 OUT}
flavour=${2:?usage: make-systemd-initramfs.sh CACHE_DIR 6.1|6.12 OUT}
out=${3:?usage: make-systemd-initramfs.sh CACHE_DIR 6.1|6.12 OUT}
here=$(cd "$(dirname "$0")" && pwd)
kernel_env=$("$here/fetch-kernel.sh" "$cache" "$flavour")
# shellcheck source=/dev/null
. "$kernel_env"

stage=$(mktemp -d "${out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,proc,sys,dev,root,lib/modules}
install -m 0755 /bin/busybox "$stage/bin/busybox"
ln -sf busybox "$stage/bin/sh"
install -m 0755 "$here/guest/systemd/init" "$stage/init"
# shellcheck source=kernel-modules.sh
. "$here/kernel-modules.sh"
stage_disk_modules "$stage/lib/modules"

(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "prepared the systemd guests' initramfs for $KERNEL_RELEASE: $(du -h "$out" | cut -f1)"
