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
#
# The guest has no network. So that `apt-get install ./softzone_*.deb` in it resolves the
# package's Depends (and their Recommends, as apt does by default) as on a host, the image keeps
# apt's package lists and holds the .debs of softzone's runtime libraries in apt's archive cache,
# downloaded but not installed (libhwloc15 is installed too, for the test builds of zonectl the
# other cases carry; the package case removes it first).
set -euo pipefail

cache=${1:?usage: make-rootfs.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# minbase (Essential and apt only) plus systemd as PID 1, numactl's tools for the cases, man-db
# (`man -w` on the installed pages), busybox (its wget reads zoned's /metrics), grub2-common
# (grub-mkconfig on zonectl's GRUB drop-in; no boot loader is installed) and
# prometheus-node-exporter (it serves zoned's textfile; without its Recommends, the extra
# collectors' scripts and dbus, as mmdebstrap installs; its unit is disabled below, a case enables
# it); libhwloc15 below. No udev: the root and the test disk are mounted by the initramfs, so no
# unit waits for a device.
packages=systemd,systemd-sysv,numactl,man-db,busybox,grub2-common,prometheus-node-exporter
# The package's Depends that Debian 12's minbase and systemd do not bring (dpkg-shlibdeps computes
# them: libc6, libgcc-s1, libstdc++6 and libsystemd0 are there already); their own dependencies
# come along, and their Recommends (libhwloc15's bring libhwloc-plugins, X11's client libraries
# and ICU). A Depends missing here makes the offline install fail (apt cannot download it), which
# the package case reports: add the library here.
softzone_libraries="libhwloc15 libboost-program-options1.74.0 libcpp-httplib0.11"
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
# Documentation and translations are left out of what is installed here: the guest reads none of
# them, and every file is copied into the image again at each rebuild. The exclusions are then
# removed from dpkg's configuration, so that a package installed in the guest gets its manual
# pages and documentation as on a host. apt's lists and its archive cache are kept (not cleaned
# up as mmdebstrap does by default); the cache holds only softzone's libraries: the .debs of the
# packages installed before are removed first (apt-get clean). Then libhwloc15, which the test
# builds of zonectl load (libudev1 comes with systemd), is installed from the cache, without its
# Recommends, and its .deb stays there.
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --skip=cleanup/apt/lists,cleanup/apt/cache \
  --customize-hook='chroot "$1" apt-get clean' \
  --customize-hook="chroot \"\$1\" apt-get install --yes --quiet --download-only \
    -o APT::Install-Recommends=true $softzone_libraries" \
  --customize-hook='chroot "$1" apt-get install --yes --quiet --no-download --no-install-recommends libhwloc15' \
  --customize-hook='rm "$1/etc/dpkg/dpkg.cfg.d/99mmdebstrap"' \
  --customize-hook='chroot "$1" systemctl disable --quiet prometheus-node-exporter.service' \
  bookworm "$tree" http://deb.debian.org/debian >"$dir/mmdebstrap.log" 2>&1 || {
  echo "make-rootfs.sh: mmdebstrap failed; its log: $dir/mmdebstrap.log" >&2
  tail -n 20 "$dir/mmdebstrap.log" >&2
  exit 1
}

echo "softzone's libraries in apt's archive cache:" >>"$dir/mmdebstrap.log"
ls "$tree/var/cache/apt/archives/" >>"$dir/mmdebstrap.log"

# A fixed machine id: without one every boot of the pristine image is systemd's "first boot"
# (presets applied, units enabled anew), which is not what a host's reboot does.
echo 5f0f7a1e2b3c4d5e6f708192a3b4c5d6 >"$tree/etc/machine-id"
echo softzone-guest >"$tree/etc/hostname"
ln -sfn /lib/systemd/system/multi-user.target "$tree/etc/systemd/system/default.target"
# No logins on the serial console (the harness reads it) and nothing periodic that would start
# during a case: apt's and dpkg's timers, fstrim, e2scrub.
for unit in getty.target serial-getty@ttyS0.service console-getty.service apt-daily.timer \
  apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer e2scrub_all.timer man-db.timer; do
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
