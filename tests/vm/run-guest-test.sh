#!/usr/bin/env bash
# Host test of run-guest.sh's retries, with a stand-in for qemu-system-x86_64 that plays one
# scripted guest per boot: a kernel that died of an int3 it did not place is run once more; any
# other death of a started case is not; a second int3 death fails; a guest hung before its case
# started is stopped after --boot-timeout and booted once more. And the systemd guest's root
# disk: snapshot=on by default, a kept qcow2 overlay of the image with --rootfs-overlay.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The tools run-guest.sh and the checks below call: one missing would fail a run for that reason,
# or (pgrep) pass a check that must fail.
for tool in mkfs.ext4 qemu-img pgrep; do
  command -v "$tool" >/dev/null || { echo "run-guest-test: $tool is missing"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/bin"
# The stand-in: boot N plays the line N of $work/script (pass, int3, gpf, hang), writing the two
# serial files run-guest.sh names.
cat >"$work/bin/qemu-system-x86_64" <<'STANDIN'
#!/usr/bin/env bash
printf '%s\n' "$@" >"$FAKE_DIR/args"
console= result= n=0
while [ $# -gt 0 ]; do
  case "$1" in
    -serial) if [ -z "$console" ]; then console=${2#file:}; else result=${2#file:}; fi; shift 2 ;;
    *) shift ;;
  esac
done
n=$(($(cat "$FAKE_DIR/boots" 2>/dev/null || echo 0) + 1))
echo "$n" >"$FAKE_DIR/boots"
play=$(sed -n "${n}p" "$FAKE_DIR/script")
if [ "$play" = hang ]; then
  echo "[ 22.5] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:" >"$console"
  exec sleep 600
fi
echo "SOFTZONE-START: test=t" >"$result"
case "$play" in
  pass) echo "[ 1.0] booted" >"$console"; echo "SOFTZONE-RESULT: PASS" >>"$result" ;;
  int3) printf '[ 26.8] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n[ 26.9] Kernel panic\n' >"$console" ;;
  gpf) printf '[ 26.8] Oops: general protection fault: 0000 [#1]\n[ 26.9] Kernel panic\n' >"$console" ;;
esac
exit 0
STANDIN
chmod +x "$work/bin/qemu-system-x86_64"
printf 'KERNEL_IMAGE=/dev/null\nKERNEL_RELEASE=fake\nKERNEL_FLAVOUR=fake\n' >"$work/kernel.env"

# run SCRIPT...: runs run-guest.sh against boots playing SCRIPT, with $extra's options too; sets
# rc and out.
extra=()
run() {
  printf '%s\n' "$@" >"$work/script"
  rm -f "$work/boots"
  set +e
  out=$(FAKE_DIR=$work PATH="$work/bin:$PATH" "$here/run-guest.sh" --kernel-env "$work/kernel.env" \
    --initrd /dev/null --test t --workdir "$work/w" --disk-size 8M --boot-timeout 2 ${extra[@]+"${extra[@]}"} 2>&1)
  rc=$?
  set -e
  boots=$(cat "$work/boots")
}
check() {
  if ! eval "$1"; then
    echo "FAIL: $2 (rc=$rc boots=$boots)"
    echo "$out"
    exit 1
  fi
}

run int3 pass
check '[ "$rc" = 0 ] && [ "$boots" = 2 ]' "an int3 oops is run again and the second run counts"
check 'echo "$out" | grep -q "died of an int3 it did not place"' "the retry is said"
check '[ -f "$work/w/console-int3.log" ]' "the first kernel log is kept"

run gpf pass
check '[ "$rc" = 1 ] && [ "$boots" = 1 ]' "another oops fails the case without a retry"

run int3 int3 pass
check '[ "$rc" = 1 ] && [ "$boots" = 2 ]' "only one int3 retry"

run pass
check '[ "$rc" = 0 ] && [ "$boots" = 1 ]' "a passing case runs once"

run hang pass
check '[ "$rc" = 0 ] && [ "$boots" = 2 ]' "a boot hung before the case is stopped and booted again"
check 'echo "$out" | grep -q "had not started the test case after 2s"' "the retry is said"
check '[ -f "$work/w/console-boot1.log" ]' "the hung boot's kernel log is kept"

run hang hang
check '[ "$rc" = 1 ] && [ "$boots" = 2 ]' "a second hung boot fails"
check 'echo "$out" | grep -q "did not start the test case within 2s, twice"' "the failure says why"
check '! pgrep -f "sleep 600" >/dev/null' "no stand-in is left running"
truncate -s 4M "$work/root.img"
extra=(--rootfs "$work/root.img")
run pass
check '[ "$rc" = 0 ] && grep -qx "file=$work/root.img,if=virtio,format=raw,snapshot=on,cache=unsafe" "$work/args"' \
  "the root image is attached with snapshot=on"
extra=(--rootfs "$work/root.img" --rootfs-overlay "$work/root.qcow2")
run pass
check '[ "$rc" = 0 ] && grep -qx "file=$work/root.qcow2,if=virtio,format=qcow2,cache=unsafe" "$work/args"' \
  "the overlay is attached in place of the image"
check 'qemu-img info "$work/root.qcow2" | grep -qx "backing file: $work/root.img"' "the overlay is backed by the image"
echo kept >"$work/root.qcow2"
run pass
check '[ "$rc" = 0 ] && [ "$(cat "$work/root.qcow2")" = kept ]' "an existing overlay is used as it is"
echo "run-guest-test: ok"
