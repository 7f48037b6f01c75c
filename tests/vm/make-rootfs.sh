#!/usr/bin/env bash
# Builds (or reuses) the systemd guests' root filesystem: Debian 12 made by mmdebstrap, systemd as
# PID 1, as an ext4 image cached in the build tree.
#
#   make-rootfs.sh CACHE_DIR
#
# The image is kept as CACHE_DIR/rootfs-<key>/root.img, where <key> is a hash of this script (the
# package list and the setup below are in it), and CACHE_DIR/debian12-systemd.img points at the
# current one. Guests never write to it: each boots a copy-on-write overlay (run-guest.sh
# --rootfs). The project's binaries and the guest cases are not in it either: they come with each
# run's test disk, so rebuilding softzone does not rebuild the image.
set -euo pipefail

cache=${1:?usage: make-rootfs.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# minbase (Essential and apt only) plus systemd as PID 1, the shared libraries zonectl and zoned
# load (libhwloc15; libudev1 comes with systemd) and numactl's tools for the cases. No udev: the
# root and the test disk are mounted by the initramfs, so no unit waits for a device.
packages=systemd,systemd-sysv,libhwloc15,numactl
key=$(sha256sum "$0" | cut -c1-16)
dir="$cache/rootfs-$key"
image="$dir/root.img"
link="$cache/debian12-systemd.img"

exec 9>"$cache/rootfs.lock"
flock 9
if [ -f "$image" ]; then
  ln -sfn "rootfs-$key/root.img" "$link"
  echo "$image"
  exit 0
fi

command -v mmdebstrap >/dev/null || {
  echo "make-rootfs.sh: mmdebstrap is missing (scripts/deps.sh installs it)" >&2
  exit 1
}
# Older images are removed: one is about 200 MB.
rm -rf "$cache"/rootfs-*/
mkdir -p "$dir"
tree=$(mktemp -d "$dir/tree.XXXXXX")
trap 'rm -rf "$tree" "$image.tmp"' EXIT

start=$(date +%s)
# Documentation and translations are left out: the guest reads none of them, and every file is
# copied into the image again at each rebuild.
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  bookworm "$tree" http://deb.debian.org/debian >"$dir/mmdebstrap.log" 2>&1 || {
  echo "make-rootfs.sh: mmdebstrap failed; its log: $dir/mmdebstrap.log" >&2
  tail -n 20 "$dir/mmdebstrap.log" >&2
  exit 1
}

# A fixed machine id: without one every boot of the pristine image is systemd's "first boot"
# (presets applied, units enabled anew), which is not what a host's reboot does.
echo 5f0f7a1e2b3c4d5e6f708192a3b4c5d6 >"$tree/etc/machine-id"
echo softzone-guest >"$tree/etc/hostname"
ln -sfn /lib/systemd/system/multi-user.target "$tree/etc/systemd/system/default.target"
# No logins on the serial console (the harness reads it) and nothing periodic that would start
# during a case: apt's and dpkg's timers, fstrim, e2scrub.
for unit in getty.target serial-getty@ttyS0.service console-getty.service apt-daily.timer \
  apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer e2scrub_all.timer; do
  ln -sfn /dev/null "$tree/etc/systemd/system/$unit"
done
# Where the initramfs moves the test disk (run-guest.sh, guest/systemd/init).
mkdir -p "$tree/mnt/disk"

# Sized for the tree with room for what cases write to the root filesystem (the overlay holds
# the writes, the image stays sparse).
mke2fs -q -t ext4 -L sdroot -d "$tree" -E lazy_itable_init=0,lazy_journal_init=0 "$image.tmp" 1G >/dev/null
mv "$image.tmp" "$image"
ln -sfn "rootfs-$key/root.img" "$link"
echo "make-rootfs.sh: built $image in $(($(date +%s) - start))s ($(du -sh --apparent-size "$tree" | cut -f1) tree)" >&2
echo "$image"
