#!/usr/bin/env bash
# Runs every softzone test from a fresh clone on Debian 12 (as root): installs what is missing,
# builds the three trees, then runs the format gate, the unit tests (ASan+UBSan), the fuzz smoke
# runs, and the guest tests (QEMU, numa=fake, Debian's 6.1 and 6.12 kernels, cgroup v1 and v2) in
# parallel. The package test (the .deb installed in a Debian 12 chroot, docs/install.md) runs by
# hand: `ctest --test-dir build -L package`.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

"$root/scripts/deps.sh" || exit 1
for tree in release asan fuzz; do
  echo "== building $tree"
  "$root/scripts/build.sh" "$tree" || { echo "test.sh: the $tree build failed" >&2; exit 1; }
done

status=0
echo "== format gate (clang-format on the files changed since it came in)"
"$root/scripts/check-format.sh" || status=1
echo "== unit tests (ASan + UBSan)"
ctest --test-dir "$root/build-asan" -L unit -j"$jobs" --output-on-failure || status=1
echo "== fuzz smoke runs"
ctest --test-dir "$root/build-fuzz" -L fuzz -j"$jobs" --output-on-failure || status=1
echo "== guest tests (QEMU, numa=fake)"
ctest --test-dir "$root/build" -L vm -j"$jobs" --output-on-failure || status=1
exit $status
