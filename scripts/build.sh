#!/usr/bin/env bash
# Configures and builds one of softzone's build trees.
#   build.sh release   build/       optimised tools; registers the guest tests
#   build.sh asan      build-asan/  unit tests with AddressSanitizer + UBSan
#   build.sh fuzz      build-fuzz/  libFuzzer targets (clang), nothing else
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
case "${1:-release}" in
  release)
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSOFTZONE_WERROR=ON -DSOFTZONE_TESTS=OFF -DSOFTZONE_VM_TESTS=ON -DSOFTZONE_TEST_HOOKS=ON >/dev/null
    cmake --build "$root/build" -j"$jobs" ;;
  asan)
    cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSOFTZONE_SANITIZE=ON -DSOFTZONE_WERROR=ON \
      -DSOFTZONE_TESTS=ON -DSOFTZONE_VM_TESTS=OFF -DSOFTZONE_TEST_HOOKS=ON >/dev/null
    cmake --build "$root/build-asan" -j"$jobs" ;;
  fuzz)
    CXX=clang++ cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOFTZONE_WERROR=ON \
      -DSOFTZONE_FUZZ=ON -DSOFTZONE_TESTS=OFF -DSOFTZONE_VM_TESTS=OFF >/dev/null
    # The fuzzers and their libraries only: zonectl and zoned are built (and tested) elsewhere.
    cmake --build "$root/build-fuzz" -j"$jobs" --target fuzzers ;;
  *) echo "build.sh: unknown tree '$1' (release, asan or fuzz)" >&2; exit 2 ;;
esac
