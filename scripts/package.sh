#!/usr/bin/env bash
# Builds softzone's Debian package into build-deb/ (softzone_VERSION-1_ARCH.deb): a Release build
# with Debian's hardening flags, the tools linked dynamically against the distribution's libraries
# (Debian's convention; the test trees keep their static libstdc++), then CPack. Extra arguments
# go to cmake's configure step (the package test adds -DSOFTZONE_WERROR=ON).
#   SOFTZONE_DEB_DIR   the build tree and output directory (default: build-deb/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${SOFTZONE_DEB_DIR:-$root/build-deb}

# dpkg-buildflags gives what a Debian package build uses (-fstack-protector-strong, _FORTIFY_SOURCE,
# relro, now); CMake reads CXXFLAGS and LDFLAGS, so the preprocessor flags go into CXXFLAGS.
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
export CXXFLAGS="$CXXFLAGS $CPPFLAGS"

cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DSOFTZONE_STATIC_CXX=OFF -DSOFTZONE_TESTS=OFF -DSOFTZONE_VM_TESTS=OFF "$@" >/dev/null
cmake --build "$out" -j"$(nproc)"
rm -f "$out"/softzone_*.deb
(cd "$out" && cpack -G DEB >/dev/null)
ls "$out"/softzone_*.deb
