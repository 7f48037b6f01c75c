#!/usr/bin/env bash
# Builds a guest initramfs: busybox, the project's binaries with their shared libraries, numactl's
# tools, the kernel's own disk and ext4 modules, and the guest test scripts.
#
#   make-initramfs.sh KERNEL_ENV OUT.cpio.gz [BINARY...]
#
# KERNEL_ENV is what fetch-kernel.sh wrote; each BINARY (zonectl, test helpers) goes to /usr/bin.
set -euo pipefail

kernel_env=${1:?usage: make-initramfs.sh KERNEL_ENV OUT [BINARY...]}
out=${2:?usage: make-initramfs.sh KERNEL_ENV OUT [BINARY...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$kernel_env"

stage=$(mktemp -d "${out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,run,mnt/disk,etc,boot,var/lib,tests}

# Copies a binary and every shared library it loads, at the same paths, so the guest's dynamic
# loader finds them exactly as on the host.
copy_with_libs() {
  local src=$1 dst=$2
  install -D -m 0755 "$src" "$stage$dst"
  ldd "$src" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
    [ -e "$stage$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$stage$lib"
  done
}

install -m 0755 /bin/busybox "$stage/bin/busybox"
for applet in sh mount; do ln -sf busybox "$stage/bin/$applet"; done
install -m 0755 "$here/guest/init" "$stage/init"
cp -r "$here/guest/." "$stage/tests/"
rm -f "$stage/tests/init"
# The example specs, where an installed softzone keeps them.
mkdir -p "$stage/usr/share/softzone"
cp -r "$here/../../examples" "$stage/usr/share/softzone/examples"

for tool in "$@"; do
  copy_with_libs "$tool" "/usr/bin/$(basename "$tool")"
  # Without debug info: zonectl's is 97% of its 75 MB, which the guest kernel would unpack into
  # RAM at every boot, under emulation.
  strip --strip-debug "$stage/usr/bin/$(basename "$tool")"
done
for tool in numactl migratepages numastat memhog lstopo-no-graphics hwloc-calc; do
  path=$(command -v "$tool" || true)
  [ -n "$path" ] && copy_with_libs "$path" "/usr/bin/$tool"
done
# hwloc reads its plugins' directory lazily; lstopo works without them for XML and text.

# The kernel's own modules for the disk and ext4, in load order.
# shellcheck source=kernel-modules.sh
. "$here/kernel-modules.sh"
stage_disk_modules "$stage/lib/modules"

# The kernel config, where tools look for it (CONFIG_NODES_SHIFT gives the maximum node count).
# The dynamic loader's cache, as every installed system has one: without it each program's start
# probes a dozen directories per library (glibc-hwcaps/x86-64-v3, tls/x86_64, ...), which under
# emulation makes a program with seven libraries (zonectl) pay far more than one with one (cat).
printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' >"$stage/etc/ld.so.conf"
ldconfig -r "$stage"

cp "$KERNEL_CONFIG" "$stage/boot/config-$KERNEL_RELEASE"
echo "$KERNEL_RELEASE" >"$stage/etc/softzone-kernel"

tmp_out="$out.tmp"
(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet | gzip -1) >"$tmp_out"
mv "$tmp_out" "$out"
