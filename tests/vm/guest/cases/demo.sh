# demo: what an admin sees on a machine booted with numa=fake=8.
. /tests/lib.sh
echo "\$ cat /proc/cmdline"
cat /proc/cmdline
echo
echo "\$ zonectl topology"
zonectl topology
echo
echo "\$ zonectl --json topology | head -n 20"
zonectl --json topology | head -n 20
