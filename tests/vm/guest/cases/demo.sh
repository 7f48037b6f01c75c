# demo: what an admin sees after rebooting with the numa=fake= line `zonectl plan` gave for
# examples/demo.ini: verify first, then the machine's zones.
. /tests/lib.sh
spec=/usr/share/softzone/examples/demo.ini
echo "\$ cat /proc/cmdline"
cat /proc/cmdline
echo
echo "\$ zonectl verify $spec"
zonectl verify "$spec"
echo
echo "\$ zonectl topology"
zonectl topology
