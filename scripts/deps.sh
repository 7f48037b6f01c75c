#!/usr/bin/env bash
# Installs what softzone needs on Debian 12 (as root): `deps.sh demo` what the demo needs (the
# release build and the guests), `deps.sh` (or `deps.sh all`) that and what the tests need too.
# Idempotent: installs only what is missing, and refreshes apt's lists only when needed.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libhwloc-dev libboost-program-options-dev nlohmann-json3-dev
  # zoned's HTTP /metrics endpoint (cpp-httplib) and its sd_notify (libsystemd)
  libcpp-httplib-dev libsystemd-dev
  # guests: QEMU (qemu-img: the systemd guest's root overlays), busybox, the kernel's module tools,
  # ext4 images, numactl's tools, hwloc's lstopo
  qemu-system-x86 qemu-utils busybox-static kmod cpio e2fsprogs xz-utils zstd numactl hwloc
  # the systemd guests' Debian 12 root filesystem
  mmdebstrap
)
case "${1:-all}" in
  demo) ;;
  all)
    packages+=(
      # unit tests
      libgtest-dev libgmock-dev googletest
      # fuzzing: libFuzzer comes with clang's runtime; the format gate
      clang libclang-rt-14-dev clang-format
      # host-side checks of guest results; chromium renders report HTML pages (report-oom check)
      python3 chromium
      # promtool (Prometheus' linter of the text exposition format) checks zoned's metrics
      prometheus
      # the package test: dpkg-shlibdeps (dpkg-dev) computes the .deb's Depends, lintian checks it,
      # mmdebstrap makes the fresh Debian 12 chroot it is installed in, groff checks the man pages
      dpkg-dev lintian mmdebstrap groff-base man-db
    ) ;;
  *) echo "deps.sh: unknown set '$1' (demo or all)" >&2; exit 2 ;;
esac

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Guests fetch Debian's kernels with apt-get download: that needs current package lists too.
if [ ${#missing[@]} -gt 0 ] || ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
  as_root apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
